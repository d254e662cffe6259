"""Drawing the synthetic court: its organisation, its handlers and each case's observed facts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossexec_ml.data._contract import handlers_contract
from crossexec_ml.data._synthetic_truth import (
    _DISPOSAL,
    _HIDDEN,
    _LOCAL,
    _MULTI,
    _NO,
    _SPECIAL,
    STALL_CAUSE_SHARES,
    STALL_CAUSES,
    _by_cause,
    _codes,
    _column,
)

# Historical screening dates: month ends 2024-01-31 .. 2026-04-30, so every 180-day outcome is
# observed by 2026-10-27; the current cohort is screened on 2026-10-31 [brief].
_HISTORY_FIRST_MONTH = "2024-01"


_HISTORY_LAST_MONTH = "2026-04"


_CURRENT_AS_OF = np.datetime64("2026-10-31", "D")


# Courts: code and the court-number part of a case number (Changsha district courts) [invented].
_COURTS: tuple[tuple[str, str], ...] = (("C01", "湘0102"), ("C02", "湘0103"), ("C03", "湘0104"))


# Amounts: median amount applied per cause of action (yuan), a multiplier per stall cause, and the
# lognormal spread [invented; medians tuned so treated cases recover 100-150k yuan on average].
_AMOUNT_MEDIAN_BY_CATEGORY: tuple[float, ...] = (
    145e3,  # private_lending
    335e3,  # financial_loan
    47e3,  # credit_card
    190e3,  # sales_contract
    470e3,  # construction
    52e3,  # labor_remuneration
    125e3,  # traffic_injury
    85e3,  # lease
    10e3,  # property_service
    42e3,  # family_support
    295e3,  # guarantee_recourse
    0.0,  # non_monetary
    68e3,  # criminal_property
    105e3,  # other
)


_AMOUNT_CAUSE_MULTIPLIER: tuple[float, ...] = (0.8, 1.0, 1.3, 1.8, 2.2, 2.5, 2.0)


_AMOUNT_SIGMA = 1.25


# Cap at 10m yuan: a few giant debts would otherwise swing the mean recovered per case [invented].
_AMOUNT_MAX = 1e7


def _draw_by_group(rng: np.random.Generator, table: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Draw one category code per row from the row's group's probability vector.

    One uniform per row, then a per-group inverse CDF: memory stays O(n) even for 1M rows.
    """
    table = np.asarray(table, dtype=float)
    cum = np.cumsum(table, axis=1)
    cum /= cum[:, -1:]
    u = rng.random(group.size)
    out = np.zeros(group.size, dtype=np.int64)
    for g in range(table.shape[0]):
        m = group == g
        if m.any():
            out[m] = np.searchsorted(cum[g], u[m], side="right")
    return np.minimum(out, table.shape[1] - 1)


@dataclass
class _Org:
    """Handler table as arrays, sorted by court then team, for vectorised picks."""

    handler_code: np.ndarray  # str per handler
    handler_team: np.ndarray  # team index per handler
    is_leader: np.ndarray
    open_slots: np.ndarray
    base_load: np.ndarray  # typical open caseload per handler
    team_code: np.ndarray  # str per team
    team_court: np.ndarray  # court index per team
    team_start: np.ndarray  # first handler index per team
    team_size: np.ndarray
    team_leader: np.ndarray  # handler index of the team's leader
    court_team_start: np.ndarray  # first team index per court
    court_n_teams: np.ndarray


def _make_org(rng: np.random.Generator) -> _Org:
    n_courts = len(_COURTS)
    # 3-5 teams a court, 4-8 handlers a team [brief].
    court_n_teams = rng.integers(3, 6, size=n_courts)
    n_teams = int(court_n_teams.sum())
    court_team_start = np.concatenate([[0], np.cumsum(court_n_teams)[:-1]])
    team_court = np.repeat(np.arange(n_courts), court_n_teams)
    team_size = rng.integers(4, 9, size=n_teams)
    team_start = np.concatenate([[0], np.cumsum(team_size)[:-1]])
    n_handlers = int(team_size.sum())
    handler_team = np.repeat(np.arange(n_teams), team_size)
    # Pseudonymised codes drawn without replacement so they carry no order or identity.
    numbers = rng.choice(np.arange(1, 10000), size=n_handlers, replace=False)
    handler_code = np.array([f"H{k:04d}" for k in numbers], dtype=object)
    team_leader = team_start + rng.integers(0, team_size)
    is_leader = np.zeros(n_handlers, dtype=bool)
    is_leader[team_leader] = True
    # Free slots 0-6; leaders take fewer but harder cases [invented].
    open_slots = np.where(is_leader, rng.integers(0, 3, n_handlers), rng.integers(0, 7, n_handlers))
    base_load = rng.uniform(120, 320, n_handlers)
    team_in_court = np.arange(n_teams) - court_team_start[team_court]
    team_code = np.array(
        [f"{_COURTS[c][0]}-T{k + 1}" for c, k in zip(team_court, team_in_court, strict=True)],
        dtype=object,
    )
    return _Org(
        handler_code=handler_code,
        handler_team=handler_team,
        is_leader=is_leader,
        open_slots=open_slots,
        base_load=base_load,
        team_code=team_code,
        team_court=team_court,
        team_start=team_start,
        team_size=team_size,
        team_leader=team_leader,
        court_team_start=court_team_start,
        court_n_teams=court_n_teams,
    )


def _handlers_frame(org: _Org) -> pd.DataFrame:
    court_code = np.array([c for c, _ in _COURTS], dtype=object)
    team = org.handler_team
    cols = {
        "handler_id": _column("handler_id", org.handler_code, kind="handlers"),
        "team_id": _column("team_id", org.team_code[team], kind="handlers"),
        "court_id": _column("court_id", court_code[org.team_court[team]], kind="handlers"),
        "open_slots": _column("open_slots", org.open_slots, kind="handlers"),
        "is_leader": _column("is_leader", org.is_leader, kind="handlers"),
    }
    return pd.DataFrame(cols, columns=handlers_contract().names)


def _other_offsets(rng: np.random.Generator, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct offsets in 1..size-1 per row (size >= 3): positions other than the current."""
    o1 = 1 + rng.integers(0, size - 1)
    o2 = 1 + (o1 + rng.integers(0, size - 2)) % (size - 1)
    return o1, o2


def _month_ends(first: str, last: str) -> np.ndarray:
    months = np.arange(np.datetime64(first, "M"), np.datetime64(last, "M") + 1)
    return (months + 1).astype("datetime64[D]") - 1


def _draw_features(
    rng: np.random.Generator, as_of: np.ndarray, org: _Org, signal_shift: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """Draw the latent cause and every id/time/feature column for rows screened on ``as_of``.

    Returns the column arrays (category columns as contract codes), their missing masks, the
    stall-cause index per row and helper arrays the treatment and outcome draws need. With a
    ``signal_shift`` (a structural variant), the columns show the signature of another cause
    than the true one returned: every cause but ``no_assets`` moves that many places along.
    """
    n = as_of.size
    f: dict[str, np.ndarray] = {}
    miss: dict[str, np.ndarray] = {}
    true_cause = rng.choice(len(STALL_CAUSES), size=n, p=np.asarray(STALL_CAUSE_SHARES))
    cause = true_cause
    if signal_shift:
        others = len(STALL_CAUSES) - 1
        cause = np.where(true_cause == 0, 0, 1 + (true_cause - 1 + signal_shift) % others)
    is_ = {k: cause == i for i, k in enumerate(STALL_CAUSES)}

    # --- cause of action, livelihood, amounts -------------------------------------------------
    cc = _codes("cause_category")
    base_cat = np.array(
        [0.22, 0.12, 0.10, 0.14, 0.07, 0.06, 0.04, 0.05, 0.04, 0.02, 0.03, 0.03, 0.02, 0.06]
    )  # [invented] shares of the 14 contract categories among stalled cases
    tilt = np.ones((len(STALL_CAUSES), base_cat.size))

    def _tilt(cause_i: int, **mult: float) -> None:
        for k, v in mult.items():
            tilt[cause_i, cc[k]] = v

    # Cause -> cause-of-action tilts [invented]: card and small loans dominate no-asset cases,
    # construction and sales dominate multi-party, interference and special-entity cases.
    _tilt(_NO, credit_card=2.0, private_lending=1.3, traffic_injury=1.3, property_service=1.3)
    _tilt(_NO, construction=0.6, financial_loan=0.8, non_monetary=0.0)
    _tilt(_HIDDEN, private_lending=1.5, sales_contract=1.3, credit_card=0.7)
    _tilt(_DISPOSAL, financial_loan=2.5, private_lending=1.2, guarantee_recourse=2.0)
    _tilt(_DISPOSAL, credit_card=0.2, labor_remuneration=0.3, traffic_injury=0.3)
    _tilt(_DISPOSAL, family_support=0.3, property_service=0.3, non_monetary=2.0)
    _tilt(_MULTI, construction=3.5, sales_contract=1.5, labor_remuneration=2.0)
    _tilt(_MULTI, guarantee_recourse=2.0, credit_card=0.2, family_support=0.1)
    _tilt(_LOCAL, construction=3.0, sales_contract=1.5, labor_remuneration=1.5, lease=1.5)
    _tilt(_LOCAL, credit_card=0.1, family_support=0.1, non_monetary=2.0)
    _tilt(_SPECIAL, construction=3.0, sales_contract=2.0, lease=2.0, other=2.0)
    _tilt(_SPECIAL, credit_card=0.0, family_support=0.0, traffic_injury=0.3, private_lending=0.3)
    cat = _draw_by_group(rng, base_cat * tilt, cause)
    f["cause_category"] = cat
    livelihood_cat = np.isin(
        cat, [cc["labor_remuneration"], cc["traffic_injury"], cc["family_support"]]
    )
    # Livelihood follows the cause of action with a little noise either way [invented].
    f["is_livelihood"] = np.where(livelihood_cat, rng.random(n) < 0.92, rng.random(n) < 0.03)
    non_monetary = cat == cc["non_monetary"]

    median = np.asarray(_AMOUNT_MEDIAN_BY_CATEGORY)[cat] * _by_cause(
        _AMOUNT_CAUSE_MULTIPLIER, cause
    )
    applied = np.minimum(median * np.exp(_AMOUNT_SIGMA * rng.standard_normal(n)), _AMOUNT_MAX)
    applied = np.where(non_monetary, 0.0, np.maximum(applied, 500.0))
    # About 30% of stalled cases already got part of the money [invented].
    paid_share = np.where(rng.random(n) < 0.3, rng.uniform(0.02, 0.6, n), 0.0)
    f["amount_applied"] = np.round(applied, 2)
    f["amount_recovered_to_date"] = np.round(applied * paid_share, 2)
    f["amount_outstanding"] = np.round(f["amount_applied"] - f["amount_recovered_to_date"], 2)
    miss["amount_applied"] = rng.random(n) < 0.02  # [invented] gaps for downstream robustness

    # --- parties --------------------------------------------------------------------------------
    labor = cat == cc["labor_remuneration"]
    batch = labor & (rng.random(n) < 0.6)
    f["n_applicants"] = np.where(
        batch, 1 + rng.geometric(1 / 12, n), 1 + (rng.random(n) < 0.08) * rng.integers(1, 4, n)
    )
    at = _codes("applicant_type")
    at_table = np.zeros((len(cc), len(at)))
    # Applicant type per cause of action: natural_person|financial_institution|company|public_body
    for name, probs in {
        "private_lending": (0.85, 0.02, 0.13, 0.0),
        "financial_loan": (0.0, 0.95, 0.05, 0.0),
        "credit_card": (0.0, 0.98, 0.02, 0.0),
        "sales_contract": (0.15, 0.0, 0.85, 0.0),
        "construction": (0.2, 0.0, 0.78, 0.02),
        "labor_remuneration": (0.97, 0.0, 0.0, 0.03),
        "traffic_injury": (0.98, 0.0, 0.02, 0.0),
        "lease": (0.4, 0.0, 0.55, 0.05),
        "property_service": (0.05, 0.0, 0.95, 0.0),
        "family_support": (1.0, 0.0, 0.0, 0.0),
        "guarantee_recourse": (0.1, 0.4, 0.5, 0.0),
        "non_monetary": (0.5, 0.0, 0.4, 0.1),
        "criminal_property": (0.1, 0.0, 0.0, 0.9),
        "other": (0.5, 0.05, 0.4, 0.05),
    }.items():
        at_table[cc[name]] = probs
    f["applicant_type"] = _draw_by_group(rng, at_table, cat)
    miss["applicant_type"] = rng.random(n) < 0.04  # [invented]
    f["applicant_vulnerable"] = rng.random(n) < np.where(f["is_livelihood"], 0.45, 0.04)

    dt = _codes("debtor_type")
    # natural_person|individual_business|private_company|state_owned|public_body|other_org
    dt_table = np.array(
        [
            (0.62, 0.12, 0.25, 0.0, 0.0, 0.01),
            (0.55, 0.10, 0.32, 0.01, 0.0, 0.02),
            (0.55, 0.15, 0.29, 0.0, 0.0, 0.01),
            (0.55, 0.08, 0.35, 0.01, 0.0, 0.01),
            (0.15, 0.10, 0.70, 0.03, 0.0, 0.02),
            (0.05, 0.05, 0.70, 0.18, 0.0, 0.02),
            (0.0, 0.0, 0.0, 0.5, 0.3, 0.2),
        ]
    )  # [invented]; local_interference: large local or state-linked company
    debtor_type = _draw_by_group(rng, dt_table, cause)
    not_special = ~is_["special_entity_block"]
    person_cat = np.isin(cat, [cc["credit_card"], cc["family_support"]]) | (
        (cat == cc["traffic_injury"]) & (rng.random(n) < 0.7)
    )
    debtor_type = np.where(person_cat & not_special, dt["natural_person"], debtor_type)
    employer = labor & (debtor_type == dt["natural_person"]) & (rng.random(n) < 0.8)
    debtor_type = np.where(
        employer,
        np.where(rng.random(n) < 0.6, dt["private_company"], dt["individual_business"]),
        debtor_type,
    )
    f["debtor_type"] = debtor_type
    person = debtor_type == dt["natural_person"]
    organisation = ~person & (debtor_type != dt["individual_business"])
    f["special_entity"] = is_["special_entity_block"] | np.isin(
        debtor_type, [dt["state_owned"], dt["public_body"]]
    )
    n_debtors_extra = np.where(
        is_["multi_party"], 1.5, np.where(cat == cc["guarantee_recourse"], 1.0, 0.3)
    )
    f["n_debtors"] = 1 + rng.poisson(n_debtors_extra)

    st = _codes("debtor_status")
    # active|dormant|deregistered|bankruptcy|deceased|imprisoned [invented]
    st_table = np.array(
        [
            (0.45, 0.25, 0.14, 0.04, 0.06, 0.06),
            (0.88, 0.08, 0.01, 0.01, 0.01, 0.01),
            (0.78, 0.17, 0.02, 0.01, 0.0, 0.02),
            (0.80, 0.12, 0.03, 0.03, 0.01, 0.01),
            (0.70, 0.15, 0.03, 0.10, 0.01, 0.01),
            (0.85, 0.10, 0.02, 0.02, 0.0, 0.01),
            (0.92, 0.05, 0.02, 0.01, 0.0, 0.0),
        ]
    )
    status = _draw_by_group(rng, st_table, cause)
    # People are not deregistered or declared bankrupt; companies do not die or go to prison.
    status = np.where(person & (status == st["deregistered"]), st["deceased"], status)
    status = np.where(person & (status == st["bankruptcy"]), st["dormant"], status)
    status = np.where(organisation & (status == st["deceased"]), st["deregistered"], status)
    status = np.where(organisation & (status == st["imprisoned"]), st["dormant"], status)
    f["debtor_status"] = status

    wh = _codes("debtor_whereabouts")
    # contactable|intermittent|unreachable|abroad [invented]
    wh_table = np.array(
        [
            (0.25, 0.27, 0.44, 0.04),
            (0.68, 0.22, 0.09, 0.01),
            (0.25, 0.40, 0.30, 0.05),
            (0.60, 0.28, 0.11, 0.01),
            (0.45, 0.35, 0.18, 0.02),
            (0.75, 0.20, 0.05, 0.0),
            (0.90, 0.10, 0.0, 0.0),
        ]
    )
    where = _draw_by_group(rng, wh_table, cause)
    f["debtor_whereabouts"] = np.where(status == st["deceased"], wh["unreachable"], where)

    f["cross_jurisdiction"] = rng.random(n) < _by_cause(
        (0.15, 0.10, 0.25, 0.10, 0.60, 0.10, 0.10), cause
    )
    f["n_related_cases"] = np.where(
        is_["multi_party"],
        3 + rng.poisson(6.0, n),
        rng.poisson(_by_cause((1.5, 0.6, 0.8, 0.8, 0.0, 2.0, 1.0), cause)),
    )

    # --- assets (signatures of the causes) [invented] -----------------------------------------
    def _p(*probs: float) -> np.ndarray:
        return rng.random(n) < _by_cause(probs, cause)

    has_re = _p(0.03, 0.45, 0.12, 0.97, 0.60, 0.55, 0.40)
    encumbered = has_re & _p(0.60, 0.35, 0.50, 0.70, 0.75, 0.40, 0.30)
    f["has_real_estate"] = has_re
    f["real_estate_encumbered"] = encumbered
    f["has_vehicle"] = _p(0.05, 0.40, 0.15, 0.30, 0.30, 0.25, 0.20)
    f["has_equity"] = _p(0.02, 0.12, 0.30, 0.10, 0.20, 0.40, 0.15)
    f["has_receivable"] = _p(0.02, 0.15, 0.25, 0.08, 0.20, 0.25, 0.30)
    # Wages and provident fund exist only for people [invented].
    f["has_income"] = (person | (debtor_type == dt["individual_business"])) & _p(
        0.05, 0.40, 0.10, 0.15, 0.05, 0.05, 0.0
    )
    f["has_preservation"] = rng.random(n) < np.where(
        cat == cc["financial_loan"], 1.6, 1.0
    ) * _by_cause((0.06, 0.25, 0.15, 0.35, 0.25, 0.25, 0.20), cause)
    has_deposit = _p(0.10, 0.60, 0.25, 0.20, 0.30, 0.45, 0.70)
    ref = np.where(f["amount_outstanding"] > 0, f["amount_outstanding"], 50e3)
    deposit_median = _by_cause((0.0, 0.35, 0.05, 0.08, 0.08, 0.15, 0.50), cause)
    deposit = np.minimum(ref * deposit_median * np.exp(1.1 * rng.standard_normal(n)), 3 * ref)
    # No-asset debtors show only small change in their accounts.
    deposit = np.where(is_["no_assets"], rng.uniform(0, 2000, n), deposit)
    f["deposit_balance"] = np.round(np.where(has_deposit, deposit, 0.0), 2)

    ob = _codes("asset_disposal_obstacle")
    # none|third_party_objection|occupancy|mortgage_priority|failed_auction|other [invented]
    ob_table = np.array(
        [
            (0.0, 0.25, 0.30, 0.20, 0.20, 0.05),  # disposal_obstacle
            (0.5, 0.05, 0.10, 0.05, 0.15, 0.15),  # local_interference with real estate
            (0.6, 0.05, 0.05, 0.20, 0.05, 0.05),  # multi_party with real estate
            (0.6, 0.05, 0.05, 0.25, 0.03, 0.02),  # other causes, encumbered real estate
            (0.9, 0.03, 0.04, 0.0, 0.02, 0.01),  # other causes, free real estate
            (0.97, 0.01, 0.0, 0.0, 0.01, 0.01),  # no real estate
        ]
    )
    ob_group = np.select(
        [
            is_["disposal_obstacle"],
            is_["local_interference"] & has_re,
            is_["multi_party"] & has_re,
            has_re & encumbered,
            has_re,
        ],
        [0, 1, 2, 3, 4],
        default=5,
    )
    obstacle = _draw_by_group(rng, ob_table, ob_group)
    f["asset_disposal_obstacle"] = obstacle
    f["objection_pending"] = rng.random(n) < np.where(
        obstacle == ob["third_party_objection"], 0.7, 0.03
    )
    f["n_queued_seizures"] = np.where(
        is_["multi_party"],
        1 + rng.poisson(2.5, n),
        rng.poisson(np.where(is_["disposal_obstacle"], 0.8, np.where(has_re, 0.3, 0.05))),
    )

    # --- measures taken ---------------------------------------------------------------------
    special = f["special_entity"]
    f["dishonest_listed"] = rng.random(n) < np.where(
        special, 0.3, np.where(is_["no_assets"], 0.88, 0.8)
    )
    f["consumption_restricted"] = rng.random(n) < np.where(special, 0.3, 0.85)
    f["n_detentions"] = rng.poisson(np.where(is_["hidden_assets"], 0.35, 0.08)) * ~special
    f["criminal_referral"] = _p(0.01, 0.005, 0.06, 0.01, 0.01, 0.01, 0.0)
    f["settlement_defaulted"] = _p(0.07, 0.10, 0.20, 0.07, 0.07, 0.05, 0.03)

    # --- time -------------------------------------------------------------------------------
    # Case age and idle time [invented]; every row is in the default stalled cohort
    # (age >= 180 days, idle >= 90 days).
    age = 180 + rng.exponential(_by_cause((600, 380, 420, 450, 450, 700, 600), cause))
    age = np.minimum(age, 365 * 12).astype(np.int64)
    restored = rng.random(n) < np.where(is_["no_assets"], 0.35, 0.12)
    age = np.where(restored, age + rng.integers(90, 540, n), age)
    idle = 90 + rng.exponential(_by_cause((300, 330, 150, 160, 160, 160, 160), cause))
    idle = np.minimum(idle.astype(np.int64), age - 30)
    f["days_since_last_action"] = idle
    f["filing_date"] = as_of - age.astype("timedelta64[D]")
    f["as_of_date"] = as_of
    f["case_subtype"] = restored.astype(np.int64)  # first_enforcement=0, restored=1
    miss["case_subtype"] = rng.random(n) < 0.01  # [invented]
    query = rng.exponential(_by_cause((60, 260, 45, 90, 90, 90, 90), cause))
    f["days_since_last_asset_query"] = np.minimum(query.astype(np.int64), age)
    miss["days_since_last_asset_query"] = rng.random(n) < 0.03  # [invented]

    years = age / 365.0
    lam = (
        0.2
        + 0.9 * f["is_livelihood"]
        + 0.2 * np.minimum(years, 5)
        + _by_cause((0.0, 0.5, 0.2, 0.3, 0.6, 1.3, 0.8), cause)
    )
    f["petition_count"] = rng.poisson(lam)
    f["interference_risk"] = _p(0.015, 0.01, 0.02, 0.03, 0.08, 0.7, 0.3)
    f["superior_supervised"] = rng.random(n) < (
        0.02
        + 0.18 * is_["local_interference"]
        + 0.15 * is_["special_entity_block"]
        + 0.12 * (f["petition_count"] >= 2)
        + 0.05 * f["is_livelihood"]
    )

    # --- ladder and handlers ----------------------------------------------------------------
    # Older cases have climbed further; inertia cases mostly sit with their first handler
    # [invented].
    p_orig = np.where(is_["handler_inertia"], 0.95, 0.86 - 0.07 * np.minimum(years, 5))
    u = rng.random(n)
    rest = (u - p_orig) / (1 - p_orig)
    stage = np.where(u < p_orig, 0, np.where(rest < 0.55, 1, np.where(rest < 0.9, 2, 3)))
    f["ladder_stage"] = stage

    n_h = org.handler_code.size
    handler = rng.integers(0, n_h, n)
    team = org.handler_team[handler]
    # Leaders take the cases that have already reached the top of the ladder [invented].
    handler = np.where(stage == 3, org.team_leader[team], handler)
    pos = handler - org.team_start[team]
    size = org.team_size[team]
    court = org.team_court[team]
    # Previous handlers (chronological). intra_team: 1-2 others of the same team. inter_team and
    # higher_court: the original handler in another team of the same court, maybe a second one
    # there, maybe one more in the current team [invented].
    n_prev = np.select(
        [stage == 1, stage == 2, stage == 3],
        [
            1 + (rng.random(n) < 0.2),
            1 + (rng.random(n) < 0.5) + (rng.random(n) < 0.3),
            2 + (rng.random(n) < 0.4),
        ],
        default=0,
    )
    o1, o2 = _other_offsets(rng, size)
    same1 = org.team_start[team] + (pos + o1) % size
    same2 = org.team_start[team] + (pos + o2) % size
    n_teams_c = org.court_n_teams[court]
    other_team = (
        org.court_team_start[court]
        + ((team - org.court_team_start[court]) + 1 + rng.integers(0, n_teams_c - 1)) % n_teams_c
    )
    osize = org.team_size[other_team]
    opos = rng.integers(0, osize)
    other1 = org.team_start[other_team] + opos
    other2 = org.team_start[other_team] + (opos + 1 + rng.integers(0, osize - 1)) % osize
    prev = np.full((n, 3), -1, dtype=np.int64)
    intra = stage == 1
    prev[intra, 0] = same1[intra]
    prev[intra & (n_prev >= 2), 1] = same2[intra & (n_prev >= 2)]
    up = stage >= 2
    prev[up, 0] = other1[up]
    prev[up & (n_prev >= 2), 1] = other2[up & (n_prev >= 2)]
    prev[up & (n_prev >= 3), 2] = same1[up & (n_prev >= 3)]
    f["n_handlers_so_far"] = 1 + n_prev
    codes = org.handler_code
    prev_str = np.full(n, "", dtype=object)
    for i in np.flatnonzero(n_prev > 0):
        prev_str[i] = ";".join(codes[prev[i, : n_prev[i]]])
    f["previous_handler_ids"] = prev_str
    miss["previous_handler_ids"] = n_prev == 0  # an empty cell, as a CSV export reads back
    f["handler_id"] = codes[handler]
    f["team_id"] = org.team_code[team]
    court_codes = np.array([c for c, _ in _COURTS], dtype=object)
    f["court_id"] = court_codes[court]

    # Caseload: the handler's usual load, noise, and more for the inertia cases [invented].
    load = org.base_load[handler] + rng.normal(0, 20, n) + 90 * is_["handler_inertia"]
    f["handler_caseload"] = np.clip(load, 40, 900).astype(np.int64)
    miss["handler_caseload"] = rng.random(n) < 0.01  # [invented]

    # Case numbers: (filing year)court-code执[恢]serial号, serials unique across all rows.
    serial = 1 + rng.permutation(n)
    year = f["filing_date"].astype("datetime64[Y]").astype(np.int64) + 1970
    court_num = np.array([z for _, z in _COURTS], dtype=object)[court]
    kind = np.where(restored, "执恢", "执")
    f["case_id"] = np.array(
        [
            f"({y}){c}{k}{s}号"
            for y, c, k, s in zip(year.tolist(), court_num, kind, serial.tolist(), strict=True)
        ],
        dtype=object,
    )

    extra = {
        "age": age,
        "property_clue": has_re
        | (f["deposit_balance"] >= 1000)
        | f["has_vehicle"]
        | f["has_equity"]
        | f["has_receivable"]
        | f["has_income"],
        "debtor_gone": np.isin(
            status, [st["deregistered"], st["bankruptcy"], st["deceased"], st["imprisoned"]]
        )
        | (f["debtor_whereabouts"] == wh["unreachable"]),
    }
    return f, miss, true_cause, extra
