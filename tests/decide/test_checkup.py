"""The check-up sheet gathers the case, its scores, reasons, guidance and plan."""

from __future__ import annotations

import pandas as pd
import pytest

from crossexec_ml.data import make_cases
from crossexec_ml.decide import checkup, checkup_table
from crossexec_ml.jobs import score_cases
from crossexec_ml.model import CrossExecModel
from crossexec_ml.report import checkup_html


@pytest.fixture(scope="module")
def screening():
    data = make_cases(n_history=2000, n_current=50, seed=8)
    model = CrossExecModel().fit(data.history)
    scored = score_cases(model, data.current, model_id="m1", explain_top=10)
    return model, data.current, scored


def test_sheet_sections_and_values(screening):
    model, cases, scored = screening
    cid = scored["case_id"].iloc[0]
    sheet = checkup(cid, cases, scored)
    titles = [t for t, _, _ in sheet.sections]
    assert titles == [
        "基本情况",
        "债权债务",
        "财产查控",
        "已采取措施",
        "承办与信访",
        "五类骨头案",
        "交叉执行评估",
    ]
    rec = sheet.to_record()
    row = cases[cases["case_id"] == cid].iloc[0]
    assert rec["amount_outstanding"] == row["amount_outstanding"]
    assert rec["priority_rank"] == 1
    assert rec["reasons_zh"] == scored["reasons_zh"].iloc[0]
    assert rec["guidance"] == scored["guidance"].iloc[0]


def test_html_escapes_and_translates(screening):
    model, cases, scored = screening
    cases = cases.copy()
    cid = scored["case_id"].iloc[1]
    cases.loc[cases["case_id"] == cid, "previous_handler_ids"] = "<script>alert(1)</script>"
    zh = checkup_html(checkup(cid, cases, scored), "zh")
    en = checkup_html(checkup(cid, cases, scored), "en")
    assert "<script>" not in zh and "&lt;script&gt;" in zh
    assert "全面体检表" in zh and "尚未执行标的额" in zh
    assert "Check-up sheet" in en and "amount outstanding" in en


def test_reasons_on_demand_outside_the_explained_top(screening):
    model, cases, scored = screening
    cid = scored["case_id"].iloc[30]
    assert pd.isna(scored["reasons_zh"].iloc[30])
    assert checkup(cid, cases, scored).reasons_zh == ""
    assert checkup(cid, cases, scored, model=model).reasons_zh != ""


def test_plan_section_and_table(screening):
    model, cases, scored = screening
    cid = scored["case_id"].iloc[0]
    plan = pd.DataFrame(
        {
            "case_id": [cid],
            "target_handler_id": ["H9999"],
            "target_team_id": ["C01-T1"],
            "unplaced_reason": [""],
        }
    )
    sheet = checkup(cid, cases, scored, plan)
    assert sheet.sections[-1][0] == "拟接办安排"
    assert "H9999" in checkup_html(sheet)
    table = checkup_table(list(scored["case_id"].head(3)), cases, scored, plan)
    assert len(table) == 3 and table["target_handler_id"].iloc[0] == "H9999"


def test_unknown_case(screening):
    model, cases, scored = screening
    with pytest.raises(KeyError, match="not in the screening"):
        checkup("(2099)执1号", cases, scored)
