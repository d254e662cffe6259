"""The follow-up as a leader sees it in Chromium: the workspace's section and the full page.

A run folder as ``crossexec rescore --followup-cases`` leaves it (written by the run's own
code, no papermill): a model trained on the sample, a simulated leader's decisions in a demo
ledger, the generator's half-year as the later export. Notebook 04 is served by Voilà; the
section is read at 1440x900 and 1280x720 (nothing cut off, Chinese only, numbers formatted),
its grouping switched, and the full follow-up page opened from the run's folder. Screenshots go
to ``reports/screenshots/``.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.system import test_browser
from tests.system.test_browser import SCREENSHOTS, _need_chromium, _parametrised_copy, _Voila

pytestmark = pytest.mark.browser
browser_page = test_browser.browser_page
#: Codes and Python values that must never reach a Chinese page.
RAW = re.compile(
    r"\b(intra_team|inter_team|higher_court|reassign_\w+|escalate_higher_court|keep|"
    r"terminate_current|fully_executed|True|False|NaN|nan|None|SIMULATED|SIM-HANDLER)\b"
)
SIZES = ((1440, 900), (1280, 720))


@pytest.fixture(scope="module")
def run_with_followup(tmp_path_factory):
    _need_chromium()
    from crossexec_ml.data import load_sample, write_table
    from crossexec_ml.evaluate import follow_up_ledger, ledger_half_year, simulate_decisions
    from crossexec_ml.jobs import RunFollowUp, add_followup, proposed_cases, score_cases
    from crossexec_ml.model import CrossExecModel

    root = tmp_path_factory.mktemp("followup_browser")
    sample = load_sample()
    model = CrossExecModel(learner="s_linear_0.2").fit(sample["history"])
    scored = score_cases(model, sample["current"], model_id="m-demo", explain_top=20)
    ledger = root / "ledger.sqlite"
    # The leader decided the first half of the proposal; the rest nobody decided.
    proposed = scored.index[scored["candidate"].astype(bool)]
    simulate_decisions(
        scored.assign(candidate=scored.index.isin(proposed[: len(proposed) // 2])), str(ledger)
    )
    later = ledger_half_year(str(ledger), sample["current"], sample["truth"], seed=1)
    write_table(later, root / "later.parquet")
    folder = root / "runs" / "2026-12-07"
    folder.mkdir(parents=True)
    write_table(scored.assign(carried_over=False), folder / "scored.parquet")
    write_table(sample["current"], folder / "cases.parquet")
    manifest = {
        "run_id": "20261207T010000Z-abcdef",
        "started_at": "2026-12-07T01:00:00+00:00",
        "run_date": "2026-12-07",
        "outcome": "ok",
        "model": {"model_id": "m-demo", "trained_until": "2026-04-30"},
        "rows": {"stalled_cohort": 1, "candidates": 1, "decided_in_ledger": 0, "carried_over": 0},
        "checks": [],
        "alarms": [],
        "files": ["manifest.json"],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = follow_up_ledger(str(ledger), later, proposals=proposed_cases(root / "runs"))
    add_followup(folder, manifest, RunFollowUp(root / "later.parquet", result))
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return {"root": root, "runs": root / "runs", "ledger": ledger, "run": folder, "result": result}


def _fits(page, selector: str) -> None:
    """Nothing in ``selector`` is wider than the page: no cell cut off, no sideways scroll."""
    over = page.evaluate(
        """sel => {
             const edge = document.documentElement.clientWidth + 1;
             return [...document.querySelectorAll(sel + ' *')]
               .filter(e => e.getBoundingClientRect().right > edge)
               .map(e => e.tagName + ':' + e.textContent.slice(0, 30));
           }""",
        selector,
    )
    assert over == [], over


def test_the_follow_up_section_and_page_read_as_a_leader_reads_them(
    run_with_followup, browser_page, tmp_path
):
    result = run_with_followup["result"]
    nb = _parametrised_copy(
        "04_leadership_dashboard",
        tmp_path / "nb",
        runs_dir=str(run_with_followup["runs"]),
        ledger_path=str(run_with_followup["ledger"]),
        handlers_path="",
        exports_dir=str(tmp_path / "exports"),
        lang="zh",
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser_page
    known = result.to_json()["n_known"]  # decided cases only; undecided ones have a table
    with _Voila(nb) as server:
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            page.goto(server.url, wait_until="domcontentloaded")
            section = page.locator(".crossexec-followup-section")
            section.locator("table").wait_for()
            section.scroll_into_view_if_needed()
            text = section.inner_text()
            assert "决定之后：已决定案件的结果" in text
            assert f"其中 {known:,} 件已有180日结果" in text and "与预测相符" in text
            assert not RAW.findall(text), RAW.findall(text)
            _fits(page, ".crossexec-followup-section")
            section.screenshot(path=str(SCREENSHOTS / f"workspace-followup-{width}x{height}.png"))
        # By court: one row per court of the decided cases, the link to the full page.
        by = section.locator("select")
        by.select_option(label="按法院")
        courts = sorted(result.tables["court_id"]["court_id"])
        page.wait_for_function(
            "n => document.querySelectorAll('.crossexec-followup-section tr').length === n",
            arg=len(courts) + 1,
        )
        assert section.locator("a[download]").inner_text() == "下载完整跟踪页"
        # What became of the proposal: moved or kept, and the proposed cases nobody decided.
        by.select_option(label="按是否提议")
        page.wait_for_function(
            "() => document.querySelector('.crossexec-followup-section table')"
            ".innerText.includes('提议未决定')"
        )
        table = section.locator("table").inner_text()
        undecided = result.to_json()["n_undecided"]
        assert undecided > 0 and "提议并调整" in table and not RAW.findall(table)
        section.screenshot(path=str(SCREENSHOTS / "workspace-followup-proposal.png"))
    # The full page, as the link downloads it (the run's followup.html), at both sizes.
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.goto((run_with_followup["run"] / "followup.html").as_uri())
        body = page.inner_text("body")
        assert "交叉执行决定跟踪" in body and "终本（不计化解）" in body
        # The note explains the undecided row, which only the runs' proposals add.
        assert f"没有任何决定的案件（{result.to_json()['n_undecided']} 件）" in body
        assert not RAW.findall(body), RAW.findall(body)
        page.screenshot(path=str(SCREENSHOTS / f"followup-page-{width}x{height}.png"))
