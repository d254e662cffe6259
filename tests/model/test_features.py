"""Derived features, the five hard-bone flags, the stalled cohort and the rung mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crossexec_ml.data import validate_frame
from crossexec_ml.model import (
    DERIVED_FEATURES,
    add_features,
    hard_bone_flags,
    model_features,
    rung_of,
    stalled_cohort,
)
from crossexec_ml.settings import CohortSettings, FlagSettings
from tests.conftest import case_rows


def typed(df: pd.DataFrame | None = None) -> pd.DataFrame:
    report = validate_frame(case_rows() if df is None else df, source="t")
    assert report.ok, report.problem_text()
    return report.frame


def test_flags_follow_thresholds_and_settings():
    df = case_rows()
    df["interference_risk"] = ["是", "", "否"]
    df["superior_supervised"] = ["", "1", ""]
    df["special_entity"] = ["0", "0", "1"]
    flags = hard_bone_flags(typed(df))
    # case ages on 2024-03-01: 421, 388 and 723 days; petitions 0, 2, missing
    assert flags["flag_long_unresolved"].tolist() == [False, False, False]
    assert flags["flag_repeat_petition"].tolist() == [False, True, False]
    assert flags["flag_sensitive"].tolist() == [True, False, False]
    assert flags["flag_key_supervised"].tolist() == [False, True, False]
    assert flags["flag_special_entity"].tolist() == [False, False, True]
    looser = hard_bone_flags(
        typed(df), FlagSettings(long_unresolved_days=723, repeat_petition_min=3)
    )
    assert looser["flag_long_unresolved"].tolist() == [False, False, True]
    assert looser["flag_repeat_petition"].tolist() == [False, False, False]


def test_derived_features_values():
    df = case_rows()
    df["amount_applied"] = ["20000", "", "1000000"]
    df["amount_recovered_to_date"] = ["8000", "0", "120000"]
    df["deposit_balance"] = ["0", "5000", ""]
    df["real_estate_encumbered"] = ["否", "是", ""]
    out = add_features(typed(df))
    assert set(DERIVED_FEATURES) <= set(out.columns)
    assert out["case_age_days"].tolist() == [421.0, 388.0, 723.0]
    assert out["n_previous_handlers"].tolist() == [0.0, 1.0, 2.0]
    np.testing.assert_allclose(out["recovery_ratio"], [0.4, np.nan, 0.12])
    np.testing.assert_allclose(out["deposit_cover"], [0.0, 5000 / 3500.5, np.nan])
    # row 1: unencumbered real estate; row 2: encumbered estate but deposits cover the debt;
    # row 3: nothing found
    assert out["material_assets"].tolist() == [1.0, 1.0, 0.0]


def test_features_never_read_treatment_or_outcomes():
    base = typed()
    later = base.copy()
    later["cross_mode"] = pd.Categorical(
        ["elevated"] * 3, categories=base["cross_mode"].cat.categories
    )
    later["resolved_180d"] = pd.array([True, True, True], dtype="boolean")
    numeric, categorical = model_features()
    a, b = add_features(base), add_features(later)
    pd.testing.assert_frame_equal(a[numeric + categorical], b[numeric + categorical])
    assert not {"cross_mode", "cross_date", "resolved_180d", "case_id", "handler_id"} & set(
        numeric + categorical
    )


def test_stalled_cohort_settings():
    df = case_rows()
    df["days_since_last_action"] = ["89", "90", "400"]
    cohort = stalled_cohort(typed(df))
    assert cohort.tolist() == [False, True, True]
    assert stalled_cohort(
        typed(df), CohortSettings(min_age_days=400, min_idle_days=0)
    ).tolist() == [
        True,
        False,
        True,
    ]


def test_rung_of_folds_higher_court_modes():
    modes = pd.Series(["none", "intra_team", "inter_team", "elevated", "collaborative", None])
    assert rung_of(modes).astype(object).tolist()[:5] == [
        "keep",
        "intra_team",
        "inter_team",
        "higher_court",
        "higher_court",
    ]
    assert pd.isna(rung_of(modes).iloc[5])
