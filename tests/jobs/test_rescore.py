"""Scheduled re-scoring: ``crossexec rescore`` end to end, and the run's building blocks.

The end-to-end tests run the real command (papermill executes notebook 05 in the project's
kernel): twice on the sample, the second run against the first; with invalid input (exit 2,
nothing created); with a forced failure (exit 1, the previous run untouched, the executed
notebook kept in ``failed/``); with stale input (exit 3, outputs written). The report is opened
in Chromium with the network blocked, to prove it is self-contained.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import openpyxl
import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import read_scored
from crossexec_ml.decide import Ledger
from crossexec_ml.jobs import (
    NOTEBOOK,
    changes_since,
    load_run_inputs,
    report_html,
    rescore_cases,
    score,
    train,
)
from tests.conftest import REPO, sample_audit

SAMPLE = REPO / "data" / "sample"
RUN_DATE = "2026-11-28"  # the sample's screening date is 2026-10-31: fresh on this date
RUN_FILES = {
    "scored.parquet",
    "scored.xlsx",
    "plan.xlsx",
    "cases.parquet",
    "report.html",
    "rescore.ipynb",
    "manifest.json",
}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _rescore(*args: str) -> int:
    return main(["rescore", "--quiet", *args])


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("rescore") / "model"
    train(SAMPLE / "history.csv", folder, progress=False)
    return folder


@pytest.fixture(scope="module")
def runs(model_dir, tmp_path_factory) -> dict[str, object]:
    """Two runs on the sample, the second against the first with one decision in the ledger."""
    root = tmp_path_factory.mktemp("runs")
    common = [
        "--cases",
        str(SAMPLE / "current.csv"),
        "--model",
        str(model_dir),
        "--handlers",
        str(SAMPLE / "handlers.csv"),
        "--as-of-date",
        RUN_DATE,
    ]
    first = root / "2026-11-28"
    code1 = _rescore(*common, "--out-dir", str(first))
    scored1 = read_scored(first / "scored.parquet")
    decided = str(scored1.loc[scored1["priority_rank"] == 1, "case_id"].iloc[0])
    ledger = root / "ledger.sqlite"
    with Ledger(ledger) as led:
        shown = scored1.loc[scored1["case_id"] == decided].iloc[0]
        led.record(
            decided,
            "escalate_higher_court",
            "D01",
            "团队内交叉后仍未发现财产",
            model_id=str(shown["model_id"]),
            scores={"case_fingerprint": str(shown["case_fingerprint"])},
        )
    fairness = sample_audit(model_dir, root / "fairness.json")
    second = root / "2026-12-05"
    code2 = _rescore(
        *common,
        "--out-dir",
        str(second),
        "--previous",
        str(first),
        "--ledger",
        str(ledger),
        "--fairness",
        str(fairness),
    )
    return {
        "root": root,
        "first": first,
        "second": second,
        "codes": (code1, code2),
        "decided": decided,
        "fairness": fairness,
    }


@pytest.mark.notebook
def test_a_run_leaves_every_output_and_an_honest_manifest(runs, model_dir):
    first = runs["first"]
    assert runs["codes"] == (0, 0)
    assert {p.name for p in first.iterdir()} == RUN_FILES
    # Nothing else beside the runs: no temporary folder, no failed/ folder.
    assert sorted(p.name for p in runs["root"].iterdir()) == [
        "2026-11-28",
        "2026-12-05",
        "fairness.json",
        "ledger.sqlite",
    ]
    m = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert m["outcome"] == "ok" and m["alarms"] == []
    assert m["run_date"] == RUN_DATE
    assert m["started_at"] <= m["finished_at"]
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", m["run_id"])
    assert m["model"]["card_sha256"] == _sha(model_dir / "card.json")
    card = json.loads((model_dir / "card.json").read_text(encoding="utf-8"))
    assert m["model"]["model_id"] == card["model_id"]
    assert m["inputs"]["cases"]["sha256"] == _sha(SAMPLE / "current.csv")
    assert m["inputs"]["handlers"]["sha256"] == _sha(SAMPLE / "handlers.csv")
    assert m["rows"]["read"] == m["rows"]["valid"] == m["rows"]["scored"] == 1500
    assert m["rows"]["candidates"] == m["capacity"] == 150
    assert m["tie_break_rule"].startswith("expected_gain desc")
    assert m["seed"] == 0
    assert m["drift_reference"] == "training data"
    assert set(m["files"]) == RUN_FILES
    assert {c["check"] for c in m["checks"]} >= {"psi", "staleness_days", "score_spread"}


@pytest.mark.notebook
def test_a_run_scores_exactly_as_crossexec_score_does(runs, model_dir):
    scored = pd.read_parquet(runs["first"] / "scored.parquet")
    direct = score(model_dir, SAMPLE / "current.csv")
    cols = ["case_id", "priority_rank", "p_keep", "p_cross", "uplift", "suggested_rung"]
    pd.testing.assert_frame_equal(
        scored[cols].reset_index(drop=True),
        direct[cols].reset_index(drop=True),
        check_dtype=False,
        check_categorical=False,
    )
    # The leaders' workbook has Chinese headers and the check-up sheet; the plan is there.
    wb = openpyxl.load_workbook(runs["first"] / "scored.xlsx", read_only=True)
    assert {"scored", "全面体检", "说明"} <= set(wb.sheetnames)
    header = next(wb["scored"].iter_rows(max_row=1, values_only=True))
    assert "案号" in header and "上轮排名" in header
    plan = pd.read_excel(runs["first"] / "plan.xlsx")
    assert len(plan) > 0


@pytest.mark.notebook
def test_second_run_compares_with_the_first_and_marks_carry_over_and_decisions(runs):
    first, second = runs["first"], runs["second"]
    m1 = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    m2 = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    assert m2["inputs"]["previous_run"] == m1["run_id"]
    assert m2["drift_reference"] == f"previous run {m1['run_id']}"
    assert m2["outcome"] == "ok"
    psi = {c["column"]: c["value"] for c in m2["checks"] if c["check"] == "psi"}
    assert psi["p_cross"] == pytest.approx(0.0)  # same inputs, same scores
    s1 = pd.read_parquet(first / "scored.parquet").set_index("case_id")
    s2 = pd.read_parquet(second / "scored.parquet").set_index("case_id")
    pd.testing.assert_series_equal(s1["p_cross"], s2.loc[s1.index, "p_cross"])
    decided = runs["decided"]
    assert s2.loc[decided, "decided_action"] == "escalate_higher_court"
    assert pd.isna(s2.loc[decided, "priority_rank"])  # decided, facts unchanged: not proposed
    assert not s2.loc[decided, "carried_over"]
    carried = s2["carried_over"].astype(bool)
    assert carried.sum() == m2["rows"]["carried_over"] > 0
    assert (s2.loc[carried, "previous_rank"].notna()).all()
    assert s1.loc[carried[carried].index, "candidate"].astype(bool).all()
    # The first run is untouched by the second.
    assert m1["finished_at"] and (first / "report.html").exists()


@pytest.mark.notebook
def test_report_is_self_contained_and_shows_the_run(runs):
    html = (runs["second"] / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\ssrc=\"https?://", html)
    assert not re.search(r"<link[^>]*href=\"https?://", html)
    assert html.count('class="plotly-graph-div"') == 3  # headline, teams, drift
    assert "window.Plotly" in html or "Plotly" in html
    m2 = json.loads((runs["second"] / "manifest.json").read_text(encoding="utf-8"))
    assert m2["run_id"] in html
    assert "上轮已列入、仍未决定" in html  # the changes table
    assert "import " not in html.split("<body", 1)[1][:5000]  # no code cells for leaders
    # The fairness audit's summary is in the second run's report and manifest, not the first's.
    doc = json.loads(runs["fairness"].read_text(encoding="utf-8"))
    assert m2["fairness"]["n_flagged"] == doc["summary"]["n_flagged"]
    assert m2["fairness"]["same_model"] is True
    assert 'class="fairness-summary"' in html and "不是本次使用的模型" not in html
    first = (runs["first"] / "report.html").read_text(encoding="utf-8")
    assert "本次运行未附公平性审计" in first


@pytest.mark.notebook
@pytest.mark.browser
def test_report_draws_its_figures_offline_in_chromium(runs):
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: apt-get install -y chromium")
        pytest.skip("chromium is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(chromium), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page()
            requested: list[str] = []
            page.route(
                re.compile(r"^https?://"), lambda r: (requested.append(r.request.url), r.abort())
            )
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((runs["second"] / "report.html").as_uri())
            page.wait_for_selector(".plotly-graph-div .main-svg", timeout=20_000)
            assert page.locator(".plotly-graph-div .main-svg").count() >= 3
            assert requested == [] and errors == []
        finally:
            browser.close()


@pytest.mark.notebook
def test_invalid_input_exits_2_and_creates_nothing(model_dir, tmp_path, capsys):
    bad = tmp_path / "current.csv"
    frame = pd.read_csv(SAMPLE / "current.csv", encoding="utf-8-sig", dtype=str)
    frame.loc[3, "amount_outstanding"] = "many"
    frame.to_csv(bad, index=False, encoding="utf-8-sig")
    out = tmp_path / "runs"
    out.mkdir()
    before = sorted(out.iterdir())
    args = ["--model", str(model_dir), "--as-of-date", RUN_DATE]
    assert _rescore("--cases", str(bad), *args, "--out-dir", str(out / "a")) == 2
    err = capsys.readouterr().err
    assert "amount_outstanding" in err and "nothing written" in err
    assert _rescore("--cases", str(tmp_path / "nope.csv"), *args, "--out-dir", str(out / "b")) == 2
    not_a_run = tmp_path / "not_a_run"
    not_a_run.mkdir()
    cases = str(SAMPLE / "current.csv")
    assert (
        _rescore("--cases", cases, *args, "--out-dir", str(out / "c"), "--previous", str(not_a_run))
        == 2
    )
    assert "not a folder written by `crossexec rescore`" in capsys.readouterr().err
    # An existing output folder is not overwritten without --replace.
    existing = out / "d"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    assert _rescore("--cases", cases, *args, "--out-dir", str(existing)) == 2
    assert (existing / "keep.txt").read_text() == "mine"
    # A model from another contract version / altered model file.
    altered = tmp_path / "altered"
    shutil.copytree(model_dir, altered)
    with open(altered / "model.skops", "ab") as fh:
        fh.write(b"x")
    assert _rescore("--cases", cases, "--model", str(altered), "--out-dir", str(out / "e")) == 2
    assert "altered" in capsys.readouterr().err
    assert _rescore("--cases", cases, *args, "--as-of-date", "28/11/2026", "--out-dir", "x") == 2
    # An output folder that cannot be made (its parent is a file).
    blocker = out / "blocker"
    blocker.write_text("a file")
    assert _rescore("--cases", cases, *args, "--out-dir", str(blocker / "run")) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert sorted(out.iterdir()) == sorted([*before, existing, blocker])
    assert not (tmp_path / "failed").exists()


def _failing_copy(tmp_path: Path) -> Path:
    """Notebook 05 with a cell that fails after the outputs were written into the temp folder."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("forced failure")'))
    folder = tmp_path / "nb"
    folder.mkdir()
    path = folder / "05_rescore.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.notebook
def test_forced_failure_exits_1_keeps_the_notebook_and_leaves_the_previous_run(
    runs, model_dir, tmp_path
):
    from crossexec_ml.jobs import run_rescore

    first = runs["first"]
    before = _tree(first)
    root = tmp_path / "runs"
    root.mkdir()
    outcome = run_rescore(
        SAMPLE / "current.csv",
        model_dir,
        first,  # replacing the previous run with a run that fails must leave it as it was
        previous_dir=first,
        as_of_date=RUN_DATE,
        replace=True,
        notebook=_failing_copy(tmp_path),
    )
    assert outcome.exit_code == 1
    assert "forced failure" in outcome.message
    assert _tree(first) == before
    failed = outcome.failed_notebook
    assert failed is not None and failed.parent == first.parent / "failed"
    executed = nbformat.read(failed, as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0]["evalue"] == "forced failure"
    leftovers = [p.name for p in first.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []
    shutil.rmtree(failed.parent)  # keep the shared runs folder as the other tests expect it


@pytest.mark.notebook
def test_stale_input_exits_3_with_outputs_written_and_the_reason(model_dir, tmp_path, capsys):
    out = tmp_path / "2027-03-01"
    code = _rescore(
        "--cases",
        str(SAMPLE / "current.csv"),
        "--model",
        str(model_dir),
        "--out-dir",
        str(out),
        "--as-of-date",
        "2027-03-01",
    )
    assert code == 3
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["outcome"] == "drift"
    assert any("stale" in a for a in m["alarms"])
    assert m["plan"].startswith("not made")  # no handlers file given
    assert "plan.xlsx" not in m["files"] and not (out / "plan.xlsx").exists()
    assert "alarm: input is stale" in capsys.readouterr().out


@pytest.mark.notebook
def test_notebook_05_runs_with_its_default_parameters(model_dir, tmp_path):
    """Laid out like the repository (the defaults are relative to notebooks/)."""
    import papermill

    (tmp_path / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, tmp_path / "notebooks")
    shutil.copytree(SAMPLE, tmp_path / "data" / "sample")
    shutil.copytree(model_dir, tmp_path / "reports" / "demo" / "model")
    out = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(tmp_path / "notebooks" / NOTEBOOK.name),
        str(out),
        kernel_name="crossexec-ml",
        cwd=str(tmp_path / "notebooks"),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr"]
    written = tmp_path / "reports" / "rescore" / "manual"
    assert not (tmp_path / "models").exists()  # the demo model was there: no fallback
    assert {"scored.parquet", "scored.xlsx", "plan.xlsx", "manifest.json"} <= {
        p.name for p in written.iterdir()
    }


@pytest.mark.notebook
def test_notebook_05_runs_right_after_install_without_the_demo_model(tmp_path):
    """Before `make demo` (no reports/demo/model, no models/latest from notebook 02) the
    defaults train a model on the sample into the git-ignored models/sample/ and run on it."""
    import papermill

    (tmp_path / "notebooks").mkdir()
    shutil.copy(NOTEBOOK, tmp_path / "notebooks")
    shutil.copytree(SAMPLE, tmp_path / "data" / "sample")
    out = tmp_path / "executed.ipynb"
    papermill.execute_notebook(
        str(tmp_path / "notebooks" / NOTEBOOK.name),
        str(out),
        kernel_name="crossexec-ml",
        cwd=str(tmp_path / "notebooks"),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.get("name") == "stderr"]
    assert (tmp_path / "models" / "sample" / "card.json").is_file()
    assert not (tmp_path / "reports" / "demo").exists()
    manifest = json.loads(
        (tmp_path / "reports" / "rescore" / "manual" / "manifest.json").read_text(encoding="utf-8")
    )
    assert (
        manifest["model"]["model_id"]
        == json.loads((tmp_path / "models" / "sample" / "card.json").read_text(encoding="utf-8"))[
            "model_id"
        ]
    )


# --------------------------------------------------------------------------------------------
# Building blocks, in process (no kernel)
# --------------------------------------------------------------------------------------------


def test_changes_since_counts_each_kind_of_change():
    prev = pd.DataFrame(
        {
            "case_id": ["a", "b", "c", "d"],
            "candidate": [True, True, True, False],
            "priority_rank": [1, 2, 3, 4],
        }
    )
    now = pd.DataFrame(
        {
            "case_id": ["a", "b", "d", "e"],
            "candidate": [True, False, True, True],
            "decided_action": [pd.NA, "keep_with_deadline", pd.NA, pd.NA],
            "carried_over": [True, False, False, False],
        }
    )
    got = changes_since(now, prev).set_index("change")["cases"].to_dict()
    assert got == {
        "candidates this run": 3,  # a, d, e
        "new candidates": 2,  # d, e
        "carried over, still undecided": 1,  # a
        "decided since (from the ledger)": 1,  # b
        "left the candidates": 0,  # b left, but because it was decided
        "no longer in the stock": 1,  # c
    }
    first = changes_since(now, None).set_index("change")["cases"].to_dict()
    assert first["new candidates"] == 3 and first["no longer in the stock"] == 0


def test_rescore_cases_without_a_reference_still_checks_freshness(model_dir, tmp_path):
    bare = tmp_path / "model"
    shutil.copytree(model_dir, bare)
    (bare / "reference.parquet").unlink()
    inputs = load_run_inputs(SAMPLE / "current.csv", bare)
    assert inputs.reference_source == "none"
    result = rescore_cases(inputs, capacity=10, run_date="2027-06-01")
    assert result.capacity == 10 and result.plan is None
    assert result.outcome == "drift"
    assert any("stale" in a for a in result.drift.alarms)


def test_an_altered_drift_reference_is_refused(model_dir, tmp_path):
    from crossexec_ml.errors import ModelFileError

    bad = tmp_path / "model"
    shutil.copytree(model_dir, bad)
    ref = pd.read_parquet(bad / "reference.parquet")
    ref.loc[0, "amount_outstanding"] = 1e12
    ref.to_parquet(bad / "reference.parquet")
    with pytest.raises(ModelFileError, match="drift reference"):
        load_run_inputs(SAMPLE / "current.csv", bad)


def test_report_html_strips_network_scripts(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={"text/html": '<script src="https://cdn.example/mathjax.js"></script><b>kept</b>'},
        )
    ]
    nb.cells.append(cell)
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    html = report_html(path, "t")
    assert "<b>kept</b>" in html
    assert "cdn.example" not in html and "require.min.js" not in html and "mathjax@" not in html


@pytest.mark.notebook
def test_personal_data_in_the_stock_exits_2_without_echoing_it(model_dir, tmp_path, capsys):
    frame = pd.read_csv(SAMPLE / "current.csv", encoding="utf-8-sig", dtype=str)
    frame["手机号"] = "13912345678"
    planted = tmp_path / "current.csv"
    frame.to_csv(planted, index=False, encoding="utf-8-sig")
    out = tmp_path / "run"
    code = _rescore(
        "--cases",
        str(planted),
        "--model",
        str(model_dir),
        "--out-dir",
        str(out),
        "--as-of-date",
        RUN_DATE,
    )
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "手机号" in err and "13912345678" not in err


def test_top_table_speaks_the_leaders_language(model_dir):
    from crossexec_ml.jobs import top_table
    from crossexec_ml.report import carry_over

    scored = score(model_dir, SAMPLE / "current.csv")
    first = str(scored["case_id"].iloc[0])
    marked = carry_over(scored, scored, {first: "escalate_higher_court"})
    zh, en = top_table(marked, "zh", n=5), top_table(marked, "en", n=5)
    assert len(zh) == len(en) == 5
    assert list(zh.columns[:3]) == ["排名", "上轮排名", "案号"] and en.columns[0] == "rank"
    assert set(zh["建议层级"]) <= {"团队内", "团队间", "提级/指令执行"}  # vocabulary decision 1
    assert set(en["suggested rung"]) <= {"intra-team", "inter-team", "higher court"}
    assert zh["台账决定"].iloc[0] == "报请提级/指令执行"
    assert zh["上轮已列入且未决定"].iloc[0] == "否"  # decided, so not carried over
    assert (zh["上轮已列入且未决定"].iloc[1:] == "是").all()
    assert en["main reason"].str.contains("points").all()
    assert zh["主要原因"].str.contains("百分点").all()
    assert zh["提升"].str.endswith("个百分点").all() and en["uplift"].str.endswith("points").all()
    assert en["ledger decision"].iloc[0] == "ask the higher court (escalate)"


# --------------------------------------------------------------------------------------------
# Safe to deploy: nothing but a run is replaced, one run per folder, no silent ledger, dates
# --------------------------------------------------------------------------------------------


def _sample_args(model_dir: Path, *more: str) -> list[str]:
    return [
        "--cases",
        str(SAMPLE / "current.csv"),
        "--model",
        str(model_dir),
        "--as-of-date",
        RUN_DATE,
        *more,
    ]


@pytest.mark.notebook
def test_replace_refuses_any_folder_but_an_earlier_run_and_touches_nothing(
    runs, model_dir, tmp_path, capsys
):
    srv = tmp_path / "srv"
    (srv / "var").mkdir(parents=True)
    shutil.copy(runs["root"] / "ledger.sqlite", srv / "var" / "ledger.sqlite")
    earlier = srv / "runs" / "2026-11-21"
    shutil.copytree(runs["first"], earlier)
    before = _tree(srv)
    # The whole installation (ledger and earlier runs), and the folder of all runs.
    for wrong in (srv, srv / "runs"):
        assert _rescore(*_sample_args(model_dir, "--replace"), "--out-dir", str(wrong)) == 2
        err = capsys.readouterr().err
        assert "--replace refuses" in err and "nothing was touched" in err
    # An earlier run with something else put in it, and a link to an earlier run.
    (earlier / "notes.txt").write_text("mine", encoding="utf-8")
    link = srv / "runs" / "latest"
    link.symlink_to(earlier, target_is_directory=True)
    before = _tree(srv)
    assert _rescore(*_sample_args(model_dir, "--replace"), "--out-dir", str(earlier)) == 2
    assert "notes.txt" in capsys.readouterr().err
    assert _rescore(*_sample_args(model_dir, "--replace"), "--out-dir", str(link)) == 2
    assert "symbolic link" in capsys.readouterr().err
    assert _tree(srv) == before
    assert sorted(p.name for p in srv.iterdir()) == ["runs", "var"]  # no lock, no temp folder
    assert sorted(p.name for p in (srv / "runs").iterdir()) == ["2026-11-21", "latest"]


@pytest.mark.notebook
def test_replace_swaps_an_earlier_run_for_the_new_one(runs, model_dir, tmp_path):
    earlier = tmp_path / "2026-11-28"
    shutil.copytree(runs["first"], earlier)
    old = json.loads((earlier / "manifest.json").read_text(encoding="utf-8"))
    assert _rescore(*_sample_args(model_dir, "--replace"), "--out-dir", str(earlier)) == 0
    new = json.loads((earlier / "manifest.json").read_text(encoding="utf-8"))
    assert new["run_id"] != old["run_id"]
    assert {p.name for p in earlier.iterdir()} == set(new["files"])
    assert [p.name for p in tmp_path.iterdir()] == ["2026-11-28"]


@pytest.mark.notebook
def test_a_folder_that_appears_during_the_run_is_never_replaced(model_dir, tmp_path):
    from crossexec_ml.jobs import run_rescore

    dest = tmp_path / "runs" / "2026-11-28"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            f"import pathlib\nd = pathlib.Path({str(dest)!r})\nd.mkdir()\n"
            '(d / "theirs.txt").write_text("theirs")'
        )
    )
    (tmp_path / "nb").mkdir()
    copy = tmp_path / "nb" / NOTEBOOK.name
    nbformat.write(nb, copy)
    outcome = run_rescore(
        SAMPLE / "current.csv", model_dir, dest, as_of_date=RUN_DATE, notebook=copy
    )
    assert outcome.exit_code == 1
    assert "appeared while this run was working" in outcome.message
    assert [p.name for p in dest.iterdir()] == ["theirs.txt"]
    assert (dest / "theirs.txt").read_text() == "theirs"
    assert outcome.failed_notebook is not None and outcome.failed_notebook.is_file()
    assert sorted(p.name for p in dest.parent.iterdir()) == ["2026-11-28", "failed"]


@pytest.mark.parametrize("renameat2", [True, False], ids=["renameat2", "mkdir-fallback"])
def test_the_final_rename_never_replaces_an_existing_folder(tmp_path, monkeypatch, renameat2):
    import errno

    from crossexec_ml.jobs import _runner

    if not renameat2:
        monkeypatch.setattr(_runner, "_renameat2", lambda a, b, flags: errno.ENOSYS)
    tmp, dest = tmp_path / ".new", tmp_path / "dest"
    tmp.mkdir()
    (tmp / "manifest.json").write_text("{}")
    dest.mkdir()
    (dest / "theirs.txt").write_text("theirs")
    with pytest.raises(FileExistsError, match="appeared"):
        _runner._move_into_place(tmp, dest, "r1")
    assert [p.name for p in dest.iterdir()] == ["theirs.txt"] and tmp.is_dir()
    free = tmp_path / "free"
    _runner._move_into_place(tmp, free, "r1")
    assert [p.name for p in free.iterdir()] == ["manifest.json"] and not tmp.exists()


def _readme_section() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return text.split("## Scheduled re-scoring", 1)[1].split("\n## ", 1)[0]


def _readme_operator_commands() -> tuple[str, str, str]:
    """The README's first-install command, its cron command and its systemd ExecStart."""
    section = _readme_section()
    install = re.search(r"```bash\n(cd /srv/crossexec[^\n]*)\n```", section)
    cron = re.search(r"```cron\n([^\n]+)\n```", section)
    service = re.search(r"ExecStart=([^\n]+)\n", section)
    assert install and cron and service, "the README's operator recipe is missing"
    return install[1], cron[1].split(None, 5)[5], service[1]


def _srv(tmp_path: Path, model_dir: Path) -> tuple[Path, dict[str, str]]:
    """A server laid out as the README says, the sample standing in for the court's exports."""
    import sys

    srv = tmp_path / "srv"
    (srv / ".venv" / "bin").mkdir(parents=True)
    bin_dir = Path(sys.executable).parent
    for name, target in (("python", sys.executable), ("crossexec", bin_dir / "crossexec")):
        wrapper = srv / ".venv" / "bin" / name
        wrapper.write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        wrapper.chmod(0o755)
    (srv / "models").mkdir()
    shutil.copytree(model_dir, srv / "models" / "current")
    paths = {
        "/srv/crossexec": str(srv),
        "/data/exports/current.xlsx": str(SAMPLE / "current.csv"),
        "/data/exports/handlers.xlsx": str(SAMPLE / "handlers.csv"),
        # The court's export with outcomes: the sample history carries the outcome columns.
        "/data/exports/outcomes.xlsx": str(SAMPLE / "history.csv"),
    }
    return srv, paths


def _as_printed(command: str, paths: dict[str, str]) -> str:
    for printed, here in paths.items():
        command = command.replace(printed, here)
    return command


@pytest.mark.notebook
def test_readme_cron_line_as_printed_works_from_the_first_run_and_twice_a_day(
    model_dir, tmp_path, capsys
):
    """The README's cron command, exactly as printed, in an empty server folder: the first run
    (no earlier run) and a second one the same day both succeed, the second into its own folder
    naming the first as previous; a run started by hand meanwhile is refused, naming the other."""
    import subprocess
    import time

    install, cron, service = _readme_operator_commands()
    # systemd runs the same command as cron, with the executable's absolute path and no shell.
    runs_it = cron.split(" && ", 1)[1].split(" >> ", 1)[0]
    assert service == runs_it.replace(".venv/bin/", "/srv/crossexec/.venv/bin/", 1)
    srv, paths = _srv(tmp_path, model_dir)
    subprocess.run(["sh", "-c", _as_printed(install, paths)], check=True)
    assert sorted(p.name for p in (srv / "runs").iterdir()) == []  # an empty runs folder
    cron = _as_printed(cron, paths).replace("\\%", "%")
    today = subprocess.check_output(["date", "+%F"], text=True).strip()
    out, lock = srv / "runs" / today, srv / "runs" / f".{today}.lock"
    # A lock left by a run killed earlier blocks nobody (flock ends with its process).
    lock.write_text('{"pid": 999999999, "started_at": "x", "run_id": "20261130T060000Z-abcdef"}')

    first = subprocess.Popen(["sh", "-c", cron])
    deadline = time.monotonic() + 120
    holder: dict = {}
    while time.monotonic() < deadline and first.poll() is None:
        try:
            holder = json.loads(lock.read_text())
        except (OSError, ValueError):
            holder = {}
        if holder.get("pid") not in (None, 999999999):
            break
        time.sleep(0.1)
    assert holder.get("pid") not in (None, 999999999), "the first run never took its lock"
    # Started by hand meanwhile with the same --runs: refused at once, naming the other run.
    started = time.monotonic()
    by_hand = _rescore(
        "--cases", str(SAMPLE / "current.csv"), "--model", str(model_dir),
        "--runs", str(srv / "runs"),
    )  # fmt: skip
    err = capsys.readouterr().err
    assert by_hand == 2 and time.monotonic() - started < 10
    assert f"pid {holder['pid']}" in err and holder["started_at"] in err
    assert first.wait(timeout=300) == 0
    log = (srv / "var" / "rescore.log").read_text(encoding="utf-8")
    assert log.splitlines()[-1] in (f"{today} exit 0", f"{today} exit 3"), log
    # The weekly log holds the run's own lines: no kernel warning of plain-text sockets.
    assert "without encryption" not in log and "WARNING" not in log, log
    m1 = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m1["inputs"]["previous_run"] is None and m1["inputs"]["ledger"]
    # The first week's ledger is empty: a calm status, not a refusal.
    assert m1["followup"]["status"] == "no_decisions"
    assert sorted(p.name for p in (srv / "runs").iterdir()) == [today]  # no lock left

    # The same line again the same day: its own folder, the first run as previous.
    assert subprocess.run(["sh", "-c", cron]).returncode == 0
    log = (srv / "var" / "rescore.log").read_text(encoding="utf-8")
    assert log.splitlines()[-1] in (f"{today} exit 0", f"{today} exit 3"), log
    assert sorted(p.name for p in (srv / "runs").iterdir()) == [today, f"{today}-2"]
    m2 = json.loads((srv / "runs" / f"{today}-2" / "manifest.json").read_text(encoding="utf-8"))
    assert m2["inputs"]["previous_run"] == m1["run_id"]
    assert m2["drift_reference"] == f"previous run {m1['run_id']}"


def test_runs_and_out_dir_or_previous_do_not_mix(model_dir, tmp_path, capsys):
    runs = tmp_path / "runs"
    sample = ("--cases", str(SAMPLE / "current.csv"), "--model", str(model_dir))
    for extra in (["--out-dir", str(tmp_path / "x")], ["--previous", str(tmp_path)], ["--replace"]):
        assert _rescore(*sample, "--runs", str(runs), *extra) == 2
        err = capsys.readouterr().err
        assert extra[0] in err and "--runs" in err
    assert _rescore(*sample) == 2
    assert "--runs" in capsys.readouterr().err
    assert not runs.exists() and not (tmp_path / "x").exists()


def test_next_run_folder_never_clashes(tmp_path):
    from crossexec_ml.jobs import next_run_folder

    assert next_run_folder(tmp_path / "none", "2026-11-28") == tmp_path / "none" / "2026-11-28"
    (tmp_path / "2026-11-28").mkdir()
    (tmp_path / "2026-11-28-2").write_text("not a run, still never overwritten")
    assert next_run_folder(tmp_path, "2026-11-28") == tmp_path / "2026-11-28-3"
    assert next_run_folder(tmp_path, "2026-12-05") == tmp_path / "2026-12-05"


@pytest.mark.notebook
def test_a_mistyped_ledger_is_refused_and_nothing_written(runs, model_dir, tmp_path, capsys):
    out = tmp_path / "new" / "runs" / "2026-11-28"
    typo = runs["root"] / "ledgr.sqlite"
    assert _rescore(*_sample_args(model_dir, "--ledger", str(typo)), "--out-dir", str(out)) == 2
    err = capsys.readouterr().err
    assert "--ledger" in err and "ledgr.sqlite" in err and "nothing written" in err
    not_a_ledger = tmp_path / "ledger.sqlite"
    not_a_ledger.write_text("case_id,action\n")
    args = _sample_args(model_dir, "--ledger", str(not_a_ledger))
    assert _rescore(*args, "--out-dir", str(out)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ledger.sqlite"]  # no folder made
    assert not typo.exists()


def test_run_dates_far_from_the_cases_dates_are_alarms():
    import datetime as dt

    from crossexec_ml.data import read_cases
    from crossexec_ml.report import drift_report

    cases = read_cases(SAMPLE / "current.csv")  # every screening date is 2026-10-31

    def status(report, check: str) -> str:
        return report.checks.set_index("check").loc[check, "status"]

    far = drift_report(cases, cases, run_date=dt.date(2099, 1, 1))
    assert status(far, "run_date_gap") == "alarm"
    assert any("far from every case's dates" in a for a in far.alarms)
    later = cases.copy()
    later.loc[later.index[:7], "as_of_date"] = pd.Timestamp("2026-12-20")
    after = drift_report(later, cases, run_date=dt.date(2026, 11, 28))
    assert status(after, "dates_after_run_date") == "alarm"
    assert any(a.startswith("7 case(s) have a screening date after") for a in after.alarms)
    # A date in the past before every case: the same alarm, not "ok".
    past = drift_report(cases, cases, run_date=dt.date(2020, 1, 1))
    assert status(past, "dates_after_run_date") == "alarm"
    for plausible in (dt.date(2026, 11, 28), dt.date(2026, 10, 30)):  # a day ahead: time zones
        fine = drift_report(cases, cases, run_date=plausible)
        assert fine.alarms == []
        assert status(fine, "run_date_gap") == status(fine, "dates_after_run_date") == "ok"


def test_a_run_dated_2099_is_an_alarm_in_the_manifest_and_the_report(model_dir, tmp_path):
    from crossexec_ml.jobs import outcome_html, write_run

    inputs = load_run_inputs(SAMPLE / "current.csv", model_dir)
    result = rescore_cases(inputs, run_date="2099-01-01")
    assert result.outcome == "drift"
    manifest = write_run(result, inputs, tmp_path / "run")
    alarm = next(a for a in manifest["alarms"] if "far from every case's dates" in a)
    gap = next(c for c in manifest["checks"] if c["check"] == "run_date_gap")
    assert gap["status"] == "alarm" and manifest["outcome"] == "drift"
    # The report says it in the reader's language, in a red banner, never as an English bullet.
    zh, en = outcome_html(manifest, "zh"), html.unescape(outcome_html(manifest, "en"))
    banner = re.search(r'<div class="crossexec-alarm" role="alert"[^>]*>(.*?)</div>', zh, re.S)
    assert banner and "#c62828" in zh
    assert "需要核查" in banner[1] and "运行日距最新评估基准日已" in banner[1]
    assert alarm not in html.unescape(zh) and not re.search(r"[a-z]{4,} [a-z]{4,}", banner[1])
    assert "the run date is" in en and "crossexec-alarm" in en


def test_expect_model_refuses_another_model_before_anything_is_written(
    model_dir, tmp_path, capsys, monkeypatch
):
    # Step 2, also seen: a rewritten model with a recomputed hash in its own folder passed.
    out = tmp_path / "runs" / "2026-11-28"
    card = json.loads((model_dir / "card.json").read_text())
    wrong = "0" * 64
    assert _rescore(*_sample_args(model_dir, "--expect-model", wrong), "--out-dir", str(out)) == 2
    err = capsys.readouterr().err
    assert wrong in err and card["model_sha256"] in err and "nothing written" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []
    # the approved model's id reaches the notebook, which checks it again
    parameters = {}

    def record(*args, **kwargs):
        parameters.update(kwargs["parameters"])
        raise RuntimeError("stop before papermill")

    import crossexec_ml.jobs._runner as runner

    monkeypatch.setattr(runner, "_run_locked", record)
    with pytest.raises(RuntimeError, match="stop before papermill"):
        runner.run_rescore(SAMPLE / "current.csv", model_dir, out, expect_model=card["model_id"])
    assert parameters["expect_model"] == card["model_id"]


def test_a_scheduled_run_compares_with_the_newest_run_still_whole(tmp_path):
    from crossexec_ml.jobs import _runner

    def run(name: str, started: str, *files: str) -> Path:
        folder = tmp_path / name
        folder.mkdir()
        manifest = {"run_id": f"{name}-id", "started_at": started, "run_date": name[:10]}
        (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        for f in files:
            (folder / f).write_bytes(b"")
        return folder

    assert _runner._newest_usable_run(tmp_path) is None
    whole = run("2026-11-21", "2026-11-21T06:00:00+00:00", "scored.parquet", "cases.parquet")
    run("2026-11-28", "2026-11-28T06:00:00+00:00", "scored.parquet")  # cases.parquet deleted
    (tmp_path / "failed").mkdir()  # no manifest: never a run
    assert _runner._newest_usable_run(tmp_path).folder == whole
