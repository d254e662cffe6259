"""The workspace's follow-up section: did the cases we decided resolve, and did 40% mean 40%?

Where the outcomes come from: the scheduled run (``crossexec rescore --followup-cases
LATER_EXPORT``) follows the ledger's decisions up in a later export with outcomes and writes
``followup.json`` and ``followup.html`` into its folder; this section shows the newest run's,
by decision, rung, court, team (never per handler) or month. A run without them, a ledger with
no decision yet, or decisions with no known outcome yet each get one calm sentence saying what
is needed; nothing here raises (Voilà hides exceptions).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w
import pandas as pd

from crossexec_ml.data import RunInfo
from crossexec_ml.evaluate import FOLLOWUP_COLUMNS, FOLLOWUP_GROUPINGS, FollowUp
from crossexec_ml.report import followup_tables, render
from crossexec_ml.text import fmt_percent, t

# The follow-up files a run writes (jobs.FOLLOWUP_FILES: a sibling room, so named again here).
_FOLLOWUP_JSON, _FOLLOWUP_HTML = "followup.json", "followup.html"
#: The full page is offered as a download link up to this size.
_MAX_LINK_BYTES = 5_000_000


@dataclass
class RunFollowUpView:
    """What the newest run says about the follow-up.

    Attributes
    ----------
    status : str
        ``none`` (the run had no later export), ``no_decisions`` (the ledger was empty),
        ``ok``, or ``unreadable`` (the run's ``followup.json`` cannot be read).
    payload : dict
        ``followup.json`` (:meth:`crossexec_ml.evaluate.FollowUp.to_json`) when ``ok``.
    entry : dict
        The manifest's ``followup`` record (source file, counts).
    """

    status: str = "none"
    payload: dict[str, Any] = field(default_factory=dict)
    entry: dict[str, Any] = field(default_factory=dict)


def read_run_followup(run: RunInfo | None) -> RunFollowUpView:
    """The follow-up the run wrote, if any (see :class:`RunFollowUpView`).

    Parameters
    ----------
    run : RunInfo or None

    Returns
    -------
    RunFollowUpView
    """
    entry = (run.manifest.get("followup") if run is not None else None) or {}
    if not entry:
        return RunFollowUpView()
    if entry.get("status") == "no_decisions":
        return RunFollowUpView(status="no_decisions", entry=entry)
    try:
        payload = json.loads((run.folder / _FOLLOWUP_JSON).read_text(encoding="utf-8"))
        # A run written before the proposal table existed still shows its other tables.
        if not all(f"by_{g}" in payload for g in FOLLOWUP_GROUPINGS if g != "proposal"):
            raise ValueError("not a follow-up")
    except (OSError, ValueError):
        return RunFollowUpView(status="unreadable", entry=entry)
    return RunFollowUpView(status="ok", payload=payload, entry=entry)


def _as_result(payload: dict[str, Any]) -> FollowUp:
    """The JSON's tables as a :class:`FollowUp`, so the page and the section format alike."""
    tables = {
        g: pd.DataFrame(payload[f"by_{g}"], columns=[g, *FOLLOWUP_COLUMNS]).astype(
            {c: float for c in FOLLOWUP_COLUMNS}
        )
        for g in FOLLOWUP_GROUPINGS
        if f"by_{g}" in payload
    }
    return FollowUp(detail=pd.DataFrame(), tables=tables)


def _overall(payload: dict[str, Any]) -> tuple[int, int, int, float]:
    """Cases decided, known, resolved, and the mean predicted rate over the known ones."""
    rows = payload["by_action"]
    known = sum(int(r["n_known"]) for r in rows)
    resolved = sum(int(r["n_resolved"]) for r in rows)
    weighted = [
        (r["predicted_rate"], r["n_known"]) for r in rows if r["predicted_rate"] is not None
    ]
    weight = sum(n for _, n in weighted)
    predicted = sum(p * n for p, n in weighted) / weight if weight else math.nan
    return sum(int(r["n_decided"]) for r in rows), known, resolved, predicted


class FollowUpSection:
    """The follow-up section of the workspace (a widget; :meth:`draw` fills it).

    Attributes
    ----------
    view : ipywidgets.VBox
    by : ipywidgets.Dropdown
        The grouping shown: decision, rung, court, team, month of decision or proposal.
    """

    def __init__(self) -> None:
        self.box = w.HTML()
        self.by = w.Dropdown(style={"description_width": "initial"}, layout=w.Layout(width="18em"))
        self.by.observe(lambda _c: self._draw_table(), names="value")
        self.table = w.HTML()
        self.link = w.HTML()
        self.view = w.VBox([self.box, self.by, self.table, self.link])
        self.view.add_class("crossexec-followup-section")
        self._run: RunInfo | None = None
        self._data = RunFollowUpView()
        self._lang = "zh"

    def draw(self, run: RunInfo | None, lang: str) -> None:
        """Read the run's follow-up (when the run changed) and draw the section in ``lang``."""
        if run is not self._run:
            self._run, self._data = run, read_run_followup(run)
        self._lang = lang
        data = self._data
        title = t("workspace.followup.title", lang)
        lines = self._lines(lang)
        self.box.value = render(
            "workspace_followup.html.j2", title=title, lines=lines, rows=[], link="", where=""
        )
        ok = data.status == "ok"
        # The grouping box only with a table to group: no outcome yet, nothing to choose.
        self.by.layout.display = None if ok and _overall(data.payload)[1] else "none"
        keep = self.by.value
        self.by.description = t("workspace.followup.by", lang)
        shown = [g for g in FOLLOWUP_GROUPINGS if ok and f"by_{g}" in data.payload] or ["action"]
        self.by.options = [(t(f"followup.title.{g}", lang), g) for g in shown]
        self.by.value = keep if keep in shown else "action"
        self._draw_table()
        self.link.value = self._link(lang) if ok else ""

    def _lines(self, lang: str) -> list[str]:
        data, run = self._data, self._run
        if data.status != "ok":
            return [t(f"workspace.followup.{data.status}", lang)]
        n, known, resolved, predicted = _overall(data.payload)
        source = (data.entry.get("cases") or {}).get("file", "")
        lines = [t("workspace.followup.source", lang, run_date=run.run_date, file=source)]
        if not known:
            lines.append(t("workspace.followup.none_known", lang, n=f"{n:,}"))
            return lines
        lines.append(
            t(
                "workspace.followup.summary",
                lang,
                n=f"{n:,}",
                known=f"{known:,}",
                resolved=f"{resolved:,}",
                realised=fmt_percent(resolved / known, lang),
                predicted=fmt_percent(predicted, lang),
            )
        )
        lines.append(t("workspace.followup.how", lang))
        other = int(data.payload.get("n_other_model") or 0)
        if other:
            lines.append(t("workspace.followup.other_model", lang, n=f"{other:,}"))
        return lines

    def _draw_table(self) -> None:
        if self._data.status != "ok" or not _overall(self._data.payload)[1]:
            self.table.value = ""
            return
        lang, by = self._lang, self.by.value or "action"
        result = _as_result(self._data.payload)
        frame = followup_tables(result, lang)[t(f"followup.title.{by}", lang)]
        # The verdict is text; it reads best left-aligned beside the numbers.
        at = list(frame.columns).index(t("followup.col.verdict", lang))
        header, rows = list(frame.columns), frame.to_numpy().tolist()
        self.table.value = render(
            "workspace_followup.html.j2",
            title="",
            lines=[],
            rows=rows,
            header=header,
            left=[at],
            link="",
            where="",
        )

    def _link(self, lang: str) -> str:
        page = self._run.folder / _FOLLOWUP_HTML
        try:
            data = page.read_bytes()
        except OSError:
            return ""
        link = ""
        if len(data) <= _MAX_LINK_BYTES:
            link = f"data:text/html;base64,{base64.b64encode(data).decode('ascii')}"
        return render(
            "workspace_followup.html.j2",
            title="",
            lines=[],
            rows=[],
            link=link,
            name=f"followup-{self._run.run_date}.html",
            download=t("workspace.followup.download", lang),
            where=t("workspace.followup.where", lang, path=str(page)),
        )
