"""A province's ranking sorts in score bands, two at a time: the order must be the one sort's.

Heavy ties on the score and idle days (so case ids decide), -0.0 next to 0.0, infinities,
and rows equal on all three keys (which keep their input order).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.decide import _policy


@pytest.mark.parametrize("seed", range(3))
def test_banded_sort_is_the_single_sort(monkeypatch, seed):
    rng = np.random.default_rng(seed)
    n = 6000
    score = np.round(rng.normal(0, 0.05, n), 2)
    score[rng.random(n) < 0.05] = -0.0
    score[:3] = [np.inf, -np.inf, 0.0]
    idle = rng.integers(0, 5, n).astype(float)
    ids = pd.Series([f"(2024)京{rng.integers(0, 300)}执{rng.integers(0, 40)}号" for _ in range(n)])
    ids = ids.astype("string")
    monkeypatch.setattr(_policy, "_SPLIT_SORT_ROWS", 10**9)
    one = _policy.tie_rule_order(score, idle, ids)
    monkeypatch.setattr(_policy, "_SPLIT_SORT_ROWS", 100)
    banded = _policy.tie_rule_order(score, idle, ids)
    assert np.array_equal(banded, one)
    assert len(np.unique(banded)) == n
