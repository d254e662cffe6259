"""Champion and challenger on randomised rows: IPW values, paired intervals, verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import make_cases
from crossexec_ml.errors import InputError
from crossexec_ml.evaluate import compare_models, list_rungs
from crossexec_ml.model import rung_of
from crossexec_ml.settings import PROB_COLUMNS


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


def test_the_truth_beats_its_mirror_and_ties_itself(world):
    history, truth = world
    good, bad = _oracle(truth), _oracle(truth, flip=True)
    result = compare_models(history, good, bad, names=("oracle", "mirror"), n_boot=500)
    assert result.verdict == "worse"
    assert result.value["oracle"] > result.value["mirror"]
    assert result.difference_ci[1] < 0
    same = compare_models(history, good, good, n_boot=200)
    assert same.difference == 0 and same.verdict == "no_evidence"
    assert result.n_randomised == int(history["assignment_randomised"].fillna(False).sum())


def test_the_value_is_the_doubly_robust_rate_and_agreeing_rows_cancel(world):
    history, truth = world
    good, bad = _oracle(truth), _oracle(truth, flip=True)
    result = compare_models(history, good, bad, n_boot=50)
    rows = result.rows
    randomised = history.reset_index(drop=True)
    randomised = randomised[randomised["assignment_randomised"].fillna(False).astype(bool)]
    mu = ((good(randomised) + bad(randomised)) / 2).to_numpy()
    i = np.arange(len(rows))
    drawn = rows["drawn_rung"].to_numpy()
    y = rows["resolved_180d"].to_numpy(dtype=float)
    e = rows["assignment_propensity"].to_numpy()
    dr = {}
    for name in ("champion", "challenger"):
        rung = rows[f"rung_{name}"].to_numpy()
        dr[name] = mu[i, rung] + (rung == drawn) * (y - mu[i, drawn]) / e
        assert result.value[name] == pytest.approx(dr[name].mean())
        assert result.n_matched[name] == int((rung == drawn).sum())
    # The difference comes only from rows where the two lists give different rungs.
    per_row = dr["challenger"] - dr["champion"]
    differ = (rows["rung_champion"] != rows["rung_challenger"]).to_numpy()
    assert 0 < differ.sum() < len(rows)
    assert (per_row[~differ] == 0).all()
    assert result.difference == pytest.approx(per_row.mean())
    assert result.to_json()["models"][0]["name"] == "champion"


def test_list_rungs_proposes_the_capacity_of_each_date(world):
    history, truth = world
    rungs = list_rungs(history, _oracle(truth), share=0.1)
    per_date = pd.Series(rungs > 0).groupby(history["as_of_date"].to_numpy()).sum()
    sizes = history.groupby("as_of_date").size()
    assert (per_date.to_numpy() <= np.maximum(1, np.round(0.1 * sizes.to_numpy()))).all()
    assert per_date.sum() > 0


def test_histories_without_usable_randomised_rows_are_refused(world):
    history, truth = world
    good = _oracle(truth)
    with pytest.raises(InputError, match="no assignment_randomised column"):
        compare_models(history.drop(columns="assignment_randomised"), good, good)
    with pytest.raises(InputError, match="no randomised case"):
        compare_models(history.assign(assignment_randomised=False), good, good)
    broken = history.copy()
    first = broken.index[broken["assignment_randomised"].fillna(False).astype(bool)][0]
    broken.loc[first, "assignment_propensity"] = 0.0
    with pytest.raises(InputError, match="propensity"):
        compare_models(broken, good, good)
    assert rung_of(history["cross_mode"]).notna().all()
