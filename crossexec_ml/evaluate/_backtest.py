"""Honest evaluation: rolling temporal back-tests, decision metrics, policy value vs baselines.

Everything is "as of" a date: a back-test trains on rows whose outcome was already known on
the first day of the test window (``as_of_date`` at least ``gap_days`` = 180 days earlier) and
tests on the window; never a random split. The headline metric is the one the decision uses:
how many extra resolutions the top-k list (k = capacity) gains, compared with lists that mimic
today's practice.

Policy value is measured two ways:

- on the **randomised pilot** rows (the rung was drawn at random), by inverse-probability
  weighting: an unbiased estimate from real outcomes, but noisy on a small pilot;
- against the **truth** when a truth file exists (synthetic data): the exact gain, and the
  share of the oracle (top-k by true gain).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from crossexec_ml.decide import (
    best_allowed_gain,
    capacity_k,
    idle_days,
    priority_order,
    suggest_rung,
    top_k,
)
from crossexec_ml.model import hard_bone_flags, rung_of
from crossexec_ml.settings import (
    PROB_COLUMNS,
    RUNGS,
    BacktestSettings,
    LadderSettings,
    PrioritySettings,
)


def temporal_splits(
    as_of: pd.Series, settings: BacktestSettings | None = None
) -> list[tuple[np.ndarray, np.ndarray, pd.Timestamp, pd.Timestamp]]:
    """Rolling (train, test) positions by screening date, oldest window first.

    Parameters
    ----------
    as_of : pandas.Series
        ``as_of_date`` of the historical rows.
    settings : BacktestSettings, optional

    Returns
    -------
    list of (train_positions, test_positions, window_start, window_end)
        Test rows have ``window_start < as_of_date <= window_end``; training rows have
        ``as_of_date <= window_start - gap_days``. Windows with no training row are dropped.
    """
    s = settings or BacktestSettings()
    dates = pd.to_datetime(as_of).to_numpy()
    end = pd.Timestamp(dates.max())
    out = []
    for i in range(s.n_splits):
        w_end = end - pd.DateOffset(months=s.test_months * i)
        w_start = w_end - pd.DateOffset(months=s.test_months)
        test = np.flatnonzero((dates > w_start.to_datetime64()) & (dates <= w_end.to_datetime64()))
        cutoff = (w_start - pd.Timedelta(days=s.gap_days)).to_datetime64()
        train = np.flatnonzero(dates <= cutoff)
        if len(train) and len(test):
            out.append((train, test, w_start, w_end))
    return out[::-1]


# --------------------------------------------------------------------------------------------
# Metrics with hand-checkable definitions
# --------------------------------------------------------------------------------------------


def precision_recall_at_k(y: np.ndarray, score: np.ndarray, k: int) -> tuple[float, float]:
    """Precision and recall of the top-k by score, with ties at the cut-off handled exactly.

    When the k-th place falls inside a group of tied scores, any order of that group is equally
    likely, so the group contributes its positive rate times the places left: the expected
    value under a random tie-break, not an artefact of sort order.

    Parameters
    ----------
    y : array of bool
        Outcomes.
    score : array of float
        Higher = earlier in the list.
    k : int
        Capacity.

    Returns
    -------
    (precision, recall) : tuple of float

    Examples
    --------
    >>> precision_recall_at_k(np.array([1, 0, 1, 0]), np.array([0.9, 0.5, 0.5, 0.1]), 2)
    (0.75, 0.75)
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    k = int(min(max(k, 0), len(y)))
    if k == 0:
        return 0.0, 0.0
    threshold = np.sort(score)[::-1][k - 1]
    above = score > threshold
    tied = score == threshold
    hits = y[above].sum() + (k - above.sum()) * y[tied].mean()
    positives = y.sum()
    return float(hits / k), float(hits / positives) if positives else 0.0


def calibration_table(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Predicted against observed resolution rate in quantile bins (deciles by default).

    Parameters
    ----------
    y : array of bool
    p : array of float
    n_bins : int

    Returns
    -------
    pandas.DataFrame
        ``bin`` (1 = lowest), ``n``, ``mean_predicted``, ``observed_rate``.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    bins = np.empty(len(p), dtype=int)
    bins[order] = np.arange(len(p)) * n_bins // max(len(p), 1)
    df = pd.DataFrame({"bin": bins + 1, "p": p, "y": y})
    table = df.groupby("bin").agg(
        n=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean")
    )
    return table.reset_index()


def expected_calibration_error(y_or_p: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """Weighted mean |mean predicted - mean target| over quantile bins of ``p``.

    ``y_or_p`` may be outcomes (observed calibration) or true probabilities (calibration
    against the truth).
    """
    t = calibration_table(y_or_p, p, n_bins)
    return float((t["n"] * (t["mean_predicted"] - t["observed_rate"]).abs()).sum() / t["n"].sum())


def qini_curve(y: np.ndarray, treated: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Qini curve on randomised rows: extra resolutions among the top share, by score.

    ``qini(φ) = Y_t(φ) - Y_c(φ) · N_t(φ) / N_c(φ)`` where ``Y`` counts resolutions and ``N``
    rows among the top share ``φ`` (Radcliffe 2007).

    Parameters
    ----------
    y : array of bool
        Outcomes.
    treated : array of bool
        Whether the row got the treatment being evaluated (the others are kept rows).
    score : array of float
        Predicted uplift.

    Returns
    -------
    pandas.DataFrame
        ``share`` (of rows), ``qini``, ``random`` (the straight line a random order gives).
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated, dtype=bool)
    order = np.argsort(-np.asarray(score, dtype=float), kind="stable")
    y, t = y[order], t[order]
    yt, yc = np.cumsum(y * t), np.cumsum(y * ~t)
    nt, nc = np.cumsum(t), np.cumsum(~t)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = yt - np.where(nc > 0, yc * nt / nc, 0.0)
    share = np.arange(1, len(y) + 1) / max(len(y), 1)
    total = q[-1] if len(q) else 0.0
    return pd.DataFrame(
        {
            "share": np.concatenate([[0.0], share]),
            "qini": np.concatenate([[0.0], q]),
            "random": np.concatenate([[0.0], share * total]),
        }
    )


def uplift_at_k(y: np.ndarray, treated: np.ndarray, score: np.ndarray, share: float) -> float:
    """Resolution rate of treated minus kept rows among the top ``share`` by score.

    Returns NaN when the top group has no treated or no kept row.
    """
    y = np.asarray(y, dtype=float)
    t = np.asarray(treated, dtype=bool)
    k = capacity_k(len(y), share=share)
    # A metric over a predicted uplift on randomised pilot rows, not a list a leader sees: it
    # has no case ids to break ties with, and ties of a continuous score are rare.
    top = np.argsort(-np.asarray(score, dtype=float), kind="stable")[:k]
    yt, yc = y[top][t[top]], y[top][~t[top]]
    if len(yt) == 0 or len(yc) == 0:
        return float("nan")
    return float(yt.mean() - yc.mean())


# --------------------------------------------------------------------------------------------
# Policies: the model's list and lists that mimic today's practice
# --------------------------------------------------------------------------------------------


def next_rung(ladder_stage: pd.Series) -> np.ndarray:
    """Today's practice: the rung just above the case's ladder stage (index into RUNGS)."""
    order = {"original": 1, "intra_team": 2, "inter_team": 3, "higher_court": 3}
    return ladder_stage.astype("string").map(order, na_action="ignore").fillna(1).to_numpy(int)


def _model_policy(probs: pd.DataFrame, cases: pd.DataFrame, ladder: LadderSettings):
    """Best allowed gain, the probability under that rung, and the rung (the one rule)."""
    gain, best_rung = best_allowed_gain(probs, cases["ladder_stage"], ladder)
    p = probs[list(PROB_COLUMNS)].to_numpy()
    p_best = p[np.arange(len(p)), best_rung]
    return gain, p_best, best_rung


def rank_order(score: np.ndarray, cases: pd.DataFrame) -> np.ndarray:
    """Positions sorted by score (high first) under the product's tie rule.

    Ties go by longer idle time, then case id ascending
    (:data:`crossexec_ml.decide.TIE_BREAK_RULE`), as in the scored list; rows equal on all
    three (the same case on two screening dates of a pooled history) keep their input order.
    """
    return top_k(score, cases, len(cases))


#: Lists that mimic today's practice, each a function ``(cases, rng) -> score``; each uses the
#: next rung of the ladder, as a bureau does today.
BASELINES: dict[str, Callable[[pd.DataFrame, np.random.Generator], np.ndarray]] = {
    "oldest_idle_first": lambda c, rng: idle_days(c),
    "largest_amount_first": lambda c, rng: (
        pd.to_numeric(c["amount_outstanding"]).fillna(0).to_numpy()
    ),
    "most_hard_bones_first": lambda c, rng: hard_bone_flags(c).sum(axis=1).to_numpy(float),
    "random": lambda c, rng: rng.random(len(c)),
}


def policy_gains(
    cases: pd.DataFrame,
    probs: pd.DataFrame,
    k: int,
    *,
    ladder: LadderSettings | None = None,
    priority: PrioritySettings | None = None,
    seed: int = 0,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The top-k list and its rungs for the model and every baseline.

    Every list is cut at the same k and ordered by the product's tie rule
    (:func:`crossexec_ml.decide.top_k`). The baselines differ from the product on purpose:
    they score cases as a bureau does today (and ``random`` by a seeded draw), so the
    back-test can say what the model adds over them.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed cases.
    probs : pandas.DataFrame
        The model's four probabilities for ``cases``.
    k : int
        Capacity.
    ladder : LadderSettings, optional
    priority : PrioritySettings, optional
        The product's weighting, boost and floors (its ``capacity`` is replaced by ``k``).
    seed : int
        Seed of the random baseline.

    Returns
    -------
    dict
        policy name -> (positions of the k selected cases, rung index of each selected case).
        ``priority`` is the product's list (:func:`crossexec_ml.decide.priority_order` with
        its floors and suggested rungs); ``model`` ranks by the best allowed gain alone;
        ``p_cross`` ranks by the probability under the best rung (the "likely to resolve"
        list), with the same rungs as ``model``.
    """
    ladder = ladder or LadderSettings()
    rng = np.random.default_rng(seed)
    gain, p_best, best_rung = _model_policy(probs, cases, ladder)
    lists: dict[str, tuple[np.ndarray, np.ndarray]] = {
        "priority": _priority_list(cases, probs, k, ladder, priority)
    }
    for name, score, rung in (
        ("model", gain, best_rung),
        ("p_cross", p_best, best_rung),
    ):
        top = rank_order(score, cases)[:k]
        lists[name] = (top, rung[top])
    today = next_rung(cases["ladder_stage"])
    for name, fn in BASELINES.items():
        top = rank_order(fn(cases, rng), cases)[:k]
        lists[name] = (top, today[top])
    return lists


def _priority_list(
    cases: pd.DataFrame,
    probs: pd.DataFrame,
    k: int,
    ladder: LadderSettings,
    priority: PrioritySettings | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The product's top k (floors included) and its suggested rungs.

    The same :func:`crossexec_ml.decide.priority_order` the scored list uses. It differs from
    scoring in two legitimate ways: a window of history is ranked as one list (every row, not
    just a current stalled cohort), and k is the back-test's share of the window rather than a
    bureau's capacity.
    """
    cases = cases.reset_index(drop=True)
    scored = suggest_rung(probs.reset_index(drop=True), cases["ladder_stage"], ladder)
    scored["flag_long_unresolved"] = hard_bone_flags(cases)["flag_long_unresolved"].to_numpy()
    settings = replace(priority or PrioritySettings(), capacity=k)
    rank = priority_order(scored, cases, settings).rank
    top = np.flatnonzero(rank <= k)
    top = top[np.argsort(rank[top])]
    codes = scored["suggested_rung"].cat.codes.to_numpy()[top]
    # A keep suggestion inside the top k (a floor may not fill) gains nothing by definition.
    return top, codes


def truth_gain(truth_p: np.ndarray, positions: np.ndarray, rungs: np.ndarray) -> float:
    """Sum of true gains (p under the rung minus p_keep) of a list."""
    return float((truth_p[positions, rungs] - truth_p[positions, 0]).sum())


def _pilot_ipw_gain(
    y: np.ndarray, taken: np.ndarray, positions: np.ndarray, rungs: np.ndarray, e: np.ndarray
) -> float:
    """IPW estimate of extra resolutions per selected pilot case (rung drawn at random).

    ``e`` is each row's probability of the rung it took (its ``assignment_propensity``).
    """
    if len(positions) == 0:
        return float("nan")
    a, yy, w = taken[positions], y[positions], 1.0 / e[positions]
    est = yy * w * (a == rungs) - yy * w * (a == 0)
    return float(est.mean())


def _pilot_propensity(cases: pd.DataFrame, taken: np.ndarray) -> np.ndarray:
    """Each pilot row's probability of its rung: ``assignment_propensity`` where given, else
    the rung's share among the pilot rows (a uniform draw has both equal)."""
    shares = np.array([(taken == r).mean() for r in range(len(RUNGS))])
    e = shares[taken]
    if "assignment_propensity" in cases:
        given = pd.to_numeric(cases["assignment_propensity"], errors="coerce").to_numpy(float)
        e = np.where(np.isfinite(given) & (given > 0), given, e)
    return e


def _rung_choice_check(
    y: np.ndarray, taken: np.ndarray, best_rung: np.ndarray, e: np.ndarray
) -> dict[str, float]:
    """Does the suggested rung beat the other reassignment rungs on randomised rows?

    IPW resolution rate if every pilot case got the model's suggested rung, and if it got one
    of the two other reassignment rungs (their mean): an unconfounded check of the rung choice,
    separate from the choice of cases.
    """
    w = y / e
    suggested = float((w * (taken == best_rung)).mean())
    other = (taken > 0) & (taken != best_rung)
    others = float((w * other).mean() / 2)
    return {
        "ipw_rate_suggested_rung": suggested,
        "ipw_rate_other_rungs": others,
        "rung_choice_gain": suggested - others,
    }


# --------------------------------------------------------------------------------------------
# The back-test
# --------------------------------------------------------------------------------------------


def _window_metrics(
    cases: pd.DataFrame,
    probs: pd.DataFrame,
    p_taken: np.ndarray,
    y: np.ndarray,
    s: BacktestSettings,
    ladder: LadderSettings,
    truth: pd.DataFrame | None,
    priority: PrioritySettings | None = None,
) -> dict[str, float]:
    # k from the back-test's share of the window (a window of history has no bureau capacity),
    # by the same rule as the product's k.
    k = capacity_k(len(cases), share=s.capacity_share)
    m: dict[str, float] = {"n_test": float(len(cases)), "k": float(k)}
    both = len(np.unique(y)) == 2
    m["auc"] = float(roc_auc_score(y, p_taken)) if both else float("nan")
    m["pr_auc"] = float(average_precision_score(y, p_taken)) if both else float("nan")
    m["brier"] = float(brier_score_loss(y, p_taken))
    m["ece"] = expected_calibration_error(y, p_taken)
    m["precision_at_k"], m["recall_at_k"] = precision_recall_at_k(y, p_taken, k)
    # Rung choice is a target of its own: each rung's probabilities calibrated on the rows that
    # took it (a model can be right on average and wrong about one rung).
    taken_codes = rung_of(cases["cross_mode"]).cat.codes.to_numpy()
    for j, rung in enumerate(RUNGS):
        on = taken_codes == j
        if on.sum() >= 20:
            m[f"ece_{rung}"] = expected_calibration_error(y[on], p_taken[on])
            m[f"mean_p_{rung}"] = float(p_taken[on].mean())
            m[f"observed_{rung}"] = float(y[on].mean())
    lists = policy_gains(cases, probs, k, ladder=ladder, priority=priority, seed=s.seed)
    if truth is not None:
        tp = truth[list(PROB_COLUMNS)].to_numpy()
        taken = rung_of(cases["cross_mode"]).cat.codes.to_numpy()
        truth_taken = tp[np.arange(len(tp)), taken]
        m["truth_auc"] = float(roc_auc_score(y, truth_taken)) if both else float("nan")
        p = probs[list(PROB_COLUMNS)].to_numpy()
        m["ece_vs_truth"] = expected_calibration_error(tp.ravel(), p.ravel())
        for j, rung in enumerate(RUNGS):
            m[f"ece_vs_truth_{rung}"] = expected_calibration_error(tp[:, j], p[:, j])
        m["mae_vs_truth"] = float(np.abs(p - tp).mean())
        true_best, _ = best_allowed_gain(tp, cases["ladder_stage"], ladder)
        oracle = float(np.sort(true_best)[::-1][:k].sum())
        m["oracle_gain"] = oracle
        for name, (pos, rungs) in lists.items():
            g = truth_gain(tp, pos, rungs)
            m[f"gain_{name}"] = g
            m[f"share_of_oracle_{name}"] = g / oracle if oracle > 0 else float("nan")
    return m


def backtest(
    history: pd.DataFrame,
    make_model: Callable[[], object],
    settings: BacktestSettings | None = None,
    *,
    ladder: LadderSettings | None = None,
    priority: PrioritySettings | None = None,
    truth: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Rolling temporal back-test of a model on historical rows.

    Parameters
    ----------
    history : pandas.DataFrame
        Contract-typed historical rows with ``cross_mode`` and ``resolved_180d``.
    make_model : callable
        Returns a fresh unfitted model with ``fit(history)`` and ``predict_rungs(cases)``.
    settings : BacktestSettings, optional
    ladder : LadderSettings, optional
    priority : PrioritySettings, optional
        The product's weighting, boost and floors for the ``priority`` list (k comes from
        ``settings.capacity_share`` of each window).
    truth : pandas.DataFrame, optional
        Truth rows (``case_id``, ``as_of_date``, ``is_pilot``, ``p_*``); adds the Bayes limit,
        calibration against the truth and policy value as a share of the oracle.
    progress : callable, optional
        Called with a short message after each window (for progress bars).

    Returns
    -------
    dict
        ``settings``; ``windows`` (one metrics dict per window); ``pooled`` (metrics over all
        test windows together, incl. pilot Qini and IPW policy value when pilot rows exist);
        ``calibration`` (pooled decile table as records); ``qini`` (pooled curve as records).
    """
    s = settings or BacktestSettings()
    ladder = ladder or LadderSettings()
    rows = history[history["cross_mode"].notna() & history["resolved_180d"].notna()]
    rows = rows.reset_index(drop=True)
    t_rows = None
    if truth is not None:
        t_rows = _align_truth(rows, truth)
    windows, pooled_parts = [], []
    for train, test, w_start, w_end in temporal_splits(rows["as_of_date"], s):
        model = make_model()
        model.fit(rows.iloc[train])
        test_rows = rows.iloc[test].reset_index(drop=True)
        probs = model.predict_rungs(test_rows)
        taken = rung_of(test_rows["cross_mode"]).cat.codes.to_numpy()
        p_taken = probs.to_numpy()[np.arange(len(test)), taken]
        y = test_rows["resolved_180d"].astype(bool).to_numpy()
        tw = t_rows.iloc[test].reset_index(drop=True) if t_rows is not None else None
        m = _window_metrics(test_rows, probs, p_taken, y, s, ladder, tw, priority)
        m.update(
            window_start=f"{w_start:%Y-%m-%d}",
            window_end=f"{w_end:%Y-%m-%d}",
            n_train=len(train),
        )
        windows.append(m)
        pooled_parts.append((test_rows, probs, p_taken, y, tw))
        if progress is not None:
            progress(f"window {m['window_start']}..{m['window_end']}: AUC {m['auc']:.3f}")
    if not windows:
        raise ValueError(
            "history too short for a temporal back-test: no test window has training rows "
            f"{s.gap_days} days before it; add older history or lower n_splits/test_months"
        )
    cases = pd.concat([p[0] for p in pooled_parts], ignore_index=True)
    probs = pd.concat([p[1] for p in pooled_parts], ignore_index=True)
    p_taken = np.concatenate([p[2] for p in pooled_parts])
    y = np.concatenate([p[3] for p in pooled_parts])
    tw = pd.concat([p[4] for p in pooled_parts], ignore_index=True) if t_rows is not None else None
    pooled = _window_metrics(cases, probs, p_taken, y, s, ladder, tw, priority)
    result: dict = {
        "settings": asdict(s),
        "windows": windows,
        "pooled": pooled,
        "calibration": calibration_table(y, p_taken).to_dict(orient="records"),
    }
    pilot = _pilot_mask(cases, tw)
    if pilot is not None and pilot.sum() >= 20:
        result["pilot"] = _pilot_metrics(cases[pilot], probs[pilot], y[pilot], s, ladder, priority)
        result["qini"] = result["pilot"].pop("qini")
    return result


def _align_truth(rows: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    key = ["case_id", "as_of_date"]
    t = truth.copy()
    t["case_id"] = t["case_id"].astype("string")
    t["as_of_date"] = pd.to_datetime(t["as_of_date"]).astype("datetime64[ns]")
    merged = rows[key].merge(t, on=key, how="left", validate="one_to_one")
    if merged[list(PROB_COLUMNS)].isna().any().any():
        raise ValueError("the truth file does not cover every historical row (case_id, as_of_date)")
    return merged


def _pilot_mask(cases: pd.DataFrame, truth: pd.DataFrame | None) -> np.ndarray | None:
    """Rows whose rung was drawn at random: the contract's ``assignment_randomised`` (so a
    back-test of a real export finds them, as the fairness audit does), else a truth file's
    ``is_pilot``."""
    if "assignment_randomised" in cases and cases["assignment_randomised"].notna().any():
        return cases["assignment_randomised"].astype("boolean").fillna(False).to_numpy(bool)
    if truth is not None and "is_pilot" in truth:
        return truth["is_pilot"].astype(bool).to_numpy()
    if "is_pilot" in cases:
        return cases["is_pilot"].astype("boolean").fillna(False).to_numpy(bool)
    return None


def _pilot_metrics(
    cases: pd.DataFrame,
    probs: pd.DataFrame,
    y: np.ndarray,
    s: BacktestSettings,
    ladder: LadderSettings,
    priority: PrioritySettings | None = None,
) -> dict:
    cases = cases.reset_index(drop=True)
    probs = probs.reset_index(drop=True)
    taken = rung_of(cases["cross_mode"]).cat.codes.to_numpy()
    shares = np.array([(taken == r).mean() for r in range(len(RUNGS))])
    e = _pilot_propensity(cases, taken)
    gain, _, best_rung = _model_policy(probs, cases, ladder)
    # Qini and uplift@k for "the suggested rung vs keep": rows that got another rung drop out.
    relevant = (taken == best_rung) | (taken == 0)
    treated = taken[relevant] == best_rung[relevant]
    curve = qini_curve(y[relevant], treated, gain[relevant])
    k = capacity_k(len(cases), share=s.capacity_share)
    lists = policy_gains(cases, probs, k, ladder=ladder, priority=priority, seed=s.seed)
    out: dict = {
        "n_pilot": int(len(cases)),
        "uplift_at_k": uplift_at_k(y[relevant], treated, gain[relevant], s.capacity_share),
        "qini_auc": float(np.trapezoid(curve["qini"] - curve["random"], curve["share"])),
        "qini": curve.iloc[:: max(1, len(curve) // 50)].to_dict(orient="records"),
    }
    if (shares > 0).all():
        for name, (pos, rungs) in lists.items():
            out[f"ipw_gain_per_case_{name}"] = _pilot_ipw_gain(y, taken, pos, rungs, e)
        out.update(_rung_choice_check(y, taken, best_rung, e))
    return out
