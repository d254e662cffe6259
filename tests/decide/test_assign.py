"""The assignment plan: who takes each case, under every rule, at the best total gain."""

from __future__ import annotations

import importlib
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import LinearConstraint, milp

from crossexec_ml.data import read_handlers
from crossexec_ml.decide import (
    DEFAULT_LEADER_BONUS,
    ESCALATION_TARGET,
    PLAN_COLUMNS,
    assign,
    plan_sheet,
)
from crossexec_ml.errors import PlanError

# The module, not the function of the same name the package may re-export.
assign_mod = importlib.import_module("crossexec_ml.decide._assign")

# --------------------------------------------------------------------------------------------
# Helpers: hand-made tables, the rules checked from the output alone, two independent oracles
# --------------------------------------------------------------------------------------------


def handlers_table(*rows) -> pd.DataFrame:
    """Rows of (handler_id, court_id, team_id, open_slots[, is_leader])."""
    rows = [r if len(r) == 5 else (*r, False) for r in rows]
    df = pd.DataFrame(
        rows, columns=["handler_id", "court_id", "team_id", "open_slots", "is_leader"]
    )
    return df[["handler_id", "team_id", "court_id", "open_slots", "is_leader"]]


def ranked_table(*rows) -> pd.DataFrame:
    """Rows of (case_id, court, team, handler, previous, rung, gain, rank[, flags])."""
    rows = [r if len(r) == 9 else (*r, 0) for r in rows]
    return pd.DataFrame(
        rows,
        columns=[
            "case_id",
            "court_id",
            "team_id",
            "handler_id",
            "previous_handler_ids",
            "suggested_rung",
            "expected_gain",
            "priority_rank",
            "n_hard_bone_flags",
        ],
    )


def target_of(plan: pd.DataFrame) -> dict[str, str | None]:
    return {
        c: (None if pd.isna(t) else t)
        for c, t in zip(plan["case_id"], plan["target_handler_id"], strict=True)
    }


def eligible(case: pd.Series, handlers: pd.DataFrame) -> list[str]:
    """The rules, written out plainly (independently of the module) for one case."""
    if case["suggested_rung"] not in ("intra_team", "inter_team"):
        return []
    prev = case["previous_handler_ids"]
    excluded = {case["handler_id"]}
    if isinstance(prev, str):
        excluded |= {x.strip() for x in prev.replace("；", ";").split(";")}
    out = []
    for h in handlers.itertuples():
        same_team = h.team_id == case["team_id"]
        if h.court_id != case["court_id"] or h.handler_id in excluded or h.open_slots <= 0:
            continue
        if same_team == (case["suggested_rung"] == "intra_team"):
            out.append(h.handler_id)
    return out


def value(case: pd.Series, handler: pd.Series, bonus: float) -> float:
    lead = bool(handler["is_leader"]) if "is_leader" in handler else False
    return case["expected_gain"] + bonus * case["n_hard_bone_flags"] * lead


def assert_rules(plan: pd.DataFrame, ranked: pd.DataFrame, handlers: pd.DataFrame) -> None:
    """Every rule, checked from the plan and the inputs alone."""
    hand = handlers.set_index("handler_id")
    cases = ranked.set_index("case_id")
    placed = plan[plan["target_handler_id"].notna()]
    counts = placed["target_handler_id"].value_counts()
    for h, n in counts.items():
        assert n <= hand.at[h, "open_slots"], f"{h} got {n} cases for {hand.at[h, 'open_slots']}"
    for row in placed.itertuples():
        case = cases.loc[row.case_id]
        assert row.target_handler_id in eligible(case, handlers), row
        assert row.target_team_id == hand.at[row.target_handler_id, "team_id"]
        assert row.target_handler_id != case["handler_id"]
    esc = plan[plan["escalation"]]
    assert (esc["suggested_rung"] == "higher_court").all()
    assert esc["target_handler_id"].isna().all() and (esc["unplaced_reason"] == "").all()
    assert (esc["target"] == ESCALATION_TARGET).all()
    unplaced = plan[plan["target_handler_id"].isna() & ~plan["escalation"]]
    assert (unplaced["unplaced_reason"].str.len() > 0).all()
    assert (placed["unplaced_reason"] == "").all()


def plan_value(plan: pd.DataFrame, ranked: pd.DataFrame, handlers, bonus: float) -> float:
    hand = handlers.set_index("handler_id")
    cases = ranked.set_index("case_id")
    placed = plan[plan["target_handler_id"].notna()]
    return sum(
        value(cases.loc[c], hand.loc[h], bonus)
        for c, h in zip(placed["case_id"], placed["target_handler_id"], strict=True)
    )


def brute_force(ranked: pd.DataFrame, handlers: pd.DataFrame, bonus: float) -> float:
    """Best total value over every feasible assignment (tiny instances only)."""
    hand = handlers.set_index("handler_id")
    slots = hand["open_slots"].to_dict()
    cases = [r for _, r in ranked.iterrows() if r["expected_gain"] > 0]
    options = [[None, *eligible(c, handlers)] for c in cases]
    best = 0.0
    for choice in itertools.product(*options):
        used: dict[str, int] = {}
        for h in choice:
            if h is not None:
                used[h] = used.get(h, 0) + 1
        if any(n > slots[h] for h, n in used.items()):
            continue
        total = sum(value(c, hand.loc[h], bonus) for c, h in zip(cases, choice, strict=True) if h)
        best = max(best, total)
    return best


def lp_optimum(ranked: pd.DataFrame, handlers: pd.DataFrame, bonus: float) -> float:
    """The b-matching as an integer programme (HiGHS), every eligible pair, no pruning."""
    hand = handlers.set_index("handler_id")
    h_index = {h: i for i, h in enumerate(hand.index)}
    cols, case_rows, hand_rows, values = 0, [], [], []
    for ci, (_, case) in enumerate(ranked.iterrows()):
        if case["expected_gain"] <= 0:
            continue
        for h in eligible(case, handlers):
            case_rows.append(ci)
            hand_rows.append(len(ranked) + h_index[h])
            values.append(value(case, hand.loc[h], bonus))
            cols += 1
    if cols == 0:
        return 0.0
    a = sparse.csr_array(
        (np.ones(2 * cols), (case_rows + hand_rows, list(range(cols)) * 2)),
        shape=(len(ranked) + len(hand), cols),
    )
    upper = np.concatenate([np.ones(len(ranked)), hand["open_slots"].to_numpy(dtype=float)])
    res = milp(
        -np.array(values),
        constraints=LinearConstraint(a, -np.inf, upper),
        integrality=np.ones(cols),
        bounds=(0, 1),
    )
    assert res.status == 0, res.message
    return -res.fun


def random_instance(
    rng: np.random.Generator,
    n_cases: int,
    n_courts: int,
    n_teams: int,
    per_team: int,
    max_slots: int,
    ties: bool | str = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random handlers and cases; ``ties``: gains from three values ("near": within 3e-7)."""
    hrows = []
    for c in range(n_courts):
        for t in range(n_teams):
            for k in range(per_team):
                hid = f"H{c}{t}{k}"
                slots = int(rng.integers(0, max_slots + 1))
                hrows.append((hid, f"C{c}", f"C{c}-T{t}", slots, bool(rng.random() < 0.3)))
    handlers = handlers_table(*hrows)
    ids = handlers["handler_id"].tolist()
    rows = []
    for i in range(n_cases):
        cur = handlers.iloc[int(rng.integers(len(handlers)))]
        same_court = [h for h in ids if h.startswith(f"H{cur['court_id'][1:]}")]
        prev = rng.choice(same_court, size=int(rng.integers(0, 3)), replace=False)
        gain = float(rng.choice([0.1, 0.2, 0.3])) if ties else float(rng.uniform(0.01, 0.5))
        if ties == "near":
            gain += float(rng.uniform(0, 3e-7))
        rows.append(
            (
                f"K{i:03d}",
                cur["court_id"],
                cur["team_id"],
                cur["handler_id"],
                ";".join(prev) if len(prev) else None,
                str(rng.choice(["keep", "intra_team", "inter_team", "higher_court"])),
                gain,
                i + 1,
                int(rng.integers(0, 4)),
            )
        )
    return ranked_table(*rows), handlers


# --------------------------------------------------------------------------------------------
# Hand-made cases whose answer is known
# --------------------------------------------------------------------------------------------

TEAM = handlers_table(
    ("H1", "C01", "C01-T1", 1),
    ("H2", "C01", "C01-T1", 1),
    ("H3", "C01", "C01-T2", 2),
    ("H4", "C01", "C01-T2", 0),
)


def test_two_cases_compete_for_one_slot_and_the_larger_gain_wins():
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", None, "intra_team", 0.20, 1),
        ("B", "C01", "C01-T1", "H1", None, "intra_team", 0.35, 2),
    )
    plan = assign(ranked, TEAM, lang="en")
    assert target_of(plan) == {"A": None, "B": "H2"}
    # Sorted by priority_rank, whoever won.
    assert plan["case_id"].tolist() == ["A", "B"]
    assert plan.loc[0, "unplaced_reason"] == (
        "the 1 slot(s) of the 1 eligible handler(s) in team C01-T1 went to cases that add at "
        "least as much gain"
    )
    assert_rules(plan, ranked, TEAM)


def test_equal_gains_go_by_priority_rank_and_then_handler_id():
    ranked = ranked_table(
        ("B", "C01", "C01-T1", "H1", None, "intra_team", 0.2, 2),
        ("A", "C01", "C01-T1", "H1", None, "intra_team", 0.2, 1),
    )
    assert target_of(assign(ranked, TEAM)) == {"A": "H2", "B": None}
    # One case, two equally good handlers: the smaller handler_id.
    two = handlers_table(("H9", "C01", "C01-T2", 1), ("H5", "C01", "C01-T2", 1))
    one = ranked_table(("A", "C01", "C01-T1", "H1", None, "inter_team", 0.2, 1))
    assert target_of(assign(one, two)) == {"A": "H5"}
    # Two cases swapping two handlers: the better-ranked case gets the smaller handler_id.
    both = ranked_table(
        ("B", "C01", "C01-T1", "H1", None, "inter_team", 0.2, 2),
        ("A", "C01", "C01-T1", "H1", None, "inter_team", 0.2, 1),
    )
    assert target_of(assign(both, two)) == {"A": "H5", "B": "H9"}


def test_only_colleague_is_an_earlier_handler_so_the_case_stays_unplaced():
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", "H2", "intra_team", 0.4, 1),
        ("B", "C01", "C01-T1", "H2", " H0 ；H1 ", "intra_team", 0.3, 2),  # IME '；', spaces
    )
    plan = assign(ranked, TEAM, lang="en")
    assert target_of(plan) == {"A": None, "B": None}
    assert (
        plan["unplaced_reason"].tolist()
        == [
            "no eligible handler in team C01-T1: every other member is the current or an earlier "
            "handler of the case"
        ]
        * 2
    )
    assert_rules(plan, ranked, TEAM)


def test_reasons_say_why_no_free_slot_no_team_no_other_team():
    handlers = handlers_table(
        ("H1", "C01", "C01-T1", 1),
        ("H2", "C01", "C01-T1", 0),
        ("H7", "C02", "C02-T1", 3),
    )
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", None, "intra_team", 0.4, 1),  # only H2: full
        ("B", "C01", "C01-T9", "H8", None, "intra_team", 0.4, 2),  # team unknown
        ("C", "C02", "C02-T1", "H7", None, "inter_team", 0.4, 3),  # court has one team
        ("D", "C01", "C01-T1", "H1", None, "intra_team", -0.1, 4),  # nothing to gain
        ("E", "C01", "C01-T9", "H8", None, "inter_team", 0.4, 5),  # H1 has the slot
        ("F", "C01", "C01-T1", "H2", "H1", "inter_team", 0.4, 6),  # no other team in C01
    )
    plan = assign(ranked, handlers, lang="en").set_index("case_id")
    assert plan.loc["A", "unplaced_reason"] == (
        "no eligible handler with a free slot in team C01-T1"
    )
    assert plan.loc["B", "unplaced_reason"] == (
        "team C01-T9 of court C01 is not in the handlers table"
    )
    assert plan.loc["C", "unplaced_reason"] == ("court C02 has no other team in the handlers table")
    assert plan.loc["D", "unplaced_reason"].startswith("expected gain is not positive")
    assert plan.loc["E", "target_handler_id"] == "H1"
    assert plan.loc["F", "unplaced_reason"].startswith("court C01 has no other team")


def test_inter_team_reasons_when_every_other_team_is_excluded_or_full():
    handlers = handlers_table(
        ("H1", "C01", "C01-T1", 1),
        ("H2", "C01", "C01-T2", 1),
        ("H3", "C01", "C01-T3", 0),
    )
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", "H2;H3", "inter_team", 0.3, 1),
        ("B", "C01", "C01-T1", "H1", "H2", "inter_team", 0.3, 2),
    )
    plan = assign(ranked, handlers, lang="en").set_index("case_id")
    assert plan.loc["A", "unplaced_reason"] == (
        "no handler of another team of court C01 is eligible: each is the current or an earlier "
        "handler of the case"
    )
    assert plan.loc["B", "unplaced_reason"] == (
        "no other team of court C01 has an eligible handler with a free slot"
    )


def test_inter_team_never_lands_in_its_own_team_or_another_court():
    handlers = handlers_table(
        ("H1", "C01", "C01-T1", 5),  # own team, many free slots
        ("H2", "C01", "C01-T1", 5),
        ("H3", "C01", "C01-T2", 1),
        ("H4", "C02", "C02-T1", 5),  # another court
    )
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", None, "inter_team", 0.5, 1),
        ("B", "C01", "C01-T1", "H2", None, "inter_team", 0.4, 2),
    )
    plan = assign(ranked, handlers, lang="en")
    assert target_of(plan) == {"A": "H3", "B": None}
    assert plan.loc[0, "target_team_id"] == "C01-T2"
    assert plan.loc[1, "unplaced_reason"].startswith("the 1 slot(s) of the 1 eligible handler(s)")
    assert_rules(plan, ranked, handlers)


def test_higher_court_goes_to_the_escalation_list_and_takes_no_slot():
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", None, "higher_court", 0.9, 1),
        ("B", "C01", "C01-T1", "H1", None, "intra_team", 0.1, 2),
    )
    plan = assign(ranked, TEAM)
    a = plan.iloc[0]
    assert a["escalation"] and a["target"] == ESCALATION_TARGET
    assert pd.isna(a["target_handler_id"]) and pd.isna(a["target_team_id"])
    assert a["unplaced_reason"] == "" and pd.isna(a["is_leader_target"])
    assert target_of(plan)["B"] == "H2"
    assert plan.attrs["plan_summary"]["n_escalated"] == 1


def test_a_leader_takes_the_hard_bone_case_when_gains_tie():
    handlers = handlers_table(
        ("H1", "C01", "C01-T2", 1, False),
        ("H2", "C01", "C01-T2", 1, True),
    )
    ranked = ranked_table(
        ("HARD", "C01", "C01-T1", "H0", None, "inter_team", 0.2, 1, 3),
        ("PLAIN", "C01", "C01-T1", "H0", None, "inter_team", 0.2, 2, 0),
    )
    plan = assign(ranked, handlers)
    assert target_of(plan) == {"HARD": "H2", "PLAIN": "H1"}
    assert plan["is_leader_target"].tolist() == [True, False]
    assert plan.attrs["plan_summary"]["n_hard_bone_to_leaders"] == 1
    # Without the bonus the tie rule alone decides: best rank to the smaller handler_id.
    assert target_of(assign(ranked, handlers, leader_bonus=0)) == {"HARD": "H1", "PLAIN": "H2"}


def test_the_leader_bonus_never_beats_a_real_gain_difference():
    leader = handlers_table(("L1", "C01", "C01-T2", 1, True))
    five_flags = DEFAULT_LEADER_BONUS * 5
    ranked = ranked_table(
        ("HARD", "C01", "C01-T1", "H0", None, "inter_team", 0.30, 1, 5),
        ("PLAIN", "C01", "C01-T1", "H0", None, "inter_team", 0.30 + 2 * five_flags, 2, 0),
    )
    assert target_of(assign(ranked, leader)) == {"HARD": None, "PLAIN": "L1"}
    # A difference smaller than the bonus is where leadership decides (documented).
    ranked.loc[1, "expected_gain"] = 0.30 + five_flags / 2
    assert target_of(assign(ranked, leader)) == {"HARD": "L1", "PLAIN": None}


def test_the_current_handler_is_never_chosen_even_with_the_only_free_slots():
    handlers = handlers_table(("H1", "C01", "C01-T1", 9), ("H2", "C01", "C01-T1", 0))
    ranked = ranked_table(("A", "C01", "C01-T1", "H1", None, "intra_team", 0.9, 1))
    plan = assign(ranked, handlers, lang="en")
    assert target_of(plan) == {"A": None}
    assert plan.loc[0, "unplaced_reason"].startswith("no eligible handler with a free slot")


def test_capacity_takes_the_top_non_keep_cases_by_priority_rank():
    ranked = ranked_table(
        ("K", "C01", "C01-T1", "H1", None, "keep", 0.0, 1),
        ("A", "C01", "C01-T1", "H1", None, "intra_team", 0.1, 2),
        ("B", "C01", "C01-T2", "H3", None, "higher_court", 0.5, 3),
        ("C", "C01", "C01-T1", "H2", None, "intra_team", 0.6, 4),
        ("D", "C01", "C01-T1", "H2", None, "inter_team", 0.6, pd.NA),  # outside the cohort
    )
    plan = assign(ranked, TEAM, capacity=2, lang="en")
    assert plan["case_id"].tolist() == ["A", "B"]
    # C has the larger gain but is outside this cycle's capacity, so A gets the slot.
    assert target_of(plan) == {"A": "H2", "B": None}
    listed = assign(ranked, TEAM, capacity=2, list_outside_capacity=True, lang="en")
    assert listed["case_id"].tolist() == ["A", "B", "C"]
    assert listed.loc[2, "unplaced_reason"] == ("outside this cycle's capacity of 2 case(s)")
    assert listed.attrs["plan_summary"]["n_outside_capacity"] == 1
    assert assign(ranked, TEAM, lang="en")["case_id"].tolist() == ["A", "B", "C"]
    assert assign(ranked, TEAM, capacity=0, lang="en").empty


def test_plan_columns_dtypes_guidance_and_flag_columns():
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", None, "intra_team", 0.2, 1),
        ("B", "C01", "C01-T1", "H1", None, "higher_court", 0.1, 2),
    ).drop(columns="n_hard_bone_flags")
    ranked["guidance"] = ["查控不动产 check real estate first", None]
    ranked["flag_sensitive"] = [True, False]
    ranked["flag_repeat_petition"] = pd.array([True, pd.NA], dtype="boolean")
    plan = assign(ranked, TEAM)
    assert list(plan.columns[: len(PLAN_COLUMNS)]) == list(PLAN_COLUMNS)
    assert plan["guidance"].tolist() == ["查控不动产 check real estate first", ""]
    assert plan["n_hard_bone_flags"].tolist() == [2, 0]
    assert plan["handler_id"].tolist() == ["H1", "H1"]
    assert str(plan["priority_rank"].dtype) == "Int64"
    assert list(plan["suggested_rung"].cat.categories) == [
        "keep",
        "intra_team",
        "inter_team",
        "higher_court",
    ]
    assert plan["target_handler_id"].dtype == "string"
    assert plan["target"].tolist() == ["H2 (C01-T1)", ESCALATION_TARGET]
    no_guidance = assign(ranked.drop(columns="guidance"), TEAM)
    assert no_guidance["guidance"].tolist() == ["", ""]


def test_nothing_to_move_gives_an_empty_plan_with_the_columns():
    ranked = ranked_table(("A", "C01", "C01-T1", "H1", None, "keep", 0.2, 1))
    plan = assign(ranked, TEAM, lang="en")
    assert plan.empty and list(plan.columns[: len(PLAN_COLUMNS)]) == list(PLAN_COLUMNS)
    empty_handlers = TEAM.iloc[:0]
    moving = ranked_table(("A", "C01", "C01-T1", "H1", None, "intra_team", 0.2, 1))
    reason = assign(moving, empty_handlers, lang="en").loc[0, "unplaced_reason"]
    assert reason.startswith("team C01-T1")


def test_handlers_read_from_an_export_work_as_is(tmp_path):
    path = tmp_path / "handlers.csv"
    path.write_text(
        "承办人,执行团队,执行法院,可接收交叉案件数,院局庭领导\n"
        "H1,C01-T1,C01,1,否\nH2,C01-T1,C01,2,是\nH3,C01-T2,C01,1,\n",
        encoding="utf-8-sig",
    )
    handlers = read_handlers(path)
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", None, "intra_team", 0.2, 1, 4),
        ("B", "C01", "C01-T2", "H3", None, "inter_team", 0.3, 2),
    )
    plan = assign(ranked, handlers)
    assert target_of(plan) == {"A": "H2", "B": "H1"}
    assert plan["is_leader_target"].tolist() == [True, False]


# --------------------------------------------------------------------------------------------
# Optimality and determinism on random instances
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_matches_brute_force_on_tiny_random_instances(seed):
    rng = np.random.default_rng(seed)
    ranked, handlers = random_instance(
        rng, n_cases=6, n_courts=1, n_teams=2, per_team=2, max_slots=2, ties=seed % 2 == 0
    )
    bonus = 0.05  # large, so that the leader bonus really changes some optima
    plan = assign(ranked, handlers, leader_bonus=bonus)
    assert_rules(plan, ranked, handlers)
    assert plan_value(plan, ranked, handlers, bonus) == pytest.approx(
        brute_force(ranked, handlers, bonus), abs=1e-5
    )


@pytest.mark.parametrize("seed", range(3))
def test_matches_an_integer_programme_on_random_instances(seed):
    rng = np.random.default_rng(100 + seed)
    ranked, handlers = random_instance(
        rng, n_cases=150, n_courts=2, n_teams=3, per_team=3, max_slots=3
    )
    plan = assign(ranked, handlers)
    assert_rules(plan, ranked, handlers)
    assert plan_value(plan, ranked, handlers, DEFAULT_LEADER_BONUS) == pytest.approx(
        lp_optimum(ranked, handlers, DEFAULT_LEADER_BONUS), abs=1e-5
    )
    # An unplaced case worth a slot always had every eligible handler full.
    used = plan["target_handler_id"].value_counts()
    slots = handlers.set_index("handler_id")["open_slots"]
    free = {h: s - used.get(h, 0) for h, s in slots.items()}
    cases = ranked.set_index("case_id")
    for c in plan.loc[plan["target_handler_id"].isna(), "case_id"]:
        if cases.at[c, "expected_gain"] > 0:
            assert all(free[h] == 0 for h in eligible(cases.loc[c], handlers)), c


def test_pruning_is_exact_where_the_tie_break_decides(monkeypatch):
    # Gains 1.75e-7 apart: B's larger gain is within the tie-break's reach, so the
    # better-ranked A wins; a pruning that kept only the best key for H1 would lose A.
    handlers = handlers_table(("H1", "C01", "C01-T1", 1), ("H2", "C01", "C01-T1", 0))
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H0", None, "intra_team", 0.2, 1),
        ("B", "C01", "C01-T1", "H0", None, "intra_team", 0.2 + 1.75e-7, 2),
    )
    pruned = target_of(assign(ranked, handlers))
    monkeypatch.setattr(assign_mod, "_pairs", assign_mod._all_pairs)
    assert pruned == target_of(assign(ranked, handlers)) == {"A": "H1", "B": None}


@pytest.mark.parametrize("ties", [False, True, "near"])
def test_pruning_changes_nothing(monkeypatch, ties):
    rng = np.random.default_rng(7)
    ranked, handlers = random_instance(
        rng, n_cases=400, n_courts=2, n_teams=3, per_team=4, max_slots=4, ties=ties
    )
    pruned = assign(ranked, handlers)
    monkeypatch.setattr(assign_mod, "_pairs", assign_mod._all_pairs)
    every_pair = assign(ranked, handlers)
    pd.testing.assert_frame_equal(pruned, every_pair)


def test_no_neutral_swap_would_give_the_better_ranked_case_the_smaller_handler_id():
    # Equal gains everywhere: which case goes to which handler is decided by the tie rule only.
    rng = np.random.default_rng(0)
    ranked, handlers = random_instance(
        rng, n_cases=200, n_courts=1, n_teams=3, per_team=4, max_slots=3, ties=True
    )
    plan = assign(ranked, handlers)
    cases = ranked.set_index("case_id")
    leader = handlers.set_index("handler_id")["is_leader"]
    placed = plan[plan["target_handler_id"].notna()]
    ok = {c: set(eligible(cases.loc[c], handlers)) for c in placed["case_id"]}
    rows = list(placed[["case_id", "priority_rank", "target_handler_id"]].itertuples(index=False))
    assert len(rows) > 20
    for (c1, r1, h1), (c2, r2, h2) in itertools.permutations(rows, 2):
        if r1 < r2 and h2 < h1 and h2 in ok[c1] and h1 in ok[c2]:
            neutral = leader[h1] == leader[h2] or (
                cases.at[c1, "n_hard_bone_flags"] == cases.at[c2, "n_hard_bone_flags"]
            )
            assert not neutral, f"{c1} (rank {r1}) at {h1} but {c2} (rank {r2}) at {h2}"


def test_the_plan_does_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    ranked, handlers = random_instance(
        rng, n_cases=200, n_courts=2, n_teams=3, per_team=3, max_slots=3, ties=True
    )
    plan = assign(ranked, handlers, capacity=120)
    shuffled = assign(
        ranked.sample(frac=1, random_state=1), handlers.sample(frac=1, random_state=2), 120
    )
    pd.testing.assert_frame_equal(plan, shuffled)


# --------------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------------

GOOD = ranked_table(("A", "C01", "C01-T1", "H1", None, "intra_team", 0.2, 1))


@pytest.mark.parametrize(
    ("ranked", "handlers", "message"),
    [
        (GOOD.drop(columns="expected_gain"), TEAM, "missing required column(s): expected_gain"),
        (
            GOOD.drop(columns=["priority_rank", "handler_id"]),
            TEAM,
            "handler_id (承办人), priority_rank (优先顺序)",
        ),
        (GOOD, TEAM.drop(columns="open_slots"), "open_slots (可接收交叉案件数)"),
        (GOOD, TEAM.assign(open_slots=[1, -1, 0, 0]), "whole number >= 0; handler(s) H2=-1.0"),
        (GOOD, TEAM.assign(open_slots=[1, 1.5, 0, 0]), "H2=1.5"),
        (GOOD, TEAM.assign(open_slots=[1, None, 0, 0]), "open_slots (可接收交叉案件数) is empty"),
        (GOOD, TEAM.assign(handler_id=["H1", "H2", "H2", "H4"]), "duplicate handler_id"),
        (GOOD, TEAM.assign(team_id=["T", None, "T", "T"]), "team_id (执行团队) is empty"),
        (GOOD, TEAM.assign(is_leader=["maybe"] * 4), "is_leader (院局庭领导) must be true/false"),
        (GOOD.assign(suggested_rung="sideways"), TEAM, "unknown suggested_rung"),
        (GOOD.assign(suggested_rung=None), TEAM, "suggested_rung (建议交叉层级) is empty"),
        (
            GOOD.assign(expected_gain=np.nan),
            TEAM,
            "expected_gain (预期交叉增益) is empty or not finite",
        ),
        (GOOD.assign(expected_gain="high"), TEAM, "expected_gain (预期交叉增益) must hold numbers"),
        (GOOD.assign(priority_rank=1.5), TEAM, "priority_rank (优先顺序) must hold whole"),
        (GOOD.assign(n_hard_bone_flags=-1), TEAM, "n_hard_bone_flags (骨头案类别数) must be >= 0"),
        (pd.concat([GOOD, GOOD]), TEAM, "case_id (案号) A appear(s) more than once"),
        (GOOD.assign(team_id=None), TEAM, "team_id (执行团队) is empty in 1 row(s) (A)"),
        ("not a frame", TEAM, "ranked list must be a pandas DataFrame"),
    ],
)
def test_bad_inputs_raise_plan_errors_that_name_the_problem(ranked, handlers, message):
    with pytest.raises(PlanError) as err:
        assign(ranked, handlers)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"capacity": -1}, "capacity must be a whole number >= 0"),
        ({"capacity": 2.5}, "capacity must be a whole number >= 0"),
        ({"capacity": True}, "capacity must be a whole number >= 0"),
        ({"leader_bonus": -0.1}, "leader_bonus must be a finite number >= 0"),
        ({"leader_bonus": float("nan")}, "leader_bonus must be a finite number >= 0"),
    ],
)
def test_bad_settings_raise_plan_errors(kwargs, message):
    with pytest.raises(PlanError, match=message):
        assign(GOOD, TEAM, **kwargs)


def test_plan_error_is_a_value_error():
    assert issubclass(PlanError, ValueError)


def test_eligible_handlers_follow_the_plan_rules():
    from crossexec_ml.decide import eligible_handlers

    handlers = pd.DataFrame(
        {
            "handler_id": ["H1", "H2", "H3", "H4", "H5", "H6"],
            "team_id": ["T1", "T1", "T1", "T2", "T2", "X1"],
            "court_id": ["C1", "C1", "C1", "C1", "C1", "C2"],
            "open_slots": pd.array([3, 2, 0, 1, 4, 9], dtype="Int64"),
            "is_leader": pd.array([False, True, False, False, False, True], dtype="boolean"),
        }
    )
    case = {"court_id": "C1", "team_id": "T1", "handler_id": "H1", "previous_handler_ids": "H9；H4"}
    assert eligible_handlers(case, handlers, "intra_team")["handler_id"].tolist() == ["H2"]
    # H4 handled the case before; H3 has no slot; H6 is another court
    assert eligible_handlers(case, handlers, "inter_team")["handler_id"].tolist() == ["H5"]
    assert eligible_handlers(case, handlers, "higher_court").empty


def test_plan_texts_are_chinese_by_default_and_name_the_team():
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", None, "intra_team", 0.20, 1),
        ("B", "C01", "C01-T1", "H1", None, "intra_team", 0.35, 2),
        ("E", "C01", "C01-T2", "H3", None, "higher_court", 0.5, 3),
    )
    plan = assign(ranked, TEAM, capacity=1, list_outside_capacity=True).set_index("case_id")
    assert plan.loc["E", "unplaced_reason"] == "超出本轮交叉执行名额（1件）"
    plan = assign(ranked, TEAM).set_index("case_id")
    # The zh reason carries the same facts as the en one (decision 11 of vocabulary.md).
    assert plan.loc["A", "unplaced_reason"] == (
        "本团队（C01-T1）1名可接收本案的承办人的1个名额已安排给增益不低于本案的案件"
    )
    assert plan.loc["E", "target"] == ESCALATION_TARGET == "提级/指令执行"
    en = assign(ranked, TEAM, lang="en").set_index("case_id")
    assert en.loc["E", "target"] == "higher court"
    with pytest.raises(ValueError, match="lang"):
        assign(ranked, TEAM, lang="fr")


def test_plan_sheet_shows_words_not_codes():
    ranked = ranked_table(
        ("A", "C01", "C01-T1", "H1", None, "intra_team", 0.2, 1),
        ("B", "C01", "C01-T1", "H1", None, "higher_court", 0.1, 2),
    )
    sheet = plan_sheet(assign(ranked, TEAM), "zh")
    assert sheet["建议交叉层级"].tolist() == ["团队内", "提级/指令执行"]
    assert sheet["报请提级/指令执行"].tolist() == ["否", "是"]
    # An escalation has no proposed handler: the question does not apply, nothing is missing.
    assert sheet["建议承办人为领导"].tolist() == ["否", "不适用"]
    en = plan_sheet(assign(ranked, TEAM, lang="en"), "en")
    assert en["suggested rung"].tolist() == ["intra-team", "higher court"]


# --------------------------------------------------------------------------------------------
# Step 2 item 5: open_slots typed as "unlimited" (10^8, 10^9) must not blow up the plan
# --------------------------------------------------------------------------------------------


def sample_ranked() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shipped sample's current cases ranked by their true gain, and its handlers."""
    from crossexec_ml.data import SAMPLE_DIR, read_cases

    cases = read_cases(SAMPLE_DIR / "current.csv")
    truth = pd.read_csv(SAMPLE_DIR / "truth.csv", encoding="utf-8-sig")
    truth["as_of_date"] = pd.to_datetime(truth["as_of_date"])
    df = cases.merge(truth, on=["case_id", "as_of_date"], validate="one_to_one")
    intra, inter = df["p_intra_team"] - df["p_keep"], df["p_inter_team"] - df["p_keep"]
    df["suggested_rung"] = np.where(inter > intra, "inter_team", "intra_team")
    df["expected_gain"] = np.maximum(intra, inter)
    df["priority_rank"] = df["expected_gain"].rank(ascending=False, method="first").astype(int)
    return df, read_handlers(SAMPLE_DIR / "handlers.csv")


def cases_on_rung(ranked: pd.DataFrame, handlers: pd.DataFrame) -> list[int]:
    """For each handler, the cases worth a slot on its rung, counted plainly."""
    usable = ranked[ranked["expected_gain"] > 0]
    out = []
    for h in handlers.itertuples():
        court = usable["court_id"] == h.court_id
        team = usable["team_id"] == h.team_id
        intra = usable["suggested_rung"] == "intra_team"
        out.append(int((court & ((intra & team) | (~intra & ~team))).sum()))
    return out


def test_a_billion_slots_on_every_handler_plans_as_the_cases_allow(monkeypatch):
    import tracemalloc

    ranked, handlers = sample_ranked()
    sizes: list[tuple[int, int]] = []
    solve = assign_mod._solve

    def spy(p, pc, ph):
        sizes.append((int(p.h_slots.sum()), len(pc)))
        return solve(p, pc, ph)

    monkeypatch.setattr(assign_mod, "_solve", spy)
    exact = handlers.assign(open_slots=cases_on_rung(ranked, handlers))
    expected = assign(ranked, exact)

    huge = handlers.assign(open_slots=10**9)
    tracemalloc.start()
    plan = assign(ranked, huge)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert sizes[0] == sizes[1]  # the same problem: slots capped at the cases of each rung
    assert sizes[1][0] == sum(cases_on_rung(ranked, handlers)) < 10**6
    # No wall-clock bound (it failed under load): the capped problem size above is what keeps
    # it fast, and memory does not depend on the machine's load.
    assert peak < 100 * 2**20, peak
    pd.testing.assert_frame_equal(plan, expected)
    assert plan["target_handler_id"].notna().sum() == (ranked["expected_gain"] > 0).sum()
    assert plan.attrs["plan_summary"]["implausible_slots"] == dict.fromkeys(
        sorted(handlers["handler_id"]), 10**9
    )
    assert expected.attrs["plan_summary"]["implausible_slots"] == {}


@pytest.mark.parametrize("seed", range(4))
def test_capping_slots_at_the_cases_of_the_rung_never_changes_the_plan(monkeypatch, seed):
    # The cap is exact: with it switched off, generous (but not absurd) slots give the same plan.
    rng = np.random.default_rng(50 + seed)
    ranked, handlers = random_instance(
        rng, n_cases=120, n_courts=2, n_teams=3, per_team=3, max_slots=40, ties=seed % 2 == 0
    )
    capped = assign(ranked, handlers)
    assert_rules(capped, ranked, handlers)
    monkeypatch.setattr(
        assign_mod, "_reachable", lambda *a: np.full(len(a[3]), np.iinfo(np.int64).max)
    )
    pd.testing.assert_frame_equal(capped, assign(ranked, handlers))


def test_implausible_open_slots_are_named_in_a_validation_warning(tmp_path):
    path = tmp_path / "handlers.csv"
    pd.DataFrame(
        {
            "handler_id": ["H1", "H2", "H3"],
            "team_id": ["T1", "T1", "T2"],
            "court_id": ["C1", "C1", "C1"],
            "open_slots": ["3", "99999999", "500"],
        }
    ).to_csv(path, index=False)
    report_warnings = read_handlers(path).attrs["warnings"]
    slots = [w for w in report_warnings if "open slots" in w]
    assert len(slots) == 1
    assert "1 handler(s) have more than 500 open slots" in slots[0]
    assert "row 3 (H2: 99,999,999)" in slots[0] and "H1" not in slots[0]
