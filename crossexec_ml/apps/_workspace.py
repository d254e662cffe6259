"""The leader's workspace: the weekly run, the ranked case list, an open case and its decision.

One page (notebook 04, served by ``make dashboard``) built here, ending with what happened to
the decided cases (:class:`~crossexec_ml.apps.FollowUpSection`); the notebook only calls
:func:`open_workspace`. It reads the newest run under the runs folder and the ledger **when it
is built**, i.e. when the page is opened (``make dashboard`` serves without a preheated kernel,
so a decision recorded a second before shows on the next load), and again on 刷新.

Everything a leader reads is in the catalogue (``workspace.*``); every value from the data is
escaped by the templates. Plain pytest drives it as a person would (``.value``, ``.click()``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path

import ipywidgets as w
import numpy as np
import pandas as pd

from crossexec_ml.apps._answer import _AnswerMixin
from crossexec_ml.apps._decision import DecisionForm, beijing_time, proxy_user
from crossexec_ml.apps._followup_view import FollowUpSection
from crossexec_ml.apps._workspace_data import (
    AMOUNT_BANDS,
    ListFilter,
    ListIndex,
    WorkspaceData,
    case_list,
    list_changes,
    pending_escalations,
    previous_scored,
    read_workspace,
    trend,
)
from crossexec_ml.data import HARD_BONE_FLAGS, read_handlers, write_table
from crossexec_ml.decide import assign, band_counts, checkup
from crossexec_ml.errors import InputError
from crossexec_ml.report import checkup_html, headline, headline_html, render
from crossexec_ml.settings import RUNGS
from crossexec_ml.text import catalogue, fmt_percent, fmt_points, rung_label, t, value_label

#: The value of 全部 (and of "no case chosen") in the dropdowns: a real option, so a dropdown
#: shows 全部 from the start (a None value would show an empty box).
ALL = ""
#: Rows per page of the list.
PAGE_SIZE = 50
#: Filtered lists up to this many bytes are also offered as a download link in the page.
_MAX_LINK_BYTES = 20_000_000
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text(value: object) -> str:
    return (
        ""
        if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))
        else str(value)
    )


class Workspace(_AnswerMixin):
    """The leader's workspace page.

    Parameters
    ----------
    runs_dir : path-like
        Where the scheduled runs are (``reports/rescore``); the newest is shown.
    ledger_path : path-like
        The decision ledger (``var/ledger.sqlite``).
    handlers_path : path-like, optional
        Handlers file: the decision form offers eligible new handlers and the plan's proposal.
    exports_dir : path-like, optional
        Where the filtered list is written as Excel (default ``<runs_dir>/../workspace``).
    lang : {"zh", "en"}
    decider : str, optional
        The logged-in user (default: :func:`crossexec_ml.apps.proxy_user`).
    page_size : int
        Rows per page of the list.
    """

    def __init__(
        self,
        runs_dir: str | os.PathLike[str] = "reports/rescore",
        ledger_path: str | os.PathLike[str] = "var/ledger.sqlite",
        *,
        handlers_path: str | os.PathLike[str] | None = None,
        exports_dir: str | os.PathLike[str] | None = None,
        lang: str = "zh",
        decider: str | None = None,
        page_size: int = PAGE_SIZE,
    ):
        self.runs_dir = Path(runs_dir)
        self.ledger_path = Path(ledger_path)
        self.handlers_path = Path(handlers_path) if handlers_path else None
        self.exports_dir = Path(exports_dir) if exports_dir else self.runs_dir.parent / "workspace"
        self.page_size = page_size
        self.page = 0
        self.selected: str | None = None
        self._quiet = False
        self._plan: pd.DataFrame | None = None
        self._build(lang, decider if decider is not None else proxy_user())
        self.reload()

    # ------------------------------------------------------------------ text
    def t(self, key: str, **fields: object) -> str:
        """UI text in the current language (the catalogue's ``workspace.<key>``)."""
        return t(f"workspace.{key}", self.lang.value, **fields)

    # ------------------------------------------------------------------ widgets
    def _build(self, lang: str, decider: str | None) -> None:
        def auto() -> w.Layout:  # one Layout per widget: hiding one must not hide others
            return w.Layout(width="auto")

        wide = {"description_width": "initial"}
        self.lang = w.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value=lang)
        self.refresh_button = w.Button(layout=auto(), icon="refresh")
        self.notice = w.HTML()
        self.header = w.HTML()
        self.tiles = w.HTML()
        self.trend_box = w.HTML()
        self.changes_box = w.HTML()
        self.pending_box = w.HTML()
        self.search = w.Text(continuous_update=False, style=wide, layout=w.Layout(width="26em"))
        self.court = w.Dropdown(style=wide, layout=auto())
        self.team = w.Dropdown(style=wide, layout=auto())
        self.rung = w.Dropdown(style=wide, layout=auto())
        self.band = w.Dropdown(style=wide, layout=auto())
        self.flags = {
            f: w.Checkbox(value=False, indent=False, layout=auto()) for f in HARD_BONE_FLAGS
        }
        self.livelihood = w.Checkbox(value=False, indent=False, layout=auto())
        self.count = w.HTML()
        self.prev_button = w.Button(layout=auto())
        self.next_button = w.Button(layout=auto())
        self.table = w.HTML()
        self.opener = w.Dropdown(style=wide, layout=w.Layout(width="auto", min_width="30em"))
        self.sheet = w.HTML()
        self.form = DecisionForm(self.ledger_path, lang=lang, decider=decider)
        self.form.on_recorded.append(self._on_recorded)
        self.recent = w.HTML()
        self.export_button = w.Button(layout=auto(), icon="download")
        self.export_link = w.HTML()
        self.followup = FollowUpSection()
        for control in (self.court, self.team, self.rung, self.band, self.livelihood, self.search):
            control.observe(self._on_filter, names="value")
        for box in self.flags.values():
            box.observe(self._on_filter, names="value")
        self.court.observe(self._on_court, names="value")
        self.opener.observe(self._on_open, names="value")
        self.lang.observe(self._on_lang, names="value")
        self.prev_button.on_click(lambda _b: self.go(self.page - 1))
        self.next_button.on_click(lambda _b: self.go(self.page + 1))
        self.refresh_button.on_click(lambda _b: self.reload())
        self.export_button.on_click(lambda _b: self.export())

        def row() -> w.Layout:
            return w.Layout(flex_flow="row wrap", align_items="center")

        self.filters = w.VBox(
            [
                w.HBox([self.search, self.court, self.team, self.rung, self.band], layout=row()),
                w.HBox([*self.flags.values(), self.livelihood], layout=row()),
            ]
        )
        self.case_box = w.VBox([self.sheet, self.form.view], layout=w.Layout(width="100%"))
        self._build_answer(auto, row, wide)
        self.body = w.VBox(
            [
                self.header,
                self.tiles,
                self.filters,
                w.HBox([self.count, self.prev_button, self.next_button], layout=row()),
                self.table,
                self.opener,
                self.case_box,
                self.recent,
                self.pending_box,
                self.answer_controls,
                self.trend_box,
                self.changes_box,
                w.HBox([self.export_button, self.export_link], layout=row()),
                self.followup.view,
            ]
        )
        self.view = w.VBox(
            [w.HBox([self.lang, self.refresh_button], layout=row()), self.notice, self.body],
            layout=w.Layout(width="100%"),
        )
        self.view.add_class("crossexec-workspace")

    def _relabel(self) -> None:
        self.refresh_button.description = self.t("refresh")
        self.search.description = self.t("search")
        self.search.placeholder = self.t("search_hint")
        for control, key in ((self.court, "court"), (self.team, "team"), (self.rung, "rung")):
            control.description = self.t(key)
        self.band.description = self.t("band")
        for flag, box in self.flags.items():
            box.description = t(f"flag.{flag}", self.lang.value)
        self.livelihood.description = self.t("livelihood")
        self.prev_button.description = self.t("prev")
        self.next_button.description = self.t("next")
        self.opener.description = self.t("open")
        self.export_button.description = self.t("export")
        self._relabel_answer()
        self._quiet = True
        try:
            keep = (self.court.value, self.rung.value, self.band.value)
            self.court.options = self._choices("court_id")
            self.rung.options = [(self.t("all"), ALL)] + [
                (rung_label(r, self.lang.value), r) for r in RUNGS
            ]
            self.band.options = [(self.t("all"), ALL)] + [
                (self.t(f"band.{b}"), b) for b in AMOUNT_BANDS
            ]
            self.court.value, self.rung.value, self.band.value = (
                keep[0] if keep[0] in {v for _, v in self.court.options} else ALL,
                keep[1] or ALL,
                keep[2] or ALL,
            )
            self._team_options()
        finally:
            self._quiet = False
        self.form.relabel(self.lang.value)

    def _choices(self, column: str, rows: pd.Series | None = None) -> list[tuple[str, object]]:
        if self.listed is None:
            return [(self.t("all"), ALL)]
        values = self.listed[column] if rows is None else rows
        return [
            (self.t("all"), ALL),
            *((v, v) for v in sorted(values.dropna().astype(str).unique())),
        ]

    def _team_options(self) -> None:
        if self.listed is None:
            self.team.options = [(self.t("all"), ALL)]
            return
        teams = self.listed["team_id"]
        if self.court.value:
            teams = teams[self.listed["court_id"] == self.court.value]
        keep = self.team.value
        self.team.options = self._choices("team_id", teams)
        self.team.value = keep if keep in {v for _, v in self.team.options} else ALL

    # ------------------------------------------------------------------ reading
    def reload(self) -> None:
        """Read the newest run and the ledger again and redraw the whole page."""
        lang = self.lang.value
        self.data: WorkspaceData = read_workspace(self.runs_dir, self.ledger_path, lang)
        self.listed = None
        self.index = None
        self._plan = None
        self.handlers = None
        handlers_problem = ""
        if self.handlers_path is not None:
            try:
                self.handlers = read_handlers(self.handlers_path)
            except (InputError, OSError) as err:
                handlers_problem = self.t(
                    "problem.handlers", path=str(self.handlers_path), error=str(err).splitlines()[0]
                )
        self.form.handlers = self.handlers
        if self.data.scored is not None:
            self.listed = case_list(self.data.scored, self.data.cases)
            self.index = ListIndex(self.listed)
        self.decisions = self.data.latest_decisions()
        problems = [
            p for p in (self.data.run_problem, self.data.ledger_problem, handlers_problem) if p
        ]
        self.notice.value = (
            render("notice.html.j2", head=self.t("problem.head"), text=" ".join(problems))
            if problems
            else ""
        )
        if self.data.ledger_problem:
            self.form.disable(self.data.ledger_problem)
        else:
            self.form.broken = ""
        self.body.layout.display = "none" if self.listed is None else None
        self._relabel()
        self.selected = None
        self.sheet.value = ""
        self.case_box.layout.display = "none"
        self._draw_run()
        self.refresh()
        self._draw_decisions()

    # ------------------------------------------------------------------ drawing
    def _draw_run(self) -> None:
        self.followup.draw(self.data.run, self.lang.value)
        if self.listed is None:
            self.header.value = self.tiles.value = self.trend_box.value = ""
            self.changes_box.value = ""
            return
        run, scored = self.data.run, self.data.scored
        model = run.manifest.get("model") or {}
        as_of = pd.to_datetime(scored["as_of_date"]).max()
        alarm = run.outcome in ("drift", "stale")
        failing = [
            self._check_text(c)
            for c in run.manifest.get("checks") or []
            if c.get("status") == "alarm"
        ]
        self.header.value = render(
            "workspace_header.html.j2",
            title=self.t("title"),
            facts=[
                (self.t("run_date"), run.run_date),
                (self.t("run_id"), run.run_id),
                (self.t("as_of"), "" if pd.isna(as_of) else f"{as_of:%Y-%m-%d}"),
                (self.t("model"), f"{_text(model.get('model_id'))}"),
                (self.t("trained_until"), _text(model.get("trained_until"))),
            ],
            banner=self.t(f"banner.{run.outcome}") if alarm else "",
            checks=failing,
            note=self.t("note"),
        )
        # Computed once per opening (0.5 s on 100,000 cases); a decision only moves its count.
        self._head = headline(scored, cases=self.data.cases)
        self._draw_tiles()
        runs = trend(self.data.runs)
        self.trend_box.value = render(
            "workspace_table.html.j2",
            title=self.t("trend"),
            klass="crossexec-trend",
            header=[self.t(f"trend.{c}") for c in runs.columns if c != "run_id"],
            rows=[
                [
                    r.run_date,
                    *(_text(v) for v in (r.stalled, r.candidates, r.decided, r.carried_over)),
                    self.t(f"outcome.{r.outcome}")
                    if r.outcome in ("ok", "drift", "stale")
                    else _text(r.outcome),
                ]
                for r in runs.itertuples()
            ],
            empty="",
        )
        before = previous_scored(self.data.runs)
        decided = set(self.decisions)
        changes = list_changes(scored, before, decided) if before is not None else {}
        self.changes_box.value = render(
            "workspace_table.html.j2",
            title=self.t("changes"),
            klass="crossexec-changes",
            header=[self.t("changes.what"), self.t("changes.cases")],
            rows=[[self.t(f"change.{k}"), f"{n:,}"] for k, n in changes.items()],
            empty=self.t("changes.first"),
        )

    def _draw_tiles(self) -> None:
        decided = self.listed["case_id"].isin(self.decisions.keys())
        self.tiles.value = headline_html(
            {**self._head, "n_decided": int(decided.sum())}, self.lang.value
        )

    def _check_text(self, check: dict) -> str:
        column = str(check.get("column") or "")
        key = f"column.{column}"
        label = t(key, self.lang.value) if key in catalogue() else column
        name = str(check.get("check") or "")
        ckey = f"workspace.check.{name}"
        return t(ckey, self.lang.value, column=label) if ckey in catalogue() else label

    def current_filter(self) -> ListFilter:
        """The list filter the controls show now."""
        return ListFilter(
            query=self.search.value,
            court=self.court.value or None,
            team=self.team.value or None,
            rung=self.rung.value or None,
            flags=tuple(f for f, box in self.flags.items() if box.value),
            livelihood=bool(self.livelihood.value),
            band=self.band.value or None,
        )

    def refresh(self) -> None:
        """Apply the filters and the search to the list and show its first page."""
        if self.index is None:
            self.rows = np.zeros(0, dtype=int)
            self.table.value = self.count.value = ""
            return
        self.rows = np.flatnonzero(self.index.mask(self.current_filter()))
        self.page = 0
        if self.selected is not None and self.selected not in set(
            self.listed["case_id"].iloc[self.rows]
        ):
            self.close_case()  # a search or filter that leaves the open case out closes it
        self._draw_page()
        hit = self.index.exact(self.search.value) if self.search.value.strip() else None
        if hit is not None:
            self.open_case(self.listed["case_id"].iloc[hit])

    def go(self, page: int) -> None:
        """Show one page of the filtered list (clamped to the pages there are)."""
        pages = max(1, -(-len(self.rows) // self.page_size))
        self.page = min(max(page, 0), pages - 1)
        self._draw_page()

    def page_rows(self) -> pd.DataFrame:
        """The rows of the list on the current page."""
        start = self.page * self.page_size
        return self.listed.iloc[self.rows[start : start + self.page_size]]

    def _draw_page(self) -> None:
        lang = self.lang.value
        n = len(self.rows)
        pages = max(1, -(-n // self.page_size))
        self.count.value = render(
            "status.html.j2",
            text=self.t("count", n=f"{n:,}", page=self.page + 1, pages=pages),
            ok=True,
        )
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= pages - 1
        shown = self.page_rows()
        if shown.empty:
            self.table.value = render("notice_plain.html.j2", text=self.t("empty"))
        else:
            self.table.value = self._band_note() + render(
                "workspace_list.html.j2",
                header=[self.t(f"col.{c}") for c in _LIST_HEAD],
                rows=[self._row_cells(r, lang) for r in shown.to_dict("records")],
            )
        self._quiet = True
        try:
            self.opener.options = [(self.t("open_hint"), ALL)] + [
                (f"{int(r.priority_rank)}. {r.case_id}", r.case_id) for r in shown.itertuples()
            ]
            self.opener.value = self.selected if self.selected in set(shown["case_id"]) else ALL
        finally:
            self._quiet = False

    def _proposed(self, r: dict) -> str:
        """Whether the run proposes the case, and whether the exploration band's draw did."""
        in_band = 0 < float(r.get("proposal_propensity", 0) or 0) < 1
        if r.get("candidate"):
            return self.t("proposed.band_in" if in_band else "proposed.yes")
        return self.t("proposed.band_out") if in_band else ""

    def _band_note(self) -> str:
        """One sentence on the exploration band when the run drew one, else nothing."""
        n = band_counts(self.listed)[0]  # case_list fills the column for every run
        return render("notice_plain.html.j2", text=self.t("band_note", n=n)) if n else ""

    def _row_cells(self, r: dict, lang: str) -> dict:
        why = _text(r.get("top_reason_zh") if lang == "zh" else r.get("reasons_en"))
        if lang != "zh":
            why = why.split("; ")[0]
        flags = (
            "、".join(t(f"flag.{f}", lang) for f in HARD_BONE_FLAGS if r.get(f))
            if lang == "zh"
            else ", ".join(t(f"flag.{f}", lang) for f in HARD_BONE_FLAGS if r.get(f))
        )
        latest = self.decisions.get(r["case_id"])
        decided = value_label("action", latest["action"], lang) if latest else ""
        return {
            "case": r["case_id"],
            "decided": bool(latest),
            "cells": [
                f"{int(r['priority_rank'])}",
                r["case_id"],
                _text(r["court_id"]),
                _text(r["team_id"]),
                rung_label(str(r["suggested_rung"]), lang),
                fmt_percent(r["p_keep"], lang),
                fmt_percent(r["p_cross"], lang),
                fmt_points(r["expected_gain"], lang),
                self._proposed(r),
                why,
                flags,
                decided,
            ],
        }

    def _draw_decisions(self) -> None:
        lang = self.lang.value
        rows = self.data.ledger_rows
        recent = rows.tail(10).iloc[::-1] if not rows.empty else rows
        self.recent.value = render(
            "workspace_table.html.j2",
            title=self.t("recent"),
            klass="crossexec-recent",
            header=[self.t(f"recent.{c}") for c in ("case", "action", "who", "when", "reason")],
            rows=[
                [
                    str(r["case_id"]),
                    self._action_text(r, lang)
                    + (
                        f" ({self.t('supersedes', seq=int(r['supersedes']))})"
                        if pd.notna(r["supersedes"])
                        else ""
                    ),
                    str(r["decided_by"]),
                    beijing_time(r["decided_at"]),
                    str(r["reason"]),
                ]
                for _, r in recent.iterrows()
            ],
            empty=self.t("recent.none"),
        )
        pending = pending_escalations(rows)
        self._draw_answer(pending)
        self.pending_box.value = render(
            "workspace_table.html.j2",
            title=self.t("pending"),
            klass="crossexec-pending",
            header=[self.t(f"recent.{c}") for c in ("case", "who", "when", "reason")],
            rows=[
                [
                    str(r["case_id"]),
                    str(r["decided_by"]),
                    beijing_time(r["decided_at"]),
                    str(r["reason"]),
                ]
                for _, r in pending.iterrows()
            ],
            empty=self.t("pending.none"),
        )

    # ------------------------------------------------------------------ a case
    def close_case(self) -> None:
        """Hide the open case's sheet and form."""
        self.selected = None
        self.sheet.value = ""
        self.case_box.layout.display = "none"

    def open_case(self, case_id: str) -> None:
        """Show a case's check-up sheet and, under it, the decision form."""
        scored, cases = self.data.scored, self.data.cases
        srow = scored[scored["case_id"].astype(str) == case_id]
        crow = cases[cases["case_id"].astype(str) == case_id]
        if srow.empty or crow.empty:
            return
        self.selected = case_id
        plan = self.plan()
        sheet = checkup(case_id, cases, scored, plan)
        self.sheet.value = checkup_html(sheet, self.lang.value)
        proposed, note = None, ""
        if plan is not None:
            p = plan[plan["case_id"].astype(str) == case_id]
            if not p.empty:
                proposed = _text(p["target_handler_id"].iloc[0]) or None
                note = self._proposal_note(p.iloc[0])
        self.form.show(
            case_id,
            crow.iloc[-1],
            srow.iloc[-1],
            proposed=proposed,
            proposal_note=note,
            earlier=self.decisions.get(case_id),
        )
        self.case_box.layout.display = None
        self._quiet = True
        try:
            if case_id in {v for _, v in self.opener.options}:
                self.opener.value = case_id
        finally:
            self._quiet = False

    def _proposal_note(self, p: pd.Series) -> str:
        if _text(p.get("target_handler_id")):
            key = "proposal.leader" if bool(p.get("is_leader_target")) else "proposal.handler"
            return self.t(
                key, handler=_text(p["target_handler_id"]), team=_text(p.get("target_team_id"))
            )
        if bool(p.get("escalation")):
            return self.t("proposal.escalate")
        return self.t("proposal.unplaced", why=_text(p.get("unplaced_reason")) or "—")

    def plan(self) -> pd.DataFrame | None:
        """The proposal of who takes each candidate (made once per opening, when first needed)."""
        if self._plan is None and self.handlers is not None and self.data.scored is not None:
            scored = self.data.scored
            capacity = (
                int(scored["candidate"].astype(bool).sum()) if "candidate" in scored else None
            )
            self._plan = assign(scored, self.handlers, capacity)
        return self._plan

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

    def _on_open(self, change: dict) -> None:
        if not self._quiet and change["new"]:
            self.open_case(change["new"])

    def _on_lang(self, _change: dict) -> None:
        self.export_link.value = ""  # its sentence was in the other language
        self._relabel()
        self._draw_run()
        self._draw_page()
        self._draw_decisions()
        if self.selected is not None:
            keep = self.form.reason.value
            self.open_case(self.selected)
            self.form.reason.value = keep

    def _on_recorded(self, rec: dict) -> None:
        row = {
            k: rec.get(k)
            for k in (
                "seq",
                "case_id",
                "action",
                "target_handler_id",
                "decided_by",
                "reason",
                "decided_at",
                "supersedes",
            )
        }
        row["supersedes"] = pd.NA if row["supersedes"] is None else row["supersedes"]
        scores = rec.get("scores")
        row["scores"] = json.dumps(scores, ensure_ascii=False) if scores is not None else None
        self.data.ledger_rows = pd.concat(
            [self.data.ledger_rows, pd.DataFrame([row])], ignore_index=True
        )
        self.decisions[str(rec["case_id"])] = row
        self._draw_page()
        self._draw_decisions()
        if self.listed is not None:
            self._draw_tiles()

    # ------------------------------------------------------------------ export
    def export_frame(self) -> pd.DataFrame:
        """The filtered list as a leader reads it (Chinese values, numbers kept numeric)."""
        lang = self.lang.value
        shown = self.listed.iloc[self.rows]
        cells = [self._row_cells(r, lang)["cells"] for r in shown.to_dict("records")]
        out = pd.DataFrame(
            {
                "priority_rank": shown["priority_rank"].astype("Int64").to_numpy(),
                "case_id": shown["case_id"].to_numpy(),
                "court_id": shown["court_id"].astype(str).to_numpy(),
                "team_id": shown["team_id"].astype(str).to_numpy(),
                "suggested_rung": [rung_label(str(r), lang) for r in shown["suggested_rung"]],
                "p_keep": shown["p_keep"].to_numpy(dtype=float),
                "p_cross": shown["p_cross"].to_numpy(dtype=float),
                # Kept as the fraction: the workbook writer shows it ×100 in 个百分点.
                "expected_gain": shown["expected_gain"].to_numpy(dtype=float),
                "top_reason": [c[8] for c in cells],
                "hard_bone": [c[9] for c in cells],
                "decision": [c[10] for c in cells],
            }
        )
        return out

    def export(self) -> Path | None:
        """Write the filtered list to Excel in ``exports_dir`` and offer it as a download."""
        if self.listed is None:
            return None
        frame = self.export_frame()
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.exports_dir / f"workspace-{self.data.run.run_date}-{stamp}.xlsx"
        labels = {c: self.t(f"col.{k}") for c, k in _EXPORT_LABELS.items()}
        try:
            write_table(
                frame, path, zh_headers=self.lang.value == "zh", sheet_name="list", labels=labels
            )
        except (OSError, InputError) as err:
            self.export_link.value = render(
                "status.html.j2", text=f"{self.t('export_failed')}: {err}", ok=False
            )
            return None
        data = path.read_bytes()
        link = ""
        if len(data) <= _MAX_LINK_BYTES:
            link = f"data:{_XLSX};base64,{base64.b64encode(data).decode('ascii')}"
        self.export_link.value = render(
            "workspace_export.html.j2",
            text=self.t("exported", n=f"{len(frame):,}", path=str(path)),
            link=link,
            name=path.name,
            download=self.t("download"),
        )
        return path


#: The list's columns, by catalogue key ``workspace.col.<key>``.
_LIST_HEAD = (
    "rank",
    "case",
    "court",
    "team",
    "rung",
    "p_keep",
    "p_rung",
    "gain",
    "proposed",
    "why",
    "flags",
    "decided",
)
_EXPORT_LABELS = {
    "priority_rank": "rank",
    "case_id": "case",
    "court_id": "court",
    "team_id": "team",
    "suggested_rung": "rung",
    "p_keep": "p_keep",
    "p_cross": "p_rung",
    "expected_gain": "gain",
    "top_reason": "why",
    "hard_bone": "flags",
    "decision": "decided",
}


def open_workspace(
    runs_dir: str = "",
    ledger_path: str = "",
    handlers_path: str = "",
    exports_dir: str = "",
    lang: str = "zh",
) -> Workspace:
    """The workspace as notebook 04 opens it: empty arguments come from the environment.

    ``CROSSEXEC_RUNS``, ``CROSSEXEC_LEDGER``, ``CROSSEXEC_HANDLERS`` and
    ``CROSSEXEC_EXPORTS`` (set by ``make dashboard`` from ``RUNS=``, ``LEDGER=``, ...), else
    the project's defaults seen from ``notebooks/``.

    Parameters
    ----------
    runs_dir, ledger_path, handlers_path, exports_dir : str
    lang : {"zh", "en"}

    Returns
    -------
    Workspace
    """
    env = os.environ
    handlers = handlers_path or env.get("CROSSEXEC_HANDLERS") or "../data/sample/handlers.csv"
    return Workspace(
        runs_dir or env.get("CROSSEXEC_RUNS") or "../reports/rescore",
        ledger_path or env.get("CROSSEXEC_LEDGER") or "../var/ledger.sqlite",
        handlers_path=handlers if Path(handlers).exists() or handlers_path else None,
        exports_dir=exports_dir or env.get("CROSSEXEC_EXPORTS") or None,
        lang=lang,
    )
