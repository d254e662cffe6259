"""The comprehensive check-up sheet (全面体检): one structured record per candidate case.

One sheet gathers what a leader needs to decide on a case: debts, assets found, measures
taken, handlers so far, petitions, the five hard-bone flags, the four probabilities, the
suggested rung, the reasons and the guidance, and the proposed new handler when a plan exists.
It renders as HTML for the notebooks and the picker, and flattens to one row for Excel.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import pandas as pd

from crossexec_ml.data import HARD_BONE_FLAGS, OUTPUT_LABELS, cases_contract

_SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "基本情况",
        "Case",
        (
            "case_id",
            "court_id",
            "team_id",
            "handler_id",
            "filing_date",
            "as_of_date",
            "case_subtype",
            "cause_category",
            "is_livelihood",
            "applicant_type",
            "applicant_vulnerable",
        ),
    ),
    (
        "债权债务",
        "Debts",
        (
            "amount_applied",
            "amount_outstanding",
            "amount_recovered_to_date",
            "n_applicants",
            "n_debtors",
            "debtor_type",
            "debtor_status",
            "debtor_whereabouts",
            "cross_jurisdiction",
            "n_related_cases",
            "n_queued_seizures",
            "special_entity",
        ),
    ),
    (
        "财产查控",
        "Assets found",
        (
            "days_since_last_asset_query",
            "deposit_balance",
            "has_real_estate",
            "real_estate_encumbered",
            "has_vehicle",
            "has_equity",
            "has_receivable",
            "has_income",
            "has_preservation",
            "asset_disposal_obstacle",
        ),
    ),
    (
        "已采取措施",
        "Measures taken",
        (
            "dishonest_listed",
            "consumption_restricted",
            "n_detentions",
            "criminal_referral",
            "settlement_defaulted",
            "objection_pending",
        ),
    ),
    (
        "承办与信访",
        "Handlers and petitions",
        (
            "n_handlers_so_far",
            "previous_handler_ids",
            "ladder_stage",
            "handler_caseload",
            "days_since_last_action",
            "petition_count",
            "interference_risk",
            "superior_supervised",
        ),
    ),
)

_SCORE_FIELDS: tuple[str, ...] = (
    "priority_rank",
    "p_keep",
    "p_intra_team",
    "p_inter_team",
    "p_higher_court",
    "suggested_rung",
    "p_cross",
    "uplift",
    "expected_gain",
    "floor_reason",
)
_RUNG_ZH = {
    "keep": "维持原承办",
    "intra_team": "团队内交叉执行",
    "inter_team": "团队间交叉执行",
    "higher_court": "提级/指令执行",
}
_PLAN_FIELDS = (
    ("target_handler_id", "拟接办承办人", "proposed handler"),
    ("target_team_id", "拟接办团队", "proposed team"),
    ("unplaced_reason", "未能安排原因", "why not placed"),
)


def _fmt(name: str, value: object, lang: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if name.startswith("p_") or name in ("uplift", "expected_gain"):
        return f"{float(value):.1%}"
    if name.startswith("amount") or name == "deposit_balance":
        return f"{float(value):,.0f}"
    if name == "suggested_rung" and lang == "zh":
        return _RUNG_ZH.get(str(value), str(value))
    return str(value)


@dataclass
class CheckupSheet:
    """One case's check-up sheet.

    Attributes
    ----------
    case_id : str
    sections : list of (title_zh, title_en, list of (name, label_zh, label_en, value))
    reasons_zh, reasons_en, guidance_zh, guidance_en : str
    """

    case_id: str
    sections: list[tuple[str, str, list[tuple[str, str, str, object]]]] = field(
        default_factory=list
    )
    reasons_zh: str = ""
    reasons_en: str = ""
    guidance_zh: str = ""
    guidance_en: str = ""

    def to_record(self) -> dict[str, object]:
        """Flat ``name -> value`` mapping: one Excel row."""
        rec: dict[str, object] = {}
        for _, _, items in self.sections:
            for name, _, _, value in items:
                rec[name] = value
        rec.update(
            reasons_zh=self.reasons_zh,
            reasons_en=self.reasons_en,
            guidance=self.guidance_zh,
            guidance_en=self.guidance_en,
        )
        return rec

    def to_html(self, lang: str = "zh") -> str:
        """Render as an HTML fragment (all values escaped)."""
        zh = lang == "zh"
        esc = html.escape
        title = "全面体检表" if zh else "Check-up sheet"
        parts = [
            '<div class="crossexec-checkup">',
            f"<h3>{esc(title)}: {esc(self.case_id)}</h3>",
        ]
        for t_zh, t_en, items in self.sections:
            parts.append(f"<h4>{esc(t_zh if zh else t_en)}</h4><table>")
            for name, l_zh, l_en, value in items:
                label = l_zh if zh else l_en
                parts.append(
                    f"<tr><th style='text-align:left'>{esc(label)}</th>"
                    f"<td>{esc(_fmt(name, value, lang))}</td></tr>"
                )
            parts.append("</table>")
        reasons = self.reasons_zh if zh else self.reasons_en
        guide = self.guidance_zh if zh else self.guidance_en
        parts.append(f"<h4>{'排序理由' if zh else 'Why it ranks here'}</h4>")
        parts.append(f"<p>{esc(reasons or '—')}</p>")
        parts.append(f"<h4>{'分类指引' if zh else 'Guidance'}</h4><p>{esc(guide or '—')}</p>")
        parts.append("</div>")
        return "\n".join(parts)


def checkup(
    case_id: str,
    cases: pd.DataFrame,
    scored: pd.DataFrame,
    plan: pd.DataFrame | None = None,
    *,
    model: object | None = None,
) -> CheckupSheet:
    """Build the check-up sheet of one case.

    Parameters
    ----------
    case_id : str
        The case number (案号).
    cases : pandas.DataFrame
        Contract-typed cases (the screening export).
    scored : pandas.DataFrame
        The scored, ranked list of the same screening.
    plan : pandas.DataFrame, optional
        The assignment plan (proposed handler, or why none).
    model : object, optional
        When the scored list has no reasons for this case (outside the explained top), the
        model explains it now.

    Returns
    -------
    CheckupSheet

    Raises
    ------
    KeyError
        When the case is not in ``cases`` or ``scored``.
    """
    c_rows = cases[cases["case_id"] == case_id]
    s_rows = scored[scored["case_id"] == case_id]
    if c_rows.empty or s_rows.empty:
        raise KeyError(f"case {case_id!r} is not in the screening (cases and scored list)")
    # The latest screening of the case if it appears on several as-of dates.
    c = c_rows.sort_values("as_of_date").iloc[-1]
    s = s_rows.sort_values("as_of_date").iloc[-1]
    contract = cases_contract().columns
    sheet = CheckupSheet(case_id=str(case_id))
    for t_zh, t_en, names in _SECTIONS:
        items = [(n, contract[n].label_zh, n.replace("_", " "), c.get(n)) for n in names]
        sheet.sections.append((t_zh, t_en, items))
    flags = [(f, zh, en, bool(s.get(f, False))) for f, (zh, en) in HARD_BONE_FLAGS.items()]
    sheet.sections.append(("五类骨头案", "Hard-bone categories", flags))
    scores = [
        (n, OUTPUT_LABELS.get(n, n), n.replace("_", " "), s.get(n))
        for n in _SCORE_FIELDS
        if n in s.index
    ]
    sheet.sections.append(("交叉执行评估", "Assessment", scores))
    if plan is not None and "case_id" in plan:
        p_rows = plan[plan["case_id"] == case_id]
        if not p_rows.empty:
            p = p_rows.iloc[0]
            items = [(n, zh, en, p.get(n)) for n, zh, en in _PLAN_FIELDS]
            sheet.sections.append(("拟接办安排", "Proposed assignment", items))
    reasons_zh, reasons_en = s.get("reasons_zh"), s.get("reasons_en")
    if (reasons_zh is None or reasons_zh is pd.NA) and model is not None:
        from crossexec_ml.decide._explain import explain_cases

        why = explain_cases(model, c_rows.sort_values("as_of_date").tail(1)).iloc[0]
        reasons_zh, reasons_en = why["reasons_zh"], why["reasons_en"]
    sheet.reasons_zh = "" if reasons_zh is None or reasons_zh is pd.NA else str(reasons_zh)
    sheet.reasons_en = "" if reasons_en is None or reasons_en is pd.NA else str(reasons_en)
    sheet.guidance_zh = str(s.get("guidance") or "")
    sheet.guidance_en = str(s.get("guidance_en") or "")
    return sheet


def checkup_table(
    case_ids: list[str],
    cases: pd.DataFrame,
    scored: pd.DataFrame,
    plan: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Check-up sheets of several cases as rows (for the Excel export)."""
    return pd.DataFrame([checkup(cid, cases, scored, plan).to_record() for cid in case_ids])
