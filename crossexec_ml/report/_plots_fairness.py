"""Figures of the fairness audit: ratios to the reference group and the cases not picked."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from crossexec_ml.report._plots import (
    MODEL_COLOUR,
    RANDOM_COLOUR,
    REFERENCE_COLOUR,
    TODAY_COLOUR,
    _check_lang,
    _empty,
    _layout,
)
from crossexec_ml.text import t

_VERDICT_COLOURS = {"flag": "#c0392b", "watch": "#e08a1e", "ok": MODEL_COLOUR}


def _f(key: str, lang: str) -> str:
    """A fairness figure's text: the catalogue's ``fair_plot.<key>``."""
    return t(f"fair_plot.{key}", lang)


def fairness_ratio_plot(
    disparities: pd.DataFrame,
    metric: str = "selection_rate",
    lang: str = "zh",
    *,
    band: tuple[float, float] = (0.8, 1.25),
    tolerance: float = 0.05,
) -> go.Figure:
    """Each group's ratio (or difference) to its reference group, with its interval and band.

    Parameters
    ----------
    disparities : pandas.DataFrame
        ``FairnessAudit.disparities`` (:func:`crossexec_ml.evaluate.fairness_audit`).
    metric : str
        One of its ``metric`` values.
    lang : {"zh", "en"}
    band : (float, float)
        The ``ok`` band of ratios (the audit's ``FairnessSettings.band``), shaded.
    tolerance : float
        The ``ok`` half-width of differences (``uplift_tolerance``), shaded.

    Returns
    -------
    plotly.graph_objects.Figure
        One marker per group with a verdict (reference and too-small groups left out), coloured
        by verdict, error bars for the bootstrap interval; a log axis for ratios.
    """
    _check_lang(lang)
    part = disparities[
        (disparities["metric"] == metric) & disparities["verdict"].isin(["flag", "watch", "ok"])
    ]
    if part.empty:
        name = metric
        if len(disparities) and (disparities["metric"] == metric).any():
            name = disparities.loc[disparities["metric"] == metric, f"metric_{lang}"].iloc[0]
        return _empty(_f("ratio_title", lang).format(m=name), _f("fair_empty", lang))
    kind = part["compare"].iloc[0]
    scale = 1.0 if kind == "ratio" else 100.0
    name = part[f"metric_{lang}"].iloc[0]
    fig = go.Figure()
    for verdict, colour in _VERDICT_COLOURS.items():
        rows = part[part["verdict"] == verdict]
        if rows.empty:
            continue
        y = (rows[f"grouping_{lang}"] + ": " + rows[f"group_{lang}"]).tolist()
        est = rows["estimate"].to_numpy(float) * scale
        lo = rows["ci_low"].to_numpy(float) * scale
        hi = rows["ci_high"].to_numpy(float) * scale
        fig.add_trace(
            go.Scatter(
                x=est.tolist(),
                y=y,
                mode="markers",
                marker={"color": colour, "size": 9},
                name=rows[f"verdict_{lang}"].iloc[0],
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (hi - est).tolist(),
                    "arrayminus": (est - lo).tolist(),
                    "color": colour,
                },
                customdata=rows[["n", "reference_group"]].to_numpy(),
                hovertemplate="%{y}: %{x:.2f} (n=%{customdata[0]:.0f}, "
                + t("fairness.text.reference", lang)
                + " "
                + "%{customdata[1]})<extra></extra>",
            )
        )
    if kind == "ratio":
        fig.add_vrect(x0=band[0], x1=band[1], fillcolor=RANDOM_COLOUR, opacity=0.3, line_width=0)
        fig.add_vline(x=1.0, line_color=REFERENCE_COLOUR, line_dash="dot")
        fig.update_xaxes(type="log")
        title, x = _f("ratio_title", lang).format(m=name), _f("ratio_x", lang)
    else:
        half = tolerance * 100
        fig.add_vrect(x0=-half, x1=half, fillcolor=RANDOM_COLOUR, opacity=0.3, line_width=0)
        fig.add_vline(x=0.0, line_color=REFERENCE_COLOUR, line_dash="dot")
        title, x = _f("diff_title", lang).format(m=name), _f("diff_x", lang)
    fig.update_layout(height=max(320, 28 * len(part) + 140))
    return _layout(fig, title, x, "")


def outcomes_by_selection_plot(
    unselected: pd.DataFrame, grouping: str, lang: str = "zh"
) -> go.Figure:
    """Per group: how often not-picked cases were resolved or closed as 终本, beside picked ones.

    Parameters
    ----------
    unselected : pandas.DataFrame
        ``FairnessAudit.unselected`` (``grouping``, ``grouping_zh``/``grouping_en``,
        ``group_zh``/``group_en``, ``in_list``,
        ``resolved_rate``, ``terminate_current_rate``, ``n``).
    grouping : str
        Which grouping to draw (e.g. ``cause_category``).
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        Three grouped bar traces: not picked resolved, not picked 终本, picked resolved.
    """
    _check_lang(lang)
    part = unselected[unselected["grouping"] == grouping]
    label = part[f"grouping_{lang}"].iloc[0] if len(part) else grouping
    title = _f("outcomes_title", lang).format(g=label)
    if part.empty:
        return _empty(title, _f("fair_empty", lang))
    fig = go.Figure()
    for in_list, col, key, colour in (
        ("not_selected", "resolved_rate", "not_resolved", TODAY_COLOUR),
        ("not_selected", "terminate_current_rate", "not_terminated", "#e08a1e"),
        ("selected", "resolved_rate", "sel_resolved", MODEL_COLOUR),
    ):
        rows = part[part["in_list"] == in_list]
        if col not in rows:
            continue
        fig.add_trace(
            go.Bar(
                x=rows[f"group_{lang}"].tolist(),
                y=rows[col].tolist(),
                name=_f(key, lang),
                marker_color=colour,
                customdata=rows[["n"]].to_numpy(),
                hovertemplate="%{x}: %{y:.1%} (n=%{customdata[0]:.0f})<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(fig, title, "", _f("rate", lang))
