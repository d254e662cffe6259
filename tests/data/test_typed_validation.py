"""Typed Parquet validated on its typed columns against the same table as read_cases reads it.

``validate_table`` takes a column of the contract's Arrow type as it is when every cell is
clean, and leaves any other column to the validator as ``read_cases`` hands it a Parquet file
(``to_pandas``). Differential tests: the same hostile typed tables go through
``validate_table`` and through ``validate_frame`` on ``to_pandas`` (what ``crossexec validate``
and the in-memory ``score`` do with the file), and must give the same problems (row, column,
masked value, fix, order), count, warnings, personal-data findings and typed frame.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from crossexec_ml.data import (
    cases_contract,
    make_cases,
    validate_frame,
    validate_table,
)
from crossexec_ml.data._typed import _typed_column


@pytest.fixture(scope="module")
def current() -> pd.DataFrame:
    return make_cases(n_history=0, n_current=300, seed=3).current


def as_read_report(table: pa.Table, header: list[str], **kw):
    """What ``validate_file`` does with the same table saved as Parquet."""
    raw = table.to_pandas(ignore_metadata=True)
    raw.columns = range(len(header))
    return validate_frame(raw, header, source="t.parquet", **kw)


def same_report(table: pa.Table, header: list[str] | None = None, **kw):
    header = header or list(table.column_names)
    old = as_read_report(table, header, **kw)
    new = validate_table(table, header, source="t.parquet", **kw)
    assert [str(p) for p in new.problems] == [str(p) for p in old.problems]
    assert new.n_problems == old.n_problems
    assert new.warnings == old.warnings
    assert new.personal_columns == old.personal_columns
    assert new.dropped_columns == old.dropped_columns
    assert new.absent_optional == old.absent_optional
    pd.testing.assert_frame_equal(new.frame, old.frame, check_exact=True)
    return new


def table_of(frame: pd.DataFrame) -> pa.Table:
    """A frame as Parquet holds it (categories as dictionaries, Int64 as int64 with nulls)."""
    return pa.Table.from_pandas(frame, preserve_index=False)


def test_a_clean_typed_table_is_taken_typed(current):
    table = table_of(current)
    report = same_report(table)
    assert report.ok
    # The fast path really answers for every non-text contract column of a clean export.
    index = pd.RangeIndex(table.num_rows)
    contract = cases_contract()
    taken = {
        name
        for name in table.column_names
        if _typed_column(table.column(name), contract.columns[name], "cases", index) is not None
    }
    not_text = {n for n in table.column_names if contract.columns[n].dtype != "string"}
    assert taken == not_text


def test_chinese_headers_and_picked_rows(current):
    table = table_of(current)
    header = [cases_contract().columns[n].label_zh for n in table.column_names]
    rows = np.array([5, 2, 299, 17])
    same_report(table.take(pa.array(rows)), header, row_numbers=1000 + rows)


def test_hostile_numbers_go_to_the_text_path(current):
    frame = current.copy()
    frame.loc[3, "amount_outstanding"] = -5.0  # below the minimum
    frame.loc[4, "amount_outstanding"] = np.nan  # required
    frame.loc[5, "amount_applied"] = np.inf
    frame.loc[6, "amount_applied"] = 1e16  # mistyped
    frame.loc[7, "deposit_balance"] = 13812345678.0  # a mobile number
    frame.loc[8, "deposit_balance"] = -0.0
    frame.loc[9, "n_related_cases"] = 13812345678  # a mobile number in an int column
    frame.loc[10, "n_debtors"] = 0  # below >= 1
    frame["days_since_last_action"] = frame["days_since_last_action"].astype("Int64")
    frame.loc[11, "days_since_last_action"] = pd.NA  # required
    frame["petition_count"] = frame["petition_count"].astype(float)
    frame.loc[12, "petition_count"] = 2.5  # a fraction in a whole-number column
    frame["handler_caseload"] = frame["handler_caseload"].astype(float)  # whole, as floats
    report = same_report(table_of(frame))
    assert not report.ok and report.n_problems >= 8
    assert report.personal_columns


def test_small_and_odd_numbers_stay_typed(current):
    frame = current.copy()
    frame["amount_applied"] = np.where(np.arange(len(frame)) % 7 == 0, np.nan, 0.1)
    frame.loc[0, "amount_applied"] = 9_999_999_999.5
    frame.loc[1, "amount_applied"] = 1e-300
    frame["deposit_balance"] = frame["deposit_balance"].astype(np.float32)  # read as text
    frame["n_queued_seizures"] = frame["n_queued_seizures"].astype(np.uint8)
    frame["amount_recovered_to_date"] = frame["n_detentions"].astype(np.int32)  # ints as float
    assert same_report(table_of(frame)).ok


def test_hostile_dates_go_to_the_text_path(current):
    frame = current.copy()
    frame.loc[0, "filing_date"] = pd.Timestamp("1960-05-05 13:45")  # before 1970, a time
    frame.loc[1, "filing_date"] = pd.Timestamp("2024-02-29 23:59:59.999")
    frame.loc[2, "filing_date"] = pd.Timestamp("1900-01-01")  # out of range
    frame.loc[3, "as_of_date"] = pd.NaT  # required
    frame.loc[4, "as_of_date"] = frame.loc[4, "filing_date"] - pd.Timedelta(days=1)
    same_report(table_of(frame))
    table = table_of(current)
    late = pa.array([pd.Timestamp("2200-01-01").to_pydatetime()] * len(current), pa.timestamp("us"))
    same_report(table.set_column(5, "filing_date", late))
    zoned = pa.array(current["as_of_date"], pa.timestamp("ns", tz="Asia/Shanghai"))
    same_report(table.set_column(6, "as_of_date", zoned))
    days = pa.array(current["filing_date"].dt.date, pa.date32())
    before = pa.array(current["filing_date"] - pd.Timedelta(hours=1))  # the evening before
    same_report(table.set_column(5, "filing_date", days))
    same_report(table.set_column(5, "filing_date", before))


def test_hostile_flags_and_categories(current):
    frame = current.copy()
    frame["is_livelihood"] = frame["is_livelihood"].astype("boolean")
    frame.loc[2, "is_livelihood"] = pd.NA
    frame["has_vehicle"] = frame["has_vehicle"].astype(int)  # 0/1: read as text
    cause = frame["cause_category"].astype(object)
    cause[3] = " Credit_Card "  # allowed, written loosely
    cause[4] = "loan shark"  # not allowed
    frame["cause_category"] = cause.astype("category")
    status = frame["debtor_status"].astype(object)
    status[5] = ""  # blank optional
    status[6] = None
    frame["debtor_status"] = status.astype("category")
    debtor = frame["debtor_type"].astype(object)
    debtor[7] = "  "  # blank required
    frame["debtor_type"] = debtor.astype("category")
    frame["applicant_type"] = frame["applicant_type"].astype(object).str.upper()  # plain text
    report = same_report(table_of(frame))
    assert report.n_problems == 2
    clean = frame.copy()
    clean.loc[4, "cause_category"] = "other"
    clean.loc[7, "debtor_type"] = "other_org"
    # Chunks with their own dictionaries (as row groups of one Parquet file read together).
    parts = [table_of(clean.iloc[:150]), table_of(current.iloc[150:])]
    joined = pa.concat_tables([parts[0], parts[1].cast(parts[0].schema)], promote_options="none")
    assert len(joined.column("cause_category").chunks) == 2
    same_report(joined)


def test_extras_personal_data_and_duplicates(current):
    frame = current.copy()
    frame["手机号"] = "13812345678"
    frame["备注"] = "ok"
    frame = pd.concat([frame, frame.iloc[[3, 4]]], ignore_index=True)
    same_report(table_of(frame), allow_personal_columns=True)
    same_report(table_of(frame), allow_personal_columns=False)
