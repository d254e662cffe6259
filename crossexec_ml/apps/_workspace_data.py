"""What the leader's workspace reads and how its case list is filtered, without widgets.

:func:`read_workspace` reads the newest scheduled run (``jobs.newest_run``) and the decision
ledger when the page is opened, and turns every problem (no run yet, an unreadable run, a
damaged ledger) into a sentence for the page instead of an exception (Voilà hides exceptions).
:func:`case_list` builds the ranked list once; :class:`ListFilter` answers a filter or a search
with numpy masks over prepared columns, so 100,000 cases filter in milliseconds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.data import HARD_BONE_FLAGS, RunInfo, list_runs, read_cases, read_scored
from crossexec_ml.decide import ESCALATION_ANSWER, ESCALATION_ANSWERS, Ledger
from crossexec_ml.errors import InputError, LedgerError
from crossexec_ml.text import t

#: Amount bands of the list's filter, in 万元 (10,000 yuan): band -> [low, high).
AMOUNT_BANDS: dict[str, tuple[float, float]] = {
    "lt1": (0.0, 1.0),
    "1to10": (1.0, 10.0),
    "10to100": (10.0, 100.0),
    "ge100": (100.0, np.inf),
}
# The ledger action that asks the higher court (a request until it is answered).
_ESCALATION = "escalate_higher_court"


@dataclass
class WorkspaceData:
    """What one opening of the workspace read.

    Attributes
    ----------
    runs : list of RunInfo
        Every finished run, oldest first.
    run : RunInfo or None
        The run shown (the newest).
    scored, cases : pandas.DataFrame or None
        The run's scored list and its contract-typed cases.
    ledger_rows : pandas.DataFrame
        Every decision in the ledger (empty when it has none or cannot be read).
    run_problem, ledger_problem : str
        Empty when fine; otherwise a sentence saying what is wrong and what to do.
    """

    runs: list[RunInfo] = field(default_factory=list)
    run: RunInfo | None = None
    scored: pd.DataFrame | None = None
    cases: pd.DataFrame | None = None
    ledger_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    run_problem: str = ""
    ledger_problem: str = ""

    def latest_decisions(self) -> dict[str, dict]:
        """Each decided case's latest ledger row (case -> row as a dict)."""
        rows = self.ledger_rows
        if rows.empty:
            return {}
        last = rows.drop_duplicates("case_id", keep="last")
        return {str(r["case_id"]): r for r in last.to_dict("records")}


def read_workspace(
    runs_dir: str | os.PathLike[str], ledger_path: str | os.PathLike[str], lang: str = "zh"
) -> WorkspaceData:
    """Read the newest run under ``runs_dir`` and the ledger, now.

    Parameters
    ----------
    runs_dir : path-like
        The scheduler's runs folder (``reports/rescore``).
    ledger_path : path-like
        The ledger; a missing file means no decision yet (not a problem).
    lang : {"zh", "en"}
        Language of the problem sentences.

    Returns
    -------
    WorkspaceData
    """
    out = WorkspaceData()
    out.runs = list_runs(runs_dir)
    broken = _broken_runs(Path(runs_dir), out.runs)
    if broken:
        # list_runs passes over a folder without a readable manifest: say so, rather than
        # "no run yet" or last week's run shown as the newest without a word.
        out.run_problem = t("workspace.problem.bad_manifest", lang, folder=str(broken[-1]))
    if not out.runs:
        if not broken:
            out.run_problem = t("workspace.problem.no_run", lang, runs=str(runs_dir))
    else:
        out.run = out.runs[-1]
        folder = out.run.folder
        try:
            out.scored = read_scored(folder / "scored.parquet")
            out.cases = _run_cases(folder / "cases.parquet")
        except (InputError, OSError, ValueError) as err:
            out.scored = out.cases = None
            first = str(err).splitlines()[0] if str(err) else type(err).__name__
            out.run_problem = t("workspace.problem.bad_run", lang, folder=str(folder), error=first)
    out.ledger_rows, out.ledger_problem = read_ledger(ledger_path, lang)
    return out


def _broken_runs(runs_dir: Path, runs: list[RunInfo]) -> list[Path]:
    """Run folders newer than the newest readable run whose manifest cannot be read."""
    listed = {Path(r.folder).resolve() for r in runs}
    newest = max((Path(r.folder).stat().st_mtime for r in runs), default=float("-inf"))
    try:
        entries = [Path(e.path) for e in os.scandir(runs_dir)]
    except OSError:
        return []
    return sorted(
        (
            p
            for p in entries
            if not p.name.startswith(".")
            and p.is_dir()
            and not p.is_symlink()
            and p.resolve() not in listed
            and p.stat().st_mtime >= newest
        ),
        key=lambda p: p.stat().st_mtime,
    )


def _run_cases(path: Path) -> pd.DataFrame:
    """A run's ``cases.parquet``, as the run wrote it: validated and contract-typed already.

    Validating it again cell by cell took 9 s for 100,000 cases (the page must open in under
    5 s); a file that does not carry the contract's columns is still refused, in full.
    """
    frame = pd.read_parquet(path)
    if not set(_CASE_COLUMNS) <= set(frame.columns):
        return read_cases(path)  # not a run's own file: validate it and say what is wrong
    return frame


#: The case columns the workspace and the check-up sheet rely on in a run's cases.parquet.
_CASE_COLUMNS = (
    "case_id",
    "as_of_date",
    "court_id",
    "team_id",
    "is_livelihood",
    "amount_outstanding",
)


def read_ledger(ledger_path: str | os.PathLike[str], lang: str = "zh") -> tuple[pd.DataFrame, str]:
    """Every decision, and a sentence when the ledger is damaged (then no rows).

    A ledger that opens but does not verify (a row altered outside the tool) is damaged too:
    its rows are not shown as if they were the decisions.
    """
    path = Path(ledger_path)
    if not path.exists() and not path.is_symlink():
        return pd.DataFrame(), ""
    try:
        with Ledger(path, create=False) as ledger:
            report = ledger.verify()
            rows = ledger.rows() if report.ok else None
    except LedgerError as err:
        # Opened by nobody else's fault too (permissions, a full disk): the error says which.
        first = str(err).splitlines()[0]
        key = "ledger" if "damaged" in first or "verify" in first else "ledger_open"
        return pd.DataFrame(), t(f"workspace.problem.{key}", lang, ledger=str(path), error=first)
    if rows is None:
        shown = "; ".join(report.problems[:2])
        return pd.DataFrame(), t("workspace.problem.ledger", lang, ledger=str(path), error=shown)
    return rows, ""


#: The list's columns, in order.
LIST_COLUMNS: tuple[str, ...] = (
    "priority_rank",
    "case_id",
    "court_id",
    "team_id",
    "suggested_rung",
    "p_keep",
    "p_cross",
    "expected_gain",
    "top_reason_zh",
    "reasons_en",
    *HARD_BONE_FLAGS,
    "is_livelihood",
    "amount_wan",
    "candidate",
    "proposal_propensity",
)


def case_list(scored: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    """The ranked list: every ranked case of the run, rank 1 first, with what the filters need.

    Parameters
    ----------
    scored : pandas.DataFrame
        The run's scored list.
    cases : pandas.DataFrame
        The run's contract-typed cases (livelihood and amount).

    Returns
    -------
    pandas.DataFrame
        :data:`LIST_COLUMNS`, one row per ranked case, index 0..n-1 in rank order.
    """
    ranked = scored[scored["priority_rank"].notna()].sort_values("priority_rank", kind="stable")
    extra = cases.drop_duplicates("case_id", keep="last").set_index("case_id")
    ids = ranked["case_id"].astype(str)
    live = extra["is_livelihood"].astype("boolean").reindex(ids).fillna(False).to_numpy(bool)
    amount = pd.to_numeric(extra["amount_outstanding"], errors="coerce").reindex(ids)
    out = pd.DataFrame(
        {c: ranked[c].to_numpy() for c in LIST_COLUMNS if c in ranked.columns}
    ).reset_index(drop=True)
    for c in ("top_reason_zh", "reasons_en"):
        if c not in out:
            out[c] = ""
    if "proposal_propensity" not in out:  # no exploration band: proposed for sure, or not
        out["proposal_propensity"] = out["candidate"].astype(bool).astype(float)
    out["is_livelihood"] = live
    out["amount_wan"] = amount.to_numpy(dtype=float) / 1e4
    out["case_id"] = out["case_id"].astype(str)
    return out[[c for c in LIST_COLUMNS if c in out.columns]]


@dataclass
class ListFilter:
    """One state of the list's search box and filters (None or empty = 全部).

    Attributes
    ----------
    query : str
        Part of a 案号 (case-insensitive; full-width brackets match half-width ones).
    court, team, rung : str or None
    flags : tuple of str
        Hard-bone flags the case must all have.
    livelihood : bool
        Only livelihood cases.
    band : str or None
        A key of :data:`AMOUNT_BANDS`.
    """

    query: str = ""
    court: str | None = None
    team: str | None = None
    rung: str | None = None
    flags: tuple[str, ...] = ()
    livelihood: bool = False
    band: str | None = None


def _fold(text: pd.Series | str) -> pd.Series | str:
    """Case number text compared loosely: lower case, half-width brackets, no spaces."""
    table = str.maketrans({"（": "(", "）": ")", " ": "", "\u3000": ""})
    if isinstance(text, str):
        return text.translate(table).lower()
    return text.str.translate(table).str.lower()


class ListIndex:
    """The list's columns prepared once, so each filter or search is a few numpy masks.

    Parameters
    ----------
    listed : pandas.DataFrame
        From :func:`case_list`.
    """

    def __init__(self, listed: pd.DataFrame):
        self.listed = listed
        self._ids = _fold(listed["case_id"].astype(str)).to_numpy(dtype=object)
        self._text = {
            c: listed[c].astype(str).to_numpy(dtype=object) for c in ("court_id", "team_id")
        }
        self._rung = listed["suggested_rung"].astype(str).to_numpy(dtype=object)
        self._flags = {f: listed[f].astype(bool).to_numpy() for f in HARD_BONE_FLAGS if f in listed}
        self._live = listed["is_livelihood"].to_numpy(dtype=bool)
        self._amount = listed["amount_wan"].to_numpy(dtype=float)

    def mask(self, f: ListFilter) -> np.ndarray:
        """Which rows of the list pass ``f``."""
        n = len(self.listed)
        mask = np.ones(n, dtype=bool)
        if f.court is not None:
            mask &= self._text["court_id"] == f.court
        if f.team is not None:
            mask &= self._text["team_id"] == f.team
        if f.rung is not None:
            mask &= self._rung == f.rung
        for flag in f.flags:
            mask &= self._flags[flag]
        if f.livelihood:
            mask &= self._live
        if f.band is not None:
            low, high = AMOUNT_BANDS[f.band]
            mask &= (self._amount >= low) & (self._amount < high)
        query = _fold(f.query.strip())
        if query:
            hits = np.fromiter((query in s for s in self._ids[mask]), dtype=bool)
            where = np.flatnonzero(mask)
            mask[where[~hits]] = False
        return mask

    def exact(self, query: str) -> int | None:
        """Row of the case whose 案号 is exactly ``query`` (loosely compared), if any."""
        hits = np.flatnonzero(self._ids == _fold(query.strip()))
        return int(hits[0]) if len(hits) else None


def trend(runs: list[RunInfo], last: int = 12) -> pd.DataFrame:
    """Per run, from its manifest: stalled stock, candidates, decided, carried over, outcome.

    Parameters
    ----------
    runs : list of RunInfo
        Oldest first (``jobs.list_runs``).
    last : int
        How many of the newest runs.

    Returns
    -------
    pandas.DataFrame
        Columns ``run_date, run_id, stalled, candidates, decided, carried_over, outcome``.
    """
    rows = []
    for run in runs[-last:]:
        counts = run.manifest.get("rows") or {}
        rows.append(
            {
                "run_date": run.run_date,
                "run_id": run.run_id,
                "stalled": counts.get("stalled_cohort"),
                "candidates": counts.get("candidates"),
                "decided": counts.get("decided_in_ledger"),
                "carried_over": counts.get("carried_over"),
                "outcome": run.outcome,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "run_date",
            "run_id",
            "stalled",
            "candidates",
            "decided",
            "carried_over",
            "outcome",
        ],
    )


def previous_scored(runs: list[RunInfo]) -> pd.DataFrame | None:
    """The scored list of the run before the newest one, or None (first run, or unreadable)."""
    if len(runs) < 2:
        return None
    try:
        return read_scored(runs[-2].folder / "scored.parquet")
    except (InputError, OSError, ValueError):
        return None


#: The kinds of change :func:`list_changes` counts, in order (``workspace.change.<kind>``).
CHANGES: tuple[str, ...] = (
    "candidates_now",
    "new_candidates",
    "carried_over",
    "decided_since",
    "left_list",
    "left_stock",
)


def list_changes(scored: pd.DataFrame, previous: pd.DataFrame, decided: set[str]) -> dict[str, int]:
    """How the list of candidates changed since the previous run, with today's decisions.

    Parameters
    ----------
    scored, previous : pandas.DataFrame
        This run's and the previous run's scored lists.
    decided : set of str
        Cases with a decision in the ledger now (read when the page opened).

    Returns
    -------
    dict
        :data:`CHANGES` -> number of cases: candidates now; new candidates; carried over
        (candidates before and now, still undecided); decided (candidates before, decided
        since); left the list (candidates before, still stalled, neither candidates nor
        decided now); left the stalled stock.
    """

    def candidates(frame: pd.DataFrame) -> set[str]:
        mask = (
            frame["candidate"].astype(bool)
            if "candidate" in frame
            else frame["priority_rank"].notna()
        )
        return set(frame.loc[mask, "case_id"].astype(str))

    now, before = candidates(scored), candidates(previous)
    stock = set(scored["case_id"].astype(str))
    return {
        "candidates_now": len(now),
        "new_candidates": len(now - before),
        "carried_over": len((now & before) - decided),
        "decided_since": len(before & decided),
        "left_list": len((before & stock) - now - decided),
        "left_stock": len(set(previous["case_id"].astype(str)) - stock),
    }


def answer_of(scores: object) -> str:
    """The higher court's answer a ledger row records (``approved``/``declined``), or ""."""
    if isinstance(scores, dict):
        parsed = scores
    else:
        try:
            parsed = json.loads(scores) if isinstance(scores, str) and scores else {}
        except ValueError:
            parsed = {}
    answer = parsed.get(ESCALATION_ANSWER, "") if isinstance(parsed, dict) else ""
    return answer if answer in ESCALATION_ANSWERS else ""


def pending_escalations(ledger_rows: pd.DataFrame) -> pd.DataFrame:
    """Requests to the higher court still awaiting its answer.

    A request is a case's latest decision when it is ``escalate_higher_court`` and not itself
    the higher court's answer (:meth:`crossexec_ml.decide.Ledger.answer_escalation`).

    Returns
    -------
    pandas.DataFrame
        Those latest rows, oldest request first.
    """
    if ledger_rows.empty:
        return ledger_rows
    last = ledger_rows.drop_duplicates("case_id", keep="last")
    asks = last["action"] == _ESCALATION
    if "scores" in last:
        asks &= ~last["scores"].map(answer_of).astype(bool)
    return last[asks]
