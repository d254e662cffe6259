"""The global stage's duplicate check: hashes decide the usual case, strings decide the rest.

Distinct key hashes prove distinct keys; equal hashes (a real duplicate or a 64-bit collision)
must go to the exact comparison, which refuses a duplicate and lets a collision through.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.jobs import PartitionError
from crossexec_ml.jobs._engines import _duplicate_error
from crossexec_ml.jobs._pieces import Piece


def _keys(ids, hashes):
    return pd.DataFrame(
        {
            "case_id": pd.Series(ids, dtype="string"),
            "as_of_date": pd.Timestamp("2026-06-30"),
            "piece": np.array([0, 0, 1], dtype=np.int32),
            "key_hash": np.array(hashes, dtype=np.uint64),
        }
    )


def _pieces():
    return [
        Piece(path="a.parquet", row_groups=(0,), first_row=0, n_rows=2),
        Piece(path="b.parquet", row_groups=(0,), first_row=0, n_rows=1),
    ]


def test_collision_of_hashes_is_not_a_duplicate():
    keys = _keys(["(2026)A执1号", "(2026)A执2号", "(2026)A执3号"], [7, 8, 7])
    _duplicate_error(keys, _pieces(), np.array([0, 1, 0]))  # no error


def test_same_key_across_pieces_is_refused_with_both_rows():
    keys = _keys(["(2026)A执1号", "(2026)A执2号", "(2026)A执1号"], [7, 8, 7])
    with pytest.raises(PartitionError, match=r"b\.parquet row 2.*duplicate: a\.parquet row 2"):
        _duplicate_error(keys, _pieces(), np.array([0, 1, 0]))
