"""One scored file from a large input: scored in pieces, the parts merged by rank.

The merged file must be the file the in-memory path writes for the same input (same rows,
order, values and types; for CSV the same bytes), whatever the number of parts and their row
groups, and the command line takes that path for a large input by itself.
"""

from __future__ import annotations

import pandas as pd
import pytest

import crossexec_ml.cli._commands as commands
import crossexec_ml.jobs._engines as engines
from crossexec_ml.cli import main
from crossexec_ml.data import make_cases, write_table
from crossexec_ml.jobs import merge_parts, read_scored_parts, score, score_to_file, train


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("merge")
    data = make_cases(n_history=1200, n_current=900, seed=41)
    write_table(data.history, root / "history.csv")
    train(root / "history.csv", root / "model", progress=False)
    cases = write_table(data.current, root / "current.csv")
    return {"root": root, "model": root / "model", "cases": cases}


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_merged_file_is_the_in_memory_file(setup, tmp_path, monkeypatch, suffix):
    # Row groups of 16 rows: each part is read a few rows at a time, so the merge really
    # interleaves the parts' row groups by rank instead of reading each part whole.
    monkeypatch.setattr(engines, "_PART_ROW_GROUP", 16)
    whole = tmp_path / f"whole{suffix}"
    score(setup["model"], setup["cases"], whole, explore=0.1, explore_seed=3, capacity=60)
    run, merged = score_to_file(
        setup["model"],
        setup["cases"],
        tmp_path / f"merged{suffix}",
        piece_rows=200,
        explore=0.1,
        explore_seed=3,
        capacity=60,
        progress=False,
    )
    assert run.n_parts == 5
    if suffix == ".csv":
        assert merged.path.read_bytes() == whole.read_bytes()
    else:
        pd.testing.assert_frame_equal(
            pd.read_parquet(merged.path), pd.read_parquet(whole), check_exact=True
        )
    expected = pd.read_parquet(whole) if suffix == ".parquet" else None
    if expected is not None:
        assert merged.n_rows == len(expected)
        assert merged.n_ranked == int(expected["priority_rank"].notna().sum())
        top = expected[expected["candidate"].astype(bool)]
        assert merged.shown["candidate"].sum() == len(top)
    # Nothing is left beside the file: the parts' folder is gone.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([whole.name, merged.path.name])


def test_merge_equals_reading_the_parts(setup, tmp_path, monkeypatch):
    monkeypatch.setattr(engines, "_PART_ROW_GROUP", 7)
    engines.score_partitioned(
        setup["model"], setup["cases"], tmp_path / "parts", piece_rows=128, progress=False
    )
    merged = merge_parts(tmp_path / "parts", tmp_path / "one.parquet")
    pd.testing.assert_frame_equal(
        pd.read_parquet(merged.path), read_scored_parts(tmp_path / "parts"), check_exact=True
    )


def _score_cli(setup, out) -> int:
    return main(["score", "--model", str(setup["model"]), "--cases", str(setup["cases"]),
                 "--out", str(out)])  # fmt: skip


def test_cli_scores_a_large_file_through_the_merge(setup, tmp_path, monkeypatch, capsys):
    assert _score_cli(setup, tmp_path / "memory.parquet") == 0
    said_memory = capsys.readouterr().out
    monkeypatch.setattr(commands, "SCORE_STREAM_MB", 0)  # any CSV counts as large
    import crossexec_ml.jobs as jobs

    called = []  # the command imports score_to_file from the jobs front door when it runs

    original = jobs.score_to_file
    monkeypatch.setattr(
        jobs, "score_to_file", lambda *a, **k: called.append(1) or original(*a, **k)
    )
    assert _score_cli(setup, tmp_path / "streamed.parquet") == 0
    said_streamed = capsys.readouterr().out
    assert called == [1]
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "streamed.parquet"),
        pd.read_parquet(tmp_path / "memory.parquet"),
        check_exact=True,
    )
    assert said_streamed.replace("streamed", "memory") == said_memory
