"""The workspace's follow-up section, driven as a leader would, with no kernel.

A run folder as ``crossexec rescore --followup-cases`` leaves it (``followup.json`` and
``followup.html`` written by the run's own code), a simulated leader's decisions and the
generator's half-year as the later export; then the runs without any of it.
"""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest

from crossexec_ml.apps import Workspace
from crossexec_ml.data import make_cases, play_half_year, write_table
from crossexec_ml.decide import ACTION_TO_RUNG, Ledger
from crossexec_ml.evaluate import follow_up_ledger, simulate_decisions
from crossexec_ml.jobs import score_cases
from crossexec_ml.jobs._learning import RunFollowUp, add_followup
from crossexec_ml.model import CrossExecModel
from crossexec_ml.text import fmt_percent


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    """A scored list, a ledger of the simulated leader's decisions and the later export."""
    root = tmp_path_factory.mktemp("ws_followup")
    data = make_cases(n_history=2000, n_current=300, seed=12)
    model = CrossExecModel(learner="s_linear_0.2").fit(data.history)
    scored = score_cases(model, data.current, model_id="m-test", explain_top=0)
    scored = scored.assign(decided_action=pd.NA, carried_over=False)
    ledger = root / "ledger.sqlite"
    simulate_decisions(scored, str(ledger))
    with Ledger(ledger, create=False, read_only=True) as led:
        latest = led.latest()
    taken = pd.Series(
        latest["action"].map(ACTION_TO_RUNG).to_numpy(), index=latest["case_id"].astype(str)
    )
    later = play_half_year(
        data.current,
        data.truth,
        taken,
        decided_on=pd.Series(pd.Timestamp.now().normalize(), index=taken.index),
        seed=5,
    )
    return data, scored, ledger, later


def _run(root, scored, cases, followup=None, name="r"):
    folder = root / name
    folder.mkdir(parents=True)
    write_table(scored, folder / "scored.parquet")
    write_table(cases, folder / "cases.parquet")
    manifest = {
        "run_id": "20261207T010000Z-ffffff",
        "started_at": "2026-12-07T01:00:00+00:00",
        "run_date": "2026-12-07",
        "outcome": "ok",
        "model": {"model_id": "m-test", "trained_until": "2026-04-30"},
        "rows": {"stalled_cohort": 1, "candidates": 1, "decided_in_ledger": 0, "carried_over": 0},
        "checks": [],
        "alarms": [],
        "files": ["manifest.json"],
    }
    add_followup(folder, manifest, followup)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def _text(section) -> str:
    return "".join(v.value for v in (section.box, section.table, section.link))


def test_the_section_shows_realised_against_predicted_by_decision_court_and_month(
    decided, tmp_path
):
    data, scored, ledger, later = decided
    result = follow_up_ledger(str(ledger), later)
    source = tmp_path / "later.parquet"
    write_table(later, source)
    root = _run(tmp_path / "runs", scored, data.current, RunFollowUp(source, result))
    ws = Workspace(root, ledger, decider="")
    section = ws.followup
    assert ws.notice.value == ""
    text = _text(section)
    detail = result.detail
    known, resolved = int(detail["known"].sum()), int(detail["resolved"].sum())
    assert known > 0
    assert f"已决定 {len(detail):,} 件，其中 {known:,} 件已有180日结果" in text
    assert f"化解 {resolved:,} 件，实际化解率 {fmt_percent(resolved / known)}" in text
    assert "later.parquet" in text and "终本不计为化解" in text
    # One row per decision, in Chinese, with the prediction's verdict.
    table = section.table.value
    by_action = result.tables["action"]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
    assert len(rows) == len(by_action)
    verdicts = re.findall(r"(与预测相符|好于预测|低于预测|尚无结果)", table)
    assert len(verdicts) == len(by_action)
    for row, verdict in zip(by_action.itertuples(), verdicts, strict=True):
        inside = row.ci_low <= row.predicted_rate <= row.ci_high
        assert (verdict == "与预测相符") == inside, (row, verdict)
    for code in ("reassign_intra_team", "keep_", "SIM-HANDLER", "SIMULATED", "nan", "None"):
        assert code not in table, code
    # Never per handler: decision, rung, court, team, month and proposal only.
    assert [v for _, v in section.by.options] == [
        "action",
        "rung",
        "court_id",
        "team_id",
        "month",
        "proposal",
    ]
    section.by.value = "court_id"
    for court in result.tables["court_id"]["court_id"]:
        assert f">{court}<" in section.table.value
    section.by.value = "month"
    assert pd.Timestamp.now(tz="Asia/Shanghai").strftime("%Y-%m") in section.table.value
    # The full page is a download link to the run's followup.html.
    link = re.search(r'href="data:text/html;base64,([^"]+)"', section.link.value).group(1)
    assert base64.b64decode(link) == (root / "r" / "followup.html").read_bytes()
    ws.lang.value = "en"
    assert "After the decisions" in _text(ws.followup) and section.by.value == "month"


@pytest.mark.parametrize("state", ["none", "no_decisions", "none_known", "unreadable"])
def test_no_outcomes_yet_is_a_calm_sentence(decided, tmp_path, state):
    data, scored, ledger, later = decided
    followup = None
    if state == "no_decisions":
        followup = RunFollowUp(tmp_path / "later.csv", None)
        followup.source.write_text("x", encoding="utf-8")
    elif state in ("none_known", "unreadable"):
        fresh = later.assign(closure_mode_180d=pd.NA, resolved_180d=pd.NA, outcome_date=pd.NaT)
        source = tmp_path / "later.parquet"
        write_table(fresh, source)
        followup = RunFollowUp(source, follow_up_ledger(str(ledger), fresh))
    root = _run(tmp_path / "runs", scored, data.current, followup)
    if state == "unreadable":
        (root / "r" / "followup.json").write_text("{broken", encoding="utf-8")
    ws = Workspace(root, ledger, decider="")
    text = _text(ws.followup)
    expected = {
        "none": "本轮运行没有带回后续结果",
        "no_decisions": "台账中尚无决定",
        "none_known": "尚无一件有180日结果",
        "unreadable": "跟踪文件无法读取",
    }[state]
    assert expected in text
    assert ws.followup.table.value == "" and ws.notice.value == ""
    assert ws.followup.by.layout.display == "none"
    assert len(ws.page_rows()) > 0  # the rest of the page works as before


def test_the_section_reads_the_files_the_run_writes():
    from crossexec_ml.apps._followup_view import _FOLLOWUP_HTML, _FOLLOWUP_JSON
    from crossexec_ml.jobs import FOLLOWUP_FILES

    assert (_FOLLOWUP_JSON, _FOLLOWUP_HTML) == FOLLOWUP_FILES
