"""What a run adds so the bureau can learn from its own decisions.

**The exploration band** (``crossexec rescore --explore BAND``): :func:`exploration_summary`
for the manifest and :func:`exploration_html`, one sentence for the report.

**Shadow scoring**: where a challenger model's list differs from the champion's.

``crossexec rescore --challenger DIR`` scores the same cases with a second model, in the
shadow: only the champion's list (``scored.*``, ``plan.xlsx``) goes to leaders; the report and
the manifest say where the two lists differ, so a bureau sees what switching models would
change before any outcome is known (``crossexec compare`` judges them once outcomes are in).

**The follow-up** (``crossexec rescore --followup-cases LATER_EXPORT``): the run follows the
ledger's decisions up in a later export with outcomes (:func:`check_followup`, before anything
is written, so a bad export refuses the run with exit 2) and writes ``followup.json`` and
``followup.html`` beside its list (:func:`add_followup`); the workspace shows them.

Both lists are compared at the same size, the champion's number of candidates ``k``: the
champion's first ``k`` ranks (its list before any exploration draw, which is the same lottery
whichever model ranks) against the challenger's candidates when it is given that capacity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crossexec_ml.decide import band_counts
from crossexec_ml.evaluate import FollowUp
from crossexec_ml.text import fmt_percent, rung_label, t

if TYPE_CHECKING:  # the run's result, defined where runs are made
    from crossexec_ml.jobs._rescore import RunResult

#: The shadow table's columns, in order (labels: the catalogue's ``shadow.column.<name>``).
SHADOW_COLUMNS: tuple[str, ...] = (
    "case_id",
    "court_id",
    "team_id",
    "champion_rank",
    "challenger_rank",
    "in_champion",
    "in_challenger",
    "champion_rung",
    "challenger_rung",
)


def exploration_summary(result: RunResult) -> dict | None:
    """The run's exploration band for the manifest, or None when the band is off.

    Parameters
    ----------
    result : RunResult

    Returns
    -------
    dict or None
        ``band`` and ``seed`` (as the scoring policy used them), ``in_band`` (cases drawn at
        random, propensity 1/2) and ``drawn`` (of those, the ones proposed).
    """
    counts = band_counts(result.scored)
    if counts is None:
        return None
    priority = (result.scoring_policy or {}).get("policy", {}).get("priority", {})
    return {
        "band": priority.get("explore_band"),
        "seed": priority.get("explore_seed"),
        "in_band": counts[0],
        "drawn": counts[1],
    }


def exploration_html(result: RunResult, lang: str = "zh") -> str:
    """One sentence on the exploration band for the report, or ``""`` when it is off.

    Parameters
    ----------
    result : RunResult
    lang : {"zh", "en"}

    Returns
    -------
    str
        An HTML paragraph (every value escaped), from the catalogue's ``rescore.explore``.
    """
    summary = exploration_summary(result)
    t("tile.na", lang)  # checks lang
    if summary is None:
        return ""
    text = t(
        "rescore.explore",
        lang,
        n=summary["in_band"],
        drawn=summary["drawn"],
        band=fmt_percent(float(summary["band"] or 0), lang),
        seed=summary["seed"],
    )
    from crossexec_ml.report import render

    return render("rescore_explore.html.j2", text=text)


@dataclass
class ShadowComparison:
    """Where the challenger's list differs from the champion's (see :func:`shadow_compare`).

    Attributes
    ----------
    counts : dict
        ``k`` (cases compared at), ``n_champion`` and ``n_challenger`` (each list's top),
        ``n_both``, ``only_champion``, ``only_challenger`` and ``rung_differs`` (cases in
        both tops whose suggested rung differs).
    table : pandas.DataFrame
        Every differing case (:data:`SHADOW_COLUMNS`), by the better of its two ranks.
    challenger_id : str
        The challenger's ``model_id``.
    """

    counts: dict[str, int]
    table: pd.DataFrame
    challenger_id: str


def _top(scored: pd.DataFrame, k: int) -> pd.DataFrame:
    rank = pd.to_numeric(scored["priority_rank"], errors="coerce")
    return pd.DataFrame(
        {
            "case_id": scored["case_id"].astype(str).to_numpy(),
            "rank": rank.to_numpy(dtype=float),
            "top": (rank <= k).fillna(False).to_numpy(dtype=bool),
            "rung": scored["suggested_rung"].astype(str).to_numpy(),
        }
    )


def shadow_compare(
    champion: pd.DataFrame, challenger: pd.DataFrame, *, challenger_id: str = ""
) -> ShadowComparison:
    """Compare the champion's list with the challenger's on the same cases.

    Parameters
    ----------
    champion : pandas.DataFrame
        The run's list (``case_id``, ``priority_rank``, ``candidate``, ``suggested_rung``,
        ``court_id``, ``team_id``).
    challenger : pandas.DataFrame
        The challenger's list of the same cases, scored with capacity ``k`` = the champion's
        number of candidates (its ``candidate`` column is its top).
    challenger_id : str
        Recorded with the result.

    Returns
    -------
    ShadowComparison
    """
    k = int(champion["candidate"].astype(bool).sum())
    a = _top(champion, k)
    b = _top(challenger, k)
    b["top"] = challenger["candidate"].astype(bool).to_numpy()
    both = a.merge(b, on="case_id", how="outer", suffixes=("_a", "_b"))
    in_a = both["top_a"].fillna(False).astype(bool)
    in_b = both["top_b"].fillna(False).astype(bool)
    rung_differs = in_a & in_b & (both["rung_a"] != both["rung_b"])
    differs = (in_a != in_b) | rung_differs
    where = champion.assign(case_id=champion["case_id"].astype(str)).set_index("case_id")
    rows = both.loc[differs]
    table = pd.DataFrame(
        {
            "case_id": rows["case_id"].to_numpy(),
            "court_id": where["court_id"].reindex(rows["case_id"]).to_numpy(),
            "team_id": where["team_id"].reindex(rows["case_id"]).to_numpy(),
            "champion_rank": pd.array(rows["rank_a"].to_numpy(), dtype="Float64").astype("Int64"),
            "challenger_rank": pd.array(rows["rank_b"].to_numpy(), dtype="Float64").astype("Int64"),
            "in_champion": in_a[differs].to_numpy(),
            "in_challenger": in_b[differs].to_numpy(),
            "champion_rung": rows["rung_a"].to_numpy(),
            "challenger_rung": rows["rung_b"].to_numpy(),
        }
    )
    best = np.fmin(rows["rank_a"].to_numpy(dtype=float), rows["rank_b"].to_numpy(dtype=float))
    table = table.iloc[np.argsort(best, kind="stable")].reset_index(drop=True)
    counts = {
        "k": k,
        "n_champion": int(in_a.sum()),
        "n_challenger": int(in_b.sum()),
        "n_both": int((in_a & in_b).sum()),
        "only_champion": int((in_a & ~in_b).sum()),
        "only_challenger": int((in_b & ~in_a).sum()),
        "rung_differs": int(rung_differs.sum()),
    }
    return ShadowComparison(counts=counts, table=table, challenger_id=str(challenger_id))


def shadow_table(comparison: ShadowComparison, lang: str = "zh", n: int = 20) -> pd.DataFrame:
    """The first ``n`` differing cases as the report shows them (rungs named, 是/否).

    Parameters
    ----------
    comparison : ShadowComparison
    lang : {"zh", "en"}
    n : int

    Returns
    -------
    pandas.DataFrame
        Under the catalogue's ``shadow.column.*`` names; show it with
        :func:`crossexec_ml.report.table_html` (escaped).
    """
    top = comparison.table.head(n).copy()
    for column in ("champion_rung", "challenger_rung"):
        top[column] = [rung_label(r, lang) if r != "nan" else "" for r in top[column]]
    for column in ("in_champion", "in_challenger"):
        top[column] = [t(f"bool.{str(bool(v)).lower()}", lang) for v in top[column]]
    return top.rename(columns={c: t(f"shadow.column.{c}", lang) for c in SHADOW_COLUMNS})


def shadow_html(comparison: ShadowComparison | None, lang: str = "zh", n: int = 20) -> str:
    """The report's shadow section: counts in one sentence and the top differing cases.

    Parameters
    ----------
    comparison : ShadowComparison or None
        None when the run had no challenger (the section says so).
    lang : {"zh", "en"}
    n : int
        Rows of the table.

    Returns
    -------
    str
        An HTML fragment, every value escaped.
    """
    from crossexec_ml.report import render, table_html

    t("tile.na", lang)  # checks lang
    if comparison is None:
        return render("rescore_shadow.html.j2", lines=[t("shadow.none", lang)], table="")
    text = t("shadow.summary", lang, model_id=comparison.challenger_id, **comparison.counts)
    if comparison.table.empty:
        return render("rescore_shadow.html.j2", lines=[text, t("shadow.same", lang)], table="")
    table = table_html(shadow_table(comparison, lang, n), lang)
    return render("rescore_shadow.html.j2", lines=[text], table=table)


#: What ``rescore --followup-cases`` adds to a run's folder (when the ledger holds decisions).
FOLLOWUP_FILES: tuple[str, ...] = ("followup.json", "followup.html")


def known_models(runs_dir: Path, *model_dirs: Path | None) -> set[str]:
    """Every ``model_id`` this bureau ran: the runs' manifests (champions and challengers) and
    the given model folders' cards.

    Parameters
    ----------
    runs_dir : pathlib.Path
        The folder holding the runs (a run's parent); unreadable runs are passed over.
    *model_dirs : pathlib.Path or None
        Model folders whose ``card.json`` names a model in use (None is skipped).

    Returns
    -------
    set of str
    """
    from crossexec_ml.data import list_runs
    from crossexec_ml.model import CARD_FILE

    ids: set[str] = set()
    for run in list_runs(runs_dir) if runs_dir.is_dir() else []:
        for part in ("model", "challenger"):
            entry = run.manifest.get(part) or {}
            if entry.get("model_id"):
                ids.add(str(entry["model_id"]))
    for folder in model_dirs:
        if folder is not None:
            try:
                card = json.loads((folder / CARD_FILE).read_text(encoding="utf-8"))
                ids.add(str(card["model_id"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # the run's own checks refuse a broken model folder
    return ids


def proposed_cases(runs_dir: Path) -> pd.DataFrame:
    """Every case a run under ``runs_dir`` proposed, at its first proposal.

    Parameters
    ----------
    runs_dir : pathlib.Path
        The folder holding the runs; a run without a readable ``scored.parquet`` is passed
        over (an older or damaged run tells nothing about what it proposed).

    Returns
    -------
    pandas.DataFrame
        ``case_id, as_of_date, p_keep, proposed_at`` (the run's start, ISO UTC), one row per
        case, for :func:`crossexec_ml.evaluate.follow_up`'s ``proposals``.
    """
    from crossexec_ml.data import list_runs

    columns = ["case_id", "as_of_date", "p_keep", "proposed_at"]
    parts = []
    for run in list_runs(runs_dir) if runs_dir.is_dir() else []:
        try:
            # Only the proposed rows are read in: a year of province-sized runs stays small.
            scored = pd.read_parquet(
                run.folder / "scored.parquet",
                columns=["case_id", "as_of_date", "p_keep", "candidate"],
                filters=[("candidate", "==", True)],
            )
        except (OSError, ValueError, KeyError):
            continue
        try:
            started = pd.Timestamp(run.started_at)
        except ValueError:
            continue
        if pd.isna(started):  # a run that says not when it ran proposed at no known time
            continue
        chosen = scored[scored["candidate"].astype(bool)]
        started = (
            started.tz_localize("UTC") if started.tzinfo is None else started.tz_convert("UTC")
        )
        parts.append(
            chosen[columns[:3]].assign(
                case_id=chosen["case_id"].astype(str),
                proposed_at=started.isoformat(timespec="microseconds"),
            )
        )
    if not parts:
        return pd.DataFrame(columns=columns)
    every = pd.concat(parts, ignore_index=True).sort_values("proposed_at", kind="stable")
    return every.drop_duplicates("case_id", keep="first").reset_index(drop=True)


@dataclass
class RunFollowUp:
    """The follow-up a run writes beside its list (``rescore --followup-cases``).

    Attributes
    ----------
    source : pathlib.Path
        The later export with the outcomes.
    result : FollowUp or None
        None when the ledger holds no decision yet (the run says so; nothing to count).
    """

    source: Path
    result: FollowUp | None


def check_followup(
    ledger_path: Path | None,
    cases_path: Path,
    models: set[str],
    proposals: pd.DataFrame | None = None,
) -> tuple[RunFollowUp | None, str | None]:
    """Read the later export and follow the ledger's decisions up, before anything is written.

    Parameters
    ----------
    ledger_path : pathlib.Path or None
        ``--ledger``; required with ``--followup-cases``.
    cases_path : pathlib.Path
        ``--followup-cases``: a later export with ``closure_mode_180d`` and the other outcome
        columns.
    models : set of str
        :func:`known_models`: a ledger whose every decision names another model is refused.
    proposals : pandas.DataFrame, optional
        :func:`proposed_cases` of the earlier runs: proposed cases nobody decided are followed
        up too (the ``proposal`` table).

    Returns
    -------
    tuple
        ``(RunFollowUp, None)``, or ``(None, problem)`` with the sentence to refuse the run with.
    """
    from crossexec_ml.data import ValidationError, read_cases
    from crossexec_ml.decide import Ledger
    from crossexec_ml.errors import CrossExecError
    from crossexec_ml.evaluate import follow_up

    where = f"--followup-cases {cases_path}"
    if ledger_path is None:
        return None, f"{where}: give --ledger too, the decisions to follow up are in it"
    try:
        later = read_cases(cases_path)
        with Ledger(ledger_path, create=False, read_only=True) as ledger:
            decisions = ledger.rows(expand_scores=True)
        if decisions.empty:
            return RunFollowUp(cases_path, None), None
        result = follow_up(decisions, later, known_models=models, proposals=proposals)
        return RunFollowUp(cases_path, result), None
    except ValidationError as err:
        return None, f"{where}:\n{err.report.summary()}\n{err.report.problem_text()}"
    except CrossExecError as err:
        return None, f"{where}: {err}"


def add_followup(folder: Path, manifest: dict, followup: RunFollowUp | None) -> None:
    """Write the follow-up's files into a run's folder and record them in its manifest.

    Parameters
    ----------
    folder : pathlib.Path
        The run's (temporary) folder.
    manifest : dict
        The run's manifest, updated in place: ``followup`` (source file and SHA-256, counts or
        ``no_decisions``) and ``files``.
    followup : RunFollowUp or None
        None when the run had no ``--followup-cases`` (the manifest says so with None).
    """
    from crossexec_ml.jobs._pipeline import file_sha256
    from crossexec_ml.report import write_followup

    if followup is None:
        manifest["followup"] = None
        return
    entry: dict = {"cases": {"file": followup.source.name, "sha256": file_sha256(followup.source)}}
    result = followup.result
    if result is None:
        entry["status"] = "no_decisions"
    else:
        for name in FOLLOWUP_FILES:
            write_followup(result, folder / name)
        summary = result.to_json()
        entry.update(
            status="ok",
            n_cases=summary["n_cases"],
            n_known=summary["n_known"],
            n_undecided=summary["n_undecided"],
            n_corrections=summary["n_corrections"],
            n_other_model=summary["n_other_model"],
        )
        manifest["files"] = sorted({*manifest["files"], *FOLLOWUP_FILES})
    manifest["followup"] = entry
