"""Messages about a piece of a large file name the row as it is in the file.

The engines split a Parquet file into pieces (runs of row groups) and validate each piece on
its own. Every row number in a message, including those listed inside it (personal data "in
rows ...", "duplicate: row ..."), must be the file's spreadsheet row (the header is row 1),
exactly as validating the whole file gives it; before, only each problem's own row was moved,
so the numbers inside a message were counted from the start of the piece.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import make_cases, validate_file, write_table
from crossexec_ml.jobs import PartitionError, list_pieces, read_piece, score_partitioned, train

PIECE_ROWS = 100  # b.parquet (400 rows, row groups of 100) becomes four pieces

# Where the problems are planted in b.parquet (0-based data rows): all in its last piece,
# rows 300-399, so a row counted within the piece would be off by 300.
BAD_CELL = 330  # spreadsheet row 332; piece row 32
PLANTED = (310, 350)  # spreadsheet rows 312 and 352
TWIN = (335, 340)  # the same case twice: spreadsheet rows 337 and 342


def _id_number(body: str) -> str:
    """A resident ID number with a valid ISO 7064 check digit (as tests/test_personal_data)."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


ID_NUMBER = _id_number("43010319850617123")


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("engines_rows")
    data = make_cases(n_history=1200, n_current=500, seed=23)
    write_table(data.history, root / "history.csv")
    train(root / "history.csv", root / "model", progress=False)
    cur = data.current.reset_index(drop=True)
    bad = cur.iloc[100:].reset_index(drop=True).astype({"debtor_type": "string"})
    bad.loc[BAD_CELL, "debtor_type"] = "dragon"
    bad["备注"] = pd.array(["已电话联系"] * len(bad), dtype="string")
    for i in PLANTED:
        bad.loc[i, "备注"] = f"申请人身份证{ID_NUMBER}已核实"
    bad.loc[TWIN[1], ["case_id", "as_of_date"]] = bad.loc[TWIN[0], ["case_id", "as_of_date"]]
    folder = root / "cases"
    folder.mkdir()
    cur.iloc[:100].to_parquet(folder / "a.parquet", index=False)
    bad.to_parquet(folder / "b.parquet", index=False, row_group_size=100)
    return {"root": root, "folder": folder, "b": folder / "b.parquet"}


def _check_message(message: str, whole_file: str) -> None:
    """The message names b.parquet and the file's rows, as a whole-file read does."""
    assert message == whole_file  # same problems, same numbers, same words
    lines = message.splitlines()
    assert lines[0] == "b.parquet: 3 problem(s) found"
    assert lines[1].startswith("  row 312, column 备注 (column ")
    assert "resident ID number in rows 312, 352 (values not shown)" in lines[1]
    assert lines[2].startswith("  row 332, column debtor_type (被执行人类型): 'dragon' -> one of ")
    assert lines[3].startswith("  row 342, column case_id (案号): ")
    assert lines[3].endswith(
        "duplicate: row 337 has the same case_id (案号) and as_of_date "
        "(评估基准日); keep one row per key"
    )
    assert ID_NUMBER not in message
    for piece_row in ("row 12,", "row 32,", "row 42,", "row 37 ", "rows 12, 52"):
        assert piece_row not in message


def test_the_problems_sit_deep_in_a_later_piece(setup):
    pieces = [p for p in list_pieces(setup["folder"], PIECE_ROWS) if p.path == str(setup["b"])]
    assert [(p.first_row, p.n_rows) for p in pieces] == [
        (0, 100),
        (100, 100),
        (200, 100),
        (300, 100),
    ]
    for p in pieces[:3]:
        read_piece(p)  # the first three pieces are valid
    with pytest.raises(PartitionError) as err:
        read_piece(pieces[3])
    _check_message(str(err.value), validate_file(setup["b"]).problem_text())


def test_rows_picked_from_a_piece_keep_their_file_numbers(setup):
    # Pass 2 re-reads only the rows it explains, in rank order: still the file's numbers.
    last = list_pieces(setup["b"], PIECE_ROWS)[3]
    with pytest.raises(PartitionError) as err:
        read_piece(last, rows=np.array([BAD_CELL - 300, 0, PLANTED[1] - 300]))
    message = str(err.value)
    assert "row 332, column debtor_type" in message and "in row 352 (values not shown)" in message


def test_an_id_number_as_header_is_row_1_in_every_piece(setup, tmp_path):
    df = pd.read_parquet(setup["folder"] / "a.parquet").iloc[:60]
    df[ID_NUMBER] = "x"  # a header cell that is an ID number: the header row is missing
    path = tmp_path / "c.parquet"
    df.to_parquet(path, index=False, row_group_size=20)
    later = list_pieces(path, 20)[2]
    assert later.first_row == 40
    with pytest.raises(PartitionError) as err:
        read_piece(later)
    message = str(err.value)
    assert "  row 1, column " in message and "in the header row" in message
    assert ID_NUMBER not in message


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_both_engines_name_the_file_and_its_row(setup, tmp_path, engine, request):
    client = request.getfixturevalue("dask_client") if engine == "dask" else None
    with pytest.raises(PartitionError) as err:
        score_partitioned(
            setup["root"] / "model",
            setup["folder"],
            tmp_path / "out",
            engine=engine,
            client=client,
            piece_rows=PIECE_ROWS,
            progress=False,
        )
    _check_message(str(err.value), validate_file(setup["b"]).problem_text())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out.", "out"))]


def test_whole_file_rows_are_spreadsheet_rows(setup):
    # The convention the pieces follow: a whole-file read counts the header as row 1.
    report = validate_file(setup["b"])
    assert sorted({p.row for p in report.problems}) == [312, 332, 342]
    assert Path(report.source).name == "b.parquet"


def test_a_parquet_piece_saved_with_pandas_row_numbers_reads_like_the_file(tmp_path):
    cases = make_cases(n_history=0, n_current=40, seed=5).current
    path = tmp_path / "filtered.parquet"
    cases[cases.index % 2 == 0].to_parquet(path)  # keeps the row numbers as a column
    (piece,) = list_pieces([path])
    frame = read_piece(piece)
    assert "__index_level_0__" not in frame.columns
    assert list(frame["case_id"]) == list(cases.loc[cases.index % 2 == 0, "case_id"])


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_a_csv_piece_names_the_csv_and_its_row(setup, tmp_path, engine, request):
    # The same rows as one CSV export, read in batches of 100: the messages of a whole read.
    path = write_table(pd.read_parquet(setup["b"]), tmp_path / "b.csv")
    client = request.getfixturevalue("dask_client") if engine == "dask" else None
    with pytest.raises(PartitionError) as err:
        score_partitioned(
            setup["root"] / "model",
            path,
            tmp_path / "out",
            engine=engine,
            client=client,
            piece_rows=PIECE_ROWS,
            progress=False,
        )
    whole = validate_file(path).problem_text()
    assert str(err.value) == whole
    _check_message(whole.replace("b.csv", "b.parquet"), validate_file(setup["b"]).problem_text())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out.", "out"))]
