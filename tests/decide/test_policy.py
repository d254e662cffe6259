"""The suggested rung: cheapest close-to-best rung, keep when nothing adds enough, the ladder."""

from __future__ import annotations

import pandas as pd
import pytest

from crossexec_ml.decide import allowed_rungs, suggest_rung
from crossexec_ml.settings import LadderSettings


def probs(*rows):
    return pd.DataFrame(rows, columns=["p_keep", "p_intra_team", "p_inter_team", "p_higher_court"])


def test_cheapest_rung_close_to_the_best_wins():
    p = probs(
        (0.05, 0.22, 0.23, 0.25),  # intra gain .17 >= .8 * .20 -> intra_team
        (0.05, 0.10, 0.23, 0.25),  # intra .05 too far; inter .18 >= .16 -> inter_team
        (0.05, 0.06, 0.07, 0.40),  # only the higher court helps
    )
    out = suggest_rung(p)
    assert out["suggested_rung"].tolist() == ["intra_team", "inter_team", "higher_court"]
    assert out["p_cross"].tolist() == [0.22, 0.23, 0.40]
    assert out["uplift"].round(6).tolist() == [0.17, 0.18, 0.35]


def test_keep_when_no_rung_adds_enough():
    p = probs((0.02, 0.03, 0.03, 0.04), (0.30, 0.20, 0.25, 0.29))
    out = suggest_rung(p)
    assert out["suggested_rung"].tolist() == ["keep", "keep"]
    assert out["uplift"].tolist() == [0.0, 0.0]
    assert out["p_cross"].tolist() == [0.02, 0.30]
    assert out["best_gain"].round(6).tolist() == [0.02, -0.01]
    looser = suggest_rung(p, settings=LadderSettings(min_gain=0.01))
    assert looser["suggested_rung"].tolist()[0] == "higher_court"  # gains .01 .01 .02


def test_ladder_stage_forbids_going_back_down():
    p = probs(*[(0.05, 0.30, 0.25, 0.20)] * 4)
    stage = pd.Series(["original", "intra_team", "inter_team", None])
    out = suggest_rung(p, stage)
    assert out["suggested_rung"].tolist() == [
        "intra_team",
        "inter_team",
        "higher_court",
        "intra_team",
    ]
    free = suggest_rung(p, stage, LadderSettings(respect_ladder=False))
    assert free["suggested_rung"].tolist() == ["intra_team"] * 4


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("original", [True, True, True]),
        ("intra_team", [False, True, True]),
        ("inter_team", [False, False, True]),
        ("higher_court", [False, False, True]),
    ],
)
def test_allowed_rungs(stage, expected):
    assert allowed_rungs(pd.Series([stage]), 1, LadderSettings())[0].tolist() == expected


def test_empty_input():
    assert len(suggest_rung(probs())) == 0
