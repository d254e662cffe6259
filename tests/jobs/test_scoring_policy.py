"""The scoring policy travels with the model: train saves it, score/rescore/plan read it back."""

from __future__ import annotations

import json

import openpyxl
import pytest

from crossexec_ml.data import make_cases, read_cases, write_synthetic
from crossexec_ml.jobs import load_run_inputs, rescore_cases, score, score_cases, train, write_run
from crossexec_ml.model import load_model
from crossexec_ml.settings import BacktestSettings, LadderSettings, ScoringPolicy


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """A model trained with min_gain=0.06 (the default is 0.03)."""
    root = tmp_path_factory.mktemp("policy")
    write_synthetic(make_cases(n_history=1200, n_current=300, seed=5), root / "data")
    train(
        root / "data/history.csv",
        root / "model",
        backtest_settings=BacktestSettings(n_splits=1),
        policy=ScoringPolicy(ladder=LadderSettings(min_gain=0.06)),
        progress=False,
    )
    return root


def _about(path) -> dict[str, str]:
    sheet = openpyxl.load_workbook(path, read_only=True)["说明"]
    return {row[0]: row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}


def test_card_keeps_the_policy_instead_of_ladder_settings(strict):
    card = json.loads((strict / "model/card.json").read_text())
    assert "ladder_settings" not in card
    assert ScoringPolicy.from_dict(card["scoring_policy"]).ladder.min_gain == 0.06


def test_score_uses_the_cards_min_gain_without_the_caller_repeating_it(strict):
    scored = score(strict / "model", strict / "data/current.csv")
    acted = scored["suggested_rung"] != "keep"
    assert acted.any() and (scored.loc[acted, "best_gain"] >= 0.06).all()
    assert scored.attrs["scoring_policy"]["source"] == "card"
    # Under the default rule (no card) some of these cases would be moved: the card mattered.
    model, _ = load_model(strict / "model")
    default = score_cases(model, read_cases(strict / "data/current.csv"))
    moved = (default["suggested_rung"] != "keep") & (default["best_gain"] < 0.06)
    assert moved.any()
    assert default.attrs["scoring_policy"]["source"] == "default"


def test_override_wins_and_is_recorded_in_the_about_sheet(strict):
    out = strict / "scored.xlsx"
    scored = score(strict / "model", strict / "data/current.csv", out, capacity=7)
    assert int(scored["candidate"].sum()) == 7
    record = scored.attrs["scoring_policy"]
    assert record["source"] == "override"
    assert record["overridden"] == ["priority.capacity"]
    assert record["policy"]["ladder"]["min_gain"] == 0.06  # the rest still from the card
    about = _about(out)
    assert "override" in about["计分规则 scoring policy"]
    assert '"capacity": 7' in about["计分规则 scoring policy"]


def test_card_without_a_policy_falls_back_to_defaults_and_says_so(strict):
    model, card = load_model(strict / "model")
    old = {k: v for k, v in card.items() if k != "scoring_policy"}
    scored = score_cases(model, read_cases(strict / "data/current.csv"), card=old)
    record = scored.attrs["scoring_policy"]
    assert record["source"] == "default"
    assert "no scoring_policy" in record["note"]
    assert record["policy"] == ScoringPolicy().to_dict()


def test_rescore_manifest_records_the_policy_and_its_source(strict, tmp_path):
    inputs = load_run_inputs(strict / "data/current.csv", strict / "model")
    from_card = write_run(rescore_cases(inputs, run_date="2027-06-01"), inputs, tmp_path / "a")
    assert from_card["scoring_policy"]["source"] == "card"
    assert from_card["scoring_policy"]["policy"]["ladder"]["min_gain"] == 0.06
    result = rescore_cases(inputs, capacity=4, run_date="2027-06-01")
    assert result.capacity == 4
    manifest = write_run(result, inputs, tmp_path / "b")
    assert manifest["scoring_policy"]["source"] == "override"
    assert manifest["scoring_policy"]["policy"]["priority"]["capacity"] == 4
    assert (
        json.loads((tmp_path / "b/manifest.json").read_text())["scoring_policy"]
        == (manifest["scoring_policy"])
    )
    assert "override" in _about(tmp_path / "b/scored.xlsx")["计分规则 scoring policy"]
