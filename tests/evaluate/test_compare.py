"""Champion and challenger on randomised rows: IPW values, paired intervals, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import make_cases
from crossexec_ml.errors import InputError
from crossexec_ml.evaluate import compare_models, list_rungs
from crossexec_ml.model import rung_of
from crossexec_ml.settings import PROB_COLUMNS, RUNGS


@pytest.fixture(scope="module")
def world():
    # Half the rows randomised: the two lists differ only in their top 10%, so the test needs
    # ~3,000 randomised rows to tell the truth from its mirror (1,500 give "no evidence").
    data = make_cases(n_history=6000, n_current=10, pilot_share=0.5, seed=11)
    return data.history, data.truth


def _oracle(truth, flip=False):
    table = truth.set_index(["case_id", "as_of_date"])[list(PROB_COLUMNS)]

    def predict(cases):
        key = pd.MultiIndex.from_arrays([cases["case_id"], pd.to_datetime(cases["as_of_date"])])
        p = table.reindex(key).to_numpy()
        if flip:  # the rung effects upside down: a deliberately bad list
            p = np.column_stack([p[:, 0], np.clip(2 * p[:, [0]] - p[:, 1:], 0.001, 0.999)])
        return pd.DataFrame(p, columns=list(PROB_COLUMNS), index=cases.index)

    return predict


@pytest.fixture(scope="module")
def truth_and_mirror(world):
    history, truth = world
    good, bad = _oracle(truth), _oracle(truth, flip=True)
    return compare_models(history, good, bad, names=("oracle", "mirror"), n_boot=500)


def test_the_truth_beats_its_mirror_and_ties_itself(world, truth_and_mirror):
    history, truth = world
    good = _oracle(truth)
    result = truth_and_mirror
    assert result.verdict == "worse"
    assert result.value["oracle"] > result.value["mirror"]
    assert result.difference_ci[1] < 0
    same = compare_models(history, good, good, n_boot=200)
    assert same.difference == 0 and same.verdict == "no_evidence"
    assert result.n_randomised == int(history["assignment_randomised"].fillna(False).sum())


def test_the_value_is_the_doubly_robust_rate_and_agreeing_rows_cancel(world, truth_and_mirror):
    history, truth = world
    good, bad = _oracle(truth), _oracle(truth, flip=True)
    result = truth_and_mirror
    rows = result.rows
    randomised = history.reset_index(drop=True)
    randomised = randomised[randomised["assignment_randomised"].fillna(False).astype(bool)]
    mu = ((good(randomised) + bad(randomised)) / 2).to_numpy()
    i = np.arange(len(rows))
    drawn = rows["drawn_rung"].to_numpy()
    y = rows["resolved_180d"].to_numpy(dtype=float)
    e = rows["assignment_propensity"].to_numpy()
    dr = {}
    for name in ("oracle", "mirror"):
        rung = rows[f"rung_{name}"].to_numpy()
        dr[name] = mu[i, rung] + (rung == drawn) * (y - mu[i, drawn]) / e
        assert result.value[name] == pytest.approx(dr[name].mean())
        assert result.n_matched[name] == int((rung == drawn).sum())
    # The difference comes only from rows where the two lists give different rungs.
    per_row = dr["mirror"] - dr["oracle"]
    differ = (rows["rung_oracle"] != rows["rung_mirror"]).to_numpy()
    assert 0 < differ.sum() < len(rows)
    assert (per_row[~differ] == 0).all()
    assert result.difference == pytest.approx(per_row.mean())
    assert result.to_json()["models"][0]["name"] == "oracle"


def test_list_rungs_proposes_the_capacity_of_each_date(world):
    history, truth = world
    rungs = list_rungs(history, _oracle(truth), share=0.1)
    per_date = pd.Series(rungs > 0).groupby(history["as_of_date"].to_numpy()).sum()
    sizes = history.groupby("as_of_date").size()
    assert (per_date.to_numpy() <= np.maximum(1, np.round(0.1 * sizes.to_numpy()))).all()
    assert per_date.sum() > 0


def test_a_history_without_randomised_rows_gives_only_the_observational_evidence(world):
    history, truth = world
    history = history.iloc[:1500]
    good = _oracle(truth)
    for plain in (
        history.drop(columns="assignment_randomised"),
        history.assign(assignment_randomised=False),
    ):
        result = compare_models(plain, good, good, n_boot=50)
        assert result.verdict == "no_randomised" and result.n_randomised == 0
        assert np.isnan(result.difference) and result.rows.empty
        assert result.observed.n_rows == len(history)
        assert result.to_json()["verdict"] == "no_randomised"


def test_bad_randomised_rows_and_histories_without_outcomes_are_refused(world):
    history, truth = world
    good = _oracle(truth)
    broken = history.copy()
    first = broken.index[broken["assignment_randomised"].fillna(False).astype(bool)][0]
    broken.loc[first, "assignment_propensity"] = 0.0
    with pytest.raises(InputError, match="propensity"):
        compare_models(broken, good, good)
    with pytest.raises(InputError, match="no case with a cross-execution rung taken"):
        compare_models(history.assign(resolved_180d=pd.NA), good, good)
    assert rung_of(history["cross_mode"]).notna().all()


@pytest.fixture(scope="module")
def observational():
    # No pilot: every rung was chosen by a person, confounded as the generator makes it.
    data = make_cases(n_history=6000, n_current=10, pilot_share=0.0, seed=12)
    history, truth = data.history, data.truth
    good, bad = _oracle(truth), _oracle(truth, flip=True)
    return (
        history,
        truth,
        compare_models(history, good, bad, names=("oracle", "mirror"), n_boot=300),
    )


def test_on_observational_rows_the_truth_predicts_and_ranks_better_than_its_mirror(
    observational,
):
    history, truth, result = observational
    seen = result.observed
    assert result.verdict == "no_randomised"
    assert seen.n_rows == len(history)
    # The mirror's probabilities under the rung taken are wrong: its log-loss is higher.
    assert seen.log_loss["mirror"]["all"] > seen.log_loss["oracle"]["all"]
    assert seen.log_loss_ci[0] > 0
    assert seen.verdict == "worse" and seen.difference_ci[1] < 0
    assert seen.value_verdict == seen.log_loss_verdict == "worse"
    payload = result.to_json()["observed"]
    assert payload["models"][0]["name"] == "oracle" and payload["verdict"] == "worse"


def test_the_observational_value_is_the_doubly_robust_rate_with_its_propensities(observational):
    history, truth, result = observational
    good, bad = _oracle(truth), _oracle(truth, flip=True)
    seen = result.observed
    rows = seen.rows
    assert (rows["propensity"] >= seen.propensity_floor).all() and (rows["propensity"] <= 1).all()
    # The outcome model is this history's own (cross-fitted), never either compared model.
    mu = rows[[f"outcome_{r}" for r in RUNGS]].to_numpy()
    assert not np.allclose(mu, ((good(history) + bad(history)) / 2).to_numpy())
    assert ((mu > 0) & (mu < 1)).all()
    i = np.arange(len(rows))
    taken = rows["taken_rung"].to_numpy()
    y = rows["resolved_180d"].to_numpy(dtype=float)
    e = rows["propensity"].to_numpy()
    for name in ("oracle", "mirror"):
        rung = rows[f"rung_{name}"].to_numpy()
        dr = mu[i, rung] + (rung == taken) * (y - mu[i, taken]) / e
        assert seen.value[name] == pytest.approx(dr.mean())
        differ = rows["rung_oracle"] != rows["rung_mirror"]
        assert seen.support[name] == int(
            (differ & (rows[f"rung_{name}"] == rows["taken_rung"])).sum()
        )


def test_estimated_propensities_recover_a_known_random_assignment(world):
    # The pilot's rows (rungs drawn 1/4 each, whatever the case), their randomisation hidden,
    # thinned so that the rungs' chances differ: keep twice as likely as each other rung. The
    # cross-fitted model must find those chances, each for the rung the row took, and not
    # invent structure from the features.
    history, truth = world
    pilot = history[history["assignment_randomised"].fillna(False).astype(bool)]
    drawn = rung_of(pilot["cross_mode"]).cat.codes.to_numpy()
    keep = (drawn == 0) | (np.random.default_rng(0).random(len(pilot)) < 0.5)
    pilot = pilot[keep]
    share = pd.Series(drawn[keep]).value_counts(normalize=True)
    expected = share.reindex(drawn[keep]).to_numpy()
    assert expected.max() > 1.5 * expected.min()
    good = _oracle(truth)
    seen = compare_models(pilot.assign(assignment_randomised=False), good, good, n_boot=10)
    estimated = seen.observed.rows["propensity"].to_numpy()
    assert np.abs(estimated - expected).mean() < 0.04


def test_the_observational_verdict_needs_both_criteria_to_agree(observational):
    # A challenger with the truth's ranking but its probabilities pulled halfway to 1/2: its
    # list is (nearly) the truth's, so the list value cannot call it worse, while its
    # log-loss clearly is. The observational part then names no winner.
    history, truth, _ = observational
    good = _oracle(truth)

    def blurred(cases):
        return 0.5 + (good(cases) - 0.5) / 2

    seen = compare_models(history, good, blurred, n_boot=200).observed
    assert seen.log_loss_verdict == "worse" and seen.log_loss_ci[0] > 0
    assert seen.value_verdict == "no_evidence"
    assert seen.verdict == "no_evidence"
