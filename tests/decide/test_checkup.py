"""The check-up sheet gathers the case, its scores, reasons, guidance and plan."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from crossexec_ml.data import make_cases
from crossexec_ml.decide import checkup, checkup_table
from crossexec_ml.jobs import score_cases
from crossexec_ml.model import CrossExecModel
from crossexec_ml.report import checkup_html, gain_lines


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


def _numbers(line: str) -> list[float]:
    return [float(x) for x in re.findall(r"\d+(?:\.\d+)?", line)]


def test_the_priority_score_adds_up_with_the_boost_on_its_own_line(screening):
    _model, cases, scored = screening
    from crossexec_ml.decide import vulnerable

    ranked = scored[scored["uplift"] > 0].head(30)
    flags = vulnerable(cases.set_index("case_id").loc[ranked["case_id"]].reset_index())
    seen = set()
    for (_, row), is_vulnerable in zip(ranked.iterrows(), flags, strict=True):
        sheet = checkup(row["case_id"], cases, scored)
        assert sheet.gain is not None and sheet.gain.vulnerable == bool(is_vulnerable)
        lines = gain_lines(sheet.gain, "zh")
        p_rung, p_keep, gain = _numbers(lines[0])
        assert round(p_rung - p_keep, 2) == gain  # P(rung) − P(keep) = gain, as printed
        # Two decimals: the difference of two rounded percents is within 0.01 of the exact gain.
        assert gain == pytest.approx(row["uplift"] * 100, abs=0.0101)
        boost = 1.25 if is_vulnerable else 1.0
        assert ("弱势加权 1.25" in lines[1]) == bool(is_vulnerable)
        score = _numbers(lines[-1])[0]
        assert lines[-1].startswith("= 优先分") and score == pytest.approx(gain * boost, abs=0.051)
        assert score == pytest.approx(row["expected_gain"] * 100, abs=0.051)
        seen.add(bool(is_vulnerable))
    assert seen == {True, False}, "the sample should hold both kinds of case"


def test_the_sheet_speaks_chinese_names_the_handler_slots_and_leaves_no_empty_rows(
    screening, handlers_frame
):
    _model, cases, scored = screening
    handlers = handlers_frame
    cid = scored["case_id"].iloc[0]
    target = str(handlers["handler_id"].iloc[0])
    plan = pd.DataFrame(
        {"case_id": [cid], "target_handler_id": [target], "target_team_id": ["T"],
         "unplaced_reason": [None], "escalation": [False]}
    )  # fmt: skip
    page = checkup_html(checkup(cid, cases, scored, plan, handlers=handlers), "zh")
    cells = re.findall(r"<td>(.*?)</td>", page)
    rows = dict(re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", page))
    assert rows["拟接办承办人"] == target
    assert rows["可接收交叉案件数"] == str(int(handlers["open_slots"].iloc[0]))
    assert "未能安排原因" not in rows  # placed: nothing to say, no row
    assert rows["报请提级/指令执行"] == "否"
    assert all(c.strip() for c in cells)
    for code in ("True", "False", "intra_team", "higher_court", "natural_person", "nan", "None"):
        assert code not in cells, code
    assert re.search(r"\d+\.\d 万元", page) and re.search(r"\d+ 天", page)
    assert "优先分怎么来" in page and "break-after: page" in page


def test_several_sheets_print_one_page_per_case(screening, tmp_path):
    import os
    import shutil
    import subprocess

    chromium, pdfinfo = shutil.which("chromium"), shutil.which("pdfinfo")
    if not (chromium and pdfinfo):
        if os.environ.get("CI"):
            pytest.fail("needs chromium and poppler-utils (.ci/run installs them)")
        pytest.skip("needs chromium and pdfinfo")
    _model, cases, scored = screening
    sheets = [checkup(c, cases, scored) for c in scored["case_id"].head(3)]
    page = tmp_path / "sheets.html"
    page.write_text(
        '<!doctype html><meta charset="utf-8"><body>'
        + "".join(checkup_html(s, "zh") for s in sheets),
        encoding="utf-8",
    )
    pdf = tmp_path / "sheets.pdf"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
         f"--user-data-dir={tmp_path / 'profile'}", f"--print-to-pdf={pdf}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True, check=True)
    assert re.search(r"Pages:\s+3\n", info.stdout), info.stdout
