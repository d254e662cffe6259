"""Attack on step 5 (issue 16): each test reproduces one finding and FAILS while the bug stands.

Written by the attacker, not the builders: the package code was not changed. Every test
states the behaviour the README or the issue promises; the report says the severity and the
suggested fix. The randomised and observational comparisons use the generator's truth as the
"model" (an oracle) and its mirror, so no model has to be trained for them.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import make_cases, write_table
from crossexec_ml.evaluate import (
    compare_models,
    ledger_half_year,
    list_rungs,
    simulate_decisions,
)
from crossexec_ml.settings import PROB_COLUMNS


def _oracle(truth: pd.DataFrame, flip: bool = False):
    """The truth's probabilities as a model (flip: the rung effects upside down)."""
    table = truth.set_index(["case_id", "as_of_date"])[list(PROB_COLUMNS)]

    def predict(cases: pd.DataFrame) -> pd.DataFrame:
        key = pd.MultiIndex.from_arrays([cases["case_id"], pd.to_datetime(cases["as_of_date"])])
        p = table.reindex(key).to_numpy()
        if flip:
            p = np.column_stack([p[:, 0], np.clip(2 * p[:, [0]] - p[:, 1:], 0.001, 0.999)])
        return pd.DataFrame(p, columns=list(PROB_COLUMNS), index=cases.index)

    return predict


@pytest.fixture(scope="module")
def world():
    data = make_cases(n_history=1200, n_current=10, pilot_share=0.5, seed=21)
    return data.history.reset_index(drop=True), data.truth


def _one_row_where_lists_differ(world, randomised: bool) -> pd.DataFrame:
    """One screening date's rows, only one of them with a rung taken (keep) and an outcome."""
    history, truth = world
    date = history["as_of_date"].value_counts().idxmax()
    rows = history[history["as_of_date"] == date].reset_index(drop=True)
    good = list_rungs(rows, _oracle(truth))
    bad = list_rungs(rows, _oracle(truth, flip=True))
    differ = np.flatnonzero((good != bad) & ((good == 0) | (bad == 0)))
    assert differ.size, "the fixture needs a row where the two lists disagree"
    at = int(differ[0])
    rows["cross_mode"] = pd.Series(pd.NA, index=rows.index, dtype=rows["cross_mode"].dtype)
    rows["resolved_180d"] = pd.Series(pd.NA, index=rows.index, dtype="boolean")
    rows["assignment_randomised"] = False
    rows["assignment_propensity"] = np.nan
    rows.loc[at, "cross_mode"] = "none"
    rows.loc[at, "resolved_180d"] = True
    if randomised:
        rows.loc[at, "assignment_randomised"] = True
        rows.loc[at, "assignment_propensity"] = 0.25
    return rows


# --- Finding 1: the verdict is decided by a single case (degenerate bootstrap interval) --------


def test_one_randomised_case_does_not_decide_better_or_worse(world):
    rows = _one_row_where_lists_differ(world, randomised=True)
    _, truth = world
    result = compare_models(rows, _oracle(truth), _oracle(truth, flip=True), n_boot=200)
    assert result.n_randomised == 1
    # A bootstrap of one row is that row n_boot times: the "interval" is a point, so one case
    # outcome decides the verdict. One case is no evidence either way.
    assert result.verdict == "no_evidence", (result.difference, result.difference_ci)


def test_one_observational_case_does_not_decide_better_or_worse(world):
    rows = _one_row_where_lists_differ(world, randomised=False)
    _, truth = world
    result = compare_models(rows, _oracle(truth), _oracle(truth, flip=True), n_boot=200)
    assert result.observed is not None and result.observed.n_rows == 1
    assert result.observed.verdict == "no_evidence", (
        result.observed.difference,
        result.observed.difference_ci,
    )


def test_nine_pilot_cases_do_not_call_the_mirror_of_the_truth_better(world):
    history, truth = world
    pilot = history[history["assignment_randomised"].fillna(False).astype(bool)]
    few = pilot.sample(9, random_state=28)
    result = compare_models(few, _oracle(truth), _oracle(truth, flip=True), n_boot=500, seed=28)
    # The mirror (rung effects upside down) is truly worse; on 9 rows the percentile bootstrap
    # is far too narrow and says "better" (difference +57 points, interval up to +139 points,
    # more than a difference of two rates can be).
    assert result.verdict != "better", (result.difference, result.difference_ci)
    assert -1.0 <= result.difference_ci[0] <= result.difference_ci[1] <= 1.0


# --- Finding 2: a "resolution rate" outside [0, 1] --------------------------------------------


def test_list_values_are_rates_between_0_and_1_when_every_case_resolved(world):
    history, truth = world
    allres = history.assign(resolved_180d=True)
    result = compare_models(allres, _oracle(truth), _oracle(truth, flip=True), n_boot=200)
    # Printed as "resolution rate if its list were followed 1xx%": no rate exceeds 100%.
    for name in result.names:
        low, high = result.value_ci[name]
        assert 0.0 <= result.value[name] <= 1.0, (name, result.value[name])
        assert 0.0 <= low <= high <= 1.0, (name, low, high)


# --- Finding 3: a history where one rung was ever taken crashes (sklearn traceback) -----------


def test_observational_rows_with_a_single_rung_taken_do_not_crash(world):
    history, truth = world
    # E.g. a later export after a band of 1.0: every decided case is randomised, the rest kept.
    kept = history.assign(
        cross_mode="none", assignment_randomised=False, assignment_propensity=np.nan
    )
    result = compare_models(kept, _oracle(truth), _oracle(truth, flip=True), n_boot=100)
    assert result.verdict == "no_randomised"
    assert result.observed is not None and result.observed.n_rows == len(history)


# --- CLI findings: need a real model folder ----------------------------------------------------


@pytest.fixture(scope="module")
def cli_world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("attack_cli")
    data = make_cases(n_history=800, n_current=200, pilot_share=0.5, seed=3)
    write_table(data.history, folder / "h.csv")
    assert main(["train", "--cases", str(folder / "h.csv"), "--out", str(folder / "m")]) == 0
    return folder, data


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exit_:  # argparse's refusal is a clear refusal too
        return int(exit_.code or 0)


@pytest.mark.parametrize("share", ["nan", "-1", "0", "2"])
def test_compare_refuses_a_share_that_is_not_a_capacity_share(cli_world, share, capsys):
    folder, _ = cli_world
    model = str(folder / "m")
    # nan: ValueError traceback from capacity_k; -1, 0, 2: accepted silently (k clamped).
    code = _run(
        ["compare", "--models", model, model, "--cases", str(folder / "h.csv"), "--share", share]
    )
    assert code != 0
    assert "share" in capsys.readouterr().err


def test_compare_refuses_a_json_over_a_file_of_the_model_folder(cli_world):
    # README: every command refuses an output that is "an existing file inside the model
    # folder" (a new file beside the model is written: it replaces nothing that is read).
    folder, _ = cli_world
    model = folder / "m"
    card = model / "card.json"
    before = card.read_bytes()
    code = _run(
        ["compare", "--models", str(model), str(model), "--cases", str(folder / "h.csv")]
        + ["--json", str(card)]
    )
    assert code != 0 and card.read_bytes() == before


def test_compare_cli_on_an_export_with_one_rung_taken_says_a_sentence(cli_world, capsys):
    folder, data = cli_world
    kept = data.history.assign(
        cross_mode="none", assignment_randomised=False, assignment_propensity=np.nan
    )
    write_table(kept, folder / "kept.csv")
    model = str(folder / "m")
    out = folder / "kept.json"
    code = _run(
        ["compare", "--models", model, model, "--cases", str(folder / "kept.csv")]
        + ["--json", str(out)]
    )
    assert code in (0, 1)
    if code == 0:
        assert json.loads(out.read_text(encoding="utf-8"))["verdict"] == "no_randomised"


# --- Finding 4: the band's control arm is lost in the simulated half-year ---------------------


def test_half_year_marks_every_band_case_randomised_not_only_the_drawn_half(cli_world, tmp_path):
    from crossexec_ml.jobs import score_cases
    from crossexec_ml.model import load_model

    folder, data = cli_world
    model, _ = load_model(folder / "m")
    scored = score_cases(model, data.current, model_id="attack", explore=0.5, explore_seed=0)
    p = scored["proposal_propensity"]
    band = scored.loc[(p > 0) & (p < 1), "case_id"].astype(str)
    assert len(band) >= 4
    ledger = str(tmp_path / "demo.sqlite")
    simulate_decisions(scored, ledger)
    later = ledger_half_year(ledger, data.current, data.truth, scored=scored, seed=0)
    marked = later.loc[later["assignment_randomised"].astype(bool), "case_id"].astype(str)
    # A band case left out by the draw was kept *at random* (probability 1/2): it is the
    # control arm. Without it, compare's "randomised" rows are all one arm (proposed, on the
    # champion's rung), and a list that keeps those cases is valued by its own mu alone.
    assert set(marked) == set(band), (len(marked), len(band))


# --- Finding 5: the observational verdict calls a truly worse, over-confident model better ----


def test_observational_verdict_does_not_prefer_a_truly_worse_overconfident_model():
    from crossexec_ml.data import play_half_year
    from crossexec_ml.settings import RUNGS

    # A later export where leaders followed the champion's list (its top k on their rung, the
    # rest kept): the realistic history after a model is in use. The champion is the truth
    # itself; the challenger is the truth with 0.8 added to every higher-court probability.
    data = make_cases(n_history=10, n_current=4000, seed=300)
    current, truth = data.current.reset_index(drop=True), data.truth
    champion = _oracle(truth)

    def overconfident(cases: pd.DataFrame) -> pd.DataFrame:
        p = champion(cases)
        p["p_higher_court"] = np.clip(p["p_higher_court"] + 0.8, 0, 1)
        return p

    rungs = list_rungs(current, champion)
    taken = pd.Series(np.array(RUNGS)[rungs], index=current["case_id"].astype(str).to_numpy())
    later = play_half_year(current, truth, taken[taken != "keep"], seed=0)
    key = ["case_id", "as_of_date"]
    p = later[key].merge(truth, on=key, how="left")[list(PROB_COLUMNS)].to_numpy()
    i = np.arange(len(later))
    true_champion = p[i, list_rungs(later, champion)].mean()
    true_challenger = p[i, list_rungs(later, overconfident)].mean()
    assert true_challenger < true_champion - 0.01  # truly worse by about 2 points
    result = compare_models(later, champion, overconfident, n_boot=300)
    seen = result.observed
    assert seen is not None and seen.log_loss_difference > 0  # log-loss gets it right
    # The list value rests on mu = the two models' own average where the challenger's rung was
    # never taken (no overlap): the over-confident model grades itself up, CI excluding 0.
    assert seen.verdict != "better", (seen.value, seen.difference, seen.difference_ci)


def test_observational_verdict_needs_cases_that_took_the_lists_rungs(world):
    history, truth = world
    # Everybody kept but one case: nothing was observed under the lists' reassignments, yet
    # the list values (mu = the two models' own average there) decide "better" for the mirror.
    kept = history.assign(
        cross_mode="none", assignment_randomised=False, assignment_propensity=np.nan
    )
    kept.loc[5, "cross_mode"] = "intra_team"
    result = compare_models(kept, _oracle(truth), _oracle(truth, flip=True), n_boot=100)
    seen = result.observed
    assert seen.verdict == "no_evidence", (seen.value, seen.difference_ci)


# --- Finding 6: play_half_year writes an export the contract forbids, or ignores unknown ids ---


@pytest.mark.parametrize("propensity", [0.0, 2.0])
def test_play_half_year_refuses_a_propensity_outside_0_1(propensity):
    from crossexec_ml.data import play_half_year

    data = make_cases(n_history=10, n_current=20, seed=5)
    case = str(data.current["case_id"].iloc[0])
    # The contract: assignment_propensity in (0, 1]. 0 or 2 is written into the "export" as is,
    # and only compare, later, refuses it.
    with pytest.raises(ValueError):
        play_half_year(data.current, data.truth, randomised=pd.Series({case: propensity}))


def test_play_half_year_refuses_a_decision_for_a_case_it_does_not_have():
    from crossexec_ml.data import play_half_year

    data = make_cases(n_history=10, n_current=20, seed=5)
    # A mistyped case id is silently dropped: the case is simulated as kept.
    with pytest.raises(ValueError):
        play_half_year(data.current, data.truth, pd.Series({"(2024)湘0000执0号": "intra_team"}))
