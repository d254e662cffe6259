"""The generator plays the next half-year: outcomes of the current cases given what was done.

For follow-up tests, the demo and notebook 07: after leaders decided some current cases, each
case's outcome over the next 180 days is drawn from the truth file's probability of the rung it
was actually put on (``keep`` when nobody decided it), so the realised rates of a follow-up can
be checked against the rates the truth expected. The export has the current rows with the
history columns filled (``cross_mode``, ``cross_date``, the outcomes, ``outcome_date``), as a
court's later export would.

The closure modes, settlement share and recovered shares below are invented, like the rest of
the generator (DOMAIN.md); only ``resolved_180d`` ~ Bernoulli(true p of the rung taken) matters
for the follow-up's checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossexec_ml.data._contract import CROSS_MODE_TO_RUNG
from crossexec_ml.settings import RUNGS

# [invented] shares of the outcome draw; see the module docstring.
_SETTLEMENT_SHARE = 0.35
_UNRESOLVED_MODES = ("terminate_current", "terminated", "open")
_UNRESOLVED_P = (0.35, 0.05, 0.60)
_WINDOW_DAYS = 180
# The cross_mode a rung is recorded under (the higher court's request as 提级 ``elevated``).
_RUNG_TO_MODE = {
    rung: next(m for m, r in CROSS_MODE_TO_RUNG.items() if r == rung) for rung in RUNGS
}


def play_half_year(
    current: pd.DataFrame,
    truth: pd.DataFrame,
    rung_taken: pd.Series | None = None,
    *,
    decided_on: pd.Series | None = None,
    randomised: pd.Series | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The current cases six months later: outcomes drawn from the truth of the rung taken.

    Parameters
    ----------
    current : pandas.DataFrame
        The current cases (contract columns), one row per case.
    truth : pandas.DataFrame
        The generator's truth file (``case_id, as_of_date, p_keep, p_intra_team, ...``); it
        must cover every current case at its as-of date.
    rung_taken : pandas.Series, optional
        Case id -> rung (one of ``RUNGS``) the case was put on by a decision; cases not in it
        were kept. Default: every case kept.
    decided_on : pandas.Series, optional
        Case id -> date of the decision; the 180-day window and ``cross_date`` start there.
        Default: the case's ``as_of_date``.
    randomised : pandas.Series, optional
        Case id -> the probability with which its action was drawn (the exploration band's
        ``proposal_propensity``); those cases get ``assignment_randomised`` True and that
        ``assignment_propensity``, as a court's later export carries them.
    seed : int
        Seed of the draw; the same inputs and seed give the same export.

    Returns
    -------
    pandas.DataFrame
        ``current`` with ``cross_mode``, ``cross_date``, ``resolved_180d``,
        ``amount_recovered_180d``, ``closure_mode_180d``, ``new_petition_180d``,
        ``assignment_randomised``, ``assignment_propensity`` and ``outcome_date`` filled
        (``outcome_date`` empty while open), plus ``p_taken``: the truth's probability of
        resolution under the rung taken.

    Raises
    ------
    ValueError
        When the truth does not cover a current case, a rung is unknown, ``rung_taken``,
        ``decided_on`` or ``randomised`` name a case that is not current, or a propensity is
        outside (0, 1].
    """
    rng = np.random.default_rng(seed)
    out = current.copy()
    key = ["case_id", "as_of_date"]
    probs = truth.assign(as_of_date=pd.to_datetime(truth["as_of_date"]))
    joined = out[key].assign(as_of_date=pd.to_datetime(out["as_of_date"]))
    joined = joined.merge(probs, on=key, how="left", validate="one_to_one")
    missing = joined["p_keep"].isna()
    if missing.any():
        raise ValueError(
            f"the truth has no probabilities for {int(missing.sum())} current case(s), e.g. "
            f"{joined.loc[missing, 'case_id'].iloc[0]}: pass the truth written with these cases"
        )
    ids = out["case_id"].astype(str).astype(object)
    known_ids = set(ids)
    for what, given in (
        ("rung_taken", rung_taken),
        ("decided_on", decided_on),
        ("randomised", randomised),
    ):
        stray = [] if given is None else sorted(set(map(str, given.index)) - known_ids)
        if stray:
            # A mistyped case number would otherwise be played as a kept case, silently.
            raise ValueError(
                f"{what} names {len(stray)} case(s) not among the current cases, e.g. "
                f"{stray[0]}: pass the case numbers exactly as in the current cases"
            )
    if randomised is not None:
        p_given = pd.to_numeric(randomised, errors="coerce")
        bad = p_given.isna() | (p_given <= 0) | (p_given > 1)
        if bad.any():
            raise ValueError(
                f"randomised gives case {bad[bad].index[0]} the propensity "
                f"{randomised[bad].iloc[0]!r}: the contract's assignment_propensity is in (0, 1]"
            )
    chosen = {} if rung_taken is None else {str(k): v for k, v in rung_taken.items()}
    taken = ids.map(lambda case: chosen.get(case, "keep"))
    unknown = sorted(set(taken) - set(RUNGS))
    if unknown:
        raise ValueError(f"unknown rung(s) {unknown}: use one of {list(RUNGS)}")
    p_taken = np.choose(
        taken.map({r: i for i, r in enumerate(RUNGS)}).to_numpy(),
        [joined[f"p_{r}"].to_numpy(dtype=float) for r in RUNGS],
    )
    start = pd.to_datetime(out["as_of_date"])
    if decided_on is not None:
        when = {str(k): v for k, v in decided_on.items()}
        start = pd.to_datetime(ids.map(lambda case: when.get(case))).fillna(start)

    n = len(out)
    resolved = rng.random(n) < p_taken
    settled = resolved & (rng.random(n) < _SETTLEMENT_SHARE)
    unresolved = rng.choice(np.array(_UNRESOLVED_MODES), size=n, p=_UNRESOLVED_P)
    closure = np.where(
        resolved, np.where(settled, "settlement_performed", "fully_executed"), unresolved
    )
    outstanding = out["amount_outstanding"].to_numpy(dtype=float)
    share = np.where(settled, rng.uniform(0.5, 0.9, n), 1.0)
    days = rng.integers(1, _WINDOW_DAYS + 1, n)
    crossed = taken != "keep"

    out["cross_mode"] = taken.map(_RUNG_TO_MODE).to_numpy()
    out["cross_date"] = start.where(crossed.to_numpy()).to_numpy()
    out["resolved_180d"] = resolved
    out["amount_recovered_180d"] = np.where(resolved, np.round(outstanding * share, 2), 0.0)
    out["closure_mode_180d"] = closure
    out["new_petition_180d"] = ~resolved & (rng.random(n) < 0.1)
    out["outcome_date"] = (start + pd.to_timedelta(days, unit="D")).where(closure != "open")
    chance = {} if randomised is None else {str(k): float(v) for k, v in randomised.items()}
    propensity = ids.map(lambda case: chance.get(case, np.nan)).astype(float)
    out["assignment_randomised"] = propensity.notna().to_numpy()
    out["assignment_propensity"] = propensity.to_numpy()
    out["p_taken"] = p_taken
    return out
