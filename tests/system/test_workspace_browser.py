"""Browser journey (issue 14, "Done when"): a scheduled run, then the workspace in Chromium.

A model is trained on the sample, one scheduled re-scoring run is made with the CLI exactly as
the scheduler makes it, and notebook 04 (the workspace) is served by Voilà as ``make dashboard``
serves it (no preheated kernel). Chromium then walks what a bureau leader does: the page shows
that run and its top case; a search finds a case by its 案号; its check-up sheet opens; a
double-clicked decision is recorded once and shows in the recent decisions; a reload still shows
it; the filtered list's Excel export opens with openpyxl; the print view prints every section.
Every non-loopback request is blocked and counted and every dialog counted (the fixtures of
``test_browser.py``). Screenshots go to ``reports/screenshots/``.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.system import test_browser
from tests.system.test_browser import (
    SCREENSHOTS,
    _need_chromium,
    _parametrised_copy,
    _screenshot,
    _Voila,
)

pytestmark = pytest.mark.browser
#: The same Chromium page: outside requests blocked and counted, dialogs counted.
browser_page = test_browser.browser_page

#: Ledger and rung codes, and Python's booleans, that must never reach a Chinese page.
RAW = re.compile(
    r"\b(intra_team|inter_team|higher_court|reassign_\w+|escalate_higher_court|"
    r"refer_judicial_aid|flag_\w+|True|False|NaN|nan|None)\b"
)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crossexec_ml.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )


@pytest.fixture(scope="module")
def scheduled_run(tmp_path_factory):
    """One run of the schedule on the sample: model, empty ledger, ``rescore`` into runs/."""
    _need_chromium()
    root = tmp_path_factory.mktemp("workspace")
    model, ledger, runs = root / "model", root / "ledger.sqlite", root / "runs"
    from crossexec_ml.decide import Ledger
    from crossexec_ml.jobs import train

    # The model and the empty ledger in this process (the CLI's own paths are tested
    # elsewhere); the run itself with the CLI, as the scheduler makes it.
    train(REPO / "data/sample/history.csv", model, progress=False)
    Ledger(ledger).close()
    run = _cli(
        "rescore",
        "--cases",
        "data/sample/current.csv",
        "--model",
        str(model),
        "--handlers",
        "data/sample/handlers.csv",
        "--ledger",
        str(ledger),
        "--out-dir",
        str(runs / "2026-12-07"),
        "--quiet",
    )
    assert run.returncode in (0, 3), run.stderr  # 3: drift or stale (the sample's dates age)
    return {"root": root, "ledger": ledger, "runs": runs}


def _input(page, kind: str, label: str):
    box = page.locator(f".widget-{kind}").filter(has=page.locator("label", has_text=label))
    return box.locator({"text": "input", "textarea": "textarea"}[kind])


def _no_raw_codes(page) -> None:
    text = page.inner_text("body")
    assert "Traceback" not in text
    found = sorted(set(RAW.findall(text)))
    assert not found, f"raw codes or booleans on the Chinese page: {found}"


def test_the_leaders_journey(scheduled_run, browser_page, tmp_path):
    import openpyxl

    from crossexec_ml.data import read_scored
    from crossexec_ml.decide import Ledger
    from crossexec_ml.jobs import newest_run

    run = newest_run(scheduled_run["runs"])
    scored = read_scored(run.folder / "scored.parquet")
    ranked = scored[scored["priority_rank"].notna()].sort_values("priority_rank")
    top, wanted = ranked["case_id"].iloc[0], ranked["case_id"].iloc[4]
    nb = _parametrised_copy(
        "04_leadership_dashboard",
        tmp_path / "nb",
        runs_dir=str(scheduled_run["runs"]),
        ledger_path=str(scheduled_run["ledger"]),
        handlers_path=str(REPO / "data/sample/handlers.csv"),
        exports_dir=str(tmp_path / "exports"),
        lang="zh",
    )
    page = browser_page
    page.set_viewport_size({"width": 1280, "height": 900})
    with _Voila(nb) as server:
        page.goto(server.url, wait_until="domcontentloaded")
        table = page.locator("table.crossexec-list")
        table.wait_for()
        facts = page.locator(".crossexec-run-facts").inner_text()
        assert run.run_id in facts and "数据截至" in facts
        assert page.locator("table.crossexec-list tr[data-case]").first.get_attribute(
            "data-case"
        ) == str(top)
        assert "共 1,500 件" in page.inner_text("body")
        for select in page.locator(".widget-dropdown select").all()[:4]:
            assert select.evaluate("s => s.options[s.selectedIndex].text") == "全部"
        if run.outcome in ("drift", "stale"):
            assert page.locator(".crossexec-banner").is_visible()
        _no_raw_codes(page)
        _screenshot(page, "workspace")

        # Search by 案号: the whole number opens the case's check-up sheet and the form.
        search = _input(page, "text", "搜索案号")
        search.fill(str(wanted))
        search.press("Enter")
        sheet = page.locator(".crossexec-checkup")
        sheet.wait_for()
        assert str(wanted) in sheet.locator("h3").inner_text()
        assert "共 1 件" in page.inner_text("body")

        # A double-click records one decision, and no red "enter the reason" follows.
        _input(page, "text", "决定人").fill("L007")
        _input(page, "textarea", "决定理由").fill("浏览器旅程测试：财产线索已在原承办人处")
        page.locator("button", has_text="维持原承办").dblclick()
        page.locator(".crossexec-status", has_text="已记入台账").wait_for()
        page.wait_for_timeout(1500)  # let the second click arrive and be ignored
        assert "请填写决定理由" not in page.inner_text("body")
        assert str(wanted) in page.locator(".crossexec-recent").inner_text()
        _no_raw_codes(page)
        _screenshot(page, "workspace_case")

        # The filtered list to Excel, downloaded from the page.
        page.locator("button", has_text="导出当前筛选结果").click()
        link = page.locator(".crossexec-export a")
        link.wait_for()
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / "download.xlsx"
        download.value.save_as(saved)
        book = openpyxl.load_workbook(saved)
        values = [c for row in book.active.iter_rows(values_only=True) for c in row]
        assert str(wanted) in values

        # The print view: every section is laid out (nothing cut by Voilà's scrolling panel).
        page.emulate_media(media="print")
        for part in (".crossexec-list", ".crossexec-checkup", ".crossexec-recent"):
            assert page.locator(part).first.is_visible(), part
        pdf = page.pdf(format="A4", landscape=True)
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert pages > 2, f"the page prints on {pages} sheet(s): sections are cut"
        _screenshot(page, "workspace_print")
        page.emulate_media(media="screen")

        # A reload (a new kernel: read at open) still shows the decision.
        page.reload(wait_until="domcontentloaded")
        table.wait_for()
        recent = page.locator(".crossexec-recent")
        recent.wait_for()
        assert str(wanted) in recent.inner_text() and "L007" in recent.inner_text()
        row = page.locator(f"table.crossexec-list tr[data-case='{wanted}']")
        assert "维持原承办" in row.inner_text()

    with Ledger(scheduled_run["ledger"], create=False) as ledger:
        rows = ledger.rows()
    assert rows["case_id"].tolist() == [str(wanted)]
    assert rows["decided_by"].tolist() == ["L007"]
    assert (SCREENSHOTS / "workspace_print.png").exists()
