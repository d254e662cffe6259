"""``crossexec score --out FOLDER`` scores piece by piece: the same list as in memory.

A folder ``--out`` (no suffix) sends even one CSV through the chunked pandas engine, memory
bounded by the pieces, into a folder of Parquet parts; the rows must equal the in-memory
path's exactly.
"""

from __future__ import annotations

import pandas as pd

from crossexec_ml.cli import main
from crossexec_ml.data import make_cases, write_table
from crossexec_ml.jobs import read_scored_parts, train


def test_folder_out_scores_one_csv_piece_by_piece(tmp_path, capsys):
    data = make_cases(n_history=900, n_current=400, seed=5)
    write_table(data.history, tmp_path / "history.csv")
    write_table(data.current, tmp_path / "current.csv")
    train(tmp_path / "history.csv", tmp_path / "model", progress=False)
    args = ["score", "--model", str(tmp_path / "model"), "--cases", str(tmp_path / "current.csv")]
    assert main([*args, "--out", str(tmp_path / "memory.parquet")]) == 0
    assert main([*args, "--out", str(tmp_path / "list_folder")]) == 0
    said = capsys.readouterr().out
    assert "with the pandas engine" in said and "parts, ranked across all of them" in said
    assert sorted(p.name for p in (tmp_path / "list_folder").glob("part-*.parquet"))
    got = read_scored_parts(tmp_path / "list_folder")
    want = pd.read_parquet(tmp_path / "memory.parquet")
    pd.testing.assert_frame_equal(got, want[got.columns], check_exact=True)
    assert want["priority_rank"].notna().sum() > 0
