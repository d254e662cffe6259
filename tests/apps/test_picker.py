"""The case picker driven as a person would, with no kernel: filters, clicks, decisions."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from crossexec_ml.apps import CasePicker
from crossexec_ml.data import make_cases
from crossexec_ml.decide import Ledger
from crossexec_ml.jobs import score_cases
from crossexec_ml.model import CrossExecModel


@pytest.fixture(scope="module")
def screening():
    data = make_cases(n_history=2000, n_current=300, seed=12)
    model = CrossExecModel().fit(data.history)
    scored = score_cases(model, data.current, model_id="m-test", explain_top=50)
    return data, scored


@pytest.fixture
def picker(screening, tmp_path):
    data, scored = screening
    return CasePicker(
        scored, data.current, handlers=data.handlers, ledger_path=tmp_path / "l.sqlite", top_n=10
    )


def test_table_and_chart_show_the_top_cases(picker, screening):
    _, scored = screening
    top = scored[scored["priority_rank"].notna()].head(10)
    assert picker.ranked["case_id"].tolist() == top["case_id"].tolist()
    assert list(picker.chart.data[0].x) == pytest.approx(top["expected_gain"].tolist())
    assert top["case_id"].iloc[0] in picker.table.value


def test_filters_rerank(picker):
    for dropdown in (picker.court, picker.team, picker.cause, picker.rung):
        assert dropdown.label == "全部"  # not an empty box
    court = picker.court.options[1][1]
    picker.court.value = court
    assert (picker.ranked["court_id"] == court).all()
    teams = {v for _, v in picker.team.options if v}
    assert teams and all(t.startswith(court) for t in teams)
    picker.flags["flag_long_unresolved"].value = True
    assert picker.ranked["flag_long_unresolved"].all()
    picker.weighting.value = "amount"
    gains = picker.ranked["expected_gain"].to_numpy()
    assert len(gains) == 0 or gains.max() > 1  # amount-weighted gains are in yuan


def test_empty_filter_says_so(picker):
    picker.amount.value = (picker.amount.max - 0.1, picker.amount.max)
    picker.livelihood.value = True
    picker.flags["flag_special_entity"].value = True
    picker.flags["flag_repeat_petition"].value = True
    assert picker.ranked.empty
    assert "筛选后没有案件" in picker.table.value


def test_bar_click_selects_the_case_and_shows_its_sheet(picker):
    picker._on_bar_click(picker.chart.data[0], types.SimpleNamespace(point_inds=[2]), None)
    cid = picker.ranked["case_id"].iloc[2]
    assert picker.selected == cid
    assert cid in picker.sheet.value and "全面体检表" in picker.sheet.value
    assert picker.case.value == cid


def test_decision_needs_name_and_reason_and_writes_the_ledger(picker, tmp_path):
    picker.select(picker.ranked["case_id"].iloc[0])
    picker.buttons["keep"].click()
    assert "请填写决定人" in picker.status.value
    picker.decider.value = "L07"
    picker.buttons["keep"].click()
    assert "请填写决定理由" in picker.status.value
    assert not (tmp_path / "l.sqlite").exists()  # nothing written
    picker.reason.value = "财产正在原承办人处处置"
    picker.buttons["keep"].click()
    assert "已记入台账" in picker.status.value
    with Ledger(tmp_path / "l.sqlite") as led:
        rows = led.rows()
    assert rows["case_id"].tolist() == [picker.selected]
    assert rows["decided_by"].tolist() == ["L07"] and rows["model_id"].tolist() == ["m-test"]
    assert "维持原承办" in picker.table.value  # shown as decided


def test_reassign_to_an_eligible_handler(picker, screening, tmp_path):
    data, _ = screening
    intra = picker.ranked[picker.ranked["suggested_rung"] == "intra_team"]
    cid = intra["case_id"].iloc[0] if len(intra) else picker.ranked["case_id"].iloc[0]
    picker.select(cid)
    assert picker.target.options, "an eligible handler is offered"
    case = data.current[data.current["case_id"] == cid].iloc[0]
    offered = {v for _, v in picker.target.options}
    assert case["handler_id"] not in offered
    picker.target.value = picker.target.options[0][1]
    picker.decider.value = "L07"
    picker.reason.value = "房产查封已久未处置"
    rec = picker.decide("reassign")
    assert rec["action"] in ("reassign_intra_team", "reassign_inter_team")
    assert rec["target_handler_id"] == picker.target.value


def test_language_toggle(picker):
    picker.lang.value = "en"
    assert picker.court.description == "Court"
    assert "Gain" in picker.table.value
    picker.select(picker.ranked["case_id"].iloc[0])
    assert "Check-up sheet" in picker.sheet.value


def test_decisions_from_an_existing_ledger_are_shown(screening, tmp_path):
    data, scored = screening
    cid = scored["case_id"].iloc[0]
    with Ledger(tmp_path / "l.sqlite") as led:
        led.record(cid, "defer", "L01", "等待评估报告")
    p = CasePicker(scored, data.current, ledger_path=tmp_path / "l.sqlite", top_n=5)
    assert p.decided == {cid: "defer"}
    assert "暂缓" in p.table.value
    assert np.isfinite(p.ranked["expected_gain"]).all()


def test_picker_starts_from_the_cards_scoring_policy(screening, tmp_path):
    data, scored = screening
    card = {"scoring_policy": {"priority": {"weighting": "blend", "capacity": 3}}}
    picker = CasePicker(scored, data.current, ledger_path=tmp_path / "l.sqlite", card=card)
    assert picker.weighting.value == "blend"
    assert picker.capacity.value == 3
    assert int(picker.ranked["candidate"].sum()) == 3
    assert picker.policy_record["source"] == "card"
    default = CasePicker(scored, data.current, ledger_path=tmp_path / "m.sqlite")
    assert default.weighting.value == "cases" and default.policy_record["source"] == "default"


def test_hostile_ids_are_shown_as_text_in_every_picker_fragment(screening, tmp_path):
    data, scored = screening
    hostile = '<script>alert(1)</script>" onmouseover="x'
    first = scored.loc[scored["priority_rank"] == 1, "case_id"].iloc[0]
    scored = scored.replace({"case_id": {first: hostile}})
    cases = data.current.replace({"case_id": {first: hostile}})
    cases.loc[cases["case_id"] == hostile, "previous_handler_ids"] = hostile
    p = CasePicker(scored, cases, ledger_path=tmp_path / "l.sqlite", top_n=5)
    p.select(hostile)
    p.decider.value, p.reason.value = "L07", hostile  # deciders are codes (ledger rule)
    p.buttons["defer"].click()
    for fragment in (p.table.value, p.sheet.value, p.status.value):
        assert "<script>alert" not in fragment and '" onmouseover' not in fragment
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34; onmouseover=&#34;x" in fragment
    p.lang.value = "en"  # English shows words for rungs and decisions, not codes
    cells = p.table.value
    assert "defer" in cells and "intra_team" not in cells and "higher_court" not in cells


def test_the_picker_finds_the_demo_model_without_notebook_02(tmp_path, monkeypatch):
    from crossexec_ml.apps import find_model

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)
    assert find_model() is None  # nothing yet: notebook 03 says so in place
    demo = tmp_path / "reports/demo/model"
    demo.mkdir(parents=True)
    (demo / "model.skops").write_bytes(b"")
    assert find_model() == Path("../reports/demo/model")  # right after `make demo`
    latest = tmp_path / "models/latest"
    latest.mkdir(parents=True)
    (latest / "model.skops").write_bytes(b"")
    assert find_model() == Path("../models/latest")  # notebook 02's model first
    assert find_model(tmp_path / "elsewhere") is None  # an explicit folder is not replaced


def test_a_double_click_in_the_picker_records_once(picker, tmp_path):
    picker.select(picker.ranked["case_id"].iloc[0])
    picker.decider.value, picker.reason.value = "L07", "财产正在处置"
    picker.buttons["defer"].click()
    picker.buttons["defer"].click()
    assert "请填写决定理由" not in picker.status.value
    with Ledger(tmp_path / "l.sqlite") as led:
        assert led.n_rows == 1


def test_a_damaged_ledger_disables_the_pickers_form(screening, tmp_path):
    data, scored = screening
    bad = tmp_path / "l.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84)  # a damaged file, not a ledger
    p = CasePicker(scored, data.current, ledger_path=bad, top_n=5)
    assert p.ledger_problem and all(b.disabled for b in p.buttons.values())
    p.select(p.ranked["case_id"].iloc[0])
    assert "已停用决定表" in p.status.value
