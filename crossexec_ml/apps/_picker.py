"""The interactive case picker: filter, re-rank, inspect a case, and record a person's decision.

:class:`CasePicker` holds all the logic in plain methods (``refresh``, ``select``, ``decide``)
behind ipywidgets controls, so plain pytest can drive it by setting ``.value`` and calling
``.click()`` with no kernel, and the notebook only displays ``picker.view``. Ranking reuses
:func:`crossexec_ml.decide.priority_order` (the same order as the scored file); decisions go
to the append-only ledger (:class:`crossexec_ml.decide.Ledger`) and need the decider and a
reason. The picker never reassigns anything itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import replace
from pathlib import Path

import ipywidgets as w
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from crossexec_ml.apps._decision import DecisionForm, proxy_user
from crossexec_ml.apps._workspace_data import read_ledger
from crossexec_ml.data import HARD_BONE_FLAGS
from crossexec_ml.decide import capacity_k, checkup, priority_order
from crossexec_ml.report import checkup_html, render
from crossexec_ml.settings import RUNGS, PrioritySettings, resolve_policy
from crossexec_ml.text import catalogue, fmt_percent, fmt_points, rung_label, t, value_label

#: UI text: key -> (Chinese, English), the catalogue's ``picker.<key>`` texts.
TEXT: dict[str, tuple[str, str]] = {
    key.removeprefix("picker."): (zh, en)
    for key, (zh, en) in catalogue().items()
    if key.startswith("picker.") and key.count(".") == 1
}
_WEIGHTS: tuple[str, ...] = ("cases", "amount", "blend")


class CasePicker:
    """Pick the next case to reassign, see why, and record who decided what and why.

    Parameters
    ----------
    scored : pandas.DataFrame
        The scored list (``crossexec score`` / :func:`crossexec_ml.jobs.score_cases`).
    cases : pandas.DataFrame
        The contract-typed cases of the same screening (for the check-up sheet and weights).
    handlers : pandas.DataFrame, optional
        Contract-typed handlers: needed to offer eligible new handlers.
    plan : pandas.DataFrame, optional
        The assignment plan: its proposed handler is offered first.
    ledger_path : path-like
        Decision ledger (created on the first decision if it does not exist).
    lang : {"zh", "en"}
    top_n : int
        Rows in the table and bars in the chart.
    priority : PrioritySettings, optional
        Starting gain weighting, floors and capacity; overrides the card's.
    card : mapping, optional
        The model's card: its scoring policy gives the starting weighting, floors and
        capacity (the defaults without a card, or for a card without a policy).
    """

    def __init__(
        self,
        scored: pd.DataFrame,
        cases: pd.DataFrame,
        *,
        handlers: pd.DataFrame | None = None,
        plan: pd.DataFrame | None = None,
        ledger_path: str | os.PathLike[str] = "var/ledger.sqlite",
        lang: str = "zh",
        top_n: int = 20,
        priority: PrioritySettings | None = None,
        card: Mapping | None = None,
    ):
        key = ["case_id", "as_of_date"]
        self.scored = scored.reset_index(drop=True)
        by_key = cases.drop_duplicates(key).set_index(key)
        idx = pd.MultiIndex.from_frame(self.scored[key])
        missing = ~idx.isin(by_key.index)
        if missing.any():
            raise ValueError(
                f"{int(missing.sum())} scored case(s) are not in the cases frame (first: "
                f"{self.scored.loc[missing, 'case_id'].iloc[0]}); pass the export that was scored"
            )
        self.cases = by_key.loc[idx].reset_index()
        self.handlers = handlers
        self.plan = plan
        self.ledger_path = Path(ledger_path)
        self.top_n = top_n
        self.priority, self.policy_record = _start_priority(card, priority)
        rows, self.ledger_problem = read_ledger(self.ledger_path, lang)
        self.ledger_rows = rows
        self.decided: dict[str, str] = (
            {} if rows.empty else dict(zip(rows["case_id"], rows["action"], strict=True))
        )
        self.ranked = self.scored.iloc[:0]
        self.selected: str | None = None
        self._amount_wan = pd.to_numeric(self.cases["amount_outstanding"]).fillna(0).to_numpy()
        self._amount_wan = self._amount_wan / 1e4
        self._build(lang)
        self.refresh()

    # ------------------------------------------------------------------ state
    def t(self, key: str) -> str:
        """UI text in the current language (the catalogue's ``picker.<key>``)."""
        return t(f"picker.{key}", self.lang.value)

    # ------------------------------------------------------------------ widgets
    def _options(self, column: str) -> list[tuple[str, object]]:
        values = (
            sorted(self.scored[column].dropna().astype(str).unique())
            if column in self.scored
            else []
        )
        return [(self.t("all"), ""), *((v, v) for v in values)]

    def _build(self, lang: str) -> None:
        self.lang = w.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value=lang)
        self.court = w.Dropdown()
        self.team = w.Dropdown()
        self.cause = w.Dropdown()
        self.rung = w.Dropdown()
        self.flags = {f: w.Checkbox(value=False, indent=False) for f in HARD_BONE_FLAGS}
        self.livelihood = w.Checkbox(value=False, indent=False)
        top = float(np.ceil(self._amount_wan.max())) if len(self._amount_wan) else 1.0
        self.amount = w.FloatRangeSlider(value=(0.0, top), min=0.0, max=max(top, 1.0), step=0.5)
        self.capacity = w.BoundedIntText(
            value=capacity_k(
                int(self.scored["stalled"].sum()) if "stalled" in self.scored else len(self.scored),
                self.priority.capacity,
                self.priority.capacity_share,
            ),
            min=0,
            max=max(len(self.scored), 1),
        )
        self.weighting = w.ToggleButtons(
            options=[(t(f"picker.weighting.{k}", lang), k) for k in _WEIGHTS],
            value=self.priority.weighting,
        )
        self.case = w.Dropdown()
        self.table = w.HTML()
        self.sheet = w.HTML()
        # The decision form is the workspace's: the same guards (one row per double-click,
        # superseding confirmed, a damaged ledger disables it) in both.
        self.form = DecisionForm(
            self.ledger_path, lang=lang, handlers=self.handlers, decider=proxy_user()
        )
        self.form.on_recorded.append(self._on_recorded)
        if self.ledger_problem:
            self.form.disable(self.ledger_problem)
        self.status, self.decider, self.reason = (
            self.form.status,
            self.form.decider,
            self.form.reason,
        )
        self.target, self.buttons = self.form.target, self.form.buttons
        self.chart = go.FigureWidget(go.Bar(x=[], y=[], orientation="h"))
        self.chart.update_layout(
            height=420, margin=dict(l=10, r=10, t=40, b=10), yaxis=dict(autorange="reversed")
        )
        self.chart.data[0].on_click(self._on_bar_click)
        for control in (
            self.court,
            self.team,
            self.cause,
            self.rung,
            self.livelihood,
            self.amount,
            self.capacity,
            self.weighting,
            *self.flags.values(),
        ):
            control.observe(self._on_filter, names="value")
        self.court.observe(self._on_court, names="value")
        self.case.observe(self._on_case, names="value")
        self.lang.observe(self._on_lang, names="value")
        self._relabel()
        filters = w.VBox(
            [
                self.court,
                self.team,
                self.cause,
                self.rung,
                self.amount,
                self.livelihood,
                *self.flags.values(),
                self.capacity,
                self.weighting,
            ]
        )
        # Stacked, not side by side: at 1280 px in JupyterLab a row of filters, chart and
        # table (or of sheet and form) squeezed the chart until its top bars looked equal.
        self.view = w.VBox(
            [
                self.lang,
                filters,
                self.chart,
                self.table,
                self.case,
                self.sheet,
                self.form.view,
            ],
            layout=w.Layout(width="100%"),
        )

    def _relabel(self) -> None:
        self._quiet = True
        try:
            for control, key in (
                (self.court, "court"),
                (self.team, "team"),
                (self.cause, "cause"),
                (self.rung, "rung"),
            ):
                control.description = self.t(key)
            keep = {c: c.value for c in (self.court, self.cause, self.rung)}
            self.court.options = self._options("court_id")
            self.cause.options = self._options_cases("cause_category")
            self.rung.options = [(self.t("all"), "")] + [
                (rung_label(r, self.lang.value), r) for r in RUNGS
            ]
            for c, v in keep.items():
                c.value = v or ""
            self._team_options()
            for f, box in self.flags.items():
                zh, en = HARD_BONE_FLAGS[f]
                box.description = zh if self.lang.value == "zh" else en
            self.livelihood.description = self.t("livelihood")
            self.amount.description = self.t("amount")
            self.capacity.description = self.t("capacity")
            self.weighting.description = self.t("weighting")
            weight = self.weighting.value
            self.weighting.options = [
                (t(f"picker.weighting.{k}", self.lang.value), k) for k in _WEIGHTS
            ]
            self.weighting.value = weight
            self.case.description = self.t("case")
            self.form.relabel(self.lang.value)
            self.chart.layout.title = self.t("chart")
        finally:
            self._quiet = False

    def _options_cases(self, column: str) -> list[tuple[str, object]]:
        values = sorted(self.cases[column].dropna().astype(str).unique())
        return [(self.t("all"), ""), *((v, v) for v in values)]

    def _team_options(self) -> None:
        teams = self.scored["team_id"]
        if self.court.value:
            teams = teams[self.scored["court_id"] == self.court.value]
        keep = self.team.value
        self.team.options = [(self.t("all"), "")] + [
            (v, v) for v in sorted(teams.dropna().astype(str).unique())
        ]
        self.team.value = keep if keep in {v for _, v in self.team.options} else ""

    # ------------------------------------------------------------------ events
    def _on_filter(self, _change: dict) -> None:
        if not self._quiet:
            self.refresh()

    def _on_court(self, _change: dict) -> None:
        if not self._quiet:
            self._quiet = True
            try:
                self._team_options()
            finally:
                self._quiet = False
            self.refresh()

    def _on_case(self, change: dict) -> None:
        if not self._quiet and change["new"] is not None:
            self.select(change["new"])

    def _on_lang(self, _change: dict) -> None:
        self._relabel()
        self.refresh()

    def _on_bar_click(self, trace: object, points: object, _state: object) -> None:
        inds = list(getattr(points, "point_inds", []) or [])
        if inds and inds[0] < len(self.ranked):
            self.select(str(self.ranked["case_id"].iloc[inds[0]]))

    # ------------------------------------------------------------------ logic
    def filter_mask(self) -> np.ndarray:
        """Which scored rows pass the current filters."""
        s, c = self.scored, self.cases
        mask = np.ones(len(s), dtype=bool)
        if self.court.value:
            mask &= (s["court_id"] == self.court.value).to_numpy()
        if self.team.value:
            mask &= (s["team_id"] == self.team.value).to_numpy()
        if self.cause.value:
            mask &= (c["cause_category"].astype(str) == self.cause.value).to_numpy()
        if self.rung.value:
            mask &= (s["suggested_rung"].astype(str) == self.rung.value).to_numpy()
        for flag, box in self.flags.items():
            if box.value:
                mask &= s[flag].to_numpy(dtype=bool)
        if self.livelihood.value:
            mask &= c["is_livelihood"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        low, high = self.amount.value
        mask &= (self._amount_wan >= low - 1e-9) & (self._amount_wan <= high + 1e-9)
        return mask

    def refresh(self) -> None:
        """Filter, re-rank with the current weighting and capacity, redraw table and chart."""
        mask = self.filter_mask()
        idx = np.flatnonzero(mask)
        settings = replace(
            self.priority, weighting=self.weighting.value, capacity=int(self.capacity.value)
        )
        sub_s = self.scored.iloc[idx].reset_index(drop=True)
        sub_c = self.cases.iloc[idx].reset_index(drop=True)
        order = priority_order(sub_s, sub_c, settings)
        ranked = sub_s.assign(
            expected_gain=order.gain, priority_rank=order.rank, candidate=order.candidate
        )
        ranked = ranked[ranked["priority_rank"].notna()].sort_values("priority_rank")
        self.ranked = ranked.head(self.top_n).reset_index(drop=True)
        self._draw()

    def _draw(self) -> None:
        lang = self.lang.value
        r = self.ranked
        if r.empty:
            self.table.value = render("notice_plain.html.j2", text=self.t("empty"))
            with self.chart.batch_update():
                self.chart.data[0].x, self.chart.data[0].y = [], []
            self._sync_chart()
            self._quiet = True
            self.case.options = []
            self._quiet = False
            return
        heads = ["rank", "case", "gain", "p_keep", "p_cross", "rung", "why", "decided"]
        rows = []
        for _, row in r.iterrows():
            cid = str(row["case_id"])
            why = row.get("top_reason_zh" if lang == "zh" else "reasons_en")
            why = "" if why is None or why is pd.NA or (isinstance(why, float)) else str(why)
            if lang != "zh":
                why = why.split("; ")[0]
            decided = self.decided.get(cid, "")
            cells = [
                f"{int(row['priority_rank'])}",
                cid,
                fmt_points(row["expected_gain"], lang),
                fmt_percent(row["p_keep"], lang),
                fmt_percent(row["p_cross"], lang),
                rung_label(str(row["suggested_rung"]), lang),
                why,
                value_label("action", decided, lang) if decided else "",
            ]
            rows.append({"cells": cells, "decided": bool(decided)})
        self.table.value = render(
            "picker_table.html.j2", header=[self.t(h) for h in heads], rows=rows
        )
        labels = [f"{i + 1}. {c}" for i, c in enumerate(r["case_id"].astype(str))]
        colors = ["#bbbbbb" if self.decided.get(str(c)) else "#1f77b4" for c in r["case_id"]]
        with self.chart.batch_update():
            self.chart.data[0].x = r["expected_gain"].tolist()
            self.chart.data[0].y = labels
            self.chart.data[0].marker.color = colors
        self._sync_chart()
        self._quiet = True
        try:
            self.case.options = [(lab, str(c)) for lab, c in zip(labels, r["case_id"], strict=True)]
            self.case.value = self.selected if self.selected in set(r["case_id"]) else None
        finally:
            self._quiet = False

    def _sync_chart(self) -> None:
        """Copy the chart's state into the traits a newly connecting page reads.

        Voilà workaround (voila#1533, open; NOTEBOOK_NOTES.md): a FigureWidget inside a VBox, or
        updated before the page connects, otherwise renders without what Python set before
        (title, reversed axis, colours). Touches plotly's private attributes (checked with
        plotly 7.1; pyproject only asks plotly>=5.20): ``tests/test_browser.py`` guards it by
        checking the chart's own bars, title, order and the grey bar of a decided case.
        """
        self.chart._widget_data = deepcopy(self.chart._data)
        self.chart._widget_layout = deepcopy(self.chart._layout_obj._props)

    def select(self, case_id: str) -> None:
        """Show a case's check-up sheet and offer its eligible new handlers."""
        self.selected = case_id
        self._quiet = True
        try:
            if case_id in {v for _, v in self.case.options}:
                self.case.value = case_id
        finally:
            self._quiet = False
        sheet = checkup(case_id, self.cases, self.scored, self.plan)
        self.sheet.value = checkup_html(sheet, self.lang.value)
        proposed = None
        if self.plan is not None and "target_handler_id" in self.plan:
            p = self.plan[self.plan["case_id"] == case_id]
            if not p.empty and isinstance(p["target_handler_id"].iloc[0], str):
                proposed = p["target_handler_id"].iloc[0] or None
        rows = self.ledger_rows
        earlier = None
        if not rows.empty and (rows["case_id"] == case_id).any():
            earlier = rows[rows["case_id"] == case_id].iloc[-1].to_dict()
        self.form.show(
            case_id,
            self.cases[self.cases["case_id"] == case_id].iloc[-1],
            self.scored[self.scored["case_id"] == case_id].iloc[-1],
            proposed=proposed,
            earlier=earlier,
        )

    def decide(self, action: str) -> dict | None:
        """Record a decision on the selected case (see :meth:`DecisionForm.decide`).

        Parameters
        ----------
        action : str
            ``reassign`` (intra- or inter-team by the chosen handler's team),
            ``escalate_higher_court``, ``keep``, ``refer_judicial_aid`` or ``defer``.

        Returns
        -------
        dict or None
            The ledger row, or None when refused (the reason is shown in ``status``; nothing is
            written).
        """
        return self.form.decide(action)

    def _on_recorded(self, rec: dict) -> None:
        self.decided[str(rec["case_id"])] = rec["action"]
        row = pd.DataFrame(
            [
                {
                    k: rec.get(k)
                    for k in (
                        "seq",
                        "case_id",
                        "action",
                        "decided_by",
                        "reason",
                        "decided_at",
                        "supersedes",
                    )
                }
            ]
        )
        self.ledger_rows = pd.concat([self.ledger_rows, row], ignore_index=True)
        self._draw()


#: Where notebook 03 looks for a model when none is given, seen from ``notebooks/``: the one
#: notebook 02 saves, then the one ``make demo`` trains (so the picker opens after ``make demo``).
MODEL_PLACES: tuple[str, ...] = ("../models/latest", "../reports/demo/model")


def find_model(model_dir: str | os.PathLike[str] = "") -> Path | None:
    """The model folder the picker uses: ``model_dir`` if given, else the first of
    :data:`MODEL_PLACES` holding a model; None when there is none.

    Parameters
    ----------
    model_dir : path-like
        An explicit model folder (empty: look in :data:`MODEL_PLACES`).

    Returns
    -------
    Path or None
    """
    places = [model_dir] if str(model_dir) else list(MODEL_PLACES)
    for place in places:
        if (Path(place) / "model.skops").is_file():
            return Path(place)
    return None


def _start_priority(
    card: Mapping | None, priority: PrioritySettings | None
) -> tuple[PrioritySettings, dict]:
    """The picker's starting priority settings: the card's policy, unless overridden."""
    policy, record = resolve_policy(card, priority=priority)
    return policy.priority, record
