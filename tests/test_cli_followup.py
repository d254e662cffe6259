"""`crossexec followup`: a ledger and a later export in, a follow-up page, workbook or JSON out."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import load_sample, play_half_year, write_table
from crossexec_ml.decide import Ledger


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("followup")
    sample = load_sample()
    current, truth = sample["current"], sample["truth"]
    cases = current["case_id"].astype(str).head(6).tolist()
    ledger_path = folder / "ledger.sqlite"
    taken = {}
    with Ledger(ledger_path) as ledger:
        for case, (action, rung, target) in zip(
            cases,
            [("reassign_intra_team", "intra_team", "H001"), ("keep", "keep", None)] * 3,
            strict=True,
        ):
            ledger.record(
                case,
                action,
                "L01",
                "因长期无进展",
                target_handler_id=target,
                scores={"p_keep": 0.1, "p_intra_team": 0.3},
                as_of_date="2026-10-31",
            )
            taken[case] = rung
    later = play_half_year(current, truth, pd.Series(taken), seed=1).drop(columns="p_taken")
    later_path = write_table(later, folder / "later.csv")
    return folder, ledger_path, later_path


def test_followup_writes_json_with_the_decided_cases(world, capsys):
    folder, ledger_path, later_path = world
    out = folder / "followup.json"
    code = main(
        ["followup", "--ledger", str(ledger_path), "--cases", str(later_path), "--out", str(out)]
    )
    assert code == 0, capsys.readouterr().err
    payload = json.loads(out.read_text(encoding="utf-8"))
    by_action = {r["action"]: r for r in payload["by_action"]}
    assert by_action["reassign_intra_team"]["n_decided"] == 3
    assert by_action["reassign_intra_team"]["predicted_rate"] == pytest.approx(0.3)
    assert by_action["keep"]["predicted_rate"] == pytest.approx(0.1)
    assert "6 decided case(s)" in capsys.readouterr().out


def test_followup_of_another_courts_export_is_refused_and_writes_nothing(world, capsys):
    folder, ledger_path, later_path = world
    other = pd.read_csv(later_path, encoding="utf-8-sig")
    other["case_id"] = "(2020)京0101执" + other.index.astype(str) + "号"
    other_path = folder / "other.csv"
    other.to_csv(other_path, index=False, encoding="utf-8-sig")
    out = folder / "refused.html"
    code = main(
        ["followup", "--ledger", str(ledger_path), "--cases", str(other_path), "--out", str(out)]
    )
    assert code == 1
    assert "shares no case with the ledger" in capsys.readouterr().err
    assert not out.exists()


def test_followup_refuses_to_overwrite_its_ledger(world, capsys):
    folder, ledger_path, later_path = world
    before = ledger_path.read_bytes()
    code = main(
        [
            "followup",
            "--ledger",
            str(ledger_path),
            "--cases",
            str(later_path),
            "--out",
            str(ledger_path),
        ]
    )
    assert code == 1
    assert ledger_path.read_bytes() == before


def test_followup_with_runs_refuses_a_ledger_decided_on_none_of_their_models(
    world, tmp_path, capsys
):
    _, _, later_path = world
    case = str(pd.read_csv(later_path, encoding="utf-8-sig")["case_id"].iloc[0])
    ledger_path = tmp_path / "foreign.sqlite"
    with Ledger(ledger_path) as ledger:
        ledger.record(case, "keep", "L01", "另一法院的台账", model_id="their-model")
    run = tmp_path / "runs" / "2026-12-07"
    run.mkdir(parents=True)
    manifest = {"run_id": "20261207T010000Z-aaaaaa", "started_at": "2026-12-07T01:00:00+00:00"}
    for model_id, expected in (("our-model", 1), ("their-model", 0)):
        manifest["model"] = {"model_id": model_id}
        (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        out = tmp_path / f"{model_id}.json"
        args = ["--ledger", str(ledger_path), "--cases", str(later_path), "--out", str(out)]
        assert main(["followup", *args, "--runs", str(tmp_path / "runs")]) == expected
        err = capsys.readouterr().err
        assert out.exists() == (expected == 0)
        if expected:
            assert "their-model" in err and "another court" in err and "our-model" in err
