"""Champion and challenger: which model's list does better on this court's randomised cases.

Rows whose rung was drawn at random (a randomised pilot or the exploration band:
``assignment_randomised`` with its ``assignment_propensity``) are an unconfounded test of a
list. For each model, every screening date's cases are ranked as the product ranks them
(:func:`crossexec_ml.evaluate.policy_gains`' ``priority`` list at the capacity share): the cases
in the top k get their suggested rung, the rest are kept. The value of a list L is the share of
cases it would have resolved had it been followed, estimated on the randomised rows by the
doubly robust (augmented IPW) mean

    V(L) = mean_i [ mu_i(L_i) + 1{a_i = L_i} / e_i * (y_i - mu_i(a_i)) ],

with a_i the drawn rung, e_i its recorded propensity, y_i the outcome and mu the average of the
two models' own probabilities. Because the propensities are known, V is unbiased whatever mu
is; a good mu only makes it less noisy. A row where both lists give the same rung adds exactly
the same to both, so the difference V(challenger) - V(champion) carries noise only from the
rows where the lists differ (they differ in their top k only). Intervals are a bootstrap of the
randomised rows (paired: the same resample for both); the verdict says "better", "worse" or
"no evidence" for the challenger against the champion. No truth is used.

The rest of the history (a person chose the rung) is judged by the truth-free criteria the
model itself is chosen by: held-out log-loss under the rung taken and a doubly robust list
value with cross-fitted estimated propensities
(:mod:`crossexec_ml.evaluate._compare_observed`). That evidence rests on a propensity model
and is reported beside the randomised verdict, never instead of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossexec_ml.errors import InputError
from crossexec_ml.evaluate._backtest import policy_gains
from crossexec_ml.evaluate._compare_observed import (
    ObservedEvidence,
    _clip,
    _clip1,
    observed_evidence,
)
from crossexec_ml.model import rung_of
from crossexec_ml.settings import LadderSettings, PrioritySettings, SelectionSettings

#: The verdicts of a comparison, for the challenger against the champion
#: (``no_randomised``: the history holds no randomised row, so there is no unbiased check).
VERDICTS_COMPARE: tuple[str, ...] = ("better", "no_evidence", "worse", "no_randomised")


@dataclass
class Comparison:
    """A champion/challenger comparison: randomised rows first, the observational rest beside.

    Attributes
    ----------
    names : tuple of str
        ``(champion, challenger)``.
    n_randomised : int
        Randomised rows used.
    value, value_ci : dict
        Each model's doubly robust resolution rate (had its list been followed) and its 95%
        bootstrap interval.
    n_matched : dict
        Randomised rows whose drawn rung equals the model's (the rows that carry its value).
    difference, difference_ci : float, tuple of float
        Challenger minus champion (rows where both lists agree add nothing), with its paired
        95% bootstrap interval.
    verdict : str
        One of :data:`VERDICTS_COMPARE`: ``better`` when the interval is above 0, ``worse``
        when below, ``no_evidence`` otherwise or when, where the lists differ, fewer than
        ``min_support`` drawn cases took either list's rung; ``no_randomised`` (values NaN)
        when the history holds no randomised row.
    rows : pandas.DataFrame
        Per randomised row: ``case_id, as_of_date``, the drawn rung, each list's rung, the
        outcome and the propensity.
    observed : ObservedEvidence or None
        The step-4 criteria on the non-randomised rows (None when there are none).
    """

    names: tuple[str, str]
    n_randomised: int
    value: dict[str, float]
    value_ci: dict[str, tuple[float, float]]
    n_matched: dict[str, int]
    difference: float
    difference_ci: tuple[float, float]
    verdict: str
    rows: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    observed: ObservedEvidence | None = field(repr=False, default=None)

    def to_json(self) -> dict[str, Any]:
        """The comparison as plain JSON values (the per-row table left out)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else float(x)

        return {
            "champion": self.names[0],
            "challenger": self.names[1],
            "n_randomised": self.n_randomised,
            "models": [
                {
                    "name": n,
                    "value": num(self.value[n]),
                    "ci_low": num(self.value_ci[n][0]),
                    "ci_high": num(self.value_ci[n][1]),
                    "n_matched": self.n_matched[n],
                }
                for n in self.names
            ],
            "difference": num(self.difference),
            "difference_ci": [num(x) for x in self.difference_ci],
            "verdict": self.verdict,
            "observed": None if self.observed is None else self.observed.to_json(self.names),
        }


def list_rungs(
    cases: pd.DataFrame,
    predict: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    share: float = 0.10,
    ladder: LadderSettings | None = None,
    priority: PrioritySettings | None = None,
) -> np.ndarray:
    """The rung a model's list gives each row: its suggestion in the top k of its date, else keep.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed rows, any number of screening dates (``as_of_date``).
    predict : callable
        ``cases -> probabilities`` (a model's ``predict_rungs``).
    share : float
        Capacity as a share of each date's cases (``capacity_k``'s rule).
    ladder, priority : settings, optional
        The policy the lists are drawn under (the champion's card, usually).

    Returns
    -------
    numpy.ndarray of int
        Rung index into ``RUNGS`` per row (0 = keep), aligned with ``cases``.
    """
    return _list_rungs(cases, predict(cases), share=share, ladder=ladder, priority=priority)


def _list_rungs(
    cases: pd.DataFrame,
    probs: pd.DataFrame,
    *,
    share: float,
    ladder: LadderSettings | None,
    priority: PrioritySettings | None,
) -> np.ndarray:
    """:func:`list_rungs` from probabilities already predicted (aligned with ``cases``)."""
    from crossexec_ml.decide import capacity_k

    out = np.zeros(len(cases), dtype=int)
    dates = pd.to_datetime(cases["as_of_date"]).to_numpy()
    probs = probs.reset_index(drop=True)
    for date in np.unique(dates):
        where = np.flatnonzero(dates == date)
        group = cases.iloc[where].reset_index(drop=True)
        k = capacity_k(len(group), share=share)
        top, codes = policy_gains(
            group, probs.iloc[where].reset_index(drop=True), k, ladder=ladder, priority=priority
        )["priority"]
        out[where[top]] = codes
    return out


def _usable_rows(history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The randomised and the observational rows with a rung taken and an outcome.

    A randomised row must carry its propensity in (0, 1]: one that does not is refused, since
    the unbiased check rests on it. A history with neither kind of row is refused.
    """
    known = history["cross_mode"].notna() & history["resolved_180d"].notna()
    flag = pd.Series(False, index=history.index)
    if "assignment_randomised" in history.columns:
        flag = history["assignment_randomised"].astype("boolean").fillna(False).astype(bool)
    randomised, observed = history[known & flag], history[known & ~flag]
    if randomised.empty and observed.empty:
        raise InputError(
            "the history holds no case with a cross-execution rung taken (cross_mode) and an "
            "outcome (resolved_180d): compare the models on a later export whose outcomes "
            "are known"
        )
    e = pd.to_numeric(randomised["assignment_propensity"], errors="coerce")
    bad = e.isna() | (e <= 0) | (e > 1)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} randomised row(s) have no propensity in (0, 1], e.g. case "
            f"{randomised.loc[bad, 'case_id'].iloc[0]}: fill assignment_propensity"
        )
    return randomised, observed


def _interval(sample: np.ndarray) -> tuple[float, float]:
    """95% percentile interval of a bootstrap sample (NaN for none)."""
    sample = sample[~np.isnan(sample)]
    if sample.size == 0:
        return (math.nan, math.nan)
    low, high = np.percentile(sample, [2.5, 97.5])
    return (float(low), float(high))


def compare_models(
    history: pd.DataFrame,
    champion: Callable[[pd.DataFrame], pd.DataFrame],
    challenger: Callable[[pd.DataFrame], pd.DataFrame],
    *,
    names: tuple[str, str] = ("champion", "challenger"),
    share: float = 0.10,
    ladder: LadderSettings | None = None,
    priority: PrioritySettings | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    propensity_floor: float | None = None,
    min_support: int = 30,
) -> Comparison:
    """Compare two models' lists: on a history's randomised rows, and on the rest beside them.

    Parameters
    ----------
    history : pandas.DataFrame
        Contract-typed historical rows; every row of a randomised row's screening date is
        ranked, so k is a share of the whole list, as in production. Use rows the models were
        not trained on (a later export), or the comparison favours the model that saw them.
    champion, challenger : callable
        ``cases -> probabilities`` (each model's ``predict_rungs``).
    names : tuple of str
        Labels of the two models.
    share : float
        Capacity as a share of each screening date's cases.
    ladder, priority : settings, optional
        The policy both lists are drawn under.
    n_boot : int
        Bootstrap resamples of the randomised rows (paired: the same rows for both).
    seed : int
        Seed of the bootstrap and of the propensity model's folds.
    propensity_floor : float, optional
        Smallest estimated propensity on the observational rows (default: the model
        selection's, :class:`~crossexec_ml.settings.SelectionSettings`).
    min_support : int
        Fewest rows, among those where the two lists differ, that must have taken each
        list's rung for a verdict other than ``no_evidence`` (a bootstrap of a handful of
        rows gives intervals far narrower than the truth: one row gives a point).

    Returns
    -------
    Comparison
        With ``verdict == "no_randomised"`` when no row was randomised; the observational
        evidence in ``observed``.

    Raises
    ------
    InputError
        When no row has both a rung taken and an outcome, or a randomised row lacks its
        propensity.
    """
    if propensity_floor is None:
        propensity_floor = SelectionSettings().propensity_floor
    history = history.reset_index(drop=True)
    randomised, observed = _usable_rows(history)
    # Rank every row of each screening date that holds a usable row: k is a share of that
    # date's whole list, as in production.
    dates = set(pd.to_datetime(pd.concat([randomised, observed])["as_of_date"]))
    ranked = history[pd.to_datetime(history["as_of_date"]).isin(dates)]
    place = pd.Series(np.arange(len(ranked)), index=ranked.index)
    frames = {
        name: fn(ranked).reset_index(drop=True)
        for name, fn in zip(names, (champion, challenger), strict=True)
    }
    ranks = {
        name: _list_rungs(ranked, frames[name], share=share, ladder=ladder, priority=priority)
        for name in names
    }
    probs = {name: frames[name].to_numpy(dtype=float) for name in names}

    def part(rows: pd.DataFrame) -> tuple[dict, dict]:
        at = place[rows.index].to_numpy()
        return {n: probs[n][at] for n in names}, {n: ranks[n][at] for n in names}

    evidence = None
    if not observed.empty:
        p_obs, l_obs = part(observed)
        evidence = observed_evidence(
            observed,
            p_obs,
            l_obs,
            names,
            propensity_floor=propensity_floor,
            min_support=min_support,
            n_boot=n_boot,
            seed=seed,
            ci=_interval,
        )
    if randomised.empty:
        nan = math.nan
        return Comparison(
            names=names,
            n_randomised=0,
            value=dict.fromkeys(names, nan),
            value_ci=dict.fromkeys(names, (nan, nan)),
            n_matched=dict.fromkeys(names, 0),
            difference=nan,
            difference_ci=(nan, nan),
            verdict="no_randomised",
            observed=evidence,
        )

    p_rand, lists = part(randomised)
    drawn = rung_of(randomised["cross_mode"]).cat.codes.to_numpy()
    y = randomised["resolved_180d"].astype(bool).to_numpy(dtype=float)
    e = pd.to_numeric(randomised["assignment_propensity"]).to_numpy(dtype=float)
    # mu: the two models' probabilities averaged, so neither is favoured by the baseline.
    mu = (p_rand[names[0]] + p_rand[names[1]]) / 2
    n = len(randomised)
    rows_i = np.arange(n)
    residual = (y - mu[rows_i, drawn]) / e
    dr = {name: mu[rows_i, lists[name]] + (lists[name] == drawn) * residual for name in names}
    value = {name: _clip1(float(dr[name].mean())) for name in names}

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    boot = {name: counts @ dr[name] / n for name in names}
    per_row = dr[names[1]] - dr[names[0]]
    diff_ci = _clip(_interval(counts @ per_row / n), -1.0)
    verdict = "better" if diff_ci[0] > 0 else "worse" if diff_ci[1] < 0 else "no_evidence"
    differ = lists[names[0]] != lists[names[1]]
    if min(int((differ & (lists[m] == drawn)).sum()) for m in names) < min_support:
        verdict = "no_evidence"  # too few drawn cases where the lists differ to tell them
    table = pd.DataFrame(
        {
            "case_id": randomised["case_id"].to_numpy(),
            "as_of_date": randomised["as_of_date"].to_numpy(),
            "drawn_rung": drawn,
            f"rung_{names[0]}": lists[names[0]],
            f"rung_{names[1]}": lists[names[1]],
            "resolved_180d": y.astype(bool),
            "assignment_propensity": e,
        }
    )
    return Comparison(
        names=names,
        n_randomised=n,
        value=value,
        value_ci={name: _clip(_interval(boot[name]), 0.0) for name in names},
        n_matched={name: int((lists[name] == drawn).sum()) for name in names},
        difference=float(np.clip(per_row.mean(), -1.0, 1.0)),
        difference_ci=diff_ci,
        verdict=verdict,
        rows=table,
        observed=evidence,
    )
