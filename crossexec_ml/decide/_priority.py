"""Priority: order cases by the expected gain of reassigning them, with floors and guidance.

Ranking by raw probability favours easy, rich commercial cases (DOMAIN.md section 2). The list
here is ordered by **expected gain**: what reassignment adds over leaving the case where it is
(``uplift``), optionally weighted by the amount at stake. Vulnerability (livelihood cases,
vulnerable applicants) may only raise a case, never lower it; floors reserve a share of the
top-k for livelihood and long-unresolved cases; ties are broken by a written rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossexec_ml.decide._explore import explore_selection
from crossexec_ml.decide._guidance import guidance_arrays
from crossexec_ml.decide._policy import (
    _flag,
    apply_floor,
    capacity_k,
    expected_gain,
    floor_needs,
    tie_rule_order,
)
from crossexec_ml.settings import PrioritySettings


@dataclass(frozen=True)
class PriorityOrder:
    """The order of a list: what :func:`priority_order` returns.

    Attributes
    ----------
    gain : numpy.ndarray
        Expected gain per row.
    rank : numpy.ndarray
        1 = first to act on; NaN outside the cohort.
    candidate : numpy.ndarray of bool
        In the top-k this cycle (floors included).
    floor_reason : numpy.ndarray of object
        Why a row was lifted into the top-k by a floor, else "".
    proposal_propensity : numpy.ndarray of float or None
        With an exploration band only: the probability each row was proposed (1, 0, or 1/2
        in the band); None when the band is off.
    """

    gain: np.ndarray
    rank: np.ndarray
    candidate: np.ndarray
    floor_reason: np.ndarray
    proposal_propensity: np.ndarray | None = None


def priority_order(
    scored: pd.DataFrame,
    cases: pd.DataFrame,
    settings: PrioritySettings | None = None,
) -> PriorityOrder:
    """Expected gain, floors and tie rule: the order alone, vectorised (no guidance text).

    The interactive picker calls this on every filter change, so it does no per-row Python
    work beyond the floors' swaps.

    Parameters
    ----------
    scored, cases : pandas.DataFrame
        Aligned row by row (same order, same length); ``scored`` needs ``uplift`` and may have
        ``stalled`` (default: every row) and ``flag_long_unresolved``.
    settings : PrioritySettings, optional

    Returns
    -------
    PriorityOrder
    """
    s = settings or PrioritySettings()
    n = len(scored)
    gain = expected_gain(scored, cases, s)
    stalled = (
        scored["stalled"].to_numpy(dtype=bool) if "stalled" in scored else np.ones(n, dtype=bool)
    )
    long_old = (
        scored["flag_long_unresolved"].to_numpy(dtype=bool)
        if "flag_long_unresolved" in scored
        else np.zeros(n, dtype=bool)
    )
    idle = pd.to_numeric(cases["days_since_last_action"], errors="coerce").fillna(0).to_numpy()
    return order_by_gain(
        gain,
        stalled=stalled,
        livelihood=_flag(cases.get("is_livelihood"), n),
        long_unresolved=long_old,
        idle_days=idle,
        case_id=cases["case_id"],
        settings=s,
    )


def order_by_gain(
    gain: np.ndarray,
    *,
    stalled: np.ndarray,
    livelihood: np.ndarray,
    long_unresolved: np.ndarray,
    idle_days: np.ndarray,
    case_id: pd.Series,
    settings: PrioritySettings | None = None,
) -> PriorityOrder:
    """The global step of the ranking, from the few per-row keys it needs.

    A province-scale run scores partitions one by one, keeps only these keys of every row, and
    orders them here at once, so the rank is the same as one in-memory :func:`priority_order`.

    Parameters
    ----------
    gain : numpy.ndarray
        Expected gain per row (:func:`expected_gain`).
    stalled, livelihood, long_unresolved : numpy.ndarray of bool
        In the ranked cohort; a livelihood case; the long-unresolved flag.
    idle_days : numpy.ndarray
        Days since the last action (missing as 0), the first tie-break.
    case_id : pandas.Series
        The last tie-break (ascending).
    settings : PrioritySettings, optional

    Returns
    -------
    PriorityOrder
    """
    s = settings or PrioritySettings()
    gain = np.asarray(gain, dtype=float)
    n = len(gain)
    in_cohort = np.flatnonzero(stalled)
    ids = pd.Series(case_id).iloc[in_cohort]
    order = in_cohort[tie_rule_order(gain[in_cohort], np.asarray(idle_days)[in_cohort], ids)]
    k = capacity_k(len(order), s.capacity, s.capacity_share)
    need_livelihood, need_long = floor_needs(k, s)
    # Only cases with something to gain can fill the top-k or a floor.
    actionable = gain > 0
    selected = order[:k][actionable[order[:k]]]
    livelihood = np.asarray(livelihood, dtype=bool) & actionable
    long_old = np.asarray(long_unresolved, dtype=bool) & actionable
    lifted_reason = np.full(n, "", dtype=object)
    selected, lifted = apply_floor(selected, order, livelihood, need_livelihood, long_old)
    lifted_reason[lifted] = "livelihood floor (民生案件保底)"
    sel_mask = np.zeros(n, dtype=bool)
    sel_mask[selected] = True
    selected, lifted = apply_floor(selected, order, long_old, need_long, livelihood & sel_mask)
    lifted_reason[lifted] = "long-unresolved floor (长期未结老案保底)"
    sel_mask = np.zeros(n, dtype=bool)
    sel_mask[selected] = True
    # Final order: the top-k (by gain, tie rule) first, then everyone else in the same order.
    final = np.concatenate([order[sel_mask[order]], order[~sel_mask[order]]])
    rank = np.full(n, np.nan)
    rank[final] = np.arange(1, len(order) + 1)
    propensity = None
    if s.explore_band > 0:
        # The lottery at the cut changes who is proposed, never the order shown.
        sel_mask, propensity, _ = explore_selection(
            final,
            sel_mask,
            fixed=lifted_reason != "",
            eligible=actionable,
            band=s.explore_band,
            seed=s.explore_seed,
        )
    return PriorityOrder(
        gain=gain,
        rank=rank,
        candidate=sel_mask,
        floor_reason=lifted_reason,
        proposal_propensity=propensity,
    )


def rank_cases(
    scored: pd.DataFrame,
    cases: pd.DataFrame,
    settings: PrioritySettings | None = None,
) -> pd.DataFrame:
    """Order the stalled cases for action: expected gain, floors, tie rule, guidance.

    Parameters
    ----------
    scored : pandas.DataFrame
        Model output aligned with ``cases`` (``uplift``, ``suggested_rung``, flags, ``stalled``).
    cases : pandas.DataFrame
        Contract-typed cases, same rows and order as ``scored``.
    settings : PrioritySettings, optional

    Returns
    -------
    pandas.DataFrame
        ``scored`` plus ``expected_gain``, ``priority_rank`` (1 = first to act on; missing
        outside the stalled cohort), ``candidate`` (in the top-k this cycle),
        ``floor_reason`` (why a case was lifted into the top-k by a floor, else empty),
        ``guidance`` (Chinese) and ``guidance_en``; sorted by ``priority_rank``.
    """
    scored = scored.reset_index(drop=True)
    cases = cases.reset_index(drop=True)
    po = priority_order(scored, cases, settings)
    out = scored.copy()
    out["expected_gain"] = po.gain
    out["priority_rank"] = pd.array(po.rank, dtype="Float64").astype("Int64")
    out["candidate"] = po.candidate
    if po.proposal_propensity is not None:
        out["proposal_propensity"] = po.proposal_propensity
    out["floor_reason"] = pd.array(po.floor_reason, dtype="string")
    out["guidance"], out["guidance_en"] = guidance_arrays(scored, cases)
    out = out.sort_values("priority_rank", na_position="last", kind="stable")
    return out.reset_index(drop=True)
