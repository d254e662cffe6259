"""What the leadership dashboard shows, computed from files the package already wrote.

Pure functions (no file access, no widgets) over

* the scored list (``crossexec score`` / :func:`crossexec_ml.jobs.read_scored`),
* the historical cases (contract-typed, with ``cross_mode`` and the 180-day outcomes),
* the decision ledger's rows (:meth:`crossexec_ml.decide.Ledger.rows`),

so notebook ``04_leadership_dashboard`` only reads files and draws. Every figure is per court
and **team**, never per individual handler: no function here returns a handler column.
``终本`` (``closure_mode_180d == "terminate_current"``) is never counted as resolved.

Expected gains are the model's own estimates (probability under the suggested rung minus the
probability if the case is kept); the comparison with today's practice uses the same model's
probabilities for the list today's practice would pick (the oldest idle cases first, each sent
one rung up the ladder), so both numbers are estimates, not observed results.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossexec_ml.data import HARD_BONE_FLAGS
from crossexec_ml.evaluate import calibration_table, next_rung
from crossexec_ml.model import derived_features, rung_of
from crossexec_ml.report._html import render
from crossexec_ml.settings import PROB_COLUMNS, RUNGS
from crossexec_ml.text import LANGS, category_values, rung_label, t, t_pair, value_label

#: Today's practice the headline compares with: oldest idle first, next rung of the ladder.
BASELINE_NAME = "oldest_idle_first_next_rung"

#: Debtor states that make a failure objective (nothing a new handler could find or do).
OBJECTIVE_DEBTOR_STATUS: frozenset[str] = frozenset({"deceased", "deregistered", "bankruptcy"})

#: What :func:`past_results` cannot show, said instead of invented (catalogue ``past.note``).
PAST_RESULTS_NOTE: dict[str, str] = {lang: t("past.note", lang) for lang in LANGS}

_RUNG_INDEX = {r: i for i, r in enumerate(RUNGS)}


# --------------------------------------------------------------------------------------------
# This cycle: the scored list
# --------------------------------------------------------------------------------------------


def top_list(scored: pd.DataFrame, capacity: int | None = None) -> pd.DataFrame:
    """The cases proposed this cycle, in priority order.

    Parameters
    ----------
    scored : pandas.DataFrame
        The scored list.
    capacity : int, optional
        How many cases to propose; by default the list's own ``candidate`` cases (the capacity
        it was scored with).

    Returns
    -------
    pandas.DataFrame
        Rows of ``scored`` with a ``priority_rank``, sorted by it, at most ``capacity`` long.
    """
    ranked = scored[scored["priority_rank"].notna()].sort_values("priority_rank", kind="stable")
    if capacity is None:
        return ranked[ranked["candidate"].astype(bool)]
    if capacity < 0:
        raise ValueError(f"capacity must be >= 0, got {capacity}")
    return ranked.head(int(capacity))


def _with_case_columns(
    scored: pd.DataFrame, cases: pd.DataFrame | None, columns: tuple[str, ...]
) -> pd.DataFrame:
    """``scored`` with the given case columns joined on (case_id, as_of_date) when available."""
    wanted = [c for c in columns if c not in scored]
    if cases is None or not wanted:
        return scored
    key = ["case_id", "as_of_date"]
    extra = cases[[*key, *[c for c in wanted if c in cases]]].drop_duplicates(key)
    extra = extra.assign(
        case_id=extra["case_id"].astype("string"),
        as_of_date=pd.to_datetime(extra["as_of_date"]).astype("datetime64[ns]"),
    )
    left = scored.assign(
        case_id=scored["case_id"].astype("string"),
        as_of_date=pd.to_datetime(scored["as_of_date"]).astype("datetime64[ns]"),
    )
    return left.merge(extra, on=key, how="left", validate="many_to_one").set_axis(scored.index)


def _amount(frame: pd.DataFrame) -> pd.Series | None:
    if "amount_outstanding" not in frame:
        return None
    return pd.to_numeric(frame["amount_outstanding"].astype("Float64"), errors="coerce").astype(
        "float64"
    )


def headline(
    scored: pd.DataFrame,
    capacity: int | None = None,
    *,
    cases: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The headline numbers of this cycle.

    Parameters
    ----------
    scored : pandas.DataFrame
        The scored list.
    capacity : int, optional
        Cases to propose (default: the list's ``candidate`` cases).
    cases : pandas.DataFrame, optional
        The contract-typed cases that were scored. Needed for the amount
        (``amount_outstanding``) and for today's-practice baseline (``days_since_last_action``,
        ``ladder_stage``), unless ``scored`` carries those columns itself.

    Returns
    -------
    dict
        ``n_cases`` (rows scored), ``n_stalled`` (stalled and not yet decided), ``n_decided``
        (cases with a ledger decision), ``n_candidates``; ``expected_extra_resolutions``: sum of
        ``uplift`` over the candidates (extra resolutions within 180 days the model expects
        from moving them to their suggested rungs); ``expected_amount``: sum of ``uplift`` ×
        ``amount_outstanding`` (None without amounts); ``baseline``
        (:data:`BASELINE_NAME`), ``baseline_extra_resolutions`` and ``baseline_amount``: the
        same for the same number of cases picked as today (oldest idle first, next rung up),
        None without idle days and ladder stages; ``extra_vs_baseline``; ``rungs``
        (candidates per suggested rung); ``hard_bones`` (flag -> ``{"stock", "candidates"}``
        counts), ``any_hard_bone`` (the same for any flag); ``model_id`` and ``as_of_date``
        (latest screening date).
    """
    frame = _with_case_columns(
        scored, cases, ("amount_outstanding", "days_since_last_action", "ladder_stage")
    )
    ranked = frame[frame["priority_rank"].notna()]
    top = top_list(frame, capacity)
    k = len(top)
    amount = _amount(frame)

    uplift = top["uplift"].astype(float)
    extra = float(uplift.sum())
    exp_amount = None if amount is None else float((uplift * amount.loc[top.index]).sum())

    base_extra = base_amount = None
    if {"days_since_last_action", "ladder_stage"} <= set(frame.columns):
        idle = pd.to_numeric(ranked["days_since_last_action"], errors="coerce").fillna(0)
        order = np.lexsort(
            (ranked["priority_rank"].astype(float).to_numpy(), -idle.to_numpy(dtype=float))
        )
        pick = ranked.iloc[order[:k]]
        rung = next_rung(pick["ladder_stage"])
        p = pick[list(PROB_COLUMNS)].to_numpy(dtype=float)
        gains = p[np.arange(len(p)), rung] - p[:, 0]
        base_extra = float(gains.sum())
        if amount is not None:
            base_amount = float(
                np.nansum(gains * amount.loc[pick.index].to_numpy(dtype=float, na_value=np.nan))
            )

    stalled = (
        frame["stalled"].astype(bool) if "stalled" in frame else frame["priority_rank"].notna()
    )
    stock = frame[stalled]
    hard = {
        f: {"stock": int(stock[f].astype(bool).sum()), "candidates": int(top[f].astype(bool).sum())}
        for f in HARD_BONE_FLAGS
        if f in frame
    }
    flags = [f for f in HARD_BONE_FLAGS if f in frame]
    any_hard = {
        "stock": int(stock[flags].astype(bool).any(axis=1).sum()) if flags else 0,
        "candidates": int(top[flags].astype(bool).any(axis=1).sum()) if flags else 0,
    }
    rungs = top["suggested_rung"].astype(str).value_counts()
    decided = int(frame["decided_action"].notna().sum()) if "decided_action" in frame else 0
    model_ids = frame["model_id"].dropna().astype(str).unique() if "model_id" in frame else []
    return {
        "n_cases": int(len(frame)),
        "n_stalled": int(stalled.sum()),
        "n_decided": decided,
        "n_candidates": int(k),
        "expected_extra_resolutions": extra,
        "expected_amount": exp_amount,
        "baseline": BASELINE_NAME,
        "baseline_extra_resolutions": base_extra,
        "baseline_amount": base_amount,
        "extra_vs_baseline": None if base_extra is None else extra - base_extra,
        "rungs": {r: int(rungs.get(r, 0)) for r in RUNGS},
        "hard_bones": hard,
        "any_hard_bone": any_hard,
        "model_id": ", ".join(model_ids),
        "as_of_date": (str(pd.Timestamp(frame["as_of_date"].max()).date()) if len(frame) else None),
    }


def list_by_team(scored: pd.DataFrame, capacity: int | None = None) -> pd.DataFrame:
    """Stalled cases and this cycle's candidates per court and team, by suggested rung.

    Parameters
    ----------
    scored : pandas.DataFrame
        The scored list.
    capacity : int, optional
        As in :func:`headline`.

    Returns
    -------
    pandas.DataFrame
        One row per (``court_id``, ``team_id``) with stalled cases: ``n_stalled``,
        ``n_candidates``, ``n_intra_team``, ``n_inter_team``, ``n_higher_court``, ``n_keep``
        (candidates per suggested rung; ``keep`` only when a floor lifted a case with no gain),
        ``n_hard_bone`` (candidates with any flag), ``expected_extra`` (sum of their
        ``uplift``). Sorted by candidates (most first), then court and team. No handler column.
    """
    key = ["court_id", "team_id"]
    stalled = scored["stalled"].astype(bool) if "stalled" in scored else scored.index.notna()
    base = (
        scored[stalled]
        .assign(**{k: scored.loc[stalled, k].astype(str) for k in key})
        .groupby(key, sort=True)
        .size()
        .rename("n_stalled")
        .to_frame()
    )
    top = top_list(scored, capacity)
    top = top.assign(**{k: top[k].astype(str) for k in key})
    flags = [f for f in HARD_BONE_FLAGS if f in top]
    top = top.assign(
        rung=top["suggested_rung"].astype(str),
        any_flag=top[flags].astype(bool).any(axis=1) if flags else False,
        uplift=top["uplift"].astype(float),
    )
    counts = pd.crosstab([top[k] for k in key], top["rung"]).reindex(
        columns=list(RUNGS), fill_value=0
    )
    counts.columns = [f"n_{r}" for r in counts.columns]
    agg = top.groupby(key, sort=True).agg(
        n_candidates=("rung", "size"),
        n_hard_bone=("any_flag", "sum"),
        expected_extra=("uplift", "sum"),
    )
    table = base.join(agg, how="outer").join(counts, how="left").fillna(0).reset_index()
    ints = ["n_stalled", "n_candidates", *counts.columns, "n_hard_bone"]
    table[ints] = table[ints].astype(int)
    table["expected_extra"] = table["expected_extra"].astype(float)
    cols = [
        *key,
        "n_stalled",
        "n_candidates",
        "n_intra_team",
        "n_inter_team",
        "n_higher_court",
        "n_keep",
        "n_hard_bone",
        "expected_extra",
    ]
    table = table.sort_values(["n_candidates", *key], ascending=[False, True, True])
    return table[cols].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Past results: the history (and the ledger)
# --------------------------------------------------------------------------------------------


def _decided_keys(ledger_rows: pd.DataFrame | None) -> tuple[set, set]:
    """(case_id, as_of_date) pairs and bare case ids that have a ledger decision."""
    if ledger_rows is None or ledger_rows.empty:
        return set(), set()
    with_date, bare = set(), set()
    for cid, day in zip(
        ledger_rows["case_id"].astype(str),
        ledger_rows.get("as_of_date", pd.Series(None, index=ledger_rows.index)),
        strict=True,
    ):
        if day is None or (isinstance(day, float) and np.isnan(day)) or day is pd.NA:
            bare.add(cid)
        else:
            with_date.add((cid, str(pd.Timestamp(day).date())))
    return with_date, bare


def past_results(
    history: pd.DataFrame,
    ledger_rows: pd.DataFrame | None = None,
    *,
    include_keep: bool = False,
) -> pd.DataFrame:
    """What cross-execution achieved before, per court, team and rung actually taken.

    Parameters
    ----------
    history : pandas.DataFrame
        Contract-typed historical cases with ``cross_mode`` and the 180-day outcomes; rows
        without a treatment or an outcome are left out.
    ledger_rows : pandas.DataFrame, optional
        :meth:`crossexec_ml.decide.Ledger.rows`: ``n_in_ledger`` counts the cases that were
        decided through the tool (same case and screening date; a decision without a date
        matches the case id).
    include_keep : bool
        Also show the cases that were kept with their handler (rung ``keep``), for comparison.

    Returns
    -------
    pandas.DataFrame
        One row per (``court_id``, ``team_id``, ``rung``): ``n_cases``, ``n_resolved``,
        ``resolution_rate``, ``n_terminate_current`` (终本, shown, never counted as resolved),
        ``amount_recovered`` (yuan, 180 days), ``petitions_before`` (sum of
        ``petition_count``), ``share_petition_before`` (cases with at least one),
        ``share_new_petition_after`` (``new_petition_180d``), ``n_failed``,
        ``n_failed_objective`` (no material assets found, or the debtor deceased, deregistered
        or bankrupt), ``n_failed_other``, ``n_in_ledger``. ``attrs["note"]`` holds
        :data:`PAST_RESULTS_NOTE` (time to result is not in the data contract). No handler
        column.
    """
    rows = history[history["cross_mode"].notna() & history["resolved_180d"].notna()]
    rows = rows.reset_index(drop=True)
    rung = rung_of(rows["cross_mode"]).astype(str)
    closure = rows["closure_mode_180d"].astype("string")
    terminate = (closure == "terminate_current").fillna(False).to_numpy(dtype=bool)
    resolved = rows["resolved_180d"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    resolved &= ~terminate
    material = derived_features(rows)["material_assets"].fillna(0).to_numpy() > 0
    gone = rows["debtor_status"].astype("string").isin(OBJECTIVE_DEBTOR_STATUS)
    objective = ~material | gone.fillna(False).to_numpy(dtype=bool)
    petitions = pd.to_numeric(rows["petition_count"].astype("Float64"), errors="coerce")
    new_pet = rows["new_petition_180d"].astype("boolean")
    recovered = pd.to_numeric(rows["amount_recovered_180d"].astype("Float64"), errors="coerce")
    with_date, bare = _decided_keys(ledger_rows)
    in_ledger = [
        (cid, str(pd.Timestamp(day).date())) in with_date or cid in bare
        for cid, day in zip(rows["case_id"].astype(str), rows["as_of_date"], strict=True)
    ]
    frame = pd.DataFrame(
        {
            "court_id": rows["court_id"].astype(str),
            "team_id": rows["team_id"].astype(str),
            "rung": rung,
            "resolved": resolved,
            "terminate": terminate,
            "recovered": recovered.astype("float64"),
            "petitions": petitions.astype("float64"),
            "petition_before": (petitions > 0).astype("float64").where(petitions.notna()),
            "new_petition": new_pet.astype("Float64").astype("float64"),
            "failed": ~resolved,
            "failed_objective": ~resolved & objective,
            "failed_other": ~resolved & ~objective,
            "in_ledger": np.asarray(in_ledger, dtype=bool),
        }
    )
    if not include_keep:
        frame = frame[frame["rung"] != "keep"]
    key = ["court_id", "team_id", "rung"]
    table = frame.groupby(key, sort=False).agg(
        n_cases=("resolved", "size"),
        n_resolved=("resolved", "sum"),
        n_terminate_current=("terminate", "sum"),
        amount_recovered=("recovered", "sum"),
        petitions_before=("petitions", "sum"),
        share_petition_before=("petition_before", "mean"),
        share_new_petition_after=("new_petition", "mean"),
        n_failed=("failed", "sum"),
        n_failed_objective=("failed_objective", "sum"),
        n_failed_other=("failed_other", "sum"),
        n_in_ledger=("in_ledger", "sum"),
    )
    table = table.reset_index()
    table.insert(5, "resolution_rate", table["n_resolved"] / table["n_cases"])
    counts = [
        "n_cases",
        "n_resolved",
        "n_terminate_current",
        "n_failed",
        "n_failed_objective",
        "n_failed_other",
        "n_in_ledger",
    ]
    table[counts] = table[counts].astype(int)
    table["petitions_before"] = table["petitions_before"].astype(int)
    table["_r"] = table["rung"].map(_RUNG_INDEX)
    table = table.sort_values(["court_id", "team_id", "_r"]).drop(columns="_r")
    table = table.reset_index(drop=True)
    table.attrs["note"] = dict(PAST_RESULTS_NOTE)
    return table


def ledger_summary(
    ledger_rows: pd.DataFrame | None, scored: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Decisions recorded so far: latest decision per case, counted per team and action.

    Parameters
    ----------
    ledger_rows : pandas.DataFrame or None
        :meth:`crossexec_ml.decide.Ledger.rows`; None or empty (no ledger yet) gives an empty
        table.
    scored : pandas.DataFrame, optional
        Gives each case its court and team; without it (or for a case not in it) they are
        ``"?"``.

    Returns
    -------
    pandas.DataFrame
        ``court_id``, ``team_id``, ``action``, ``n_cases``. Decided-by codes are not shown.
    """
    cols = ["court_id", "team_id", "action", "n_cases"]
    if ledger_rows is None or ledger_rows.empty:
        return pd.DataFrame(columns=cols)
    latest = ledger_rows.sort_values("seq").drop_duplicates("case_id", keep="last")
    latest = latest.assign(case_id=latest["case_id"].astype(str))
    if scored is not None:
        teams = scored[["case_id", "court_id", "team_id"]].astype(str).drop_duplicates("case_id")
        latest = latest.merge(teams, on="case_id", how="left")
    for c in ("court_id", "team_id"):
        latest[c] = latest[c].fillna("?") if c in latest else "?"
    table = latest.groupby(["court_id", "team_id", "action"], sort=True).size()
    return table.rename("n_cases").reset_index()[cols]


def calibration_deciles(history: pd.DataFrame, model: Any, n_bins: int = 10) -> pd.DataFrame:
    """Predicted against observed resolution for the rung each historical case actually took.

    When the model was fitted on these rows (as ``crossexec train`` does on all its history)
    this is in-sample and flatters the model; the honest view is the back-test's calibration
    (``crossexec evaluate``). 终本 is not counted as resolved.

    Parameters
    ----------
    history : pandas.DataFrame
        Contract-typed historical cases with ``cross_mode`` and ``resolved_180d``.
    model : CrossExecModel
        A fitted model (``predict_taken``).
    n_bins : int
        Quantile bins of the predicted probability (deciles by default).

    Returns
    -------
    pandas.DataFrame
        :func:`crossexec_ml.evaluate.calibration_table`: ``bin`` (1 = lowest), ``n``,
        ``mean_predicted``, ``observed_rate``.
    """
    rows = history[history["cross_mode"].notna() & history["resolved_180d"].notna()]
    rows = rows.reset_index(drop=True)
    closure = rows["closure_mode_180d"].astype("string")
    terminate = (closure == "terminate_current").fillna(False).to_numpy(dtype=bool)
    y = rows["resolved_180d"].astype("boolean").fillna(False).to_numpy(dtype=bool) & ~terminate
    if not len(rows):
        return pd.DataFrame(columns=["bin", "n", "mean_predicted", "observed_rate"])
    return calibration_table(y, model.predict_taken(rows), n_bins=n_bins)


# --------------------------------------------------------------------------------------------
# Headline tiles
# --------------------------------------------------------------------------------------------

#: Leaders' names of the rungs: rung -> (zh, en), the catalogue's short ``rung.<r>``.
RUNG_TEXT: dict[str, tuple[str, str]] = {
    r: (rung_label(r, "zh"), rung_label(r, "en")) for r in RUNGS
}


def headline_html(head: Mapping[str, Any], lang: str = "zh") -> str:
    """The headline numbers as HTML tiles (for ``IPython.display.HTML`` or ``ipywidgets.HTML``).

    Each tile has the CSS class ``crossexec-tile`` and a ``data-key`` attribute, so a browser
    test can find it. Labels are the catalogue's ``tile.*``; rungs are named by
    :func:`crossexec_ml.text.rung_label`.

    Parameters
    ----------
    head : mapping
        From :func:`headline`.
    lang : {"zh", "en"}

    Returns
    -------
    str
        The fragment of template ``headline.html.j2``.

    Raises
    ------
    ValueError
        For a ``lang`` other than ``"zh"`` or ``"en"``.
    """
    na = t("tile.na", lang)  # checks lang

    def num(value: float | None, fmt: str) -> str:
        return na if value is None else format(value, fmt)

    amount = head.get("expected_amount")
    rungs = " · ".join(
        f"{rung_label(r, lang)} {n}" for r, n in head.get("rungs", {}).items() if n and r != "keep"
    )
    hard = head["any_hard_bone"]
    tiles = [
        ("stalled", f"{head['n_stalled']:,}", ""),
        ("candidates", f"{head['n_candidates']:,}", rungs),
        ("extra", num(head["expected_extra_resolutions"], ".1f"), ""),
        ("baseline", num(head.get("baseline_extra_resolutions"), ".1f"), ""),
        ("amount", num(None if amount is None else amount / 1e4, ",.0f"), ""),
        ("hard", f"{hard['candidates']:,}", f"/ {hard['stock']:,}"),
        ("decided", f"{head['n_decided']:,}", ""),
    ]
    return render(
        "headline.html.j2",
        tiles=[
            {"key": key, "label": t(f"tile.{key}", lang), "value": value, "sub": sub}
            for key, value, sub in tiles
        ],
        estimate=t("tile.estimate", lang),
    )


@dataclass
class DashboardInputs:
    """Everything the dashboard reads, or the one problem that stopped it.

    Attributes
    ----------
    scored, cases, history : pandas.DataFrame or None
    model, card : the loaded model and its card, or None
    ledger_rows : pandas.DataFrame or None
        None when no ledger exists yet (no decision recorded: not an error).
    problem : str
        Empty when everything loaded; otherwise one sentence saying what is missing and how to
        fix it, shown in place of the dashboard (Voilà hides exception messages).
    """

    scored: pd.DataFrame | None = None
    cases: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    model: Any = None
    card: dict | None = None
    ledger_rows: pd.DataFrame | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        """True when every input loaded."""
        return not self.problem

    def problem_html(self, lang: str = "zh") -> str:
        """The problem as a visible, escaped HTML notice."""
        return render("notice.html.j2", head=t("dash.cannot_show", lang), text=self.problem)


def load_inputs(
    scored_path: str | os.PathLike[str],
    cases_path: str | os.PathLike[str] | None,
    history_path: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    ledger_path: str | os.PathLike[str],
) -> DashboardInputs:
    """Read the dashboard's inputs; any unreadable input becomes ``problem``, never a crash.

    Parameters
    ----------
    scored_path : path-like
        Scored list (``.parquet`` or ``.csv``) from ``crossexec score``.
    cases_path : path-like or None
        The scored export (adds amounts and idle days to the headline); empty to skip.
    history_path : path-like
        Historical cases with outcomes.
    model_dir : path-like
        The model that scored the list.
    ledger_path : path-like
        Decision ledger; a missing file means no decision yet.

    Returns
    -------
    DashboardInputs
    """
    from crossexec_ml.data import read_cases, read_scored
    from crossexec_ml.decide import Ledger
    from crossexec_ml.errors import InputError, LedgerError, ModelFileError
    from crossexec_ml.model import load_model

    out = DashboardInputs()
    try:
        out.scored = read_scored(scored_path)
        out.cases = read_cases(cases_path) if cases_path else None
        out.history = read_cases(history_path)
        out.model, out.card = load_model(model_dir)
        if Path(ledger_path).exists():
            with Ledger(ledger_path, create=False) as ledger:
                out.ledger_rows = ledger.rows()
    except (InputError, ModelFileError, LedgerError) as err:
        first = str(err).splitlines()[0]
        out.problem = f"{first} (run `make demo` first, or fix the path in the parameters)"
    return out


# --------------------------------------------------------------------------------------------
# Display tables: the dashboard's tables with leaders' column names, in either language
# --------------------------------------------------------------------------------------------

#: The team table's columns under leaders' names: column -> (zh, en), ``team.column.<c>``.
TEAM_COLUMNS: dict[str, tuple[str, str]] = {
    c: t_pair(f"team.column.{c}")
    for c in (
        "court_id",
        "team_id",
        "n_stalled",
        "n_candidates",
        "n_intra_team",
        "n_inter_team",
        "n_higher_court",
        "n_keep",
        "n_hard_bone",
        "expected_extra",
    )
}
#: The past-results table's columns: column -> (zh, en), ``past.column.<c>``. The amount is
#: shown in 万元 (:func:`labelled` divides it; :func:`past_results` keeps yuan).
PAST_COLUMNS: dict[str, tuple[str, str]] = {
    c: t_pair(f"past.column.{c}")
    for c in (
        "court_id",
        "team_id",
        "rung",
        "n_cases",
        "n_resolved",
        "resolution_rate",
        "n_terminate_current",
        "amount_recovered",
        "petitions_before",
        "share_petition_before",
        "share_new_petition_after",
        "n_failed_objective",
        "n_failed_other",
        "n_in_ledger",
    )
}

#: Columns of the display tables that hold yuan and are shown in 万元 (their labels say so).
_WAN_YUAN_COLUMNS = frozenset({"amount_recovered"})

#: Columns of the display tables that hold a rung code.
_RUNG_COLUMNS = frozenset({"rung", "suggested_rung"})


def _shown_values(column: str, values: pd.Series, lang: str) -> pd.Series:
    """The cells of one display column as a leader reads them (labels, 是/否, 万元)."""
    if column in _WAN_YUAN_COLUMNS:
        return pd.to_numeric(values, errors="coerce") / 1e4
    if column in _RUNG_COLUMNS:
        return values.map(lambda r: rung_label(str(r), lang), na_action="ignore")
    if column in category_values() or pd.api.types.is_bool_dtype(values.dtype):
        return values.map(lambda v: value_label(column, v, lang))
    return values


def labelled(table: pd.DataFrame, columns: Mapping[str, tuple[str, str]], lang: str = "zh"):
    """The listed columns of a table under leaders' names, as a pandas Styler for display.

    Parameters
    ----------
    table : pandas.DataFrame
        A display table (:func:`list_by_team`, :func:`past_results`, drift checks, ...).
    columns : mapping of str to (str, str)
        Column -> (zh, en) header, e.g. :data:`TEAM_COLUMNS`; other columns are not shown.
    lang : {"zh", "en"}

    Returns
    -------
    pandas.io.formats.style.Styler
        Rungs, category values and booleans read as labels (是/否), amounts in 万元.

    Raises
    ------
    ValueError
        For a ``lang`` other than ``"zh"`` or ``"en"``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    i = LANGS.index(lang)
    shown = table[[c for c in columns if c in table]]
    shown = shown.apply(lambda s: _shown_values(str(s.name), s, lang))
    return (
        shown.rename(columns={k: v[i] for k, v in columns.items()})
        .style.format(precision=2, thousands=",", escape="html")
        .hide(axis="index")
    )


def calibration_text(calib: pd.DataFrame, card: Mapping[str, Any], lang: str = "zh") -> str:
    """One sentence a leader can read: the top decile and the honest back-test figures."""
    pooled = card.get("metrics", {}).get("pooled", {})
    auc, ece = pooled.get("auc", float("nan")), pooled.get("ece", float("nan"))
    top = calib.iloc[-1]
    if lang == "zh":
        return (
            f"预测概率最高的一组（{int(top['n'])}件）：预测化解率 {top['mean_predicted']:.0%}，"
            f"实际化解率 {top['observed_rate']:.0%}。时间回测：AUC {auc:.2f}，"
            f"校准误差 {ece:.1%}。模型版本 {card['model_id']}。"
        )
    return (
        f"Highest group ({int(top['n'])} cases): predicted {top['mean_predicted']:.0%}, "
        f"observed {top['observed_rate']:.0%}. Temporal back-test: AUC {auc:.2f}, "
        f"calibration error {ece:.1%}. Model {card['model_id']}."
    )
