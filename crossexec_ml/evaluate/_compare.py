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
from crossexec_ml.model import rung_of
from crossexec_ml.settings import LadderSettings, PrioritySettings

#: The verdicts of a comparison, for the challenger against the champion.
VERDICTS_COMPARE: tuple[str, ...] = ("better", "no_evidence", "worse")


@dataclass
class Comparison:
    """A champion/challenger comparison on randomised rows.

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
        when below, ``no_evidence`` otherwise.
    rows : pandas.DataFrame
        Per randomised row: ``case_id, as_of_date``, the drawn rung, each list's rung, the
        outcome and the propensity.
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


def _randomised_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The usable randomised rows, or a refusal saying what is missing."""
    if "assignment_randomised" not in history.columns:
        raise InputError(
            "the history has no assignment_randomised column: a comparison needs cases whose "
            "rung was drawn at random (a pilot or the exploration band)"
        )
    flag = history["assignment_randomised"].fillna(False).astype(bool)
    usable = flag & history["cross_mode"].notna() & history["resolved_180d"].notna()
    rows = history[usable]
    if rows.empty:
        raise InputError(
            "the history holds no randomised case with an outcome: run an exploration band "
            "(score --explore) or a pilot, and compare once their outcomes are known"
        )
    e = pd.to_numeric(rows["assignment_propensity"], errors="coerce")
    bad = e.isna() | (e <= 0) | (e > 1)
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} randomised row(s) have no propensity in (0, 1], e.g. case "
            f"{rows.loc[bad, 'case_id'].iloc[0]}: fill assignment_propensity"
        )
    return rows


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
) -> Comparison:
    """Compare two models' lists on the randomised rows of a history.

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
        Seed of the bootstrap.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        When the history has no usable randomised row.
    """
    history = history.reset_index(drop=True)
    rows = _randomised_rows(history)
    dates = set(pd.to_datetime(rows["as_of_date"]))
    ranked = history[pd.to_datetime(history["as_of_date"]).isin(dates)]
    position = pd.Series(np.arange(len(ranked)), index=ranked.index)[rows.index].to_numpy()
    drawn = rung_of(rows["cross_mode"]).cat.codes.to_numpy()
    y = rows["resolved_180d"].astype(bool).to_numpy(dtype=float)
    e = pd.to_numeric(rows["assignment_propensity"]).to_numpy(dtype=float)
    probs = {
        name: fn(ranked).reset_index(drop=True)
        for name, fn in zip(names, (champion, challenger), strict=True)
    }
    lists = {
        name: _list_rungs(ranked, probs[name], share=share, ladder=ladder, priority=priority)[
            position
        ]
        for name in names
    }
    # mu: the two models' probabilities averaged, so neither is favoured by the baseline.
    mu = (probs[names[0]].to_numpy() + probs[names[1]].to_numpy())[position] / 2
    n = len(rows)
    rows_i = np.arange(n)
    residual = (y - mu[rows_i, drawn]) / e
    dr = {name: mu[rows_i, lists[name]] + (lists[name] == drawn) * residual for name in names}
    value = {name: float(dr[name].mean()) for name in names}

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    boot = {name: counts @ dr[name] / n for name in names}
    per_row = dr[names[1]] - dr[names[0]]
    diff = counts @ per_row / n

    def ci(sample: np.ndarray) -> tuple[float, float]:
        sample = sample[~np.isnan(sample)]
        if sample.size == 0:
            return (math.nan, math.nan)
        low, high = np.percentile(sample, [2.5, 97.5])
        return (float(low), float(high))

    diff_ci = ci(diff)
    verdict = "better" if diff_ci[0] > 0 else "worse" if diff_ci[1] < 0 else "no_evidence"
    table = pd.DataFrame(
        {
            "case_id": rows["case_id"].to_numpy(),
            "as_of_date": rows["as_of_date"].to_numpy(),
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
        value_ci={name: ci(boot[name]) for name in names},
        n_matched={name: int((lists[name] == drawn).sum()) for name in names},
        difference=float(per_row.mean()),
        difference_ci=diff_ci,
        verdict=verdict,
        rows=table,
    )
