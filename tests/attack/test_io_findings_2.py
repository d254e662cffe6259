"""Attack on three changes: outputs refused among inputs, serial days in ``validate_table``,
typed cells quoted as a CSV holds them.

Each test reproduced one finding and failed while the defect stood; all ten are fixed (a
Parquet column the typed path does not take is handed to the validator as read_cases hands
it; the output check follows glob's own rules), and the tests assert the fixed behaviour.
Small inputs only.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crossexec_ml.data import make_cases, validate_file, validate_table, write_table
from crossexec_ml.errors import InputError
from crossexec_ml.jobs import (
    list_pieces,
    refuse_output_among_inputs,
    score_partitioned,
    score_to_file,
    train,
)


@pytest.fixture(scope="module")
def current():
    return make_cases(n_history=0, n_current=20, seed=1).current


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("io_attack_2")
    data = make_cases(n_history=1200, n_current=600, seed=41)
    write_table(data.history, root / "history.csv")
    train(root / "history.csv", root / "model", progress=False)
    return {"root": root, "model": root / "model", "current": data.current}


def _both(tmp_path, current, column: str, values: pa.Array):
    """``validate_file`` and ``validate_table`` on the same Parquet file, one column replaced."""
    table = pa.Table.from_pandas(current, preserve_index=False)
    table = table.set_column(table.column_names.index(column), column, values)
    src = tmp_path / "x.parquet"
    pq.write_table(table, src)
    return validate_file(src), validate_table(pq.read_table(src), source=src.name)


def _serials(current: pd.DataFrame) -> np.ndarray:
    return (current["filing_date"] - pd.Timestamp("1899-12-30")).dt.days.to_numpy("int64").copy()


# --------------------------------------------------------------------------------------------
# Serial days and quoting: validate_file and validate_table on the same Parquet file
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("serial", [1, 3, 99999, 2958465])
def test_out_of_range_serial_day_is_quoted_as_a_date_nobody_typed(tmp_path, current, serial):
    """A serial day outside the plausible range is quoted as the converted date by the large
    path and as the number by ``crossexec validate``.

    A Parquet ``filing_date`` column of Excel serial days with one mistyped cell (3, 99999):
    ``validate_file``/``read_cases`` say ``'3' -> a date between 1950-01-01 and 2100-12-31``,
    while ``validate_table`` (every piece of ``score --out`` on a large file, and of a folder
    or glob input) says ``'1900-01-02' -> ...`` (``'1899-12-31'`` for 1, ``'9999-12-31'`` for
    2958465): a value that is nowhere in the file, so the clerk cannot find the cell, and the
    two commands give different problem lists for the same file, which change 3 promised not
    to.
    """
    vals = _serials(current)
    vals[2] = serial
    by_file, by_table = _both(tmp_path, current, "filing_date", pa.array(vals))
    assert by_file.n_problems == by_table.n_problems == 1
    assert [str(p) for p in by_table.problems] == [str(p) for p in by_file.problems]


@pytest.mark.parametrize("typ", [pa.int64(), pa.float64()])
def test_yyyymmdd_numbers_in_a_date_column_accepted_by_one_reader_only(tmp_path, current, typ):
    """Dates stored as the numbers 20240301 (a common data-warehouse layout) are accepted by
    ``validate_table`` and refused, every row, by ``validate_file``/``read_cases``.

    ``read_cases`` sends a numeric cell to the serial-day branch only: 20240301 is no serial
    day, so ``crossexec validate`` and ``score`` on a small file stop with
    ``'20240301' -> a date such as 2024-03-01``. ``_serial_days`` leaves such numbers alone and
    ``table_as_text`` prints them as text, which the date parser reads as 2024-03-01: the same
    file scores without a word once it is large (``score --out`` over 600,000 rows) or given
    as a folder or glob. One reader or the other is wrong; they must agree.
    """
    ymd = current["filing_date"].dt.strftime("%Y%m%d").astype("int64").to_numpy()
    by_file, by_table = _both(tmp_path, current, "filing_date", pa.array(ymd).cast(typ))
    assert by_file.ok == by_table.ok
    assert by_file.n_problems == by_table.n_problems


def test_far_timestamp_with_time_of_day_quoted_differently(tmp_path, current):
    """A mistyped timestamp with a time of day (year 1900, 10:30) is quoted
    ``'1900-01-01 10:30:00'`` by ``validate_file`` and ``'1900-01-01'`` by ``validate_table``.

    ``_shown`` now shortens only a midnight timestamp to its day, while ``table_as_text``
    strips every time of day: the two readers still give different problem messages for the
    same Parquet cell.
    """
    days = list(current["filing_date"])
    days[2] = pd.Timestamp("1900-01-01 10:30")
    by_file, by_table = _both(tmp_path, current, "filing_date", pa.array(days, pa.timestamp("us")))
    assert by_file.n_problems == by_table.n_problems == 1
    assert [str(p) for p in by_table.problems] == [str(p) for p in by_file.problems]


@pytest.mark.parametrize("value", [1e15, 3e15, 9.5e15, 1e-7])
def test_float_cell_quoted_differently_by_the_two_readers(tmp_path, current, value):
    """The same float cell is quoted differently by the two readers (and ``validate_table``
    differs from the CSV pandas writes for it too).

    ``_shown`` formats a float with ``_fmt_cell`` (digits below 10^15, else ``repr``), while
    ``validate_table`` prints it with ``_floats_as_text`` (digits below 2**53, else Arrow's
    cast): 1e15 reads ``'〔16位数字已隐去 digits hidden〕.0'`` against ``'〔16位数字已隐去 digits
    hidden〕'``, 9.5e15 the masked digits against ``'9.5e+15'``, and 1e-7 ``'1e-07'`` against
    ``'1e-7'``. Change 3 promised identical problem messages.
    """
    counts = current["n_related_cases"].astype("float64").fillna(1).to_numpy().copy()
    counts[2] = value
    by_file, by_table = _both(tmp_path, current, "n_related_cases", pa.array(counts))
    assert by_file.n_problems == by_table.n_problems == 1
    assert [str(p) for p in by_table.problems] == [str(p) for p in by_file.problems]


def test_bool_cell_in_a_number_column_quoted_differently(tmp_path, current):
    """A boolean Parquet column where a number is due is quoted ``'True'`` by ``validate_file``
    (and by a CSV of the same data) but ``'true'`` by ``validate_table``: Arrow's cast prints
    booleans in lower case, so the two problem lists differ on every row."""
    by_file, by_table = _both(tmp_path, current, "n_related_cases", pa.array([True] * len(current)))
    assert by_file.n_problems == by_table.n_problems == len(current)
    assert [str(p) for p in by_table.problems] == [str(p) for p in by_file.problems]


# --------------------------------------------------------------------------------------------
# Outputs among inputs
# --------------------------------------------------------------------------------------------


def test_score_to_file_beside_a_hive_layout_refused_naming_its_own_temporary_folder(
    setup, tmp_path, monkeypatch
):
    """``score_to_file(model, 'export/*/*/*.parquet', 'export/list.parquet')`` (a Hive-style
    ``year=/month=`` export, the list written at its top) is refused with

    ``export/.list.parquet.parts-xxxx/parts matches the input pattern export/*/*/*.parquet:
    the next run would read the list as cases``

    The list itself matches nothing (the glob never lists ``export/list.parquet``); what
    "matches" is the hidden temporary folder ``score_to_file`` makes beside the list, which
    ``glob.glob`` never lists either (``*`` skips dot names, ``_glob_matches`` does not). The
    user is told about a path they never gave, and no layout choice of theirs avoids it but
    moving the list out of the export.
    """
    monkeypatch.chdir(tmp_path)
    for month, rows in (("11", slice(0, 300)), ("12", slice(300, 600))):
        folder = tmp_path / "export" / "year=2024" / f"month={month}"
        folder.mkdir(parents=True)
        write_table(setup["current"].iloc[rows], folder / "a.parquet")
    _, merged = score_to_file(
        setup["model"], "export/*/*/*.parquet", "export/list.parquet", progress=False
    )
    assert merged.n_rows == 600


@pytest.mark.parametrize("name", ["list.csv", "list.parquet"])
def test_score_to_file_refused_because_a_file_is_checked_as_a_parts_folder(
    setup, tmp_path, monkeypatch, name
):
    """``score_to_file(model, 'export/*/*.parquet', 'export/list.csv')`` is refused (``matches
    the input pattern``) although the glob lists only files one folder below ``export``.

    ``refuse_output_among_inputs`` also tests ``out / 'part-00000.parquet'`` (a folder
    output's parts), but ``score_to_file`` writes one file, never a folder: the check invents
    ``export/list.csv/part-00000.parquet``, which matches. A monthly export in
    ``export/2024-11/``, ``export/2024-12/`` cannot get its list written at ``export/``.
    """
    monkeypatch.chdir(tmp_path)
    for month, rows in (("2024-11", slice(0, 300)), ("2024-12", slice(300, 600))):
        (tmp_path / "export" / month).mkdir(parents=True)
        write_table(setup["current"].iloc[rows], tmp_path / "export" / month / "a.parquet")
    _, merged = score_to_file(
        setup["model"], "export/*/*.parquet", f"export/{name}", progress=False
    )
    assert merged.n_rows == 600
    assert [p.n_rows for p in list_pieces("export/*/*.parquet")] == [300, 300]


def test_glob_through_a_symlinked_folder_lets_the_list_be_read_back(tmp_path, monkeypatch):
    """A glob through a symlinked folder does not refuse a list written by its real path.

    ``/data/current -> /data/2024-12``; the weekly job scores ``current/*.parquet`` and
    writes ``2024-12/list.parquet``. The pattern is compared unresolved (``os.path.abspath``)
    while a folder input is resolved, so the list is allowed, and next week ``glob.glob``
    lists ``current/list.parquet``: the list is read back as cases, the failure the change
    was meant to prevent.
    """
    monkeypatch.chdir(tmp_path)
    (tmp_path / "2024-12").mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "2024-12" / "a.parquet")
    (tmp_path / "current").symlink_to(tmp_path / "2024-12")
    out = tmp_path / "2024-12" / "list.parquet"
    with pytest.raises(InputError, match="matches the input pattern"):
        refuse_output_among_inputs(out, "current/*.parquet")


def test_parts_folder_named_with_underscore_inside_folder_input_is_refused(setup, tmp_path):
    """``score_partitioned(model, 'export', 'export/_scored')`` is refused ("the next run would
    read the list as cases") although the same change made every file below a ``_`` or ``.``
    folder of a folder input not input: the next run would never read ``export/_scored``.
    The message is false, and the one layout the convention was meant to allow (results kept
    with the export, out of its way) is forbidden; ``score_to_file`` to
    ``export/_out/list.parquet`` likewise.
    """
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(setup["current"], folder / "a.parquet")
    run = score_partitioned(setup["model"], folder, folder / "_scored", progress=False)
    assert run.n_rows == 600
    assert [p.n_rows for p in list_pieces(folder)] == [600]  # the parts are not read back


def test_recursive_glob_reads_files_a_folder_input_skips(tmp_path):
    """The same export read as ``export`` and as ``export/**/*.parquet`` gives different cases.

    ``_hidden`` skips files below a ``_``/``.`` folder only for a folder input; a recursive
    glob reads ``export/_temporary/t.parquet`` (a Spark job's leftovers) as cases, so
    ``crossexec score --cases 'export/**/*.parquet'`` scores (or is refused on) rows that
    ``--cases export`` ignores.
    """
    folder = tmp_path / "export"
    (folder / "_temporary").mkdir(parents=True)
    pq.write_table(pa.table({"x": [1, 2]}), folder / "a.parquet")
    pq.write_table(pa.table({"x": [3]}), folder / "_temporary" / "t.parquet")
    by_folder = [os.path.realpath(p.path) for p in list_pieces(folder)]
    by_glob = [os.path.realpath(p.path) for p in list_pieces(str(folder / "**" / "*.parquet"))]
    assert by_glob == by_folder
