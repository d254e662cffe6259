"""Numbers on the leader pages read in their units: rates as percents, gains in 个百分点."""

from __future__ import annotations

import pandas as pd

from crossexec_ml.report._pages import _audit_table


def test_fairness_tables_show_rates_as_percents_and_gains_in_points():
    frame = pd.DataFrame(
        {
            "group": ["natural_person"],
            "n": [494],
            "selection_rate": [0.2113],
            "precision_at_k": [0.5],
            "uplift_predicted": [0.037],
            "estimate": [0.812],
        }
    )
    table = _audit_table(frame)
    assert table["rows"] == [["natural_person", "494", "21.1%", "50.0%", "3.7 个百分点", "0.812"]]
