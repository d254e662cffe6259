"""Fairness audit of the top-k list on history: who is picked, how well, what happens to the rest.

DOMAIN.md section 2 asks that the list does not cherry-pick easy, rich commercial cases, that
vulnerability only raises a case, and that reports show what happens to the cases not picked.
This module checks that on history, **by group** (applicant type, debtor type, cause of action,
livelihood or not, court, band of the amount outstanding):

- **selection rate**: share of the group's stalled cases that the top-k list would pick;
- **precision@k**: share of the group's picked cases resolved within 180 days;
- **calibration of p** (observed / predicted resolutions for the rung actually taken: ``p_keep``
  where a case was kept, the cross probability where it was reassigned). The probability of a
  rung can only be checked on rows that took it, so this is the calibration ``p_cross`` can
  have on history;
- **calibration of the uplift** (observed minus predicted gain of the best allowed rung over
  keeping). An uplift needs both kept and reassigned cases that are comparable, which the
  confounded history does not give (leaders reassigned hard bones, petitions, large and old
  cases): a naive treated-minus-kept difference measures who was chosen, not what reassignment
  adds. So it is measured **only on the randomised-pilot rows** (``is_pilot`` from the truth
  file, or an ``is_pilot`` column in the history), by inverse-probability weighting with the
  pilot's rung shares, exactly as :mod:`crossexec_ml.evaluate._backtest` does; without pilot rows it is
  reported as not available. With a synthetic truth file the predicted gain is also compared
  with the true gain (``calibration_uplift_truth``);
- **what happens to the cases not picked**: their later outcomes (resolved, 终本, still open,
  new petition, reassigned anyway) by group, beside the picked ones.

Honest predictions only: every number comes from **out-of-sample** predictions of the rolling
temporal back-test (each window scored by a model trained on rows whose outcome was known
before it), never from a model fitted on the rows it is judged on. The list is rebuilt on each
screening date (``as_of_date``) with k = ``capacity_share`` of that date's stalled cases, with
the product's own rules (:func:`crossexec_ml.decide._priority.priority_order`: expected gain,
vulnerability boost, floors, the written tie rule).

Each metric is compared with a **reference group** (default: the group's largest) as a ratio
(a difference for the uplift, whose values sit near zero where ratios explode), with a seeded
percentile **bootstrap** confidence interval (cases resampled within each group; the list is
held fixed). Verdicts:

- ``too_small`` (样本不足): the group or the reference has fewer than ``min_group_size`` rows in
  the metric's denominator (rows; picked cases for precision; pilot rows for the uplift);
- ``flag`` (需关注): the ratio is outside the four-fifths band 0.8..1.25 **and** its interval
  excludes 1 (for the uplift: the difference exceeds ``uplift_tolerance`` and its interval
  excludes 0);
- ``watch`` (留意): outside the band but the interval includes 1: could be chance;
- ``ok`` (正常) inside the band; ``reference`` (参照组) the reference itself.

A flag asks a person to look, it does not prove unfairness: the list is *meant* to pick the
cases with the most to gain, and groups differ in that (a credit-card case against a vanished
debtor has little to gain on any rung). The calibration checks say whether the model's
estimates are equally right for each group, which is what fairness of a gain ranking rests on.

Why hand-written rather than fairlearn's ``MetricFrame``: fairlearn is not a dependency, and
what this audit needs beyond a group-by (a verdict with a minimum group size, bootstrap
intervals of ratios against a chosen reference, fractional selection weights for ties at the
cut-off, pilot-only IPW for the uplift) would all be written around it anyway; the group
metrics themselves are a few pandas/numpy sums, checked against hand-computed examples in
``tests/test_fairness.py``.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.data._contract import RUNGS, CohortSettings, FlagSettings
from crossexec_ml.data._io import InputError, atomic_path, read_cases, read_truth, write_table
from crossexec_ml.decide._policy import PROB_COLUMNS, LadderSettings, allowed_rungs, suggest_rung
from crossexec_ml.decide._priority import PrioritySettings, priority_order
from crossexec_ml.errors import TrainingDataError
from crossexec_ml.evaluate._backtest import BacktestSettings, temporal_splits
from crossexec_ml.model._features import hard_bone_flags, rung_of, stalled_cohort
from crossexec_ml.report._profile import CAUSE_LABELS

__all__ = [
    "GROUPINGS",
    "METRICS",
    "VERDICTS",
    "FairnessAudit",
    "FairnessSettings",
    "audit_history",
    "audit_rows",
    "audit_saved",
    "backtest_predictions",
    "fairness_audit",
    "fairness_summary",
    "read_audit",
    "summary_html",
    "summary_text",
    "top_k_selection",
    "write_audit",
]

#: The groupings audited by default: column of the audit rows -> (zh, en).
GROUPINGS: dict[str, tuple[str, str]] = {
    "applicant_type": ("申请人类型", "applicant type"),
    "debtor_type": ("被执行人类型", "debtor type"),
    "cause_category": ("案由大类", "cause of action"),
    "livelihood": ("是否民生案件", "livelihood case"),
    "court_id": ("执行法院", "court"),
    "amount_band": ("未执行标的额区间", "amount outstanding"),
}

#: The metrics: name -> (zh, en, how it is compared with the reference group).
METRICS: dict[str, tuple[str, str, str]] = {
    "selection_rate": ("入选率", "selection rate", "ratio"),
    "precision_at_k": ("入选案件180日化解率", "precision@k (picked cases resolved)", "ratio"),
    "calibration_p": (
        "化解概率校准（实际/预测）",
        "calibration of p (observed / predicted)",
        "ratio",
    ),
    "calibration_uplift": (
        "增益校准（试点：实际−预测）",
        "uplift calibration (pilot: observed − predicted)",
        "difference",
    ),
    "calibration_uplift_truth": (
        "增益与真值之差（合成数据：真值−预测）",
        "uplift vs the synthetic truth (true − predicted)",
        "difference",
    ),
}

#: Verdicts: key -> (zh, en).
VERDICTS: dict[str, tuple[str, str]] = {
    "flag": ("需关注", "flag"),
    "watch": ("留意（可能是偶然）", "watch (may be chance)"),
    "ok": ("正常", "ok"),
    "reference": ("参照组", "reference"),
    "too_small": ("样本不足", "too small"),
}

_VALUE_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "applicant_type": {
        "natural_person": ("自然人", "natural person"),
        "financial_institution": ("金融机构", "financial institution"),
        "company": ("企业", "company"),
        "public_body": ("机关事业单位", "public body"),
    },
    "debtor_type": {
        "natural_person": ("自然人", "natural person"),
        "individual_business": ("个体工商户", "individual business"),
        "private_company": ("民营企业", "private company"),
        "state_owned": ("国有企业", "state-owned"),
        "public_body": ("机关事业单位", "public body"),
        "other_org": ("其他组织", "other organisation"),
    },
    "cause_category": {k: (v, k.replace("_", " ")) for k, v in CAUSE_LABELS.items()},
    "livelihood": {"yes": ("民生案件", "livelihood"), "no": ("非民生案件", "not livelihood")},
}
_MISSING = "(missing)"
_MISSING_LABEL = ("缺失", "missing")

# Per metric: numerator column, denominator column (None = row count), row mask (None = all).
_SPECS: dict[str, tuple[str, str | None, str | None]] = {
    "selection_rate": ("selected", None, None),
    "precision_at_k": ("hit", "selected", None),
    "calibration_p": ("resolved", "p_taken", None),
    "calibration_uplift": ("uplift_gap", None, "pilot"),
    "calibration_uplift_truth": ("uplift_gap_truth", None, "has_truth"),
}

_POLICIES = ("priority", "model", "p_cross")


@dataclass(frozen=True)
class FairnessSettings:
    """How the audit is run and judged. Settings, not constants.

    Parameters
    ----------
    capacity_share : float
        k as a share of each screening date's stalled cases (0 < share <= 1).
    policy : {"priority", "model", "p_cross"}
        The list audited: ``priority`` the product's list (gain, vulnerability boost, floors);
        ``model`` the best allowed gain alone; ``p_cross`` the probability under the best rung
        (the "likely to resolve" list DOMAIN.md warns cherry-picks).
    groupings : tuple of str
        Columns of :data:`GROUPINGS` to audit; one absent from the data is skipped and said so.
    reference : mapping, optional
        Grouping -> reference group value (e.g. ``{"court_id": "C01"}``); default the largest
        group of each grouping.
    min_group_size : int
        Fewer rows than this in a metric's denominator (in the group or the reference): no
        verdict, ``too_small``.
    band : (float, float)
        Ratios inside this band are ``ok`` (default the four-fifths band 0.8..1.25).
    uplift_tolerance : float
        Uplift differences (probability points) within this are ``ok``.
    n_boot : int
        Bootstrap resamples per group.
    ci_level : float
        Level of the percentile intervals.
    seed : int
        Seed of the bootstrap (each group's draws are seeded from it and the group's name, so a
        group's interval does not change when another group is added) and of the models.
    amount_edges : tuple of float
        Edges (yuan) of the amount bands.
    n_windows : int
        Test windows of the rolling back-test (each ``test_months`` long, the most recent
        first) whose out-of-sample lists are audited.
    """

    capacity_share: float = 0.10
    policy: str = "priority"
    groupings: tuple[str, ...] = tuple(GROUPINGS)
    reference: Mapping[str, str] = field(default_factory=dict)
    min_group_size: int = 30
    band: tuple[float, float] = (0.8, 1.25)
    uplift_tolerance: float = 0.05
    n_boot: int = 500
    ci_level: float = 0.95
    seed: int = 0
    amount_edges: tuple[float, ...] = (1e4, 1e5, 1e6)
    n_windows: int = 4

    def __post_init__(self) -> None:
        if not 0 < self.capacity_share <= 1:
            raise ValueError(
                f"capacity_share must be in (0, 1], got {self.capacity_share}: "
                "the share of each screening date's stalled cases the bureau can reassign"
            )
        if self.policy not in _POLICIES:
            raise ValueError(f"policy must be one of {', '.join(_POLICIES)}, not {self.policy!r}")
        unknown = [g for g in self.groupings if g not in GROUPINGS]
        if unknown:
            raise ValueError(
                f"unknown grouping(s) {', '.join(unknown)}; choose from {', '.join(GROUPINGS)}"
            )
        if self.min_group_size < 1:
            raise ValueError(f"min_group_size must be >= 1, got {self.min_group_size}")
        lo, hi = self.band
        if not 0 < lo < 1 < hi:
            raise ValueError(f"band must satisfy 0 < low < 1 < high, got {self.band}")
        if self.n_boot < 10:
            raise ValueError(f"n_boot must be >= 10, got {self.n_boot}")
        if not 0.5 <= self.ci_level < 1:
            raise ValueError(f"ci_level must be in [0.5, 1), got {self.ci_level}")
        if self.uplift_tolerance < 0:
            raise ValueError("uplift_tolerance must be >= 0")
        if list(self.amount_edges) != sorted(set(self.amount_edges)) or any(
            e <= 0 for e in self.amount_edges
        ):
            raise ValueError("amount_edges must be positive and increasing")
        if self.n_windows < 1:
            raise ValueError(f"n_windows must be >= 1, got {self.n_windows}")


# --------------------------------------------------------------------------------------------
# Selection: the top-k of one screening date
# --------------------------------------------------------------------------------------------


def top_k_selection(score: np.ndarray, k: int) -> np.ndarray:
    """Selection weight of each row in the top-k by score, ties at the cut-off shared.

    Rows above the k-th score get 1; the rows tied with it share the places left equally (the
    expected selection under a random tie-break, the rule of
    :func:`crossexec_ml.evaluate._backtest.precision_recall_at_k`); the others get 0.

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


# --------------------------------------------------------------------------------------------
# Out-of-sample predictions and the audit rows
# --------------------------------------------------------------------------------------------


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
    :func:`crossexec_ml.evaluate._backtest.backtest`.

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
    allowed = allowed_rungs(rows["ladder_stage"], n, ladder)
    gains = np.where(allowed, p[:, 1:] - p[:, [0]], -np.inf)
    best_rung = gains.argmax(axis=1) + 1 if n else np.zeros(0, dtype=int)
    best_gain = gains.max(axis=1) if n else np.zeros(0)
    p_best = p[np.arange(n), best_rung]

    scored = sug.copy()
    scored["stalled"] = True
    scored["flag_long_unresolved"] = hard_bone_flags(rows, flags)["flag_long_unresolved"]
    selected = np.zeros(n)
    for _, pos in rows.groupby("as_of_date", sort=True).indices.items():
        pos = np.asarray(pos)
        k = max(1, int(round(s.capacity_share * len(pos))))
        if s.policy == "priority":
            ps = replace(base, capacity=k)
            order = priority_order(
                scored.iloc[pos].reset_index(drop=True), rows.iloc[pos].reset_index(drop=True), ps
            )
            selected[pos] = order.candidate.astype(float)
        else:
            score = best_gain[pos] if s.policy == "model" else p_best[pos]
            selected[pos] = top_k_selection(score, k)

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


# --------------------------------------------------------------------------------------------
# Group metrics, bootstrap intervals, verdicts
# --------------------------------------------------------------------------------------------


def _value_label(grouping: str, value: str, settings: FairnessSettings) -> tuple[str, str]:
    if value == _MISSING:
        return _MISSING_LABEL
    if grouping == "amount_band":
        for key, zh, en in _band_labels(settings.amount_edges):
            if key == value:
                return zh, en
    return _VALUE_LABELS.get(grouping, {}).get(value, (value, value))


def _rng(seed: int, *names: str) -> np.random.Generator:
    # Seeded by the names, not by the order groups are met: adding a group changes no other.
    words = [seed, *(zlib.crc32(n.encode("utf-8")) for n in names)]
    return np.random.default_rng(np.random.SeedSequence(words))


def _ratio_of_sums(num: np.ndarray, den: np.ndarray | None, axis: int | None = None):
    with np.errstate(divide="ignore", invalid="ignore"):
        if den is None:
            return np.mean(num, axis=axis) if np.size(num) else np.nan
        return np.sum(num, axis=axis) / np.sum(den, axis=axis)


def _metric_rows(
    rows: pd.DataFrame, metric: str
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Numerator, denominator (None = mean) and the row mask of a metric."""
    num_col, den_col, mask_col = _SPECS[metric]
    if num_col not in rows or (den_col is not None and den_col not in rows):
        mask = np.zeros(len(rows), dtype=bool)
    elif mask_col is None:
        mask = np.ones(len(rows), dtype=bool)
    else:
        mask = rows[mask_col].to_numpy(bool) if mask_col in rows else np.zeros(len(rows), bool)
    num = rows[num_col].to_numpy(float) if num_col in rows else np.zeros(len(rows))
    den = rows[den_col].to_numpy(float) if den_col is not None and den_col in rows else None
    return num, den, mask


def _metric_n(rows: pd.DataFrame, metric: str) -> float:
    """Size of the metric's denominator: rows, or picked cases for precision@k."""
    _, den, mask = _metric_rows(rows, metric)
    if metric == "precision_at_k" and den is not None:
        return float(den[mask].sum())
    return float(mask.sum())


def _boot(
    num: np.ndarray, den: np.ndarray | None, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap values of sum(num)/sum(den) (or mean(num)) over rows resampled with replacement."""
    if len(num) == 0:
        return np.full(n_boot, np.nan)
    idx = rng.integers(0, len(num), size=(n_boot, len(num)))
    return _ratio_of_sums(num[idx], den[idx] if den is not None else None, axis=1)


def _interval(draws: np.ndarray, level: float) -> tuple[float, float]:
    ok = draws[np.isfinite(draws)]
    # Too many undefined draws (a resample with no picked case...): no honest interval.
    if len(ok) < 0.9 * len(draws) or len(ok) == 0:
        return math.nan, math.nan
    lo, hi = np.quantile(ok, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def _verdict(
    kind: str, est: float, lo: float, hi: float, settings: FairnessSettings
) -> tuple[str, bool]:
    """(verdict, outside the band) for a ratio or difference with its interval."""
    if kind == "ratio":
        outside = est < settings.band[0] or est > settings.band[1]
        clear = (lo > 1) or (hi < 1)
    else:
        outside = abs(est) > settings.uplift_tolerance
        clear = (lo > 0) or (hi < 0)
    if not outside:
        return "ok", False
    return ("flag" if clear else "watch"), True


@dataclass
class FairnessAudit:
    """The result of a fairness audit: tables and what they were computed on.

    Attributes
    ----------
    settings : FairnessSettings
    groups : pandas.DataFrame
        One row per (grouping, group): ``n``, ``n_selected``, ``selection_rate``,
        ``precision_at_k``, ``observed_rate``, ``predicted_rate``, ``calibration_p``,
        ``n_pilot``, ``uplift_observed``, ``uplift_predicted``, ``calibration_uplift``,
        ``calibration_uplift_truth``, labels (``grouping_zh/en``, ``group_zh/en``) and
        ``worst_verdict``.
    disparities : pandas.DataFrame
        One row per (grouping, group, metric): ``n``, ``value``, ``reference_group``,
        ``reference_value``, ``compare`` (``ratio`` or ``difference``), ``estimate``,
        ``ci_low``, ``ci_high``, ``verdict`` and labels.
    unselected : pandas.DataFrame
        Later outcomes of the picked and the not-picked cases per (grouping, group, in_list):
        ``n``, ``resolved_rate``, ``terminate_current_rate`` (终本), ``open_rate``,
        ``new_petition_rate``, ``reassigned_rate`` (reassigned anyway in history).
    rows : pandas.DataFrame
        The audit rows (:func:`audit_rows`).
    meta : dict
        What the audit ran on: rows, picked, screening dates, period, windows, pilot source,
        model id, skipped groupings.
    """

    settings: FairnessSettings
    groups: pd.DataFrame
    disparities: pd.DataFrame
    unselected: pd.DataFrame
    rows: pd.DataFrame
    meta: dict

    def summary(self) -> dict:
        """:func:`fairness_summary` of this audit."""
        return fairness_summary(self)


def _reference_value(values: pd.Series, grouping: str, settings: FairnessSettings) -> str:
    chosen = settings.reference.get(grouping)
    if chosen is not None:
        if chosen not in set(values):
            raise ValueError(
                f"reference group {chosen!r} for {grouping} is not in the data; "
                f"groups: {', '.join(sorted(set(values)))}"
            )
        return chosen
    counts = values[values != _MISSING].value_counts()
    counts = counts if len(counts) else values.value_counts()
    # Largest group; ties by name so the choice never depends on row order.
    top = counts[counts == counts.max()].index
    return str(sorted(top)[0])


def _unselected_table(rows: pd.DataFrame, grouping: str) -> list[dict]:
    out = []
    closure = rows["closure_mode_180d"].astype("string") if "closure_mode_180d" in rows else None
    petition = (
        rows["new_petition_180d"].astype("boolean").astype("Float64").to_numpy(float, na_value=0)
        if "new_petition_180d" in rows
        else None
    )
    reassigned = (rows["rung_taken"] != "keep").to_numpy(float)
    sel = rows["selected"].to_numpy(float)
    for value, pos in rows.groupby(grouping, sort=True).indices.items():
        for in_list, w in (("not_selected", 1 - sel[pos]), ("selected", sel[pos])):
            total = w.sum()

            def rate(x: np.ndarray, w=w, total=total) -> float:
                return float((w * x).sum() / total) if total > 0 else math.nan

            rec = {
                "grouping": grouping,
                "group": value,
                "in_list": in_list,
                "n": float(total),
                "resolved_rate": rate(rows["resolved"].to_numpy(float)[pos]),
                "reassigned_rate": rate(reassigned[pos]),
            }
            if closure is not None:
                c = closure.iloc[pos]
                rec["terminate_current_rate"] = rate((c == "terminate_current").to_numpy(float))
                rec["open_rate"] = rate((c == "open").to_numpy(float))
            if petition is not None:
                rec["new_petition_rate"] = rate(petition[pos])
            out.append(rec)
    return out


_Stat = tuple[float, float, np.ndarray]  # point value, denominator size, bootstrap draws


def _group_stats(
    rows: pd.DataFrame, grouping: str, values: dict, metrics: list[str], s: FairnessSettings
) -> dict[tuple[str, str], _Stat]:
    """Point value, denominator size and bootstrap draws per (group, metric)."""
    stats: dict[tuple[str, str], _Stat] = {}
    for value, pos in values.items():
        part = rows.iloc[pos]
        for m in metrics:
            num, den, mask = _metric_rows(part, m)
            num, den = num[mask], (den[mask] if den is not None else None)
            est = float(_ratio_of_sums(num, den)) if mask.any() else math.nan
            draws = _boot(num, den, s.n_boot, _rng(s.seed, grouping, value, m))
            stats[(value, m)] = (est, _metric_n(part, m), draws)
    return stats


def _compare(kind: str, group: _Stat, ref: _Stat, is_ref: bool, s: FairnessSettings) -> dict:
    """Ratio or difference to the reference, its interval, and the verdict."""
    (est, n, draws), (ref_est, ref_n, ref_draws) = group, ref
    out = {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "outside_band": False}
    if is_ref:
        out["estimate"] = 1.0 if kind == "ratio" else 0.0
        out["verdict"] = "reference" if n >= s.min_group_size else "too_small"
        return out
    if n < s.min_group_size or ref_n < s.min_group_size:
        out["verdict"] = "too_small"
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ratio":
            point = est / ref_est if ref_est else math.nan
            boot = draws / ref_draws
        else:
            point = est - ref_est
            boot = draws - ref_draws
    lo, hi = _interval(boot, s.ci_level)
    out.update(estimate=float(point), ci_low=lo, ci_high=hi)
    if not np.isfinite(point):  # the reference has no event to compare with
        out["verdict"] = "too_small"
    else:
        out["verdict"], out["outside_band"] = _verdict(kind, point, lo, hi, s)
    return out


def _group_record(part: pd.DataFrame, labels: dict, point: dict[str, float], worst: str) -> dict:
    """One row of ``FairnessAudit.groups``: sizes, the metrics and the raw rates behind them."""
    rec = {**labels, "n": len(part), "n_selected": float(part["selected"].sum()), **point}
    rec["observed_rate"] = float(part["resolved"].mean())
    if "p_taken" in part:
        rec["predicted_rate"] = float(part["p_taken"].mean())
    if "pilot" in part and "uplift_ipw" in part:
        pil = part[part["pilot"].astype(bool)]
        rec["n_pilot"] = len(pil)
        rec["uplift_observed"] = float(pil["uplift_ipw"].mean()) if len(pil) else math.nan
        rec["uplift_predicted"] = float(pil["uplift_predicted"].mean()) if len(pil) else math.nan
    rec["worst_verdict"] = worst
    return rec


def _audit_meta(
    rows: pd.DataFrame, s: FairnessSettings, present: list[str], metrics: list[str], meta
) -> dict:
    info = dict(meta or {})
    info.setdefault("n_rows", len(rows))
    info["n_selected"] = float(rows["selected"].sum())
    info["groupings_audited"] = present
    info["groupings_skipped"] = [
        {"grouping": g, "reason": "column absent or empty in the data"}
        for g in s.groupings
        if g not in present
    ]
    info["metrics"] = metrics
    if "as_of_date" in rows and len(rows):
        dates = pd.to_datetime(rows["as_of_date"])
        info["screening_dates"] = int(dates.nunique())
        info["period"] = [f"{dates.min():%Y-%m-%d}", f"{dates.max():%Y-%m-%d}"]
    return info


def fairness_audit(
    rows: pd.DataFrame, settings: FairnessSettings | None = None, *, meta: dict | None = None
) -> FairnessAudit:
    """Group metrics, ratios to a reference group with bootstrap intervals, and verdicts.

    Parameters
    ----------
    rows : pandas.DataFrame
        Audit rows: one column per grouping (text), ``selected`` (weight in [0, 1]),
        ``resolved`` (0/1), ``hit`` (``selected * resolved``, computed when absent) and,
        for the calibration metrics, ``p_taken``, ``pilot`` + ``uplift_gap``, ``has_truth`` +
        ``uplift_gap_truth`` (see :func:`audit_rows`). A metric whose columns are absent is
        left out.
    settings : FairnessSettings, optional
    meta : dict, optional
        Recorded in the result (what the rows came from).

    Returns
    -------
    FairnessAudit
    """
    s = settings or FairnessSettings()
    rows = rows.reset_index(drop=True)
    if "hit" not in rows:
        rows = rows.assign(hit=rows["selected"].to_numpy(float) * rows["resolved"].to_numpy(float))
    if "rung_taken" not in rows:
        rows = rows.assign(rung_taken="keep")
    present = [g for g in s.groupings if g in rows]
    metrics = [
        m
        for m in METRICS
        if _SPECS[m][0] in rows
        and (_SPECS[m][1] is None or _SPECS[m][1] in rows)
        and _metric_rows(rows, m)[2].any()
    ]
    severity = list(VERDICTS)  # most serious first
    group_recs, disp_recs, unsel_recs = [], [], []
    for grouping in present:
        text = rows[grouping].astype(str)
        ref = _reference_value(text, grouping, s)
        ref_zh, ref_en = _value_label(grouping, ref, s)
        g_zh, g_en = GROUPINGS[grouping]
        values = text.groupby(text, sort=True).indices
        stats = _group_stats(rows, grouping, values, metrics, s)
        for value, pos in values.items():
            v_zh, v_en = _value_label(grouping, value, s)
            labels = {
                "grouping": grouping,
                "grouping_zh": g_zh,
                "grouping_en": g_en,
                "group": value,
                "group_zh": v_zh,
                "group_en": v_en,
            }
            verdicts = []
            for m in metrics:
                kind = METRICS[m][2]
                est, n_m, _ = stats[(value, m)]
                cmp = _compare(kind, stats[(value, m)], stats[(ref, m)], value == ref, s)
                verdicts.append(cmp["verdict"])
                disp_recs.append(
                    {
                        **labels,
                        "metric": m,
                        "metric_zh": METRICS[m][0],
                        "metric_en": METRICS[m][1],
                        "n": n_m,
                        "value": est,
                        "reference_group": ref,
                        "reference_zh": ref_zh,
                        "reference_en": ref_en,
                        "reference_value": stats[(ref, m)][0],
                        "compare": kind,
                        **cmp,
                        "verdict_zh": VERDICTS[cmp["verdict"]][0],
                        "verdict_en": VERDICTS[cmp["verdict"]][1],
                    }
                )
            worst = min(verdicts, key=severity.index) if verdicts else "too_small"
            point = {m: stats[(value, m)][0] for m in metrics}
            group_recs.append(_group_record(rows.iloc[pos], labels, point, worst))
        for rec in _unselected_table(rows, grouping):
            v_zh, v_en = _value_label(grouping, rec["group"], s)
            labels = {"grouping_zh": g_zh, "grouping_en": g_en, "group_zh": v_zh, "group_en": v_en}
            unsel_recs.append({**labels, **rec})
    return FairnessAudit(
        settings=s,
        groups=pd.DataFrame(group_recs),
        disparities=pd.DataFrame(disp_recs),
        unselected=pd.DataFrame(unsel_recs),
        rows=rows,
        meta=_audit_meta(rows, s, present, metrics, meta),
    )


# --------------------------------------------------------------------------------------------
# Jobs: audit a history with a model's method
# --------------------------------------------------------------------------------------------


def audit_history(
    history: pd.DataFrame,
    make_model: Callable[[], object] | None = None,
    settings: FairnessSettings | None = None,
    *,
    truth: pd.DataFrame | None = None,
    backtest_settings: BacktestSettings | None = None,
    ladder: LadderSettings | None = None,
    priority: PrioritySettings | None = None,
    flags: FlagSettings | None = None,
    meta: dict | None = None,
    progress: Callable[[str], None] | None = None,
) -> FairnessAudit:
    """Audit the top-k lists a model's method would have made on a history, out of sample.

    Parameters
    ----------
    history : pandas.DataFrame
        Contract-typed historical rows with ``cross_mode`` and the 180-day outcomes.
    make_model : callable, optional
        Returns a fresh unfitted model (default: :class:`crossexec_ml.model._estimator.CrossExecModel`
        with ``random_state=settings.seed``).
    settings : FairnessSettings, optional
    truth : pandas.DataFrame, optional
        Synthetic truth: the pilot rows for the uplift check and the true gains.
    backtest_settings : BacktestSettings, optional
        Window length and gap (``n_splits`` comes from ``settings.n_windows``).
    ladder, priority, flags : settings, optional
    meta : dict, optional
        Extra facts recorded in the result (e.g. ``model_id``).
    progress : callable, optional

    Returns
    -------
    FairnessAudit
    """
    s = settings or FairnessSettings()
    if make_model is None:
        from crossexec_ml.model._estimator import CrossExecModel

        def make_model() -> CrossExecModel:
            return CrossExecModel(random_state=s.seed)

    bt = backtest_settings or BacktestSettings(seed=s.seed)
    scored = backtest_predictions(history, make_model, bt, n_windows=s.n_windows, progress=progress)
    rows = audit_rows(scored, s, truth=truth, ladder=ladder, priority=priority, flags=flags)
    n_win = scored["window"].nunique()
    info = {
        "evaluated_on": (
            f"out-of-sample predictions of the rolling temporal back-test ({n_win}"
            f" windows of {bt.test_months} months, training rows at least {bt.gap_days} days "
            "before each window)"
        ),
        "windows": sorted(scored["window"].unique().tolist()),
        "policy": s.policy,
        **(meta or {}),
    }
    pilot_n = int(rows["pilot"].sum())
    if pilot_n:
        source = _pilot_flags(scored, _align_truth(scored, truth) if truth is not None else None)[1]
        info["uplift_check"] = (
            f"{pilot_n} randomised-pilot rows (is_pilot from the {source}), inverse-probability "
            "weighted with the pilot's rung shares"
        )
        where = "真值文件" if source == "truth file" else "历史数据"
        info["uplift_check_zh"] = (
            f"随机试点案件{pilot_n}个（is_pilot取自{where}），按试点各层级比例逆概率加权"
        )
    else:
        info["uplift_check"] = (
            "not available: no randomised-pilot rows (is_pilot), and the confounded history "
            "cannot measure an uplift"
        )
        info["uplift_check_zh"] = (
            "无法检验：没有随机试点案件（is_pilot），历史交叉并非随机，不能据此估计增益"
        )
    return fairness_audit(rows, s, meta=info)


def audit_saved(
    model_dir: str | os.PathLike[str] | None,
    history_path: str | os.PathLike[str],
    *,
    truth_path: str | os.PathLike[str] | None = None,
    settings: FairnessSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> FairnessAudit:
    """Audit a saved model's method on a history file (refitted per back-test window).

    A model fitted on all of its history cannot be judged on that history, so, as
    :func:`crossexec_ml.jobs._pipeline.evaluate_saved` does, the saved model's parameters are refitted
    on each window's earlier rows, with the card's back-test and ladder settings.

    Parameters
    ----------
    model_dir : path-like or None
        Folder written by ``crossexec train``. None or ``""``: the default
        :class:`~crossexec_ml.model._estimator.CrossExecModel` settings, back-test and ladder settings
        (no saved model needed; what a first audit of a new history uses).
    history_path : path-like
        Historical export with outcomes.
    truth_path : path-like, optional
        Synthetic ``truth.csv`` (pilot rows, true gains), read by
        :func:`crossexec_ml.data._io.read_truth`: it must match some of the history's back-tested
        rows (``ValidationError`` / ``InputError`` otherwise).
    settings : FairnessSettings, optional
    progress : callable, optional

    Returns
    -------
    FairnessAudit
    """
    from sklearn.base import clone

    from crossexec_ml.model._estimator import load_model

    if model_dir:
        model, card = load_model(model_dir)
    else:
        from crossexec_ml.model._estimator import CrossExecModel

        seed = (settings or FairnessSettings()).seed
        model, card = CrossExecModel(random_state=seed), {"model_id": None}
    history = read_cases(history_path)
    # Validated like every input (file, row, column); one that matches none of the history's
    # back-tested rows is refused here rather than joined into columns of missing values.
    truth = read_truth(truth_path, cases=history, cover="some") if truth_path else None
    bt = BacktestSettings(**card.get("backtest_settings", {"seed": model.random_state}))
    ladder = LadderSettings(**card.get("ladder_settings", {}))
    try:
        return audit_history(
            history,
            lambda: clone(model),
            settings,
            truth=truth,
            backtest_settings=bt,
            ladder=ladder,
            flags=getattr(model, "flag_settings", None),
            meta={
                "model_id": card.get("model_id") or "default settings (no saved model)",
                "history_file": Path(history_path).name,
            },
            progress=progress,
        )
    except TrainingDataError as err:
        raise TrainingDataError(f"{Path(history_path).name}: {err}") from None


# --------------------------------------------------------------------------------------------
# The summary other reports embed, and its renderings
# --------------------------------------------------------------------------------------------


def _plain(v: object) -> object:
    """JSON-safe scalar: NaN/inf -> None, numpy scalars -> Python, dates -> text."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, pd.Timestamp):
        return f"{v:%Y-%m-%d}"
    return v


def _jsonable(obj: object) -> object:
    """Plain JSON values all the way down (``json.dumps`` writes NaN as a non-JSON token)."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    v = _plain(obj)
    if v is None or isinstance(v, bool | int | float | str):
        return v
    return str(v)


def fairness_summary(audit: FairnessAudit) -> dict:
    """A compact, JSON-serialisable summary of an audit, for the re-scoring report and model card.

    Parameters
    ----------
    audit : FairnessAudit
        From :func:`audit_saved`, :func:`audit_history` or :func:`fairness_audit`.

    Returns
    -------
    dict
        Plain Python values only (``json.dumps`` works; NaN becomes ``None``):

        - ``policy``, ``capacity_share``, ``band`` ([low, high]), ``uplift_tolerance``,
          ``min_group_size``, ``ci_level``, ``n_boot``, ``seed``: how it was judged;
        - ``n_rows``, ``n_selected``, ``screening_dates``, ``period`` ([first, last]),
          ``evaluated_on``, ``uplift_check`` (what the uplift check used, or why it is not
          available), ``model_id`` when known: what it ran on;
        - ``n_groupings``, ``n_groups`` (all groups seen), ``n_groups_audited`` (groups with at
          least one verdict other than ``too_small``), ``n_checks`` (group x metric
          comparisons with a verdict), ``n_flagged``, ``n_watch``;
        - ``flagged`` and ``watch``: lists of ``{"grouping", "grouping_zh", "grouping_en", "group",
          "group_zh", "group_en", "metric", "metric_zh", "metric_en", "compare" ("ratio" or
          "difference"), "n", "value", "reference_group", "reference_value", "estimate",
          "ci_low", "ci_high"}``, largest departure first;
        - ``too_small``: list of ``{"grouping", "group", "group_zh", "group_en", "n",
          "metrics", "no_verdict_at_all"}``: groups where at least one metric got no verdict
          (often precision@k: few picked cases), with those metrics; ``n_groups_too_small``
          counts the groups with no verdict on any metric;
        - ``groupings_skipped``: ``{"grouping", "reason"}`` for groupings not in the data.

    Examples
    --------
    >>> s = fairness_summary(audit)  # doctest: +SKIP
    >>> s["n_flagged"], [f["group"] for f in s["flagged"]]  # doctest: +SKIP
    (1, ['credit_card'])
    """
    s = audit.settings
    d = audit.disparities
    meta = audit.meta
    out: dict = {
        "policy": s.policy,
        "capacity_share": s.capacity_share,
        "band": list(s.band),
        "uplift_tolerance": s.uplift_tolerance,
        "min_group_size": s.min_group_size,
        "ci_level": s.ci_level,
        "n_boot": s.n_boot,
        "seed": s.seed,
        "n_rows": int(meta.get("n_rows", len(audit.rows))),
        "n_selected": round(float(meta.get("n_selected", 0.0)), 2),
    }
    for key in (
        "screening_dates",
        "period",
        "evaluated_on",
        "uplift_check",
        "uplift_check_zh",
        "model_id",
    ):
        if key in meta:
            out[key] = meta[key]
    n_groups = len(audit.groups)
    judged = d[~d["verdict"].isin(["too_small"])] if len(d) else d
    out["n_groupings"] = len(meta.get("groupings_audited", []))
    out["n_groups"] = int(n_groups)
    out["n_groups_audited"] = (
        int(judged[["grouping", "group"]].drop_duplicates().shape[0]) if len(d) else 0
    )
    out["n_checks"] = int((judged["verdict"] != "reference").sum()) if len(d) else 0

    keys = (
        "grouping",
        "grouping_zh",
        "grouping_en",
        "group",
        "group_zh",
        "group_en",
        "metric",
        "metric_zh",
        "metric_en",
        "compare",
        "n",
        "value",
        "reference_group",
        "reference_zh",
        "reference_en",
        "reference_value",
        "estimate",
        "ci_low",
        "ci_high",
    )

    def listed(verdict: str) -> list[dict]:
        if not len(d):
            return []
        part = d[d["verdict"] == verdict].copy()
        dist = np.where(
            part["compare"] == "ratio",
            np.abs(np.log(part["estimate"].astype(float).clip(lower=1e-9))),
            part["estimate"].astype(float).abs(),
        )
        part = part.assign(_dist=dist).sort_values("_dist", ascending=False, kind="stable")
        return [{k: _plain(r[k]) for k in keys} for _, r in part.iterrows()]

    out["flagged"] = listed("flag")
    out["watch"] = listed("watch")
    out["n_flagged"] = len(out["flagged"])
    out["n_watch"] = len(out["watch"])
    small = []
    if len(d):
        tiny = d[d["verdict"] == "too_small"]
        for (grouping, group), part in tiny.groupby(["grouping", "group"], sort=True):
            small.append(
                {
                    "grouping": grouping,
                    "group": group,
                    "group_zh": part["group_zh"].iloc[0],
                    "group_en": part["group_en"].iloc[0],
                    "n": int(
                        audit.groups.loc[
                            (audit.groups["grouping"] == grouping)
                            & (audit.groups["group"] == group),
                            "n",
                        ].iloc[0]
                    ),
                    "metrics": part["metric"].tolist(),
                    "no_verdict_at_all": bool(
                        (d.loc[(d["grouping"] == grouping) & (d["group"] == group), "verdict"])
                        .eq("too_small")
                        .all()
                    ),
                }
            )
    out["too_small"] = small
    out["n_groups_too_small"] = sum(t["no_verdict_at_all"] for t in small)
    out["groupings_skipped"] = list(meta.get("groupings_skipped", []))
    return _jsonable(out)


def _fmt(v: object, compare: str | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if compare == "difference":
        return f"{float(v) * 100:+.1f}"
    return f"{float(v):.2f}"


def _fmt_n(v: object) -> str:
    if v is None:
        return "—"
    v = float(v)
    return f"{v:.0f}" if v == round(v) else f"{v:.1f}"


_TEXTS: dict[str, tuple[str, str]] = {
    "title": ("公平性审查摘要", "Fairness audit summary"),
    "scope": (
        "按{g}种分组共{n}个组审查（{a}个组有结论），入选比例{k:.0%}，{r}个案件（{d}个筛查日）；"
        "比较{c}项，需关注{f}项，留意{w}项；{s}个组样本不足、不下任何结论，另有{p}个组部分指标样本不足。",
        "{n} groups in {g} groupings audited ({a} with a verdict), capacity {k:.0%}, {r} cases "
        "({d} screening dates); {c} comparisons, {f} flagged, {w} to watch; {s} groups too small "
        "for any verdict, {p} more too small for some metrics.",
    ),
    "none": ("没有需关注的差异。", "No disparity flagged."),
    "band": (
        "判断标准：与参照组之比超出{lo}–{hi}且置信区间不含1（增益：差值超过{t}个百分点且区间不含0）；"
        "组内少于{m}个案件不下结论。",
        "Rule: a ratio to the reference group outside {lo}–{hi} whose interval excludes 1 "
        "(uplift: a difference beyond {t} points whose interval excludes 0); no verdict under "
        "{m} cases.",
    ),
    "uplift": ("增益校准：{u}", "Uplift check: {u}"),
    "grouping": ("分组", "grouping"),
    "group": ("组别", "group"),
    "metric": ("指标", "metric"),
    "n": ("样本数", "n"),
    "estimate": ("与参照组之比或差", "ratio or difference to reference"),
    "ci": ("置信区间", "interval"),
    "reference": ("参照组", "reference"),
    "verdict": ("结论", "verdict"),
    "note": (
        "结论提示人工复核，不等于认定不公平：清单本就按交叉增益排序，各组可得增益不同。数据为合成数据时，"
        "结论只说明方法。",
        "A flag asks a person to look; it does not prove unfairness: the list ranks by the gain "
        "of reassignment, which differs between groups. On synthetic data it shows the method.",
    ),
}


def _as_summary(summary: Mapping) -> Mapping:
    """The summary itself, also when given the whole JSON file ``write_audit`` wrote."""
    if "n_groupings" not in summary and isinstance(summary.get("summary"), Mapping):
        return summary["summary"]
    return summary


def _lang(lang: str) -> int:
    if lang not in ("zh", "en"):
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    return 0 if lang == "zh" else 1


def _scope(summary: dict, i: int) -> list[str]:
    t = _TEXTS
    lines = [
        t["scope"][i].format(
            g=summary["n_groupings"],
            n=summary["n_groups"],
            a=summary["n_groups_audited"],
            k=summary["capacity_share"],
            r=summary["n_rows"],
            d=summary.get("screening_dates", "?"),
            c=summary["n_checks"],
            f=summary["n_flagged"],
            w=summary["n_watch"],
            s=summary["n_groups_too_small"],
            p=len(summary["too_small"]) - summary["n_groups_too_small"],
        ),
        t["band"][i].format(
            lo=summary["band"][0],
            hi=summary["band"][1],
            t=f"{summary['uplift_tolerance'] * 100:g}",
            m=summary["min_group_size"],
        ),
    ]
    key = "uplift_check_zh" if i == 0 else "uplift_check"
    if key in summary:
        lines.append(t["uplift"][i].format(u=summary[key]))
    return lines


def summary_text(summary: dict, lang: str = "zh") -> str:
    """A short plain-text rendering of :func:`fairness_summary` (Chinese or English).

    Parameters
    ----------
    summary : dict
        From :func:`fairness_summary` (or the whole JSON document :func:`write_audit` wrote,
        whose ``summary`` is used).
    lang : {"zh", "en"}

    Returns
    -------
    str
        A title, the scope and rule, one line per flagged comparison (group, metric, ratio or
        difference with its interval, reference), and the caution.
    """
    i = _lang(lang)
    summary = _as_summary(summary)
    lines = [_TEXTS["title"][i], *_scope(summary, i)]
    if not summary["flagged"]:
        lines.append(_TEXTS["none"][i])
    for f in summary["flagged"]:
        name = "grouping_zh" if i == 0 else "grouping_en"
        group = f["group_zh"] if i == 0 else f["group_en"]
        metric = f["metric_zh"] if i == 0 else f["metric_en"]
        lines.append(
            f"- {f[name]} {group}: {metric} {_fmt(f['estimate'], f['compare'])} "
            f"[{_fmt(f['ci_low'], f['compare'])}, {_fmt(f['ci_high'], f['compare'])}] "
            f"({_TEXTS['reference'][i]} {f['reference_zh'] if i == 0 else f['reference_en']}, "
            f"n={_fmt_n(f['n'])})"
        )
    lines.append(_TEXTS["note"][i])
    return "\n".join(lines)


def summary_html(summary: dict, lang: str = "zh") -> str:
    """:func:`fairness_summary` as an HTML fragment: scope, rule, a table of flagged and watched.

    Parameters
    ----------
    summary : dict
        From :func:`fairness_summary` (or the whole JSON document :func:`write_audit` wrote).
    lang : {"zh", "en"}

    Returns
    -------
    str
        A ``<div class="fairness-summary">`` with every value escaped.
    """
    i = _lang(lang)
    summary = _as_summary(summary)
    t = _TEXTS
    head = [t[k][i] for k in ("grouping", "group", "metric", "n", "estimate", "ci", "reference")]
    head.append(t["verdict"][i])
    body = []
    for key in ("flagged", "watch"):
        verdict = VERDICTS["flag" if key == "flagged" else "watch"][i]
        for f in summary[key]:
            cells = [
                f["grouping_zh"] if i == 0 else f["grouping_en"],
                f["group_zh"] if i == 0 else f["group_en"],
                f["metric_zh"] if i == 0 else f["metric_en"],
                _fmt_n(f["n"]),
                _fmt(f["estimate"], f["compare"]),
                f"[{_fmt(f['ci_low'], f['compare'])}, {_fmt(f['ci_high'], f['compare'])}]",
                str(f["reference_zh"] if i == 0 else f["reference_en"]),
                verdict,
            ]
            body.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    paras = "".join(f"<p>{escape(line)}</p>" for line in _scope(summary, i))
    table = (
        "<table><thead><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
        if body
        else f"<p>{escape(t['none'][i])}</p>"
    )
    return (
        f'<div class="fairness-summary"><h3>{escape(t["title"][i])}</h3>{paras}{table}'
        f"<p><em>{escape(t['note'][i])}</em></p></div>"
    )


# --------------------------------------------------------------------------------------------
# Writing the audit
# --------------------------------------------------------------------------------------------

_HEADERS: dict[str, str] = {
    "grouping": "分组 grouping",
    "grouping_zh": "分组名称",
    "grouping_en": "grouping (en)",
    "group": "组别 group",
    "group_zh": "组别名称",
    "group_en": "group (en)",
    "n": "样本数 n",
    "n_selected": "入选数 picked",
    "selection_rate": "入选率 selection rate",
    "precision_at_k": "入选案件化解率 precision@k",
    "calibration_p": "实际/预测化解 observed/predicted",
    "calibration_uplift": "增益实际−预测（试点） uplift observed−predicted (pilot)",
    "calibration_uplift_truth": "增益真值−预测 uplift true−predicted",
    "observed_rate": "实际化解率 observed rate",
    "predicted_rate": "预测化解率 predicted rate",
    "n_pilot": "试点案件数 pilot rows",
    "uplift_observed": "试点实际增益 pilot observed uplift",
    "uplift_predicted": "预测增益 predicted uplift",
    "worst_verdict": "最需注意的结论 worst verdict",
    "metric": "指标 metric",
    "metric_zh": "指标名称",
    "metric_en": "metric (en)",
    "value": "本组数值 value",
    "reference_group": "参照组 reference",
    "reference_zh": "参照组名称",
    "reference_en": "reference (en)",
    "reference_value": "参照组数值 reference value",
    "compare": "比较方式 compared as",
    "estimate": "比或差 ratio/difference",
    "ci_low": "区间下限 CI low",
    "ci_high": "区间上限 CI high",
    "outside_band": "超出范围 outside band",
    "verdict": "结论 verdict",
    "verdict_zh": "结论（中文）",
    "verdict_en": "verdict (en)",
    "in_list": "是否入选 in list",
    "resolved_rate": "180日化解率 resolved",
    "terminate_current_rate": "终本率 terminated for now (终本)",
    "open_rate": "仍未结率 still open",
    "new_petition_rate": "新增信访率 new petition",
    "reassigned_rate": "历史上被交叉率 reassigned anyway",
}


def _about(summary: dict) -> pd.DataFrame:
    lines = [*summary_text(summary, "zh").splitlines(), *summary_text(summary, "en").splitlines()]
    return pd.DataFrame({"说明 about": lines})


def write_audit(audit: FairnessAudit, path: str | os.PathLike[str]) -> Path:
    """Write an audit atomically as ``.xlsx`` (sheets), ``.html`` (report) or ``.json``.

    Parameters
    ----------
    audit : FairnessAudit
    path : path-like
        ``.xlsx``: 说明 (summary text), 差异 (disparities), 分组指标 (groups), 未入选案件结果
        (outcomes of picked and not-picked cases); ``.html``: the zh and en summaries and the
        tables; ``.json``: ``{"summary", "settings", "meta", "groups", "disparities",
        "unselected"}``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        For any other extension (nothing is written).
    """
    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix not in (".xlsx", ".html", ".json"):
        raise InputError(
            f"{dest.name}: cannot write a fairness audit as {suffix or 'no extension'}; "
            "use .xlsx, .html or .json"
        )
    summary = fairness_summary(audit)
    if suffix == ".xlsx":
        sheets = {
            "差异 disparities": audit.disparities,
            "分组指标 groups": audit.groups,
            "未入选案件结果 not picked": audit.unselected,
        }
        return write_table(
            _about(summary),
            dest,
            sheet_name="说明 about",
            labels=_HEADERS,
            extra_sheets=sheets,
        )
    if suffix == ".json":
        doc = {
            "summary": summary,
            "settings": asdict(audit.settings),
            "meta": audit.meta,
            "groups": audit.groups.to_dict(orient="records"),
            "disparities": audit.disparities.to_dict(orient="records"),
            "unselected": audit.unselected.to_dict(orient="records"),
        }
        text = json.dumps(_jsonable(doc), ensure_ascii=False, indent=1, allow_nan=False)
        with atomic_path(dest) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return dest
    tables = []
    for title, frame in (
        ("差异 Disparities", audit.disparities),
        ("分组指标 Groups", audit.groups),
        ("未入选案件的结果 Outcomes of picked and not-picked cases", audit.unselected),
    ):
        shown = frame.rename(columns=_HEADERS)
        tables.append(
            f"<h3>{escape(title)}</h3>"
            + shown.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="—")
        )
    html = (
        '<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8">'
        "<title>公平性审查 Fairness audit</title></head><body>"
        + summary_html(summary, "zh")
        + summary_html(summary, "en")
        + "".join(tables)
        + "</body></html>"
    )
    with atomic_path(dest) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return dest


def read_audit(path: str | os.PathLike[str]) -> dict:
    """Read the JSON an audit was written to (``crossexec fairness --out FILE.json``).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict
        The document (its ``summary`` is what reports and the model card show).

    Raises
    ------
    InputError
        When the file is missing, not JSON, or not a fairness audit.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--fairness {p}: no such file; write it with `crossexec fairness`")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"--fairness {p}: not a JSON file ({exc})") from None
    summary = doc.get("summary", doc) if isinstance(doc, dict) else None
    if not isinstance(summary, dict) or "n_flagged" not in summary:
        raise InputError(
            f"--fairness {p}: not a fairness audit; write it with "
            "`crossexec fairness --model MODEL_DIR --cases HISTORY --out FILE.json`"
        )
    return doc
