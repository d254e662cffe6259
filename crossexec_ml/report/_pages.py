"""Pages a leader reads, from templates: the check-up sheet and the fairness audit.

The data of these pages is computed below (``decide.checkup``, ``evaluate.fairness_summary``);
this module only says how each value reads (catalogue words, 万元, 个百分点, 是/否) and hands it
to an autoescaped template (:mod:`crossexec_ml.report._html`).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossexec_ml.data import atomic_path
from crossexec_ml.decide import CheckupSheet, GainParts
from crossexec_ml.errors import InputError
from crossexec_ml.evaluate import FairnessAudit, fairness_summary, summary_table, write_audit
from crossexec_ml.report._html import render
from crossexec_ml.settings import RUNGS
from crossexec_ml.text import (
    catalogue,
    category_values,
    fmt_percent,
    fmt_points,
    fmt_wan_yuan,
    t,
    value_label,
)

#: Check-up fields shown as gains (个百分点), as amounts (万元) and as days (天).
_GAIN_FIELDS = frozenset({"uplift", "expected_gain", "best_gain"})
_AMOUNT_FIELDS = frozenset({"deposit_balance"})
_DAY_FIELDS = frozenset({"days_since_last_action", "days_since_last_asset_query"})
#: Fields that are empty when there is nothing to say (no earlier handler, not lifted by a
#: floor, placed): no row then. Any other missing field reads 缺失, which is worth saying.
_OPTIONAL_FIELDS = frozenset(
    {
        "previous_handler_ids",
        "floor_reason",
        "unplaced_reason",
        "target_handler_id",
        "target_team_id",
    }
)


def _percent1(p: float, lang: str) -> str:
    """A probability as a percent with one decimal (73.8%)."""
    return t("fmt.percent", lang, value=f"{round(p * 100, 1) + 0.0:.1f}")


def _percent2(p: float, lang: str) -> str:
    """A probability as a percent with two decimals (73.84%), so that the worked gain adds up
    and still rounds to the one-decimal gain the sheet's table shows."""
    return t("fmt.percent", lang, value=f"{round(p * 100, 2) + 0.0:.2f}")


def _missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def checkup_value(name: str, value: object, lang: str = "zh") -> str:
    """How one field of the check-up sheet reads: catalogue words and leaders' units.

    Parameters
    ----------
    name : str
        The field (a contract column, a score column, a hard-bone flag or a plan column).
    value : object
    lang : {"zh", "en"}

    Returns
    -------
    str
        是/否 for booleans (Python or NumPy), 缺失 for a missing value, the rung's full name,
        probabilities as whole percents, gains in 个百分点, amounts in 万元, category codes under
        their catalogue names; anything else as text.

    Examples
    --------
    >>> checkup_value("applicant_type", "natural_person")
    '自然人'
    >>> checkup_value("has_vehicle", np.True_)
    '是'
    """
    if isinstance(value, bool | np.bool_) or _missing(value):
        return _plain(value, lang)
    if name == "suggested_rung" and str(value) in RUNGS:
        return t(f"rung.{value}.full", lang)
    if name.startswith("p_"):
        return fmt_percent(float(value), lang)
    if name in _GAIN_FIELDS:
        return fmt_points(float(value), lang)
    if name.startswith("amount") or name in _AMOUNT_FIELDS:
        return fmt_wan_yuan(float(value), lang)
    if name in _DAY_FIELDS:
        return f"{int(value)} {t('unit.days', lang)}"
    if name == "floor_reason":
        for floor in ("livelihood", "long_unresolved"):
            if t(f"priority.floor.{floor}", "zh") in str(value):
                return t(f"priority.floor.{floor}", lang)
    if name in category_values() and str(value) in category_values()[name]:
        return value_label(name, value, lang)
    return _plain(value, lang)


def _plain(value: object, lang: str) -> str:
    """Booleans 是/否, missing 缺失, dates as dates, whole numbers without ``.0``."""
    if isinstance(value, bool | np.bool_):
        return t("bool.true" if value else "bool.false", lang)
    if _missing(value):
        return t("missing", lang)
    if isinstance(value, pd.Timestamp | dt.date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return f"{int(value)}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.3f}"
    return str(value)


def _number(x: float) -> str:
    """A factor as written in the sum: 1.25, 3 (no trailing zeros)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _score_text(parts: GainParts, lang: str) -> str:
    """The priority score in its unit: 个百分点 when weighted by cases, 万元 by amount."""
    if parts.weighting == "amount":
        return fmt_wan_yuan(parts.score, lang)
    if parts.weighting == "blend":
        return _number(parts.score * 100)
    return fmt_points(parts.score, lang)


def gain_lines(parts: GainParts | None, lang: str = "zh") -> list[str]:
    """The priority score as a sum that adds up, one line per step.

    Parameters
    ----------
    parts : GainParts or None
        :attr:`crossexec_ml.decide.CheckupSheet.gain`.
    lang : {"zh", "en"}

    Returns
    -------
    list of str
        ``P(rung) − P(keep) = gain``, then the amount weighting when the policy uses one, the
        vulnerability boost (or why there is none), and ``= priority score``. The gain is the
        difference of the two percents as shown (two decimals), so the line adds up as read
        and rounds to the one-decimal gain of the sheet's table (61.32% − 37.56% = 23.76,
        shown 23.8 there; 23.76 × 1.25 = 29.7).
        Empty when the list has no scores for the case.
    """
    if parts is None:
        return []
    p_rung, p_keep = round(parts.p_rung * 100, 2), round(parts.p_keep * 100, 2)
    gain = t("fmt.points", lang, value=f"{round(p_rung - p_keep, 2) + 0.0:.2f}")
    if parts.rung == "keep" or parts.gain <= 0:
        return [t("checkup.gain.keep", lang, gain=gain)]
    lines = [
        t(
            "checkup.gain.difference",
            lang,
            rung=t(f"rung.{parts.rung}.full", lang),
            p_rung=_percent2(parts.p_rung, lang),
            p_keep=_percent2(parts.p_keep, lang),
            gain=gain,
        )
    ]
    amount = fmt_wan_yuan(parts.amount, lang)
    if parts.weighting == "amount":
        lines.append(t("checkup.gain.amount", lang, amount=amount))
    elif parts.weighting == "blend":
        factor = _number(parts.amount_factor)
        lines.append(t("checkup.gain.blend", lang, factor=factor, amount=amount))
    if parts.vulnerable and parts.boost != 1:
        lines.append(t("checkup.gain.boost", lang, boost=_number(parts.boost)))
    else:
        lines.append(t("checkup.gain.no_boost", lang))
    lines.append(t("checkup.gain.score", lang, score=_score_text(parts, lang)))
    return lines


def checkup_html(sheet: CheckupSheet, lang: str = "zh", *, print_button: bool = False) -> str:
    """The check-up sheet (全面体检表) as an HTML fragment, every value escaped.

    Sections side by side (two or three columns on a screen, two on paper), every value in
    ``lang`` (是/否, category names, 万元, 天, percents), no row for an optional field with
    nothing to say (no earlier handler, no floor, placed), the priority
    score worked out so that its numbers add up (:func:`gain_lines`), the reasons, the guidance
    and the proposed handler with the open slots when known. Printed, each sheet takes a page
    of its own (``break-after: page``), so several sheets print one page per case.

    Parameters
    ----------
    sheet : CheckupSheet
        From :func:`crossexec_ml.decide.checkup`.
    lang : {"zh", "en"}
    print_button : bool
        Add a button that prints the page (for a page of its own, not inside a notebook).

    Returns
    -------
    str
        A ``div.crossexec-checkup`` fragment for ``IPython.display.HTML`` or ``ipywidgets.HTML``.
    """
    t("checkup.title", lang)  # a bad lang fails here, with the catalogue's message
    zh = lang == "zh"
    sections = []
    for title_zh, title_en, items in sheet.sections:
        rows = [
            (label_zh if zh else label_en, checkup_value(name, value, lang))
            for name, label_zh, label_en, value in items
            if not (name in _OPTIONAL_FIELDS and (_missing(value) or str(value).strip() == ""))
        ]
        if rows:
            sections.append({"title": title_zh if zh else title_en, "rows": rows})
    return render(
        "checkup.html.j2",
        lang=lang,
        case_id=sheet.case_id,
        sections=sections,
        gain=gain_lines(sheet.gain, lang),
        reasons=[
            r
            for r in ((sheet.reasons_zh if zh else sheet.reasons_en) or "").split(
                "；" if zh else "; "
            )
            if r.strip()
        ],
        guidance=(sheet.guidance_zh if zh else sheet.guidance_en) or "—",
        print_button=print_button,
    )


def fairness_html(summary: Mapping[str, Any], lang: str = "zh") -> str:
    """The fairness audit's summary as an HTML fragment: scope, rule, flagged and watched.

    Parameters
    ----------
    summary : mapping
        From :func:`crossexec_ml.evaluate.fairness_summary`, or the whole JSON document
        ``crossexec fairness --out FILE.json`` wrote.
    lang : {"zh", "en"}

    Returns
    -------
    str
        A ``div.fairness-summary`` fragment with every value escaped.
    """
    return render("fairness_summary.html.j2", summary=summary_table(dict(summary), lang))


def _both(key: str) -> str:
    return f"{t(key, 'zh')} {t(key, 'en')}"


#: Audit columns that are shares (shown as percents) and gains (shown in 个百分点).
_AUDIT_RATES = ("_rate", "precision_at_k")
_AUDIT_GAINS = ("uplift_observed", "uplift_predicted", "calibration_uplift")


def _audit_cell(column: str, value: object) -> str:
    if column == "in_list" and f"fairness.in_list.{value}" in catalogue():
        return _both(f"fairness.in_list.{value}")
    if isinstance(value, bool | np.bool_):
        return _both("bool.true" if value else "bool.false")
    if _missing(value):
        return "—"
    if isinstance(value, numbers.Real) and column.endswith(_AUDIT_RATES):
        return _percent1(float(value), "zh")
    if isinstance(value, numbers.Real) and column.startswith(_AUDIT_GAINS):
        return fmt_points(float(value), "zh")
    if isinstance(value, float | np.floating) and not float(value).is_integer():
        return f"{float(value):.3f}"
    return _plain(value, "zh")


def _audit_table(frame: pd.DataFrame) -> dict[str, list]:
    keys = catalogue()
    header = [
        _both(f"fairness.header.{c}") if f"fairness.header.{c}" in keys else str(c)
        for c in frame.columns
    ]
    rows = [
        [_audit_cell(c, v) for c, v in zip(frame.columns, row, strict=True)]
        for row in frame.itertuples(index=False, name=None)
    ]
    return {"header": header, "rows": rows}


def write_fairness_report(audit: FairnessAudit, path: str | os.PathLike[str]) -> Path:
    """Write an audit atomically: ``.html`` (the bilingual page) here, ``.xlsx``/``.json`` below.

    Parameters
    ----------
    audit : FairnessAudit
    path : path-like
        ``.html``: the zh and en summaries and the disparities, groups and outcome tables;
        ``.xlsx`` and ``.json`` are written by :func:`crossexec_ml.evaluate.write_audit`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        For any other extension (nothing is written).
    """
    dest = Path(path)
    if dest.suffix.lower() != ".html":
        if dest.suffix.lower() not in (".xlsx", ".json"):
            raise InputError(
                f"{dest.name}: cannot write a fairness audit as "
                f"{dest.suffix.lower() or 'no extension'}; use .xlsx, .html or .json"
            )
        return write_audit(audit, dest)
    summary = fairness_summary(audit)
    tables = [
        {"title": "差异 Disparities", **_audit_table(audit.disparities)},
        {"title": "分组指标 Groups", **_audit_table(audit.groups)},
        {
            "title": "未入选案件的结果 Outcomes of picked and not-picked cases",
            **_audit_table(audit.unselected),
        },
    ]
    page = render(
        "fairness_page.html.j2",
        summaries=[summary_table(summary, "zh"), summary_table(summary, "en")],
        tables=tables,
    )
    with atomic_path(dest) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return dest


def table_html(frame: pd.DataFrame, lang: str = "zh", css_class: str = "") -> str:
    """Any table as escaped HTML: the way notebooks show a frame to leaders (no ``Styler``).

    Parameters
    ----------
    frame : pandas.DataFrame
        Shown with its column names as headers, without the index.
    lang : {"zh", "en"}
        Language of 是/否 and 缺失 for boolean and missing cells.
    css_class : str
        The table's ``class`` attribute (none when empty).

    Returns
    -------
    str
        The fragment of template ``table.html.j2``; whole numbers without ``.0``, other
        floats with three decimals, dates as dates.
    """
    t("missing", lang)  # checks lang
    rows = [[_plain(v, lang) for v in row] for row in frame.itertuples(index=False, name=None)]
    return render(
        "table.html.j2", header=[str(c) for c in frame.columns], rows=rows, class_=css_class
    )
