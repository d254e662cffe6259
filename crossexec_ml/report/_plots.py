"""Every plotly figure of the project, one function each, in Chinese or English.

Each function draws a table or a result dict that the package computed (see
:mod:`crossexec_ml.report` and :func:`crossexec_ml.evaluate.backtest`) and returns a
:class:`plotly.graph_objects.Figure`; none reads or writes a file and none computes a metric, so
a figure always shows the numbers of the table beside it. ``lang="zh"`` (default) or ``"en"``
sets the title, axis labels and category names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from crossexec_ml.report._profile import AGE_BANDS, IDLE_BANDS, policy_table
from crossexec_ml.text import LANGS, catalogue, t, value_label

#: Colours: the tool's own lists, today's practice, chance, reference lines.
MODEL_COLOUR = "#1f5fa8"


TODAY_COLOUR = "#9a9a9a"


RANDOM_COLOUR = "#d0d0d0"


REFERENCE_COLOUR = "#7f7f7f"


def _check_lang(lang: str) -> int:
    """0 for ``"zh"``, 1 for ``"en"``; ValueError for anything else (the catalogue's rule)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
    return LANGS.index(lang)


def _t(key: str, lang: str) -> str:
    """A figure's text: the catalogue's ``plot.<key>``."""
    return t(f"plot.{key}", lang)


def _layout(fig: go.Figure, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(
        title=title,
        xaxis_title=x,
        yaxis_title=y,
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
    )
    return fig


def _empty(title: str, message: str) -> go.Figure:
    """A figure with no trace that says why (instead of a blank chart or an exception)."""
    fig = go.Figure()
    fig.update_layout(title=title, template="plotly_white", xaxis_visible=False)
    fig.update_layout(yaxis_visible=False)
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def _labels(table: pd.DataFrame, key: str, lang: str) -> list[str]:
    col = "label_zh" if lang == "zh" else "label_en"
    if col in table:
        return table[col].astype(str).tolist()
    return table[key].astype(str).tolist()


def drift_bars(checks: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Population stability per monitored column of a re-scoring run, against its thresholds.

    Parameters
    ----------
    checks : pandas.DataFrame
        ``DriftReport.checks`` (:func:`crossexec_ml.report.drift_report`): rows with
        ``check == "psi"``, ``column``, ``value``, ``status`` are drawn.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal bar per column (alarm bars red, warnings amber) and the warning and
        alarm thresholds as dashed lines; says so when no column was compared.
    """
    title = t("plot.psi.title", lang)
    rows = checks[checks["check"] == "psi"] if len(checks) else checks
    if rows.empty:
        return _empty(title, t("plot.psi.empty", lang))
    colours = {"ok": MODEL_COLOUR, "warn": "#d99a00", "alarm": "#c0392b"}
    fig = go.Figure(
        go.Bar(
            x=rows["value"].tolist(),
            y=rows["column"].astype(str).tolist(),
            orientation="h",
            marker_color=[colours.get(s, MODEL_COLOUR) for s in rows["status"]],
            text=[f"{v:.2f}" for v in rows["value"]],
            textposition="outside",
            hovertemplate="%{y}: PSI %{x:.3f}<extra></extra>",
        )
    )
    for x, dash in ((0.10, "dot"), (float(rows["threshold"].iloc[0]), "dash")):
        fig.add_vline(x=x, line_dash=dash, line_color=REFERENCE_COLOUR)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, t("plot.psi.x", lang), t("plot.psi.y", lang))


def stock_by(table: pd.DataFrame, by: str, lang: str = "zh") -> go.Figure:
    """Bar chart of stalled cases per court, team or cause of action.

    Parameters
    ----------
    table : pandas.DataFrame
        ``stock_profile(...)["by_court"]``, ``["by_team"]`` or ``["by_cause"]``.
    by : {"court_id", "team_id", "cause_category"}
        The grouping column of ``table``.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace of ``n_cases``; the hover shows the share with material assets, the
        median idle days and the median outstanding amount.
    """
    if by not in ("court_id", "team_id", "cause_category"):
        raise ValueError(f"by must be court_id, team_id or cause_category, got {by!r}")
    _check_lang(lang)
    names = table[by].astype(str).tolist()
    if by == "cause_category":
        names = [value_label(by, c, lang) for c in table[by]]
    custom = table[["share_material_assets", "median_idle_days", "median_outstanding"]].copy()
    # The hover's header says 万元: the table holds yuan.
    custom["median_outstanding"] = custom["median_outstanding"] / 1e4
    hover = (
        f"%{{x}}<br>{_t('n_cases', lang)}: %{{y}}"
        f"<br>{_t('material', lang)}: %{{customdata[0]:.0%}}"
        f"<br>{_t('median_idle', lang)}: %{{customdata[1]:.0f}}"
        f"<br>{_t('median_amount', lang)}: %{{customdata[2]:,.1f}}<extra></extra>"
    )
    fig = go.Figure(
        go.Bar(
            x=names,
            y=table["n_cases"].tolist(),
            customdata=custom.to_numpy(),
            hovertemplate=hover,
            marker_color=MODEL_COLOUR,
            name=_t("n_cases", lang),
        )
    )
    return _layout(fig, _t(f"stock_by_{by}", lang), _t(by, lang), _t("n_cases", lang))


def age_idle_heatmap(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Heatmap of stalled cases by case-age band (rows) and idle band (columns).

    Parameters
    ----------
    table : pandas.DataFrame
        ``stock_profile(...)["age_by_idle"]``: counts, age bands as the index, idle bands as
        the columns (keys of :data:`~crossexec_ml.report.AGE_BANDS` and ``IDLE_BANDS``).
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        One heatmap trace whose ``z`` is the table's counts, with the counts written in.
    """
    i = _check_lang(lang) + 1
    ages = [AGE_BANDS[b][i] if b in AGE_BANDS else str(b) for b in table.index]
    idles = [IDLE_BANDS[b][i] if b in IDLE_BANDS else str(b) for b in table.columns]
    z = table.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=idles,
            y=ages,
            text=z,
            texttemplate="%{text}",
            colorscale="Blues",
            colorbar_title=_t("n_cases", lang),
            hovertemplate="%{y} / %{x}: %{z}<extra></extra>",
        )
    )
    return _layout(fig, _t("age_idle", lang), _t("idle", lang), _t("case_age", lang))


def _share_bars(table: pd.DataFrame, key: str, title: str, lang: str) -> go.Figure:
    _check_lang(lang)
    labels = _labels(table, key, lang)
    fig = go.Figure(
        go.Bar(
            x=table["share"].tolist(),
            y=labels,
            orientation="h",
            text=[f"{n} ({s:.0%})" for n, s in zip(table["n_cases"], table["share"], strict=True)],
            textposition="auto",
            marker_color=MODEL_COLOUR,
            hovertemplate="%{y}: %{text}<extra></extra>",
            name=_t("share", lang),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    return _layout(fig, _t(title, lang), _t("share", lang), "")


def hard_bone_bars(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Horizontal bars: share of the stalled stock in each of the five hard-bone categories.

    Parameters
    ----------
    table : pandas.DataFrame
        ``stock_profile(...)["hard_bones"]`` (``flag``, ``label_zh``, ``label_en``,
        ``n_cases``, ``share``).
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace: ``x`` the shares, ``y`` the category names, ``text`` count and share.
    """
    return _share_bars(table, "flag", "hard_bones", lang)


def assets_bars(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Horizontal bars: share of the stalled stock with each asset type found.

    Parameters
    ----------
    table : pandas.DataFrame
        ``stock_profile(...)["assets"]``.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
    """
    return _share_bars(table, "asset", "assets", lang)


def measures_bars(table: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Horizontal bars: share of the stalled stock with each coercive measure already taken.

    Parameters
    ----------
    table : pandas.DataFrame
        ``stock_profile(...)["measures"]``.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
    """
    return _share_bars(table, "measure", "measures", lang)


def calibration_plot(calibration: Sequence[Mapping[str, float]], lang: str = "zh") -> go.Figure:
    """Predicted against observed resolution rate per bin, with the diagonal.

    Parameters
    ----------
    calibration : sequence of dict
        ``backtest(...)["calibration"]`` records: ``bin``, ``n``, ``mean_predicted``,
        ``observed_rate``.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        Two traces: the diagonal (perfect calibration, dashed) and the model's bins (markers
        at ``(mean_predicted, observed_rate)``, hover with the bin's size).
    """
    _check_lang(lang)
    table = pd.DataFrame(list(calibration))
    values = [*table.get("mean_predicted", []), *table.get("observed_rate", [])]
    # Zoom on the populated range: most stalled cases have low probabilities.
    top = min(1.0, 1.05 * max(values)) if values and max(values) > 0 else 1.0
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0.0, top],
            y=[0.0, top],
            mode="lines",
            line={"dash": "dash", "color": REFERENCE_COLOUR},
            name=_t("perfect", lang),
            hoverinfo="skip",
        )
    )
    if not table.empty:
        fig.add_trace(
            go.Scatter(
                x=table["mean_predicted"].tolist(),
                y=table["observed_rate"].tolist(),
                mode="lines+markers",
                marker={"color": MODEL_COLOUR, "size": 9},
                customdata=table[["bin", "n"]].to_numpy(),
                hovertemplate="bin %{customdata[0]} (n=%{customdata[1]})"
                "<br>%{x:.1%} → %{y:.1%}<extra></extra>",
                name=_t("model", lang),
            )
        )
    fig.update_xaxes(tickformat=".0%", range=[0, top])
    fig.update_yaxes(tickformat=".0%", range=[0, top])
    return _layout(
        fig, _t("calibration", lang), _t("mean_predicted", lang), _t("observed_rate", lang)
    )


def qini_plot(qini: Sequence[Mapping[str, float]] | None, lang: str = "zh") -> go.Figure:
    """Qini curve on the randomised pilot rows against a random order.

    Parameters
    ----------
    qini : sequence of dict or None
        ``backtest(...)["qini"]`` records (``share``, ``qini``, ``random``); present only when
        the back-test had pilot rows (a truth file with ``is_pilot``). ``None`` or empty gives a
        figure without traces that says so.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        Two traces: the model's curve and the random line.
    """
    _check_lang(lang)
    if not qini:
        return _empty(_t("qini", lang), _t("qini_empty", lang))
    table = pd.DataFrame(list(qini))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=table["share"].tolist(),
            y=table["qini"].tolist(),
            mode="lines",
            line={"color": MODEL_COLOUR, "width": 3},
            name=_t("qini_model", lang),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=table["share"].tolist(),
            y=table["random"].tolist(),
            mode="lines",
            line={"color": REFERENCE_COLOUR, "dash": "dash"},
            name=_t("qini_random", lang),
        )
    )
    fig.update_xaxes(tickformat=".0%")
    return _layout(fig, _t("qini", lang), _t("qini_x", lang), _t("qini_y", lang))


def policy_value_plot(pooled: Mapping[str, float], lang: str = "zh") -> go.Figure:
    """Share of the oracle's extra resolutions reached by each top-k list.

    Parameters
    ----------
    pooled : dict
        ``backtest(...)["pooled"]`` from a back-test with a truth file (``gain_<policy>`` and
        ``share_of_oracle_<policy>``); without them the figure has no trace and says why.
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        One horizontal bar trace per kind of policy (this tool's lists, today's practice,
        random), in :data:`crossexec_ml.report.POLICY_LABELS` order; ``x`` the shares.
    """
    _check_lang(lang)
    table = policy_table(pooled)
    if table.empty:
        return _empty(_t("policy", lang), _t("policy_empty", lang))
    colours = {"model": MODEL_COLOUR, "today": TODAY_COLOUR, "random": RANDOM_COLOUR}
    fig = go.Figure()
    order = _labels(table, "policy", lang)
    for kind, colour in colours.items():
        part = table[table["kind"] == kind]
        if part.empty:
            continue
        fig.add_trace(
            go.Bar(
                x=part["share_of_oracle"].tolist(),
                y=_labels(part, "policy", lang),
                orientation="h",
                marker_color=colour,
                text=[f"{s:.0%}" for s in part["share_of_oracle"]],
                textposition="auto",
                customdata=part[["gain"]].to_numpy(),
                hovertemplate="%{y}: %{x:.1%}<br>+%{customdata[0]:.1f}<extra></extra>",
                name=_t(f"kind_{kind}", lang),
            )
        )
    fig.update_yaxes(categoryorder="array", categoryarray=order, autorange="reversed")
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    return _layout(fig, _t("policy", lang), _t("policy_x", lang), "")


def backtest_windows_plot(windows: Sequence[Mapping[str, object]], lang: str = "zh") -> go.Figure:
    """AUC of each rolling test window, with the truth's AUC beside it when known.

    Parameters
    ----------
    windows : sequence of dict
        ``card["metrics"]["windows"]`` or ``backtest(...)["windows"]`` (``window_start``,
        ``window_end``, ``auc``, optionally ``truth_auc``).
    lang : {"zh", "en"}

    Returns
    -------
    plotly.graph_objects.Figure
        A bar trace of ``auc`` per window and, when every window has it, a marker trace of
        ``truth_auc``.
    """
    _check_lang(lang)
    names = [f"{w['window_start']}–{w['window_end']}" for w in windows]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[float(w["auc"]) for w in windows],
            marker_color=MODEL_COLOUR,
            text=[f"{float(w['auc']):.3f}" for w in windows],
            textposition="auto",
            name=_t("auc", lang),
        )
    )
    if windows and all("truth_auc" in w for w in windows):
        fig.add_trace(
            go.Scatter(
                x=names,
                y=[float(w["truth_auc"]) for w in windows],
                mode="markers",
                marker={"color": "#c0392b", "size": 12, "symbol": "line-ew-open"},
                name=_t("truth_auc", lang),
            )
        )
    fig.update_yaxes(range=[0.5, 1.0])
    return _layout(fig, _t("windows", lang), _t("window", lang), "AUC")


def _column_en(column: str) -> str:
    """English name of a contract column (``column.<name>``), the code when it has none."""
    return t(f"column.{column}", "en") if f"column.{column}" in catalogue() else column


def importance_plot(importances: pd.DataFrame, lang: str = "zh", top: int = 15) -> go.Figure:
    """Horizontal bars: how much the estimated gain moves when each case fact is shuffled.

    Parameters
    ----------
    importances : pandas.DataFrame
        :func:`crossexec_ml.report.gain_drivers` output (``column``, ``label_zh``,
        ``mean_abs_change``, ``std``), largest first.
    lang : {"zh", "en"}
        Chinese contract labels or English column names (``column.<name>``).
    top : int
        Show the ``top`` largest.

    Returns
    -------
    plotly.graph_objects.Figure
        One bar trace, largest at the top, with the spread over repeats as error bars.
    """
    _check_lang(lang)
    table = importances.head(top)
    if lang == "zh":
        names = table["label_zh"].astype(str).tolist()
    else:
        names = [_column_en(c) for c in table["column"].astype(str)]
    fig = go.Figure(
        go.Bar(
            x=table["mean_abs_change"].tolist(),
            y=names,
            orientation="h",
            error_x={"type": "data", "array": table["std"].tolist(), "visible": True},
            marker_color=MODEL_COLOUR,
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
            name=_t("importance", lang),
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=max(350, 28 * len(table) + 120))
    return _layout(fig, _t("importance", lang), _t("importance_x", lang), "")
