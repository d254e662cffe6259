"""Follow-up of recorded decisions: counts, realised against predicted rates, refusals."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from crossexec_ml.decide import Ledger
from crossexec_ml.errors import InputError
from crossexec_ml.evaluate import follow_up, follow_up_ledger, wilson_interval

AS_OF = "2026-11-30"


def _scores(p_keep, p_intra):
    return {"p_keep": p_keep, "p_intra_team": p_intra, "p_inter_team": 0.2, "p_higher_court": 0.1}


@pytest.fixture
def ledger_path(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        for case, action, p_keep, p_intra, target in [
            ("A", "reassign_intra_team", 0.1, 0.4, "H1"),
            ("B", "reassign_intra_team", 0.2, 0.6, "H2"),
            ("C", "keep", 0.3, 0.5, None),
            ("D", "keep", 0.5, 0.5, None),
            ("E", "defer", 0.2, 0.3, None),
        ]:
            ledger.record(
                case,
                action,
                "L01",
                "test",
                target_handler_id=target,
                scores=_scores(p_keep, p_intra),
                as_of_date=AS_OF,
            )
    return path


def _later(rows):
    base = {"court_id": "C01", "team_id": "C01-T1", "as_of_date": pd.Timestamp(AS_OF)}
    return pd.DataFrame([{**base, **r} for r in rows])


LATER = [
    {
        "case_id": "A",
        "closure_mode_180d": "fully_executed",
        "amount_recovered_180d": 100.0,
        "outcome_date": pd.Timestamp("2027-02-01"),
    },
    {
        "case_id": "B",
        "closure_mode_180d": "terminate_current",
        "amount_recovered_180d": 0.0,
        "outcome_date": pd.Timestamp("2027-03-01"),
    },
    {
        "case_id": "C",
        "closure_mode_180d": "open",
        "amount_recovered_180d": 5.0,
        "outcome_date": pd.NaT,
    },
    {
        "case_id": "E",
        "closure_mode_180d": "settlement_performed",
        "amount_recovered_180d": 7.0,
        "outcome_date": pd.Timestamp("2027-01-01"),
    },
]


def _by(result, grouping, key):
    table = result.tables[grouping].set_index(grouping)
    return table.loc[key]


def test_counts_and_rates_by_action(ledger_path):
    result = follow_up_ledger(str(ledger_path), _later(LATER))
    intra = _by(result, "action", "reassign_intra_team")
    assert (intra.n_decided, intra.n_known, intra.n_resolved) == (2, 2, 1)
    # 终本 is known but never resolved.
    assert intra.n_terminate_current == 1
    assert intra.realised_rate == pytest.approx(0.5)
    # The predicted rate is the mean of what the ledger recorded for the rung taken.
    assert intra.predicted_rate == pytest.approx((0.4 + 0.6) / 2)
    assert (intra.ci_low, intra.ci_high) == pytest.approx(wilson_interval(1, 2))
    assert intra.amount_recovered == pytest.approx(100.0)
    keep = _by(result, "action", "keep")
    # D has no later row: decided but not known.
    assert (keep.n_decided, keep.n_known, keep.n_resolved, keep.n_open) == (2, 1, 0, 1)
    assert keep.predicted_rate == pytest.approx(0.3)
    defer = _by(result, "action", "defer")
    assert defer.n_resolved == 1 and math.isnan(defer.predicted_rate)
    # Rung tables follow the ladder; deferral has no rung.
    assert _by(result, "rung", "intra_team").n_decided == 2
    assert set(result.tables) == {"action", "rung", "court_id", "team_id", "month", "proposal"}


def test_json_shape(ledger_path):
    payload = follow_up_ledger(str(ledger_path), _later(LATER)).to_json()
    row = next(r for r in payload["by_action"] if r["action"] == "keep")
    for key in (
        "n_decided",
        "n_known",
        "n_resolved",
        "realised_rate",
        "predicted_rate",
        "ci_low",
        "ci_high",
    ):
        assert key in row
    assert payload["n_cases"] == 5
    assert next(r for r in payload["by_action"] if r["action"] == "defer")["predicted_rate"] is None


def test_a_case_decided_twice_counts_once_under_its_latest_decision(ledger_path):
    with Ledger(ledger_path) as ledger:
        first = int(ledger.rows("A")["seq"].iloc[0])
        ledger.record(
            "A",
            "keep",
            "L02",
            "correction",
            scores=_scores(0.25, 0.4),
            as_of_date=AS_OF,
            supersedes=first,
        )
    result = follow_up_ledger(str(ledger_path), _later(LATER))
    assert result.detail["case_id"].tolist().count("A") == 1
    assert _by(result, "action", "reassign_intra_team").n_decided == 1
    keep = _by(result, "action", "keep")
    assert (keep.n_decided, keep.n_resolved) == (3, 1)
    assert result.corrections["case_id"].tolist() == ["A"]
    # The trail is in the detail too, on the case's one row.
    trail = result.detail.set_index("case_id")["earlier_decisions"]
    assert trail["A"] == f"#{first} reassign_intra_team L01 {pd.Timestamp.now('UTC'):%Y-%m-%d}"
    assert trail.drop("A").eq("").all()


def test_the_row_at_the_decisions_as_of_date_is_used(ledger_path):
    older = {
        "case_id": "A",
        "closure_mode_180d": "open",
        "amount_recovered_180d": 0.0,
        "outcome_date": pd.NaT,
        "as_of_date": pd.Timestamp("2026-05-31"),
    }
    result = follow_up_ledger(str(ledger_path), _later([*LATER, older]))
    assert _by(result, "action", "reassign_intra_team").n_resolved == 1


def test_an_export_sharing_no_case_is_refused(ledger_path):
    other = [{**LATER[0], "case_id": "Z"}]
    with pytest.raises(InputError, match="shares no case"):
        follow_up_ledger(str(ledger_path), _later(other))


def test_an_outcome_before_its_decision_is_refused(ledger_path):
    early = [*LATER[1:], {**LATER[0], "outcome_date": pd.Timestamp("2020-01-01")}]
    with pytest.raises(InputError, match="before their decision.*A"):
        follow_up_ledger(str(ledger_path), _later(early))


def _stamp(path, model_ids):
    """A ledger whose decisions were recorded on the given models (None: recorded by hand)."""
    with Ledger(path) as ledger:
        for case, model_id in zip("ABCDE", model_ids, strict=True):
            ledger.record(case, "keep", "L01", "test", model_id=model_id, as_of_date=AS_OF)
    return path


def test_a_ledger_from_another_courts_models_is_refused(tmp_path):
    foreign = _stamp(tmp_path / "other.sqlite", ["x-court-model"] * 4 + [None])
    with pytest.raises(InputError, match="x-court-model.*our-model.*another court"):
        follow_up_ledger(str(foreign), _later(LATER), known_models={"our-model"})
    # Unchecked without the bureau's models; a ledger partly on an older model is kept.
    assert follow_up_ledger(str(foreign), _later(LATER)).n_other_model == 0
    mixed = _stamp(tmp_path / "mixed.sqlite", ["old-model", "our-model", None, None, None])
    result = follow_up_ledger(str(mixed), _later(LATER), known_models={"our-model"})
    assert result.n_other_model == 1 and result.to_json()["n_other_model"] == 1


def test_wilson_interval():
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    assert wilson_interval(0, 20)[0] == 0.0


# -- the synthetic half-year: realised against what the truth expected --------------------------

_ACTIONS = {
    "reassign_intra_team": "intra_team",
    "reassign_inter_team": "inter_team",
    "escalate_higher_court": "higher_court",
    "keep": "keep",
}


_P = ["p_keep", "p_intra_team", "p_inter_team", "p_higher_court"]


@pytest.fixture(scope="module")
def half_year():
    from crossexec_ml.data import load_sample, play_half_year

    sample = load_sample()
    current, truth = sample["current"], sample["truth"]
    cases = current["case_id"].astype(str).tolist()
    actions = list(_ACTIONS)
    rows = []
    probs = current[["case_id", "as_of_date"]].merge(truth, on=["case_id", "as_of_date"])
    for i, (case, *p) in enumerate(
        probs[["case_id", "p_keep", "p_intra_team", "p_inter_team", "p_higher_court"]].itertuples(
            index=False
        )
    ):
        if i >= 1200:
            break
        rows.append(
            {
                "seq": i + 1,
                "case_id": str(case),
                "action": actions[i % 4],
                "decided_at": "2026-11-05T02:00:00+00:00",
                "as_of_date": "2026-10-31",
                **dict(
                    zip(
                        ["p_keep", "p_intra_team", "p_inter_team", "p_higher_court"], p, strict=True
                    )
                ),
            }
        )
    decisions = pd.DataFrame(rows)
    taken = pd.Series({r["case_id"]: _ACTIONS[r["action"]] for r in rows})
    later = play_half_year(
        current,
        truth,
        taken,
        decided_on=pd.Series(pd.Timestamp("2026-11-05"), index=taken.index),
        seed=3,
    )
    return decisions, later, cases


def test_half_year_realised_rates_match_the_truth_within_their_intervals(half_year):
    decisions, later, _ = half_year
    result = follow_up(decisions, later)
    expected = later.set_index(later["case_id"].astype(str))["p_taken"]
    for action, row in result.tables["action"].set_index("action").iterrows():
        decided = result.detail.loc[result.detail["action"] == action, "case_id"]
        truth_rate = expected.loc[decided].mean()
        assert row.n_known == row.n_decided == 300
        assert row.ci_low <= truth_rate <= row.ci_high, (action, truth_rate, row.to_dict())
        # The predicted rate is the mean of the recorded scores (here the truth itself).
        assert row.predicted_rate == pytest.approx(truth_rate)


def test_half_year_is_seeded_and_keeps_unresolved_cases_unresolved(half_year):
    from crossexec_ml.data import load_sample, play_half_year

    _, later, _ = half_year
    sample = load_sample()
    again = play_half_year(sample["current"], sample["truth"], seed=3)
    assert again["p_taken"].equals(
        sample["current"][["case_id", "as_of_date"]]
        .merge(sample["truth"], on=["case_id", "as_of_date"])["p_keep"]
        .rename("p_taken")
    )
    assert (
        not later.loc[~later["resolved_180d"], "closure_mode_180d"]
        .isin(["fully_executed", "settlement_performed"])
        .any()
    )
    assert later.loc[later["closure_mode_180d"] == "open", "outcome_date"].isna().all()
    # The window starts at the decision for decided cases, at the as-of date for the others.
    decided = later["case_id"].astype(str).isin(set(half_year[0]["case_id"]))
    assert (later.loc[decided, "outcome_date"].dropna() > pd.Timestamp("2026-11-05")).all()
    assert (later["outcome_date"].dropna() > later["as_of_date"].max()).all()
    assert (later.loc[~decided, "outcome_date"].dropna() < pd.Timestamp("2026-11-05")).any()


def test_half_year_marks_the_randomised_cases_with_their_propensity():
    from crossexec_ml.data import load_sample, play_half_year

    sample = load_sample()
    current = sample["current"]
    band = pd.Series(0.5, index=current["case_id"].astype(str).head(4))
    later = play_half_year(current, sample["truth"], randomised=band, seed=0)
    assert later["assignment_randomised"].sum() == 4
    assert later.loc[later["assignment_randomised"], "assignment_propensity"].eq(0.5).all()
    assert later.loc[~later["assignment_randomised"], "assignment_propensity"].isna().all()


def test_end_to_end_list_band_simulated_decisions_half_year_follow_up(tmp_path):
    from crossexec_ml.data import load_sample
    from crossexec_ml.evaluate import ledger_half_year, simulate_decisions
    from crossexec_ml.jobs import score_cases
    from crossexec_ml.model import CrossExecModel

    sample = load_sample()
    model = CrossExecModel(learner="s_linear_0.2").fit(sample["history"])
    scored = score_cases(model, sample["current"], model_id="m1", explore=0.2, explore_seed=1)
    ledger_path = str(tmp_path / "demo.sqlite")
    n = simulate_decisions(scored, ledger_path)
    assert n == int(scored["candidate"].sum())
    with pytest.raises(InputError, match="new ledger only"):
        simulate_decisions(scored, ledger_path)  # never into an existing ledger
    later = ledger_half_year(ledger_path, sample["current"], sample["truth"], seed=2)
    # The band's drawn-in cases come back marked as randomised, with their propensity.
    band = scored["candidate"].astype(bool) & (scored["proposal_propensity"] == 0.5)
    marked = set(later.loc[later["assignment_randomised"], "case_id"].astype(str))
    assert marked == set(scored.loc[band, "case_id"].astype(str)) and marked
    # With the run's list, the band's left-out half (kept by the lottery) comes back too: the
    # control arm, with the propensity of being kept.
    both = ledger_half_year(ledger_path, sample["current"], sample["truth"], scored=scored, seed=2)
    in_band = scored["proposal_propensity"] == 0.5
    marked_both = both.set_index(both["case_id"].astype(str)).loc[
        lambda f: f["assignment_randomised"].astype(bool), "assignment_propensity"
    ]
    assert set(marked_both.index) == set(scored.loc[in_band, "case_id"].astype(str))
    assert set(marked) < set(marked_both.index) and (marked_both == 0.5).all()
    result = follow_up_ledger(ledger_path, later)
    expected = later.set_index(later["case_id"].astype(str))["p_taken"]
    scores = scored.set_index(scored["case_id"].astype(str))
    for rung, row in result.tables["rung"].set_index("rung").iterrows():
        decided = result.detail.loc[result.detail["rung"] == rung, "case_id"]
        assert row.ci_low <= expected.loc[decided].mean() <= row.ci_high, rung
        # What the model said at decision time, as the ledger recorded it.
        assert row.predicted_rate == pytest.approx(scores.loc[decided, f"p_{rung}"].mean())


def _proposal_ledger(tmp_path, rows):
    path = tmp_path / "proposal.sqlite"
    with Ledger(path) as ledger:
        for case, action, candidate in rows:
            scores = _scores(0.3, 0.6)
            if candidate is not None:
                scores["candidate"] = candidate
            ledger.record(
                case,
                action,
                "L01",
                "test",
                target_handler_id="H1" if action.startswith("reassign") else None,
                scores=scores,
                as_of_date=AS_OF,
            )
    return path


def _outcomes(cases, mode="fully_executed"):
    return _later(
        [
            {
                "case_id": c,
                "closure_mode_180d": mode,
                "amount_recovered_180d": 1.0,
                "outcome_date": pd.Timestamp("2027-02-01"),
            }
            for c in cases
        ]
    )


def test_proposal_table_tells_followed_kept_not_proposed_and_unrecorded(tmp_path):
    path = _proposal_ledger(
        tmp_path,
        [
            ("A", "reassign_intra_team", True),
            ("B", "escalate_higher_court", True),
            ("C", "keep", True),
            ("D", "defer", True),
            ("E", "reassign_inter_team", False),
            ("F", "keep", None),
        ],
    )
    result = follow_up_ledger(str(path), _outcomes("ABCDEF"))
    kind = dict(zip(result.detail["case_id"], result.detail["proposal"], strict=True))
    assert kind == {
        "A": "followed",
        "B": "followed",
        "C": "kept",
        "D": "kept",
        "E": "not_proposed",
        "F": "unrecorded",
    }
    table = result.tables["proposal"].set_index("proposal")
    # In the order a leader reads it, only the kinds present.
    assert list(table.index) == ["followed", "kept", "not_proposed", "unrecorded"]
    assert table.loc["followed", "n_decided"] == 2 and table.loc["kept", "n_decided"] == 2
    # The kept ones were predicted at p_keep (0.3), the followed intra one at p_intra (0.6).
    assert table.loc["kept", "predicted_rate"] == pytest.approx(0.3)
    assert result.to_json()["n_undecided"] == 0


def test_proposed_cases_nobody_decided_are_followed_up_as_kept(tmp_path):
    path = _proposal_ledger(tmp_path, [("A", "reassign_intra_team", None), ("B", "keep", None)])
    proposals = pd.DataFrame(
        {
            "case_id": ["A", "U1", "U2", "U1"],
            "as_of_date": [AS_OF] * 4,
            "p_keep": [0.1, 0.25, 0.35, 0.9],
            # A was proposed before its decision; U1 twice: its first proposal counts.
            "proposed_at": [
                "2026-11-30T01:00:00+00:00",
                "2026-11-30T01:00:00+00:00",
                "2026-11-30T01:00:00+00:00",
                "2026-12-07T01:00:00+00:00",
            ],
        }
    )
    later = pd.concat(
        [_outcomes("AB"), _outcomes(["U1"]), _outcomes(["U2"], mode="open")], ignore_index=True
    )
    result = follow_up_ledger(str(path), later, proposals=proposals)
    d = result.detail.set_index("case_id")
    # A: no flag recorded, but a run proposed it before the decision; B was never proposed.
    assert d.loc["A", "proposal"] == "followed" and d.loc["B", "proposal"] == "not_proposed"
    assert list(d.index[d["proposal"] == "undecided"]) == ["U1", "U2"]
    table = result.tables["proposal"].set_index("proposal")
    assert table.loc["undecided", "n_decided"] == 2
    assert table.loc["undecided", "n_resolved"] == 1
    assert table.loc["undecided", "predicted_rate"] == pytest.approx((0.25 + 0.35) / 2)
    # Undecided cases count in the proposal table only: every other table counts decisions.
    for grouping in ("action", "rung", "court_id", "team_id", "month"):
        assert result.tables[grouping]["n_decided"].sum() == 2, grouping
    counts = result.to_json()
    assert counts["n_cases"] == 2 and counts["n_undecided"] == 2
    kinds = [r["proposal"] for r in counts["by_proposal"]]
    assert kinds == ["followed", "undecided", "not_proposed"]


def test_a_proposal_after_the_decision_does_not_make_it_proposed(tmp_path):
    path = _proposal_ledger(tmp_path, [("A", "keep", None)])
    proposals = pd.DataFrame(
        {
            "case_id": ["A"],
            "as_of_date": [AS_OF],
            "p_keep": [0.2],
            "proposed_at": ["2099-01-01T00:00:00+00:00"],
        }
    )
    result = follow_up_ledger(str(path), _outcomes("A"), proposals=proposals)
    assert result.detail["proposal"].tolist() == ["not_proposed"]
