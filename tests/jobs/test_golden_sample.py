"""The list leaders get from the shipped sample does not change by accident.

``tests/golden/sample_list.csv`` holds the scores, ranks, rungs, floors and planned handlers that
``train``, ``score`` and ``plan`` gave on ``data/sample/`` before the package was moved into rooms
(step 1 of the house). A refactor must reproduce them; a change that is meant to move the list
(a fixed defect, a new model) regenerates the file with ``python tests/jobs/test_golden_sample.py``
and says why in its commit.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.cli import main

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "sample_list.csv"
SAMPLE = REPO / "data" / "sample"
PROBS = ["p_keep", "p_intra_team", "p_inter_team", "p_higher_court"]
GAINS = ["uplift", "best_gain", "expected_gain"]
EXACT = ["priority_rank", "suggested_rung", "candidate", "floor_reason", "n_hard_bone_flags"]
TEXT = ["case_id", "case_fingerprint", "target_handler_id", "target_team_id"]


def sample_list(out: Path) -> pd.DataFrame:
    """Train, score and plan on the sample through the CLI; the columns of the golden file."""
    model, scored, plan = out / "model", out / "scored.parquet", out / "plan.csv"
    assert (
        main(["train", "--cases", str(SAMPLE / "history.csv"), "--out", str(model), "--quiet"]) == 0
    )
    assert main(["score", "--model", str(model), "--cases", str(SAMPLE / "current.csv"),
                 "--out", str(scored)]) == 0  # fmt: skip
    assert main(["plan", "--scored", str(scored), "--handlers", str(SAMPLE / "handlers.csv"),
                 "--model", str(model), "--out", str(plan)]) == 0  # fmt: skip
    s = pd.read_parquet(scored)
    p = pd.read_csv(plan, encoding="utf-8-sig", dtype=str)
    cols = ["case_id", *EXACT[:1], "suggested_rung", *PROBS, *GAINS, *EXACT[2:], "case_fingerprint"]
    got = s[cols].merge(
        p[["case_id", "target_handler_id", "target_team_id"]], on="case_id", how="left"
    )
    return got


def _normalised(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    for c in TEXT + ["suggested_rung", "floor_reason"]:
        df[c] = df[c].astype("string").fillna("")
    df["candidate"] = df["candidate"].astype(str).str.lower()
    df["priority_rank"] = pd.to_numeric(df["priority_rank"]).astype("Int64")
    df["n_hard_bone_flags"] = pd.to_numeric(df["n_hard_bone_flags"]).astype(int)
    return df.sort_values("case_id").reset_index(drop=True)


def test_sample_list_is_unchanged(tmp_path):
    got = _normalised(sample_list(tmp_path))
    want = _normalised(pd.read_csv(GOLDEN, dtype={c: str for c in TEXT}, encoding="utf-8"))
    assert list(got["case_id"]) == list(want["case_id"])
    for c in EXACT + TEXT:
        diff = got[c] != want[c]
        assert not diff.any(), (
            f"{c} differs for {int(diff.sum())} cases, e.g. {got.loc[diff].head(3)}"
        )
    # Probabilities: identical here; a last-digit difference of another CPU's maths is tolerated.
    np.testing.assert_allclose(got[PROBS + GAINS], want[PROBS + GAINS], rtol=1e-9, atol=1e-12)


if __name__ == "__main__":  # regenerate after an intended change of the list
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        sample_list(Path(d)).to_csv(GOLDEN, index=False, encoding="utf-8")
    print(f"wrote {GOLDEN}", file=sys.stderr)
