"""The fairness audit as a leader reads it: a summary, its text and page, and its JSON file."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.data import atomic_path, write_table
from crossexec_ml.errors import InputError
from crossexec_ml.evaluate._fairness import FairnessAudit
from crossexec_ml.evaluate._fairness_rows import VERDICTS


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


def summary_table(summary: dict, lang: str = "zh") -> dict:
    """:func:`fairness_summary` as the parts of a page: title, scope, table, note (no HTML).

    :func:`crossexec_ml.report.fairness_html` renders these parts; the report room, above this
    one, owns the page.

    Parameters
    ----------
    summary : dict
        From :func:`fairness_summary` (or the whole JSON document :func:`write_audit` wrote).
    lang : {"zh", "en"}

    Returns
    -------
    dict
        ``title`` (str), ``scope`` (list of sentences: scope, rule, uplift check), ``header``
        (column names), ``rows`` (one list of cells per flagged, then watched, comparison, each
        cell a str), ``none`` (the sentence shown when there are no rows) and ``note``.
    """
    i = _lang(lang)
    summary = _as_summary(summary)
    t = _TEXTS
    head = [t[k][i] for k in ("grouping", "group", "metric", "n", "estimate", "ci", "reference")]
    head.append(t["verdict"][i])
    rows = []
    for key in ("flagged", "watch"):
        verdict = VERDICTS["flag" if key == "flagged" else "watch"][i]
        for f in summary[key]:
            rows.append(
                [
                    str(f["grouping_zh"] if i == 0 else f["grouping_en"]),
                    str(f["group_zh"] if i == 0 else f["group_en"]),
                    str(f["metric_zh"] if i == 0 else f["metric_en"]),
                    _fmt_n(f["n"]),
                    _fmt(f["estimate"], f["compare"]),
                    f"[{_fmt(f['ci_low'], f['compare'])}, {_fmt(f['ci_high'], f['compare'])}]",
                    str(f["reference_zh"] if i == 0 else f["reference_en"]),
                    verdict,
                ]
            )
    return {
        "title": t["title"][i],
        "scope": _scope(summary, i),
        "header": head,
        "rows": rows,
        "none": t["none"][i],
        "note": t["note"][i],
    }


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
    """Write an audit atomically as ``.xlsx`` (sheets) or ``.json``.

    The ``.html`` page is rendered by the report room:
    :func:`crossexec_ml.report.write_fairness_report` (which also takes these two).

    Parameters
    ----------
    audit : FairnessAudit
    path : path-like
        ``.xlsx``: 说明 (summary text), 差异 (disparities), 分组指标 (groups), 未入选案件结果
        (outcomes of picked and not-picked cases); ``.json``: ``{"summary", "settings", "meta",
        "groups", "disparities", "unselected"}``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        For any other extension, ``.html`` included (nothing is written).
    """
    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix == ".html":
        raise InputError(
            f"{dest.name}: the HTML page of an audit is written by "
            "crossexec_ml.report.write_fairness_report (the report room renders pages)"
        )
    if suffix not in (".xlsx", ".json"):
        raise InputError(
            f"{dest.name}: cannot write a fairness audit as {suffix or 'no extension'}; "
            "use .xlsx or .json"
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
