"""Which rung of the ladder to suggest, from the four resolution probabilities.

The national rule (法发〔2024〕9号) is "the cheapest mode that works": among the rungs the
ladder still allows, suggest the cheapest whose gain over keeping the case is close to the
best; suggest ``keep`` when no rung adds enough, because reassigning a case with nothing to
find wastes a handler that another case needs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossexec_ml.settings import PROB_COLUMNS, RUNGS, LadderSettings

# ladder_stage (the highest rung already tried) -> index into RUNGS
_STAGE_INDEX = {"original": 0, "intra_team": 1, "inter_team": 2, "higher_court": 3}


def _stage_index(ladder_stage: pd.Series) -> np.ndarray:
    """Index into RUNGS of each case's stage; missing or unknown is ``original`` (0).

    Read through category codes (one small lookup table), not a per-cell text map: on a
    province's million cases the map alone cost more than choosing the rungs.
    """
    values = ladder_stage.array
    if not isinstance(values, pd.Categorical):
        values = pd.Categorical(ladder_stage.astype(object), categories=list(_STAGE_INDEX))
    lookup = np.array([_STAGE_INDEX.get(str(c), 0) for c in values.categories] + [0], dtype=int)
    # Code -1 (missing) reads the table's last entry, 0.
    return lookup[np.asarray(values.codes)]


def allowed_rungs(ladder_stage: pd.Series | None, n: int, settings: LadderSettings) -> np.ndarray:
    """Boolean matrix ``(n, 3)``: may each case go to intra_team, inter_team, higher_court.

    Parameters
    ----------
    ladder_stage : pandas.Series or None
        The contract's ``ladder_stage``; missing is read as ``original`` (never reassigned).
    n : int
        Number of cases.
    settings : LadderSettings
        ``respect_ladder`` switches the rule off.

    Returns
    -------
    numpy.ndarray of bool
    """
    allowed = np.ones((n, 3), dtype=bool)
    if ladder_stage is None or not settings.respect_ladder:
        return allowed
    stage = _stage_index(ladder_stage)
    rung_index = np.arange(1, 4)
    allowed = rung_index[None, :] > stage[:, None]
    allowed[:, 2] = True  # the higher court can always be asked (again)
    return allowed


def suggest_rung(
    probs: pd.DataFrame,
    ladder_stage: pd.Series | None = None,
    settings: LadderSettings | None = None,
) -> pd.DataFrame:
    """Suggest a rung per case and report its probability and uplift.

    Parameters
    ----------
    probs : pandas.DataFrame
        Columns ``p_keep``, ``p_intra_team``, ``p_inter_team``, ``p_higher_court``.
    ladder_stage : pandas.Series, optional
        Highest rung already tried, aligned with ``probs``.
    settings : LadderSettings, optional

    Returns
    -------
    pandas.DataFrame
        ``suggested_rung`` (categorical over the four rungs), ``p_cross`` (probability under the
        suggested rung), ``uplift`` (``p_cross - p_keep``; 0 for ``keep``) and ``best_gain``
        (largest gain of any allowed rung, whether or not it clears ``min_gain``).

    Examples
    --------
    >>> p = pd.DataFrame({"p_keep": [0.05], "p_intra_team": [0.20],
    ...                   "p_inter_team": [0.21], "p_higher_court": [0.30]})
    >>> suggest_rung(p)["suggested_rung"].tolist()
    ['higher_court']
    """
    s = settings or LadderSettings()
    p = probs[list(PROB_COLUMNS)].to_numpy(dtype=float)
    n = len(p)
    allowed = allowed_rungs(ladder_stage, n, s)
    # Column by column (three rungs): reductions along a row of three are slow in numpy.
    masked = [np.where(allowed[:, j], p[:, j + 1] - p[:, 0], -np.inf) for j in range(3)]
    best = np.maximum(np.maximum(masked[0], masked[1]), masked[2])
    # The cheapest allowed rung within close_share of the best gain; failing that (no rung
    # gains anything) the first rung with the best gain.
    floor = s.close_share * best
    close = [allowed[:, j] & (masked[j] >= floor) & (masked[j] > 0) for j in range(3)]
    top = [masked[j] == best for j in range(3)]
    choice = np.where(
        close[0] | close[1] | close[2],
        np.where(close[0], 0, np.where(close[1], 1, 2)),
        np.where(top[0], 0, np.where(top[1], 1, 2)),
    )
    act = best >= s.min_gain
    rung_idx = np.where(act, choice + 1, 0)
    p_cross = p[np.arange(n), rung_idx]
    return pd.DataFrame(
        {
            "suggested_rung": pd.Categorical.from_codes(rung_idx, categories=list(RUNGS)),
            "p_cross": p_cross,
            "uplift": p_cross - p[:, 0],
            "best_gain": best,
        },
        index=probs.index,
    )


def _flag(s: pd.Series | None, n: int) -> np.ndarray:
    if s is None:
        return np.zeros(n, dtype=bool)
    return s.astype("boolean").fillna(False).to_numpy(dtype=bool)


def vulnerable(cases: pd.DataFrame) -> np.ndarray:
    """Livelihood case or vulnerable applicant (missing counts as not)."""
    n = len(cases)
    return _flag(cases.get("is_livelihood"), n) | _flag(cases.get("applicant_vulnerable"), n)
