"""The synthetic world's truth: stall causes, effects of each rung, and the true probabilities."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossexec_ml.data._contract import cases_contract, handlers_contract

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


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _codes(name: str) -> dict[str, int]:
    """Category -> code for a contract category column, so code tables follow the contract."""
    cats = cases_contract().columns[name].categories or ()
    return {c: i for i, c in enumerate(cats)}


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


def _truth_arrays(
    cause: np.ndarray,
    f: dict[str, np.ndarray],
    rung_effects: dict[str, dict[str, float]] | None = None,
) -> dict[str, np.ndarray]:
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
    table = RUNG_EFFECTS if rung_effects is None else rung_effects
    effects = np.array([[table[c][m] for m in TREATMENT_MODES] for c in STALL_CAUSES])
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
