"""Synthetic stalled enforcement cases with a known truth (DOMAIN.md section 4).

No public case-level enforcement data exists, so the project ships this generator. Every case
gets a latent **stall cause** (never written to the feature tables) that leaves signatures in the
observable columns, and a true probability of being resolved within 180 days under each rung of
the cross-execution ladder. Historical outcomes are drawn from exactly those probabilities, so
the truth frame really is the truth: it gives the physical limit of any model (Bayes-optimal
AUC, oracle policy value) and makes uplift measurable.

Design values from DOMAIN.md section 4 are module-level constants marked ``[DOMAIN]``; numbers
this module had to invent are marked ``[invented]`` and numbers tuned to hit the calibration
targets of DOMAIN.md section 4 are marked ``[tuned]``.

Examples
--------
>>> data = make_cases(n_history=200, n_current=50, seed=1)
>>> len(data.history), len(data.current), len(data.truth)
(200, 50, 250)
>>> "stall_cause" in data.history.columns
False
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.data._contract import CROSS_MODE_TO_RUNG, RUNGS, cases_contract, handlers_contract

__all__ = [
    "STALL_CAUSES",
    "STALL_CAUSE_SHARES",
    "RUNG_EFFECTS",
    "HANDLER_SHRINK",
    "TRUTH_COLUMNS",
    "SAMPLE_DIR",
    "SYNTHETIC_FILES",
    "SyntheticCases",
    "load_sample",
    "make_cases",
    "write_synthetic",
    "true_probabilities",
    "higher_court_mode",
]

# ---------------------------------------------------------------------------------------------
# Design values. [DOMAIN] = DOMAIN.md section 4; [invented] = chosen here; [tuned] = set so that
# the calibration targets of DOMAIN.md section 4 hold on the default arguments.
# ---------------------------------------------------------------------------------------------

#: Latent stall causes and their shares [DOMAIN].
STALL_CAUSES: tuple[str, ...] = (
    "no_assets",
    "handler_inertia",
    "hidden_assets",
    "disposal_obstacle",
    "multi_party",
    "local_interference",
    "special_entity_block",
)
STALL_CAUSE_SHARES: tuple[float, ...] = (0.48, 0.14, 0.12, 0.12, 0.06, 0.05, 0.03)

_NO, _INERT, _HIDDEN, _DISPOSAL, _MULTI, _LOCAL, _SPECIAL = range(len(STALL_CAUSES))

#: Intercept of the kept (baseline) log-odds [tuned: kept rows resolve about 7% within 180 days].
BASELINE_INTERCEPT = -2.0
#: Unencumbered real estate without a disposal obstacle [DOMAIN: material assets +1.5..+2].
EFFECT_FREE_REAL_ESTATE = 1.8
#: Freezable deposits covering at least ``DEPOSIT_MATERIAL_SHARE`` of the debt [DOMAIN: +1.5..+2].
EFFECT_MATERIAL_DEPOSIT = 1.6
#: Both kinds of material asset together add at most this [DOMAIN: upper end of +1.5..+2].
EFFECT_MATERIAL_MAX = 2.0
#: Share of the outstanding amount that makes a deposit "material" [invented].
DEPOSIT_MATERIAL_SHARE = 0.2
#: Preservation before/during the lawsuit [DOMAIN names the direction; size invented].
EFFECT_PRESERVATION = 0.7
#: Any minor asset (vehicle, equity, receivable, income) [invented].
EFFECT_MINOR_ASSET = 0.4
#: Debtor whereabouts, in contract order contactable|intermittent|unreachable|abroad
#: [DOMAIN: a contactable debtor pushes up; sizes invented].
EFFECT_WHEREABOUTS: tuple[float, ...] = (0.5, 0.0, -0.5, -0.7)
#: Deregistered, bankrupt, deceased or imprisoned debtor [DOMAIN].
EFFECT_DEBTOR_GONE = -1.5
#: Dormant debtor [invented].
EFFECT_DEBTOR_DORMANT = -0.3
#: Credit-card cause of action [DOMAIN].
EFFECT_CREDIT_CARD = -0.8
#: Per year since the last substantive act [DOMAIN].
EFFECT_IDLE_PER_YEAR = -0.4
#: A disposal obstacle on the found property [DOMAIN names the direction; size invented].
EFFECT_OBSTACLE = -0.6
#: A pending enforcement or third-party objection [DOMAIN names the direction; size invented].
EFFECT_OBJECTION_PENDING = -0.5
#: Per power of ten of the outstanding amount above 100k yuan: a bigger debt is harder to clear
#: in full [invented].
EFFECT_PER_LOG10_AMOUNT = -0.2
#: What the latent cause does to the kept log-odds beyond its observable signatures: pressure,
#: blocked state-linked accounts and competing creditors hold cases back; the odd asset found in
#: a no-asset case is usually worthless or already pledged [invented; the no_assets value is
#: tuned so no-asset cases resolve about 2% of the time, which leaves room for the 7% overall].
CAUSE_BASELINE_OFFSET: tuple[float, ...] = (-1.2, 0.0, -0.3, 0.0, -0.4, -1.0, -1.0)

#: The higher-court modes in the contract's ``cross_mode`` order after the two lower rungs.
HIGHER_MODES: tuple[str, ...] = ("elevated", "designated", "concentrated", "collaborative")
#: Treatment modes whose effect is listed in :data:`RUNG_EFFECTS`.
TREATMENT_MODES: tuple[str, ...] = ("intra_team", "inter_team", *HIGHER_MODES)

#: Log-odds added by each mode, per stall cause. [DOMAIN] values: no_assets +0.05 on any rung;
#: handler_inertia intra_team +1.2; local_interference and special_entity_block little until the
#: higher court, then +1.3..+1.5; multi_party concentrated/collaborative +1.2; disposal_obstacle
#: higher court +0.8..+1.0. Every other number is [invented] (hidden_assets gains from fresh eyes
#: and the higher court's wider inquiry powers; "little" below the higher court = 0.1..0.3).
RUNG_EFFECTS: dict[str, dict[str, float]] = {
    "no_assets": dict.fromkeys(TREATMENT_MODES, 0.05),
    "handler_inertia": {
        "intra_team": 1.2,
        "inter_team": 1.1,
        "elevated": 0.9,
        "designated": 0.9,
        "concentrated": 0.6,
        "collaborative": 0.6,
    },
    "hidden_assets": {
        "intra_team": 0.4,
        "inter_team": 0.6,
        "elevated": 0.9,
        "designated": 0.8,
        "concentrated": 0.5,
        "collaborative": 0.7,
    },
    "disposal_obstacle": {
        "intra_team": 0.2,
        "inter_team": 0.3,
        "elevated": 1.0,
        "designated": 0.9,
        "concentrated": 0.8,
        "collaborative": 0.8,
    },
    "multi_party": {
        "intra_team": 0.15,
        "inter_team": 0.25,
        "elevated": 0.6,
        "designated": 0.5,
        "concentrated": 1.2,
        "collaborative": 1.2,
    },
    "local_interference": {
        "intra_team": 0.1,
        "inter_team": 0.2,
        "elevated": 1.4,
        "designated": 1.5,
        "concentrated": 1.3,
        "collaborative": 1.3,
    },
    "special_entity_block": {
        "intra_team": 0.1,
        "inter_team": 0.15,
        "elevated": 1.5,
        "designated": 1.3,
        "concentrated": 1.3,
        "collaborative": 1.3,
    },
}
#: Each earlier handler shrinks the rung effect by this factor [DOMAIN].
HANDLER_SHRINK = 0.7

#: Columns of the truth frame.
TRUTH_COLUMNS: tuple[str, ...] = (
    "case_id",
    "as_of_date",
    "stall_cause",
    "is_pilot",
    "p_keep",
    "p_intra_team",
    "p_inter_team",
    "p_higher_court",
)

# Historical screening dates: month ends 2024-01-31 .. 2026-04-30, so every 180-day outcome is
# observed by 2026-10-27; the current cohort is screened on 2026-10-31 [brief].
_HISTORY_FIRST_MONTH = "2024-01"
_HISTORY_LAST_MONTH = "2026-04"
_CURRENT_AS_OF = np.datetime64("2026-10-31", "D")

# Courts: code and the court-number part of a case number (Changsha district courts) [invented].
_COURTS: tuple[tuple[str, str], ...] = (("C01", "湘0102"), ("C02", "湘0103"), ("C03", "湘0104"))

# Treatment assignment outside the pilot, log-odds [invented; intercept tuned so that about a
# third of non-pilot history rows are cross-executed, inside the brief's 25-40%]. Handlers and
# leaders pick hard bones, big and old cases and cases with a property clue to work on; cases
# whose debtor is gone go to 终本 management instead.
_ASSIGN_INTERCEPT = -2.5
_ASSIGN_LONG_UNRESOLVED = 0.6
_ASSIGN_REPEAT_PETITION = 0.6
_ASSIGN_INTERFERENCE = 0.9
_ASSIGN_SPECIAL_ENTITY = 0.6
_ASSIGN_SUPERVISED = 1.0
_ASSIGN_PER_LOG10_AMOUNT = 0.35
_ASSIGN_PROPERTY_CLUE = 1.5
_ASSIGN_MATERIAL_ASSET = 1.5
_ASSIGN_DEBTOR_GONE = -1.2
_ASSIGN_LIVELIHOOD = 0.4
# Given treatment outside the pilot, the next rung up the ladder is usual; skipping one rung
# happens sometimes, and sensitive cases (interference, special entity, supervised) often go
# straight to the higher court [invented].
_SKIP_ONE_RUNG = 0.08
_JUMP_TO_HIGHER = 0.04
_JUMP_TO_HIGHER_SENSITIVE = 0.35

# Outcomes [invented unless tuned]. Settlement share of the resolved cases and the discount the
# applicant accepts; chance of partial recovery ("substantive progress") for unresolved cases
# [tuned: 30-50% progress among treated cases].
_SETTLEMENT_SHARE = 0.35
_SETTLEMENT_DISCOUNT = (0.5, 0.95)
_PARTIAL_INTERCEPT = -3.0
_PARTIAL_TREATED = 1.2
_PARTIAL_PROPERTY_CLUE = 1.0
_PARTIAL_BETA = (1.5, 6.0)

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


@dataclass
class SyntheticCases:
    """Synthetic case data with its known truth.

    Attributes
    ----------
    history : pandas.DataFrame
        Historical rows: every contract column in contract order, with the action taken within
        30 days (``cross_mode``, ``cross_date``) and the outcome 180 days later.
    current : pandas.DataFrame
        Stalled cases to score now (as_of_date 2026-10-31): the contract's id, time and feature
        columns only, no treatment or outcome columns.
    truth : pandas.DataFrame
        One row per history row then per current row: ``case_id``, ``as_of_date``,
        ``stall_cause``, ``is_pilot`` and the true probability of ``resolved_180d`` under each
        rung (``p_keep``, ``p_intra_team``, ``p_inter_team``, ``p_higher_court``; the last under
        the mode the higher court picks, see :func:`higher_court_mode`). Never join it into a
        feature table.
    handlers : pandas.DataFrame
        The handlers contract: ``handler_id``, ``team_id``, ``court_id``, ``open_slots``,
        ``is_leader``.
    """

    history: pd.DataFrame
    current: pd.DataFrame
    truth: pd.DataFrame
    handlers: pd.DataFrame


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _codes(name: str) -> dict[str, int]:
    """Category -> code for a contract category column, so code tables follow the contract."""
    cats = cases_contract().columns[name].categories or ()
    return {c: i for i, c in enumerate(cats)}


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


def _by_cause(values: tuple[float, ...] | list[float], cause: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)[cause]


def _column(
    name: str, values: np.ndarray, missing: np.ndarray | None = None, kind: str = "cases"
) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Build one column in the dtype pandas holds it in after ingestion of the contract."""
    contract = cases_contract() if kind == "cases" else handlers_contract()
    spec = contract.columns[name]
    n = len(values)
    if missing is None:
        missing = np.zeros(n, dtype=bool)
    if spec.dtype == "string":
        obj = np.asarray(values, dtype=object).copy()
        obj[missing] = pd.NA
        return pd.array(obj, dtype="string")
    if spec.dtype == "date":
        arr = np.asarray(values).astype("datetime64[ns]")
        arr[missing] = np.datetime64("NaT")
        return arr
    if spec.dtype == "category":
        codes = np.asarray(values, dtype=np.int64).copy()
        codes[missing] = -1
        return pd.Categorical.from_codes(codes, categories=list(spec.categories or ()))
    if spec.dtype == "bool":
        return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), missing.copy())
    if spec.dtype == "int":
        return pd.arrays.IntegerArray(np.asarray(values, dtype=np.int64), missing.copy())
    arr = np.asarray(values, dtype=np.float64).copy()
    arr[missing] = np.nan
    return arr


# ---------------------------------------------------------------------------------------------
# The truth model
# ---------------------------------------------------------------------------------------------


def higher_court_mode(
    stall_cause: np.ndarray,
    cross_jurisdiction: np.ndarray,
    superior_supervised: np.ndarray,
    amount_outstanding: np.ndarray,
) -> np.ndarray:
    """The higher-court mode chosen for each case: the one best suited to its stall cause.

    Parameters
    ----------
    stall_cause : numpy.ndarray of str or int
        Stall cause names (or their index in :data:`STALL_CAUSES`).
    cross_jurisdiction, superior_supervised : numpy.ndarray of bool
    amount_outstanding : numpy.ndarray of float

    Returns
    -------
    numpy.ndarray of str
        One of ``elevated``, ``designated``, ``concentrated``, ``collaborative`` per case.

    Notes
    -----
    [invented] The higher court always picks the mode that suits the case, so ``p_higher_court``
    is exactly the probability under the mode historical rows record: multi_party goes to
    collaborative execution when it crosses jurisdictions and concentrated otherwise;
    local_interference is designated to another court (away from local pressure);
    special_entity_block and disposal_obstacle are elevated. Causes for which the higher-court
    modes differ little are elevated when supervised or worth 1m yuan or more, else designated.
    """
    cause = _cause_index(stall_cause)
    return np.asarray(HIGHER_MODES, dtype=object)[
        _higher_mode_index(cause, cross_jurisdiction, superior_supervised, amount_outstanding)
    ]


def _cause_index(stall_cause: np.ndarray) -> np.ndarray:
    arr = np.asarray(stall_cause)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    lookup = {c: i for i, c in enumerate(STALL_CAUSES)}
    try:
        return np.fromiter((lookup[c] for c in arr), dtype=np.int64, count=arr.size)
    except KeyError as err:
        raise ValueError(f"unknown stall cause {err.args[0]!r}; expected {STALL_CAUSES}") from err


def _higher_mode_index(
    cause: np.ndarray,
    cross_jurisdiction: np.ndarray,
    superior_supervised: np.ndarray,
    amount_outstanding: np.ndarray,
) -> np.ndarray:
    """Index into :data:`HIGHER_MODES` of the mode suited to each case (see higher_court_mode)."""
    big = np.asarray(superior_supervised, bool) | (np.asarray(amount_outstanding, float) >= 1e6)
    mode = np.where(big, 0, 1)  # elevated / designated for the causes where it matters little
    mode = np.where((cause == _DISPOSAL) | (cause == _SPECIAL), 0, mode)
    mode = np.where(cause == _LOCAL, 1, mode)
    mode = np.where(cause == _MULTI, np.where(np.asarray(cross_jurisdiction, bool), 3, 2), mode)
    return mode.astype(np.int64)


def _truth_arrays(cause: np.ndarray, f: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """True log-odds and probabilities from the latent cause and the observable columns.

    ``f`` holds plain numpy arrays (category columns as contract codes). Only columns that are
    never masked as missing enter here, so the truth is a function of the published features and
    the stall cause.
    """
    st = _codes("debtor_status")
    ob = _codes("asset_disposal_obstacle")
    cc = _codes("cause_category")

    outstanding = f["amount_outstanding"]
    free_re = f["has_real_estate"] & ~f["real_estate_encumbered"]
    free_re &= f["asset_disposal_obstacle"] == ob["none"]
    material_deposit = (f["deposit_balance"] > 0) & (
        f["deposit_balance"] >= DEPOSIT_MATERIAL_SHARE * outstanding
    )
    # The stronger of the two material assets counts; both together reach the cap.
    material = np.maximum(
        free_re * EFFECT_FREE_REAL_ESTATE, material_deposit * EFFECT_MATERIAL_DEPOSIT
    )
    material = np.where(free_re & material_deposit, EFFECT_MATERIAL_MAX, material)
    minor = f["has_vehicle"] | f["has_equity"] | f["has_receivable"] | f["has_income"]
    gone = np.isin(
        f["debtor_status"], [st["deregistered"], st["bankruptcy"], st["deceased"], st["imprisoned"]]
    )
    log_amount = np.where(outstanding > 0, np.log10(np.maximum(outstanding, 1.0)) - 5.0, 0.0)

    base = (
        BASELINE_INTERCEPT
        + material
        + EFFECT_PRESERVATION * f["has_preservation"]
        + EFFECT_MINOR_ASSET * minor
        + np.asarray(EFFECT_WHEREABOUTS)[f["debtor_whereabouts"]]
        + EFFECT_DEBTOR_GONE * gone
        + EFFECT_DEBTOR_DORMANT * (f["debtor_status"] == st["dormant"])
        + EFFECT_CREDIT_CARD * (f["cause_category"] == cc["credit_card"])
        + EFFECT_IDLE_PER_YEAR * f["days_since_last_action"] / 365.0
        + EFFECT_OBSTACLE * (f["asset_disposal_obstacle"] != ob["none"])
        + EFFECT_OBJECTION_PENDING * f["objection_pending"]
        + EFFECT_PER_LOG10_AMOUNT * np.clip(log_amount, -2.0, 3.0)
        + _by_cause(CAUSE_BASELINE_OFFSET, cause)
    )
    shrink = HANDLER_SHRINK ** (f["n_handlers_so_far"].astype(float) - 1.0)
    effects = np.array([[RUNG_EFFECTS[c][m] for m in TREATMENT_MODES] for c in STALL_CAUSES])
    mode = _higher_mode_index(cause, f["cross_jurisdiction"], f["superior_supervised"], outstanding)
    eff_intra = effects[cause, 0] * shrink
    eff_inter = effects[cause, 1] * shrink
    eff_higher = effects[cause, 2 + mode] * shrink
    return {
        "p_keep": _sigmoid(base),
        "p_intra_team": _sigmoid(base + eff_intra),
        "p_inter_team": _sigmoid(base + eff_inter),
        "p_higher_court": _sigmoid(base + eff_higher),
        "higher_mode": mode,
        "material": material,
    }


_TRUTH_INPUTS: tuple[str, ...] = (
    "amount_outstanding",
    "has_real_estate",
    "real_estate_encumbered",
    "asset_disposal_obstacle",
    "deposit_balance",
    "has_vehicle",
    "has_equity",
    "has_receivable",
    "has_income",
    "has_preservation",
    "debtor_whereabouts",
    "debtor_status",
    "cause_category",
    "days_since_last_action",
    "objection_pending",
    "n_handlers_so_far",
    "cross_jurisdiction",
    "superior_supervised",
)


def true_probabilities(cases: pd.DataFrame, stall_cause: pd.Series | np.ndarray) -> pd.DataFrame:
    """True probability of ``resolved_180d`` under each rung, from features and the stall cause.

    This recomputes the generator's truth from a feature frame: on rows made by
    :func:`make_cases` it returns exactly the ``p_*`` columns of ``SyntheticCases.truth``.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract columns (``history`` or ``current`` of :class:`SyntheticCases`); the columns
        used must have no missing values.
    stall_cause : pandas.Series or numpy.ndarray
        The latent stall cause per row, aligned with ``cases`` by position.

    Returns
    -------
    pandas.DataFrame
        ``p_keep``, ``p_intra_team``, ``p_inter_team``, ``p_higher_court`` (float64) and
        ``higher_court_mode`` (str), with the index of ``cases``.

    Raises
    ------
    ValueError
        If a needed column is missing or has empty cells, or a stall cause is unknown.
    """
    cause = _cause_index(np.asarray(stall_cause, dtype=object))
    if cause.size != len(cases):
        raise ValueError("stall_cause must have one entry per row of cases")
    contract = cases_contract()
    f: dict[str, np.ndarray] = {}
    for name in _TRUTH_INPUTS:
        if name not in cases.columns:
            raise ValueError(f"true_probabilities needs column {name!r}")
        col = cases[name]
        if col.isna().any():
            raise ValueError(f"true_probabilities: column {name!r} has empty cells")
        spec = contract.columns[name]
        if spec.dtype == "category":
            cats = list(spec.categories or ())
            f[name] = pd.Categorical(col, categories=cats).codes.astype(np.int64)
        elif spec.dtype == "bool":
            f[name] = col.to_numpy(dtype=bool)
        elif spec.dtype == "int":
            f[name] = col.to_numpy(dtype=np.int64)
        else:
            f[name] = col.to_numpy(dtype=float)
    out = _truth_arrays(cause, f)
    frame = pd.DataFrame({k: out[k] for k in ("p_keep", "p_intra_team", "p_inter_team")})
    frame["p_higher_court"] = out["p_higher_court"]
    frame["higher_court_mode"] = np.asarray(HIGHER_MODES, dtype=object)[out["higher_mode"]]
    frame.index = cases.index
    return frame


# ---------------------------------------------------------------------------------------------
# Courts, teams and handlers
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------


def _month_ends(first: str, last: str) -> np.ndarray:
    months = np.arange(np.datetime64(first, "M"), np.datetime64(last, "M") + 1)
    return (months + 1).astype("datetime64[D]") - 1


def _draw_features(
    rng: np.random.Generator, as_of: np.ndarray, org: _Org
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray, dict[str, np.ndarray]]:
    """Draw the latent cause and every id/time/feature column for rows screened on ``as_of``.

    Returns the column arrays (category columns as contract codes), their missing masks, the
    stall-cause index per row and helper arrays the treatment and outcome draws need.
    """
    n = as_of.size
    f: dict[str, np.ndarray] = {}
    miss: dict[str, np.ndarray] = {}
    cause = rng.choice(len(STALL_CAUSES), size=n, p=np.asarray(STALL_CAUSE_SHARES))
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
    return f, miss, cause, extra


def _assign_treatment(
    rng: np.random.Generator,
    f: dict[str, np.ndarray],
    extra: dict[str, np.ndarray],
    pilot: np.ndarray,
) -> np.ndarray:
    """Rung index (0 keep .. 3 higher_court) taken within 30 days, confounded outside the pilot."""
    n = pilot.size
    log_amount = np.where(
        f["amount_outstanding"] > 0, np.log10(np.maximum(f["amount_outstanding"], 1.0)) - 5.0, 0.0
    )
    sensitive = f["interference_risk"] | f["special_entity"] | f["superior_supervised"]
    logit = (
        _ASSIGN_INTERCEPT
        + _ASSIGN_LONG_UNRESOLVED * (extra["age"] >= 730)
        + _ASSIGN_REPEAT_PETITION * (f["petition_count"] >= 2)
        + _ASSIGN_INTERFERENCE * f["interference_risk"]
        + _ASSIGN_SPECIAL_ENTITY * f["special_entity"]
        + _ASSIGN_SUPERVISED * f["superior_supervised"]
        + _ASSIGN_PER_LOG10_AMOUNT * np.clip(log_amount, -2.0, 2.0)
        + _ASSIGN_PROPERTY_CLUE * extra["property_clue"]
        + _ASSIGN_MATERIAL_ASSET * extra["material_asset"]
        + _ASSIGN_DEBTOR_GONE * extra["debtor_gone"]
        + _ASSIGN_LIVELIHOOD * f["is_livelihood"]
    )
    treated = rng.random(n) < _sigmoid(logit)
    stage = f["ladder_stage"]
    nxt = np.minimum(stage + 1, 3)
    u = rng.random(n)
    jump = np.where(sensitive, _JUMP_TO_HIGHER_SENSITIVE, _JUMP_TO_HIGHER)
    rung = np.where(u < jump, 3, np.where(u < jump + _SKIP_ONE_RUNG, np.minimum(nxt + 1, 3), nxt))
    rung = np.where(treated, rung, 0)
    # The randomised pilot draws the rung uniformly, keep included [DOMAIN].
    return np.where(pilot, rng.integers(0, len(RUNGS), n), rung)


def _draw_outcomes(
    rng: np.random.Generator,
    f: dict[str, np.ndarray],
    extra: dict[str, np.ndarray],
    p_taken: np.ndarray,
    treated: np.ndarray,
) -> dict[str, np.ndarray]:
    """Outcomes 180 days after as_of_date; ``resolved_180d`` ~ Bernoulli(true p of the rung)."""
    n = p_taken.size
    cm = _codes("closure_mode_180d")
    st = _codes("debtor_status")
    resolved = rng.random(n) < p_taken
    outstanding = f["amount_outstanding"]
    settled = resolved & (rng.random(n) < _SETTLEMENT_SHARE)
    share = np.where(settled, rng.uniform(*_SETTLEMENT_DISCOUNT, n), 1.0)
    partial = ~resolved & (
        rng.random(n)
        < _sigmoid(
            _PARTIAL_INTERCEPT
            + _PARTIAL_TREATED * treated
            + _PARTIAL_PROPERTY_CLUE * extra["property_clue"]
        )
    )
    share = np.where(partial, rng.beta(*_PARTIAL_BETA, n), share)
    recovered = np.where(resolved | partial, np.round(outstanding * share, 2), 0.0)

    # Unresolved cases: terminated (终结) when the debtor is gone for good, 终本 when no property
    # was found, otherwise still open [invented]. 终本 is never a resolution.
    gone = np.isin(f["debtor_status"], [st["deregistered"], st["bankruptcy"], st["deceased"]])
    u = rng.random(n)
    p_term = np.where(gone, 0.3, 0.03)
    p_zhongben = np.where(extra["property_clue"] & ~partial, 0.15, np.where(partial, 0.05, 0.55))
    closure = np.where(
        u < p_term,
        cm["terminated"],
        np.where(u < p_term + p_zhongben, cm["terminate_current"], cm["open"]),
    )
    closure = np.where(
        resolved, np.where(settled, cm["settlement_performed"], cm["fully_executed"]), closure
    )
    new_petition = rng.random(n) < _sigmoid(
        -2.8
        + 0.6 * np.minimum(f["petition_count"], 5)
        + 0.5 * f["is_livelihood"]
        + 0.3 * (extra["age"] >= 730)
        - 1.5 * resolved
    )  # [invented] petitions follow earlier petitions and stop when the case is resolved
    return {
        "resolved_180d": resolved,
        "amount_recovered_180d": recovered,
        "closure_mode_180d": closure,
        "new_petition_180d": new_petition,
    }


def _add_assignment_and_outcome_dates(
    rng: np.random.Generator,
    f: dict[str, np.ndarray],
    miss: dict[str, np.ndarray],
    as_of: np.ndarray,
    pilot: np.ndarray,
) -> None:
    """The contract's randomisation columns and ``outcome_date``, in place.

    Pilot rows drew their rung uniformly among the four rungs, so the action taken had
    probability 1/4. A closed case (resolved, 终本 or terminated) reached that status on a day
    within the 180-day window [invented: uniform]. ``rng`` is a stream of its own so that every
    other column stays as it was before these columns existed.
    """
    n = as_of.size
    f["assignment_randomised"] = pilot
    f["assignment_propensity"] = np.full(n, 1.0 / len(RUNGS))
    miss["assignment_propensity"] = ~pilot
    closed = f["closure_mode_180d"] != _codes("closure_mode_180d")["open"]
    f["outcome_date"] = as_of + rng.integers(1, 181, n).astype("timedelta64[D]")
    miss["outcome_date"] = ~closed


def _frame(
    cols: dict[str, np.ndarray], miss: dict[str, np.ndarray], names: list[str], idx: np.ndarray
) -> pd.DataFrame:
    """Rows ``idx`` of the drawn columns as a contract-typed frame with a fresh RangeIndex."""
    data = {
        name: _column(name, cols[name][idx], miss[name][idx] if name in miss else None)
        for name in names
    }
    return pd.DataFrame(data, columns=names)


def make_cases(
    n_history: int = 6000, n_current: int = 1500, pilot_share: float = 0.2, seed: int = 7
) -> SyntheticCases:
    """Generate historical and current stalled cases with their known truth.

    Parameters
    ----------
    n_history : int
        Historical rows (screened monthly 2024-01-31 .. 2026-04-30, outcomes observed).
    n_current : int
        Stalled cases screened on 2026-10-31, to be scored.
    pilot_share : float
        Expected share of historical rows from the randomised pilot, where the rung was drawn
        uniformly among keep, intra_team, inter_team and higher_court.
    seed : int
        Seed of the only random generator used; same arguments give identical frames.

    Returns
    -------
    SyntheticCases

    Raises
    ------
    ValueError
        If a count is negative or ``pilot_share`` is outside [0, 1].

    Examples
    --------
    >>> d = make_cases(n_history=500, n_current=100, seed=3)
    >>> list(d.truth.columns[:4])
    ['case_id', 'as_of_date', 'stall_cause', 'is_pilot']
    """
    if n_history < 0 or n_current < 0:
        raise ValueError(f"n_history and n_current must be >= 0, got {n_history}, {n_current}")
    if not 0.0 <= pilot_share <= 1.0:
        raise ValueError(f"pilot_share must be in [0, 1], got {pilot_share}")
    rng = np.random.default_rng(seed)
    org = _make_org(rng)

    months = _month_ends(_HISTORY_FIRST_MONTH, _HISTORY_LAST_MONTH)
    as_of_hist = np.sort(months[rng.integers(0, months.size, n_history)])
    as_of = np.concatenate([as_of_hist, np.full(n_current, _CURRENT_AS_OF)])
    n = as_of.size
    f, miss, cause, extra = _draw_features(rng, as_of, org)
    truth = _truth_arrays(cause, f)
    extra["material_asset"] = truth["material"] > 0

    hist = np.arange(n) < n_history
    pilot = hist & (rng.random(n) < pilot_share)
    rung = _assign_treatment(rng, f, extra, pilot)
    p_all = np.column_stack([truth[f"p_{r}"] for r in RUNGS])
    p_taken = p_all[np.arange(n), rung]
    out = _draw_outcomes(rng, f, extra, p_taken, rung > 0)
    f.update(out)

    # cross_mode codes: none, intra_team, inter_team, then the higher court's chosen mode.
    mode_codes = _codes("cross_mode")
    higher_code = np.array([mode_codes[m] for m in HIGHER_MODES])[truth["higher_mode"]]
    lower_code = np.array(
        [
            mode_codes[next(m for m, r in CROSS_MODE_TO_RUNG.items() if r == name)]
            for name in RUNGS[:3]
        ]
    )
    f["cross_mode"] = np.where(rung == 3, higher_code, lower_code[np.minimum(rung, 2)])
    f["cross_date"] = as_of + rng.integers(1, 31, n).astype("timedelta64[D]")
    miss["cross_date"] = rung == 0
    _add_assignment_and_outcome_dates(np.random.default_rng([seed, 1]), f, miss, as_of, pilot)

    contract = cases_contract()
    h_idx = np.flatnonzero(hist)
    c_idx = np.flatnonzero(~hist)
    history = _frame(f, miss, contract.names, h_idx)
    current_cols = [
        c for c in contract.names if contract.columns[c].role not in ("treatment", "outcome")
    ]
    current = _frame(f, miss, current_cols, c_idx)

    truth_frame = pd.DataFrame(
        {
            "case_id": pd.array(f["case_id"], dtype="string"),
            "as_of_date": as_of.astype("datetime64[ns]"),
            "stall_cause": pd.array(np.asarray(STALL_CAUSES, dtype=object)[cause], dtype="string"),
            "is_pilot": pilot,
            **{f"p_{r}": truth[f"p_{r}"].astype(np.float64) for r in RUNGS},
        },
        columns=list(TRUTH_COLUMNS),
    )
    return SyntheticCases(
        history=history, current=current, truth=truth_frame, handlers=_handlers_frame(org)
    )


#: Files written by :func:`write_synthetic`, in this order.
SYNTHETIC_FILES: tuple[str, ...] = ("history.csv", "current.csv", "truth.csv", "handlers.csv")


def write_synthetic(data: SyntheticCases, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write ``history.csv``, ``current.csv``, ``truth.csv`` and ``handlers.csv`` into a folder.

    Each file is written atomically, with English headers, UTF-8 (with BOM, so Excel shows the
    Chinese case numbers), ISO dates.

    Parameters
    ----------
    data : SyntheticCases
        What :func:`make_cases` returned.
    out_dir : path-like
        Folder to write into (created if needed).

    Returns
    -------
    list of pathlib.Path
        The written files.
    """
    from crossexec_ml.data._io import write_table

    out = Path(out_dir)
    frames = (data.history, data.current, data.truth, data.handlers)
    return [write_table(df, out / name) for name, df in zip(SYNTHETIC_FILES, frames, strict=True)]


def load_sample(
    sample_dir: str | os.PathLike[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """Read the shipped sample (``data/sample/``) through the validating readers.

    Parameters
    ----------
    sample_dir : path-like, optional
        Default: ``data/sample`` of the source checkout.

    Returns
    -------
    dict
        ``history``, ``current``, ``handlers`` (contract-typed) and ``truth``.
    """
    from crossexec_ml.data._io import read_cases, read_handlers

    folder = Path(sample_dir) if sample_dir is not None else SAMPLE_DIR
    truth = pd.read_csv(folder / "truth.csv", encoding="utf-8-sig", parse_dates=["as_of_date"])
    truth["as_of_date"] = truth["as_of_date"].astype("datetime64[ns]")
    truth = truth.astype({"case_id": "string", "stall_cause": "string", "is_pilot": bool})
    return {
        "history": read_cases(folder / "history.csv"),
        "current": read_cases(folder / "current.csv"),
        "handlers": read_handlers(folder / "handlers.csv"),
        "truth": truth,
    }


#: The sample shipped with the source checkout.
SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"
