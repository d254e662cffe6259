"""Choosing the learner on the data at hand: candidates, the truth-free evidence, the rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import make_cases
from crossexec_ml.decide import suggest_rung
from crossexec_ml.model import CrossExecModel
from crossexec_ml.model._select import _suggested
from crossexec_ml.settings import LEARNERS, PROB_COLUMNS, LadderSettings, SelectionSettings


@pytest.fixture(scope="module")
def data():
    return make_cases(n_history=2500, n_current=200, seed=8, variant="divergent")


@pytest.fixture(scope="module")
def chosen(data):
    # Small windows so 2,500 rows are enough to choose (the defaults need more history).
    settings = SelectionSettings(min_fit_rows=800, min_valid_rows=300)
    return CrossExecModel(selection=settings).fit(data.history)


def test_every_candidate_is_judged_and_the_rule_is_followed(chosen):
    sel = chosen.selection_
    records = {r["learner"]: r for r in sel["candidates"]}
    assert list(records) == list(LEARNERS)
    assert sel["n_fit"] >= 800 and sel["n_valid"] >= 300 and sel["n_randomised_valid"] > 0
    best = max(records.values(), key=lambda r: r["dr_gain_per_case"])
    assert sel["best_value"] == best["learner"] and best["diff_to_best"] == 0
    for r in records.values():
        assert np.isfinite([r["dr_gain_per_case"], r["dr_se"], r["log_loss"]]).all()
        assert r["dr_se"] > 0 and set(r["log_loss_by_rung"]) == {"keep", *r["list_rung_shares"]}
        assert r["tied"] == (r["diff_to_best"] <= 2.0 * r["diff_se"])
    # The simplest tied candidate wins; every simpler one was beyond the noise.
    first_tied = next(name for name in LEARNERS if records[name]["tied"])
    assert sel["chosen"] == chosen.learner_ == first_tied
    assert sel["reason"] == ("best_value" if first_tied == best["learner"] else "tie_simplest")


def test_the_chosen_learner_is_refitted_on_every_row(chosen, data):
    named = CrossExecModel(learner=chosen.learner_).fit(data.history)
    pd.testing.assert_frame_equal(
        chosen.predict_rungs(data.current), named.predict_rungs(data.current)
    )


def test_too_little_history_keeps_the_simplest_learner_and_says_why():
    small = make_cases(n_history=800, n_current=0, seed=2).history
    model = CrossExecModel().fit(small)
    assert model.learner_ == LEARNERS[0]
    assert model.selection_["reason"] == "too_little_history"
    assert model.selection_["candidates"] == []


@pytest.mark.parametrize("learner", ["t_linear", "s_boost", "average"])
def test_each_learner_fits_and_scores_every_rung(learner, data):
    model = CrossExecModel(learner=learner).fit(data.history)
    p = model.predict_rungs(data.current)
    assert list(p.columns) == list(PROB_COLUMNS) and ((p > 0) & (p < 1)).all().all()
    assert model.selection_ is None and (model.baseline_ is None) == (learner == "s_boost")
    # The rungs get their own estimates (not one shared shift).
    gains = p.to_numpy()[:, 1:] - p.to_numpy()[:, [0]]
    assert np.corrcoef(gains[:, 0], gains[:, 2])[0, 1] < 0.99


def test_unknown_learner_is_refused(data):
    with pytest.raises(ValueError, match="unknown learner"):
        CrossExecModel(learner="forest").fit(data.history)
    with pytest.raises(ValueError, match="learners"):
        SelectionSettings(candidates=("forest",))


def test_the_mirrored_ladder_rule_suggests_what_decide_suggests():
    rng = np.random.default_rng(0)
    p = np.sort(rng.uniform(0.01, 0.6, (2000, 4)), axis=1)[:, rng.permutation(4)]
    stage = pd.Series(
        pd.Categorical(
            rng.choice(["original", "intra_team", "inter_team", "higher_court"], 2000),
            categories=["original", "intra_team", "inter_team", "higher_court"],
        )
    )
    best, rung = _suggested(p, stage.cat.codes.to_numpy(), LadderSettings())
    ref = suggest_rung(pd.DataFrame(p, columns=list(PROB_COLUMNS)), stage)
    act = ref["best_gain"].to_numpy() >= LadderSettings().min_gain
    np.testing.assert_allclose(best, ref["best_gain"].to_numpy())
    np.testing.assert_array_equal(rung[act], ref["suggested_rung"].cat.codes.to_numpy()[act])
