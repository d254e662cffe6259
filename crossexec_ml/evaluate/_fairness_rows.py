"""The rows a fairness audit judges: each screening date's out-of-sample list and its groups."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from crossexec_ml.decide import (
    best_allowed_gain,
    capacity_k,
    priority_order,
    suggest_rung,
    top_k,
)
from crossexec_ml.errors import TrainingDataError
from crossexec_ml.evaluate._backtest import temporal_splits
from crossexec_ml.model import hard_bone_flags, rung_of, stalled_cohort
from crossexec_ml.settings import (
    PROB_COLUMNS,
    RUNGS,
    BacktestSettings,
    CohortSettings,
    FairnessSettings,
    FlagSettings,
    LadderSettings,
    PrioritySettings,
)
from crossexec_ml.text import category_values, t_pair, value_label


def top_k_selection(score: np.ndarray, k: int) -> np.ndarray:
    """Selection weight of each row in the top-k by score, ties at the cut-off shared.

    Rows above the k-th score get 1; the rows tied with it share the places left equally (the
    expected selection under a random tie-break, the rule of
    :func:`crossexec_ml.evaluate.precision_recall_at_k`); the others get 0.

    Parameters
    ----------
    score : array of float
        Higher = earlier in the list.
    k : int
        Capacity.

    Returns
    -------
    numpy.ndarray of float
        Weights in [0, 1] summing to ``min(k, len(score))``.

    Examples
    --------
    >>> top_k_selection(np.array([0.9, 0.5, 0.5, 0.1]), 2).tolist()
    [1.0, 0.5, 0.5, 0.0]
    """
    score = np.asarray(score, dtype=float)
    k = int(min(max(k, 0), len(score)))
    w = np.zeros(len(score))
    if k == 0:
        return w
    threshold = np.sort(score)[::-1][k - 1]
    above = score > threshold
    tied = score == threshold
    w[above] = 1.0
    w[tied] = (k - above.sum()) / tied.sum()
    return w


def backtest_predictions(
    history: pd.DataFrame,
    make_model: Callable[[], object],
    backtest_settings: BacktestSettings | None = None,
    *,
    n_windows: int = 4,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Out-of-sample probabilities for the history rows of the rolling test windows.

    Each window (``test_months`` long, most recent first) is scored by a fresh model trained on
    the rows screened at least ``gap_days`` before it, as in
    :func:`crossexec_ml.evaluate.backtest`.

    Parameters
    ----------
    history : pandas.DataFrame
        Contract-typed historical rows; those without ``cross_mode`` or ``resolved_180d`` are
        left out.
    make_model : callable
        Returns a fresh unfitted model with ``fit`` and ``predict_rungs``.
    backtest_settings : BacktestSettings, optional
        Its ``n_splits`` is replaced by ``n_windows``.
    n_windows : int
        Number of test windows.
    progress : callable, optional
        Called with a short message after each window.

    Returns
    -------
    pandas.DataFrame
        The test rows (all their columns), oldest window first, plus the four ``p_*`` columns
        and ``window`` (the window's last day, ``yyyy-mm-dd``).

    Raises
    ------
    TrainingDataError
        When no window has both test rows and earlier training rows.
    """
    s = replace(backtest_settings or BacktestSettings(), n_splits=n_windows)
    usable = history["cross_mode"].notna() & history["resolved_180d"].notna()
    rows = history[usable].reset_index(drop=True)
    if rows.empty:
        raise TrainingDataError(
            "no row has both cross_mode (交叉执行方式) and resolved_180d (180日内化解): the "
            "fairness audit needs a history export with outcomes, not a list of current cases"
        )
    parts = []
    for train, test, _w_start, w_end in temporal_splits(rows["as_of_date"], s):
        model = make_model()
        model.fit(rows.iloc[train])
        part = rows.iloc[test].reset_index(drop=True)
        probs = model.predict_rungs(part)
        part = pd.concat([part, probs.reset_index(drop=True)], axis=1)
        part["window"] = f"{w_end:%Y-%m-%d}"
        parts.append(part)
        if progress is not None:
            progress(f"window ..{w_end:%Y-%m-%d}: {len(test)} rows scored out of sample")
    if not parts:
        raise TrainingDataError(
            f"the history has no test window with outcomes known {s.gap_days} days before it "
            f"({len(rows)} rows with cross_mode and resolved_180d): the fairness audit needs "
            "historical rows with outcomes spanning at least "
            f"{s.gap_days // 30 + s.test_months} months"
        )
    return pd.concat(parts, ignore_index=True)


def _band_labels(edges: tuple[float, ...]) -> list[tuple[str, str, str]]:
    """(key, zh, en) of each amount band, e.g. ('10k-100k', '1万至10万元', '10k-100k yuan')."""

    def zh(v: float) -> str:
        return f"{v / 1e4:g}万"

    def en(v: float) -> str:
        for unit, div in (("M", 1e6), ("k", 1e3)):
            if v >= div:
                return f"{v / div:g}{unit}"
        return f"{v:g}"

    out = [(f"<{en(edges[0])}", f"不足{zh(edges[0])}元", f"under {en(edges[0])} yuan")]
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        out.append((f"{en(lo)}-{en(hi)}", f"{zh(lo)}至{zh(hi)}元", f"{en(lo)}-{en(hi)} yuan"))
    out.append((f">={en(edges[-1])}", f"{zh(edges[-1])}元以上", f"{en(edges[-1])} yuan or more"))
    return out


def _group_values(cases: pd.DataFrame, settings: FairnessSettings) -> dict[str, pd.Series]:
    """Group columns as text (missing = ``(missing)``); absent columns are left out."""
    out: dict[str, pd.Series] = {}
    for g in settings.groupings:
        if g == "livelihood":
            if "is_livelihood" not in cases or cases["is_livelihood"].isna().all():
                continue
            flag = cases["is_livelihood"].astype("boolean")
            s = pd.Series(np.where(flag.fillna(False), "yes", "no"), index=cases.index)
            out[g] = s.where(flag.notna(), _MISSING).astype(str)
        elif g == "amount_band":
            if "amount_outstanding" not in cases:
                continue
            amount = pd.to_numeric(cases["amount_outstanding"], errors="coerce").to_numpy(float)
            keys = np.array([k for k, _, _ in _band_labels(settings.amount_edges)], dtype=object)
            idx = np.searchsorted(np.asarray(settings.amount_edges), amount, side="right")
            band = np.where(np.isnan(amount), _MISSING, keys[np.minimum(idx, len(keys) - 1)])
            out[g] = pd.Series(band, index=cases.index).astype(str)
        else:
            if g not in cases or cases[g].isna().all():
                continue
            out[g] = cases[g].astype("string").fillna(_MISSING).astype(str)
    return out


def _pilot_flags(rows: pd.DataFrame, truth: pd.DataFrame | None) -> tuple[np.ndarray, str]:
    # The contract's own column first: a court's export marks its randomised rows itself, and
    # has no truth file.
    if "assignment_randomised" in rows:
        flags = rows["assignment_randomised"].astype("boolean").fillna(False).to_numpy(bool)
        if flags.any():
            return flags, "assignment_randomised column"
    if truth is not None and "is_pilot" in truth:
        return truth["is_pilot"].astype("boolean").fillna(False).to_numpy(bool), "truth file"
    if "is_pilot" in rows:
        return rows["is_pilot"].astype("boolean").fillna(False).to_numpy(bool), "history column"
    return np.zeros(len(rows), dtype=bool), ""


def _align_truth(rows: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    key = ["case_id", "as_of_date"]
    t = truth.copy()
    t["case_id"] = t["case_id"].astype("string")
    t["as_of_date"] = pd.to_datetime(t["as_of_date"]).astype("datetime64[ns]")
    left = rows[key].copy()
    left["case_id"] = left["case_id"].astype("string")
    left["as_of_date"] = pd.to_datetime(left["as_of_date"]).astype("datetime64[ns]")
    return left.merge(t, on=key, how="left", validate="one_to_one")


def audit_rows(
    scored_history: pd.DataFrame,
    settings: FairnessSettings | None = None,
    *,
    truth: pd.DataFrame | None = None,
    ladder: LadderSettings | None = None,
    priority: PrioritySettings | None = None,
    cohort: CohortSettings | None = None,
    flags: FlagSettings | None = None,
) -> pd.DataFrame:
    """One row per audited case: its groups, whether the list picks it, outcome, predictions.

    Parameters
    ----------
    scored_history : pandas.DataFrame
        Historical rows with outcomes and out-of-sample ``p_*`` columns
        (:func:`backtest_predictions`). Only the stalled cohort is audited.
    settings : FairnessSettings, optional
    truth : pandas.DataFrame, optional
        Synthetic truth (``case_id``, ``as_of_date``, ``is_pilot``, ``p_*``): pilot rows for the
        uplift check and the true gains.
    ladder, priority, cohort, flags : settings, optional
        As the product uses them; ``priority.capacity`` is ignored (k comes from
        ``settings.capacity_share`` per screening date).

    Returns
    -------
    pandas.DataFrame
        ``case_id``, ``as_of_date``, one column per grouping present, ``selected`` (weight in
        [0, 1]), ``resolved``, ``hit`` (selected x resolved), ``p_taken``, ``rung_taken``,
        ``best_rung``, ``uplift_predicted``, ``pilot``, ``uplift_ipw``, ``uplift_gap``,
        ``has_truth``, ``uplift_gap_truth``, ``closure_mode_180d``, ``new_petition_180d``.
    """
    s = settings or FairnessSettings()
    ladder = ladder or LadderSettings()
    base = priority or PrioritySettings()
    rows = scored_history.reset_index(drop=True)
    rows = rows[stalled_cohort(rows, cohort).to_numpy()].reset_index(drop=True)
    n = len(rows)
    p = rows[list(PROB_COLUMNS)].to_numpy(float)
    taken = rung_of(rows["cross_mode"]).cat.codes.to_numpy()
    y = rows["resolved_180d"].astype(bool).to_numpy()
    sug = suggest_rung(rows[list(PROB_COLUMNS)], rows["ladder_stage"], ladder)
    best_gain, best_rung = best_allowed_gain(p, rows["ladder_stage"], ladder)
    p_best = p[np.arange(n), best_rung]

    scored = sug.copy()
    scored["stalled"] = True
    scored["flag_long_unresolved"] = hard_bone_flags(rows, flags)["flag_long_unresolved"]
    selected = np.zeros(n)
    for _, pos in rows.groupby("as_of_date", sort=True).indices.items():
        pos = np.asarray(pos)
        k = capacity_k(len(pos), share=s.capacity_share)
        if s.policy == "priority":
            ps = replace(base, capacity=k)
            order = priority_order(
                scored.iloc[pos].reset_index(drop=True), rows.iloc[pos].reset_index(drop=True), ps
            )
            selected[pos] = order.candidate.astype(float)
        else:
            # The same cut and tie rule as the product's list (gain, idle days, case id), so
            # the audit judges the cases that list would pick, not an average over ties.
            score = best_gain[pos] if s.policy == "model" else p_best[pos]
            selected[pos[top_k(score, rows.iloc[pos], k)]] = 1.0

    out = pd.DataFrame({"case_id": rows["case_id"], "as_of_date": rows["as_of_date"]})
    for g, values in _group_values(rows, s).items():
        out[g] = values.to_numpy()
    out["selected"] = selected
    out["resolved"] = y.astype(float)
    out["hit"] = selected * y
    out["p_taken"] = p[np.arange(n), taken]
    out["rung_taken"] = np.asarray(RUNGS, dtype=object)[taken]
    out["best_rung"] = np.asarray(RUNGS, dtype=object)[best_rung]
    out["uplift_predicted"] = p_best - p[:, 0]

    t_rows = _align_truth(rows, truth) if truth is not None else None
    pilot, _source = _pilot_flags(rows, t_rows)
    out["pilot"] = pilot
    ipw = np.full(n, np.nan)
    if pilot.any():
        shares = np.array([(taken[pilot] == r).mean() for r in range(len(RUNGS))])
        if (shares > 0).all():
            est = y * (taken == best_rung) / shares[best_rung] - y * (taken == 0) / shares[0]
            ipw[pilot] = est[pilot]
    out["pilot"] = pilot & ~np.isnan(ipw)
    out["uplift_ipw"] = ipw
    out["uplift_gap"] = ipw - out["uplift_predicted"].to_numpy()
    gap_truth = np.full(n, np.nan)
    if t_rows is not None and set(PROB_COLUMNS) <= set(t_rows.columns):
        tp = t_rows[list(PROB_COLUMNS)].to_numpy(float)
        gap_truth = tp[np.arange(n), best_rung] - tp[:, 0] - out["uplift_predicted"].to_numpy()
    out["has_truth"] = ~np.isnan(gap_truth)
    out["uplift_gap_truth"] = gap_truth
    for col in ("closure_mode_180d", "new_petition_180d"):
        if col in rows:
            out[col] = rows[col].to_numpy()
    return out


def _pair(key: str) -> tuple[str, str]:
    """The (zh, en) texts of a catalogue key."""
    return t_pair(key)


#: The groupings audited by default: column of the audit rows -> (zh, en), from the catalogue
#: (``fairness.grouping.<g>``).
GROUPINGS: dict[str, tuple[str, str]] = {
    g: _pair(f"fairness.grouping.{g}")
    for g in (
        "applicant_type",
        "debtor_type",
        "cause_category",
        "livelihood",
        "court_id",
        "amount_band",
    )
}


#: The metrics: name -> (zh, en, how it is compared with the reference group); the texts are
#: the catalogue's ``fairness.metric.<m>``, the compare mode stays here.
METRICS: dict[str, tuple[str, str, str]] = {
    m: (*_pair(f"fairness.metric.{m}"), kind)
    for m, kind in (
        ("selection_rate", "ratio"),
        ("precision_at_k", "ratio"),
        ("calibration_p", "ratio"),
        ("calibration_uplift", "difference"),
        ("calibration_uplift_truth", "difference"),
    )
}


#: Verdicts, most serious first: key -> (zh, en), from the catalogue (``verdict.<v>``).
VERDICTS: dict[str, tuple[str, str]] = {
    v: _pair(f"verdict.{v}") for v in ("flag", "watch", "ok", "reference", "too_small")
}


_VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    **{
        col: {v: (value_label(col, v, "zh"), value_label(col, v, "en")) for v in values}
        for col, values in category_values().items()
        if col in ("applicant_type", "debtor_type", "cause_category")
    },
    "livelihood": {v: _pair(f"fairness.group.livelihood.{v}") for v in ("yes", "no")},
}


_MISSING = "(missing)"


_MISSING_LABEL = _pair("missing")


# Per metric: numerator column, denominator column (None = row count), row mask (None = all).
_SPECS: dict[str, tuple[str, str | None, str | None]] = {
    "selection_rate": ("selected", None, None),
    "precision_at_k": ("hit", "selected", None),
    "calibration_p": ("resolved", "p_taken", None),
    "calibration_uplift": ("uplift_gap", None, "pilot"),
    "calibration_uplift_truth": ("uplift_gap_truth", None, "has_truth"),
}
