"""Evaluation metrics against hand-computed examples, and the temporal split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.evaluate import (
    calibration_table,
    expected_calibration_error,
    next_rung,
    precision_recall_at_k,
    qini_curve,
    rank_order,
    temporal_splits,
    truth_gain,
    uplift_at_k,
)
from crossexec_ml.settings import BacktestSettings


def test_precision_recall_at_k_without_ties():
    y = np.array([1, 0, 1, 1, 0])
    s = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    assert precision_recall_at_k(y, s, 2) == (0.5, pytest.approx(1 / 3))
    assert precision_recall_at_k(y, s, 3) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    assert precision_recall_at_k(y, s, 0) == (0.0, 0.0)


def test_precision_at_k_ties_use_expected_value_not_sort_order():
    y = np.array([1, 1, 0, 0, 0])
    s = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    # k=2: one sure hit, then one place among three tied rows with one hit: 1 + 1/3
    p, r = precision_recall_at_k(y, s, 2)
    assert p == pytest.approx((1 + 1 / 3) / 2)
    assert r == pytest.approx((1 + 1 / 3) / 2)
    # the answer does not depend on the order of the tied rows
    perm = np.array([0, 3, 2, 1, 4])
    assert precision_recall_at_k(y[perm], s[perm], 2) == (p, r)


def test_calibration_table_and_ece():
    p = np.array([0.1, 0.1, 0.2, 0.2, 0.8, 0.8, 0.9, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    t = calibration_table(y, p, n_bins=2)
    assert t["n"].tolist() == [4, 4]
    assert t["mean_predicted"].round(6).tolist() == [0.15, 0.85]
    assert t["observed_rate"].tolist() == [0.25, 0.75]
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(0.1)


def test_qini_curve_by_hand():
    y = np.array([1, 0, 1, 0])
    treated = np.array([True, False, False, True])
    score = np.array([0.4, 0.3, 0.2, 0.1])
    q = qini_curve(y, treated, score)
    # top 1: Yt=1, no control yet -> 1; top 2: Yt=1, Yc=0 -> 1; top 3: Yt=1, Yc=1, Nt=1,
    # Nc=2 -> 0.5; all: Yt=1, Yc=1, Nt=2, Nc=2 -> 0
    assert q["qini"].tolist() == [0.0, 1.0, 1.0, 0.5, 0.0]
    assert q["share"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_uplift_at_k():
    y = np.array([1, 0, 1, 0, 1, 0])
    t = np.array([1, 0, 1, 1, 0, 0], dtype=bool)
    s = np.array([6, 5, 4, 3, 2, 1], dtype=float)
    # top half: rows 0,1,2 -> treated (1,1) rate 1, kept (0) rate 0
    assert uplift_at_k(y, t, s, 0.5) == 1.0
    assert np.isnan(uplift_at_k(y, t, s, 1 / 6))  # only a treated row in the top


def test_temporal_splits_never_leak_the_test_window():
    dates = pd.Series(pd.date_range("2024-01-31", "2026-04-30", freq="ME")).repeat(10)
    s = BacktestSettings(n_splits=3, test_months=3, gap_days=180)
    splits = temporal_splits(dates.reset_index(drop=True), s)
    assert len(splits) == 3
    d = dates.to_numpy()
    prev_end = None
    for train, test, start, end in splits:
        assert d[train].max() <= (start - pd.Timedelta(days=180)).to_datetime64()
        assert d[test].min() > start.to_datetime64() and d[test].max() <= end.to_datetime64()
        assert not set(train) & set(test)
        if prev_end is not None:
            assert start == prev_end  # windows follow each other
        prev_end = end
    assert splits[-1][3] == pd.Timestamp("2026-04-30")


def test_temporal_splits_drop_windows_without_history():
    dates = pd.Series(pd.to_datetime(["2026-01-31", "2026-02-28", "2026-03-31"]))
    assert temporal_splits(dates) == []


def test_rank_order_breaks_ties_by_idle_time_then_case_id():
    # Rows 1 and 3 tie on score and idle days: the product's rule puts the smaller case id
    # first (row 3), where input order would have put row 1 first.
    cases = pd.DataFrame(
        {"days_since_last_action": [100, 400, 200, 400], "case_id": ["A", "Z", "B", "C"]}
    )
    order = rank_order(np.array([0.1, 0.1, 0.3, 0.1]), cases)
    assert order.tolist() == [2, 3, 1, 0]


def test_truth_gain_and_next_rung():
    tp = np.array([[0.1, 0.2, 0.3, 0.4], [0.2, 0.2, 0.2, 0.5]])
    assert truth_gain(tp, np.array([0, 1]), np.array([2, 3])) == pytest.approx(0.2 + 0.3)
    stages = pd.Series(["original", "intra_team", "inter_team", "higher_court", None])
    assert next_rung(stages).tolist() == [1, 2, 3, 3, 1]


def _tied_window(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 synthetic cases whose probabilities come in 4 exact tiers (gains tie exactly), with
    idle days tied in pairs and the rows shuffled, so only the case id can break some ties."""
    from crossexec_ml.data import make_cases

    cases = make_cases(n_history=100, n_current=60, seed=seed).current
    cases = cases.sample(frac=1, random_state=seed).reset_index(drop=True)  # ids out of order
    rng = np.random.default_rng(seed)
    tier = rng.integers(0, 4, len(cases))
    table = np.array(
        [[0.10, 0.30, 0.25, 0.20], [0.10, 0.20, 0.22, 0.15], [0.20, 0.25, 0.25, 0.26], [0.3] * 4]
    )
    probs = pd.DataFrame(table[tier], columns=["p_keep", "p_intra_team", "p_inter_team",
                                               "p_higher_court"])  # fmt: skip
    idle = 200 + 100 * (np.arange(len(cases)) // 2) % 300
    cases["days_since_last_action"] = pd.array(idle, dtype="Int64")
    return cases, probs


@pytest.mark.parametrize("k", [5, 13, 30])
def test_backtest_selects_what_the_product_puts_in_its_top_k(k):
    from crossexec_ml.decide import best_allowed_gain, priority_order, suggest_rung, top_k
    from crossexec_ml.evaluate import policy_gains
    from crossexec_ml.model import hard_bone_flags
    from crossexec_ml.settings import PrioritySettings

    cases, probs = _tied_window()
    lists = policy_gains(cases, probs, k)
    scored = suggest_rung(probs, cases["ladder_stage"])
    scored["flag_long_unresolved"] = hard_bone_flags(cases)["flag_long_unresolved"].to_numpy()
    rank = priority_order(scored, cases, PrioritySettings(capacity=k)).rank
    want = np.flatnonzero(rank <= k)
    got, rungs = lists["priority"]
    assert len(got) == k
    assert sorted(got.tolist()) == sorted(want.tolist())
    assert got.tolist() == want[np.argsort(rank[want])].tolist()  # in the same order
    assert rungs.tolist() == scored["suggested_rung"].cat.codes.to_numpy()[got].tolist()
    # The model list: the best allowed gain, cut at k by the same tie rule.
    best, best_rung = best_allowed_gain(probs, cases["ladder_stage"])
    model_top, model_rungs = lists["model"]
    assert model_top.tolist() == top_k(best, cases, k).tolist()
    assert model_rungs.tolist() == best_rung[model_top].tolist()


def test_backtest_ties_at_the_cut_follow_case_id_not_input_order():
    from crossexec_ml.evaluate import policy_gains

    cases, probs = _tied_window()
    cases["days_since_last_action"] = cases["days_since_last_action"].iloc[0]  # all idle alike
    k = 7
    forward = policy_gains(cases, probs, k)["model"][0]
    rev = cases.index[::-1]
    backward = policy_gains(
        cases.loc[rev].reset_index(drop=True), probs.loc[rev].reset_index(drop=True), k
    )["model"][0]
    ids = cases["case_id"].to_numpy()
    rev_ids = cases.loc[rev, "case_id"].to_numpy()
    assert ids[forward].tolist() == rev_ids[backward].tolist()


def test_pilot_rows_come_from_the_export_and_rungs_are_calibrated_one_by_one():
    # No truth file: the randomised rows are found through assignment_randomised, as the
    # fairness audit finds them, so the card and the audit agree that a pilot exists.
    from crossexec_ml.data import make_cases
    from crossexec_ml.evaluate import backtest
    from crossexec_ml.model import CrossExecModel
    from crossexec_ml.settings import RUNGS

    data = make_cases(n_history=1500, n_current=0, seed=4)
    result = backtest(data.history, lambda: CrossExecModel(learner="s_linear_0.2"))
    rows = data.history
    tested = pd.concat(
        [rows.iloc[t] for _, t, _, _ in temporal_splits(rows["as_of_date"])], ignore_index=True
    )
    assert result["pilot"]["n_pilot"] == int(tested["assignment_randomised"].astype(bool).sum())
    pilot = result["pilot"]
    gain = pilot["ipw_rate_suggested_rung"] - pilot["ipw_rate_other_rungs"]
    assert pilot["rung_choice_gain"] == pytest.approx(gain)
    for window in result["windows"]:
        for rung in RUNGS:
            if f"ece_{rung}" in window:
                assert 0 <= window[f"ece_{rung}"] <= 1
        assert "ece_keep" in window and "ece_intra_team" in window
