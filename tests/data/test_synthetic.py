"""Tests of the synthetic generator: contract shape, consistency and calibration (DOMAIN.md s4).

The calibration figures are checked on the default arguments (n_history=6000, seed=7), as the
generator's constants were tuned there; tolerances follow the brief.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from crossexec_ml.data import (
    CROSS_MODE_TO_RUNG,
    STALL_CAUSE_SHARES,
    STALL_CAUSES,
    TRUTH_COLUMNS,
    ColumnSpec,
    SyntheticCases,
    cases_contract,
    handlers_contract,
    higher_court_mode,
    make_cases,
    true_probabilities,
    validate_file,
)
from crossexec_ml.settings import RUNGS, CohortSettings

P_COLS = [f"p_{r}" for r in RUNGS]


@pytest.fixture(scope="module")
def data() -> SyntheticCases:
    return make_cases()


@pytest.fixture(scope="module")
def hist_truth(data: SyntheticCases) -> pd.DataFrame:
    """Truth rows of the history, aligned by position with ``data.history``."""
    return data.truth.iloc[: len(data.history)].reset_index(drop=True)


def _rung(history: pd.DataFrame) -> np.ndarray:
    return history["cross_mode"].astype(str).map(CROSS_MODE_TO_RUNG).to_numpy()


def _expected_dtype(spec: ColumnSpec) -> object:
    """The dtype a contract column has once ingested (the generator's promise)."""
    if spec.dtype == "category":
        return pd.CategoricalDtype(categories=list(spec.categories or ()))
    return {
        "string": pd.StringDtype(),
        "date": np.dtype("datetime64[ns]"),
        "bool": pd.BooleanDtype(),
        "int": pd.Int64Dtype(),
        "float": np.dtype("float64"),
    }[spec.dtype]


# --- shape and dtypes --------------------------------------------------------------------------


def test_sizes(data: SyntheticCases) -> None:
    assert len(data.history) == 6000
    assert len(data.current) == 1500
    assert len(data.truth) == 7500
    assert list(data.truth.columns) == list(TRUTH_COLUMNS)


def test_history_has_all_contract_columns_in_order_and_dtype(data: SyntheticCases) -> None:
    contract = cases_contract()
    assert list(data.history.columns) == contract.names
    assert len(contract.names) == 56
    for name, spec in contract.columns.items():
        assert data.history[name].dtype == _expected_dtype(spec), name


def test_current_has_no_treatment_or_outcome(data: SyntheticCases) -> None:
    contract = cases_contract()
    expected = [n for n, c in contract.columns.items() if c.role not in ("treatment", "outcome")]
    assert list(data.current.columns) == expected
    for name in expected:
        assert data.current[name].dtype == _expected_dtype(contract.columns[name]), name
    assert (data.current["as_of_date"] == pd.Timestamp("2026-10-31")).all()


def test_handlers_contract_columns_and_dtypes(data: SyntheticCases) -> None:
    contract = handlers_contract()
    assert list(data.handlers.columns) == contract.names
    for name, spec in contract.columns.items():
        assert data.handlers[name].dtype == _expected_dtype(spec), name


def test_truth_dtypes(data: SyntheticCases) -> None:
    t = data.truth
    assert t["case_id"].dtype == pd.StringDtype()
    assert t["as_of_date"].dtype == np.dtype("datetime64[ns]")
    assert t["stall_cause"].dtype == pd.StringDtype()
    assert t["is_pilot"].dtype == np.dtype(bool)
    for c in P_COLS:
        assert t[c].dtype == np.dtype("float64")


def test_truth_never_in_feature_frames(data: SyntheticCases) -> None:
    secret = {"stall_cause", "is_pilot", *P_COLS, "higher_court_mode"}
    assert not secret & set(data.history.columns)
    assert not secret & set(data.current.columns)


def test_truth_rows_align_with_cases(data: SyntheticCases) -> None:
    cases = pd.concat(
        [data.history[["case_id", "as_of_date"]], data.current[["case_id", "as_of_date"]]]
    )
    pd.testing.assert_frame_equal(
        data.truth[["case_id", "as_of_date"]].reset_index(drop=True),
        cases.reset_index(drop=True),
    )
    assert not data.truth["is_pilot"].iloc[len(data.history) :].any()


def test_required_columns_complete_and_some_gaps_elsewhere(data: SyntheticCases) -> None:
    contract = cases_contract()
    for name in contract.required:
        assert not data.history[name].isna().any(), name
        assert not data.current[name].isna().any(), name
    for name in ("days_since_last_asset_query", "applicant_type"):
        share = data.history[name].isna().mean()
        assert 0.01 <= share <= 0.06, (name, share)


# --- determinism and edge cases ----------------------------------------------------------------


def test_deterministic() -> None:
    a = make_cases(n_history=400, n_current=100, seed=3)
    b = make_cases(n_history=400, n_current=100, seed=3)
    for frame in ("history", "current", "truth", "handlers"):
        pd.testing.assert_frame_equal(getattr(a, frame), getattr(b, frame))
    c = make_cases(n_history=400, n_current=100, seed=4)
    assert not a.history.equals(c.history)


@pytest.mark.parametrize(("n_history", "n_current"), [(0, 0), (0, 20), (20, 0)])
def test_empty_parts(n_history: int, n_current: int) -> None:
    d = make_cases(n_history=n_history, n_current=n_current)
    assert len(d.history) == n_history
    assert len(d.current) == n_current
    assert len(d.truth) == n_history + n_current
    assert list(d.history.columns) == cases_contract().names
    assert len(d.current.columns) == 47


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_history"):
        make_cases(n_history=-1)
    with pytest.raises(ValueError, match="n_history"):
        make_cases(n_current=-5)
    with pytest.raises(ValueError, match="pilot_share"):
        make_cases(pilot_share=1.5)


# --- dates, cohort, ids ------------------------------------------------------------------------


def test_every_row_is_in_the_default_stalled_cohort(data: SyntheticCases) -> None:
    cohort = CohortSettings()
    for frame in (data.history, data.current):
        age = (frame["as_of_date"] - frame["filing_date"]).dt.days
        assert (age >= cohort.min_age_days).all()
        assert (frame["days_since_last_action"] >= cohort.min_idle_days).all()
        assert (frame["days_since_last_action"] <= age).all()
        assert (frame["as_of_date"] == frame["as_of_date"].dt.normalize()).all()


def test_history_dates(data: SyntheticCases) -> None:
    h = data.history
    assert h["as_of_date"].min() >= pd.Timestamp("2024-01-01")
    assert h["as_of_date"].max() <= pd.Timestamp("2026-04-30")
    assert h["as_of_date"].nunique() >= 24  # monthly screening over about two years
    kept = h["cross_mode"] == "none"
    assert h.loc[kept, "cross_date"].isna().all()
    gap = (h.loc[~kept, "cross_date"] - h.loc[~kept, "as_of_date"]).dt.days
    assert gap.between(1, 30).all()


def test_case_ids(data: SyntheticCases) -> None:
    ids = pd.concat([data.history["case_id"], data.current["case_id"]])
    assert ids.is_unique
    pattern = re.compile(r"^\((\d{4})\)湘01\d{2}执恢?\d+号$")
    years = ids.str.extract(pattern, expand=False).astype(int)
    assert years.notna().all()
    filing = pd.concat([data.history["filing_date"], data.current["filing_date"]])
    assert (years.to_numpy() == filing.dt.year.to_numpy()).all()


# --- handlers ----------------------------------------------------------------------------------


def test_handlers_table(data: SyntheticCases) -> None:
    hd = data.handlers
    assert hd["handler_id"].is_unique
    assert hd["handler_id"].str.fullmatch(r"H\d{4}").all()
    assert hd["open_slots"].between(0, 6).all()
    teams_per_court = hd.groupby("court_id")["team_id"].nunique()
    assert len(teams_per_court) >= 2
    assert teams_per_court.between(3, 5).all()
    per_team = hd.groupby("team_id")
    assert per_team.size().between(4, 8).all()
    assert (per_team["is_leader"].sum() == 1).all()
    assert (hd["team_id"].str.slice(0, 3) == hd["court_id"]).all()


def test_cases_use_known_handlers(data: SyntheticCases) -> None:
    keys = ["handler_id", "team_id", "court_id"]
    known = set(map(tuple, data.handlers[keys].astype(str).to_numpy()))
    for frame in (data.history, data.current):
        used = set(map(tuple, frame[keys].astype(str).to_numpy()))
        assert used <= known


def test_previous_handlers_consistent(data: SyntheticCases) -> None:
    hd = data.handlers.set_index("handler_id")
    team_of = hd["team_id"].astype(str).to_dict()
    court_of = hd["court_id"].astype(str).to_dict()
    for frame in (data.history, data.current):
        n = frame["n_handlers_so_far"].to_numpy(dtype=int)
        stage = frame["ladder_stage"].astype(str).to_numpy()
        prev = frame["previous_handler_ids"]
        assert (prev.isna().to_numpy() == (n == 1)).all()
        assert ((stage == "original") == (n == 1)).all()
        lists = prev.fillna("").str.split(";").to_list()
        for i, (handler, team, court) in enumerate(
            frame[["handler_id", "team_id", "court_id"]].astype(str).itertuples(index=False)
        ):
            earlier = [h for h in lists[i] if h]
            assert len(earlier) == n[i] - 1
            assert handler not in earlier
            assert len(set(earlier)) == len(earlier)
            assert all(h in team_of for h in earlier)
            if stage[i] == "intra_team":
                assert all(team_of[h] == team for h in earlier)
            elif stage[i] in ("inter_team", "higher_court"):
                assert any(team_of[h] != team and court_of[h] == court for h in earlier)


def test_caseload_plausible(data: SyntheticCases, hist_truth: pd.DataFrame) -> None:
    load = data.history["handler_caseload"]
    assert load.dropna().between(40, 900).all()
    assert 150 <= load.median() <= 350
    inertia = (hist_truth["stall_cause"] == "handler_inertia").to_numpy()
    assert load[inertia].mean() > load[~inertia].mean() + 40


# --- features ----------------------------------------------------------------------------------


def test_amounts_and_livelihood(data: SyntheticCases) -> None:
    for frame in (data.history, data.current):
        non_monetary = (frame["cause_category"] == "non_monetary").to_numpy()
        zero = (frame["amount_outstanding"] == 0).to_numpy()
        assert (zero == non_monetary).all()
        assert (frame["amount_outstanding"] >= 0).all()
        applied = frame["amount_applied"]
        ok = applied.isna() | (applied + 0.01 >= frame["amount_outstanding"])
        assert ok.all()
    h = data.history
    assert 80e3 <= h["amount_outstanding"].median() <= 150e3
    assert (h["amount_outstanding"] > 1e6).mean() > 0.01
    liv_cat = h["cause_category"].isin(["labor_remuneration", "traffic_injury", "family_support"])
    assert h.loc[liv_cat, "is_livelihood"].mean() > 0.85
    assert h.loc[~liv_cat, "is_livelihood"].mean() < 0.1


def test_cause_signatures(data: SyntheticCases, hist_truth: pd.DataFrame) -> None:
    h, cause = data.history, hist_truth["stall_cause"].to_numpy()
    no_assets = cause == "no_assets"
    assert h.loc[no_assets, "has_real_estate"].mean() < 0.1
    assert h.loc[no_assets, "debtor_whereabouts"].isin(["unreachable", "abroad"]).mean() > 0.35
    disposal = cause == "disposal_obstacle"
    assert (h.loc[disposal, "asset_disposal_obstacle"] != "none").all()
    multi = cause == "multi_party"
    assert h.loc[multi, "n_related_cases"].mean() > 3 * h.loc[~multi, "n_related_cases"].mean()
    local = cause == "local_interference"
    assert h.loc[local, "interference_risk"].mean() > 0.5
    special = cause == "special_entity_block"
    assert h.loc[special, "special_entity"].all()


# --- outcomes and calibration (DOMAIN.md section 4) --------------------------------------------


def test_outcome_consistency(data: SyntheticCases) -> None:
    h = data.history
    resolved = h["resolved_180d"].to_numpy(dtype=bool)
    closure = h["closure_mode_180d"].astype(str).to_numpy()
    assert (resolved == np.isin(closure, ["fully_executed", "settlement_performed"])).all()
    assert not resolved[closure == "terminate_current"].any()
    rec = h["amount_recovered_180d"].to_numpy()
    assert (rec >= 0).all()
    assert (rec <= h["amount_outstanding"].to_numpy() + 0.01).all()
    monetary = h["amount_outstanding"].to_numpy() > 0
    assert (rec[resolved & monetary] > 0).all()
    new_pet = h["new_petition_180d"].to_numpy(dtype=bool)
    assert new_pet[resolved].mean() < new_pet[~resolved].mean()


def test_calibration_targets(data: SyntheticCases) -> None:
    h = data.history
    kept = (h["cross_mode"] == "none").to_numpy()
    resolved = h["resolved_180d"].to_numpy(dtype=bool)
    rec = h["amount_recovered_180d"].to_numpy()
    assert 0.05 <= resolved[kept].mean() <= 0.095
    assert 0.18 <= resolved[~kept].mean() <= 0.27
    assert 0.30 <= (rec[~kept] > 0).mean() <= 0.50
    assert 100e3 <= rec[~kept].mean() <= 150e3


def test_stall_cause_shares(hist_truth: pd.DataFrame) -> None:
    shares = hist_truth["stall_cause"].value_counts(normalize=True)
    assert set(shares.index) == set(STALL_CAUSES)
    assert abs(shares["no_assets"] - 0.48) <= 0.03
    for cause, share in zip(STALL_CAUSES, STALL_CAUSE_SHARES, strict=True):
        assert abs(shares[cause] - share) <= 0.03, cause


def test_pilot_and_confounded_assignment(data: SyntheticCases, hist_truth: pd.DataFrame) -> None:
    h = data.history
    pilot = hist_truth["is_pilot"].to_numpy()
    assert 0.17 <= pilot.mean() <= 0.23
    rung = _rung(h)
    # The pilot draws the four rungs uniformly.
    counts = pd.Series(rung[pilot]).value_counts(normalize=True)
    assert set(counts.index) == set(RUNGS)
    assert (counts.between(0.2, 0.3)).all()
    # Outside the pilot a minority is cross-executed, and not at random: hard bones more often.
    treated = rung != "keep"
    assert 0.25 <= treated[~pilot].mean() <= 0.40
    age = (h["as_of_date"] - h["filing_date"]).dt.days.to_numpy()
    old = age >= 730
    assert treated[~pilot & old].mean() > treated[~pilot & ~old].mean()
    flagged = h["superior_supervised"].to_numpy(dtype=bool)
    assert treated[~pilot & flagged].mean() > treated[~pilot & ~flagged].mean()


def test_ladder_usually_next_rung(data: SyntheticCases, hist_truth: pd.DataFrame) -> None:
    h = data.history
    pilot = hist_truth["is_pilot"].to_numpy()
    rung = pd.Series(_rung(h)).map({r: i for i, r in enumerate(RUNGS)}).to_numpy()
    stage = h["ladder_stage"].cat.codes.to_numpy()
    chosen = ~pilot & (rung > 0)
    nxt = np.minimum(stage + 1, 3)
    assert (rung[chosen] >= nxt[chosen]).mean() > 0.99  # never back down the ladder
    assert (rung[chosen] == nxt[chosen]).mean() > 0.7


def test_higher_court_rows_record_the_suited_mode(
    data: SyntheticCases, hist_truth: pd.DataFrame
) -> None:
    h = data.history
    top = _rung(h) == "higher_court"
    assert top.sum() > 100
    suited = higher_court_mode(
        hist_truth["stall_cause"].to_numpy(dtype=object)[top],
        h["cross_jurisdiction"].to_numpy(dtype=bool)[top],
        h["superior_supervised"].to_numpy(dtype=bool)[top],
        h["amount_outstanding"].to_numpy()[top],
    )
    assert (h["cross_mode"].astype(str).to_numpy()[top] == suited).all()


# --- the truth ---------------------------------------------------------------------------------


def test_truth_probabilities_open_interval(data: SyntheticCases) -> None:
    p = data.truth[P_COLS].to_numpy()
    assert np.isfinite(p).all()
    assert ((p > 0) & (p < 1)).all()


def test_true_probabilities_recomputes_the_truth(data: SyntheticCases) -> None:
    for frame, truth in (
        (data.history, data.truth.iloc[: len(data.history)]),
        (data.current, data.truth.iloc[len(data.history) :]),
    ):
        again = true_probabilities(frame, truth["stall_cause"])
        np.testing.assert_allclose(again[P_COLS].to_numpy(), truth[P_COLS].to_numpy())


def test_outcomes_follow_the_truth(data: SyntheticCases, hist_truth: pd.DataFrame) -> None:
    h = data.history
    resolved = h["resolved_180d"].to_numpy(dtype=bool)
    rung = _rung(h)
    p_taken = np.choose(
        pd.Series(rung).map({r: i for i, r in enumerate(RUNGS)}).to_numpy(),
        [hist_truth[c].to_numpy() for c in P_COLS],
    )
    se = np.sqrt((p_taken * (1 - p_taken)).sum()) / len(p_taken)
    assert abs(resolved.mean() - p_taken.mean()) < 4 * se
    # Within each rung of the randomised pilot, the resolved rate matches the mean truth (loose).
    pilot = hist_truth["is_pilot"].to_numpy()
    for r in RUNGS:
        m = pilot & (rung == r)
        p = hist_truth.loc[m, f"p_{r}"].to_numpy()
        se = np.sqrt((p * (1 - p)).sum()) / m.sum()
        assert abs(resolved[m].mean() - p.mean()) < 4 * se + 0.01, r


def test_uplift_by_cause(data: SyntheticCases) -> None:
    t = data.truth
    uplift = (
        pd.DataFrame(
            {
                "cause": t["stall_cause"].astype(str),
                "intra": t["p_intra_team"] - t["p_keep"],
                "higher": t["p_higher_court"] - t["p_keep"],
            }
        )
        .groupby("cause")[["intra", "higher"]]
        .mean()
    )
    assert uplift.loc["no_assets", "higher"] < 0.02
    assert uplift.loc["no_assets", "intra"] < 0.02
    assert uplift["intra"].idxmax() == "handler_inertia"
    for cause in ("local_interference", "special_entity_block", "multi_party"):
        assert uplift.loc[cause, "higher"] > 2 * uplift.loc[cause, "intra"], cause
    # More handlers so far, smaller effect (x0.7 per extra handler).
    inertia = t["stall_cause"] == "handler_inertia"
    n = pd.concat([data.history["n_handlers_so_far"], data.current["n_handlers_so_far"]])
    lift = np.log(t["p_intra_team"] / (1 - t["p_intra_team"])) - np.log(
        t["p_keep"] / (1 - t["p_keep"])
    )
    lift_by_n = lift[inertia.to_numpy()].groupby(n.to_numpy()[inertia.to_numpy()]).mean()
    np.testing.assert_allclose(lift_by_n.loc[1], 1.2)
    if 2 in lift_by_n.index:
        np.testing.assert_allclose(lift_by_n.loc[2], 1.2 * 0.7)


def test_randomisation_columns_and_outcome_dates_follow_the_pilot_and_the_closure():
    data = make_cases(n_history=3000, n_current=50, seed=11)
    h, truth = data.history, data.truth
    pilot = truth["is_pilot"].to_numpy()[: len(h)]
    assert (h["assignment_randomised"].to_numpy(dtype=bool) == pilot).all()
    assert (h.loc[pilot, "assignment_propensity"] == 0.25).all()
    assert h.loc[~pilot, "assignment_propensity"].isna().all()
    closed = h["closure_mode_180d"] != "open"
    assert h.loc[~closed, "outcome_date"].isna().all()
    days = (h.loc[closed, "outcome_date"] - h.loc[closed, "as_of_date"]).dt.days
    assert days.between(1, 180).all() and closed.any()
    # current cases carry no treatment or outcome columns
    assert "outcome_date" not in data.current and "assignment_randomised" not in data.current


def test_new_randomisation_columns_are_validated(tmp_path):
    rows = make_cases(n_history=40, n_current=0, seed=2).history
    rows["assignment_propensity"] = rows["assignment_propensity"].astype(object)
    rows.loc[3, "assignment_propensity"] = -0.5
    rows["assignment_randomised"] = rows["assignment_randomised"].astype(object)
    rows.loc[5, "assignment_randomised"] = "maybe"
    path = tmp_path / "h.csv"
    rows.to_csv(path, index=False)
    report = validate_file(path)
    where = {(p.row, p.column.split(" ")[0]) for p in report.problems}
    assert where == {(5, "assignment_propensity"), (7, "assignment_randomised")}


# ------------------------------------------------------------------ structural variants


@pytest.fixture(scope="module")
def worlds():
    from crossexec_ml.data import VARIANTS

    return {v: make_cases(n_history=4000, n_current=0, seed=21, variant=v) for v in VARIANTS}


def test_the_default_variant_is_the_generator_as_shipped(worlds):
    plain = make_cases(n_history=4000, n_current=0, seed=21)
    pd.testing.assert_frame_equal(worlds["default"].history, plain.history)
    pd.testing.assert_frame_equal(worlds["default"].truth, plain.truth)


def test_divergent_effects_favour_the_team_for_inertia_and_the_higher_court_for_pressure(worlds):
    t = worlds["divergent"].truth
    gain = t[["p_intra_team", "p_higher_court"]].to_numpy() - t[["p_keep"]].to_numpy()
    inertia = (t["stall_cause"] == "handler_inertia").to_numpy()
    pressure = t["stall_cause"].isin(["local_interference", "special_entity_block"]).to_numpy()
    assert (gain[inertia, 0] > gain[inertia, 1]).mean() > 0.95
    assert (gain[pressure, 1] > gain[pressure, 0]).mean() > 0.95
    # In the default world the higher court helps inertia cases nearly as much.
    d = worlds["default"].truth
    dg = d[["p_intra_team", "p_higher_court"]].to_numpy() - d[["p_keep"]].to_numpy()
    di = (d["stall_cause"] == "handler_inertia").to_numpy()
    assert dg[di, 1].mean() > 0.6 * dg[di, 0].mean() > 2 * gain[inertia, 1].mean()


def _rungs(world, pilot: bool) -> pd.Series:
    h = world.history
    rows = h[h["assignment_randomised"].astype(bool) == pilot]
    return rows["cross_mode"].map(CROSS_MODE_TO_RUNG).value_counts(normalize=True)


def test_few_higher_sends_a_quarter_of_the_usual_share_to_the_higher_court(worlds):
    usual, few = _rungs(worlds["default"], False), _rungs(worlds["few_higher"], False)
    assert 0.15 < few["higher_court"] / usual["higher_court"] < 0.4
    # The pilot still draws every rung alike.
    assert abs(_rungs(worlds["few_higher"], True)["higher_court"] - 0.25) < 0.05


def test_confounding_strength_changes_who_is_reassigned_not_how_many(worlds):
    from sklearn.metrics import roc_auc_score

    def assignment_auc(world):
        h = world.history[~world.history["assignment_randomised"].astype(bool)]
        treated = (h["cross_mode"] != "none").to_numpy()
        # The bureau's own score of a case: hard bones and property clues.
        score = (
            h["superior_supervised"].astype(float)
            + h["interference_risk"].astype(float)
            + h["has_real_estate"].astype(float)
            + (h["deposit_balance"] > 0)
        ).to_numpy()
        return treated.mean(), roc_auc_score(treated, score)

    share, auc = assignment_auc(worlds["default"])
    strong_share, strong_auc = assignment_auc(worlds["strong_confounding"])
    weak_share, weak_auc = assignment_auc(worlds["weak_confounding"])
    assert abs(strong_share - share) < 0.03 and abs(weak_share - share) < 0.03
    assert strong_auc > auc + 0.03 and weak_auc < auc - 0.03


def test_other_signals_moves_the_signature_not_the_cause(worlds):
    # Interference risk marks local-interference cases by default; with the signatures moved
    # one place along it marks multi-party cases (shown as local interference) instead, and
    # local-interference cases show the special-entity signature.
    def risk_by_cause(world):
        h, t = world.history, world.truth.iloc[: len(world.history)]
        return h["interference_risk"].astype(float).groupby(t["stall_cause"].to_numpy()).mean()

    d, o = risk_by_cause(worlds["default"]), risk_by_cause(worlds["other_signals"])
    assert d["local_interference"] > 0.5 and o["local_interference"] < 0.45
    assert o["multi_party"] > 0.5
    shares = worlds["other_signals"].truth["stall_cause"].value_counts(normalize=True)
    assert abs(shares["no_assets"] - 0.48) < 0.03  # the causes themselves are drawn as before


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown synthetic variant"):
        make_cases(n_history=10, n_current=0, variant="utopia")
