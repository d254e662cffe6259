"""Attack on the province-scale merge (typed Parquet validation, k-way merge, worker processes).

Each test reproduces one finding and failed while the defect stood; every finding is now
fixed and its test asserts the fixed behaviour. Small inputs only: the large paths are
forced with ``piece_rows``, small Parquet row groups and ``_PART_ROW_GROUP``, as
``tests/jobs/test_merge.py`` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import crossexec_ml.jobs._engines as engines
from crossexec_ml.data import make_cases, validate_file, validate_table, write_table
from crossexec_ml.errors import InputError
from crossexec_ml.jobs import list_pieces, score, score_partitioned, score_to_file, train

_MONEY = ("amount_applied", "amount_outstanding", "amount_recovered_to_date", "deposit_balance")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale_attack")
    data = make_cases(n_history=1200, n_current=600, seed=41)
    write_table(data.history, root / "history.csv")
    train(root / "history.csv", root / "model", progress=False)
    return {"root": root, "model": root / "model", "current": data.current}


def _with(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def test_float32_parquet_scores_differently_through_the_merge(setup, tmp_path, monkeypatch):
    """A Parquet export whose money columns are float32 (pyarrow/Spark often write FLOAT) is
    scored differently by the large-file path than by the in-memory path.

    ``score`` reads the file with ``read_cases`` (float32 widened to the exact double, e.g.
    311075.3125), while ``score_to_file`` (what ``crossexec score --out x.parquet`` takes for a
    Parquet file over 600,000 rows) validates each piece with ``validate_table``, which sends
    float32 through ``table_as_text`` (printed as ``311075.3``, read back as another double).
    The user sees different probabilities (``p_keep`` ...), hence possibly another order, for
    the same file depending only on its size: the merged file is not the in-memory file.
    """
    monkeypatch.setattr(engines, "_PART_ROW_GROUP", 16)
    table = pa.Table.from_pandas(setup["current"], preserve_index=False)
    for c in _MONEY:
        table = _with(table, c, pa.array(setup["current"][c].to_numpy(np.float32)))
    src = tmp_path / "f32.parquet"
    pq.write_table(table, src, row_group_size=150)
    whole = tmp_path / "whole.parquet"
    score(setup["model"], src, whole, capacity=30)
    _, merged = score_to_file(
        setup["model"], src, tmp_path / "merged.parquet", piece_rows=150, capacity=30,
        progress=False,
    )  # fmt: skip
    pd.testing.assert_frame_equal(
        pd.read_parquet(merged.path), pd.read_parquet(whole), check_exact=True
    )


def test_typed_parquet_problem_quoted_alike_by_both_readers(setup, tmp_path):
    """The same bad cell of a Parquet file was quoted differently by the two readers (fixed:
    a typed cell is shown as a CSV holds it, ``'-1'`` and ``'9999-01-01'``).

    ``validate_file``/``read_cases`` (``crossexec validate``, ``score`` on a small file) quote
    a float64 cell of -1.0 as ``'-1.0'`` and a timestamp of year 9999 as
    ``'9999-01-01 00:00:00'``; ``validate_table`` (every Parquet piece of the engines and of
    ``score --out`` on a large file) quotes ``'-1'`` and ``'9999-01-01'``: the column falls
    to ``table_as_text``, whose Arrow cast prints whole floats without ``.0``. A clerk who
    checks the file with ``crossexec validate`` and then scores it gets two different problem
    lists for the same file (the contract promise: same file, row, column and message).
    """
    table = pa.Table.from_pandas(setup["current"].head(20), preserve_index=False)
    amounts = setup["current"]["amount_applied"].head(20).to_numpy().copy()
    amounts[3] = -1.0
    table = _with(table, "amount_applied", pa.array(amounts))
    days = list(setup["current"]["as_of_date"].head(20).dt.to_pydatetime())
    days[0] = pd.Timestamp("9999-01-01").to_pydatetime()
    table = _with(table, "as_of_date", pa.array(days, pa.timestamp("s")))
    src = tmp_path / "x.parquet"
    pq.write_table(table, src)
    by_file = validate_file(src)
    by_table = validate_table(pq.read_table(src), source=src.name)
    assert by_file.n_problems == by_table.n_problems == 2
    assert [str(p) for p in by_table.problems] == [str(p) for p in by_file.problems]
    assert [p.value for p in by_file.problems] == ["9999-01-01", "-1"]


def test_mobile_number_in_a_float_stored_count_column_is_not_found(setup, tmp_path):
    """A mobile number in a whole-number contract column stored as float64 slips through the
    engines' Parquet validation.

    pandas writes an ``Int64`` column with gaps, or any count column that went through NaN,
    as float64 Parquet. ``validate_table`` leaves such a column to ``table_as_text``, whose
    Arrow cast prints 13812345678.0 as ``1.3812345678e+10``: the personal-data scan does not
    recognise it, the cell reads back as the whole number 13812345678, and the piece passes.
    ``validate_file``/``read_cases`` on the same file (and the same data as CSV) refuse it as
    a mobile number. A large Parquet export is then scored (``score --out`` over 600,000
    rows, ``--out folder``) with the phone number held in the typed frame, and no problem
    reported; an 18-digit ID number in the same column is also reported without its
    personal-data finding (only as "a number below 10^15").
    """
    frame = setup["current"].head(20).copy()
    counts = frame["n_related_cases"].astype("float64").to_numpy().copy()
    counts[0] = 13812345678.0
    table = _with(
        pa.Table.from_pandas(frame, preserve_index=False), "n_related_cases", pa.array(counts)
    )
    src = tmp_path / "x.parquet"
    pq.write_table(table, src)
    frame["n_related_cases"] = counts
    csv = write_table(frame, tmp_path / "x.csv")
    assert validate_file(csv).personal_columns  # the CSV is refused: a mobile number
    assert validate_file(src).personal_columns  # read_cases on the Parquet file too
    report = validate_table(pq.read_table(src), source=src.name)
    assert not report.ok
    assert report.personal_columns == ["n_related_cases (同一被执行人未结案件数)"]


def test_excel_serial_dates_in_parquet_read_alike_by_both_paths(setup, tmp_path):
    """Dates stored as Excel serial day numbers in Parquet were read by ``score`` but refused,
    every row, by ``score_to_file`` (fixed: ``validate_table`` reads them as ``read_cases``).

    ``read_cases`` hands the int64 column to the date parser as numbers, and a whole number
    is read as an Excel serial day (45352 -> 2024-03-01), so the small file scores. The
    engines' ``validate_table`` prints the column as text first (``'45352'``), which the date
    parser refuses: the same file, once over 600,000 rows, makes ``crossexec score --out
    list.parquet`` stop with one problem per row (``'45352' -> a date such as 2024-03-01``).
    """
    frame = setup["current"].copy()
    frame["filing_date"] = (frame["filing_date"] - pd.Timestamp("1899-12-30")).dt.days
    src = tmp_path / "serial.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), src, row_group_size=150)
    whole = tmp_path / "whole.parquet"
    score(setup["model"], src, whole, capacity=10)  # the in-memory path accepts the file
    _, merged = score_to_file(
        setup["model"], src, tmp_path / "merged.parquet", piece_rows=150, capacity=10,
        progress=False,
    )  # fmt: skip
    pd.testing.assert_frame_equal(
        pd.read_parquet(merged.path), pd.read_parquet(whole), check_exact=True
    )
    # A fraction of a day, a missing cell and a serial before the plausible range: the same
    # problems (row and column) from both readers.
    odd = frame.head(20).astype({"filing_date": "float64"})
    odd.loc[2, "filing_date"] = 45352.5
    odd.loc[3, "filing_date"] = np.nan
    odd.loc[4, "filing_date"] = 3.0
    bad = tmp_path / "odd.parquet"
    pq.write_table(pa.Table.from_pandas(odd, preserve_index=False), bad)
    by_file = validate_file(bad)
    by_table = validate_table(pq.read_table(bad), source=bad.name)
    assert by_file.n_problems == by_table.n_problems == 3
    where = [(p.row, p.column) for p in by_file.problems]
    assert [(p.row, p.column) for p in by_table.problems] == where


def test_timedelta_idle_days_read_as_microseconds_by_validate_table(setup):
    """A ``days_since_last_action`` column saved from pandas as a timedelta is silently read
    as a count of microseconds by the engines' Parquet validation.

    ``df["days_since_last_action"] = df["as_of_date"] - df["last_action_date"]`` then
    ``df.to_parquet(...)`` stores Arrow ``duration[us]``. ``read_cases`` refuses every such
    cell (``'641 days 00:00:00' -> a whole number >= 0``). ``validate_table`` leaves the
    column to ``table_as_text``, whose Arrow cast prints the raw count (``55382400000000``),
    a valid whole number: no problem at all, and every case gets ~5.5e13 idle days. A large
    Parquet file is then scored (``score --out`` over 600,000 rows) with every case in the
    stalled cohort and a nonsense idle-time feature, without any message.
    """
    frame = setup["current"].head(20).copy()
    idle = frame["days_since_last_action"].astype("float64")
    frame["days_since_last_action"] = pd.to_timedelta(idle, unit="D")
    table = pa.Table.from_pandas(frame, preserve_index=False)
    assert pa.types.is_duration(table.schema.field("days_since_last_action").type)
    report = validate_table(table, source="x.parquet")
    assert not report.ok
    assert report.n_problems == 20


def test_extra_column_of_phone_numbers_stored_as_float_is_kept(setup):
    """An extra column of mobile numbers stored as float64 is kept, not refused, by the
    engines' Parquet validation: personal data reaches the typed frame.

    A phone column with gaps is float64 once pandas has read it (NaN for the gaps), and so
    in the Parquet it writes. ``read_cases`` on that file refuses the column ("looks like a
    mainland mobile number ... delete this column from the export"). ``validate_table`` sends
    it through ``table_as_text``, which prints ``1.3812345678e+10``: the scan sees no phone
    number, the column is kept as text with only "columns not in the contract were kept but
    are not used", and the engines (``score --out`` over 600,000 rows, ``--out folder``)
    carry it on. With ``allow_personal_columns`` it is likewise kept instead of dropped.
    """
    frame = setup["current"].head(30).copy()
    phones = np.full(len(frame), 13812345678.0)
    phones[::3] = np.nan
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column(
        "备用字段", pa.array(phones)
    )
    report = validate_table(table, source="x.parquet")
    assert report.personal_columns == ["备用字段 (column 48)"]
    assert not report.ok
    allowed = validate_table(table, source="x.parquet", allow_personal_columns=True)
    assert "备用字段" not in allowed.frame.columns


def test_float_stored_handler_ids_differ_between_engine_and_read_cases(setup, tmp_path):
    """Numeric handler codes stored as float64 become ``1.2345678901e+10`` in the engines and
    ``12345678901`` in ``read_cases``.

    Whole floats are written without ``.0`` by ``read_cases`` (up to 10^15); the engines'
    ``table_as_text`` uses Arrow's cast, which switches to exponent notation from 10^10. The
    same Parquet file gives another ``handler_id`` in a large run than in a small one (and
    the exponent form no longer matches the handlers file or the ledger).
    """
    frame = setup["current"].head(20).copy()
    table = _with(
        pa.Table.from_pandas(frame, preserve_index=False),
        "handler_id",
        pa.array(np.arange(len(frame)) + 12345678901.0),
    )
    src = tmp_path / "x.parquet"
    pq.write_table(table, src)
    assert validate_file(src).frame["handler_id"].iloc[0] == "12345678901"
    assert validate_table(pq.read_table(src)).frame["handler_id"].iloc[0] == "12345678901"


def test_score_to_file_into_its_input_folder_is_refused_before_any_work(setup, tmp_path):
    """``score_to_file`` with a folder of Parquet pieces in and the list written inside that
    folder used to work once, then read its own list as input and fail.

    ``score_to_file`` takes ``cases`` as ``score_partitioned`` does: a folder means every
    ``*.parquet`` below it, recursively. The first run wrote ``scored.parquet`` into the
    folder; the same call again (a nightly job) validated that list as a piece of cases. Now
    the first run is refused, naming the folder, and writes nothing; a glob that would match
    the list likewise. ``score_partitioned`` refuses a parts folder inside its input too.
    """
    folder = tmp_path / "export"
    folder.mkdir()
    write_table(setup["current"].iloc[:300], folder / "a.parquet")
    write_table(setup["current"].iloc[300:], folder / "b.parquet")
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    with pytest.raises(InputError, match="inside the input folder .*next run would read"):
        score_to_file(setup["model"], folder, folder / "scored.parquet", progress=False)
    with pytest.raises(InputError, match="matches the input pattern"):
        score_to_file(
            setup["model"], str(folder / "*.parquet"), folder / "scored.parquet", progress=False
        )
    with pytest.raises(InputError, match="inside the input folder"):
        score_partitioned(setup["model"], folder, folder / "parts", progress=False)
    assert sorted(p.relative_to(folder) for p in folder.rglob("*")) == before
    # Beside the folder is fine, and the glob's list beside it does not match the pattern.
    _, done = score_to_file(setup["model"], folder, tmp_path / "scored.parquet", progress=False)
    assert done.n_rows == 600


def test_parts_left_by_a_killed_run_are_not_read_as_cases(setup, tmp_path):
    """A run killed mid-way (no ``finally``) leaves its hidden parts folder behind; with the
    input folder as a parent of that folder, the recursive ``*.parquet`` listing of later runs
    read those parts as cases. Files below a folder named with a leading ``.`` or ``_`` (the
    partitioned-Parquet convention: ``_temporary``, ``.spark-staging``) are not input."""
    folder = tmp_path / "export"
    (folder / ".scored.parquet.parts-x1" / "parts").mkdir(parents=True)
    (folder / "_temporary").mkdir()
    write_table(setup["current"].iloc[:300], folder / "a.parquet")
    write_table(setup["current"].iloc[:10], folder / "_temporary" / "b.parquet")
    pq.write_table(
        pa.table({"x": [1]}), folder / ".scored.parquet.parts-x1" / "parts" / "p.parquet"
    )
    assert [p.n_rows for p in list_pieces(folder)] == [300]


def test_cli_summary_of_an_empty_proposal_differs_on_the_large_path(
    setup, tmp_path, monkeypatch, capsys
):
    """``crossexec score`` on a large file prints an empty rung list when nothing is proposed.

    With ``--capacity 0`` (or no stalled case), the in-memory path prints ``rungs: keep 0,
    intra_team 0, inter_team 0, higher_court 0``; the large-file path (``score_to_file``)
    prints ``rungs: `` and nothing after it: ``merge_parts`` returns, when no row is shown,
    ``schema.empty_table().to_pandas()``, whose ``suggested_rung`` category has no
    categories (the dictionary is empty), so the summary's reindex over the rungs is empty.
    The same command on the same data prints a different summary depending on file size.
    """
    import crossexec_ml.cli._commands as commands
    from crossexec_ml.cli import main

    cases = write_table(setup["current"], tmp_path / "current.csv")

    def said(out) -> str:
        args = ["score", "--model", str(setup["model"]), "--cases", str(cases)]
        assert main([*args, "--out", str(out), "--capacity", "0"]) == 0
        return capsys.readouterr().out.replace(str(out), "OUT")

    in_memory = said(tmp_path / "memory.parquet")
    monkeypatch.setattr(commands, "SCORE_STREAM_MB", 0)  # any CSV counts as large
    assert said(tmp_path / "streamed.parquet") == in_memory
