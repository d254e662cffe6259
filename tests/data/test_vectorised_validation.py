"""Step 6: the vectorised validator and the Arrow CSV reader against the cell-by-cell ones.

Differential tests: the validator as it was before step 6 (frozen in ``_legacy_validate.py``)
and the vectorised one are fed the same hostile tables, and must give the same problems (row,
column, masked value, fix, in the same order), the same count, warnings and personal-data
findings, and the same typed frame. Arrow's CSV reader and Python's csv module are fed the same
hostile files, read in small batches, and must give the same header and rows, or the Arrow
reader must hand the file over to Python's (``NeedsPython``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import NeedsPython, cases_contract, csv_batches, validate_frame
from tests.conftest import case_rows
from tests.data import _legacy_validate as legacy

# Cells a clerk's export may hold, good and bad, for every kind of column.
HOSTILE = [
    "",
    "  ",
    "\u3000",
    "\x1c",
    "\ufeff",
    "NULL",
    "#N/A",
    "=1+1",
    "+86",
    "是",
    "否",
    "Y",
    "n",
    "TRUE",
    "有",
    "1.0",
    "0",
    "1",
    "-1",
    "1.5",
    "12,000",
    "12，000",
    "¥3,500.5元",
    "1e5",
    "+5",
    ".5",
    "5.",
    "0x10",
    "1_000",
    "٣",
    "１２",
    "inf",
    "-inf",
    "nan",
    "Infinity",
    "1e309",
    "9" * 30,
    "999999999999999",
    "1000000000000000",
    "2024-03-01",
    " 2024/3/1 ",
    "2024年3月1日",
    "2024 年 3 月 1",
    "20240301",
    "2024-02-30",
    "2024-13-01",
    "1900-01-01",
    "9999-12-31",
    "2024-03-01 00:00:00",
    "2024-03-01T00:00",
    "2024-03-01 13:45",
    "45352",
    "natural_person",
    "NATURAL_PERSON",
    "private_lending",
    "dragon",
    "active",
    "13812345678",
    "138 1234 5678",
    "11010519491231002X",
    "110105194912310021",
    "申请人电话 138-1234-5678",
    "(2023)湘0103执1号",
    "（2023）湘0103执1号",
    "H001",
    "x" * 70,
]


def hostile_frame(seed: int, n: int = 80) -> pd.DataFrame:
    """``n`` rows over every contract column and two extra ones, cells drawn from HOSTILE
    (a third of the rows kept valid, so duplicates and date order are exercised too)."""
    rng = np.random.default_rng(seed)
    base = pd.concat([case_rows()] * (n // 3 + 1), ignore_index=True).iloc[:n]
    frame = base.copy()
    for name in [*cases_contract().names, "备注", "remarks"]:
        cells = rng.choice(np.array(HOSTILE, dtype=object), size=n)
        keep = rng.random(n) < 0.35
        if name in base:
            cells = np.where(keep, base[name].to_numpy(dtype=object), cells)
        frame[name] = cells
    return frame


def same_report(raw: pd.DataFrame, **kw) -> None:
    old = legacy.validate_frame(raw.copy(), source="t.csv", **kw)
    new = validate_frame(raw.copy(), source="t.csv", **kw)
    assert [str(p) for p in new.problems] == [str(p) for p in old.problems]
    assert new.n_problems == old.n_problems
    assert new.warnings == old.warnings
    assert new.personal_columns == old.personal_columns
    assert new.dropped_columns == old.dropped_columns
    assert new.absent_optional == old.absent_optional
    pd.testing.assert_frame_equal(new.frame, old.frame, check_exact=True)


@pytest.mark.parametrize("seed", range(3))
def test_hostile_text_tables_give_the_same_problems(seed):
    same_report(hostile_frame(seed))


def test_hostile_handlers_and_truth_give_the_same_problems(handlers_frame):
    rng = np.random.default_rng(7)
    h = pd.concat([handlers_frame] * 20, ignore_index=True)
    for col in h:
        h[col] = np.where(rng.random(len(h)) < 0.5, rng.choice(HOSTILE, len(h)), h[col])
    same_report(h, kind="handlers")
    truth = hostile_frame(8)[["case_id", "as_of_date"]].assign(
        stall_cause=rng.choice(HOSTILE, 80),
        is_pilot=rng.choice(["true", "0", "是", "", "maybe"], 80),
        **{
            c: rng.choice(["0.5", "1", "1.5", "-0.1", "", "x"], 80)
            for c in legacy.TRUTH_PROB_COLUMNS
        },
    )
    same_report(truth, kind="truth")


def test_allowed_personal_columns_and_duplicates_give_the_same_problems():
    frame = hostile_frame(11)
    frame["手机号"] = "13812345678"
    frame = pd.concat([frame, frame.iloc[[3, 4, 5]]], ignore_index=True)
    same_report(frame, allow_personal_columns=True)
    same_report(frame, allow_personal_columns=False)


def test_typed_and_mixed_cells_give_the_same_problems():
    # What Parquet and Excel hand over: floats (NaN, -0.0, 1e15, 1e20), whole numbers,
    # datetimes with a time of day, Excel serial days, booleans, mixed object columns.
    frame = pd.concat([case_rows()] * 4, ignore_index=True)
    frame["case_id"] = [f"c{i}" for i in range(len(frame))]
    frame["amount_outstanding"] = [
        12000.0,
        np.nan,
        -0.0,
        1e15,
        1e20,
        3500.5,
        0.1,
        13812345678.0,
        2.5e-7,
        7.0,
        -3.0,
        1e10,
    ]
    frame["n_handlers_so_far"] = pd.array([1, 2, None, 4, 0, 6, 7, 8, 9, 10, 11, 12], "Int64")
    frame["filing_date"] = [
        dt.datetime(2023, 1, 5, 13, 45),
        dt.date(2023, 2, 7),
        45352,
        45352.5,
        "2023-01-05",
        None,
        pd.Timestamp("1800-01-01"),
        1e12,
        True,
        "2023年1月5日",
        -5,
        dt.date(2023, 1, 1),
    ]
    frame["has_real_estate"] = [True, False, None, 1, 0, "是", 1.0, 2, "x", np.nan, "否", True]
    frame["petition_count"] = [0.0, 1.0, 2.5, np.nan, 3.0, 1e16, -1.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    same_report(frame)
    dates = frame.assign(as_of_date=pd.Timestamp("2024-03-01"), filing_date=pd.NaT)
    same_report(dates)


# ---------------------------------------------------------------- Arrow CSV reader


def batches(path: Path, fast: bool, batch_rows: int = 2) -> tuple[list[str], pd.DataFrame]:
    parts = list(csv_batches(path, batch_rows, fast=fast))
    header = parts[0][0]
    done = 0
    for h, frame, first in parts:
        assert h == header and first == done  # each batch says where it starts
        done += len(frame)
    frame = pd.concat([p[1] for p in parts], ignore_index=True).astype("string")
    return header, frame


FILES = {
    "quoted commas and line breaks": b'a,b,c\n"x,1","multi\nline",3\n"q""uote",2,3\n',
    "bare CR line ends": b"a,b,c\r1,2,3\r4,5,6\r",
    "CRLF and a final row without line end": b"a,b,c\r\n1,2,3\r\n4,5,6",
    "text after a closing quote": b'a,b,c\n"x"y,2,3\n x"y" ,2,3\n',
    "blank rows anywhere": b"\n\na,b,c\n1,2,3\n\n , ,\n\xe3\x80\x80,\xe2\x80\x83,\n4,5,6\n,,\n",
    "a control-character-only row": b"a,b,c\n\x1c,\x1d,\x1f\n7,8,9\n",
    "UTF-8 mark": b"\xef\xbb\xbfa,b,c\n1,2,3\n",
    "GBK": "案号,b,c\n（2023）湘执1号,是,否\n".encode("gbk"),
    "header only": b"a,b,c\n",
    "empty cells and spaces kept": b"a,b,c\n, x ,\n1,,3\n",
    "more rows than a batch": b"a,b,c\n" + b"".join(b"%d,%d,x\n" % (i, i) for i in range(11)),
}


@pytest.mark.parametrize("content", FILES.values(), ids=FILES.keys())
def test_arrow_reads_every_csv_row_as_python_does(tmp_path, content):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    header, frame = batches(path, fast=True)
    want_header, want = batches(path, fast=False)
    assert header == want_header
    pd.testing.assert_frame_equal(frame, want)


def test_blank_means_what_python_strip_removes():
    import sys

    from crossexec_ml.data._csv import _PY_SPACE

    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert _PY_SPACE == every


RAGGED = {
    "a short row": b"a,b,c\n1,2\n4,5,6\n",
    "empty trailing cells": b"a,b,c\n1,2,3,,\n4,5,6\n",
    "a row with too many cells": b"a,b,c\n1,2,3\n4,5,6,7\n",
    "an unclosed quote": b'a,b,c\n1,"2,3\n4,5,6\n',
    "the header after a row of commas": b",,\na,b,c\n1,2,3\n",
}


@pytest.mark.parametrize("content", RAGGED.values(), ids=RAGGED.keys())
def test_where_arrow_stops_python_reads(tmp_path, content):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(NeedsPython):
        list(csv_batches(path, 2, fast=True))
    list(csv_batches(path, 2, fast=False)) if b"7" not in content else None
