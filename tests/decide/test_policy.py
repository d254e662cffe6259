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


# --- the one rule: best allowed gain, k, tie rule, floors ------------------------------------

import numpy as np  # noqa: E402

from crossexec_ml.decide import (  # noqa: E402
    apply_floor,
    best_allowed_gain,
    capacity_k,
    floor_needs,
    tie_rule_order,
    top_k,
)
from crossexec_ml.settings import PrioritySettings  # noqa: E402


def test_best_allowed_gain_respects_the_ladder_and_takes_the_cheapest_tied_rung():
    p = probs((0.1, 0.3, 0.3, 0.2), (0.1, 0.3, 0.3, 0.2), (0.4, 0.3, 0.2, 0.1))
    gain, rung = best_allowed_gain(p, pd.Series(["original", "intra_team", "original"]))
    assert rung.tolist() == [1, 2, 1]  # tie intra/inter -> intra; stage forbids intra
    assert np.round(gain, 6).tolist() == [0.2, 0.2, -0.1]
    # suggest_rung's best_gain is the same number
    assert np.allclose(suggest_rung(p, pd.Series(["original"] * 3))["best_gain"], gain[[0, 0, 2]])


def test_capacity_k_is_share_rounded_at_least_one_and_capacity_capped():
    assert capacity_k(200) == 20
    assert capacity_k(3) == 1  # never zero on a non-empty list
    assert capacity_k(0) == 0
    assert capacity_k(10, capacity=50) == 10
    assert capacity_k(10, capacity=-1) == 0
    assert capacity_k(95, share=0.1) == 10  # round(9.5) = 10 (banker's), as before


def test_tie_rule_orders_by_score_then_idle_then_case_id():
    order = tie_rule_order(
        np.array([0.2, 0.2, 0.2, 0.5]),
        np.array([100, 300, 300, 0]),
        pd.Series(["C3", "C2", "C1", "C9"]),
    )
    assert order.tolist() == [3, 2, 1, 0]
    cases = pd.DataFrame(
        {"days_since_last_action": [100, 300, 300, 0], "case_id": ["C3", "C2", "C1", "C9"]}
    )
    assert top_k(np.array([0.2, 0.2, 0.2, 0.5]), cases, 2).tolist() == [3, 2]


def test_floor_needs_round_up_and_apply_floor_swaps_the_weakest():
    assert floor_needs(10, PrioritySettings(livelihood_floor=0.25, long_unresolved_floor=0.0)) == (
        3,
        0,
    )
    order = np.arange(6)
    member = np.array([False, False, False, False, True, True])
    selected, lifted = apply_floor(order[:3], order, member, 1, np.zeros(6, dtype=bool))
    assert selected.tolist() == [0, 1, 4] and lifted.tolist() == [4]
    protected = np.array([False, False, True, False, False, False])
    selected, _ = apply_floor(order[:3], order, member, 1, protected)
    assert selected.tolist() == [0, 2, 4]  # the protected weakest stays, the next goes
