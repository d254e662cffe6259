"""The exploration band: outside it nothing changes; inside it, propensities are exactly 1/2."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crossexec_ml.decide import exploration_draw


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(0, 400),
    k_share=st.floats(0, 1),
    band=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_band_never_changes_the_proposal_outside_it(n, k_share, band, seed):
    k = int(round(k_share * n))
    draw = exploration_draw(n, k, band=band, seed=seed)
    without = np.arange(n) < k
    assert draw.proposed.sum() == k
    assert np.array_equal(draw.proposed[~draw.in_band], without[~draw.in_band])
    # The band straddles the cut symmetrically, as wide on each side.
    positions = np.flatnonzero(draw.in_band)
    assert (positions < k).sum() == (positions >= k).sum()
    assert set(draw.proposal_propensity[draw.in_band]) <= {0.5}
    assert np.array_equal(draw.proposal_propensity[~draw.in_band], without[~draw.in_band] * 1.0)


def test_band_inclusion_frequencies_match_the_recorded_propensity():
    n, k, band = 50, 10, 0.3  # m = 3: six cases drawn three at a time
    counts = np.zeros(n)
    seeds = 4000
    for seed in range(seeds):
        counts += exploration_draw(n, k, band=band, seed=seed).proposed
    draw = exploration_draw(n, k, band=band, seed=0)
    assert draw.in_band.sum() == 6
    freq = counts / seeds
    # Binomial sd of a frequency at p = 1/2 over 4,000 draws is 0.008: 0.03 is ~4 sd.
    assert np.abs(freq[draw.in_band] - 0.5).max() < 0.03
    assert np.array_equal(freq[~draw.in_band], draw.proposal_propensity[~draw.in_band])


def test_the_draw_is_seeded_and_a_zero_band_changes_nothing():
    a = exploration_draw(100, 20, band=0.2, seed=7)
    b = exploration_draw(100, 20, band=0.2, seed=7)
    c = exploration_draw(100, 20, band=0.2, seed=8)
    assert np.array_equal(a.proposed, b.proposed)
    assert not np.array_equal(a.proposed, c.proposed)
    plain = exploration_draw(100, 20)
    assert np.array_equal(plain.proposed, np.arange(100) < 20) and not plain.in_band.any()


def test_a_band_wider_than_the_tail_is_cut_to_the_cases_below():
    draw = exploration_draw(12, 10, band=1.0, seed=0)
    assert draw.in_band.sum() == 4  # two below the cut, two above
    assert draw.proposed.sum() == 10


@pytest.mark.parametrize(("n", "k", "band"), [(10, 4, -0.1), (10, 4, 1.5), (10, 11, 0.1)])
def test_out_of_range_arguments_are_refused(n, k, band):
    with pytest.raises(ValueError, match="band|capacity"):
        exploration_draw(n, k, band=band)


def test_band_counts_of_a_list():
    import pandas as pd

    from crossexec_ml.decide import band_counts

    scored = pd.DataFrame(
        {
            "candidate": [True, True, False, True, False],
            "proposal_propensity": [1, 0.5, 0.5, 0.5, 0],
        }
    )
    assert band_counts(scored) == (3, 2)
    assert band_counts(scored.drop(columns="proposal_propensity")) is None


def test_the_band_size_rounds_half_up():
    # round(0.5) is 0 in Python (half to even): a band of 0.5 at k=1 would hold nothing.
    draw = exploration_draw(4, 1, 0.5, seed=0)
    assert draw.in_band.sum() == 2  # one case above the cut, one below
    assert sorted(draw.proposal_propensity) == [0.0, 0.0, 0.5, 0.5]
    assert exploration_draw(10, 5, 0.5, seed=0).in_band.sum() == 6  # 2.5 -> 3 each side
