"""``crossexec score`` streams a large single file: piece by piece, the same list as in memory.

A file over ``--stream-mb`` goes through the chunked pandas engine and is written as the one
``.csv``/``.parquet`` that ``--out`` names; a folder ``--out`` gets the engine's Parquet parts.
Either way the rows must equal the in-memory path's exactly.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import make_cases, write_table
from crossexec_ml.jobs import read_scored_parts, train


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream_cli")
    data = make_cases(n_history=900, n_current=400, seed=5)
    write_table(data.history, root / "history.csv")
    write_table(data.current, root / "current.csv")
    train(root / "history.csv", root / "model", progress=False)
    return root


def _score(root, out, *extra):
    args = ["score", "--model", str(root / "model"), "--cases", str(root / "current.csv")]
    assert main([*args, "--out", str(out), *extra]) == 0


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_large_file_streams_into_one_file_equal_to_in_memory(setup, suffix, capsys):
    root = setup
    _score(root, root / f"memory{suffix}", "--stream-mb", "-1")
    _score(root, root / f"streamed{suffix}", "--stream-mb", "0")
    said = capsys.readouterr().out.splitlines()
    # Both paths report the same list: the same top-k, expected resolutions and rungs.
    tops = [line for line in said if line.lstrip().startswith("top ")]
    assert len(tops) == 2 and tops[0] == tops[1]
    read = pd.read_parquet if suffix == ".parquet" else pd.read_csv
    a, b = read(root / f"memory{suffix}"), read(root / f"streamed{suffix}")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert a["priority_rank"].notna().sum() > 0
    # Nothing left beside the output (the temporary parts folder is removed).
    assert not [p for p in root.iterdir() if p.name.endswith(".parts")]


def test_folder_out_scores_piece_by_piece(setup):
    root = setup
    _score(root, root / "memory.parquet", "--stream-mb", "-1")
    _score(root, root / "list_folder")
    assert sorted(p.name for p in (root / "list_folder").glob("part-*.parquet"))
    got = read_scored_parts(root / "list_folder")
    want = pd.read_parquet(root / "memory.parquet")
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=True)
