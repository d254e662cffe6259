"""The candidate learners of the resolution model, each a map from one design to log-odds.

Every learner reads the same inputs: ``z``, the main-effect columns of a case (standardised
numbers with missing indicators, one-hot categories, splines), whose first ``n_inter`` columns
also enter the rung interactions; and ``trees``, numbers and category codes for tree models,
the rung in the last column. Each returns the log-odds of resolution under the four rungs.

- ``s_linear_<scale>``: one penalised logistic regression on main effects, rung dummies, one
  "any reassignment" x features block and one rung x features block per rung; the blocks are
  scaled by ``<scale>`` before the L2 fit, so a smaller scale shrinks each rung's effect harder
  towards the shared one (1 = no extra shrinkage);
- ``t_linear``: one penalised logistic regression per rung (a T-learner): nothing is shared;
- ``s_boost``: gradient-boosted trees with the rung as an input (scikit-learn's histogram
  boosting: a well-kept library; LightGBM would add a dependency for no measured gain here);
- ``average``: the mean log-odds of ``s_linear_0.5``, ``t_linear`` and ``s_boost``.

Fitted parts are plain scikit-learn objects in dicts and lists, so model files need no new
trusted type.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

#: Members of the ``average`` learner.
_AVERAGE_OF: tuple[str, ...] = ("s_linear_0.5", "t_linear", "s_boost")

#: Inverse L2 strength of every logistic regression (standardised inputs).
_LINEAR_C = 0.02


_DESCRIPTIONS = {
    "s_linear": "penalised logistic S-learner with rung interactions (shared and per-rung "
    "effect blocks scaled by {scale} before an L2 fit)",
    "t_linear": "penalised logistic T-learner (one regression per rung)",
    "s_boost": "gradient-boosted S-learner (histogram trees, the rung as an input)",
    "average": "average on the log-odds scale of a penalised logistic S-learner (interaction "
    "scale 0.5), a logistic T-learner and a gradient-boosted S-learner",
}


def _describe_learner(learner: str) -> str:
    """One line on what a learner is, for the model card (English; the card shows the name)."""
    if learner.startswith("s_linear_"):
        text = _DESCRIPTIONS["s_linear"].format(scale=_scale(learner))
    else:
        text = _DESCRIPTIONS[learner]
    if _uses_baseline(learner):
        text += ", plus a boosted baseline that moves the level shared by the four rungs"
    return text


def _parts_of(learner: str) -> tuple[str, ...]:
    """The fitted parts a learner needs (``average`` needs three)."""
    return _AVERAGE_OF if learner == "average" else (learner,)


def _uses_baseline(learner: str) -> bool:
    """Whether the boosted baseline moves the shared level (all but the boosted S-learner,
    whose trees set the level themselves)."""
    return learner != "s_boost"


def _design(z: np.ndarray, zi: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The S-learner's design rows: main, rung dummies, shared and per-rung interactions."""
    r = np.stack([codes == j for j in (1, 2, 3)], axis=1).astype(float)
    blocks = [z, r, zi * (codes > 0)[:, None]] + [zi * r[:, [j]] for j in range(3)]
    return np.hstack(blocks)


def _scale(part: str) -> float:
    return float(part.rsplit("_", 1)[1])


def _logistic(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=_LINEAR_C, max_iter=5000, tol=1e-5).fit(x, y)


def _fit_part(
    part: str,
    z: np.ndarray,
    n_inter: int,
    trees: np.ndarray,
    codes: np.ndarray,
    y: np.ndarray,
    random_state: int = 0,
):
    """Fit one part on rows with the rung taken (``codes``) and the outcome ``y``.

    Returns
    -------
    object
        A LogisticRegression (``s_linear_*``), a list of four (``t_linear``) or a
        HistGradientBoostingClassifier (``s_boost``).
    """
    if part.startswith("s_linear_"):
        return _logistic(_design(z, z[:, :n_inter] * _scale(part), codes), y)
    if part == "t_linear":
        out = []
        for r in range(4):
            mask = codes == r
            # A rung with one outcome only (tiny data) borrows the pooled fit: an honest "no
            # evidence of a difference" rather than a refusal.
            if np.unique(y[mask]).size < 2:
                mask = np.ones_like(mask)
            out.append(_logistic(z[mask], y[mask]))
        return out
    if part == "s_boost":
        t = trees.copy()
        t[:, -1] = codes
        return HistGradientBoostingClassifier(
            learning_rate=0.2,
            max_iter=60,
            max_leaf_nodes=15,
            min_samples_leaf=40,
            l2_regularization=1.0,
            early_stopping=False,
            random_state=random_state,
        ).fit(t, y)
    raise ValueError(f"unknown learner part {part!r}")


def _rowdot(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``a @ w`` row by row, each row summed on its own.

    BLAS's matrix-vector kernels round a row differently depending on where it falls in the
    block (the last rows of a chunk take another kernel), so the same case could get scores
    differing in the 17th digit depending on which other cases were scored with it. einsum's
    loop sums each row by itself, in a fixed order, so a case's scores depend on that case
    alone and a partitioned province-scale run ranks exactly like one in-memory run
    (``tests/test_model.py`` checks this).
    """
    return np.einsum("ij,j->i", a, w)


def _part_logits(part: str, fitted, z: np.ndarray, n_inter: int, trees: np.ndarray | None):
    """Log-odds ``(n, 4)`` of one fitted part; ``trees`` (rung column free) for ``s_boost``."""
    out = np.empty((len(z), 4))
    if part.startswith("s_linear_"):
        zi = z[:, :n_inter] * _scale(part)
        coef, b0 = fitted.coef_[0], fitted.intercept_[0]
        k, m = z.shape[1], zi.shape[1]
        main = _rowdot(z, coef[:k]) + b0
        shared = _rowdot(zi, coef[k + 3 : k + 3 + m])
        out[:, 0] = main
        for j in range(3):
            own = coef[k + 3 + m * (j + 1) : k + 3 + m * (j + 2)]
            out[:, j + 1] = main + coef[k + j] + shared + _rowdot(zi, own)
        return out
    if part == "t_linear":
        for r, lr in enumerate(fitted):
            out[:, r] = _rowdot(z, lr.coef_[0]) + lr.intercept_[0]
        return out
    if part == "s_boost":
        t = trees
        for r in range(4):
            t[:, -1] = r
            out[:, r] = fitted.decision_function(t)
        return out
    raise ValueError(f"unknown learner part {part!r}")


def _learner_logits(learner: str, parts: dict, z, n_inter, trees) -> np.ndarray:
    """Log-odds of a learner from its fitted parts: the mean over them."""
    names = _parts_of(learner)
    out = _part_logits(names[0], parts[names[0]], z, n_inter, trees)
    if len(names) == 1:
        return out
    for name in names[1:]:
        out += _part_logits(name, parts[name], z, n_inter, trees)
    return out / len(names)
