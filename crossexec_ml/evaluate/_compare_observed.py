"""Champion and challenger on the rows whose rung was *not* drawn at random: step 4's criteria.

Most of a court's history is observational: a person chose the rung, for reasons the data
only partly show. On those rows :func:`crossexec_ml.evaluate.compare_models` reports the two
truth-free criteria the model is chosen by (:mod:`crossexec_ml.model`'s selection):

- the **log-loss** of each model's probability of the outcome under the rung actually taken,
  overall and per rung, with the paired difference (how well each predicts what happened);
- a **doubly robust value** of each model's list, as on the randomised rows but with an
  *estimated* propensity (a multinomial logistic regression of the rung taken on the case's
  features, its strength chosen by cross-validated log-loss) and an outcome model of this
  history (boosted trees of the outcome on the case and the rung taken), both cross-fitted
  (each row's from a fit that did not see it), the propensity floored. The outcome model is
  neither compared model's own, so no model grades itself where no case took its rung; and
  the value decides nothing unless, where the two lists differ, enough cases
  (``min_support``) took each list's rung.

Both are weaker evidence than the randomised rows: the DR value is unbiased only when the
propensity model or the outcome model is right, and neither is known to be. This part's
verdict therefore names a winner only when **both** criteria do (each interval excluding 0,
in the same direction): on a benchmark where the challenger was only slightly worse, the DR
value alone once called it better while its log-loss said worse (`benchmarks/compare_models.py
--challenger small`). It is reported beside, never instead of, the randomised verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossexec_ml.settings import RUNGS

_EPS = 1e-6

#: Regularisation strengths the propensity model chooses among (inverse, as scikit-learn's C).
_CS = (0.001, 0.01, 0.1, 1.0)


@dataclass
class ObservedEvidence:
    """The truth-free criteria of step 4 on a history's non-randomised rows.

    Attributes
    ----------
    n_rows : int
        Non-randomised rows with a rung taken and an outcome.
    log_loss : dict
        Per model: ``{"all": float, <rung>: float or None}``, the mean log-loss of its
        probability of the outcome under the rung taken (lower is better).
    log_loss_difference, log_loss_ci : float, tuple of float
        Challenger minus champion (negative: the challenger predicts better), with its paired
        95% bootstrap interval.
    value, value_ci : dict
        Each model's doubly robust resolution rate had its list been followed, with the
        estimated propensities, and its 95% bootstrap interval.
    difference, difference_ci : float, tuple of float
        Challenger minus champion value, with its paired 95% bootstrap interval.
    verdict : str
        ``better`` or ``worse`` for the challenger when its list value and its log-loss both
        say so (each interval excluding 0), else ``no_evidence``.
    value_verdict, log_loss_verdict : str
        What each criterion says on its own (``better``, ``worse``, ``no_evidence``): the
        list value says nothing while ``support`` is short, the log-loss nothing on fewer
        rows than that minimum.
    support : dict
        Per model, the rows among those where the two lists differ that took its rung: what
        its list value there rests on (else the outcome model's guess).
    propensity_floor : float
        Estimated propensities below it were raised to it (``n_floored`` rows).
    n_floored : int
    rows : pandas.DataFrame
        Per row: ``case_id, as_of_date``, the rung taken, each list's rung, the outcome and the
        estimated (floored) propensity of the rung taken.
    """

    n_rows: int
    log_loss: dict[str, dict[str, float | None]]
    log_loss_difference: float
    log_loss_ci: tuple[float, float]
    value: dict[str, float]
    value_ci: dict[str, tuple[float, float]]
    difference: float
    difference_ci: tuple[float, float]
    verdict: str
    value_verdict: str
    log_loss_verdict: str
    support: dict[str, int]
    propensity_floor: float
    n_floored: int
    rows: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def to_json(self, names: tuple[str, str]) -> dict[str, Any]:
        """The evidence as plain JSON values (the per-row table left out)."""
        return {
            "n_rows": self.n_rows,
            "models": [
                {
                    "name": n,
                    "log_loss": _num(self.log_loss[n]["all"]),
                    "log_loss_by_rung": {
                        r: _num(self.log_loss[n][r]) for r in RUNGS if r in self.log_loss[n]
                    },
                    "value": _num(self.value[n]),
                    "ci_low": _num(self.value_ci[n][0]),
                    "ci_high": _num(self.value_ci[n][1]),
                }
                for n in names
            ],
            "log_loss_difference": _num(self.log_loss_difference),
            "log_loss_ci": [_num(x) for x in self.log_loss_ci],
            "difference": _num(self.difference),
            "difference_ci": [_num(x) for x in self.difference_ci],
            "verdict": self.verdict,
            "value_verdict": self.value_verdict,
            "log_loss_verdict": self.log_loss_verdict,
            "support": [self.support[n] for n in names],
            "propensity_floor": self.propensity_floor,
            "n_floored": self.n_floored,
        }


def _num(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1 - _EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _design(cases: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The model's input columns of ``cases`` (numeric as float, categories as text)."""
    from crossexec_ml.model import add_features, model_features

    numeric, categorical = model_features()
    frame = add_features(cases.reset_index(drop=True))
    x = pd.DataFrame(
        {c: pd.to_numeric(frame[c].astype("Float64"), errors="coerce") for c in numeric}
    ).astype("float64")
    for c in categorical:
        x[c] = frame[c].astype("string").fillna("(missing)").to_numpy(dtype=object)
    return x, numeric, categorical


def _folds(n: int, folds: int, seed: int):
    """Cross-fitting splits (none for fewer than 100 rows: too few to hold any out)."""
    from sklearn.model_selection import KFold

    n_folds = min(folds, n // 50)
    if n_folds < 2:
        return []
    return list(KFold(n_folds, shuffle=True, random_state=seed).split(np.arange(n)))


def cross_fitted_propensity(
    cases: pd.DataFrame, taken: np.ndarray, *, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Probability of each row's rung taken, from a fit on the other folds.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed rows (the model's input columns are used).
    taken : numpy.ndarray of int
        Rung index into ``RUNGS`` per row.
    folds : int
        Cross-fitting folds (fewer when there are too few rows).
    seed : int
        Seed of the fold split.

    Returns
    -------
    numpy.ndarray
        One probability per row, not floored. Where nothing can be fitted (fewer than 100
        rows, a single rung taken, a rung absent from a fold's training rows) a row gets its
        rung's share of the whole history, the only thing known about it there: 1 when every
        row took the same rung.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    counts = np.bincount(taken, minlength=len(RUNGS))
    out = (counts / max(len(taken), 1))[taken].astype(float)
    splits = _folds(len(taken), folds, seed)
    if not splits or (counts > 0).sum() < 2:
        return out
    x, numeric, categorical = _design(cases)

    def pipe(model):
        scale = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
        return make_pipeline(
            ColumnTransformer(
                [
                    ("num", scale, numeric),
                    ("cat", OneHotEncoder(handle_unknown="ignore", min_frequency=20), categorical),
                ]
            ),
            model,
        )

    # The strength of the regularisation is chosen once, by cross-validated log-loss on all
    # rows, so a rung chosen at random comes out flat, not as the features' noise. A rung
    # taken by a handful of rows cannot be cross-validated: the middle strength then.
    c = 0.01
    if counts[counts > 0].min() >= 10:
        grid = GridSearchCV(
            pipe(LogisticRegression(max_iter=1000)),
            {"logisticregression__C": list(_CS)},
            cv=3,
            scoring="neg_log_loss",
        ).fit(x, taken)
        c = float(grid.best_params_["logisticregression__C"])
    for fit, held in splits:
        classes = np.unique(taken[fit])
        if classes.size < 2:
            continue
        model = pipe(LogisticRegression(C=c, max_iter=1000)).fit(x.iloc[fit], taken[fit])
        proba = model.predict_proba(x.iloc[held])
        column = {cl: j for j, cl in enumerate(classes)}
        known = np.isin(taken[held], classes)
        idx = np.array([column.get(t, 0) for t in taken[held]])
        out[held[known]] = proba[np.arange(len(held)), idx][known]
    return out


def cross_fitted_outcomes(
    cases: pd.DataFrame, taken: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """P(resolved) of each row under each rung, from a model of this history on the other folds.

    The doubly robust value's outcome model must not be either of the models being compared:
    where no case took a list's rung, the value is that model's guess, and a model would then
    be graded by its own (perhaps over-confident) probabilities. This one is a boosted tree
    ensemble (scikit-learn's histogram gradient boosting) of the outcome on the case and the
    rung taken, cross-fitted like the propensities.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed rows.
    taken : numpy.ndarray of int
        Rung index into ``RUNGS`` per row.
    y : numpy.ndarray of float
        1.0 resolved, 0.0 not.
    folds, seed : int
        As :func:`cross_fitted_propensity`.

    Returns
    -------
    numpy.ndarray
        ``(n, 4)``: each row's probability under keep and the three rungs. The history's
        resolution rate per rung taken (or overall) where nothing can be fitted.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier

    overall = float(y.mean()) if len(y) else 0.0
    by_rung = np.array(
        [float(y[taken == j].mean()) if (taken == j).any() else overall for j in range(4)]
    )
    out = np.tile(by_rung, (len(y), 1))
    splits = _folds(len(y), folds, seed)
    if not splits:
        return out
    x, _, categorical = _design(cases)
    for c in categorical:
        x[c] = x[c].astype("category")
    x["rung_taken"] = pd.Categorical(taken, categories=range(len(RUNGS)))
    for fit, held in splits:
        if np.unique(y[fit]).size < 2:
            out[held] = float(y[fit].mean())
            continue
        model = HistGradientBoostingClassifier(
            max_iter=150,
            learning_rate=0.08,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            categorical_features="from_dtype",
            early_stopping=False,
            random_state=seed,
        ).fit(x.iloc[fit], y[fit])
        rows = x.iloc[held]
        for j in range(len(RUNGS)):
            as_j = rows.assign(rung_taken=pd.Categorical([j] * len(rows), categories=range(4)))
            out[held, j] = model.predict_proba(as_j)[:, 1]
    return out


def observed_evidence(
    rows: pd.DataFrame,
    probs: dict[str, np.ndarray],
    lists: dict[str, np.ndarray],
    names: tuple[str, str],
    *,
    propensity_floor: float,
    min_support: int,
    n_boot: int,
    seed: int,
    ci,
) -> ObservedEvidence:
    """The step-4 criteria on non-randomised rows (see the module docstring).

    Parameters
    ----------
    rows : pandas.DataFrame
        The non-randomised rows with a rung taken and an outcome.
    probs : dict
        Per model, its ``(n, 4)`` probabilities of those rows (for the log-loss only: the
        list value's outcome model is :func:`cross_fitted_outcomes`, neither model's own).
    lists : dict
        Per model, the rung its list gives each row (0 = keep).
    names : tuple of str
        ``(champion, challenger)``.
    propensity_floor : float
        Smallest propensity used (the selection's floor).
    min_support : int
        Fewest rows, among those where the lists differ, that took each list's rung for the
        list value to decide anything.
    n_boot, seed : int
        Paired bootstrap resamples and their seed.
    ci : callable
        Bootstrap sample -> 95% interval (the randomised part's, for one rule).

    Returns
    -------
    ObservedEvidence
    """
    from crossexec_ml.model import rung_of

    taken = rung_of(rows["cross_mode"]).cat.codes.to_numpy()
    y = rows["resolved_180d"].astype(bool).to_numpy(dtype=float)
    raw = cross_fitted_propensity(rows, taken, seed=seed)
    e = np.maximum(raw, propensity_floor)
    mu = cross_fitted_outcomes(rows, taken, y, seed=seed)
    n = len(rows)
    i = np.arange(n)
    residual = (y - mu[i, taken]) / e
    dr = {name: mu[i, lists[name]] + (lists[name] == taken) * residual for name in names}
    loss = {name: _row_log_loss(y, probs[name][i, taken]) for name in names}
    differ = lists[names[0]] != lists[names[1]]
    support = {name: int((differ & (lists[name] == taken)).sum()) for name in names}

    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    per_row = dr[names[1]] - dr[names[0]]
    diff_ci = _clip(ci(counts @ per_row / n), -1.0)
    loss_diff = loss[names[1]] - loss[names[0]]
    loss_ci = ci(counts @ loss_diff / n)
    by_value = "better" if diff_ci[0] > 0 else "worse" if diff_ci[1] < 0 else "no_evidence"
    if min(support.values()) < min_support:
        # Where the lists differ, too few cases took one list's rung: its value there is the
        # outcome model's guess, not something this history observed.
        by_value = "no_evidence"
    # A lower log-loss is better: the challenger predicts better when its interval is below 0.
    by_loss = "better" if loss_ci[1] < 0 else "worse" if loss_ci[0] > 0 else "no_evidence"
    if n < min_support:
        by_loss = "no_evidence"
    verdict = by_value if by_value == by_loss else "no_evidence"

    def by_rung(name: str) -> dict[str, float | None]:
        out: dict[str, float | None] = {"all": float(loss[name].mean())}
        for j, rung in enumerate(RUNGS):
            sel = taken == j
            out[rung] = float(loss[name][sel].mean()) if sel.any() else None
        return out

    table = pd.DataFrame(
        {
            "case_id": rows["case_id"].to_numpy(),
            "as_of_date": rows["as_of_date"].to_numpy(),
            "taken_rung": taken,
            f"rung_{names[0]}": lists[names[0]],
            f"rung_{names[1]}": lists[names[1]],
            "resolved_180d": y.astype(bool),
            "propensity": e,
            **{f"outcome_{rung}": mu[:, j] for j, rung in enumerate(RUNGS)},
        }
    )
    return ObservedEvidence(
        n_rows=n,
        log_loss={name: by_rung(name) for name in names},
        log_loss_difference=float(loss_diff.mean()),
        log_loss_ci=loss_ci,
        value={name: _clip1(float(dr[name].mean())) for name in names},
        value_ci={name: _clip(ci(counts @ dr[name] / n), 0.0) for name in names},
        difference=float(np.clip(per_row.mean(), -1.0, 1.0)),
        difference_ci=diff_ci,
        verdict=verdict,
        value_verdict=by_value,
        log_loss_verdict=by_loss,
        support=support,
        propensity_floor=propensity_floor,
        n_floored=int((raw < propensity_floor).sum()),
        rows=table,
    )


def _clip1(x: float) -> float:
    return float(np.clip(x, 0.0, 1.0))


def _clip(interval: tuple[float, float], low: float) -> tuple[float, float]:
    """An interval kept inside what it estimates: a rate in [0, 1], a difference in [-1, 1].

    The doubly robust mean is not bounded (an outcome weighted by 1/propensity can push it
    past 100% on few rows); the quantity it estimates is, so the interval is cut to it.
    """
    a, b = interval
    if np.isnan(a) or np.isnan(b):
        return interval
    return (float(np.clip(a, low, 1.0)), float(np.clip(b, low, 1.0)))
