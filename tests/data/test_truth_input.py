"""The synthetic truth file (``--truth``) is read like every other input.

Bad truth files get a clear error naming the file, the spreadsheet row (the header is row 1),
the column and the fix, never echoing a personal number; a truth that belongs to another data
set is refused where it is joined to the history, instead of turning into missing values; the
CLI turns all of this into exit code 1 and writes nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import (
    TRUTH_PROB_COLUMNS,
    ValidationError,
    make_cases,
    read_cases,
    read_truth,
    write_synthetic,
    write_table,
)
from crossexec_ml.errors import InputError
from crossexec_ml.jobs import train

#: A valid-looking resident ID number (ISO 7064 check digit): never to appear in a message.
ID_NUMBER = (
    "43010319850617123"
    + "10X98765432"[
        sum(int(d) * (2 ** (17 - i) % 11) for i, d in enumerate("43010319850617123")) % 11
    ]
)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("truth")
    data = make_cases(n_history=1200, n_current=300, seed=17)
    write_synthetic(data, root / "data")
    train(root / "data" / "history.csv", root / "model", progress=False)
    return {"root": root, "data": data, "folder": root / "data"}


def _truth_text(synthetic) -> pd.DataFrame:
    """The truth file as its cells are written (text), to spoil cell by cell."""
    return pd.read_csv(synthetic["folder"] / "truth.csv", encoding="utf-8-sig", dtype=str)


def _write(df: pd.DataFrame, path: Path) -> Path:
    df.to_csv(path, index=False, encoding="utf-8")
    return path


def _refused(path: Path) -> ValidationError:
    with pytest.raises(ValidationError) as err:
        read_truth(path)
    assert str(err.value).startswith(f"{path.name}: ")
    return err.value


def _problems(path: Path) -> list:
    return _refused(path).report.problems


# --------------------------------------------------------------------------------------------
# A good file
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "parquet"])
def test_a_good_truth_file_round_trips(synthetic, tmp_path, suffix):
    truth = synthetic["data"].truth
    path = synthetic["folder"] / "truth.csv"
    if suffix != "csv":
        path = write_table(truth, tmp_path / f"truth.{suffix}", zh_headers=False)
    got = read_truth(path)
    expected = truth.astype({"is_pilot": "boolean"})
    # Text and workbook cells may lose the last bit of a float, nothing more.
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    assert got.attrs["source"] == path.name


def test_utf8_without_bom_and_without_optional_columns(synthetic, tmp_path):
    df = _truth_text(synthetic).drop(columns=["stall_cause", "is_pilot"])
    got = read_truth(_write(df, tmp_path / "truth.csv"))
    # Absent optional columns are left out, so a missing pilot flag is never read as False.
    assert list(got.columns) == ["case_id", "as_of_date", *TRUTH_PROB_COLUMNS]
    assert len(got) == len(df)


# --------------------------------------------------------------------------------------------
# Bad files: file, row, column, fix
# --------------------------------------------------------------------------------------------


def test_a_missing_column_is_named_with_what_the_file_should_be(synthetic, tmp_path):
    df = _truth_text(synthetic).drop(columns=["p_inter_team"])
    (problem,) = _problems(_write(df, tmp_path / "truth.csv"))
    assert problem.row is None and problem.column.startswith("p_inter_team (")
    assert "missing" in problem.expected and "crossexec generate" in problem.expected


def test_a_case_export_given_as_truth_is_refused_in_one_sentence(synthetic):
    with pytest.raises(InputError, match=r"history\.csv: not a truth file.*crossexec generate"):
        read_truth(synthetic["folder"] / "history.csv")


@pytest.mark.parametrize("value", ["1.5", "-0.1", "abc", "1e20"])
def test_a_bad_probability_names_file_row_and_column(synthetic, tmp_path, value):
    df = _truth_text(synthetic)
    df.loc[40, "p_higher_court"] = value  # spreadsheet row 42
    err = _refused(_write(df, tmp_path / "truth.csv"))
    (problem,) = err.report.problems
    assert (problem.row, problem.value) == (42, value)
    assert problem.column.startswith("p_higher_court (")
    assert problem.expected == "a probability between 0 and 1"
    assert "row 42, column p_higher_court" in str(err)


def test_blank_ids_dates_and_pilot_flags_are_refused(synthetic, tmp_path):
    df = _truth_text(synthetic)
    df.loc[3, "case_id"] = " "
    df.loc[7, "as_of_date"] = "2024-02-30"
    df.loc[9, "is_pilot"] = ""
    problems = _problems(_write(df, tmp_path / "truth.csv"))
    assert [(p.row, p.column.split(" ")[0]) for p in problems] == [
        (5, "case_id"),
        (9, "as_of_date"),
        (11, "is_pilot"),
    ]


def test_a_duplicate_case_names_both_rows(synthetic, tmp_path):
    df = _truth_text(synthetic)
    df = pd.concat([df, df.iloc[[100]]], ignore_index=True)
    problems = _problems(_write(df, tmp_path / "truth.csv"))
    last = len(df) + 1
    assert [p.row for p in problems] == [last]
    assert f"duplicate: row {100 + 2} has the same case_id" in problems[0].expected


def test_an_id_number_in_a_truth_cell_is_refused_without_being_shown(synthetic, tmp_path):
    df = _truth_text(synthetic)
    df.loc[5, "case_id"] = ID_NUMBER
    message = str(_refused(_write(df, tmp_path / "truth.csv")))
    assert "row 7, column case_id" in message and ID_NUMBER not in message
    assert ID_NUMBER[6:14] not in message  # not even the birth date part


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such truth file"),
        (b"", "the file is empty"),
        (b"\x00\x01PK\x03\x04 binary", "binary file"),
        (b"case_id,as_of_date,p_keep\n", "header but no rows"),
    ],
)
def test_an_unreadable_file_says_why(tmp_path, content, message):
    path = tmp_path / "truth.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        read_truth(path)
    assert "truth.csv" in str(err.value)


def test_a_damaged_workbook_is_refused(tmp_path):
    path = tmp_path / "truth.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError, match=r"truth\.xlsx: not a readable \.xlsx workbook"):
        read_truth(path)


# --------------------------------------------------------------------------------------------
# Joined to the history: a truth of another data set is refused, not turned into NaN
# --------------------------------------------------------------------------------------------


def test_truth_of_another_data_set_is_refused_where_it_is_joined(synthetic, tmp_path):
    history = read_cases(synthetic["folder"] / "history.csv")
    other = make_cases(n_history=200, n_current=50, seed=99).truth
    path = write_table(other, tmp_path / "truth.csv")
    assert read_truth(path).shape[0] == 250  # a valid file in itself
    for cover in ("some", "all"):
        with pytest.raises(InputError, match=r"truth\.csv: none of its 250 rows matches") as err:
            read_truth(path, cases=history, cover=cover)
        assert "history.csv" in str(err.value) and "crossexec generate" in str(err.value)


def test_a_partial_truth_is_enough_for_some_but_not_for_all(synthetic, tmp_path):
    history = read_cases(synthetic["folder"] / "history.csv")
    truth = synthetic["data"].truth
    path = write_table(truth.iloc[:900], tmp_path / "truth.csv")
    assert len(read_truth(path, cases=history, cover="some")) == 900
    with pytest.raises(InputError) as err:
        read_truth(path, cases=history, cover="all")
    message = str(err.value)
    # The first history row without a truth row, as the history file numbers it.
    used = history["cross_mode"].notna() & history["resolved_180d"].notna()
    keys = set(zip(truth["case_id"].iloc[:900], truth["as_of_date"].iloc[:900], strict=True))
    missing = [
        i
        for i in np.flatnonzero(used.to_numpy())
        if (history["case_id"].iloc[i], history["as_of_date"].iloc[i]) not in keys
    ]
    assert f"history.csv row {missing[0] + 2} (case_id " in message
    assert f"{len(missing):,} of the {int(used.sum()):,} back-tested rows" in message


# --------------------------------------------------------------------------------------------
# The command line: exit code 1, the same message format, nothing written
# --------------------------------------------------------------------------------------------


def test_cli_evaluate_refuses_a_bad_truth_and_writes_nothing(synthetic, tmp_path, capsys):
    df = _truth_text(synthetic)
    df.loc[10, "p_keep"] = "1.2"
    bad = _write(df, tmp_path / "truth.csv")
    out = tmp_path / "metrics.json"
    args = ["evaluate", "--model", str(synthetic["root"] / "model")]
    args += ["--cases", str(synthetic["folder"] / "history.csv"), "--truth", str(bad)]
    assert main([*args, "--json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "truth.csv: 1 problem(s) found" in err
    assert "row 12, column p_keep" in err and "'1.2' -> a probability between 0 and 1" in err
    assert not out.exists()


def test_cli_fairness_refuses_a_truth_of_another_data_set(synthetic, tmp_path, capsys):
    other = write_table(make_cases(n_history=100, n_current=10, seed=3).truth, tmp_path / "t.csv")
    out = tmp_path / "audit.json"
    args = ["fairness", "--model", str(synthetic["root"] / "model"), "--quiet"]
    args += ["--cases", str(synthetic["folder"] / "history.csv"), "--truth", str(other)]
    assert main([*args, "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: t.csv: none of its 110 rows matches")
    assert not out.exists()
