"""Browser tests: the workspace (notebook 04) and the case picker (notebook 03) served by Voilà.

Each test serves a parametrised copy of a committed notebook (papermill's
``parameterize_notebook`` injects tmp paths after the literal ``parameters`` cell, so the
committed notebooks stay literal-only) with the venv's Voilà on 127.0.0.1, a free port and
``--Voila.port_retries=0``, and drives Debian's Chromium (``/usr/bin/chromium``) with
Playwright. Without Chromium the tests are skipped, except under CI (``CI`` set), where that is
a failure: ``.ci/run`` installs it. Screenshots go to ``reports/screenshots/`` (git-ignored).

The picker test guards the empty-FigureWidget trap (voila#1533, NOTEBOOK_NOTES.md): it checks
that the picker's own FigureWidget has drawn bars before clicking one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
VOILA = Path(sys.executable).parent / "voila"
#: Where the workspace's Voilà template lives (``--template=crossexec``; no CDN stylesheets).
VOILA_JUPYTER_PATH = REPO / "crossexec_ml" / "apps" / "jupyter"
NOTEBOOKS = REPO / "notebooks"
SCREENSHOTS = REPO / "reports" / "screenshots"
KERNEL = "crossexec-ml"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: Longest wait for Voilà to run a notebook and the page to render it (ms).
PAGE_TIMEOUT_MS = 45_000


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = (
        f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium fonts-liberation "
        "(`playwright install` cannot download browsers here)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    """A model trained on the sample history and the sample's current cases scored with it."""
    _need_chromium()
    from crossexec_ml.jobs import score, train

    root = tmp_path_factory.mktemp("browser")
    model_dir = root / "model"
    train(REPO / "data/sample/history.csv", model_dir, progress=False)
    scored = root / "scored.parquet"
    score(model_dir, REPO / "data/sample/current.csv", scored)
    return {"root": root, "model_dir": model_dir, "scored": scored}


def _parametrised_copy(name: str, folder: Path, **parameters) -> Path:
    """Write ``folder/<name>.ipynb``: the committed notebook with ``parameters`` injected."""
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    # papermill's loader adds the empty ``tags`` lists its parameterisation expects.
    nb = load_notebook_node(str(NOTEBOOKS / f"{name}.ipynb"))
    nb = parameterize_notebook(nb, parameters, kernel_name=KERNEL, language="python")
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{name}.ipynb"
    nbformat.write(nb, out)
    return out


class _Voila:
    """Voilà serving one notebook on 127.0.0.1; stopped (its process group only) on exit."""

    def __init__(self, notebook: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = notebook.with_suffix(".voila.log")
        env = {**os.environ, "OMP_NUM_THREADS": "1", "JUPYTER_PATH": str(VOILA_JUPYTER_PATH)}
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    str(VOILA),
                    notebook.name,
                    f"--port={self.port}",
                    "--Voila.port_retries=0",
                    "--Voila.ip=127.0.0.1",
                    "--no-browser",
                    "--template=crossexec",
                    f"--Voila.config_file_paths={[str(VOILA_JUPYTER_PATH)]!r}",
                    "--VoilaConfiguration.show_tracebacks=True",
                ],
                cwd=notebook.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited: {self.log.read_text(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"voila did not listen on {self.port}: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def __enter__(self) -> _Voila:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture
def browser_page():
    """A fresh headless Chromium page (Playwright driving /usr/bin/chromium).

    Every request to a host other than this machine is blocked and counted, and every dialog
    (``alert`` from an injected script) is dismissed and counted: a page served on a court's
    intranet fetches nothing from outside and runs no script carried in the data. Both counts
    must be zero when the test ends.
    """
    _need_chromium()
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    dialogs: list[str] = []

    def only_this_machine(route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:", "file:")) or urlparse(url).hostname in LOOPBACK:
            route.continue_()
        else:
            external.append(url)
            route.abort()

    def dismiss(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(PAGE_TIMEOUT_MS)
            page.route("**/*", only_this_machine)
            page.on("dialog", dismiss)
            yield page
        finally:
            browser.close()
    assert external == [], f"the page asked hosts outside this machine: {external}"
    assert dialogs == [], f"scripts from the data ran in the page: {dialogs}"


def _screenshot(page, name: str) -> Path:
    """Save the whole page: Voilà scrolls inside its own panel, so grow the viewport to fit."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))"
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(height) + 50, 8000)})
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def _drawn_marks(page, plot) -> int:
    """Number of drawn bar/point marks with a non-zero size inside one plotly plot."""
    return plot.evaluate(
        """el => [...el.querySelectorAll('g.point path, .scatterlayer .trace path')]
                 .filter(p => { const b = p.getBBox(); return b.width > 0 && b.height > 0; })
                 .length"""
    )


def _widget(page, kind: str, label: str):
    """The input of the ipywidgets control of ``kind`` whose description is ``label``."""
    box = page.locator(f".widget-{kind}").filter(has=page.locator("label", has_text=label))
    return box.locator({"dropdown": "select", "text": "input", "textarea": "textarea"}[kind])


def test_picker_filters_clicks_a_bar_and_records_a_decision(artefacts, browser_page, tmp_path):
    from crossexec_ml.decide import Ledger

    ledger_path = tmp_path / "ledger.sqlite"
    nb = _parametrised_copy(
        "03_pick_next_case",
        tmp_path / "nb",
        cases_path=str(REPO / "data/sample/current.csv"),
        handlers_path=str(REPO / "data/sample/handlers.csv"),
        model_dir=str(artefacts["model_dir"]),
        out_dir=str(tmp_path / "out"),
        ledger_path=str(ledger_path),
        lang="en",
    )
    page = browser_page
    with _Voila(nb) as server:
        page.goto(server.url, wait_until="domcontentloaded")
        court = _widget(page, "dropdown", "Court")
        court.wait_for()
        court.select_option(label="C01")
        # The picker's own FigureWidget must draw its bars (the voila#1533 empty-chart trap),
        # and after the filter only C01 cases remain in its table.
        chart = page.locator(".js-plotly-plot").first
        chart.locator(".main-svg").first.wait_for()
        page.wait_for_function(
            """() => { const el = document.querySelector('.js-plotly-plot');
                       return el && [...el.querySelectorAll('g.point path')]
                         .some(p => p.getBBox().width > 0); }""",
            timeout=PAGE_TIMEOUT_MS,
        )
        assert _drawn_marks(page, chart) > 0
        # ...and the layout Python set before the page connected: title, rank 1 on top.
        assert "Top cases by expected gain" in chart.locator(".gtitle").text_content()
        bars = chart.locator("g.point path")
        first, last = bars.first.bounding_box(), bars.last.bounding_box()
        assert first["y"] < last["y"], "rank 1 must be the top bar (reversed y axis)"
        page.wait_for_function(
            """() => { const t = document.querySelector('table.crossexec-picker');
                       return t && t.innerText.includes('执') ; }"""
        )
        _screenshot(page, "picker_filtered")

        bar = chart.locator("g.point path").first
        box = bar.bounding_box()
        assert box is not None and box["width"] > 0
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        sheet = page.locator(".crossexec-checkup")
        sheet.wait_for()
        heading = sheet.locator("h3").inner_text()
        assert heading.startswith("Check-up sheet: ")
        case_id = heading.split(": ", 1)[1].strip()

        _widget(page, "text", "Decided by").fill("L007")
        _widget(page, "textarea", "Reason").fill("browser test: assets found, keep with handler")
        page.locator("button", has_text="Keep").first.click()

        status = page.locator("text=Recorded in the ledger")
        status.wait_for()
        assert case_id in status.inner_text()
        row = page.locator("table.crossexec-picker tr", has_text=case_id)
        assert "keep" in row.inner_text()
        # The decided case's bar turns grey (the chart follows Python after every update).
        page.wait_for_function(
            """() => { const p = document.querySelector('.js-plotly-plot g.point path');
                       return p && getComputedStyle(p).fill === 'rgb(187, 187, 187)'; }"""
        )
        _screenshot(page, "picker_decided")
        chart.screenshot(path=str(SCREENSHOTS / "picker_chart_decided.png"))

    with Ledger(ledger_path, create=False) as ledger:
        rows = ledger.rows()
    assert len(rows) == 1
    assert rows["case_id"].iloc[0] == case_id
    assert rows["action"].iloc[0] == "keep"
    assert rows["decided_by"].iloc[0] == "L007"


#: Script carriers an export could hold in any id or text column (step 2, item 8).
HOSTILE = (
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    '"><svg onload=alert(3)>',
)


def _hostile(name: str, folder: Path) -> Path:
    """The sample's ``name``.csv with script carriers in its case, court, team and handler ids."""
    import pandas as pd

    frame = pd.read_csv(REPO / "data/sample" / f"{name}.csv", encoding="utf-8-sig", dtype=str)
    rows = list(range(12))
    if name == "current":  # the cases the list ranks first (case numbers do not move scores)
        golden = pd.read_csv(REPO / "tests/golden/sample_list.csv", dtype={"case_id": str})
        top = golden.nsmallest(12, "priority_rank")["case_id"]
        rows = list(frame.index[frame["case_id"].isin(set(top))])
    for i, carrier in zip(rows, HOSTILE * 4, strict=False):
        frame.loc[i, "case_id"] = f"{carrier}#{i}"
    for column in ("court_id", "team_id", "handler_id"):
        frame.loc[frame.index % 7 == 0, column] = HOSTILE[0]
        frame.loc[frame.index % 7 == 1, column] = HOSTILE[2]
    path = folder / f"hostile_{name}.csv"
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def _no_markup_from_the_data(page) -> None:
    page.wait_for_timeout(800)  # let any injected handler fire (the fixture counts dialogs)
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("svg[onload]").count() == 0
    assert "Traceback" not in page.inner_text("body")


def _run_folder(folder: Path, model_dir: Path, cases: Path) -> Path:
    """A run folder as ``crossexec rescore`` leaves it (the files the workspace reads)."""
    import json

    from crossexec_ml.data import read_cases, write_table
    from crossexec_ml.jobs import score

    run = folder / "runs" / "2026-12-07"
    run.mkdir(parents=True)
    score(model_dir, cases, run / "scored.parquet")
    write_table(read_cases(cases), run / "cases.parquet")
    manifest = {
        "run_id": "20261207T010000Z-abcdef",
        "started_at": "2026-12-07T01:00:00+00:00",
        "run_date": "2026-12-07",
        "outcome": "ok",
        "model": {"model_id": "m"},
        "rows": {},
    }
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return run.parent


def test_workspace_shows_hostile_ids_as_text(artefacts, browser_page, tmp_path):
    runs = _run_folder(tmp_path, artefacts["model_dir"], _hostile("current", tmp_path))
    nb = _parametrised_copy(
        "04_leadership_dashboard",
        tmp_path / "nb",
        runs_dir=str(runs),
        ledger_path=str(tmp_path / "no-ledger.sqlite"),
        handlers_path=str(REPO / "data/sample/handlers.csv"),
        lang="zh",
    )
    page = browser_page
    with _Voila(nb) as server:
        page.goto(server.url, wait_until="domcontentloaded")
        page.locator(".crossexec-tile").first.wait_for()
        page.locator("table.crossexec-list").wait_for()
        text = page.locator("table.crossexec-list").inner_text()
        assert any(carrier in text for carrier in HOSTILE), "the carriers reach the list"
        _no_markup_from_the_data(page)
        # Open the top case (a carrier in its 案号): its sheet and form show it as text.
        opener = page.locator(".widget-dropdown").filter(
            has=page.locator("label", has_text="打开案件")
        )
        opener.locator("select").select_option(index=1)
        page.locator(".crossexec-checkup").wait_for()
        _no_markup_from_the_data(page)
    # the fixture fails the test if a dialog opened or an outside host was asked


def test_the_server_refuses_a_foreign_host_header(artefacts, tmp_path):
    # Step 2 item 14: a page on any site could reach the dashboard by DNS rebinding; the
    # workspace's voila.json turns Jupyter's Host check on (allow_remote_access off).
    import urllib.error
    import urllib.request

    nb = _parametrised_copy(
        "04_leadership_dashboard",
        tmp_path / "nb",
        runs_dir=str(tmp_path / "no-runs"),
        ledger_path=str(tmp_path / "no-ledger.sqlite"),
    )
    with _Voila(nb) as server:
        foreign = urllib.request.Request(server.url, headers={"Host": "evil.example.com"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(foreign, timeout=30)
        assert err.value.code == 403
        err.value.close()  # the refusal holds the socket open until closed
        local = urllib.request.Request(server.url.replace("127.0.0.1", "localhost"))
        with urllib.request.urlopen(local, timeout=60) as page:
            assert page.status == 200


def test_every_page_file_shows_hostile_ids_as_text(artefacts, browser_page, tmp_path):
    # Step 2 item 8: report.html, the model card, the fairness page and the check-up sheet,
    # each fed script carriers through its ids, opened in Chromium: no dialog, no element.
    import pandas as pd

    from crossexec_ml import report
    from crossexec_ml.cli import main
    from crossexec_ml.data import read_cases
    from crossexec_ml.decide import checkup

    current = _hostile("current", tmp_path)
    history = _hostile("history", tmp_path)
    ledger = tmp_path / "ledger.sqlite"
    assert main(["ledger", "init", "--ledger", str(ledger)]) == 0
    run = tmp_path / "runs" / "2026-11-02"
    argv = ["rescore", "--quiet", "--cases", str(current), "--model", str(artefacts["model_dir"])]
    argv += ["--handlers", str(REPO / "data/sample/handlers.csv"), "--ledger", str(ledger)]
    assert main([*argv, "--as-of-date", "2026-11-02", "--out-dir", str(run)]) in (0, 3)
    # a model trained from a file whose very name carries a script, and its card
    named = tmp_path / f"{HOSTILE[0]}.csv"
    named.write_bytes(history.read_bytes())
    model = tmp_path / "model"
    assert main(["train", "--cases", str(named), "--out", str(model), "--quiet"]) == 0
    assert main(["card", str(model), "--out", str(tmp_path / "card.html")]) == 0
    fairness = ["fairness", "--model", str(model), "--cases", str(history), "--quiet"]
    assert main([*fairness, "--out", str(tmp_path / "fairness.html")]) == 0
    scored = pd.read_parquet(run / "scored.parquet")
    hostile_id = next(c for c in scored["case_id"] if c.startswith(HOSTILE[1]))
    sheet = checkup(hostile_id, read_cases(current), scored)
    (tmp_path / "checkup.html").write_text(
        f"<!doctype html><meta charset=utf-8><body>{report.checkup_html(sheet, 'zh')}</body>",
        encoding="utf-8",
    )
    from markupsafe import escape

    for name in ("card.html", "fairness.html", "checkup.html"):  # the carriers reached them
        text = (tmp_path / name).read_text()
        assert any(str(escape(carrier)) in text for carrier in HOSTILE), name
    page = browser_page
    for name in ("card.html", "fairness.html", "checkup.html"):
        page.goto((tmp_path / name).as_uri(), wait_until="load")
        _no_markup_from_the_data(page)
    page.goto((run / "report.html").as_uri(), wait_until="load")
    _no_markup_from_the_data(page)
    assert page.locator(".js-plotly-plot").count() > 0  # the figures drew, offline


def test_picker_shows_hostile_ids_as_text(artefacts, browser_page, tmp_path):
    # Step 2 item 8, the picker: its table, chart and check-up sheet of a script-carrying case.
    nb = _parametrised_copy(
        "03_pick_next_case",
        tmp_path / "nb",
        cases_path=str(_hostile("current", tmp_path)),
        handlers_path=str(REPO / "data/sample/handlers.csv"),
        model_dir=str(artefacts["model_dir"]),
        out_dir=str(tmp_path / "out"),
        ledger_path=str(tmp_path / "ledger.sqlite"),
        lang="zh",
    )
    page = browser_page
    with _Voila(nb) as server:
        page.goto(server.url, wait_until="domcontentloaded")
        page.locator("table.crossexec-picker").wait_for()
        page.locator(".js-plotly-plot .main-svg").first.wait_for()
        _no_markup_from_the_data(page)
        hostile = page.locator("table.crossexec-picker td", has_text="onerror=alert(1)")
        assert hostile.count() > 0  # the top cases carry scripts in their case numbers
        page.wait_for_function(  # the chart's own bars are drawn (voila#1533 trap)
            """() => [...document.querySelectorAll('.js-plotly-plot g.point path')]
                       .some(p => p.getBBox().width > 0)""",
            timeout=PAGE_TIMEOUT_MS,
        )
        box = page.locator(".js-plotly-plot g.point path").first.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        sheet = page.locator(".crossexec-checkup")
        sheet.wait_for()  # rank 1 carries a script in its case number: shown as text
        assert any(c in sheet.locator("h3").inner_text() for c in HOSTILE)
        _no_markup_from_the_data(page)
