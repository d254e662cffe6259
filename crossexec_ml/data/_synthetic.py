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

from crossexec_ml.data._contract import CROSS_MODE_TO_RUNG, cases_contract
from crossexec_ml.data._synthetic_draw import (
    _CURRENT_AS_OF,
    _HISTORY_FIRST_MONTH,
    _HISTORY_LAST_MONTH,
    _draw_features,
    _handlers_frame,
    _make_org,
    _month_ends,
)
from crossexec_ml.data._synthetic_truth import (
    HIGHER_MODES,
    STALL_CAUSES,
    TRUTH_COLUMNS,
    _codes,
    _column,
    _sigmoid,
    _truth_arrays,
)
from crossexec_ml.data._synthetic_variants import Variant, _get_variant
from crossexec_ml.settings import RUNGS

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


def _assign_treatment(
    rng: np.random.Generator,
    f: dict[str, np.ndarray],
    extra: dict[str, np.ndarray],
    pilot: np.ndarray,
    variant: Variant | None = None,
    variant_rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Rung index (0 keep .. 3 higher_court) taken within 30 days, confounded outside the pilot.

    A structural ``variant`` may scale the confounding or send fewer cases to the higher court;
    its extra draws come from ``variant_rng``, so the default world's stream is untouched.
    """
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
    if variant is not None and variant.confounding != 1.0:
        logit = _rescaled_logit(logit, variant.confounding)
    treated = rng.random(n) < _sigmoid(logit)
    stage = f["ladder_stage"]
    nxt = np.minimum(stage + 1, 3)
    u = rng.random(n)
    jump = np.where(sensitive, _JUMP_TO_HIGHER_SENSITIVE, _JUMP_TO_HIGHER)
    rung = np.where(u < jump, 3, np.where(u < jump + _SKIP_ONE_RUNG, np.minimum(nxt + 1, 3), nxt))
    rung = np.where(treated, rung, 0)
    if variant is not None and variant.higher_keep < 1.0 and variant_rng is not None:
        demote = (rung == 3) & (variant_rng.random(n) >= variant.higher_keep)
        rung = np.where(demote, 2, rung)
    # The randomised pilot draws the rung uniformly, keep included [DOMAIN].
    return np.where(pilot, rng.integers(0, len(RUNGS), n), rung)


def _rescaled_logit(logit: np.ndarray, strength: float) -> np.ndarray:
    """The assignment log-odds with every term scaled by ``strength`` around a new intercept
    chosen (by bisection) so the expected share of reassigned rows is unchanged."""
    terms = logit - _ASSIGN_INTERCEPT
    target = _sigmoid(logit).mean()
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if _sigmoid(mid + strength * terms).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2 + strength * terms


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
    n_history: int = 6000,
    n_current: int = 1500,
    pilot_share: float = 0.2,
    seed: int = 7,
    variant: str | Variant | None = None,
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
        Seed of the random generators; same arguments give identical frames.
    variant : str or Variant, optional
        A structural variant of the world (:data:`VARIANTS`: rung effects that diverge by
        stall cause, stronger or weaker confounding, other signalling columns, few higher-court
        rows). ``None`` or ``"default"`` is the generator as shipped.

    Returns
    -------
    SyntheticCases

    Raises
    ------
    ValueError
        If a count is negative, ``pilot_share`` is outside [0, 1] or the variant is unknown.

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
    world = _get_variant(variant)
    rng = np.random.default_rng(seed)
    org = _make_org(rng)

    months = _month_ends(_HISTORY_FIRST_MONTH, _HISTORY_LAST_MONTH)
    as_of_hist = np.sort(months[rng.integers(0, months.size, n_history)])
    as_of = np.concatenate([as_of_hist, np.full(n_current, _CURRENT_AS_OF)])
    n = as_of.size
    f, miss, cause, extra = _draw_features(rng, as_of, org, world.signal_shift)
    truth = _truth_arrays(cause, f, world.rung_effects)
    extra["material_asset"] = truth["material"] > 0

    hist = np.arange(n) < n_history
    pilot = hist & (rng.random(n) < pilot_share)
    rung = _assign_treatment(rng, f, extra, pilot, world, np.random.default_rng([seed, 2]))
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
    from crossexec_ml.data._write import write_table

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
    from crossexec_ml.data._read import read_cases, read_handlers

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
