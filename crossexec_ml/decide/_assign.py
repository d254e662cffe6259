"""Propose who takes each reassigned case this cycle: a capacity-aware assignment to handlers.

The ranked list says which rung of the ladder each case should climb; this module proposes *who*
takes it. It is a proposal: a person with authority decides (DOMAIN.md section 2).

Rules (DOMAIN.md section 1, the ladder):

- ``intra_team``: another handler of the same team (and court);
- ``inter_team``: a handler of another team of the same court;
- ``higher_court``: no handler here; the case goes on the escalation list (提级/指令执行);
- never the current handler nor an earlier handler of the case (no cross-execution back to
  someone who already failed), never more cases to a handler than their ``open_slots``;
- leaders (院局庭领导) are preferred for hard-bone cases (五类骨头案) through a small bonus.

Within these rules the plan maximises the total expected gain (plus the leader bonus). This is a
bipartite b-matching (a transportation problem): each case taken at most once, each handler at
most ``open_slots`` times, only eligible (case, handler) pairs. Its linear programme has a
totally unimodular matrix, so HiGHS solves it exactly; the same optimum comes more than ten
times faster as a sparse rectangular assignment problem (one row per open slot) solved by
LAPJVsp (``scipy.sparse.csgraph.min_weight_full_bipartite_matching``), after an exact pruning
that keeps only the pairs an optimum can use. On 100,000 cases and 500 handlers with 1,564 open
slots, HiGHS took 4-8 s on the pruned pairs and the matching 0.3 s, for the same plan
(``benchmarks/plan_speed.py --check``). The result is checked against every rule before it is
returned; the tests compare it with an integer programme and with brute force.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from crossexec_ml.data import MAX_PLAUSIBLE_SLOTS
from crossexec_ml.decide._assign_checks import (
    _INTER,
    _INTRA,
    _candidates,
    _check_capacity,
    _check_handlers,
    _Handlers,
)
from crossexec_ml.settings import RUNGS
from crossexec_ml.text import t

#: The first columns of a plan, in this order; extra columns follow (see :func:`assign`).
PLAN_COLUMNS: tuple[str, ...] = (
    "case_id",
    "priority_rank",
    "suggested_rung",
    "target_handler_id",
    "target_team_id",
    "expected_gain",
    "guidance",
    "unplaced_reason",
)


_EXTRA_COLUMNS: tuple[str, ...] = (
    "court_id",
    "team_id",
    "handler_id",
    "n_hard_bone_flags",
    "is_leader_target",
    "escalation",
    "target",
)


#: What the ``target`` column of a Chinese plan says for a case on the escalation list
#: (``plan.target.higher_court``; an English plan says ``t("plan.target.higher_court", "en")``).
ESCALATION_TARGET = t("plan.target.higher_court", "zh")


#: Leader bonus per hard-bone flag, in units of expected gain (resolution probability). A
#: five-flag case gains at most 0.005 (half a percentage point) from a leader, well below the
#: model's own calibration error (target < 0.02): the bonus decides between near-equal options
#: and never hands a slot to a clearly weaker case.
DEFAULT_LEADER_BONUS = 0.001


# The objective is counted in millionths of expected gain. The deterministic tie-break terms
# below (under 0.6 unit per pair in all) then sit far above float rounding (about 1e-10 at
# this scale) yet only decide between gains equal to about six decimals, which no model tells
# apart. They also make the optimum unique, so the plan never depends on the solver's path.
_SCALE = 1e6


_CASE_TIE = 0.5  # better priority_rank first, then (see _pair_values) ...


_PAIR_TIE = 0.1  # ... the smaller handler_id, the better-ranked case choosing first


@dataclass(frozen=True)
class _Problem:
    """The cases that may move (intra/inter team) and the handlers, as integer arrays.

    Cases are in priority order (position 0 = best ``priority_rank``), handlers in
    ``handler_id`` order: these two orders make the plan independent of the input row order.
    Teams are coded as court + team, since team names may repeat across courts.
    """

    c_team: np.ndarray
    c_court: np.ndarray
    c_inter: np.ndarray  # True: inter_team, False: intra_team
    c_usable: np.ndarray  # positive gain: worth a slot (the others are never placed)
    key_plain: np.ndarray  # objective of the case with a non-leader: scaled gain + case tie
    key_leader: np.ndarray  # ... with a leader: adds the hard-bone bonus
    h_team: np.ndarray
    h_court: np.ndarray
    h_slots: np.ndarray
    h_leader: np.ndarray
    excl_c: np.ndarray  # forbidden (case, handler) pairs: the current and earlier handlers
    excl_h: np.ndarray
    n_teams: int
    n_courts: int

    @property
    def n(self) -> int:
        return len(self.c_team)

    @property
    def m(self) -> int:
        return len(self.h_team)


def _problem(sub: pd.DataFrame, hand: _Handlers, leader_bonus: float) -> _Problem:
    """Code the movable cases ``sub`` (priority order) and the handlers as a :class:`_Problem`."""
    m, n = len(hand.ids), len(sub)
    sep = "\x1f"
    team_codes, team_keys = pd.factorize(
        np.concatenate(
            [hand.court + sep + hand.team, (sub["court_id"] + sep + sub["team_id"]).to_numpy()]
        )
    )
    court_codes, court_keys = pd.factorize(
        np.concatenate([hand.court, sub["court_id"].to_numpy(dtype=object)])
    )
    gain = sub["expected_gain"].to_numpy(dtype="float64")
    bonus = leader_bonus * sub["n_hard_bone_flags"].to_numpy(dtype="float64")
    tie = _CASE_TIE * (n - np.arange(n)) / (n + 1)
    excl_c, excl_h = _exclusions(sub["handler_id"], sub["previous_handler_ids"], hand.ids)
    c_team, c_court = team_codes[m:].astype(np.int64), court_codes[m:].astype(np.int64)
    h_team, h_court = team_codes[:m].astype(np.int64), court_codes[:m].astype(np.int64)
    c_inter = (sub["suggested_rung"] == _INTER).to_numpy(dtype=bool)
    reachable = _reachable(
        c_team[gain > 0], c_court[gain > 0], c_inter[gain > 0], h_team, h_court, len(team_keys)
    )
    return _Problem(
        c_team=c_team,
        c_court=c_court,
        c_inter=c_inter,
        c_usable=gain > 0,
        key_plain=_SCALE * gain + tie,
        key_leader=_SCALE * (gain + bonus) + tie,
        h_team=h_team,
        h_court=h_court,
        h_slots=np.minimum(hand.slots, reachable),
        h_leader=hand.leader,
        excl_c=excl_c,
        excl_h=excl_h,
        n_teams=len(team_keys),
        n_courts=len(court_keys),
    )


def _reachable(
    c_team: np.ndarray,
    c_court: np.ndarray,
    c_inter: np.ndarray,
    h_team: np.ndarray,
    h_court: np.ndarray,
    n_teams: int,
) -> np.ndarray:
    """Per handler, how many of the cases worth a slot are on its rung: its team's intra_team
    cases and the inter_team cases of its court's other teams.

    No handler can take more cases than that, so ``open_slots`` is capped there before the
    problem is built: a clerk's 99999999 for "unlimited" (or 10^9 on every handler) would
    otherwise become one matching row per slot, gigabytes for nothing. The cap never binds an
    optimum (a capped handler always keeps a free slot for any case of its rung left out), so
    the plan is the one the typed slots give, and memory grows with the candidates only.
    """
    n_courts = int(max(c_court.max(initial=-1), h_court.max(initial=-1))) + 1
    intra = np.bincount(c_team[~c_inter], minlength=n_teams)
    inter_court = np.bincount(c_court[c_inter], minlength=n_courts)
    inter_team = np.bincount(c_team[c_inter], minlength=n_teams)
    return intra[h_team] + inter_court[h_court] - inter_team[h_team]


def _exclusions(
    current: pd.Series, previous: pd.Series, handler_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Forbidden (case position, handler position) pairs, unique; codes not in the table drop."""
    m = len(handler_ids)
    if m == 0 or len(current) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    # Earlier handlers are ';'-separated; a full-width '；' typed with a Chinese IME counts too.
    joined = current.fillna("") + ";" + previous.fillna("").str.replace("；", ";")
    parts = joined.reset_index(drop=True).str.split(";").explode()
    codes = parts.astype("string").str.strip().fillna("").to_numpy(dtype=object)
    h = pd.Index(handler_ids).get_indexer(codes)
    keep = h >= 0
    c = parts.index.to_numpy()[keep].astype(np.int64)
    code = np.unique(c * m + h[keep].astype(np.int64))
    return code // m, code % m


def _in_class(p: _Problem, c: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Whether handler ``h`` is on the right rung for case ``c`` (ignoring who it is)."""
    same_team = p.h_team[h] == p.c_team[c]
    same_court = p.h_court[h] == p.c_court[c]
    return np.where(p.c_inter[c], same_court & ~same_team, same_team)


def _eligible_count(p: _Problem, weight: np.ndarray, *, forbidden: bool = True) -> np.ndarray:
    """Per case, the sum of ``weight`` over the handlers on its rung (less the forbidden ones).

    Counted per team and court, then the forbidden pairs inside the domain are taken off, so
    no (case x handler) matrix is ever built.
    """
    by_team = np.bincount(p.h_team, weights=weight, minlength=p.n_teams)
    by_court = np.bincount(p.h_court, weights=weight, minlength=p.n_courts)
    total = np.where(p.c_inter, by_court[p.c_court] - by_team[p.c_team], by_team[p.c_team])
    if forbidden and len(p.excl_c):
        inside = _in_class(p, p.excl_c, p.excl_h)
        total = total - np.bincount(
            p.excl_c[inside], weights=weight[p.excl_h[inside]], minlength=p.n
        )
    return total


def _groups(codes: np.ndarray) -> dict[int, np.ndarray]:
    """Positions of each code, in increasing position order."""
    if len(codes) == 0:
        return {}
    order = np.argsort(codes, kind="stable")
    values, starts = np.unique(codes[order], return_index=True)
    return dict(zip(values.tolist(), np.split(order, starts[1:]), strict=True))


def _pairs(p: _Problem) -> tuple[np.ndarray, np.ndarray]:
    """The eligible (case, handler) pairs that can matter to the optimum.

    Exact pruning. A handler h takes cases from two classes: its team's intra_team cases, and
    the inter_team cases of its court from other teams. At most k cases of a class can be
    placed at all (k = the slots of the team, resp. of the court). If h took a case outside
    its k best eligible cases of the class, one of those k would be unplaced and could take
    its place at no loss. So h needs pairs only with its k best eligible cases of each class
    (the window is widened by h's forbidden cases in the class, and by cases within the
    pair tie-break's reach of the k-th). This keeps about handlers x slots pairs instead of
    cases x handlers.
    """
    n_slot = p.h_slots.astype("float64")
    team_slots = np.bincount(p.h_team, weights=n_slot, minlength=p.n_teams).astype(np.int64)
    court_slots = np.bincount(p.h_court, weights=n_slot, minlength=p.n_courts).astype(np.int64)
    intra_pair = ~p.c_inter[p.excl_c] & (p.h_team[p.excl_h] == p.c_team[p.excl_c])
    extra_intra = np.bincount(p.excl_h[intra_pair], minlength=p.m)
    inter_pair = p.c_inter[p.excl_c] & _in_class(p, p.excl_c, p.excl_h)
    extra_inter = np.bincount(p.excl_h[inter_pair], minlength=p.m)
    # Only cases worth a slot enter the classes, so the k best are k usable ones.
    intra_of_team = _groups(np.where(~p.c_inter & p.c_usable, p.c_team, -1))
    inter_of_court = _groups(np.where(p.c_inter & p.c_usable, p.c_court, -1))
    none = np.empty(0, dtype=np.int64)

    out_c: list[np.ndarray] = []
    out_h: list[np.ndarray] = []
    for team, members in _groups(p.h_team).items():
        members = members[p.h_slots[members] > 0]
        if len(members) == 0:
            continue
        court = p.h_court[members[0]]
        inter = inter_of_court.get(court, none)
        classes = (
            (intra_of_team.get(team, none), team_slots[team], extra_intra),
            (inter[p.c_team[inter] != team], court_slots[court], extra_inter),
        )
        for leader in (False, True):
            group = members[p.h_leader[members] == leader]
            key = p.key_leader if leader else p.key_plain
            for cls, k, extra in classes:
                if len(group) == 0 or len(cls) == 0:
                    continue
                # Best first; equal keys by priority position, so the order is total.
                best = cls[np.lexsort((cls, -key[cls]))]
                neg_key = -key[best]
                for h in group:
                    end = min(int(k) + int(extra[h]), len(best))
                    # The pair tie-break moves a pair's value by less than _PAIR_TIE: keep
                    # every case it could lift above the k-th.
                    end = int(np.searchsorted(neg_key, neg_key[end - 1] + _PAIR_TIE, "right"))
                    out_c.append(best[:end])
                    out_h.append(np.full(end, h, dtype=np.int64))
    if not out_c:
        return none, none
    pc = np.concatenate(out_c).astype(np.int64)
    ph = np.concatenate(out_h)
    allowed = ~np.isin(pc * p.m + ph, p.excl_c * p.m + p.excl_h)
    return pc[allowed], ph[allowed]


def _all_pairs(p: _Problem) -> tuple[np.ndarray, np.ndarray]:
    """Every eligible pair, without pruning (to check :func:`_pairs` against)."""
    c, h = np.meshgrid(np.arange(p.n), np.arange(p.m), indexing="ij")
    c, h = c.ravel().astype(np.int64), h.ravel().astype(np.int64)
    ok = _in_class(p, c, h) & (p.h_slots[h] > 0) & p.c_usable[c]
    ok &= ~np.isin(c * p.m + h, p.excl_c * p.m + p.excl_h)
    return c[ok], h[ok]


def _pair_values(p: _Problem, pc: np.ndarray, ph: np.ndarray) -> np.ndarray:
    """Objective value of each pair: scaled gain (+ leader bonus) and the tie-break terms."""
    cases, case_pos = np.unique(pc, return_inverse=True)
    hands, hand_pos = np.unique(ph, return_inverse=True)
    # Handler ties: a term growing with both the case's priority and the handler's place in
    # handler_id order. Every case prefers the smaller handler_id, and when two cases could
    # swap two handlers at no cost, the product (supermodular: rearrangement inequality)
    # gives the smaller handler_id to the better-ranked case. Ranked among the pairs kept,
    # its smallest step stays far above float rounding.
    u = (len(cases) - case_pos) / (len(cases) + 1)
    v = (len(hands) - hand_pos) / (len(hands) + 1)
    value = np.where(p.h_leader[ph], p.key_leader[pc], p.key_plain[pc])
    return value + _PAIR_TIE * u * v


def _solve(p: _Problem, pc: np.ndarray, ph: np.ndarray) -> np.ndarray:
    """Maximum-weight b-matching over the pairs; a boolean mask of the chosen pairs.

    Each handler becomes one row per open slot and each case a column, plus a private "leave
    this slot empty" column per slot, so a full matching of the slot rows always exists. This
    is a rectangular assignment problem on a sparse graph, which LAPJVsp (scipy's sparse
    Jonker-Volgenant) solves exactly: the matching is integral by construction.
    """
    k = len(pc)
    if k == 0:
        return np.zeros(0, dtype=bool)
    codes = pc * p.m + ph
    if len(np.unique(codes)) != k:
        raise RuntimeError("internal error: a (case, handler) pair is listed twice")
    coef = _pair_values(p, pc, ph)
    cases, case_col = np.unique(pc, return_inverse=True)
    hands, hand_row = np.unique(ph, return_inverse=True)
    # A handler never uses more slots than it has pairs.
    n_pairs = np.bincount(hand_row, minlength=len(hands))
    slots = np.minimum(p.h_slots[hands], n_pairs)
    n_slots, n_cases = int(slots.sum()), len(cases)
    first_row = np.cumsum(slots) - slots
    # Slot rows of a handler are interchangeable, so its pair number r (0-based, in any fixed
    # order) need only reach slots max(0, r - (P - s)) .. min(r, s - 1), P pairs and s slots:
    # the chosen pairs, in that order, fit those bands one slot each. That is one edge per pair
    # when s = 1 or s = P (a handler with more slots than cases), never more than s per pair,
    # instead of s edges per pair in every case.
    order = np.lexsort((pc, hand_row))
    r = np.empty(k, dtype=np.int64)
    r[order] = np.arange(k) - np.repeat(np.cumsum(n_pairs) - n_pairs, n_pairs)
    big_p, s_h = n_pairs[hand_row], slots[hand_row]
    low = np.maximum(0, r - (big_p - s_h))
    per_pair = np.minimum(r, s_h - 1) - low + 1
    edge_pair = np.repeat(np.arange(k), per_pair)
    slot_no = low[edge_pair] + (
        np.arange(len(edge_pair)) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    )
    rows = np.concatenate([first_row[hand_row][edge_pair] + slot_no, np.arange(n_slots)])
    cols = np.concatenate([case_col[edge_pair], n_cases + np.arange(n_slots)])
    # The solver needs non-zero weights and minimises: cost = shift - value, with every real
    # cost >= 1 and an empty slot costing exactly the shift (value 0).
    shift = float(coef.max()) + 1.0
    cost = np.concatenate([shift - coef[edge_pair], np.full(n_slots, shift)])
    graph = sparse.csr_array((cost, (rows, cols)), shape=(n_slots, n_cases + n_slots))
    slot_row, col = min_weight_full_bipartite_matching(graph)
    real = col < n_cases
    slot_hand = np.repeat(hands, slots)
    chosen = cases[col[real]] * p.m + slot_hand[slot_row[real]]
    return np.isin(codes, chosen)


def _verify(p: _Problem, pc: np.ndarray, ph: np.ndarray) -> None:
    """Every rule holds for the chosen pairs; a violation is a bug, never a plan."""
    too_many = (np.bincount(pc, minlength=p.n) > 1).any()
    over = (np.bincount(ph, minlength=p.m) > p.h_slots).any()
    forbidden = np.isin(pc * p.m + ph, p.excl_c * p.m + p.excl_h).any()
    if too_many or over or forbidden or not _in_class(p, pc, ph).all() or not p.c_usable[pc].all():
        raise RuntimeError("internal error: the assignment breaks a rule; please report it")


def _place(p: _Problem) -> np.ndarray:
    """Handler position proposed for each case, -1 for none."""
    target = np.full(p.n, -1, dtype=np.int64)
    if p.m == 0 or not p.c_usable.any():
        return target
    pc, ph = _pairs(p)
    chosen = _solve(p, pc, ph)
    pc, ph = pc[chosen], ph[chosen]
    _verify(p, pc, ph)
    target[pc] = ph
    return target


def _explain(p: _Problem, sub: pd.DataFrame, target: np.ndarray, lang: str) -> np.ndarray:
    """``unplaced_reason`` for each movable case ('' when placed), ``plan.reason.<reason>``."""
    ones = np.ones(p.m)
    in_domain = _eligible_count(p, ones, forbidden=False)
    eligible = _eligible_count(p, ones)
    with_slot = _eligible_count(p, (p.h_slots > 0).astype("float64"))
    slots = _eligible_count(p, p.h_slots.astype("float64"))
    left = p.h_slots - np.bincount(target[target >= 0], minlength=p.m)
    free_left = _eligible_count(p, (left > 0).astype("float64"))
    unplaced = target < 0
    # An optimum never leaves a case worth a slot next to a free eligible slot.
    if (unplaced & p.c_usable & (free_left > 0)).any():
        raise RuntimeError("internal error: a case was left out next to a free eligible slot")
    first_of_team = np.unique(p.h_team, return_index=True)[1]
    teams_in_court = np.bincount(p.h_court[first_of_team], minlength=p.n_courts)
    own_team_listed = np.bincount(p.h_team, minlength=p.n_teams)[p.c_team] > 0
    no_team = np.where(p.c_inter, teams_in_court[p.c_court] - own_team_listed == 0, in_domain == 0)
    kind = np.select(
        [~p.c_usable, no_team, eligible == 0, with_slot == 0],
        ["gain", "no_team", "no_eligible", "no_slot"],
        default="taken",
    )
    side = np.where(p.c_inter, "inter_", "intra_")
    team = sub["team_id"].to_numpy(dtype=object)
    court = sub["court_id"].to_numpy(dtype=object)
    out = np.full(p.n, "", dtype=object)
    for i in np.flatnonzero(unplaced):
        name = "gain" if kind[i] == "gain" else side[i] + kind[i]
        out[i] = t(
            f"plan.reason.{name}",
            lang,
            team=team[i],
            court=court[i],
            slots=int(slots[i]),
            eligible=int(eligible[i]),
        )
    return out


def assign(
    ranked: pd.DataFrame,
    handlers: pd.DataFrame,
    capacity: int | None = None,
    *,
    leader_bonus: float = DEFAULT_LEADER_BONUS,
    list_outside_capacity: bool = False,
    lang: str = "zh",
) -> pd.DataFrame:
    """Propose a new handler (or the escalation list) for the top cases of a ranked list.

    Parameters
    ----------
    ranked : pandas.DataFrame
        Scored, ranked cases with ``case_id``, ``court_id``, ``team_id``, ``handler_id`` (the
        current handler), ``previous_handler_ids`` (';'-separated codes or missing),
        ``suggested_rung`` (keep / intra_team / inter_team / higher_court), ``expected_gain``
        (gain of reassigning; larger is better) and ``priority_rank`` (1 = first; missing for
        cases outside the stalled cohort, which are never candidates). Optional:
        ``n_hard_bone_flags`` (else the five ``flag_*`` columns are counted, else 0) and
        ``guidance`` (copied to the plan).
    handlers : pandas.DataFrame
        As :func:`crossexec_ml.data.read_handlers` returns it: ``handler_id``, ``team_id``,
        ``court_id``, ``open_slots`` and optionally ``is_leader``.
    capacity : int, optional
        How many cases are reassigned or escalated this cycle: the candidates are the first
        ``capacity`` cases by ``priority_rank`` (ties by ``case_id``) whose suggested rung is
        not ``keep``. Default: all of them. A list drawn with an exploration band (it has
        ``proposal_propensity``) proposes its drawn cases (``candidate``) instead of the first
        ranks, and the plan keeps their ``proposal_propensity``.
    leader_bonus : float
        Added to the gain of a hard-bone case for each of its flags when a leader takes it
        (:data:`DEFAULT_LEADER_BONUS` = 0.001, so at most 0.005). It only decides between
        options whose gains differ by less than that; 0 ignores leadership.
    list_outside_capacity : bool
        Also list the non-keep ranked cases beyond ``capacity``, unplaced with the reason
        "outside this cycle's capacity", so a report can show what happens to them.
    lang : {"zh", "en"}
        Language of the plan's texts (``unplaced_reason``, the escalation ``target``);
        Chinese by default, the leaders' language.

    Returns
    -------
    pandas.DataFrame
        One row per candidate, sorted by ``priority_rank`` then ``case_id``: the columns
        :data:`PLAN_COLUMNS` in that order, then ``court_id``, ``team_id``, ``handler_id``
        (current handler), ``n_hard_bone_flags``, ``is_leader_target``, ``escalation`` and
        ``target`` (readable: "H003 (C01-T2)" or :data:`ESCALATION_TARGET`).
        ``higher_court`` cases have ``escalation`` True, no target handler and an empty
        ``unplaced_reason``; a case that could not be placed has no target handler and says
        why in ``unplaced_reason``. ``attrs["plan_summary"]`` holds the counts and total gain,
        and ``implausible_slots``: handler -> ``open_slots`` for those above
        :data:`crossexec_ml.data.MAX_PLAUSIBLE_SLOTS` (each is capped at the cases of its
        rung, so the plan is the same and memory stays bounded, but the count was mistyped).

    Raises
    ------
    PlanError
        Missing columns (named), empty ids, duplicate handlers or cases, negative or missing
        ``open_slots``, unknown ``suggested_rung`` values, a bad ``capacity`` or bonus.

    Notes
    -----
    The placed cases maximise the total ``expected_gain`` plus the leader bonus, subject to:
    intra_team within the case's team, inter_team to another team of its court, never the
    current or an earlier handler, at most ``open_slots`` cases per handler. It is solved
    exactly as an assignment problem over the open slots (see the module docstring) and the
    result is checked against every rule. Cases whose gain is not positive are not placed:
    moving them adds nothing. Gains equal to about six decimals are ties, broken by
    ``priority_rank`` then ``handler_id``, so the plan does not depend on the row order.
    An unplaced case with a positive gain always had every eligible handler full: the
    reason says whether there was no eligible handler at all, no free slot, or whether the
    slots went to cases adding at least as much. Nothing is written; the caller writes.

    Examples
    --------
    >>> handlers = pd.DataFrame({"handler_id": ["H1", "H2"], "team_id": ["T1", "T1"],
    ...                          "court_id": ["C1", "C1"], "open_slots": [1, 1]})
    >>> ranked = pd.DataFrame({"case_id": ["A"], "court_id": ["C1"], "team_id": ["T1"],
    ...     "handler_id": ["H1"], "previous_handler_ids": [None],
    ...     "suggested_rung": ["intra_team"], "expected_gain": [0.2], "priority_rank": [1]})
    >>> assign(ranked, handlers)["target_handler_id"].tolist()
    ['H2']
    """
    _check_capacity(capacity, leader_bonus)
    t("plan.target.higher_court", lang)  # ValueError on a bad lang, before any work
    hand = _check_handlers(handlers)
    band = isinstance(ranked, pd.DataFrame) and {"proposal_propensity", "candidate"} <= set(
        ranked.columns
    )
    cands, rest = _drawn_candidates(ranked, capacity) if band else _candidates(ranked, capacity)

    rung = cands["suggested_rung"].to_numpy(dtype=object)
    moved = np.flatnonzero(np.isin(rung, [_INTRA, _INTER]))
    sub = cands.iloc[moved].reset_index(drop=True)
    p = _problem(sub, hand, leader_bonus)
    target = _place(p)
    placed = target >= 0
    rows, to = moved[placed], target[placed]

    n = len(cands)
    t_handler = pd.array([pd.NA] * n, dtype="string")
    t_team = pd.array([pd.NA] * n, dtype="string")
    t_leader = pd.array([pd.NA] * n, dtype="boolean")
    reason = np.full(n, "", dtype=object)
    text = np.full(n, "", dtype=object)
    t_handler[rows] = hand.ids[to]
    t_team[rows] = hand.team[to]
    t_leader[rows] = hand.leader[to]
    text[rows] = [f"{h} ({t})" for h, t in zip(hand.ids[to], hand.team[to], strict=True)]
    reason[moved] = _explain(p, sub, target, lang)
    escalation = rung == "higher_court"
    text[escalation] = t("plan.target.higher_court", lang)
    plan = _frame(cands, t_handler, t_team, reason, t_leader, escalation, text)

    if list_outside_capacity and len(rest):
        k = len(rest)
        msg = t("plan.reason.capacity", lang, capacity=capacity)
        outside = _frame(
            rest,
            pd.array([pd.NA] * k, dtype="string"),
            pd.array([pd.NA] * k, dtype="string"),
            np.full(k, msg, dtype=object),
            pd.array([pd.NA] * k, dtype="boolean"),
            np.zeros(k, dtype=bool),
            np.full(k, "", dtype=object),
        )
        plan = pd.concat([plan, outside], ignore_index=True)
    if band:
        # The band's propensity travels with each proposed case, as in the list and the ledger.
        ids = ranked["case_id"].astype("string").str.strip()
        propensity = pd.Series(ranked["proposal_propensity"].to_numpy(dtype=float), index=ids)
        propensity = propensity[~propensity.index.duplicated()]
        plan["proposal_propensity"] = plan["case_id"].map(propensity).to_numpy(dtype=float)

    hard = sub["n_hard_bone_flags"].to_numpy(dtype="float64")[placed] > 0
    plan.attrs["plan_summary"] = {
        "n_candidates": n,
        "n_placed": int(placed.sum()),
        "n_escalated": int(escalation.sum()),
        "n_unplaced": int((~placed).sum()),
        "n_outside_capacity": len(rest),
        "total_expected_gain": float(cands["expected_gain"].to_numpy()[rows].sum()),
        "n_hard_bone_to_leaders": int((hard & hand.leader[to]).sum()),
        "capacity": capacity,
        "leader_bonus": float(leader_bonus),
        "implausible_slots": {
            str(h): int(k)
            for h, k in zip(hand.ids, hand.slots, strict=True)
            if k > MAX_PLAUSIBLE_SLOTS
        },
    }
    return plan


def _drawn_candidates(
    ranked: pd.DataFrame, capacity: int | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The candidates of a list drawn with an exploration band: the drawn cases, in rank order.

    With a band the proposal is the draw (``candidate``), not a prefix of the ranks: a case
    just below the cut may be drawn in and one just above left out. The rest are the drawn
    cases beyond ``capacity`` and every undrawn ranked case, in rank order.
    """
    ranked = ranked.reset_index(drop=True)
    drawn = ranked["candidate"].fillna(False).astype(bool).to_numpy()
    cands, beyond = _candidates(ranked.loc[drawn], capacity)
    undrawn = _candidates(ranked.loc[~drawn], 0)[1]
    rest = pd.concat([beyond, undrawn], ignore_index=True)
    rest = rest.sort_values(["priority_rank", "case_id"], kind="stable", na_position="last")
    return cands, rest.reset_index(drop=True)


def _text(s: pd.Series) -> pd.api.extensions.ExtensionArray:
    # The contract's text dtype (missing = pd.NA), as read_cases/read_handlers return it.
    return pd.array(s.to_numpy(dtype=object), dtype="string")


def _frame(
    cands: pd.DataFrame,
    t_handler: pd.api.extensions.ExtensionArray,
    t_team: pd.api.extensions.ExtensionArray,
    reason: np.ndarray,
    t_leader: pd.api.extensions.ExtensionArray,
    escalation: np.ndarray,
    text: np.ndarray,
) -> pd.DataFrame:
    flags = np.rint(cands["n_hard_bone_flags"].to_numpy(dtype="float64")).astype(np.int64)
    cols = {
        "case_id": _text(cands["case_id"]),
        "priority_rank": cands["priority_rank"].astype("Int64").array,
        "suggested_rung": pd.Categorical(cands["suggested_rung"], categories=list(RUNGS)),
        "target_handler_id": t_handler,
        "target_team_id": t_team,
        "expected_gain": cands["expected_gain"].to_numpy(dtype="float64"),
        "guidance": _text(cands["guidance"]),
        "unplaced_reason": pd.array(reason, dtype="string"),
        "court_id": _text(cands["court_id"]),
        "team_id": _text(cands["team_id"]),
        "handler_id": _text(cands["handler_id"]),
        "n_hard_bone_flags": flags,
        "is_leader_target": t_leader,
        "escalation": escalation.astype(bool),
        "target": pd.array(text, dtype="string"),
    }
    return pd.DataFrame(cols)[list(PLAN_COLUMNS) + list(_EXTRA_COLUMNS)]


def eligible_handlers(case: pd.Series | dict, handlers: pd.DataFrame, rung: str) -> pd.DataFrame:
    """Handlers who may take one case on a rung, by the same rules as :func:`assign`.

    For the picker's "reassign to another eligible handler": ``intra_team`` = another handler
    of the same team, ``inter_team`` = a handler of another team of the same court; never the
    current or an earlier handler; only handlers with a free slot. Other rungs have no handler.

    Parameters
    ----------
    case : mapping
        With ``court_id``, ``team_id``, ``handler_id`` and ``previous_handler_ids``.
    handlers : pandas.DataFrame
        Contract-typed handlers.
    rung : str
        ``intra_team`` or ``inter_team`` (anything else gives an empty table).

    Returns
    -------
    pandas.DataFrame
        The eligible rows of ``handlers``: leaders first, then most free slots, then code.
    """
    if rung not in ("intra_team", "inter_team"):
        return handlers.iloc[:0]

    def text(v: object) -> str:
        return "" if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else str(v)

    earlier = text(case.get("previous_handler_ids")).replace("；", ";").split(";")
    excluded = {text(case.get("handler_id")).strip(), *(e.strip() for e in earlier)} - {""}
    h = handlers
    same_court = h["court_id"].astype(str) == text(case.get("court_id"))
    same_team = h["team_id"].astype(str) == text(case.get("team_id"))
    on_rung = same_court & (same_team if rung == "intra_team" else ~same_team)
    free = pd.to_numeric(h["open_slots"]).fillna(0) > 0
    ok = on_rung & free & ~h["handler_id"].astype(str).isin(excluded)
    out = h[ok].copy()
    leader = out["is_leader"].astype("boolean").fillna(False).astype(bool)
    out = out.assign(_leader=leader).sort_values(
        ["_leader", "open_slots", "handler_id"], ascending=[False, False, True], kind="stable"
    )
    return out.drop(columns="_leader")
