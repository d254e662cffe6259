"""Province-scale engines: partitioned Parquet scored piece by piece, ranked globally.

Both engines must give exactly the rows of ``score_cases`` on all cases at once (same
columns, values, ranks, candidates, reasons); a bad partition must name its file, row and
column and leave nothing behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import make_cases, read_cases, write_table
from crossexec_ml.jobs import (
    SCORE_COLUMNS,
    PartitionError,
    list_pieces,
    read_piece,
    read_scored_parts,
    score_cases,
    score_partitioned,
    train,
)
from crossexec_ml.model import CrossExecModel, load_model

EXPLAIN = 120  # reasons for the top 120: spread over several partitions
SPLITS = [(0, 70), (70, 480), (480, 630), (630, 800)]  # uneven on purpose


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("engines")
    data = make_cases(n_history=1200, n_current=800, seed=31)
    write_table(data.history, root / "history.csv")
    train(root / "history.csv", root / "model", progress=False)
    parts = root / "cases"
    parts.mkdir()
    for i, (a, b) in enumerate(SPLITS):
        # The second file has row groups of 100 rows, so a small piece size splits it.
        data.current.iloc[a:b].to_parquet(
            parts / f"cases-{i}.parquet", index=False, row_group_size=100 if i == 1 else None
        )
    model, card = load_model(root / "model")
    together = pd.concat(
        [read_cases(f) for f in sorted(parts.glob("*.parquet"))], ignore_index=True
    )
    expected = score_cases(model, together, model_id=card["model_id"], explain_top=EXPLAIN)
    # Compared as files: the engines write Parquet, so the reference goes through Parquet too.
    write_table(expected, root / "expected.parquet")
    return {
        "root": root,
        "parts": parts,
        "current": data.current,
        "expected": pd.read_parquet(root / "expected.parquet"),
    }


def _no_temp(folder: Path, name: str) -> None:
    assert not [p for p in folder.iterdir() if p.name.startswith(f".{name}.")]


def _no_leftovers(folder: Path, name: str) -> None:
    assert not (folder / name).exists()
    _no_temp(folder, name)


def test_pieces_follow_files_and_row_groups(setup):
    pieces = list_pieces(setup["parts"], piece_rows=200)
    assert [Path(p.path).name for p in pieces] == [
        "cases-0.parquet",
        "cases-1.parquet",
        "cases-1.parquet",
        "cases-1.parquet",
        "cases-2.parquet",
        "cases-3.parquet",
    ]
    assert [p.n_rows for p in pieces] == [70, 200, 200, 10, 150, 170]
    assert [p.first_row for p in pieces[1:4]] == [0, 200, 400]


def test_piece_reads_as_read_cases(setup, tmp_path):
    # Typed Parquet handed to the validator as text gives the same typed frame.
    path = setup["parts"] / "cases-2.parquet"
    pd.testing.assert_frame_equal(read_piece(list_pieces(path)[0]), read_cases(path))


def test_scores_of_a_case_do_not_depend_on_its_batch():
    data = make_cases(n_history=1200, n_current=1003, seed=5)
    model = CrossExecModel().fit(data.history)
    whole = model.predict_rungs(data.current).to_numpy()
    cuts = [0, 1, 7, 500, 997, 1003]
    pieces = [
        model.predict_rungs(data.current.iloc[a:b]).to_numpy()
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
    ]
    np.testing.assert_array_equal(np.vstack(pieces), whole)


@pytest.mark.parametrize("processes", [1, 2])
def test_chunked_pandas_engine_equals_score_cases(setup, processes):
    # processes=2: the pieces in two worker processes (the default from 200,000 rows on).
    root = setup["root"]
    run = score_partitioned(
        root / "model",
        setup["parts"],
        root / "out-pandas",
        engine="pandas",
        explain_top=EXPLAIN,
        piece_rows=200,
        progress=False,
        processes=processes,
    )
    assert (run.n_rows, run.n_parts) == (800, 6)
    got = read_scored_parts(root / "out-pandas")
    pd.testing.assert_frame_equal(got, setup["expected"], check_exact=True)
    assert got["reasons_zh"].notna().sum() == EXPLAIN
    # Ranked across partitions: every part holds ranks from all over the list.
    parts = sorted((root / "out-pandas").glob("part-*.parquet"))
    ranks = [pd.read_parquet(p)["priority_rank"].dropna() for p in parts]
    assert all(r.is_monotonic_increasing for r in ranks)
    assert sum(int(r.min()) == 1 for r in ranks) == 1
    assert all(r.max() > 600 for r in ranks if len(r) > 50)
    _no_temp(root, "out-pandas")


def test_dask_engine_equals_score_cases(setup, dask_client):
    root = setup["root"]
    run = score_partitioned(
        root / "model",
        str(setup["parts"] / "*.parquet"),
        root / "out-dask",
        engine="dask",
        client=dask_client,
        explain_top=EXPLAIN,
        piece_rows=200,
        progress=False,
    )
    assert run.n_rows == 800
    got = read_scored_parts(root / "out-dask")
    pd.testing.assert_frame_equal(got, setup["expected"], check_exact=True)
    assert list(got.columns) == list(SCORE_COLUMNS)
    _no_temp(root, "out-dask")


def _bad_copy(setup, tmp_path: Path) -> Path:
    folder = tmp_path / "cases"
    folder.mkdir()
    cur = setup["current"]
    cur.iloc[:300].to_parquet(folder / "a.parquet", index=False)
    bad = cur.iloc[300:700].astype({"debtor_type": "string"}).reset_index(drop=True)
    bad.loc[250, "debtor_type"] = "dragon"  # in the file's second piece: row 252 of the file
    bad.to_parquet(folder / "b.parquet", index=False, row_group_size=100)
    return folder


@pytest.mark.parametrize("engine", ["pandas", "pandas-2p", "dask"])
def test_invalid_partition_is_named_and_nothing_is_written(setup, tmp_path, engine, request):
    folder = _bad_copy(setup, tmp_path)
    client = request.getfixturevalue("dask_client") if engine == "dask" else None
    with pytest.raises(PartitionError) as err:  # raised in a worker process for pandas-2p
        score_partitioned(
            setup["root"] / "model",
            folder,
            tmp_path / "out",
            engine=engine.split("-")[0],
            client=client,
            piece_rows=200,
            progress=False,
            processes=2 if engine == "pandas-2p" else None,
        )
    msg = str(err.value)
    assert "b.parquet" in msg and "row 252" in msg and "debtor_type" in msg and "dragon" in msg
    _no_leftovers(tmp_path, "out")


def test_duplicate_case_across_partitions_is_refused(setup, tmp_path):
    folder = tmp_path / "cases"
    folder.mkdir()
    cur = setup["current"]
    cur.iloc[:50].to_parquet(folder / "a.parquet", index=False)
    cur.iloc[40:90].to_parquet(folder / "b.parquet", index=False)
    with pytest.raises(PartitionError, match=r"b\.parquet row 2.*a\.parquet row 42"):
        score_partitioned(
            setup["root"] / "model", folder, tmp_path / "out", engine="pandas", progress=False
        )
    _no_leftovers(tmp_path, "out")


def test_existing_output_folder_is_replaced_whole(setup, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "part-00099.parquet").write_text("stale")
    score_partitioned(
        setup["root"] / "model", setup["parts"] / "cases-0.parquet", out, progress=False
    )
    assert sorted(p.name for p in out.iterdir()) == ["part-00000.parquet"]


def _cli_scores_like_score_cases(setup, out, engine: str) -> None:
    """``crossexec score --engine ENGINE`` on the folder gives exactly ``score_cases``."""
    args = ["score", "--model", str(setup["root"] / "model"), "--cases", str(setup["parts"])]
    assert main([*args, "--out", str(out), "--engine", engine]) == 0
    reasons = ["top_reason_zh", "reasons_zh", "reasons_en"]
    pd.testing.assert_frame_equal(
        read_scored_parts(out).drop(columns=reasons),
        setup["expected"].drop(columns=reasons),
        check_exact=True,
    )


def test_cli_scores_a_folder_piece_by_piece(setup, tmp_path, capsys):
    _cli_scores_like_score_cases(setup, tmp_path / "scored", "pandas")
    assert "800 cases" in capsys.readouterr().out


def test_cli_refuses_a_scheduler_without_dask(setup, tmp_path, capsys):
    rc = main(
        [
            "score",
            "--model",
            str(setup["root"] / "model"),
            "--cases",
            str(setup["parts"]),
            "--out",
            str(tmp_path / "scored"),
            "--scheduler",
            "tcp://127.0.0.1:1",
        ]
    )
    assert rc == 1 and "--engine dask" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_dask_on_a_local_process_cluster(setup, tmp_path):
    _cli_scores_like_score_cases(setup, tmp_path / "scored", "dask")


@pytest.mark.parametrize(
    "engine, fmt, threads",
    [("pandas", "csv", 2), ("pandas", "ragged csv", 1), ("pandas", "xlsx", 1), ("dask", "csv", 1)],
)
def test_one_csv_is_scored_piece_by_piece_as_the_whole_file(
    setup, tmp_path, engine, fmt, threads, request
):
    # Step 6: a single export no longer needs splitting by hand; it is streamed in batches
    # (Arrow's reader, or Python's where a row has empty cells past the header's width; an
    # XLSX sheet row by row, Excel's own dates and numbers kept).
    if fmt == "xlsx":
        path = tmp_path / "current.xlsx"
        setup["current"].to_excel(path, index=False)
    else:
        path = write_table(setup["current"], tmp_path / "current.csv")
    if fmt == "ragged csv":
        lines = path.read_bytes().split(b"\n")
        lines[500] = lines[500].rstrip(b"\r") + b",,\r"
        path.write_bytes(b"\n".join(lines))
    client = request.getfixturevalue("dask_client") if engine == "dask" else None
    run = score_partitioned(
        setup["root"] / "model",
        path,
        tmp_path / "out",
        engine=engine,
        client=client,
        explain_top=EXPLAIN,
        piece_rows=300,
        progress=False,
        threads=threads,  # two pieces at a time in this process: the same rows
    )
    assert (run.n_rows, run.n_parts) == (800, 3)
    got = read_scored_parts(tmp_path / "out")
    pd.testing.assert_frame_equal(got, setup["expected"], check_exact=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"part-{i:05d}.parquet" for i in range(3)
    ]
    _no_temp(tmp_path, "out")


def test_an_invalid_xlsx_batch_names_the_sheet_row(setup, tmp_path):
    cur = setup["current"].astype({"debtor_type": "string"})
    cur.loc[450, "debtor_type"] = "dragon"  # row 452 of the sheet, in the second batch
    cur.to_excel(tmp_path / "c.xlsx", index=False)
    with pytest.raises(PartitionError) as err:
        score_partitioned(
            setup["root"] / "model",
            tmp_path / "c.xlsx",
            tmp_path / "out",
            piece_rows=300,
            progress=False,
        )
    assert str(err.value).startswith("c.xlsx: 1 problem(s) found\n  row 452, column debtor_type")
    _no_leftovers(tmp_path, "out")
