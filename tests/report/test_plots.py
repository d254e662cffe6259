"""The profile tables against hand counts, and every figure against the data it was given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from crossexec_ml import report
from crossexec_ml.data import HARD_BONE_FLAGS, make_cases, validate_frame
from crossexec_ml.model import CrossExecModel

# --------------------------------------------------------------------------------------------
# A tiny export whose every count is known (all screened on 2024-03-01)
# --------------------------------------------------------------------------------------------


def tiny_rows() -> pd.DataFrame:
    """Five cases: four stalled (one per age band and idle band), one too young and too busy.

    Case ages: 421 d (1-2y), 213 d (<1y), 1152 d (>3y), 781 d (2-3y), 60 d (not stalled).
    Idle days: 200, 95, 800, 400, 30.
    """
    return pd.DataFrame(
        {
            "case_id": [f"(2024)湘0103执{i}号" for i in range(1, 6)],
            "court_id": ["C01", "C01", "C02", "C02", "C03"],
            "team_id": ["C01-T1", "C01-T2", "C02-T1", "C02-T1", "C03-T1"],
            "handler_id": ["H1", "H2", "H3", "H4", "H5"],
            "filing_date": ["2023-01-05", "2023-08-01", "2021-01-04", "2022-01-10", "2024-01-01"],
            "as_of_date": ["2024-03-01"] * 5,
            "cause_category": [
                "private_lending",
                "labor_remuneration",
                "credit_card",
                "credit_card",
                "other",
            ],
            "amount_outstanding": ["12000", "3500", "880000", "50000", "100"],
            "debtor_type": ["natural_person"] * 5,
            "n_handlers_so_far": ["1", "1", "2", "1", "1"],
            "days_since_last_action": ["200", "95", "800", "400", "30"],
            "deposit_balance": ["0", "5000", "0", "", "0"],
            "has_real_estate": ["1", "0", "0", "0", "1"],
            "has_vehicle": ["0", "0", "0", "1", "0"],
            "dishonest_listed": ["1", "0", "0", "0", "1"],
            "consumption_restricted": ["0", "0", "0", "1", "0"],
            "n_detentions": ["1", "0", "0", "0", "3"],
            "criminal_referral": ["0", "0", "0", "1", "0"],
            "petition_count": ["0", "2", "1", "0", ""],
            "interference_risk": ["0", "0", "1", "0", "1"],
            "special_entity": ["0", "0", "1", "0", "0"],
            "superior_supervised": ["0", "1", "0", "0", "0"],
        }
    )


@pytest.fixture(scope="module")
def tiny_report():
    report = validate_frame(tiny_rows(), source="tiny")
    assert report.ok, report.problem_text()
    return report


@pytest.fixture(scope="module")
def tables(tiny_report):
    return report.stock_profile(tiny_report.frame, absent_optional=tiny_report.absent_optional)


def _col(table: pd.DataFrame, key: str, col: str) -> dict:
    return dict(zip(table[key], table[col], strict=True))


def test_overview_counts_the_stalled_stock(tables):
    ov = _col(tables["overview"], "metric", "value")
    assert ov["n_rows"] == 5 and ov["n_stalled"] == 4 and ov["share_stalled"] == 0.8
    assert ov["n_courts"] == 2 and ov["n_teams"] == 3
    assert ov["median_idle_days"] == 300  # 95, 200, 400, 800
    # 万元, as the label says (yuan / 1e4)
    assert ov["total_outstanding"] == pytest.approx((12000 + 3500 + 880000 + 50000) / 1e4)
    assert ov["share_any_hard_bone"] == 0.75  # all but the first case


def test_group_tables_by_hand(tables):
    court = tables["by_court"].set_index("court_id")
    assert court.index.tolist() == ["C01", "C02"]  # the unstalled C03 case is not in the stock
    assert court["n_cases"].tolist() == [2, 2]
    assert court["share_of_stock"].tolist() == [0.5, 0.5]
    # C01: unencumbered real estate (case 1) and deposits >= 10% of the debt (case 2)
    assert court["share_material_assets"].tolist() == [1.0, 0.0]
    assert court["median_idle_days"].tolist() == [147.5, 600.0]
    assert court["median_outstanding"].tolist() == [7750.0, 465000.0]

    team = tables["by_team"]
    assert team["team_id"].tolist() == ["C02-T1", "C01-T1", "C01-T2"]  # largest first
    assert team["n_cases"].tolist() == [2, 1, 1]
    assert "handler_id" not in team  # never per individual handler

    cause = tables["by_cause"]
    assert _col(cause, "cause_category", "n_cases") == {
        "credit_card": 2,
        "labor_remuneration": 1,
        "private_lending": 1,
    }
    assert cause["label_zh"].iloc[0] == "信用卡纠纷"


def test_band_tables_by_hand(tables):
    assert tables["age_bands"]["band"].tolist() == ["<1y", "1-2y", "2-3y", ">3y"]
    assert tables["age_bands"]["n_cases"].tolist() == [1, 1, 1, 1]
    assert tables["idle_bands"]["band"].tolist() == ["90-180d", "180-365d", "1-2y", ">2y"]
    assert tables["idle_bands"]["n_cases"].tolist() == [1, 1, 1, 1]
    assert tables["idle_bands"]["share"].sum() == pytest.approx(1.0)
    cross = tables["age_by_idle"]
    # <1y/90-180d (case 2), 1-2y/180-365d (case 1), 2-3y/1-2y (case 4), >3y/>2y (case 3)
    np.testing.assert_array_equal(cross.to_numpy(), np.eye(4, dtype=int))
    assert cross.index.tolist() == ["<1y", "1-2y", "2-3y", ">3y"]


def test_assets_measures_and_flags_by_hand(tables):
    assert _col(tables["assets"], "asset", "n_cases") == {
        "has_real_estate": 1,
        "has_vehicle": 1,
        "has_equity": 0,
        "has_receivable": 0,
        "has_income": 0,
        "deposits": 1,  # the missing balance of case 4 is not counted as a deposit
        "material_assets": 2,
    }
    assert _col(tables["measures"], "measure", "n_cases") == {
        "dishonest_listed": 1,
        "consumption_restricted": 1,
        "detained": 1,  # case 5 has 3 detentions but is not stalled
        "criminal_referral": 1,
    }
    hard = tables["hard_bones"]
    assert hard["flag"].tolist() == list(HARD_BONE_FLAGS)
    assert hard["label_zh"].tolist() == [zh for zh, _ in HARD_BONE_FLAGS.values()]
    assert hard["n_cases"].tolist() == [2, 1, 1, 1, 1]
    assert hard["share"].tolist() == [0.5, 0.25, 0.25, 0.25, 0.25]


def test_data_quality_names_absent_and_missing(tiny_report, tables):
    dq = tables["data_quality"].set_index("column")
    assert dq.loc["amount_applied", "absent"]
    assert dq.loc["amount_applied", "missing_share"] == 1.0
    assert not dq.loc["petition_count", "absent"]
    assert dq.loc["petition_count", "missing_share"] == pytest.approx(0.2)
    assert dq.loc["case_id", "missing_share"] == 0.0
    # a list to score: treatment and outcome columns are absent by design, so not listed
    assert "resolved_180d" not in dq.index
    from_report = report.data_quality(tiny_report)
    pd.testing.assert_frame_equal(from_report, tables["data_quality"])
    with_history = report.data_quality(tiny_report, history_columns=True)
    assert with_history.set_index("column").loc["resolved_180d", "absent"]


def test_backtest_and_policy_tables():
    windows = [
        {"window_start": "2025-01-01", "window_end": "2025-04-01", "n_train": 10.0, "n_test": 5.0}
        | {"auc": 0.8, "brier": 0.1, "k": 1.0, "extra": 1},
    ]
    bt = report.backtest_table(windows)
    assert bt.columns.tolist() == [
        "window_start",
        "window_end",
        "n_train",
        "n_test",
        "auc",
        "brier",
        "k",
    ]
    assert bt["n_test"].tolist() == [5]
    assert report.policy_table({"auc": 0.8}).empty
    pol = report.policy_table(POOLED)
    assert pol["policy"].tolist() == list(report.POLICY_LABELS)
    assert pol.set_index("policy").loc["random", "share_of_oracle"] == 0.1
    assert pol.set_index("policy").loc["oldest_idle_first", "kind"] == "today"


# --------------------------------------------------------------------------------------------
# What drives the score
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_model():
    data = make_cases(n_history=800, n_current=120, seed=5)
    return CrossExecModel().fit(data.history), data.current


def test_gain_drivers_credit_only_facts_that_vary(small_model):
    model, cases = small_model
    cases = cases.copy()
    cases["has_real_estate"] = pd.array([True] * len(cases), dtype="boolean")  # constant
    drivers = report.gain_drivers(model, cases, n_repeats=2, seed=1)
    assert drivers.columns.tolist() == ["column", "label_zh", "mean_abs_change", "std"]
    by = drivers.set_index("column")["mean_abs_change"]
    assert by["has_real_estate"] == 0.0  # shuffling a constant changes nothing
    assert {"filing_date", "deposit_balance", "days_since_last_action"} <= set(by.index)
    assert by.max() > 0 and (by >= 0).all()
    assert by.is_monotonic_decreasing
    again = report.gain_drivers(model, cases, n_repeats=2, seed=1)
    pd.testing.assert_frame_equal(drivers, again)  # seeded


def test_gain_drivers_rejects_zero_repeats(small_model):
    model, cases = small_model
    with pytest.raises(ValueError, match="n_repeats"):
        report.gain_drivers(model, cases, n_repeats=0)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

CALIBRATION = [
    {"bin": 1, "n": 50, "mean_predicted": 0.05, "observed_rate": 0.04},
    {"bin": 2, "n": 50, "mean_predicted": 0.30, "observed_rate": 0.36},
]
QINI = [
    {"share": 0.0, "qini": 0.0, "random": 0.0},
    {"share": 0.5, "qini": 3.0, "random": 1.0},
    {"share": 1.0, "qini": 2.0, "random": 2.0},
]
POOLED = {
    "auc": 0.8,
    **{
        f"{prefix}_{name}": value
        for name, value in {
            "priority": 0.7,
            "model": 0.75,
            "p_cross": 0.72,
            "oldest_idle_first": 0.2,
            "largest_amount_first": 0.15,
            "most_hard_bones_first": 0.25,
            "random": 0.1,
        }.items()
        for prefix in ("gain", "share_of_oracle")
    },
}
WINDOWS = [
    {"window_start": "2025-01-01", "window_end": "2025-04-01", "auc": 0.81, "truth_auc": 0.9},
    {"window_start": "2025-04-01", "window_end": "2025-07-01", "auc": 0.84, "truth_auc": 0.91},
]
DRIVERS = pd.DataFrame(
    {
        "column": ["has_real_estate", "deposit_balance", "petition_count"],
        "label_zh": ["有不动产", "可冻结存款余额", "涉执信访次数"],
        "mean_abs_change": [2.5, 2.0, 0.5],
        "std": [0.1, 0.05, 0.01],
    }
)

DRIFT = pd.DataFrame(
    {
        "check": ["psi", "psi", "psi", "staleness_days"],
        "column": ["p_cross", "amount_outstanding", "petition_count", "as_of_date"],
        "value": [0.02, 0.15, 0.40, 3.0],
        "threshold": [0.25, 0.25, 0.25, 45.0],
        "status": ["ok", "warn", "alarm", "ok"],
    }
)


def _figures(tables, lang):
    return {
        "stock_by": report.stock_by(tables["by_court"], "court_id", lang=lang),
        "age_idle_heatmap": report.age_idle_heatmap(tables["age_by_idle"], lang=lang),
        "hard_bone_bars": report.hard_bone_bars(tables["hard_bones"], lang=lang),
        "assets_bars": report.assets_bars(tables["assets"], lang=lang),
        "measures_bars": report.measures_bars(tables["measures"], lang=lang),
        "calibration_plot": report.calibration_plot(CALIBRATION, lang=lang),
        "qini_plot": report.qini_plot(QINI, lang=lang),
        "policy_value_plot": report.policy_value_plot(POOLED, lang=lang),
        "backtest_windows_plot": report.backtest_windows_plot(WINDOWS, lang=lang),
        "importance_plot": report.importance_plot(DRIVERS, lang=lang),
        "drift_bars": report.drift_bars(DRIFT, lang=lang),
    }


def test_every_public_figure_is_covered(tables):
    module = "crossexec_ml.report._plots"
    from_plots = {
        n
        for n in report.__all__
        if callable(getattr(report, n)) and getattr(report, n).__module__ == module
    }
    assert set(_figures(tables, "zh")) == from_plots


def test_figures_have_chinese_and_english_titles(tables):
    zh, en = _figures(tables, "zh"), _figures(tables, "en")
    for name in zh:
        assert isinstance(zh[name], go.Figure) and isinstance(en[name], go.Figure)
        t_zh, t_en = zh[name].layout.title.text, en[name].layout.title.text
        assert t_zh and t_en and t_zh != t_en, name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in t_zh), name
        assert t_en.isascii(), name
        assert zh[name].layout.xaxis.title.text != en[name].layout.xaxis.title.text, name


@pytest.mark.parametrize("fn", [report.calibration_plot, report.qini_plot])
def test_unknown_language_is_refused(fn):
    with pytest.raises(ValueError, match="lang"):
        fn(CALIBRATION if fn is report.calibration_plot else QINI, lang="fr")


def test_calibration_plot_has_the_diagonal_and_the_bins():
    fig = report.calibration_plot(CALIBRATION, lang="en")
    diagonal, model = fig.data
    assert list(diagonal.x) == list(diagonal.y) and diagonal.x[0] == 0
    assert diagonal.line.dash == "dash"
    assert list(model.x) == [0.05, 0.30] and list(model.y) == [0.04, 0.36]
    assert [row[1] for row in model.customdata] == [50, 50]


def test_qini_plot_curve_and_random_line():
    fig = report.qini_plot(QINI, lang="en")
    curve, random = fig.data
    assert list(curve.x) == [0.0, 0.5, 1.0] and list(curve.y) == [0.0, 3.0, 2.0]
    assert list(random.y) == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("fn, data", [(report.qini_plot, None), (report.policy_value_plot, {})])
def test_missing_truth_gives_an_empty_figure_that_says_why(fn, data):
    fig = fn(data, lang="en")
    assert len(fig.data) == 0
    assert "truth" in fig.layout.annotations[0].text


def test_policy_value_plot_separates_the_tool_from_todays_practice():
    fig = report.policy_value_plot(POOLED, lang="en")
    by_name = {t.name: t for t in fig.data}
    assert list(by_name) == ["this tool's lists", "today's practice", "random"]
    assert list(by_name["this tool's lists"].x) == [0.7, 0.75, 0.72]
    assert list(by_name["today's practice"].x) == [0.2, 0.15, 0.25]
    assert list(by_name["random"].x) == [0.1]
    assert by_name["this tool's lists"].marker.color != by_name["today's practice"].marker.color
    zh = report.policy_value_plot(POOLED, lang="zh")
    assert zh.data[0].y[0] == "本工具优先清单"


def test_backtest_windows_plot_shows_auc_and_truth_when_known():
    fig = report.backtest_windows_plot(WINDOWS, lang="en")
    assert list(fig.data[0].y) == [0.81, 0.84]
    assert list(fig.data[1].y) == [0.9, 0.91]
    without_truth = [{k: v for k, v in w.items() if k != "truth_auc"} for w in WINDOWS]
    assert len(report.backtest_windows_plot(without_truth).data) == 1


def test_importance_plot_labels_and_top():
    zh = report.importance_plot(DRIVERS, lang="zh", top=2)
    assert list(zh.data[0].y) == ["有不动产", "可冻结存款余额"]
    assert list(zh.data[0].x) == [2.5, 2.0]
    assert list(zh.data[0].error_x.array) == [0.1, 0.05]
    en = report.importance_plot(DRIVERS, lang="en")
    # English names from the catalogue (column.<name>), not the codes.
    assert list(en.data[0].y) == [c.replace("_", " ") for c in DRIVERS["column"]]


def test_stock_and_share_bars_draw_the_tables(tables):
    fig = report.stock_by(tables["by_team"], "team_id", lang="en")
    assert list(fig.data[0].x) == ["C02-T1", "C01-T1", "C01-T2"]
    assert list(fig.data[0].y) == [2, 1, 1]
    cause = report.stock_by(tables["by_cause"], "cause_category", lang="zh")
    assert cause.data[0].x[0] == "信用卡纠纷"
    with pytest.raises(ValueError, match="handler_id"):
        report.stock_by(tables["by_team"], "handler_id")
    bars = report.hard_bone_bars(tables["hard_bones"], lang="en")
    assert list(bars.data[0].x) == [0.5, 0.25, 0.25, 0.25, 0.25]
    assert list(bars.data[0].y) == [en for _, en in HARD_BONE_FLAGS.values()]
    assets = report.assets_bars(tables["assets"], lang="zh")
    assert assets.data[0].y[0] == "不动产"


def test_heatmap_draws_the_counts(tables):
    fig = report.age_idle_heatmap(tables["age_by_idle"], lang="en")
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), np.eye(4, dtype=int))
    assert list(fig.data[0].x) == [en for _, _, en in report.IDLE_BANDS.values()]
    assert list(fig.data[0].y) == [en for _, _, en in report.AGE_BANDS.values()]


def test_drift_bars_colour_alarms_and_draw_both_thresholds():
    fig = report.drift_bars(DRIFT, lang="en")
    (bars,) = fig.data
    assert list(bars.y) == ["p_cross", "amount_outstanding", "petition_count"]  # PSI rows only
    assert list(bars.x) == [0.02, 0.15, 0.40]
    ok, warn, alarm = bars.marker.color
    assert len({ok, warn, alarm}) == 3 and alarm == "#c0392b"
    assert sorted(s.x0 for s in fig.layout.shapes) == [0.10, 0.25]
    empty = report.drift_bars(DRIFT[DRIFT["check"] != "psi"], lang="zh")
    assert not empty.data and "参照" in empty.layout.annotations[0].text
