"""The observational half of a comparison, labelled for leaders."""

from __future__ import annotations

import pandas as pd

from crossexec_ml.evaluate import Comparison, ObservedEvidence
from crossexec_ml.report import observed_note, observed_table


def _result(observed):
    nan = float("nan")
    return Comparison(
        names=("m-old", "m-new"),
        n_randomised=0,
        value={"m-old": nan, "m-new": nan},
        value_ci={"m-old": (nan, nan), "m-new": (nan, nan)},
        n_matched={"m-old": 0, "m-new": 0},
        difference=nan,
        difference_ci=(nan, nan),
        verdict="no_randomised",
        observed=observed,
    )


def test_the_observational_table_names_models_losses_values_and_the_verdict():
    seen = ObservedEvidence(
        n_rows=12345,
        log_loss={"m-old": {"all": 0.41234}, "m-new": {"all": 0.40012}},
        log_loss_difference=-0.01222,
        log_loss_ci=(-0.02, -0.004),
        value={"m-old": 0.20, "m-new": 0.23},
        value_ci={"m-old": (0.18, 0.22), "m-new": (0.21, 0.25)},
        difference=0.03,
        difference_ci=(0.01, 0.05),
        verdict="better",
        value_verdict="better",
        log_loss_verdict="better",
        support={"m-old": 80, "m-new": 95},
        propensity_floor=0.02,
        n_floored=3,
    )
    table = observed_table(_result(seen), "zh")
    assert list(table.iloc[:, 0]) == ["现用模型 · m-old", "挑战者 · m-new", "差额（挑战者 − 现用）"]
    assert table.iloc[0, 1] == "0.4123" and table.iloc[1, 2] == "23%"
    assert table.iloc[2, 1].startswith("-0.0122") and "3.0 个百分点" in table.iloc[2, 2]
    assert table.iloc[2, 3].endswith("挑战者更好")
    assert "12,345" in observed_note(_result(seen), "zh")
    assert observed_table(_result(seen), "en").iloc[2, 3].endswith("the challenger is better")


def test_without_observational_rows_the_table_is_empty_and_the_note_silent():
    assert observed_table(_result(None), "zh").empty
    assert observed_note(_result(None), "en") == ""
    assert isinstance(observed_table(_result(None), "en"), pd.DataFrame)
