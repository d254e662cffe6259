"""The leadership dashboard: its numbers on hand-made frames, its figures, and notebook 04.

Every expected number below is worked out by hand from the few rows of the frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crossexec_ml import report
from crossexec_ml.data import read_cases

# --------------------------------------------------------------------------------------------
# Hand-made history: team C01-T1 has two handlers (H1, H2), team C01-T2 has two (H3, H4).
# --------------------------------------------------------------------------------------------

_HISTORY = pd.DataFrame(
    {
        "case_id": [f"(2023)湘0103执{i}号" for i in range(1, 8)],
        "court_id": ["C01"] * 7,
        "team_id": ["C01-T1"] * 4 + ["C01-T2"] * 3,
        "handler_id": ["H1", "H2", "H1", "H2", "H3", "H3", "H4"],
        "filing_date": ["2023-01-05"] * 7,
        "as_of_date": ["2024-03-01"] * 7,
        "cause_category": ["private_lending"] * 7,
        "amount_outstanding": ["10000"] * 7,
        "debtor_type": ["natural_person"] * 7,
        "debtor_status": ["active", "active", "active", "active", "deceased", "active", "active"],
        "n_handlers_so_far": ["1"] * 7,
        "days_since_last_action": ["200"] * 7,
        "deposit_balance": ["0"] * 7,
        # material assets: 1 real estate, 2 none, 3 income, 4 real estate, 5 real estate
        "has_real_estate": ["1", "0", "0", "1", "1", "0", "0"],
        "has_income": ["0", "0", "1", "0", "0", "0", "0"],
        "petition_count": ["2", "0", "0", "0", "1", "0", "0"],
        "cross_mode": [
            "intra_team",
            "intra_team",
            "intra_team",
            "intra_team",
            "elevated",
            "none",
            "inter_team",
        ],
        "resolved_180d": ["1", "0", "0", "0", "0", "1", ""],
        "closure_mode_180d": [
            "fully_executed",
            "terminate_current",
            "open",
            "terminate_current",
            "open",
            "fully_executed",
            "",
        ],
        "amount_recovered_180d": ["1000", "0", "250", "0", "0", "500", ""],
        "new_petition_180d": ["0", "1", "0", "0", "1", "0", ""],
    }
)


@pytest.fixture
def history(tmp_path):
    path = tmp_path / "history.csv"
    _HISTORY.to_csv(path, index=False)
    frame = read_cases(path)
    # A source that marks a 终本 case as resolved: it must still not count.
    frame.loc[3, "resolved_180d"] = True
    return frame


def test_past_results_by_team_and_rung_by_hand(history):
    table = report.past_results(history)
    assert "handler_id" not in table.columns
    assert list(zip(table["team_id"], table["rung"], strict=True)) == [
        ("C01-T1", "intra_team"),
        ("C01-T2", "higher_court"),
    ]  # kept cases are left out by default; the row without an outcome too
    a = table.iloc[0]
    assert a["n_cases"] == 4  # two handlers' cases pooled into their team
    assert a["n_resolved"] == 1  # the 终本 row marked resolved does not count
    assert a["resolution_rate"] == pytest.approx(0.25)
    assert a["n_terminate_current"] == 2
    assert a["amount_recovered"] == pytest.approx(1250.0)
    assert a["petitions_before"] == 2
    assert a["share_petition_before"] == pytest.approx(0.25)
    assert a["share_new_petition_after"] == pytest.approx(0.25)
    assert a["n_failed"] == 3
    assert a["n_failed_objective"] == 1  # case 2: no material asset found
    assert a["n_failed_other"] == 2  # cases 3 and 4 had assets
    b = table.iloc[1]
    assert (b["n_cases"], b["n_resolved"], b["n_failed_objective"]) == (1, 0, 1)  # deceased
    assert b["share_new_petition_after"] == pytest.approx(1.0)
    assert "用时" in table.attrs["note"]["zh"] and "time to result" in table.attrs["note"]["en"]


def test_past_results_can_show_kept_cases_and_counts_ledger_decisions(history):
    ledger_rows = pd.DataFrame(
        {
            "seq": [1, 2],
            "case_id": ["(2023)湘0103执1号", "(2023)湘0103执5号"],
            "action": ["reassign_intra_team", "escalate_higher_court"],
            "as_of_date": ["2024-03-01", None],
        }
    )
    table = report.past_results(history, ledger_rows, include_keep=True)
    keep = table[table["rung"] == "keep"].iloc[0]
    assert (keep["team_id"], keep["n_cases"], keep["n_resolved"]) == ("C01-T2", 1, 1)
    assert table.set_index("rung")["n_in_ledger"].to_dict() == {
        "intra_team": 1,
        "higher_court": 1,
        "keep": 0,
    }


def test_ledger_summary_counts_latest_decisions_per_team():
    rows = pd.DataFrame(
        {
            "seq": [1, 2, 3],
            "case_id": ["A", "A", "B"],
            "action": ["defer", "keep", "keep"],
            "decided_by": ["L1", "L1", "L2"],
        }
    )
    scored = pd.DataFrame({"case_id": ["A", "B"], "court_id": ["C01"] * 2, "team_id": ["T1"] * 2})
    table = report.ledger_summary(rows, scored)
    assert table.to_dict("records") == [
        {"court_id": "C01", "team_id": "T1", "action": "keep", "n_cases": 2}
    ]
    assert "decided_by" not in table
    assert report.ledger_summary(None).empty


class _FixedModel:
    def __init__(self, p):
        self.p = np.asarray(p, dtype=float)

    def predict_taken(self, rows):
        assert len(rows) == len(self.p)
        return self.p


def test_calibration_deciles_counts_no_terminate_current_as_resolved(history):
    # Six rows have an outcome; case 4 (终本 marked resolved) is observed as not resolved.
    model = _FixedModel([0.9, 0.1, 0.2, 0.8, 0.3, 0.7])
    table = report.calibration_deciles(history, model, n_bins=2)
    assert table["n"].tolist() == [3, 3]
    low, high = table.iloc[0], table.iloc[1]
    assert low["mean_predicted"] == pytest.approx(0.2)
    assert low["observed_rate"] == pytest.approx(0.0)
    assert high["mean_predicted"] == pytest.approx(0.8)
    assert high["observed_rate"] == pytest.approx(2 / 3)  # cases 1 and 6; not case 4


# --------------------------------------------------------------------------------------------
# Hand-made scored list
# --------------------------------------------------------------------------------------------


@pytest.fixture
def scored():
    return pd.DataFrame(
        {
            "priority_rank": pd.array([1, 2, 3, 4, None], dtype="Int64"),
            "case_id": ["c1", "c2", "c3", "c4", "c5"],
            "as_of_date": pd.to_datetime(["2024-03-01"] * 5),
            "court_id": ["C01"] * 5,
            "team_id": ["T-A", "T-B", "T-A", "T-B", "T-A"],
            "handler_id": ["H1", "H2", "H3", "H4", "H1"],
            "p_keep": [0.2, 0.1, 0.3, 0.4, 0.5],
            "p_intra_team": [0.5, 0.15, 0.35, 0.41, 0.5],
            "p_inter_team": [0.4, 0.2, 0.32, 0.45, 0.5],
            "p_higher_court": [0.3, 0.3, 0.31, 0.42, 0.5],
            "suggested_rung": pd.Categorical(
                ["intra_team", "higher_court", "intra_team", "keep", "keep"],
                categories=["keep", "intra_team", "inter_team", "higher_court"],
            ),
            "uplift": [0.3, 0.2, 0.05, 0.0, 0.0],
            "candidate": [True, True, False, False, False],
            "flag_long_unresolved": [True, False, True, False, True],
            "flag_repeat_petition": [False, False, False, True, False],
            "flag_sensitive": [False] * 5,
            "flag_special_entity": [False] * 5,
            "flag_key_supervised": [False] * 5,
            "stalled": [True, True, True, True, False],
            "decided_action": pd.array([None, None, None, None, "keep"], dtype="string"),
            "model_id": ["m1"] * 5,
        }
    )


@pytest.fixture
def scored_cases():
    return pd.DataFrame(
        {
            "case_id": ["c1", "c2", "c3", "c4", "c5"],
            "as_of_date": pd.to_datetime(["2024-03-01"] * 5),
            "amount_outstanding": [10000.0, 20000.0, 0.0, 5000.0, 1.0],
            "days_since_last_action": [100, 120, 500, 400, 900],
            "ladder_stage": ["original", "intra_team", "original", "intra_team", "original"],
        }
    )


def test_headline_by_hand(scored, scored_cases):
    head = report.headline(scored, cases=scored_cases)
    assert head["n_cases"] == 5
    assert head["n_stalled"] == 4
    assert head["n_decided"] == 1
    assert head["n_candidates"] == 2
    assert head["expected_extra_resolutions"] == pytest.approx(0.5)
    assert head["expected_amount"] == pytest.approx(0.3 * 10000 + 0.2 * 20000)
    # Today: the two oldest idle ranked cases (c3, c4; c5 is not stalled), one rung up:
    # c3 original -> intra 0.35 - 0.30; c4 intra_team -> inter 0.45 - 0.40.
    assert head["baseline"] == "oldest_idle_first_next_rung"
    assert head["baseline_extra_resolutions"] == pytest.approx(0.10)
    assert head["baseline_amount"] == pytest.approx(0.05 * 5000)
    assert head["extra_vs_baseline"] == pytest.approx(0.40)
    assert head["rungs"] == {"keep": 0, "intra_team": 1, "inter_team": 0, "higher_court": 1}
    assert head["hard_bones"]["flag_long_unresolved"] == {"stock": 2, "candidates": 1}
    assert head["hard_bones"]["flag_repeat_petition"] == {"stock": 1, "candidates": 0}
    assert head["any_hard_bone"] == {"stock": 3, "candidates": 1}
    assert head["model_id"] == "m1" and head["as_of_date"] == "2024-03-01"


def test_headline_capacity_and_without_case_columns(scored):
    head = report.headline(scored, capacity=3)
    assert head["n_candidates"] == 3
    assert head["expected_extra_resolutions"] == pytest.approx(0.55)
    assert head["expected_amount"] is None and head["baseline_extra_resolutions"] is None
    assert head["extra_vs_baseline"] is None
    with pytest.raises(ValueError, match="capacity"):
        report.headline(scored, capacity=-1)


def test_list_by_team_by_hand(scored):
    table = report.list_by_team(scored)
    assert "handler_id" not in table.columns
    rows = table.set_index("team_id")
    a_cols = ["n_stalled", "n_candidates", "n_intra_team", "n_hard_bone"]
    assert rows.loc["T-A", a_cols].tolist() == [2, 1, 1, 1]
    b_cols = ["n_stalled", "n_candidates", "n_higher_court", "n_keep"]
    assert rows.loc["T-B", b_cols].tolist() == [2, 1, 1, 0]
    assert rows.loc["T-A", "expected_extra"] == pytest.approx(0.3)
    wider = report.list_by_team(scored, capacity=4).set_index("team_id")
    assert wider.loc["T-B", "n_keep"] == 1 and wider.loc["T-A", "n_intra_team"] == 2


def test_headline_html_tiles(scored, scored_cases):
    head = report.headline(scored, cases=scored_cases)
    zh = report.headline_html(head, "zh")
    en = report.headline_html(head, "en")
    assert zh.count('class="crossexec-tile"') == 7
    assert "长期停滞案件" in zh and "Stalled cases" in en
    assert 'data-key="baseline"' in en
    no_base = report.headline_html(report.headline(scored), "en")
    assert "n/a" in no_base
    with pytest.raises(ValueError):
        report.headline_html(head, "fr")


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def test_dashboard_figures_in_both_languages(scored, scored_cases, history):
    head = report.headline(scored, cases=scored_cases)
    teams = report.list_by_team(scored)
    past = report.past_results(history)
    calib = report.calibration_deciles(history, _FixedModel([0.9, 0.1, 0.2, 0.8, 0.3, 0.7]), 2)
    for fn, data in (
        (report.headline_compare_bars, head),
        (report.team_list_bars, teams),
        (report.past_results_bars, past),
        (report.calibration_bars, calib),
    ):
        zh, en = fn(data, "zh"), fn(data, "en")
        assert zh.data and en.data, fn.__name__
        assert zh.layout.title.text != en.layout.title.text
        with pytest.raises(ValueError):
            fn(data, "fr")
    compare = report.headline_compare_bars(head, "en")
    assert list(compare.data[0].y) == pytest.approx([0.5, 0.1])
    team_fig = report.team_list_bars(teams, "en")
    assert {t.name for t in team_fig.data} == {"intra-team", "higher court"}
    past_fig = report.past_results_bars(past, "en")
    assert list(past_fig.data[0].y) == [1, 0] and list(past_fig.data[1].y) == [1, 1]
    calib_fig = report.calibration_bars(calib, "en")
    assert list(calib_fig.data[1].y) == pytest.approx([0.0, 2 / 3])


def test_empty_or_baseline_free_figures_say_why(scored, history):
    no_base = report.headline_compare_bars(report.headline(scored), "en")
    assert len(no_base.data[0].y) == 1 and no_base.layout.annotations
    history["resolved_180d"] = pd.NA  # no outcome known yet
    table = report.past_results(history)
    assert table.empty
    empty = report.past_results_bars(table, "en")
    assert not empty.data and empty.layout.annotations


def test_labelled_tables_and_calibration_sentence():
    table = pd.DataFrame({"team_id": ["C01-T1"], "n_candidates": [3], "handler_id": ["H1"]})
    zh = report.labelled(table, report.TEAM_COLUMNS, "zh").data
    assert list(zh.columns) == ["执行团队", "建议交叉"]  # never a handler column
    en = report.labelled(table, report.TEAM_COLUMNS, "en").data
    assert list(en.columns) == ["team", "proposed"]
    calib = pd.DataFrame(
        {"n": [10, 12], "mean_predicted": [0.05, 0.62], "observed_rate": [0.0, 0.58]}
    )
    card = {"model_id": "abc", "metrics": {"pooled": {"auc": 0.861, "ece": 0.012}}}
    assert report.calibration_text(calib, card, "zh") == (
        "预测概率最高的一组（12件）：预测化解率 62%，实际化解率 58%。时间回测：AUC 0.86，"
        "校准误差 1.2%。模型版本 abc。"
    )
    assert "Model abc" in report.calibration_text(calib, card, "en")
