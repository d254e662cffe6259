"""The exploration band in the scored list: same cases outside the band, recorded propensities,
the same rows from the partitioned engine, and the propensity carried into the ledger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import make_cases, read_cases, write_table
from crossexec_ml.decide import scores_shown
from crossexec_ml.jobs import read_scored_parts, score_cases, score_partitioned, train
from crossexec_ml.model import load_model


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("explore")
    data = make_cases(n_history=1200, n_current=600, seed=41)
    write_table(data.history, root / "history.csv")
    train(root / "history.csv", root / "model", progress=False)
    parts = root / "cases"
    parts.mkdir()
    for i, (a, b) in enumerate([(0, 250), (250, 600)]):
        data.current.iloc[a:b].to_parquet(parts / f"cases-{i}.parquet", index=False)
    model, card = load_model(root / "model")
    current = pd.concat([read_cases(p) for p in sorted(parts.glob("*.parquet"))])
    return {"root": root, "parts": parts, "model": model, "card": card, "current": current}


def _score(setup, **kw):
    return score_cases(
        setup["model"], setup["current"], model_id=setup["card"]["model_id"], **kw
    ).set_index("case_id")


def test_the_band_moves_only_cases_around_the_cut(setup):
    plain = _score(setup)
    band = _score(setup, explore=0.3, explore_seed=5)
    assert "proposal_propensity" not in plain
    band = band.loc[plain.index]
    # The order shown is the list's own; only who is proposed changes, and only in the band.
    assert band["priority_rank"].equals(plain["priority_rank"])
    assert band["candidate"].sum() == plain["candidate"].sum()
    p = band["proposal_propensity"]
    in_band = p == 0.5
    assert in_band.sum() > 0
    outside = ~in_band
    assert band.loc[outside, "candidate"].equals(plain.loc[outside, "candidate"])
    assert (p[outside] == plain.loc[outside, "candidate"].astype(float)).all()
    # Floors hold: a case lifted by a floor is never in the band.
    assert not (in_band & (plain["floor_reason"] != "")).any()
    # Drawn in from below only with something to gain.
    assert (band.loc[in_band & band["candidate"], "expected_gain"] > 0).all()
    policy = band.attrs.get("scoring_policy") or _score(setup, explore=0.3).attrs["scoring_policy"]
    assert "priority.explore_band" in policy["overridden"]


def test_the_draw_is_seeded(setup):
    a = _score(setup, explore=0.3, explore_seed=5)["candidate"]
    b = _score(setup, explore=0.3, explore_seed=5)["candidate"]
    c = _score(setup, explore=0.3, explore_seed=6)["candidate"]
    assert a.equals(b) and not a.equals(c)


def test_the_partitioned_engine_draws_the_same_band(setup):
    root = setup["root"]
    score_partitioned(
        root / "model",
        setup["parts"],
        root / "out",
        engine="pandas",
        progress=False,
        explore=0.3,
        explore_seed=5,
        piece_rows=200,
    )
    got = read_scored_parts(root / "out").set_index("case_id")
    expected = _score(setup, explore=0.3, explore_seed=5).loc[got.index]
    np.testing.assert_array_equal(got["candidate"], expected["candidate"])
    np.testing.assert_array_equal(got["proposal_propensity"], expected["proposal_propensity"])


def test_the_ledger_keeps_the_propensity_shown(setup):
    row = _score(setup, explore=0.3, explore_seed=5).reset_index()
    shown = scores_shown(row[row["proposal_propensity"] == 0.5].iloc[0])
    assert shown["proposal_propensity"] == 0.5


def test_cli_score_with_a_band(setup, tmp_path, capsys):
    root = setup["root"]
    out = tmp_path / "scored.parquet"
    code = main(
        [
            "score",
            "--model",
            str(root / "model"),
            "--cases",
            str(setup["parts"] / "cases-1.parquet"),
            "--out",
            str(out),
            "--explore",
            "0.2",
            "--explore-seed",
            "3",
        ]
    )
    assert code == 0
    assert "exploration band" in capsys.readouterr().out
    assert (pd.read_parquet(out)["proposal_propensity"] == 0.5).any()
    with pytest.raises(SystemExit) as exc:
        main(["score", "--model", str(root / "model"), "--cases", str(out), "--out",
              str(tmp_path / "x.parquet"), "--explore", "1.5"])  # fmt: skip
    assert exc.value.code == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert not (tmp_path / "x.parquet").exists()
