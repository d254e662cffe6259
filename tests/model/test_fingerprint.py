"""Case fingerprints: what they hash, and decisions recorded under the earlier fingerprint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import make_cases, read_cases
from crossexec_ml.jobs import score_cases, score_rows
from crossexec_ml.model import CrossExecModel, case_fingerprint
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample" / "current.csv"


@pytest.fixture(scope="module")
def model_and_cases():
    data = make_cases(n_history=1500, n_current=120, seed=8)
    return CrossExecModel().fit(data.history), data.current.reset_index(drop=True)


def test_fingerprint_follows_facts_not_the_clock_or_the_id():
    cases = read_cases(SAMPLE).head(5).reset_index(drop=True)
    base = case_fingerprint(cases)
    assert base.str.fullmatch(r"[0-9a-f]{16}").all() and base.is_unique
    later = cases.copy()
    later["as_of_date"] += pd.Timedelta(days=30)
    later["days_since_last_action"] += 30
    later["days_since_last_asset_query"] = later["days_since_last_asset_query"] + 30
    assert (case_fingerprint(later) == base).all()
    renamed = cases.copy()
    renamed["case_id"] = renamed["case_id"] + "X"
    assert (case_fingerprint(renamed) == base).all()
    assert (
        case_fingerprint(renamed, include_case_id=True)
        != case_fingerprint(cases, include_case_id=True)
    ).all()
    changed = cases.copy()
    changed.loc[0, "petition_count"] = changed.loc[0, "petition_count"] + 1
    changed.loc[1, "handler_id"] = "H999"
    changed.loc[2, "debtor_status"] = (
        "bankruptcy" if cases.loc[2, "debtor_status"] != "bankruptcy" else "active"
    )
    moved = case_fingerprint(changed) != base
    assert moved.tolist() == [True, True, True, False, False]


def test_earlier_fingerprint_is_the_one_earlier_builds_wrote():
    # Values written by the build before the case id left the fingerprint (commit f2827a1),
    # for the first sample rows: ledgers from then hold exactly these.
    cases = read_cases(SAMPLE).head(3)
    assert case_fingerprint(cases, include_case_id=True).tolist() == [
        "1184aae250c4b928",
        "35d7a880be0fa557",
        "b149cc15ab414bc4",
    ]


def test_decision_under_either_fingerprint_is_honoured(model_and_cases):
    model, cases = model_and_cases
    first = score_cases(model, cases)
    cid = first["case_id"].iloc[0]
    row = cases[cases["case_id"] == cid]
    for fp in (case_fingerprint(row).iloc[0], case_fingerprint(row, include_case_id=True).iloc[0]):
        rows = score_rows(model, cases, decisions={cid: {"action": "keep", "case_fingerprint": fp}})
        mine = rows[rows["case_id"] == cid].iloc[0]
        assert mine["decided_action"] == "keep" and not mine["stalled"]
    # a fingerprint of other facts: the case is proposed again, its decision still shown
    rows = score_rows(
        model, cases, decisions={cid: {"action": "keep", "case_fingerprint": "0" * 16}}
    )
    mine = rows[rows["case_id"] == cid].iloc[0]
    assert mine["decided_action"] == "keep" and mine["stalled"]


def test_hex_digits_match_python_formatting():
    from crossexec_ml.model._features import _hex16

    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            np.array([0, 1, 15, 16, 255, 2**63, 2**64 - 1], dtype=np.uint64),
            rng.integers(0, 2**63, 500, dtype=np.int64).view(np.uint64) * np.uint64(3),
        ]
    )
    assert list(_hex16(values)) == [f"{int(v):016x}" for v in values]
