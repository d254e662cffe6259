"""The exploration band: a seeded, recorded lottery at the capacity cut.

Near rank k the list's own gains are within noise of each other, so which of those cases are
proposed barely matters to the expected result, and drawing them at random gives the bureau
an unconfounded test of the model on its own cases (issue "learning from its own decisions").
With a band of ``band`` (a share of the capacity k), ``m = round(band × k)`` (half up) cases
just above the cut and the ``m`` just below form the band; ``m`` of those ``2m`` are drawn into the
proposal uniformly without replacement, so

- the proposal still holds exactly ``k`` cases;
- every case ranked above the band is proposed (propensity 1) and every case below it is not
  (propensity 0), whatever the draw;
- every case in the band is proposed with probability exactly ``m / 2m = 1/2``.

A person still decides every case; the band only changes which cases are put in front of them.
Off by default (``band = 0`` leaves the list as it is).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ExplorationDraw:
    """One draw of the band, aligned with the ranked list (position 0 = rank 1).

    Attributes
    ----------
    proposed : numpy.ndarray of bool
        In the proposal after the draw (exactly ``k`` True).
    in_band : numpy.ndarray of bool
        In the band (drawn at random).
    proposal_propensity : numpy.ndarray of float
        Probability the case was proposed under the draw: 1, 0 or 1/2 in the band.
    band : float
        The band as a share of k.
    seed : int
        The seed of the draw.
    """

    proposed: np.ndarray
    in_band: np.ndarray
    proposal_propensity: np.ndarray
    band: float
    seed: int


def exploration_draw(n: int, k: int, band: float = 0.0, seed: int = 0) -> ExplorationDraw:
    """Draw the exploration band of a ranked list of ``n`` cases with capacity ``k``.

    Parameters
    ----------
    n : int
        Cases in the ranked list.
    k : int
        The capacity (how many are proposed), ``0 <= k <= n``.
    band : float
        Half-width of the band as a share of k, in [0, 1]: ``m = round(band × k)`` cases on
        each side of the cut, limited by the cases there are below the cut.
    seed : int
        Seed of the draw (recorded in the run's manifest); the same inputs give the same draw.

    Returns
    -------
    ExplorationDraw

    Raises
    ------
    ValueError
        When ``band`` is outside [0, 1] or ``k`` outside [0, n].

    Examples
    --------
    >>> d = exploration_draw(10, 4, band=0.5, seed=1)
    >>> int(d.proposed.sum()), d.proposal_propensity.tolist()
    (4, [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0])
    """
    if not 0.0 <= band <= 1.0:
        raise ValueError(
            f"the exploration band must be a share of the capacity in [0, 1], not {band}"
        )
    if not 0 <= k <= n:
        raise ValueError(f"the capacity k={k} must be between 0 and the list's {n} cases")
    # Half up, not Python's round-half-to-even (which makes a band of 0.5 at k=1 empty).
    m = min(int(np.floor(band * k + 0.5)), n - k)
    proposed = np.zeros(n, dtype=bool)
    proposed[: k - m] = True
    in_band = np.zeros(n, dtype=bool)
    in_band[k - m : k + m] = True
    propensity = proposed.astype(float)
    if m > 0:
        rng = np.random.default_rng(seed)
        drawn = rng.choice(np.arange(k - m, k + m), size=m, replace=False)
        proposed[drawn] = True
        propensity[in_band] = 0.5
    return ExplorationDraw(
        proposed=proposed,
        in_band=in_band,
        proposal_propensity=propensity,
        band=float(band),
        seed=int(seed),
    )


def explore_selection(
    order: np.ndarray,
    selected: np.ndarray,
    *,
    fixed: np.ndarray,
    eligible: np.ndarray,
    band: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the exploration band to a list's selection, row-aligned.

    The line the band is drawn on is the list in rank order restricted to the cases that may
    move: the selected cases not held by a floor (``fixed``), then the cases below the cut that
    have something to gain (``eligible``). A floor is never broken and a case with nothing to
    gain is never proposed.

    Parameters
    ----------
    order : numpy.ndarray of int
        Row positions of the ranked cohort, first to last.
    selected : numpy.ndarray of bool
        Row-aligned: in the top k before the draw.
    fixed : numpy.ndarray of bool
        Row-aligned: selected by a floor (stays selected).
    eligible : numpy.ndarray of bool
        Row-aligned: may be drawn in from below the cut (a positive gain).
    band, seed : float, int
        As in :func:`exploration_draw`.

    Returns
    -------
    (selected, proposal_propensity, in_band) : tuple of numpy.ndarray
        Row-aligned; the number selected is unchanged.
    """
    selected = np.asarray(selected, dtype=bool)
    above = order[selected[order] & ~np.asarray(fixed, dtype=bool)[order]]
    below = order[~selected[order] & np.asarray(eligible, dtype=bool)[order]]
    line = np.concatenate([above, below])
    draw = exploration_draw(len(line), len(above), band=band, seed=seed)
    out = selected.copy()
    out[line] = draw.proposed
    propensity = selected.astype(float)
    propensity[line] = draw.proposal_propensity
    in_band = np.zeros(len(selected), dtype=bool)
    in_band[line] = draw.in_band
    return out, propensity, in_band


def band_counts(scored: pd.DataFrame) -> tuple[int, int] | None:
    """How many cases of a scored list the exploration band held, and how many it drew in.

    Parameters
    ----------
    scored : pandas.DataFrame
        A scored list, with ``candidate`` and (when a band was drawn) ``proposal_propensity``.

    Returns
    -------
    (in_band, drawn) : tuple of int, or None
        None when the list has no band (no ``proposal_propensity`` column).
    """
    if "proposal_propensity" not in scored:
        return None
    p = scored["proposal_propensity"].to_numpy(dtype=float)
    in_band = (p > 0) & (p < 1)
    drawn = in_band & scored["candidate"].astype(bool).to_numpy()
    return int(in_band.sum()), int(drawn.sum())
