"""The comprehensive check-up sheet (全面体检): one structured record per candidate case.

One sheet gathers what a leader needs to decide on a case: debts, assets found, measures
taken, handlers so far, petitions, the five hard-bone flags, the four probabilities, the
suggested rung, the reasons and the guidance, and the proposed new handler when a plan exists.
It flattens to one row for Excel; :func:`crossexec_ml.report.checkup_html` renders it for the
notebooks and the picker (the page lives in the report room, above this one). Every title and
label comes from the text catalogue (``checkup.*``, ``column.*``, ``flag.*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from crossexec_ml.data import HARD_BONE_FLAGS
from crossexec_ml.decide._policy import vulnerable
from crossexec_ml.settings import PrioritySettings
from crossexec_ml.text import t_pair

#: Sections of the sheet: catalogue slug (``checkup.section.<slug>``) and the case columns.
_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "case",
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
        "debts",
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
        "assets_found",
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
        "measures_taken",
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
        "handlers_petitions",
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
_PLAN_FIELDS: tuple[str, ...] = ("target_handler_id", "target_team_id", "unplaced_reason")


@dataclass(frozen=True)
class GainParts:
    """How a case's priority score is made, so that the numbers on the sheet add up.

    ``p_rung − p_keep = gain``; then ``gain`` (never below 0) is weighted by the amount at
    stake when the policy says so (``amount_factor``) and raised by ``boost`` for a livelihood
    case or a vulnerable applicant: ``score = max(gain, 0) × amount_factor × boost``.

    Attributes
    ----------
    rung : str
        The suggested rung (``keep`` when reassigning gains nothing).
    p_keep, p_rung : float
        Chance of resolution within 180 days if kept, and under the suggested rung.
    gain : float
        ``p_rung − p_keep`` (``uplift``).
    weighting : str
        The policy's gain weighting (``cases``, ``amount`` or ``blend``).
    amount : float or None
        The amount outstanding (yuan) the weighting used.
    amount_factor : float
        1 for ``cases``; the amount for ``amount``; ``sqrt(amount / 10,000)`` for ``blend``.
    vulnerable : bool
        Livelihood case or vulnerable applicant.
    boost : float
        The policy's vulnerability boost when ``vulnerable``, else 1.
    score : float
        The priority score the list is ordered by (``expected_gain``).
    """

    rung: str
    p_keep: float
    p_rung: float
    gain: float
    weighting: str
    amount: float | None
    amount_factor: float
    vulnerable: bool
    boost: float
    score: float


def _priority_settings(scored: pd.DataFrame) -> PrioritySettings:
    """The priority settings the list was made with (its policy record), else the defaults."""
    record = scored.attrs.get("scoring_policy") or {}
    given = ((record.get("policy") or {}).get("priority")) or {}
    defaults = PrioritySettings()
    return PrioritySettings(
        weighting=given.get("weighting", defaults.weighting),
        vulnerability_boost=float(given.get("vulnerability_boost", defaults.vulnerability_boost)),
    )


def _gain_parts(c: pd.Series, s: pd.Series, settings: PrioritySettings) -> GainParts | None:
    needed = ("p_keep", "p_cross", "uplift", "expected_gain", "suggested_rung")
    if any(n not in s.index or pd.isna(s[n]) for n in needed):
        return None
    amount = pd.to_numeric(pd.Series([c.get("amount_outstanding")]), errors="coerce").iloc[0]
    amount = None if pd.isna(amount) else max(float(amount), 0.0)
    factor = 1.0
    if settings.weighting == "amount":
        factor = amount or 0.0
    elif settings.weighting == "blend":
        factor = ((amount or 0.0) / 1e4) ** 0.5
    is_vulnerable = bool(vulnerable(c.to_frame().T)[0])
    return GainParts(
        rung=str(s["suggested_rung"]),
        p_keep=float(s["p_keep"]),
        p_rung=float(s["p_cross"]),
        gain=float(s["uplift"]),
        weighting=settings.weighting,
        amount=amount,
        amount_factor=factor,
        vulnerable=is_vulnerable,
        boost=settings.vulnerability_boost if is_vulnerable else 1.0,
        score=float(s["expected_gain"]),
    )


def _title(slug: str) -> tuple[str, str]:
    return t_pair(f"checkup.section.{slug}")


def _label(key: str) -> tuple[str, str]:
    return t_pair(key)


@dataclass
class CheckupSheet:
    """One case's check-up sheet.

    Attributes
    ----------
    case_id : str
    sections : list of (title_zh, title_en, list of (name, label_zh, label_en, value))
    reasons_zh, reasons_en, guidance_zh, guidance_en : str
    gain : GainParts or None
        How the priority score is made (None when the list has no scores for the case).
    open_slots : int or None
        Open slots of the proposed handler, when a plan and the handlers were given.
    """

    case_id: str
    sections: list[tuple[str, str, list[tuple[str, str, str, object]]]] = field(
        default_factory=list
    )
    reasons_zh: str = ""
    reasons_en: str = ""
    guidance_zh: str = ""
    guidance_en: str = ""
    gain: GainParts | None = None
    open_slots: int | None = None

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


def checkup(
    case_id: str,
    cases: pd.DataFrame,
    scored: pd.DataFrame,
    plan: pd.DataFrame | None = None,
    *,
    model: object | None = None,
    handlers: pd.DataFrame | None = None,
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
    handlers : pandas.DataFrame, optional
        The handlers file: the proposed handler's open slots go on the sheet.

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
    sheet = CheckupSheet(case_id=str(case_id))
    for slug, names in _SECTIONS:
        items = [(n, *_label(f"column.{n}"), c.get(n)) for n in names]
        sheet.sections.append((*_title(slug), items))
    flags = [(f, *_label(f"flag.{f}"), bool(s.get(f, False))) for f in HARD_BONE_FLAGS]
    sheet.sections.append((*_title("hard_bones"), flags))
    scores = [(n, *_label(f"column.{n}"), s.get(n)) for n in _SCORE_FIELDS if n in s.index]
    sheet.sections.append((*_title("assessment"), scores))
    if plan is not None and "case_id" in plan:
        p_rows = plan[plan["case_id"] == case_id]
        if not p_rows.empty:
            p = p_rows.iloc[0]
            items = [(n, *_label(f"checkup.plan.{n}"), p.get(n)) for n in _PLAN_FIELDS]
            if "escalation" in p.index and not pd.isna(p["escalation"]):
                # 报请提级/指令执行: a request to the higher court, with no handler of ours.
                items.append(("escalation", *_label("column.escalation"), bool(p["escalation"])))
            target = p.get("target_handler_id")
            if handlers is not None and isinstance(target, str) and target:
                match = handlers[handlers["handler_id"].astype(str) == target]
                if not match.empty and not pd.isna(match["open_slots"].iloc[0]):
                    sheet.open_slots = int(match["open_slots"].iloc[0])
                    items.append(("open_slots", *_label("column.open_slots"), sheet.open_slots))
            sheet.sections.append((*_title("proposed_assignment"), items))
    reasons_zh, reasons_en = s.get("reasons_zh"), s.get("reasons_en")
    if (reasons_zh is None or reasons_zh is pd.NA) and model is not None:
        from crossexec_ml.decide._explain import explain_cases

        why = explain_cases(model, c_rows.sort_values("as_of_date").tail(1)).iloc[0]
        reasons_zh, reasons_en = why["reasons_zh"], why["reasons_en"]
    sheet.reasons_zh = "" if reasons_zh is None or reasons_zh is pd.NA else str(reasons_zh)
    sheet.reasons_en = "" if reasons_en is None or reasons_en is pd.NA else str(reasons_en)
    sheet.guidance_zh = str(s.get("guidance") or "")
    sheet.guidance_en = str(s.get("guidance_en") or "")
    sheet.gain = _gain_parts(c, s, _priority_settings(scored))
    return sheet


def checkup_table(
    case_ids: list[str],
    cases: pd.DataFrame,
    scored: pd.DataFrame,
    plan: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Check-up sheets of several cases as rows (for the Excel export)."""
    return pd.DataFrame([checkup(cid, cases, scored, plan).to_record() for cid in case_ids])
