"""Choose the learner on the data at hand, with no truth: a temporal split and a DR estimate.

The candidates (:data:`crossexec_ml.settings.LEARNERS`) are fitted on the older rows and judged
on the newest window, whose outcomes none of them saw:

- the **held-out log-loss** of the outcome under the rung actually taken, overall and per rung
  (how well each predicts what happened);
- a **doubly robust estimate of the list's value**: the extra resolutions per case of the
  top ``capacity_share`` of the window, each sent to the rung the candidate suggests. For a
  row with rung taken ``A``, outcome ``Y`` and propensity ``e`` of that rung,
  ``Γ(a) = μ(a) + 1[A = a] (Y - μ(a)) / e`` is an unbiased score of its outcome under rung
  ``a`` when either ``μ`` or ``e`` is right; a list's value is the mean over its rows of
  ``Γ(rung) - Γ(keep)``. ``μ`` is the mean of the candidates' predictions (fitted on the older
  rows only), ``e`` the row's own ``assignment_propensity`` when its rung was drawn at random,
  otherwise a multinomial regression of the rung taken on the case, fitted on the older
  non-randomised rows. Its standard error is the influence-function one; a paired difference
  to the best candidate within ``n_se`` of its standard error is a tie, and ties go to the
  simplest candidate (the order of the settings).

Hand-written (about 150 lines) rather than taken from a library: causalml and econml evaluate
one treatment against control, not a list that picks among three rungs under the product's
ladder, and would add heavy dependencies for a few array operations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from crossexec_ml.model._learners import _fit_part, _learner_logits, _parts_of, _uses_baseline
from crossexec_ml.settings import RUNGS, LadderSettings, SelectionSettings

_EPS = 1e-6


def _sigmoid(z: np.ndarray) -> np.ndarray:
    from scipy.special import expit

    return expit(z)


def _log_loss(y: np.ndarray, p: np.ndarray) -> float | None:
    """Mean log-loss; None (JSON null in the card) for no rows."""
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()) if len(y) else None


def _suggested(p: np.ndarray, stage: np.ndarray, ladder: LadderSettings) -> tuple:
    """Best allowed gain and the suggested rung, as the product's ladder rule gives them.

    The rule lives in ``crossexec_ml.decide`` (a higher room the model may not import); this
    is its short mirror: rungs above the case's ladder stage (the higher court always), the
    largest gain over keep, then the cheapest rung within ``close_share`` of it.
    """
    allowed = np.ones((len(p), 3), dtype=bool)
    if ladder.respect_ladder:
        allowed = np.arange(1, 4)[None, :] > stage[:, None]
        allowed[:, 2] = True
    gains = np.where(allowed, p[:, 1:] - p[:, [0]], -np.inf)
    best = gains.max(axis=1)
    close = gains >= np.where(best > 0, ladder.close_share * best, best)[:, None]
    return best, 1 + close.argmax(axis=1)


def _stage(cases: pd.DataFrame) -> np.ndarray:
    order = {"original": 0, "intra_team": 1, "inter_team": 2, "higher_court": 3}
    if "ladder_stage" not in cases:
        return np.zeros(len(cases), dtype=int)
    return cases["ladder_stage"].astype("string").map(order).fillna(0).to_numpy(int)


def _propensity_of_taken(
    rows: pd.DataFrame, z: np.ndarray, codes: np.ndarray, fit: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Probability of the rung each validation row took, and whether it was randomised."""
    randomised = np.zeros(len(rows), dtype=bool)
    if "assignment_randomised" in rows:
        randomised = rows["assignment_randomised"].astype("boolean").fillna(False).to_numpy(bool)
    given = np.full(len(rows), np.nan)
    if "assignment_propensity" in rows:
        given = pd.to_numeric(rows["assignment_propensity"], errors="coerce").to_numpy(float)
    randomised &= np.isfinite(given) & (given > 0)
    e = np.where(randomised, given, np.nan)[valid]
    observed = fit & ~randomised
    need = ~randomised[valid]
    if need.any():
        if np.unique(codes[observed]).size == len(RUNGS):
            lr = LogisticRegression(C=0.1, max_iter=1000).fit(z[observed], codes[observed])
            proba = lr.predict_proba(z[valid][need])
            e[need] = proba[np.arange(need.sum()), codes[valid][need]]
        else:  # a rung never taken outside randomisation: its share is all we know
            share = np.bincount(codes[fit], minlength=len(RUNGS)) / max(fit.sum(), 1)
            e[need] = share[codes[valid][need]]
    return e, randomised[valid]


def _select_learner(
    rows: pd.DataFrame,
    z: np.ndarray,
    n_inter: int,
    trees: np.ndarray,
    codes: np.ndarray,
    y: np.ndarray,
    settings: SelectionSettings,
    *,
    baseline: dict,
    random_state: int = 0,
    ladder: LadderSettings | None = None,
) -> dict:
    """Judge every candidate learner on the newest window; the evidence and the choice.

    Parameters
    ----------
    rows : pandas.DataFrame
        The training rows (``as_of_date``, ``ladder_stage``, the assignment columns).
    z, n_inter, trees, codes, y
        The design of those rows (see :mod:`crossexec_ml.model._learners`).
    settings : SelectionSettings
    baseline : dict
        Parameters of the boosted baseline (``weight`` and ``max_iter``).
    random_state : int
    ladder : LadderSettings, optional
        The rung rule the judged lists follow (default settings).

    Returns
    -------
    dict
        ``chosen``, ``reason`` (``best_value``, ``tie_simplest`` or ``too_little_history``),
        the window and its row counts, and ``candidates``: one record per learner with its
        DR value per selected case and standard error, paired difference to the best, tie,
        held-out log-loss overall and per rung, and the share of its list per rung.
    """
    ladder = ladder or LadderSettings()
    s = settings
    dates = pd.to_datetime(rows["as_of_date"]).to_numpy()
    end = pd.Timestamp(dates.max())
    start = end - pd.DateOffset(months=s.valid_months)
    valid = dates > start.to_datetime64()
    fit = dates <= (start - pd.Timedelta(days=s.gap_days)).to_datetime64()
    out: dict = {
        "valid_window": [f"{start:%Y-%m-%d}", f"{end:%Y-%m-%d}"],
        "n_fit": int(fit.sum()),
        "n_valid": int(valid.sum()),
        "settings": {"capacity_share": s.capacity_share, "n_se": s.n_se},
    }
    enough = (
        fit.sum() >= s.min_fit_rows
        and valid.sum() >= s.min_valid_rows
        and np.unique(y[fit]).size == 2
        and np.unique(codes[fit]).size == len(RUNGS)
    )
    if not enough:
        return {**out, "chosen": s.candidates[0], "reason": "too_little_history", "candidates": []}

    parts: dict = {}
    for name in s.candidates:
        for part in _parts_of(name):
            if part not in parts:
                parts[part] = _fit_part(
                    part, z[fit], n_inter, trees[fit], codes[fit], y[fit], random_state
                )
    level = None
    if baseline["weight"] > 0:
        t = trees[fit].copy()
        t[:, -1] = codes[fit]
        tree = _baseline_trees(baseline["max_iter"], random_state).fit(t, y[fit])
        tv = trees[valid].copy()
        tv[:, -1] = 0
        level = tree.decision_function(tv)
    zv, tv, cv, yv = z[valid], trees[valid].copy(), codes[valid], y[valid]
    probs = {}
    for name in s.candidates:
        logit = _learner_logits(name, parts, zv, n_inter, tv)
        if level is not None and _uses_baseline(name):
            logit += baseline["weight"] * (level - logit[:, 0])[:, None]
        probs[name] = _sigmoid(logit)

    e, randomised = _propensity_of_taken(rows, z, codes, fit, valid)
    e = np.clip(e, s.propensity_floor, 1.0)
    mu = np.mean([probs[n] for n in s.candidates], axis=0)
    taken = np.zeros_like(mu)
    taken[np.arange(len(cv)), cv] = 1.0
    gamma = mu + taken * ((yv - mu[np.arange(len(cv)), cv]) / e)[:, None]
    n = len(yv)
    k = max(1, int(np.ceil(s.capacity_share * n)))
    stage = _stage(rows[valid])
    psi, records = {}, []
    for name in s.candidates:
        p = probs[name]
        best, rung = _suggested(p, stage, ladder)
        top = np.argsort(-best, kind="stable")[:k]
        contrib = np.zeros(n)
        contrib[top] = gamma[top, rung[top]] - gamma[top, 0]
        psi[name] = contrib
        p_taken = p[np.arange(n), cv]
        records.append(
            {
                "learner": name,
                "dr_gain_per_case": float(contrib.sum() / k),
                "dr_se": float(contrib.std(ddof=1) * np.sqrt(n) / k),
                "log_loss": _log_loss(yv, p_taken),
                "log_loss_by_rung": {
                    r: _log_loss(yv[cv == j], p_taken[cv == j]) for j, r in enumerate(RUNGS)
                },
                "list_rung_shares": {
                    r: float((rung[top] == j).mean()) for j, r in enumerate(RUNGS) if j > 0
                },
            }
        )
    best_name = max(records, key=lambda r: r["dr_gain_per_case"])["learner"]
    for rec in records:
        d = psi[best_name] - psi[rec["learner"]]
        rec["diff_to_best"] = float(d.sum() / k)
        rec["diff_se"] = float(d.std(ddof=1) * np.sqrt(n) / k)
        rec["tied"] = bool(rec["diff_to_best"] <= s.n_se * rec["diff_se"])
    chosen = next(r["learner"] for r in records if r["tied"])
    by_loss = min((r for r in records if r["tied"]), key=lambda r: r["log_loss"])["learner"]
    return {
        **out,
        "k": k,
        "n_randomised_valid": int(randomised.sum()),
        "chosen": chosen,
        "chosen_by_log_loss": by_loss,
        "best_value": best_name,
        "reason": "best_value" if chosen == best_name else "tie_simplest",
        "candidates": records,
    }


def _baseline_trees(max_iter: int, random_state: int) -> HistGradientBoostingClassifier:
    """The small boosted baseline (8 leaves, learning rate 0.15) that moves the shared level."""
    return HistGradientBoostingClassifier(
        learning_rate=0.15,
        max_iter=max_iter,
        max_leaf_nodes=8,
        min_samples_leaf=40,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )
