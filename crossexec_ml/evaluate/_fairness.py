"""Fairness audit of the top-k list on history: who is picked, how well, what happens to the rest.

By group (applicant, debtor, cause, livelihood, court, amount band), on out-of-sample
predictions of the rolling back-test, each metric against a reference group with a bootstrap
interval and a verdict. The metrics, the verdict rules and why the audit is hand-written:
``docs/design/fairness.md``.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.data import read_cases, read_truth
from crossexec_ml.errors import TrainingDataError
from crossexec_ml.evaluate._fairness_rows import (
    _MISSING,
    _MISSING_LABEL,
    _SPECS,
    _VALUE_LABELS,
    GROUPINGS,
    METRICS,
    VERDICTS,
    _align_truth,
    _band_labels,
    _pilot_flags,
    audit_rows,
    backtest_predictions,
)
from crossexec_ml.settings import (
    BacktestSettings,
    FairnessSettings,
    FlagSettings,
    LadderSettings,
    PrioritySettings,
    resolve_policy,
)


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
        from crossexec_ml.evaluate._fairness_summary import fairness_summary

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
        Returns a fresh unfitted model (default: :class:`crossexec_ml.model.CrossExecModel`
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
        from crossexec_ml.model import CrossExecModel

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
    :func:`crossexec_ml.jobs.evaluate_saved` does, the saved model's parameters are refitted
    on each window's earlier rows, with the card's back-test and ladder settings.

    Parameters
    ----------
    model_dir : path-like or None
        Folder written by ``crossexec train``. None or ``""``: the default
        :class:`~crossexec_ml.model.CrossExecModel` settings, back-test and ladder settings
        (no saved model needed; what a first audit of a new history uses).
    history_path : path-like
        Historical export with outcomes.
    truth_path : path-like, optional
        Synthetic ``truth.csv`` (pilot rows, true gains), read by
        :func:`crossexec_ml.data.read_truth`: it must match some of the history's back-tested
        rows (``ValidationError`` / ``InputError`` otherwise).
    settings : FairnessSettings, optional
    progress : callable, optional

    Returns
    -------
    FairnessAudit
    """
    from sklearn.base import clone

    from crossexec_ml.model import load_model

    if model_dir:
        model, card = load_model(model_dir)
    else:
        from crossexec_ml.model import CrossExecModel

        seed = (settings or FairnessSettings()).seed
        model, card = CrossExecModel(random_state=seed), {"model_id": None}
    history = read_cases(history_path)
    # Validated like every input (file, row, column); one that matches none of the history's
    # back-tested rows is refused here rather than joined into columns of missing values.
    truth = read_truth(truth_path, cases=history, cover="some") if truth_path else None
    bt = BacktestSettings(**card.get("backtest_settings", {"seed": model.random_state}))
    policy, _ = resolve_policy(card)
    try:
        return audit_history(
            history,
            lambda: clone(model),
            settings,
            truth=truth,
            backtest_settings=bt,
            ladder=policy.ladder,
            priority=policy.priority,
            flags=getattr(model, "flag_settings", None),
            meta={
                "model_id": card.get("model_id") or "default settings (no saved model)",
                "history_file": Path(history_path).name,
            },
            progress=progress,
        )
    except TrainingDataError as err:
        raise TrainingDataError(f"{Path(history_path).name}: {err}") from None
