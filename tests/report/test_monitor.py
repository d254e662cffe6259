"""Drift and freshness checks, and carry-over from the previous list."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import make_cases
from crossexec_ml.report import carry_over, drift_report, psi
from crossexec_ml.settings import MonitorSettings

RUN = dt.date(2026, 11, 10)  # 10 days after the generator's screening date


@pytest.fixture(scope="module")
def runs():
    a = make_cases(n_history=0, n_current=2000, seed=1).current
    b = make_cases(n_history=0, n_current=2000, seed=2).current
    return a, b


def test_psi_by_hand():
    ref = np.repeat(np.arange(10.0), 100)
    assert psi(ref, ref) == pytest.approx(0.0)
    # everything moves into the top decile: 9 bins from .1 to 1e-4, one from .1 to 1
    shifted = np.full(1000, 9.0)
    expected = 9 * (1e-4 - 0.1) * np.log(1e-4 / 0.1) + (1 - 0.1) * np.log(1 / 0.1)
    assert psi(ref, shifted) == pytest.approx(expected)
    assert np.isnan(psi([], [1.0]))


def test_same_population_is_ok(runs):
    a, b = runs
    report = drift_report(b, a, run_date=RUN)
    assert report.outcome == "ok", report.alarms
    assert set(report.checks["check"]) >= {"psi", "unseen_categories", "staleness_days"}


def test_shifted_feature_and_more_missing_are_alarms(runs):
    a, b = runs
    b = b.copy()
    b["days_since_last_action"] = b["days_since_last_action"] * 4
    b["handler_caseload"] = b["handler_caseload"].where(np.arange(len(b)) % 3 != 0)
    report = drift_report(b, a, run_date=RUN)
    assert report.outcome == "drift"
    text = " ".join(report.alarms)
    assert "days_since_last_action: distribution shifted" in text
    assert "handler_caseload:" in text and "more rows are missing" in text


def test_stale_input(runs):
    a, b = runs
    report = drift_report(b, a, run_date=dt.date(2027, 3, 1))
    assert report.outcome == "drift"
    assert any("stale" in m for m in report.alarms)
    looser = drift_report(
        b, a, run_date=dt.date(2027, 3, 1), settings=MonitorSettings(stale_days=200)
    )
    assert looser.outcome == "ok"


def test_unseen_category_and_flat_scores(runs):
    a, b = runs
    b = b.copy()
    a = a.copy()
    a["debtor_status"] = pd.Categorical(
        ["active"] * len(a), categories=a["debtor_status"].cat.categories
    )
    scored = pd.DataFrame({"p_cross": np.full(len(b), 0.2), "p_keep": np.full(len(b), 0.1)})
    report = drift_report(b, a, scored=scored, run_date=RUN)
    text = " ".join(report.alarms)
    assert "debtor_status:" in text and "never seen before" in text
    assert "all scores are (nearly) equal" in text


def test_carry_over_marks_previous_candidates_and_decisions():
    prev = pd.DataFrame(
        {"case_id": ["A", "B", "C"], "priority_rank": [1, 2, 3], "candidate": [True, True, False]}
    )
    now = pd.DataFrame({"case_id": ["B", "A", "C", "D"], "priority_rank": [1, 2, 3, 4]})
    out = carry_over(now, prev, {"A": "keep"})
    assert out["previous_rank"].tolist() == [2, 1, 3, pd.NA]
    assert out["carried_over"].tolist() == [True, False, False, False]  # A was decided
    assert out["decided_action"].tolist()[1] == "keep"
    first = carry_over(now, None)
    assert not first["carried_over"].any() and first["previous_rank"].isna().all()
