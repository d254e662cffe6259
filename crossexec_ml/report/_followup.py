"""The follow-up of recorded decisions as leaders read it: tables, a page, a workbook, JSON.

The counting is :func:`crossexec_ml.evaluate.follow_up`; this module only labels and formats
(rates as percents, amounts in 万元, intervals as "a%–b%") and writes atomically.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from crossexec_ml.data import atomic_path, write_table
from crossexec_ml.decide import ACTIONS
from crossexec_ml.errors import InputError
from crossexec_ml.evaluate import FOLLOWUP_GROUPINGS, Comparison, FollowUp
from crossexec_ml.report._html import render
from crossexec_ml.report._plots import MODEL_COLOUR, REFERENCE_COLOUR, _check_lang, _empty, _layout
from crossexec_ml.text import fmt_percent, fmt_points, fmt_wan_yuan, t, value_label

_COUNTS = ("n_decided", "n_known", "n_resolved", "n_terminate_current", "n_open")


def _key_cell(grouping: str, value: object, lang: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return t("followup.none", lang)
    if grouping == "action":
        return t(f"action.{value}", lang)
    if grouping == "rung":
        return t(f"rung.{value}.full", lang)
    if grouping == "proposal":
        return t(f"followup.proposal.{value}", lang)
    return value_label(grouping, value, lang) if grouping != "month" else str(value)


def followup_verdict(row: dict, lang: str = "zh") -> str:
    """Whether the prediction held for one group: inside the realised rate's 95% interval
    (与预测相符), below it (好于预测: more resolved than predicted) or above it (低于预测).

    Parameters
    ----------
    row : dict
        One row of a follow-up table (``n_known``, ``predicted_rate``, ``ci_low``, ``ci_high``).
    lang : {"zh", "en"}

    Returns
    -------
    str
        尚无结果 without a known outcome; 无预测 for decisions off the ladder.
    """
    low, high, predicted = row.get("ci_low"), row.get("ci_high"), row.get("predicted_rate")
    if not row.get("n_known"):
        return t("followup.verdict.unknown", lang)
    if predicted is None or low is None or pd.isna(predicted) or pd.isna(low):
        return t("followup.verdict.no_prediction", lang)
    if predicted < low:
        return t("followup.verdict.better", lang)
    if predicted > high:
        return t("followup.verdict.worse", lang)
    return t("followup.verdict.held", lang)


def followup_tables(result: FollowUp, lang: str = "zh") -> dict[str, pd.DataFrame]:
    """Every follow-up table with headers and values as a leader reads them.

    Parameters
    ----------
    result : FollowUp
        From :func:`crossexec_ml.evaluate.follow_up`.
    lang : {"zh", "en"}

    Returns
    -------
    dict of str to pandas.DataFrame
        Keyed by the table's title (按决定, 按层级, 按法院, 按团队, 按决定月份, 按是否提议:
        what became of the cases the list proposed, undecided ones included); every cell is
        text. The realised rate, its interval, the predicted rate and whether the prediction
        held (:func:`followup_verdict`) stand side by side.
    """
    out = {}
    for grouping in FOLLOWUP_GROUPINGS:
        table = result.tables.get(grouping)
        if table is None:  # a follow-up written before the proposal table existed
            continue
        frame = pd.DataFrame(
            {
                t(f"followup.by.{grouping}", lang): [
                    _key_cell(grouping, v, lang) for v in table[grouping]
                ]
            }
        )
        for col in _COUNTS:
            # The proposal table also counts proposed cases nobody decided: 案件数, not 决定案件数.
            key = "n_cases" if grouping == "proposal" and col == "n_decided" else col
            frame[t(f"followup.col.{key}", lang)] = table[col].astype(int).astype(str)
        frame[t("followup.col.realised_rate", lang)] = [
            fmt_percent(v, lang) for v in table["realised_rate"]
        ]
        frame[t("followup.col.ci", lang)] = [
            t("missing", lang)
            if pd.isna(lo)
            else f"{fmt_percent(lo, lang)}–{fmt_percent(hi, lang)}"
            for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
        ]
        frame[t("followup.col.predicted_rate", lang)] = [
            fmt_percent(v, lang) for v in table["predicted_rate"]
        ]
        frame[t("followup.col.verdict", lang)] = [
            followup_verdict(r, lang) for r in table.to_dict("records")
        ]
        frame[t("followup.col.amount_recovered", lang)] = [
            fmt_wan_yuan(v, lang) for v in table["amount_recovered"]
        ]
        frame[t("followup.col.median_days_to_result", lang)] = [
            t("missing", lang) if pd.isna(v) else f"{v:.0f}" for v in table["median_days_to_result"]
        ]
        out[t(f"followup.title.{grouping}", lang)] = frame
    return out


#: The per-case detail sheet's columns, in order (labels: the catalogue's ``followup.detail.*``).
DETAIL_COLUMNS: tuple[str, ...] = (
    "case_id",
    "seq",
    "action",
    "rung",
    "proposal",
    "decided_at",
    "court_id",
    "team_id",
    "outcome",
    "amount_recovered",
    "days_to_result",
    "predicted",
    "earlier_decisions",
)


def _beijing_time(utc_iso: object) -> str:
    """A ledger ``decided_at`` (UTC ISO) as Beijing time ``YYYY-MM-DD HH:MM``."""
    stamp = pd.Timestamp(str(utc_iso))
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert("Asia/Shanghai").strftime("%Y-%m-%d %H:%M")


def _trail_text(trail: str, lang: str) -> str:
    """The detail's correction trail with each action named as leaders name it."""
    words = [t(f"action.{w}", lang) if w in ACTIONS else w for w in trail.split(" ")]
    return " ".join(words)


def followup_detail(result: FollowUp, lang: str = "zh") -> pd.DataFrame:
    """One row per followed-up case as a leader reads it: decision, outcome, prediction, trail.

    A proposed case nobody decided has no ledger row or decision: its row shows the run's
    proposal time and 提议未决定.

    Parameters
    ----------
    result : FollowUp
    lang : {"zh", "en"}

    Returns
    -------
    pandas.DataFrame
        :data:`DETAIL_COLUMNS` under their labels; 终本 reads 终本, never 已化解; the amount
        in 万元; earlier decisions of a corrected case, oldest first.
    """
    d = result.detail

    def outcome(r: pd.Series) -> str:
        if not r["known"]:
            return t("followup.outcome.unknown", lang)
        if r["resolved"]:
            return t("followup.outcome.resolved", lang)
        key = "terminate_current" if r["terminate_current"] else "open"
        return t(f"followup.outcome.{key}", lang)

    frame = pd.DataFrame(
        {
            "case_id": d["case_id"].astype(str),
            "seq": d["seq"].where(d["seq"] > 0).astype("Int64"),
            "action": [t(f"action.{a}", lang) if a in ACTIONS else "" for a in d["action"]],
            "rung": [_key_cell("rung", r, lang) for r in d["rung"]],
            "proposal": [
                _key_cell("proposal", p, lang)
                for p in d.get("proposal", pd.Series("unrecorded", d.index))
            ],
            "decided_at": [_beijing_time(v) for v in d["decided_at"]],
            "court_id": d["court_id"].astype(str),
            "team_id": d["team_id"].astype(str),
            "outcome": d.apply(outcome, axis=1) if len(d) else [],
            "amount_recovered": [fmt_wan_yuan(v, lang) for v in d["amount_recovered"]],
            "days_to_result": [
                "" if pd.isna(v) or not (r or c) else f"{v:.0f}"
                for v, r, c in zip(
                    d["days_to_result"], d["resolved"], d["terminate_current"], strict=True
                )
            ],
            "predicted": [fmt_percent(v, lang) for v in d["predicted"]],
            "earlier_decisions": [_trail_text(v, lang) for v in d["earlier_decisions"]],
        }
    )
    return frame.rename(columns={c: t(f"followup.detail.{c}", lang) for c in DETAIL_COLUMNS})


def followup_plot(result: FollowUp, by: str = "rung", lang: str = "zh") -> go.Figure:
    """Realised resolution rate (with its 95% interval) against the rate predicted at decision.

    Parameters
    ----------
    result : FollowUp
    by : str
        One of :data:`crossexec_ml.evaluate.FOLLOWUP_GROUPINGS`.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        One bar per group with a known outcome, error bars for the interval, a marker for the
        predicted rate; an empty figure saying why when no outcome is known yet.
    """
    _check_lang(lang)
    title = t("followup.plot.title", lang)
    table = result.tables[by]
    table = table[table["n_known"] > 0]
    if table.empty:
        return _empty(title, t("followup.plot.none_known", lang))
    names = [_key_cell(by, v, lang) for v in table[by]]
    realised = table["realised_rate"].to_numpy()
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=realised,
        name=t("followup.col.realised_rate", lang),
        marker_color=MODEL_COLOUR,
        error_y={
            "type": "data",
            "symmetric": False,
            "array": table["ci_high"].to_numpy() - realised,
            "arrayminus": realised - table["ci_low"].to_numpy(),
        },
        customdata=table["n_known"].to_numpy(),
        hovertemplate="%{x}: %{y:.0%} (n=%{customdata})<extra></extra>",
    )
    fig.add_scatter(
        x=names,
        y=table["predicted_rate"].to_numpy(),
        mode="markers",
        marker={"symbol": "diamond", "size": 12, "color": REFERENCE_COLOUR},
        name=t("followup.col.predicted_rate", lang),
        hovertemplate="%{x}: %{y:.0%}<extra></extra>",
    )
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(fig, title, t(f"followup.by.{by}", lang), t("followup.plot.y", lang))


def followup_html(result: FollowUp, lang: str = "zh") -> str:
    """The follow-up as one self-contained HTML page (no script, nothing fetched).

    Parameters
    ----------
    result : FollowUp
    lang : {"zh", "en"}

    Returns
    -------
    str
    """
    tables = [
        {"title": title, "header": list(frame.columns), "rows": frame.to_numpy().tolist()}
        for title, frame in followup_tables(result, lang).items()
    ]
    counts = result.to_json()
    note = t(
        "followup.note", lang, n_cases=counts["n_cases"], n_corrections=len(result.corrections)
    )
    if counts["n_undecided"]:  # the sentence explains a row that only the runs can add
        note += t("followup.note.undecided", lang, n_undecided=counts["n_undecided"])
    return render(
        "followup_page.html.j2",
        lang=lang,
        title=t("followup.title", lang),
        note=note,
        tables=tables,
    )


def write_followup(result: FollowUp, path: str | os.PathLike[str], lang: str = "zh") -> Path:
    """Write the follow-up atomically as ``.html``, ``.xlsx`` (one sheet per table, then the
    per-case detail and the corrections) or ``.json`` (:meth:`FollowUp.to_json`).

    Parameters
    ----------
    result : FollowUp
    path : path-like
    lang : {"zh", "en"}
        Language of the page and the workbook.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        For any other extension (nothing is written).
    """
    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix == ".json":
        with atomic_path(dest) as tmp:
            tmp.write_text(
                json.dumps(result.to_json(), ensure_ascii=False, indent=1), encoding="utf-8"
            )
        return dest
    if suffix == ".html":
        with atomic_path(dest) as tmp:
            tmp.write_text(followup_html(result, lang), encoding="utf-8")
        return dest
    if suffix == ".xlsx":
        sheets = followup_tables(result, lang)
        first, *rest = sheets
        extra = {name: sheets[name] for name in rest}
        extra[t("followup.sheet.detail", lang)] = followup_detail(result, lang)
        if not result.corrections.empty:
            c = result.corrections
            extra[t("followup.sheet.corrections", lang)] = pd.DataFrame(
                {
                    t("followup.detail.case_id", lang): c["case_id"].astype(str),
                    t("followup.detail.seq", lang): c["seq"].astype(int),
                    t("followup.detail.action", lang): [
                        t(f"action.{a}", lang) for a in c["action"]
                    ],
                    t("followup.detail.decided_at", lang): [
                        _beijing_time(v) for v in c["decided_at"]
                    ],
                }
            )
        return write_table(sheets[first], dest, sheet_name=first, extra_sheets=extra)
    raise InputError(
        f"{dest.name}: cannot write a follow-up as {suffix or 'no extension'}; "
        "use .html, .xlsx or .json"
    )


def comparison_table(result: Comparison, lang: str = "zh") -> pd.DataFrame:
    """A champion/challenger comparison as a leader reads it: one row per model, then the
    difference and the verdict.

    Parameters
    ----------
    result : Comparison
        From :func:`crossexec_ml.evaluate.compare_models`.
    lang : {"zh", "en"}

    Returns
    -------
    pandas.DataFrame
        Text cells: model, resolution rate had its list been followed, its 95% interval, and
        the randomised rows that match its rungs.
    """

    def rate(x: float) -> str:
        return t("missing", lang) if pd.isna(x) else fmt_percent(x, lang)

    rows = [
        [
            t(f"compare.role.{role}", lang) + f" · {name}",
            rate(result.value[name]),
            f"{rate(result.value_ci[name][0])}–{rate(result.value_ci[name][1])}",
            str(result.n_matched[name]),
        ]
        for role, name in zip(("champion", "challenger"), result.names, strict=True)
    ]
    low, high = result.difference_ci
    rows.append(
        [
            t("compare.difference", lang),
            fmt_points(result.difference, lang),
            f"{fmt_points(low, lang)} – {fmt_points(high, lang)}",
            t(f"compare.verdict.{result.verdict}", lang),
        ]
    )
    header = [t(f"compare.col.{c}", lang) for c in ("model", "value", "ci", "matched")]
    return pd.DataFrame(rows, columns=header)
