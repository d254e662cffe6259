"""Figures of the leadership workspace: headline, team lists, past results, calibration."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from crossexec_ml.report._plots import MODEL_COLOUR, TODAY_COLOUR, _check_lang, _empty, _layout, _t
from crossexec_ml.text import RUNGS, rung_label, t

_RUNG_COLOURS = {
    "intra_team": "#1f5fa8",
    "inter_team": "#5fa2dd",
    "higher_court": "#e08a1e",
    "keep": "#bbbbbb",
}


def _d(key: str, lang: str) -> str:
    """A workspace figure's text: ``rung.<r>`` for a rung, else the catalogue's ``dash.<key>``."""
    if key in RUNGS:
        return rung_label(key, lang)
    return t(f"dash.{key}", lang)


def headline_compare_bars(head: Mapping[str, object], lang: str = "zh") -> go.Figure:
    """Two bars: extra resolutions the model expects from this cycle's list and from today's.

    Parameters
    ----------
    head : dict
        :func:`crossexec_ml.report.headline`.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace; the second bar (today's practice) is absent when the headline has no
        baseline, and an annotation says why.
    """
    _check_lang(lang)
    names = [_d("tool_list", lang)]
    values = [float(head["expected_extra_resolutions"])]
    colours = [MODEL_COLOUR]
    base = head.get("baseline_extra_resolutions")
    if base is not None:
        names.append(_d("today_list", lang))
        values.append(float(base))
        colours.append(TODAY_COLOUR)
    fig = go.Figure(
        go.Bar(
            x=names,
            y=values,
            marker_color=colours,
            text=[f"{v:.1f}" for v in values],
            textposition="auto",
            hovertemplate="%{x}: %{y:.1f}<extra></extra>",
        )
    )
    if base is None:
        fig.add_annotation(
            text=_d("no_baseline", lang), showarrow=False, x=0.5, y=1.0, xref="paper", yref="paper"
        )
    return _layout(fig, _d("compare", lang), "", _d("compare_y", lang))


def team_list_bars(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Stacked horizontal bars: this cycle's proposed cases per team, split by suggested rung.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`crossexec_ml.report.list_by_team`.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace per rung with at least one proposed case; ``y`` the team ids.
    """
    _check_lang(lang)
    teams = table["team_id"].astype(str).tolist()
    fig = go.Figure()
    for rung in ("intra_team", "inter_team", "higher_court", "keep"):
        col = f"n_{rung}"
        if col not in table or not table[col].sum():
            continue
        fig.add_trace(
            go.Bar(
                x=table[col].tolist(),
                y=teams,
                orientation="h",
                marker_color=_RUNG_COLOURS[rung],
                name=_d(rung, lang),
                hovertemplate="%{y}: %{x}<extra>" + _d(rung, lang) + "</extra>",
            )
        )
    fig.update_layout(barmode="stack", height=max(320, 28 * len(teams) + 120))
    fig.update_yaxes(autorange="reversed", type="category")
    return _layout(fig, _d("teams", lang), _d("n_candidates", lang), _d("team", lang))


def past_results_bars(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Stacked bars per team and rung: resolved, failed for an objective cause, failed otherwise.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`crossexec_ml.report.past_results`.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        Three bar traces (``n_resolved``, ``n_failed_objective``, ``n_failed_other``), ``x``
        "team · rung"; the hover adds the resolution rate and the amount recovered. An empty
        table gives a figure without traces that says so.
    """
    _check_lang(lang)
    if table.empty:
        return _empty(_d("past", lang), _d("past_empty", lang))
    labels = [
        f"{t} · {_d(r, lang)}"
        for t, r in zip(table["team_id"].astype(str), table["rung"].astype(str), strict=True)
    ]
    custom = table[["resolution_rate", "amount_recovered", "n_cases"]].copy()
    # Leaders read amounts in 万元 (past.column.amount_recovered): the table holds yuan.
    custom["amount_recovered"] = custom["amount_recovered"] / 1e4
    custom = custom.to_numpy()
    fig = go.Figure()
    for col, key, colour in (
        ("n_resolved", "resolved", MODEL_COLOUR),
        ("n_failed_objective", "failed_objective", TODAY_COLOUR),
        ("n_failed_other", "failed_other", "#e08a1e"),
    ):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=table[col].tolist(),
                marker_color=colour,
                name=_d(key, lang),
                customdata=custom,
                hovertemplate="%{x}: %{y} / %{customdata[2]}"
                "<br>%{customdata[0]:.0%} · %{customdata[1]:,.1f} "
                + t("unit.wan_yuan", lang)
                + "<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack")
    return _layout(fig, _d("past", lang), _d("team_rung", lang), _t("n_cases", lang))


def calibration_bars(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Predicted and observed resolution rate side by side per decile, for readers of bars.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`crossexec_ml.evaluate.calibration_table` /
        :func:`crossexec_ml.report.calibration_deciles` (``bin``, ``n``,
        ``mean_predicted``, ``observed_rate``).
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        Two grouped bar traces: predicted (model colour) and observed (grey), ``x`` the bins.
    """
    _check_lang(lang)
    bins = table["bin"].astype(int).astype(str).tolist()
    fig = go.Figure()
    for col, key, colour in (
        ("mean_predicted", "predicted", MODEL_COLOUR),
        ("observed_rate", "observed", TODAY_COLOUR),
    ):
        fig.add_trace(
            go.Bar(
                x=bins,
                y=table[col].tolist(),
                marker_color=colour,
                name=_d(key, lang),
                text=[f"{v:.0%}" for v in table[col]],
                textposition="outside",
                customdata=table[["n"]].to_numpy(),
                hovertemplate="%{x}: %{y:.1%} (n=%{customdata[0]})<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(fig, _d("calib", lang), _d("decile", lang), _d("rate", lang))
