"""The follow-up page, workbook and JSON: leader-grade labels, atomic writes, bad extensions."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from crossexec_ml.errors import InputError
from crossexec_ml.evaluate import follow_up
from crossexec_ml.report import followup_html, write_followup

RAW_CODES = ("reassign_intra_team", "escalate_higher_court", "intra_team", "higher_court", "True")


@pytest.fixture
def result():
    decisions = pd.DataFrame(
        {
            "seq": [1, 2, 3, 4],
            "case_id": ["(2023)湘0102执1号", "B", "C", "B"],
            "action": ["reassign_intra_team", "escalate_higher_court", "keep", "keep"],
            "decided_at": ["2026-11-05T02:00:00+00:00"] * 4,
            "as_of_date": ["2026-10-31"] * 4,
            "p_keep": [0.1, 0.2, 0.3, 0.25],
            "p_intra_team": [0.4, 0.3, 0.3, 0.3],
            "p_higher_court": [0.2, 0.5, 0.3, 0.5],
        }
    )
    later = pd.DataFrame(
        {
            "case_id": ["(2023)湘0102执1号", "B", "C"],
            "as_of_date": pd.to_datetime(["2026-10-31"] * 3),
            "court_id": ["C01", "C01", "C02"],
            "team_id": ["C01-T1", "C01-T2", "C02-T1"],
            "closure_mode_180d": ["fully_executed", "open", "terminate_current"],
            "amount_recovered_180d": [1_500_000.0, 0.0, 0.0],
            "outcome_date": pd.to_datetime(["2027-01-10", None, "2027-02-01"]),
        }
    )
    return follow_up(decisions, later)


def test_page_speaks_chinese_without_raw_codes(result):
    page = followup_html(result, "zh")
    assert "团队内交叉执行" in page and "终本" in page and "150.0 万元" in page
    assert "100%" in page  # the one known intra-team case resolved
    assert "预测是否相符" in page and "与预测相符" in page
    for code in RAW_CODES:
        assert code not in page, code
    assert "<script" not in page
    # No run's proposals were given: no undecided row, so no sentence explaining one.
    assert "提议未决定" not in page


def test_written_as_json_xlsx_and_html(result, tmp_path):
    payload = json.loads(write_followup(result, tmp_path / "f.json").read_text(encoding="utf-8"))
    assert {r["action"] for r in payload["by_action"]} == {"reassign_intra_team", "keep"}
    assert payload["n_corrections"] == 1
    book = openpyxl.load_workbook(write_followup(result, tmp_path / "f.xlsx"), read_only=True)
    assert book.sheetnames[:2] == ["按决定", "按层级"]
    assert "更正记录" in book.sheetnames
    # The detail sheet reads as leaders read: named actions, 终本 apart, B's earlier decision.
    detail = list(book["逐案明细"].iter_rows(values_only=True))
    head = detail[0]
    rows = {r[0]: dict(zip(head, r, strict=True)) for r in detail[1:]}
    assert rows["C"]["180日结果"] == "终本（不计化解）" and rows["C"]["决定"] == "维持原承办"
    assert rows["B"]["此前的决定（已更正）"].startswith("#2 报请提级/指令执行")
    assert not any(code in str(v) for r in detail for v in r for code in RAW_CODES)
    first = [c.value for c in next(book["按决定"].iter_rows(max_row=1))]
    assert first[0] == "决定" and "实际化解率" in first
    assert write_followup(result, tmp_path / "f.html", lang="en").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.html", "f.json", "f.xlsx"]


def test_an_unknown_extension_is_refused_and_nothing_written(result, tmp_path):
    with pytest.raises(InputError, match=r"\.html, \.xlsx or \.json"):
        write_followup(result, tmp_path / "f.pdf")
    assert list(tmp_path.iterdir()) == []


def test_plot_shows_realised_with_interval_and_predicted(result):
    from crossexec_ml.report import followup_plot

    fig = followup_plot(result, "action", "zh")
    bars, marks = fig.data
    assert list(bars.x) == ["维持原承办", "团队内交叉执行"] and list(bars.y) == [0.0, 1.0]
    # Keep: B (latest decision, open) and C (终本); predicted = their recorded p_keep.
    assert list(marks.y) == pytest.approx([0.275, 0.4])


def test_plot_says_when_no_outcome_is_known_yet():
    from crossexec_ml.report import followup_plot

    decisions = pd.DataFrame(
        {"seq": [1], "case_id": ["A"], "action": ["keep"], "p_keep": [0.2],
         "decided_at": ["2026-11-05T02:00:00+00:00"], "as_of_date": ["2026-10-31"]}
    )  # fmt: skip
    later = pd.DataFrame(
        {"case_id": ["A"], "as_of_date": pd.to_datetime(["2026-10-31"]), "court_id": ["C01"],
         "team_id": ["C01-T1"], "closure_mode_180d": [None]}
    )  # fmt: skip
    fig = followup_plot(follow_up(decisions, later), "rung", "zh")
    assert not fig.data and "尚无已知结果" in fig.layout.annotations[0].text


def test_comparison_table_reads_as_a_sentence_per_model():
    from crossexec_ml.evaluate import Comparison
    from crossexec_ml.report import comparison_table

    result = Comparison(
        names=("m-old", "m-new"),
        n_randomised=900,
        value={"m-old": 0.12, "m-new": 0.15},
        value_ci={"m-old": (0.10, 0.14), "m-new": (0.13, 0.17)},
        n_matched={"m-old": 220, "m-new": 230},
        difference=0.03,
        difference_ci=(0.01, 0.05),
        verdict="better",
    )
    table = comparison_table(result, "zh")
    assert table.iloc[0, 0] == "现用模型 · m-old" and table.iloc[1, 1] == "15%"
    assert table.iloc[2, 3] == "挑战者更好" and "3.0 个百分点" in table.iloc[2, 1]
    assert comparison_table(result, "en").iloc[2, 3] == "the challenger is better"


def test_the_verdict_says_whether_the_prediction_held():
    from crossexec_ml.report import followup_verdict

    row = {"n_known": 50, "ci_low": 0.30, "ci_high": 0.50}
    assert followup_verdict({**row, "predicted_rate": 0.40}) == "与预测相符"
    assert followup_verdict({**row, "predicted_rate": 0.20}) == "好于预测"  # more resolved
    assert followup_verdict({**row, "predicted_rate": 0.60}, "en") == "below the prediction"
    assert followup_verdict({**row, "predicted_rate": float("nan")}) == "无预测（非层级决定）"
    assert followup_verdict({**row, "n_known": 0, "predicted_rate": 0.4}) == "尚无结果"
