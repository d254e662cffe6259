"""The decision form shared by the case picker and the leader's workspace.

One form under an open case: the proposed new handler pre-selected and explained, who decides
(the logged-in user behind a login proxy, else a typed code), why, and one button per action.
It writes one ledger row per decision and guards the joints a browser exposes:

- one click records once: the buttons are disabled while writing and stay disabled after a
  decision until the form is used again, so a double-click (two queued clicks) records one row
  and the second click does nothing (no red "enter the reason" after the first one cleared it);
- a case with an earlier decision shows it, and a new decision is recorded only after the
  person confirms it supersedes that one (``Ledger.record(..., supersedes=seq)``);
- a damaged or tampered ledger disables the form and says so, instead of showing "no decision".
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path

import ipywidgets as w
import pandas as pd

from crossexec_ml.decide import Ledger, eligible_handlers, scores_shown
from crossexec_ml.errors import LedgerError
from crossexec_ml.report import render
from crossexec_ml.text import rung_label, t, value_label

#: The form's buttons: ledger action (``reassign`` picks intra- or inter-team by the chosen
#: handler's team) -> catalogue key of its label (``picker.<key>``).
BUTTONS: dict[str, str] = {
    "reassign": "reassign",
    "escalate_higher_court": "escalate",
    "keep": "keep",
    "refer_judicial_aid": "aid",
    "defer": "defer",
}
#: Environment variables holding the logged-in user, as Voilà passes a login proxy's header
#: into the kernel (``--VoilaConfiguration.http_header_envs="['X-Forwarded-User']"`` gives
#: ``HTTP_X_FORWARDED_USER``; rfc3875 naming). The first one set wins.
USER_ENVS: tuple[str, ...] = ("HTTP_X_FORWARDED_USER", "HTTP_X_REMOTE_USER", "HTTP_REMOTE_USER")
_BEIJING = dt.timezone(dt.timedelta(hours=8))


def proxy_user(environ: os._Environ | dict | None = None) -> str | None:
    """The user a login proxy put in front of the workspace says is logged in, if any.

    Parameters
    ----------
    environ : mapping, optional
        Default ``os.environ`` (where Voilà puts the forwarded headers of the page's request).

    Returns
    -------
    str or None
        The first non-empty value of :data:`USER_ENVS`, stripped.
    """
    env = os.environ if environ is None else environ
    for name in USER_ENVS:
        value = str(env.get(name) or "").strip()
        if value:
            return value
    return None


def beijing_time(utc_iso: object) -> str:
    """A ledger ``decided_at`` (UTC ISO) as Beijing time ``YYYY-MM-DD HH:MM``."""
    try:
        stamp = pd.Timestamp(str(utc_iso))
    except ValueError:
        return str(utc_iso)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(_BEIJING).strftime("%Y-%m-%d %H:%M")


class DecisionForm:
    """Record a person's decision on one case in the ledger.

    Parameters
    ----------
    ledger_path : path-like
        The ledger (created on the first decision when missing).
    lang : {"zh", "en"}
    handlers : pandas.DataFrame, optional
        Contract-typed handlers: the eligible new handlers are offered from them.
    decider : str, optional
        The logged-in user (see :func:`proxy_user`): shown, not editable. Without it the
        decider types his or her code.
    """

    def __init__(
        self,
        ledger_path: str | os.PathLike[str],
        *,
        lang: str = "zh",
        handlers: pd.DataFrame | None = None,
        decider: str | None = None,
    ):
        self.ledger_path = Path(ledger_path)
        self.lang = lang
        self.handlers = handlers
        self.fixed_decider = decider
        self.case_id: str | None = None
        self.case: pd.Series | None = None
        self.scored_row: pd.Series | None = None
        self.earlier: dict | None = None
        self.broken = ""
        self.on_recorded: list[Callable[[dict], None]] = []
        self._busy = False
        self._done = False
        self.proposal = w.HTML()
        self.target = w.Dropdown(layout=w.Layout(width="auto", min_width="24em"))
        self.decider = w.Text(value=decider or "", disabled=bool(decider))
        self.reason = w.Textarea(layout=w.Layout(width="95%", height="5em"))
        self.earlier_box = w.HTML()
        self.confirm = w.Checkbox(value=False, indent=False, layout=w.Layout(width="auto"))
        # One Layout each: a shared one would hide every button with the confirm box.
        self.buttons = {a: w.Button(layout=w.Layout(width="auto")) for a in BUTTONS}
        self.buttons["reassign"].button_style = "primary"
        self.buttons["escalate_higher_court"].button_style = "warning"
        self.status = w.HTML()
        for action, button in self.buttons.items():
            button.on_click(lambda _b, a=action: self.decide(a))
        for control in (self.reason, self.target, self.confirm, self.decider):
            control.observe(self._on_edit, names="value")
        self.view = w.VBox(
            [
                self.proposal,
                self.target,
                self.decider,
                self.reason,
                self.earlier_box,
                self.confirm,
                w.HBox(list(self.buttons.values()), layout=w.Layout(flex_flow="row wrap")),
                self.status,
            ],
            layout=w.Layout(width="100%"),
        )
        self.relabel(lang)
        self._enable()

    # ------------------------------------------------------------------ text
    def t(self, key: str, **fields: object) -> str:
        """UI text in the form's language (``picker.<key>``)."""
        return t(f"picker.{key}", self.lang, **fields)

    def relabel(self, lang: str) -> None:
        """Switch every label to ``lang``."""
        self.lang = lang
        self.decider.description = self.t("decider")
        self.decider.placeholder = self.t("decider_hint")
        self.reason.description = self.t("reason")
        self.target.description = self.t("target")
        self.confirm.description = self.t("confirm_supersede")
        for action, key in BUTTONS.items():
            self.buttons[action].description = self.t(key)
            self.buttons[action].tooltip = self.t(key)
        for control in (self.decider, self.reason, self.target):
            control.style = {"description_width": "initial"}
        if self.case_id is not None:
            self._show_earlier()
            self._show_proposal()

    # ------------------------------------------------------------------ state
    def disable(self, message: str) -> None:
        """Refuse every decision and say why (a damaged ledger): the form stays visible."""
        self.broken = message
        self._enable()
        self.status.value = render("status.html.j2", text=message, ok=False)

    def _enable(self) -> None:
        off = bool(self.broken) or self.case_id is None or self._busy or self._done
        for button in self.buttons.values():
            button.disabled = off
        self.buttons["reassign"].disabled = off or not self.target.options

    def _on_edit(self, change: dict) -> None:
        # A new decision starts when the person types or chooses again; the reason being
        # cleared by the form itself after recording does not re-arm the buttons.
        if self._done and change["new"] not in ("", None, False):
            self._done = False
            self._enable()

    def show(
        self,
        case_id: str,
        case: pd.Series,
        scored_row: pd.Series,
        *,
        proposed: str | None = None,
        proposal_note: str = "",
        earlier: dict | None = None,
    ) -> None:
        """Put the form under one case.

        Parameters
        ----------
        case_id : str
        case : pandas.Series
            The case's contract row (court, team, current and earlier handlers).
        scored_row : pandas.Series
            The case's scored row (what was shown when deciding goes into the ledger).
        proposed : str, optional
            The plan's proposed new handler: offered first and pre-selected.
        proposal_note : str
            Why the plan proposes that handler or escalation (shown above the list).
        earlier : dict, optional
            The case's latest ledger row: a new decision then supersedes it.
        """
        self.case_id, self.case, self.scored_row = case_id, case, scored_row
        self.earlier = earlier
        self.proposed, self.proposal_note = proposed, proposal_note
        self._done = False
        self.confirm.value = False
        self.reason.value = ""
        self.target.options = self._targets(case, proposed)
        self.target.value = self.target.options[0][1] if self.target.options else None
        self._show_proposal()
        self._show_earlier()
        self.status.value = (
            render("status.html.j2", text=self.broken, ok=False) if self.broken else ""
        )
        self._enable()

    def _show_proposal(self) -> None:
        rung = str(self.scored_row.get("suggested_rung")) if self.scored_row is not None else ""
        head = self.t("proposal", rung=rung_label(rung, self.lang) if rung else "")
        if self.proposed:
            head += " " + self.t("proposed_handler", handler=self.proposed)
        self.proposal.value = render(
            "decision_proposal.html.j2", head=head, note=self.proposal_note or ""
        )

    def _show_earlier(self) -> None:
        e = self.earlier
        self.confirm.layout.display = None if e else "none"
        if not e:
            self.earlier_box.value = ""
            return
        self.earlier_box.value = render(
            "decision_earlier.html.j2",
            text=self.t(
                "earlier",
                seq=e["seq"],
                action=value_label("action", e["action"], self.lang),
                who=e["decided_by"],
                when=beijing_time(e["decided_at"]),
                reason=e["reason"],
            ),
        )

    def _targets(self, case: pd.Series, proposed: str | None) -> list[tuple[str, str]]:
        if self.handlers is None:
            return []
        options: list[tuple[str, str]] = []
        for rung in ("intra_team", "inter_team"):
            for _, h in eligible_handlers(case, self.handlers, rung).iterrows():
                hid = str(h["handler_id"])
                label = self.t(
                    "target_option",
                    handler=hid,
                    team=str(h["team_id"]),
                    rung=rung_label(rung, self.lang),
                    slots=int(pd.to_numeric(h["open_slots"])),
                )
                if hid == proposed:
                    label = "★ " + label + " " + self.t("target_proposed")
                options.append((label, hid))
        options.sort(key=lambda o: o[1] != proposed)
        return options

    # ------------------------------------------------------------------ deciding
    def _say(self, text: str, ok: bool = False) -> None:
        self.status.value = render("status.html.j2", text=text, ok=ok)

    def decide(self, action: str) -> dict | None:
        """Record a decision on the form's case; refuse (and say why) when it cannot.

        Parameters
        ----------
        action : str
            A key of :data:`BUTTONS`.

        Returns
        -------
        dict or None
            The ledger row; None when refused or when the form is already writing or has just
            recorded (a second click of a double-click does nothing).
        """
        if self._busy or self._done:
            return None
        if self.broken:
            self._say(self.broken)
            return None
        if self.case_id is None:
            self._say(self.t("need_case"))
            return None
        who = (self.fixed_decider or self.decider.value).strip()
        if not who:
            self._say(self.t("need_name"))
            return None
        if not self.reason.value.strip():
            self._say(self.t("need_reason"))
            return None
        if self.earlier and not self.confirm.value:
            self._say(self.t("need_confirm", seq=self.earlier["seq"]))
            return None
        target = None
        if action == "reassign":
            target = self.target.value
            if not target or self.handlers is None:
                self._say(self.t("need_target"))
                return None
            team = self.handlers.loc[self.handlers["handler_id"] == target, "team_id"].iloc[0]
            same = str(team) == str(self.case["team_id"])
            action = "reassign_intra_team" if same else "reassign_inter_team"
        row = self.scored_row
        self._busy = True
        self._enable()
        try:
            with Ledger(self.ledger_path) as ledger:
                rec = ledger.record(
                    self.case_id,
                    action,
                    who,
                    self.reason.value,
                    target_handler_id=target,
                    model_id=str(row.get("model_id") or "") or None,
                    scores=scores_shown(row),
                    as_of_date=pd.Timestamp(row["as_of_date"]).date(),
                    supersedes=int(self.earlier["seq"]) if self.earlier else None,
                )
        except LedgerError as err:
            self._busy = False
            self._enable()
            self._say(str(err))
            return None
        self._busy = False
        self._done = True
        self.earlier = rec
        self.reason.value = ""
        self.confirm.value = False
        self._show_earlier()
        self._enable()
        done = value_label("action", action, self.lang)
        self._say(f"{self.t('recorded')} #{rec['seq']}: {self.case_id} → {done}", ok=True)
        for callback in self.on_recorded:
            callback(rec)
        return rec
