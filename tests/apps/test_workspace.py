"""The leader's workspace driven as a person would, with no kernel: run, list, case, decision."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.apps import (
    AMOUNT_BANDS,
    ListFilter,
    ListIndex,
    Workspace,
    case_list,
    proxy_user,
)
from crossexec_ml.data import HARD_BONE_FLAGS, make_cases, write_table
from crossexec_ml.decide import Ledger
from crossexec_ml.jobs import score_cases
from crossexec_ml.model import CrossExecModel


@pytest.fixture(scope="module")
def screening():
    data = make_cases(n_history=2000, n_current=300, seed=12)
    model = CrossExecModel().fit(data.history)
    scored = score_cases(model, data.current, model_id="m-test", explain_top=50)
    scored = scored.assign(decided_action=pd.NA, carried_over=False)
    return data, scored


def _write_run(folder, scored, cases, *, run_id, started, outcome="ok", checks=()):
    """A run folder as ``crossexec rescore`` leaves it: the files the workspace reads."""
    folder.mkdir(parents=True)
    write_table(scored, folder / "scored.parquet")
    write_table(cases, folder / "cases.parquet")
    manifest = {
        "run_id": run_id,
        "started_at": started,
        "run_date": started[:10],
        "outcome": outcome,
        "model": {"model_id": "m-test", "trained_until": "2026-04-30"},
        "rows": {
            "stalled_cohort": int(scored["stalled"].sum()),
            "candidates": int(scored["candidate"].sum()),
            "decided_in_ledger": 0,
            "carried_over": 0,
        },
        "checks": list(checks),
        "alarms": [],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture
def runs(screening, tmp_path):
    data, scored = screening
    root = tmp_path / "runs"
    _write_run(
        root / "a",
        scored,
        data.current,
        run_id="20261130T010000Z-aaaaaa",
        started="2026-11-30T01:00:00+00:00",
    )
    _write_run(
        root / "b",
        scored,
        data.current,
        run_id="20261207T010000Z-bbbbbb",
        started="2026-12-07T01:00:00+00:00",
    )
    return root


@pytest.fixture
def ws(runs, screening, tmp_path):
    data, _ = screening
    handlers = tmp_path / "handlers.csv"
    data.handlers.to_csv(handlers, index=False)
    return Workspace(
        runs,
        tmp_path / "ledger.sqlite",
        handlers_path=handlers,
        exports_dir=tmp_path / "exports",
        decider="",
        page_size=25,
    )


def _ranked(scored):
    return scored[scored["priority_rank"].notna()].sort_values("priority_rank")


def test_shows_the_newest_run_and_every_ranked_case_in_pages(ws, screening):
    _, scored = screening
    assert "20261207T010000Z-bbbbbb" in ws.header.value  # the newest run, not the first
    as_of = pd.to_datetime(scored["as_of_date"]).max()
    assert f"数据截至</b> {as_of:%Y-%m-%d}" in ws.header.value
    assert "crossexec-banner" not in ws.header.value
    ranked = _ranked(scored)
    assert len(ws.rows) == len(ranked) > 25
    assert ws.page_rows()["case_id"].tolist() == ranked["case_id"].head(25).tolist()
    for dropdown in (ws.court, ws.team, ws.rung, ws.band):
        assert dropdown.label == "全部"
    # Paging reaches every case, never only the top 20.
    last = -(-len(ranked) // 25) - 1
    ws.next_button.click()
    assert ws.page == 1 and ws.page_rows()["case_id"].iloc[0] == ranked["case_id"].iloc[25]
    ws.go(10_000)
    assert ws.page == last and ws.next_button.disabled
    assert ws.page_rows()["case_id"].iloc[-1] == ranked["case_id"].iloc[-1]
    assert f"第 {last + 1}/{last + 1} 页" in ws.count.value
    # The 7 headline tiles and the trend over both runs.
    assert ws.tiles.value.count('class="crossexec-tile"') == 7
    assert ws.trend_box.value.count("2026-11-30") == 1 and "2026-12-07" in ws.trend_box.value


def test_filters_and_search_match_pandas(ws, screening):
    data, scored = screening
    listed = ws.listed
    court = ws.court.options[1][1]
    ws.court.value = court
    assert set(listed.iloc[ws.rows]["court_id"]) == {court}
    assert len(ws.rows) == int((listed["court_id"] == court).sum())
    team = ws.team.options[1][1]
    assert team.startswith(court)
    ws.team.value = team
    ws.court.value = ""
    ws.team.value = ""
    ws.rung.value = "intra_team"
    ws.flags["flag_long_unresolved"].value = True
    expected = (listed["suggested_rung"].astype(str) == "intra_team") & listed[
        "flag_long_unresolved"
    ].astype(bool)
    assert ws.rows.tolist() == list(np.flatnonzero(expected))
    ws.rung.value = ""
    ws.flags["flag_long_unresolved"].value = False
    ws.band.value = "1to10"
    assert (
        (listed["amount_wan"].iloc[ws.rows] >= 1) & (listed["amount_wan"].iloc[ws.rows] < 10)
    ).all()
    ws.band.value = ""
    ws.livelihood.value = True
    assert listed["is_livelihood"].iloc[ws.rows].all() and len(ws.rows) > 0
    ws.livelihood.value = False
    # A part of a case number finds every case holding it; the whole number opens the case.
    target = listed["case_id"].iloc[7]
    part = target[1:9]
    ws.search.value = part
    assert set(listed["case_id"].iloc[ws.rows]) == {c for c in listed["case_id"] if part in c}
    assert ws.selected is None
    ws.search.value = target.replace("(", "（").replace(")", "）")  # full-width brackets too
    assert ws.selected == target and len(ws.rows) == 1
    assert target in ws.sheet.value and ws.case_box.layout.display is None
    ws.search.value = "no such case"
    assert len(ws.rows) == 0 and "筛选后没有案件" in ws.table.value


def test_amount_bands_partition_the_list(screening):
    data, scored = screening
    index = ListIndex(case_list(scored, data.current))
    counts = [int(index.mask(ListFilter(band=b)).sum()) for b in AMOUNT_BANDS]
    assert sum(counts) == len(index.listed)


def test_the_proposed_handler_is_preselected_and_explained(ws):
    plan = ws.plan()
    proposed = plan[plan["target_handler_id"].notna()].iloc[0]
    ws.open_case(str(proposed["case_id"]))
    assert ws.form.target.value == proposed["target_handler_id"]
    assert ws.form.target.label.startswith("★ ")
    assert str(proposed["target_handler_id"]) in ws.form.proposal.value
    assert "建议理由" in ws.form.proposal.value
    # Whole labels: no button is given a fixed width that would cut its text.
    assert all(b.layout.width == "auto" for b in ws.form.buttons.values())


def test_a_double_click_records_one_decision(ws, tmp_path):
    case = ws.listed["case_id"].iloc[0]
    ws.open_case(case)
    ws.form.decider.value = "L007"
    ws.form.reason.value = "财产正在原承办人处处置"
    ws.form.buttons["keep"].click()
    ws.form.buttons["keep"].click()  # the second click of a double-click
    assert "已记入台账" in ws.form.status.value
    assert "请填写决定理由" not in ws.form.status.value
    assert all(b.disabled for b in ws.form.buttons.values())
    with Ledger(tmp_path / "ledger.sqlite", create=False) as ledger:
        assert ledger.n_rows == 1
        recorded = ledger.rows(expand_scores=True).iloc[0]
    # The decision records whether the list proposed the case (the follow-up's 提议但维持).
    listed = ws.listed.set_index("case_id").loc[case]
    assert recorded["candidate"] in (True, False)  # a true/false, not the text "True"
    assert recorded["candidate"] == bool(listed["candidate"])
    assert recorded["p_keep"] == pytest.approx(float(listed["p_keep"]))
    # Shown at once: the list's row, the recent decisions and the tile.
    assert "维持原承办" in ws.table.value
    assert case in ws.recent.value and "L007" in ws.recent.value
    assert 'data-key="decided"' in ws.tiles.value


def test_a_second_decision_supersedes_the_first_after_confirmation(ws, tmp_path):
    case = ws.listed["case_id"].iloc[1]
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        first = ledger.record(case, "defer", "L001", "等待财产报告")
    ws.reload()  # the page opened after that decision
    ws.open_case(case)
    assert "此案已有决定" in ws.form.earlier_box.value and "L001" in ws.form.earlier_box.value
    ws.form.decider.value = "L007"
    ws.form.reason.value = "财产报告已到"
    ws.form.buttons["keep"].click()
    assert "请先勾选" in ws.form.status.value
    ws.form.confirm.value = True
    rec = ws.form.decide("keep")
    assert rec is not None and rec["supersedes"] == first["seq"]
    with Ledger(tmp_path / "ledger.sqlite", create=False) as ledger:
        rows = ledger.rows()
    assert rows["supersedes"].tolist()[-1] == first["seq"] and len(rows) == 2
    assert "更正第 1 号" in ws.recent.value


def test_the_ledger_is_read_when_the_page_opens(runs, tmp_path):
    ledger_path = tmp_path / "ledger.sqlite"
    before = Workspace(runs, ledger_path)
    case = before.listed["case_id"].iloc[3]
    assert "台账中尚无决定" in before.recent.value
    with Ledger(ledger_path) as ledger:  # decided a second before the next page load
        ledger.record(case, "escalate_higher_court", "L002", "跨区域财产需上级协调")
    after = Workspace(runs, ledger_path)
    assert case in after.recent.value
    assert case in after.pending_box.value  # a request awaiting the higher court's answer
    row = after.table.value.split(f'data-case="{case}"')[1].split("</tr>")[0]
    assert "报请" in row
    assert not ledger_path.with_name("ledger.sqlite-wal").exists()


def test_no_run_yet_says_what_to_do(tmp_path):
    ws = Workspace(tmp_path / "empty", tmp_path / "ledger.sqlite")
    assert "还没有任何一轮定期评分的结果" in ws.notice.value
    assert ws.body.layout.display == "none"
    assert not (tmp_path / "ledger.sqlite").exists()


def test_an_unreadable_run_says_so(screening, tmp_path):
    data, scored = screening
    folder = _write_run(
        tmp_path / "runs" / "a",
        scored,
        data.current,
        run_id="r1",
        started="2026-12-07T01:00:00+00:00",
    )
    (folder / "scored.parquet").write_bytes(b"not parquet")
    ws = Workspace(tmp_path / "runs", tmp_path / "ledger.sqlite")
    assert "无法读取" in ws.notice.value and str(folder) in ws.notice.value


def test_a_run_with_a_broken_manifest_is_named_not_called_missing(runs, tmp_path):
    # Walked: a broken manifest.json made the page say "no run yet, run one", or show the
    # week before as if it were the newest, without a word.
    newest = runs / "b"
    (newest / "manifest.json").write_text("{not json", encoding="utf-8")
    ws = Workspace(runs, tmp_path / "ledger.sqlite")
    assert str(newest) in ws.notice.value and "manifest.json" in ws.notice.value
    alone = tmp_path / "alone"
    alone.mkdir()
    newest.rename(alone / newest.name)
    ws = Workspace(alone, tmp_path / "ledger.sqlite")
    assert "还没有任何一轮" not in ws.notice.value and "manifest.json" in ws.notice.value


def test_a_damaged_ledger_disables_the_form(runs, tmp_path):
    ledger_path = tmp_path / "ledger.sqlite"
    with Ledger(ledger_path) as ledger:
        ledger.record("(2024)X1", "keep", "L001", "原因")
    # Tamper with a row behind the ledger's back (its triggers forbid it: drop them first).
    conn = sqlite3.connect(ledger_path)
    conn.execute("DROP TRIGGER decisions_no_update")
    conn.execute("UPDATE decisions SET reason = '改过' WHERE seq = 1")
    conn.commit()
    conn.close()
    ws = Workspace(runs, ledger_path, decider="L007")
    assert "已损坏或被改动" in ws.notice.value
    ws.open_case(ws.listed["case_id"].iloc[0])
    assert all(b.disabled for b in ws.form.buttons.values())
    assert "已停用决定表" in ws.form.status.value
    ws.form.reason.value = "试图记录"
    assert ws.form.decide("keep") is None
    with Ledger(ledger_path, create=False) as ledger:
        assert ledger.n_rows == 1


def test_drift_shows_a_red_banner_in_chinese(screening, tmp_path):
    data, scored = screening
    checks = [{"check": "psi", "column": "days_since_last_action", "status": "alarm"}]
    _write_run(
        tmp_path / "runs" / "a",
        scored,
        data.current,
        run_id="r1",
        started="2026-12-07T01:00:00+00:00",
        outcome="drift",
        checks=checks,
    )
    ws = Workspace(tmp_path / "runs", tmp_path / "ledger.sqlite")
    assert "crossexec-banner" in ws.header.value
    assert "距最近实质执行行为天数的分布明显变化" in ws.header.value
    assert "days_since" not in ws.header.value


def test_the_filtered_list_exports_to_excel(ws):
    import openpyxl

    ws.court.value = ws.court.options[1][1]
    path = ws.export()
    assert path is not None and path.exists()
    sheet = openpyxl.load_workbook(path).active
    assert sheet.max_row - 1 == len(ws.rows)
    assert "download=" in ws.export_link.value
    # Walked as a leader: the gain read 29.69404009640025 (General), not 29.7 个百分点.
    header = [c.value for c in sheet[1]]
    gain = sheet.cell(row=2, column=header.index("预期增益（个百分点）") + 1)
    assert "个百分点" in gain.number_format
    assert gain.value == pytest.approx(ws.listed["expected_gain"].iloc[ws.rows[0]] * 100)
    ws.lang.value = "en"  # the export's sentence was left in Chinese on the English page
    assert "已导出" not in ws.export_link.value


def test_the_proxy_user_decides(runs, tmp_path, monkeypatch):
    assert proxy_user({"HTTP_X_FORWARDED_USER": " L042 "}) == "L042"
    assert proxy_user({}) is None
    monkeypatch.setenv("HTTP_X_FORWARDED_USER", "L042")
    ws = Workspace(runs, tmp_path / "ledger.sqlite")
    assert ws.form.decider.value == "L042" and ws.form.decider.disabled
    ws.open_case(ws.listed["case_id"].iloc[0])
    ws.form.reason.value = "统一协调"
    rec = ws.form.decide("defer")
    assert rec["decided_by"] == "L042"


def test_english_switches_the_open_sheet(ws):
    ws.open_case(ws.listed["case_id"].iloc[0])
    ws.form.reason.value = "半句"
    ws.lang.value = "en"
    assert 'lang="en"' in ws.sheet.value
    assert "Run date" in ws.header.value and "Decision so far" in ws.table.value
    assert ws.form.buttons["keep"].description == "Keep"
    assert ws.form.reason.value == "半句"  # switching language keeps what was typed


def test_hard_bone_flags_are_named_in_the_list(ws):
    row = ws.listed[ws.listed[list(HARD_BONE_FLAGS)].any(axis=1)].iloc[0]
    cells = ws._row_cells(row.to_dict(), "zh")["cells"]
    assert cells[9] and "flag_" not in cells[9]


@pytest.mark.notebook
def test_notebook_04_opens_the_workspace(runs, tmp_path):
    """Notebook 04 only calls the workspace: run headless, it shows it and writes no stderr."""
    import nbformat
    import papermill
    from jupyter_client.kernelspec import KernelSpecManager

    from tests.conftest import REPO

    if "crossexec-ml" not in KernelSpecManager().find_kernel_specs():
        pytest.fail("kernel 'crossexec-ml' is not installed: run `make install`")
    out = tmp_path / "04.out.ipynb"
    papermill.execute_notebook(
        str(REPO / "notebooks/04_leadership_dashboard.ipynb"),
        str(out),
        parameters={"runs_dir": str(runs), "ledger_path": str(tmp_path / "missing.sqlite")},
        kernel_name="crossexec-ml",
        cwd=str(REPO / "notebooks"),
        progress_bar=False,
    )
    outputs = [o for c in nbformat.read(out, as_version=4).cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error" or o.get("name") == "stderr"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    assert not (tmp_path / "missing.sqlite").exists()  # opening the page never creates a ledger


def test_changes_since_the_previous_run_count_todays_decisions(screening):
    from crossexec_ml.apps import list_changes

    _, scored = screening
    now = scored.copy()
    before = scored.copy()
    cands = now.loc[now["candidate"], "case_id"].tolist()
    # Before: the first candidate was not one yet; one more case was a candidate; one case
    # has left the stock since.
    before.loc[before["case_id"] == cands[0], "candidate"] = False
    outside = now.loc[~now["candidate"] & now["priority_rank"].notna(), "case_id"].iloc[0]
    before.loc[before["case_id"] == outside, "candidate"] = True
    gone = before.iloc[[0]].assign(case_id="(2020)gone", candidate=True)
    before = pd.concat([before, gone], ignore_index=True)
    got = list_changes(now, before, decided={cands[1]})
    assert got == {
        "candidates_now": len(cands),
        "new_candidates": 1,
        "carried_over": len(cands) - 2,
        "decided_since": 1,
        "left_list": 1,
        "left_stock": 1,
    }


def test_escalation_is_a_request_the_higher_court_answers(runs, tmp_path):
    from crossexec_ml.errors import LedgerError

    ledger_path = tmp_path / "ledger.sqlite"
    ws = Workspace(runs, ledger_path, decider="")
    case = ws.listed["case_id"].iloc[0]
    ws.open_case(case)
    ws.form.decider.value = "L001"
    ws.form.reason.value = "跨省财产，需上级法院统一协调"
    request = ws.form.decide("escalate_higher_court")
    assert case in ws.pending_box.value
    assert ws.answer_controls.layout.display is None
    assert ws.answer_pick.options[1][1] == str(request["seq"])
    # The higher court declines: a row referring to the request; nothing is pending then.
    ws.answer_pick.value = str(request["seq"])
    ws.answer_who.value = "H-SUP-3"
    ws.answer_reason.value = "本院可自行处置，退回"
    ws.answer_buttons["declined"].click()
    ws.answer_buttons["declined"].click()  # a double-click answers once
    with Ledger(ledger_path, create=False) as ledger:
        rows = ledger.rows()
        assert ledger.verify().ok
    assert len(rows) == 2
    answer = rows.iloc[-1]
    assert answer["supersedes"] == request["seq"] and answer["action"] == "defer"
    assert json.loads(answer["scores"]) == {"escalation_answer": "declined", "request_seq": 1}
    assert "目前没有待答复的请求" in ws.pending_box.value
    assert "上级法院不同意，退回本院（答复第 1 号请求）" in ws.recent.value
    # Read again at the next page load: still answered; a second answer is refused.
    again = Workspace(runs, ledger_path)
    assert "目前没有待答复的请求" in again.pending_box.value
    with Ledger(ledger_path) as ledger, pytest.raises(LedgerError, match="already answered"):
        ledger.answer_escalation(request["seq"], "approved", "H-SUP-3", "同意")


def test_a_ledger_that_cannot_be_opened_is_not_called_damaged(runs, tmp_path):
    folder = tmp_path / "ledger-is-a-folder"
    folder.mkdir()
    ws = Workspace(runs, folder)
    assert "无法打开" in ws.notice.value and "已损坏" not in ws.notice.value
    assert all(b.disabled for b in ws.form.buttons.values())


def test_a_run_with_an_exploration_band_marks_its_cases_and_says_why(screening, tmp_path):
    data, _ = screening
    model = CrossExecModel(learner="s_linear_0.2").fit(data.history)
    banded = score_cases(model, data.current, model_id="m-test", explore=0.5, explore_seed=3)
    banded = banded.assign(decided_action=pd.NA, carried_over=False)
    root = tmp_path / "runs"
    _write_run(root / "x", banded, data.current, run_id="20261207T010000Z-cccccc",
               started="2026-12-07T01:00:00+00:00")  # fmt: skip
    ws = Workspace(root, tmp_path / "ledger.sqlite", decider="", page_size=400)
    page = ws.table.value
    band = banded["proposal_propensity"] == 0.5
    assert f"容量线上下共 {int(band.sum())} 件" in page
    assert page.count("是（探索区间随机抽中）") == int((band & banded["candidate"]).sum()) > 0
    assert page.count("否（探索区间随机未抽中）") == int((band & ~banded["candidate"]).sum()) > 0
    # A run without a band says nothing about one.
    plain = tmp_path / "plain"
    _write_run(plain / "y", _ranked(banded).drop(columns="proposal_propensity"), data.current,
               run_id="20261207T010000Z-dddddd", started="2026-12-07T01:00:00+00:00")  # fmt: skip
    assert "探索区间" not in Workspace(plain, tmp_path / "l2.sqlite", decider="").table.value


def test_a_search_that_leaves_the_open_case_out_closes_it(ws):
    first = ws.page_rows()["case_id"].iloc[0]
    ws.open_case(first)
    assert ws.selected == first and ws.case_box.layout.display is None
    ws.search.value = "no such case 不存在"
    assert len(ws.rows) == 0
    assert ws.selected is None and ws.sheet.value == "" and ws.case_box.layout.display == "none"
