"""Derived case features known at ``as_of_date``, the five hard-bone flags, the stalled cohort.

Every column here is computed from the contract's columns of the same row, which by the
contract describe what was known on ``as_of_date``; treatment and outcome columns are never
read, so nothing after the screening date can leak into a feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossexec_ml.data import CROSS_MODE_TO_RUNG, HARD_BONE_FLAGS, cases_contract
from crossexec_ml.settings import RUNGS, CohortSettings, FlagSettings

#: Boolean asset findings of the last inquiry (网络查控) that the check-up sheet lists.
ASSET_COLUMNS: tuple[str, ...] = (
    "has_real_estate",
    "has_vehicle",
    "has_equity",
    "has_receivable",
    "has_income",
)

#: Derived numeric features, in the order the model sees them.
DERIVED_FEATURES: tuple[str, ...] = (
    "case_age_days",
    "n_previous_handlers",
    "log_amount_outstanding",
    "recovery_ratio",
    "deposit_cover",
    "assets_found_count",
    "material_assets",
    "measures_taken",
    "n_hard_bone_flags",
)

# Contract columns that describe the case but are not used as model inputs: identifiers would
# let the model learn a court's or a judge's name instead of the case (and individual judges
# must not be scored); dates enter as ages; previous handlers enter as a count.
_NOT_MODEL_INPUTS = {
    "case_id",
    "court_id",
    "team_id",
    "handler_id",
    "previous_handler_ids",
    "filing_date",
    "as_of_date",
}


def _num(s: pd.Series) -> pd.Series:
    """A nullable column as float with NaN for missing (bools as 0/1)."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        raise TypeError(f"{s.name} is categorical, not numeric")
    return pd.to_numeric(s.astype("Float64"), errors="coerce").astype("float64")


def _flag(s: pd.Series) -> pd.Series:
    """A nullable boolean as plain bool, missing counted as False (not recorded = not known)."""
    return s.astype("boolean").fillna(False).astype(bool)


def hard_bone_flags(cases: pd.DataFrame, settings: FlagSettings | None = None) -> pd.DataFrame:
    """The five hard-bone flags (五类骨头案) of DOMAIN.md, one boolean column each.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed cases (from :func:`crossexec_ml.data.read_cases`).
    settings : FlagSettings, optional
        Thresholds; defaults follow DOMAIN.md (730 days, 2 petitions).

    Returns
    -------
    pandas.DataFrame
        Columns ``flag_long_unresolved``, ``flag_repeat_petition``, ``flag_sensitive``,
        ``flag_special_entity``, ``flag_key_supervised``; a missing input counts as not flagged.
    """
    s = settings or FlagSettings()
    age = (cases["as_of_date"] - cases["filing_date"]).dt.days
    petitions = _num(cases["petition_count"])
    flags = pd.DataFrame(
        {
            "flag_long_unresolved": (age >= s.long_unresolved_days).fillna(False),
            "flag_repeat_petition": (petitions >= s.repeat_petition_min).fillna(False),
            "flag_sensitive": _flag(cases["interference_risk"]),
            "flag_special_entity": _flag(cases["special_entity"]),
            "flag_key_supervised": _flag(cases["superior_supervised"]),
        },
        index=cases.index,
    ).astype(bool)
    return flags[list(HARD_BONE_FLAGS)]


def derived_features(cases: pd.DataFrame, settings: FlagSettings | None = None) -> pd.DataFrame:
    """Only the derived features and the five flags, aligned with ``cases`` (no copy of it).

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed cases.
    settings : FlagSettings, optional
        Hard-bone thresholds.

    Returns
    -------
    pandas.DataFrame
        :data:`DERIVED_FEATURES` and the ``flag_*`` columns. Derived values are NaN where
        their inputs are missing, never guessed.
    """
    out: dict[str, pd.Series] = {}
    outstanding = _num(cases["amount_outstanding"])
    applied = _num(cases["amount_applied"])
    recovered = _num(cases["amount_recovered_to_date"])
    deposit = _num(cases["deposit_balance"])
    out["case_age_days"] = (cases["as_of_date"] - cases["filing_date"]).dt.days.astype("float64")
    out["n_previous_handlers"] = _num(cases["n_handlers_so_far"]) - 1.0
    out["log_amount_outstanding"] = np.log1p(outstanding.clip(lower=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["recovery_ratio"] = (recovered / applied).where(applied > 0).clip(0, 1)
        # Frozen deposits against what is owed: >= 1 means the debt could be paid today.
        out["deposit_cover"] = (deposit / outstanding).where(outstanding > 0).clip(0, 10)
    assets = pd.DataFrame({c: _num(cases[c]) for c in ASSET_COLUMNS})
    out["assets_found_count"] = assets.sum(axis=1, min_count=1) + (deposit > 0).astype(float)
    unencumbered_estate = _flag(cases["has_real_estate"]) & ~_flag(cases["real_estate_encumbered"])
    material = (
        unencumbered_estate
        | (deposit >= 0.1 * outstanding).fillna(False)
        | _flag(cases["has_equity"])
        | _flag(cases["has_receivable"])
        | _flag(cases["has_income"])
    )
    out["material_assets"] = material.astype(float)
    out["measures_taken"] = (
        _flag(cases["dishonest_listed"]).astype(float)
        + _flag(cases["consumption_restricted"]).astype(float)
        + (_num(cases["n_detentions"]) > 0).astype(float)
        + _flag(cases["criminal_referral"]).astype(float)
    )
    flags = hard_bone_flags(cases, settings)
    for c in flags:
        out[c] = flags[c]
    out["n_hard_bone_flags"] = flags.sum(axis=1).astype(float)
    return pd.DataFrame(out, index=cases.index)


def add_features(cases: pd.DataFrame, settings: FlagSettings | None = None) -> pd.DataFrame:
    """Return a copy of ``cases`` with the derived features and the five flags added.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed cases.
    settings : FlagSettings, optional
        Hard-bone thresholds.

    Returns
    -------
    pandas.DataFrame
        ``cases`` plus :func:`derived_features` (replacing columns of the same name).
    """
    derived = derived_features(cases, settings)
    return pd.concat([cases.drop(columns=derived.columns, errors="ignore"), derived], axis=1)


def model_features() -> tuple[list[str], list[str]]:
    """Names of the model's inputs: ``(numeric, categorical)``.

    Numeric inputs are the contract's int/float/bool feature columns plus
    :data:`DERIVED_FEATURES`; categorical inputs are its category feature columns.
    Identifiers and dates are excluded (see ``_NOT_MODEL_INPUTS``).
    """
    contract = cases_contract()
    numeric: list[str] = []
    categorical: list[str] = []
    for spec in contract.columns.values():
        if spec.role != "feature" or spec.name in _NOT_MODEL_INPUTS:
            continue
        if spec.dtype == "category":
            categorical.append(spec.name)
        elif spec.dtype in ("int", "float", "bool"):
            numeric.append(spec.name)
    return numeric + list(DERIVED_FEATURES), categorical


def rung_of(cross_mode: pd.Series) -> pd.Series:
    """Fold historical ``cross_mode`` values onto the four rungs of the ladder.

    Parameters
    ----------
    cross_mode : pandas.Series
        Contract values (``none``, ``intra_team``, ..., ``collaborative``); missing stays missing.

    Returns
    -------
    pandas.Series
        Categorical with categories :data:`crossexec_ml.data.RUNGS`.
    """
    mapped = cross_mode.astype("string").map(CROSS_MODE_TO_RUNG, na_action="ignore")
    return pd.Series(
        pd.Categorical(mapped.astype(object), categories=list(RUNGS)), index=cross_mode.index
    )


def stalled_cohort(cases: pd.DataFrame, settings: CohortSettings | None = None) -> pd.Series:
    """Which rows are stalled cases by the cohort settings (DOMAIN.md section 3).

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed cases (open cases on their ``as_of_date``).
    settings : CohortSettings, optional
        Defaults: at least 180 days since filing and 90 idle days.

    Returns
    -------
    pandas.Series of bool
        True for rows in the stalled cohort. Rows missing either input are not in it.
    """
    s = settings or CohortSettings()
    age = (cases["as_of_date"] - cases["filing_date"]).dt.days
    idle = _num(cases["days_since_last_action"])
    return ((age >= s.min_age_days) & (idle >= s.min_idle_days)).fillna(False).astype(bool)


# Counters that grow by themselves while nothing happens: a case whose only change is that
# more days have passed has not changed for the purpose of an earlier decision.
_CLOCK_COLUMNS = {"as_of_date", "days_since_last_action", "days_since_last_asset_query"}


def case_fingerprint(cases: pd.DataFrame, *, include_case_id: bool = False) -> pd.Series:
    """A short hash of each case's facts, to tell whether a decided case's data changed.

    Every contract id and feature column enters except the clock columns (``as_of_date``,
    ``days_since_last_action``, ``days_since_last_asset_query``), which grow on their own,
    and the case id itself: a fingerprint is only ever compared with the same case's, and
    hashing a million unique ids was most of the fingerprint's cost.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed cases.
    include_case_id : bool
        Also hash ``case_id``: the fingerprint of earlier builds, which decisions recorded
        before this change hold (:func:`crossexec_ml.jobs.score_rows` accepts both).

    Returns
    -------
    pandas.Series of str
        16 hex digits per row.
    """
    contract = cases_contract()
    cols = [
        c
        for c in contract.names
        if contract.columns[c].role in ("id", "feature", "time")
        and c not in _CLOCK_COLUMNS
        and (include_case_id or c != "case_id")
        and c in cases
    ]
    # Hashes each column natively (categories by their values, so category order is irrelevant)
    # and combines them per row; the key is fixed, so the hash is stable across runs.
    hashed = pd.util.hash_pandas_object(cases[cols], index=False).to_numpy()
    return pd.Series(_hex16(hashed), index=cases.index)


# Each byte value's two hex digits as one little-endian uint16 (first digit in the low byte),
# for :func:`_hex16`.
_HEX_PAIRS = np.array(
    [ord("0123456789abcdef"[b >> 4]) | ord("0123456789abcdef"[b & 15]) << 8 for b in range(256)],
    dtype="<u2",
)


def _hex16(values: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """uint64 values as 16 lower-case hex digits (``f"{v:016x}"``), as a ``string`` array.

    Built byte-wise into one Arrow buffer, each byte's two digits by one table lookup: a
    million fingerprints take a few hundredths of a second instead of a second of Python
    string formatting.
    """
    import pyarrow as pa

    digits = np.take(_HEX_PAIRS, values.astype(">u8").view(np.uint8)).view(np.uint8)
    offsets = np.arange(len(values) + 1, dtype=np.int64) * 16
    arrow = pa.Array.from_buffers(
        pa.large_string(), len(values), [None, pa.py_buffer(offsets), pa.py_buffer(digits)]
    )
    return pd.array(arrow, dtype="string")
