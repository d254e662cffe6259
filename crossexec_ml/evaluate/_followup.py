"""Follow-up: what happened to the cases leaders decided, against what the model said then.

Every decision in the ledger is joined to the case's later outcome (a later export whose
history rows carry ``resolved_180d``, ``closure_mode_180d``, ``amount_recovered_180d`` and
``outcome_date``), and counted by action, rung, court, team and month of decision — never per
handler. The realised resolution rate is set against the rate the model predicted when the
decision was made: the mean of the probability the ledger recorded for the rung the decision
put the case on (``p_keep`` for a case kept, ``p_intra_team`` for a reassignment within the
team, ...). Decisions off the ladder (judicial aid, deferral) have no predicted rate.

Rules, so that a leader can trust the counts:

- a case decided twice counts once, under its latest decision; earlier rows are listed in
  :attr:`FollowUp.corrections`;
- 终本 (``terminate_current``) is never counted as resolved;
- an outcome is known when the later export has the case's row at the decision's as-of date
  (or, when the decision names none, its latest row) with ``closure_mode_180d`` filled;
- an outcome dated before its decision is refused: the export and the ledger disagree;
- a ledger from another court's deployment is refused: given the models this bureau ran
  (``known_models``), a ledger whose every model-stamped decision names another model.

The ``proposal`` table answers "what became of the cases the list proposed": each decided case
is ``followed`` (proposed, and moved to a rung), ``kept`` (proposed, and kept, deferred or sent
to judicial aid), ``not_proposed`` (decided without being proposed) or ``unrecorded`` (decided
before the ledger recorded the proposal flag, with no run to tell). Given the runs' proposals,
a proposed case nobody decided is followed up too, as ``undecided``: it stayed where it was, so
its predicted rate is the ``p_keep`` of the run that first proposed it. Undecided cases appear
only in that table; every other table counts decisions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crossexec_ml.decide import ACTION_TO_RUNG
from crossexec_ml.errors import InputError

#: How the follow-up tables are cut: never by handler.
FOLLOWUP_GROUPINGS: tuple[str, ...] = (
    "action",
    "rung",
    "court_id",
    "team_id",
    "month",
    "proposal",
)

#: What became of a case the list proposed (the ``proposal`` grouping's values, in order).
PROPOSAL_KINDS: tuple[str, ...] = ("followed", "kept", "undecided", "not_proposed", "unrecorded")
_MOVED = frozenset({"intra_team", "inter_team", "higher_court"})

#: The columns of every follow-up table, after the grouping column.
FOLLOWUP_COLUMNS: tuple[str, ...] = (
    "n_decided",
    "n_known",
    "n_resolved",
    "n_terminate_current",
    "n_open",
    "amount_recovered",
    "median_days_to_result",
    "realised_rate",
    "predicted_rate",
    "ci_low",
    "ci_high",
)

_RESOLVED_MODES = frozenset({"fully_executed", "settlement_performed"})
# 95% two-sided normal quantile, for the Wilson interval of a realised rate.
_Z95 = 1.959963984540054


@dataclass
class FollowUp:
    """The follow-up of recorded decisions.

    Attributes
    ----------
    detail : pandas.DataFrame
        One row per decided case: its latest decision, the joined outcome and the predicted
        rate recorded at decision time.
    tables : dict of str to pandas.DataFrame
        One table per grouping in :data:`FOLLOWUP_GROUPINGS`, columns
        :data:`FOLLOWUP_COLUMNS`.
    corrections : pandas.DataFrame
        The earlier decisions of cases decided more than once (the correction trail; each
        case's trail is also in the detail's ``earlier_decisions``).
    n_other_model : int
        Decisions recorded under a model none of ``known_models`` names (0 when not checked).
    """

    detail: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    corrections: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_other_model: int = 0

    def to_json(self) -> dict[str, Any]:
        """The follow-up as plain JSON values: ``{"by_action": [...], "by_rung": [...], ...}``.

        Returns
        -------
        dict
            ``by_<grouping>`` lists of rows (the grouping column, then
            :data:`FOLLOWUP_COLUMNS`; NaN becomes None), ``n_cases`` and ``n_known`` (decided
            cases), ``n_undecided`` (proposed, never decided), ``n_corrections`` and
            ``n_other_model``.
        """
        decided = self.detail[self.detail["decided"]] if "decided" in self.detail else self.detail
        out: dict[str, Any] = {
            "n_cases": int(len(decided)),
            "n_undecided": int(len(self.detail) - len(decided)),
            "n_corrections": int(len(self.corrections)),
            "n_known": int(decided["known"].sum()),
            "n_other_model": int(self.n_other_model),
        }
        for name, table in self.tables.items():
            out[f"by_{name}"] = [
                {k: _plain(v) for k, v in row.items()} for row in table.to_dict("records")
            ]
        return out


def _plain(value: Any) -> Any:
    """A JSON-safe scalar: NumPy numbers unwrapped, NaN as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def wilson_interval(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (95% by default); NaN when ``n`` is 0.

    Parameters
    ----------
    successes : int
        How many resolved.
    n : int
        How many with a known outcome.
    z : float
        Normal quantile of the interval.

    Returns
    -------
    tuple of float
        ``(low, high)``.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _predicted(decisions: pd.DataFrame) -> pd.Series:
    """The probability recorded at decision time for the rung the action put the case on."""
    rung = decisions["action"].map(ACTION_TO_RUNG)
    out = pd.Series(np.nan, index=decisions.index, dtype="float64")
    for name in set(rung.dropna()):
        col = f"p_{name}"
        if col in decisions.columns:
            mask = rung == name
            out[mask] = pd.to_numeric(decisions.loc[mask, col], errors="coerce")
    return out


def _outcome_rows(decisions: pd.DataFrame, later: pd.DataFrame) -> pd.DataFrame:
    """The later export's row for each decision: at its as-of date, else the case's latest."""
    later = later.drop(columns=["seq"], errors="ignore").assign(
        case_id=later["case_id"].astype(str),
        _as_of=pd.to_datetime(later["as_of_date"]).dt.strftime("%Y-%m-%d"),
    )
    wanted = pd.DataFrame(
        {
            "seq": decisions["seq"].to_numpy(),
            "case_id": decisions["case_id"].astype(str).to_numpy(),
            # Both sides as YYYY-MM-DD text: a datetime compared with Arrow-backed text is
            # silently never equal.
            "_want": pd.to_datetime(decisions["as_of_date"]).dt.strftime("%Y-%m-%d").to_numpy(),
        }
    )
    joined = wanted.merge(later.drop(columns=["as_of_date"]), on="case_id", how="left")
    joined["_exact"] = joined["_as_of"] == joined["_want"]
    joined = joined.sort_values(["seq", "_exact", "_as_of"], na_position="first")
    joined = joined.drop_duplicates("seq", keep="last").set_index("seq")
    return joined.reindex(decisions["seq"]).set_axis(decisions.index)


def _check_models(latest: pd.DataFrame, known_models: set[str] | None) -> int:
    """How many decisions name a model this bureau never ran; refuse a wholly foreign ledger."""
    if not known_models or "model_id" not in latest:
        return 0
    stamped = latest["model_id"].dropna().astype(str)
    stamped = stamped[stamped.str.strip() != ""]
    other = stamped[~stamped.isin(known_models)]
    if len(stamped) and len(other) == len(stamped):
        named = ", ".join(sorted(set(other))[:3])
        ours = ", ".join(sorted(known_models)[:3])
        raise InputError(
            f"the ledger's {len(stamped)} decisions were all made on model(s) {named}, none of "
            f"which this bureau ran (its models: {ours}): the ledger seems to come from another "
            "court's deployment; pass this bureau's own ledger (--ledger)"
        )
    return int(len(other))


def _trail(corrections: pd.DataFrame) -> dict[str, str]:
    """Each corrected case's earlier decisions, oldest first: ``#seq action by date; ...``."""
    out: dict[str, str] = {}
    for case, rows in corrections.sort_values("seq").groupby("case_id", sort=False):
        out[str(case)] = "; ".join(
            " ".join(
                str(x) for x in (f"#{int(r.seq)}", r.action, getattr(r, "decided_by", "")) if x
            )
            + f" {str(r.decided_at)[:10]}"
            for r in rows.itertuples()
        )
    return out


def follow_up(
    decisions: pd.DataFrame,
    later: pd.DataFrame,
    *,
    known_models: set[str] | None = None,
    proposals: pd.DataFrame | None = None,
) -> FollowUp:
    """Join recorded decisions to their later outcomes and count them.

    Parameters
    ----------
    decisions : pandas.DataFrame
        Every ledger row with scores expanded (``Ledger.rows(expand_scores=True)``): at least
        ``seq, case_id, action, decided_at, as_of_date`` and the recorded ``p_<rung>`` scores
        (and ``candidate``, whether the list proposed the case, where it was recorded).
    later : pandas.DataFrame
        A later case export read with :func:`crossexec_ml.data.read_cases`: ``case_id,
        as_of_date, court_id, team_id`` and the outcome columns.
    known_models : set of str, optional
        The ``model_id`` of every model this bureau ran (its runs' manifests, the model in
        use). When given, a ledger whose every model-stamped decision names another model is
        refused: it comes from another court's deployment. Decisions without a model (recorded
        by hand) are never held against it.
    proposals : pandas.DataFrame, optional
        The cases the bureau's runs proposed (:func:`crossexec_ml.jobs.proposed_cases`):
        ``case_id, as_of_date, p_keep, proposed_at`` (ISO UTC), the first proposal of each
        case. Proposed cases nobody decided are then followed up as ``undecided`` in the
        ``proposal`` table, and decisions recorded without the proposal flag are told apart.

    Returns
    -------
    FollowUp

    Raises
    ------
    InputError
        When the export shares no case with the ledger, an outcome is dated before the
        decision it follows (the first few cases are named), or the ledger is another court's.
    """
    if decisions.empty:
        raise InputError("the ledger holds no decision yet: there is nothing to follow up")
    for col in ("closure_mode_180d", "court_id", "team_id"):
        if col not in later.columns:
            raise InputError(
                f"the later export has no {col} column: export the cases again with their "
                "outcomes (resolved_180d, closure_mode_180d, amount_recovered_180d, outcome_date)"
            )
    rows = decisions.sort_values("seq")
    rows = rows.assign(case_id=rows["case_id"].astype(str))
    latest = rows.drop_duplicates("case_id", keep="last").set_index("seq", drop=False)
    corrections = rows[~rows["seq"].isin(latest["seq"])].reset_index(drop=True)
    n_other_model = _check_models(latest, known_models)
    shared = latest["case_id"].isin(set(later["case_id"].astype(str)))
    if not shared.any():
        raise InputError(
            f"the later export shares no case with the ledger ({len(latest)} decided cases, "
            f"{later['case_id'].nunique()} exported): check that it comes from the same court "
            "and covers the decided cases"
        )
    kind = _proposal_kind(latest, proposals)
    predicted = _predicted(latest)
    undecided = _undecided(proposals, set(rows["case_id"]))
    if len(undecided):
        latest = pd.concat([latest, undecided])
        kind = pd.concat([kind, pd.Series("undecided", index=undecided.index)])
        predicted = pd.concat([predicted, pd.to_numeric(undecided["p_keep"], errors="coerce")])
    decided = latest["seq"].to_numpy() > 0

    outcome = _outcome_rows(latest, later)
    decided_at = pd.to_datetime(latest["decided_at"], utc=True, format="ISO8601")
    decided_day = decided_at.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).dt.normalize()
    outcome_date = pd.to_datetime(
        outcome["outcome_date"] if "outcome_date" in outcome else pd.Series(pd.NaT, outcome.index),
        errors="coerce",
    )
    early = outcome_date.notna() & (outcome_date < decided_day)
    if (early & decided).any():
        named = ", ".join(latest.loc[early & decided, "case_id"].head(5))
        raise InputError(
            f"{int((early & decided).sum())} outcome(s) are dated before their decision (cases "
            f"{named}): the later export is older than the ledger or its outcome_date is wrong; "
            "export again"
        )

    trail = _trail(corrections)
    # An undecided case whose outcome came before the run proposed it was no longer stalled
    # then: its outcome says nothing about the proposal, so it counts as not known.
    mode = outcome["closure_mode_180d"].astype("string").where(~early)
    known = mode.notna()
    resolved = known & mode.isin(_RESOLVED_MODES)
    detail = pd.DataFrame(
        {
            "case_id": latest["case_id"].to_numpy(),
            "seq": latest["seq"].to_numpy(),
            "decided": decided,
            "action": latest["action"].to_numpy(),
            "rung": latest["action"].map(ACTION_TO_RUNG).to_numpy(),
            "proposal": kind.to_numpy(),
            "decided_at": latest["decided_at"].to_numpy(),
            "month": decided_day.dt.strftime("%Y-%m").to_numpy(),
            "court_id": outcome["court_id"].to_numpy(),
            "team_id": outcome["team_id"].to_numpy(),
            "known": known.to_numpy(),
            "resolved": resolved.to_numpy(),
            "terminate_current": (mode == "terminate_current").fillna(False).to_numpy(),
            "open": (mode == "open").fillna(False).to_numpy(),
            "amount_recovered": pd.to_numeric(
                outcome.get("amount_recovered_180d", pd.Series(np.nan, outcome.index)),
                errors="coerce",
            ).to_numpy(),
            "days_to_result": (outcome_date - decided_day).dt.days.to_numpy(),
            "predicted": predicted.to_numpy(),
            "earlier_decisions": [trail.get(c, "") for c in latest["case_id"]],
        }
    )
    decisions_only = detail[detail["decided"]]
    tables = {
        g: _table(detail if g == "proposal" else decisions_only, g) for g in FOLLOWUP_GROUPINGS
    }
    return FollowUp(
        detail=detail, tables=tables, corrections=corrections, n_other_model=n_other_model
    )


def _proposal_kind(latest: pd.DataFrame, proposals: pd.DataFrame | None) -> pd.Series:
    """``followed``, ``kept``, ``not_proposed`` or ``unrecorded`` for each latest decision.

    The flag recorded with the decision wins; without one (a decision recorded before the flag
    was, or by hand) the runs' proposals tell, counting only a proposal made by the decision.
    """
    recorded = latest["candidate"] if "candidate" in latest else pd.Series(None, latest.index)
    words = {True: True, False: False, "True": True, "False": False}  # 1 and 0 hash as bools
    flag = pd.Series(
        [words.get(v, pd.NA) if not isinstance(v, float) else pd.NA for v in recorded],
        index=latest.index,
        dtype="boolean",
    )
    if proposals is not None and len(proposals):  # no run's list at hand tells nothing
        first = pd.to_datetime(
            proposals.assign(case_id=proposals["case_id"].astype(str)).set_index("case_id")[
                "proposed_at"
            ],
            utc=True,
            format="ISO8601",
        )
        first = first.groupby(level=0).min()
        when = pd.to_datetime(latest["decided_at"], utc=True, format="ISO8601")
        proposed_by = pd.Series(first.reindex(latest["case_id"]).to_numpy(), latest.index)
        flag = flag.fillna(proposed_by.notna() & (proposed_by <= when))
    moved = latest["action"].map(ACTION_TO_RUNG).isin(_MOVED)
    kind = np.where(
        flag.isna(),
        "unrecorded",
        np.where(flag.fillna(False), np.where(moved, "followed", "kept"), "not_proposed"),
    )
    return pd.Series(kind, index=latest.index, dtype=object)


def _undecided(proposals: pd.DataFrame | None, decided_cases: set[str]) -> pd.DataFrame:
    """Proposed cases with no ledger row, as decision-shaped rows (negative ``seq``)."""
    if proposals is None or proposals.empty:
        return pd.DataFrame()
    left = proposals.assign(case_id=proposals["case_id"].astype(str))
    left = left[~left["case_id"].isin(decided_cases)]
    left = left.sort_values("proposed_at").drop_duplicates("case_id", keep="first")
    seq = -np.arange(1, len(left) + 1)
    return pd.DataFrame(
        {
            "seq": seq,
            "case_id": left["case_id"].to_numpy(),
            "action": None,
            "decided_at": pd.to_datetime(left["proposed_at"], utc=True, format="ISO8601").array,
            "as_of_date": pd.to_datetime(left["as_of_date"]).to_numpy(),
            "p_keep": left["p_keep"].to_numpy(),
        },
        index=pd.Index(seq, name="seq"),
    )


def _table(detail: pd.DataFrame, by: str) -> pd.DataFrame:
    """One follow-up table: counts, amounts, realised vs predicted rates with intervals."""
    records = []
    for key, group in detail.groupby(by, dropna=False, sort=True):
        n_known = int(group["known"].sum())
        n_resolved = int(group["resolved"].sum())
        low, high = wilson_interval(n_resolved, n_known)
        known = group[group["known"]]
        done = known.loc[known["resolved"] | known["terminate_current"], "days_to_result"]
        records.append(
            {
                by: None if pd.isna(key) else key,
                "n_decided": int(len(group)),
                "n_known": n_known,
                "n_resolved": n_resolved,
                "n_terminate_current": int(group["terminate_current"].sum()),
                "n_open": int(group["open"].sum()),
                "amount_recovered": float(np.nansum(known["amount_recovered"])),
                "median_days_to_result": float(done.median()) if done.notna().any() else math.nan,
                "realised_rate": n_resolved / n_known if n_known else math.nan,
                "predicted_rate": float(known["predicted"].mean())
                if known["predicted"].notna().any()
                else math.nan,
                "ci_low": low,
                "ci_high": high,
            }
        )
    table = pd.DataFrame.from_records(records, columns=[by, *FOLLOWUP_COLUMNS])
    if by == "proposal":  # in the order a leader reads it, not alphabetical
        order = {kind: i for i, kind in enumerate(PROPOSAL_KINDS)}
        table = table.sort_values(by, key=lambda c: c.map(order)).reset_index(drop=True)
    return table


def follow_up_ledger(
    ledger_path: str,
    later: pd.DataFrame,
    *,
    known_models: set[str] | None = None,
    proposals: pd.DataFrame | None = None,
) -> FollowUp:
    """:func:`follow_up` of the decisions in a ledger file, opened read-only.

    Parameters
    ----------
    ledger_path : str
        The ledger (``var/ledger.sqlite``).
    later : pandas.DataFrame
        The later export, as for :func:`follow_up`.
    known_models, proposals : optional
        As for :func:`follow_up`.

    Returns
    -------
    FollowUp
    """
    from crossexec_ml.decide import Ledger

    with Ledger(ledger_path, create=False, read_only=True) as ledger:
        decisions = ledger.rows(expand_scores=True)
    return follow_up(decisions, later, known_models=known_models, proposals=proposals)


#: The action a simulated leader takes for each suggested rung (the demo's "follow the list").
_SIMULATED_ACTION = {
    "keep": "keep",
    "intra_team": "reassign_intra_team",
    "inter_team": "reassign_inter_team",
    "higher_court": "escalate_higher_court",
}


def simulate_decisions(
    scored: pd.DataFrame,
    ledger_path: str,
    *,
    decided_by: str = "SIMULATED",
    target_handler_id: str = "SIM-HANDLER",
) -> int:
    """Record, in a demo ledger, a simulated leader who follows the list: each proposed case is
    put on its suggested rung. For the demo, tests and notebook 07 only — never a real ledger.

    Parameters
    ----------
    scored : pandas.DataFrame
        A scored list (:func:`crossexec_ml.jobs.score_cases`) with ``candidate``.
    ledger_path : str
        A new ledger file for the simulation; an existing file is refused, so a real ledger
        is never written to.
    decided_by, target_handler_id : str
        The codes recorded (a simulated decider and receiving handler).

    Returns
    -------
    int
        Decisions recorded.

    Raises
    ------
    InputError
        When ``ledger_path`` already exists.
    """
    from pathlib import Path

    from crossexec_ml.decide import Ledger, scores_shown

    if Path(ledger_path).exists():
        raise InputError(
            f"{ledger_path} exists: simulated decisions go into a new ledger only, never into "
            "one that may hold real decisions"
        )
    proposed = scored[scored["candidate"].astype(bool)]
    with Ledger(ledger_path) as ledger:
        for _, row in proposed.iterrows():
            action = _SIMULATED_ACTION[str(row["suggested_rung"])]
            ledger.record(
                str(row["case_id"]),
                action,
                decided_by,
                "模拟决定（演示）：按名单建议 · simulated: follows the list",
                target_handler_id=target_handler_id if action.startswith("reassign") else None,
                model_id=str(row.get("model_id") or "") or None,
                scores=scores_shown(row),
                as_of_date=pd.Timestamp(row["as_of_date"]).strftime("%Y-%m-%d"),
            )
    return len(proposed)


def ledger_half_year(
    ledger_path: str,
    current: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    scored: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The generator plays the next half-year for a ledger's decisions.

    Each decided case's outcome is drawn from the truth of the rung its latest decision put it
    on (kept otherwise), from the day of the decision; cases proposed by an exploration band
    carry ``assignment_randomised`` and the ``proposal_propensity`` the ledger recorded, as a
    court's later export would.

    Parameters
    ----------
    ledger_path : str
        The ledger.
    current, truth : pandas.DataFrame
        The current cases and the generator's truth (:func:`crossexec_ml.data.play_half_year`).
    scored : pandas.DataFrame, optional
        The run's scored list (``candidate``, ``proposal_propensity``). With it, *every* case of
        the exploration band is marked randomised, as the run's list and manifest record the
        draw: a case drawn in with its ``proposal_propensity``, a case left out (kept, by the
        lottery) with one minus it. Without it only the band cases the ledger holds are, and
        the band's kept half, its control arm, is lost.
    seed : int

    Returns
    -------
    pandas.DataFrame
        The later export (see :func:`crossexec_ml.data.play_half_year`).
    """
    from crossexec_ml.data import play_half_year
    from crossexec_ml.decide import Ledger

    with Ledger(ledger_path, create=False, read_only=True) as ledger:
        latest = ledger.latest(expand_scores=True)
    rung = latest["action"].map(ACTION_TO_RUNG).fillna("keep")
    ids = latest["case_id"].astype(str)
    decided_on = pd.to_datetime(latest["decided_at"], utc=True).dt.tz_convert("Asia/Shanghai")
    decided_on = decided_on.dt.tz_localize(None).dt.normalize()
    randomised = None
    if "proposal_propensity" in latest:
        p = pd.to_numeric(latest["proposal_propensity"], errors="coerce")
        band = p.between(0, 1, inclusive="neither")
        randomised = pd.Series(p[band].to_numpy(), index=ids[band].to_numpy())
    if scored is not None and "proposal_propensity" in scored:
        p = pd.to_numeric(scored["proposal_propensity"], errors="coerce").to_numpy(float)
        band = (p > 0) & (p < 1)
        drawn = scored["candidate"].astype(bool).to_numpy()
        listed = pd.Series(
            np.where(drawn, p, 1 - p)[band], index=scored["case_id"].astype(str).to_numpy()[band]
        )
        randomised = listed if randomised is None else listed.combine_first(randomised)
    return play_half_year(
        current,
        truth,
        pd.Series(rung.to_numpy(), index=ids.to_numpy()),
        decided_on=pd.Series(decided_on.to_numpy(), index=ids.to_numpy()),
        randomised=randomised,
        seed=seed,
    )
