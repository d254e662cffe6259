"""``crossexec rescore --followup-cases``: the scheduled run follows the ledger's decisions up.

One real run (papermill, notebook 05) with a demo ledger of simulated decisions and the
generator's half-year as the later export; the refusals stop before the notebook, so they are
cheap: nothing is created for an export that shares no case, a ledger from another court's
deployment, or a follow-up without a ledger.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import load_sample, write_table
from crossexec_ml.decide import Ledger
from crossexec_ml.evaluate import follow_up_ledger, ledger_half_year, simulate_decisions
from crossexec_ml.jobs import load_run_inputs, score_cases, train
from crossexec_ml.jobs._learning import (
    add_followup,
    check_followup,
    known_models,
    proposed_cases,
)
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample"
RUN_DATE = "2026-11-28"


def _args(model: Path, out: Path, *more: str) -> list[str]:
    return [
        "rescore",
        "--quiet",
        "--cases",
        str(SAMPLE / "current.csv"),
        "--model",
        str(model),
        "--as-of-date",
        RUN_DATE,
        "--out-dir",
        str(out),
        *more,
    ]


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("followup_run")
    train(SAMPLE / "history.csv", root / "model", progress=False)
    inputs = load_run_inputs(SAMPLE / "current.csv", root / "model")
    scored = score_cases(
        inputs.model, inputs.cases, model_id=inputs.card["model_id"], explain_top=0
    )
    ledger = root / "ledger.sqlite"
    simulate_decisions(scored, str(ledger))
    sample = load_sample()
    later = ledger_half_year(str(ledger), sample["current"], sample["truth"], seed=4)
    write_table(later, root / "later.parquet")
    return {
        "root": root,
        "model": root / "model",
        "ledger": ledger,
        "later": root / "later.parquet",
    }


@pytest.mark.notebook
def test_a_run_writes_the_follow_up_beside_its_list(setup):
    out = setup["root"] / "run"
    code = main(
        _args(
            setup["model"],
            out,
            "--ledger",
            str(setup["ledger"]),
            "--followup-cases",
            str(setup["later"]),
        )
    )
    assert code in (0, 3)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"followup.json", "followup.html"} <= set(manifest["files"])
    assert {"followup.json", "followup.html"} <= {p.name for p in out.iterdir()}
    written = json.loads((out / "followup.json").read_text(encoding="utf-8"))
    from crossexec_ml.data import read_cases

    direct = follow_up_ledger(str(setup["ledger"]), read_cases(setup["later"])).to_json()
    assert written == direct  # the same numbers as `crossexec followup`
    entry = manifest["followup"]
    assert entry["status"] == "ok" and entry["cases"]["file"] == "later.parquet"
    assert entry["n_cases"] == direct["n_cases"] > 0 and entry["n_known"] == direct["n_known"]
    assert entry["n_other_model"] == 0 and entry["n_undecided"] == direct["n_undecided"] == 0
    page = (out / "followup.html").read_text(encoding="utf-8")
    assert "交叉执行决定跟踪" in page and "reassign_intra_team" not in page


@pytest.mark.parametrize("problem", ["no_ledger", "no_shared_case", "foreign_ledger"])
def test_a_bad_follow_up_refuses_the_run_and_writes_nothing(setup, tmp_path, capsys, problem):
    from crossexec_ml.data import read_cases

    later, ledger = setup["later"], setup["ledger"]
    more = ["--ledger", str(ledger), "--followup-cases", str(later)]
    if problem == "no_ledger":
        more = ["--followup-cases", str(later)]
        expect = "give --ledger too"
    elif problem == "no_shared_case":
        other = read_cases(later).assign(case_id=lambda d: "X" + d["case_id"].astype(str))
        write_table(other, tmp_path / "other.csv")
        more[-1] = str(tmp_path / "other.csv")
        expect = "shares no case"
    else:
        foreign = tmp_path / "foreign.sqlite"
        with Ledger(foreign) as led:
            led.record("(2026)外0101执1号", "keep", "D01", "另一法院", model_id="other-court-1")
        more[1] = str(foreign)
        expect = "another court"
    out = tmp_path / "run"
    assert main(_args(setup["model"], out, *more)) == 2
    err = capsys.readouterr().err
    assert "--followup-cases" in err and expect in err, err
    assert not out.exists() and list(tmp_path.glob(".run*")) == []


def test_an_empty_ledger_is_a_calm_status_not_a_refusal(setup, tmp_path):
    empty = tmp_path / "empty.sqlite"
    Ledger(empty).close()
    followup, problem = check_followup(empty, setup["later"], {"m"})
    assert problem is None and followup is not None and followup.result is None
    manifest: dict = {"files": ["manifest.json"]}
    add_followup(tmp_path, manifest, followup)
    assert manifest["followup"]["status"] == "no_decisions"
    assert manifest["files"] == ["manifest.json"] and not (tmp_path / "followup.json").exists()
    add_followup(tmp_path, manifest, None)
    assert manifest["followup"] is None


def test_known_models_are_the_runs_and_the_model_in_use(setup, tmp_path):
    card = json.loads((setup["model"] / "card.json").read_text(encoding="utf-8"))
    run = tmp_path / "runs" / "a"
    run.mkdir(parents=True)
    manifest = {
        "run_id": "20261130T010000Z-aaaaaa",
        "started_at": "2026-11-30T01:00:00+00:00",
        "run_date": "2026-11-30",
        "model": {"model_id": "older-model"},
        "challenger": {"model_id": "shadow-model"},
    }
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    found = known_models(tmp_path / "runs", setup["model"], None, tmp_path / "not-a-model")
    assert found == {"older-model", "shadow-model", card["model_id"]}


def test_proposed_cases_nobody_decided_are_followed_up_from_the_runs(setup, tmp_path):
    inputs = load_run_inputs(SAMPLE / "current.csv", setup["model"])
    scored = score_cases(
        inputs.model, inputs.cases, model_id=inputs.card["model_id"], explain_top=0
    )
    proposed = scored.index[scored["candidate"].astype(bool)]
    assert len(proposed) >= 4
    # The leader decided the first half of the proposal; nobody touched the rest.
    half = proposed[: len(proposed) // 2]
    partly = scored.assign(candidate=scored.index.isin(half))
    ledger = tmp_path / "partly.sqlite"
    simulate_decisions(partly, str(ledger))
    runs = tmp_path / "runs"
    for name, started, frame in (
        ("2026-11-21", "2026-11-21T01:00:00Z", scored.head(0)),  # an earlier, empty proposal
        ("2026-11-28", "2026-11-28T01:00:00Z", scored),
        ("broken", "", scored),  # no start time: passed over
    ):
        (runs / name).mkdir(parents=True)
        manifest = {"run_id": f"run-{name}", "started_at": started}
        (runs / name / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        frame.to_parquet(runs / name / "scored.parquet")
    proposals = proposed_cases(runs)
    assert sorted(proposals["case_id"]) == sorted(scored.loc[proposed, "case_id"].astype(str))
    assert set(proposals["proposed_at"]) == {"2026-11-28T01:00:00.000000+00:00"}
    models = known_models(runs, setup["model"])
    followup, problem = check_followup(ledger, setup["later"], models, proposals)
    assert problem is None
    table = followup.result.tables["proposal"].set_index("proposal")
    decided = len(half)
    undecided = len(proposed) - decided
    assert table.loc["undecided", "n_decided"] == undecided
    # Every decision recorded with the list's flag: followed or kept, none unrecorded.
    acted = sum(int(table.loc[k, "n_decided"]) for k in ("followed", "kept") if k in table.index)
    assert acted == decided and "unrecorded" not in table.index
    # The undecided stayed where they were: predicted at the proposal's p_keep.
    undecided_ids = set(scored.loc[proposed[len(half) :], "case_id"].astype(str))
    expected = scored.set_index(scored["case_id"].astype(str)).loc[list(undecided_ids), "p_keep"]
    detail = followup.result.detail.set_index("case_id")
    assert detail.loc[list(undecided_ids), "predicted"].to_numpy() == pytest.approx(
        expected.to_numpy()
    )
    assert followup.result.tables["action"]["n_decided"].sum() == decided
