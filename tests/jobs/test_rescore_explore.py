"""``crossexec rescore --explore`` and ``--challenger``: one real run (papermill, notebook 05)
with an exploration band and a challenger in the shadow, shared by every assertion.

The challenger is trained on the sample history with its outcomes shuffled: a deliberately
different model, so that the two lists must differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import read_cases, read_scored, write_table
from crossexec_ml.jobs import load_run_inputs, rescore_cases, shadow_compare, train
from crossexec_ml.jobs import plan as plan_cases
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample"
RUN_DATE = "2026-11-28"
# No --explore-seed is given: a scheduled run's band is seeded by its run date (YYYYMMDD), so
# each week draws afresh and the manifest records the seed used.
BAND, SEED = 0.2, 20261128


def _args(model: Path, out: Path, *more: str) -> list[str]:
    return [
        "rescore",
        "--quiet",
        "--cases",
        str(SAMPLE / "current.csv"),
        "--model",
        str(model),
        "--handlers",
        str(SAMPLE / "handlers.csv"),
        "--as-of-date",
        RUN_DATE,
        "--out-dir",
        str(out),
        *more,
    ]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("explore_run")
    train(SAMPLE / "history.csv", root / "model", progress=False)
    history = read_cases(SAMPLE / "history.csv")
    history["resolved_180d"] = np.random.default_rng(0).permutation(
        history["resolved_180d"].to_numpy()
    )
    write_table(history, root / "shuffled.csv")
    train(root / "shuffled.csv", root / "challenger", progress=False)
    out = root / "run"
    code = main(
        _args(
            root / "model",
            out,
            "--explore",
            str(BAND),
            "--challenger",
            str(root / "challenger"),
        )
    )
    return {
        "root": root,
        "out": out,
        "code": code,
        "scored": read_scored(out / "scored.parquet"),
        "manifest": json.loads((out / "manifest.json").read_text(encoding="utf-8")),
    }


def test_the_band_is_in_the_list_with_exact_propensities(run):
    assert run["code"] in (0, 3)
    scored = run["scored"]
    p = scored["proposal_propensity"]
    in_band = p == 0.5
    m = int(round(BAND * int(scored["candidate"].sum())))
    assert in_band.sum() == 2 * m > 0
    assert int((in_band & scored["candidate"]).sum()) == m  # half of the band is drawn in
    # Outside the band the propensity is the proposal itself: 1 proposed, 0 not.
    outside = scored.loc[~in_band]
    assert (outside["proposal_propensity"] == outside["candidate"].astype(float)).all()
    # The band is the ranks around the cut, drawn across it: some drawn in from below.
    band_ranks = scored.loc[in_band, "priority_rank"].astype(int)
    assert band_ranks.max() - band_ranks.min() == 2 * m - 1
    below = scored.loc[in_band & (scored["priority_rank"] > scored["candidate"].sum())]
    assert below["candidate"].any()


def test_the_manifest_names_band_and_seed(run):
    manifest = run["manifest"]
    policy = manifest["scoring_policy"]
    assert policy["policy"]["priority"]["explore_band"] == BAND
    assert policy["policy"]["priority"]["explore_seed"] == SEED
    assert {"priority.explore_band", "priority.explore_seed"} <= set(policy["overridden"])
    assert manifest["exploration"]["band"] == BAND
    assert manifest["exploration"]["seed"] == SEED
    assert manifest["exploration"]["in_band"] == int(
        (run["scored"]["proposal_propensity"] == 0.5).sum()
    )


def test_the_plan_proposes_exactly_the_drawn_candidates(run):
    scored = run["scored"]
    drawn = scored.loc[scored["candidate"] & (scored["suggested_rung"] != "keep")]
    plan = pd.read_excel(run["out"] / "plan.xlsx", dtype=str)
    ids = plan.iloc[:, 0]  # 案号 first
    assert set(ids) == set(drawn["case_id"])
    # `crossexec plan` on the run's list proposes the same draw, its propensities kept.
    again = plan_cases(
        run["out"] / "scored.parquet", SAMPLE / "handlers.csv", run["root"] / "plan.csv"
    )
    assert set(again["case_id"]) == set(drawn["case_id"])
    shown = again.set_index("case_id")["proposal_propensity"]
    expected = drawn.set_index("case_id")["proposal_propensity"]
    assert shown.sort_index().tolist() == expected.sort_index().tolist()


def test_the_workbook_shows_the_propensity_as_a_percent(run):
    book = openpyxl.load_workbook(run["out"] / "scored.xlsx", read_only=True)
    header, first = book["scored"].iter_rows(min_row=1, max_row=2)
    cell = first[[c.value for c in header].index("列入建议概率")]
    assert cell.number_format == "0.0%"
    assert cell.value in (0, 0.5, 1)
    book.close()


def test_the_same_seed_draws_the_same_candidates(run):
    inputs = load_run_inputs(SAMPLE / "current.csv", run["root"] / "model")
    again = rescore_cases(inputs, run_date=RUN_DATE, explore=BAND, explore_seed=SEED).scored
    other = rescore_cases(inputs, run_date=RUN_DATE, explore=BAND, explore_seed=SEED + 1).scored

    def drawn(frame: pd.DataFrame) -> set[str]:
        return set(frame.loc[frame["candidate"].astype(bool), "case_id"])

    assert drawn(again) == drawn(run["scored"])
    assert drawn(other) != drawn(run["scored"])


def test_the_challenger_stays_in_the_shadow_and_the_report_shows_the_differences(run):
    scored, manifest = run["scored"], run["manifest"]
    root = run["root"]
    card = json.loads((root / "challenger" / "card.json").read_text(encoding="utf-8"))
    champion = json.loads((root / "model" / "card.json").read_text(encoding="utf-8"))
    # Only the champion's list is written.
    assert set(scored["model_id"]) == {champion["model_id"]}
    ch = manifest["challenger"]
    assert ch["model_id"] == card["model_id"] and ch["model_sha256"] == card["model_sha256"]
    # Counts add up, and the deliberately different model does differ.
    assert ch["n_both"] + ch["only_champion"] == ch["n_champion"]
    assert ch["n_both"] + ch["only_challenger"] == ch["n_challenger"]
    assert ch["only_champion"] > 0
    report = (run["out"] / "report.html").read_text(encoding="utf-8")
    assert "影子模型" in report and card["model_id"] in report
    assert f"仅在现行名单中 {ch['only_champion']} 件" in report


def test_shadow_compare_counts_on_a_hand_made_pair():
    def frame(ranks, rungs, cand):
        return pd.DataFrame(
            {
                "case_id": ["a", "b", "c", "d"],
                "court_id": "C1",
                "team_id": "T1",
                "priority_rank": ranks,
                "suggested_rung": rungs,
                "candidate": cand,
            }
        )

    champ = frame([1, 2, 3, 4], ["intra_team"] * 4, [True, True, False, False])
    chall = frame(
        [3, 1, 2, 4], ["intra_team", "inter_team", "intra_team", "keep"], [False, True, True, False]
    )
    got = shadow_compare(champ, chall, challenger_id="x")
    assert got.counts == {
        "k": 2,
        "n_champion": 2,
        "n_challenger": 2,
        "n_both": 1,
        "only_champion": 1,
        "only_challenger": 1,
        "rung_differs": 1,
    }
    # a (only champion's, rank 1), b (rung differs, ranks 2/1), c (only challenger's).
    assert got.table["case_id"].tolist() == ["a", "b", "c"]


def test_a_bad_challenger_folder_is_refused_before_anything_is_written(run, tmp_path, capsys):
    empty = tmp_path / "not-a-model"
    empty.mkdir()
    out = tmp_path / "run"
    code = main(_args(run["root"] / "model", out, "--challenger", str(empty)))
    assert code == 2
    assert not out.exists()
    assert "--challenger" in capsys.readouterr().err
