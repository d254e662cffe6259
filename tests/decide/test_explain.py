"""Reasons come from the model's own predictions and change when the facts change."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import make_cases
from crossexec_ml.decide import explain_cases
from crossexec_ml.model import CrossExecModel

CASES = make_cases(n_history=0, n_current=40, seed=9).current


class StubModel:
    """p_keep 0.1 everywhere; reassigning adds 0.2 with unencumbered real estate, and 0.1 per
    year idle above 90 days. Nothing else matters to it."""

    def predict_rungs(self, cases):
        estate = cases["has_real_estate"].astype("boolean").fillna(False).to_numpy(bool) & ~(
            cases["real_estate_encumbered"].astype("boolean").fillna(False).to_numpy(bool)
        )
        idle = pd.to_numeric(cases["days_since_last_action"]).to_numpy(float)
        gain = 0.2 * estate + 0.1 * (idle - 90) / 365
        keep = np.full(len(cases), 0.1)
        return pd.DataFrame(
            {
                "p_keep": keep,
                "p_intra_team": keep + gain,
                "p_inter_team": keep + gain / 2,
                "p_higher_court": keep,
            },
            index=cases.index,
        )


def one_case(**facts) -> pd.DataFrame:
    c = CASES.head(1).copy()
    c["ladder_stage"] = pd.Categorical(["original"], categories=c["ladder_stage"].cat.categories)
    for col, value in facts.items():
        c[col] = pd.Series([value], index=c.index).astype(c[col].dtype)
    return c


def test_reasons_are_the_model_effects_by_hand():
    c = one_case(
        has_real_estate=True,
        real_estate_encumbered=False,
        days_since_last_action=455,
        deposit_balance=50000.0,
        debtor_status="deregistered",
    )
    r = explain_cases(StubModel(), c).iloc[0]
    # real estate: 0.2; idle 455 -> 90 days: 0.1 * 365 / 365 = 0.1; the stub ignores the rest
    assert r["reason_effects"] == {"free_real_estate": 0.2, "idle": 0.1}
    assert r["reasons_zh"] == (
        "有可处置的不动产（增益+20.0个百分点）；已455天无实质执行行为（增益+10.0个百分点）"
    )
    assert r["reasons_en"].startswith("unencumbered real estate found (+20.0 points)")
    assert r["top_reason_zh"] == "有可处置的不动产（增益+20.0个百分点）"


def test_changing_a_fact_changes_the_reason():
    with_estate = explain_cases(
        StubModel(),
        one_case(has_real_estate=True, real_estate_encumbered=False, days_since_last_action=120),
    ).iloc[0]
    without = explain_cases(
        StubModel(), one_case(has_real_estate=False, days_since_last_action=120)
    ).iloc[0]
    assert "不动产" in with_estate["reasons_zh"]
    assert "不动产" not in without["reasons_zh"]
    assert without["reasons_zh"] == "无单项事实使交叉增益变化半个百分点以上"


def test_real_model_reasons_track_its_predictions():
    data = make_cases(n_history=3000, n_current=0, seed=4)
    model = CrossExecModel().fit(data.history)
    cases = data.history.head(200).reset_index(drop=True)
    why = explain_cases(model, cases)
    assert why["reasons_zh"].str.len().gt(0).all()
    # every reported effect is reproduced by neutralising that fact and asking the model again
    from crossexec_ml.decide import FACTS

    facts = {f.name: f for f in FACTS}
    checked = 0
    for i in range(0, 200, 20):
        for name, effect in why["reason_effects"].iloc[i].items():
            row = cases.iloc[[i]].copy()
            p = model.predict_rungs(row).to_numpy()[0]
            facts[name].neutralise(row)
            q = model.predict_rungs(row).to_numpy()[0]
            gains_p, gains_q = p[1:] - p[0], q[1:] - q[0]
            best = int(np.argmax(gains_p))  # all rungs allowed for original-stage cases
            if cases["ladder_stage"].iloc[i] == "original":
                assert gains_p[best] - gains_q[best] == pytest.approx(effect, abs=1e-4)
                checked += 1
    assert checked > 0
