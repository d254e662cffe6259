"""The higher court's answer to a request (报请) in the workspace: pick a pending request, who
answers, why, approve or decline. A mixin of :class:`crossexec_ml.apps.Workspace` (its widgets
and state are the workspace's); the ledger side is ``Ledger.answer_escalation``.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w
import pandas as pd

from crossexec_ml.apps._decision import beijing_time
from crossexec_ml.apps._workspace_data import answer_of
from crossexec_ml.decide import Ledger
from crossexec_ml.errors import LedgerError
from crossexec_ml.report import render
from crossexec_ml.text import value_label

#: The value of "no request chosen" in the request dropdown.
_NONE = ""


class _AnswerMixin:
    """The answer controls of the workspace (uses its ``t``, ``form``, ``data``,
    ``ledger_path``, ``_quiet`` and ``_on_recorded``)."""

    def _build_answer(
        self, auto: Callable[[], w.Layout], row: Callable[[], w.Layout], wide: dict
    ) -> None:
        # The higher court's answer to a request (报请): who answers, why, approve or decline.
        self.answer_pick = w.Dropdown(style=wide, layout=w.Layout(width="auto", min_width="30em"))
        self.answer_who = w.Text(style=wide, layout=auto())
        self.answer_reason = w.Text(style=wide, layout=w.Layout(width="40em"))
        self.answer_buttons = {
            "approved": w.Button(layout=auto(), button_style="success"),
            "declined": w.Button(layout=auto(), button_style="danger"),
        }
        self.answer_status = w.HTML()
        self._answered = False
        for kind, button in self.answer_buttons.items():
            button.on_click(lambda _b, k=kind: self.answer(k))
        self.answer_pick.observe(self._on_answer_pick, names="value")
        self.answer_controls = w.VBox(
            [
                w.HBox([self.answer_pick, self.answer_who, self.answer_reason], layout=row()),
                w.HBox(list(self.answer_buttons.values()), layout=row()),
                self.answer_status,
            ]
        )

    def _relabel_answer(self) -> None:
        self.answer_pick.description = self.t("answer.pick")
        self.answer_who.description = self.t("answer.who")
        self.answer_reason.description = self.t("answer.reason")
        for kind, button in self.answer_buttons.items():
            button.description = self.t(f"answer.button_{kind}")
        if self.form.fixed_decider:
            self.answer_who.value = self.form.fixed_decider
            self.answer_who.disabled = True

    def _draw_answer(self, pending: pd.DataFrame) -> None:
        """Offer the pending requests to answer (the controls hide when there is none)."""
        self._quiet = True
        try:
            self.answer_pick.options = [(self.t("answer.pick_hint"), _NONE)] + [
                (
                    self.t(
                        "answer.option",
                        case=str(r["case_id"]),
                        seq=int(r["seq"]),
                        who=str(r["decided_by"]),
                        when=beijing_time(r["decided_at"]),
                    ),
                    str(int(r["seq"])),
                )
                for _, r in pending.iterrows()
            ]
            self.answer_pick.value = _NONE
        finally:
            self._quiet = False
        self.answer_controls.layout.display = "none" if pending.empty else None
        for button in self.answer_buttons.values():
            button.disabled = bool(self.data.ledger_problem)

    def _action_text(self, r: pd.Series | dict, lang: str) -> str:
        answer = answer_of(r.get("scores"))
        if answer:
            seq = r.get("supersedes")
            return self.t(f"answer.{answer}", seq=int(seq) if pd.notna(seq) else "")
        return value_label("action", r["action"], lang)

    def _on_answer_pick(self, change: dict) -> None:
        if not self._quiet and change["new"]:
            self._answered = False

    def answer(self, kind: str) -> dict | None:
        """Record the higher court's answer (``approved``/``declined``) to the chosen request.

        Returns
        -------
        dict or None
            The ledger row; None when refused (said in ``answer_status``) or when it repeats
            the click that just recorded (a double-click records once).
        """
        seq = self.answer_pick.value
        if self._answered and not seq:
            return None

        def say(text: str, ok: bool = False) -> None:
            self.answer_status.value = render("status.html.j2", text=text, ok=ok)

        if self.data.ledger_problem:
            say(self.data.ledger_problem)
            return None
        if not seq:
            say(self.t("answer.need_request"))
            return None
        who = (self.form.fixed_decider or self.answer_who.value).strip()
        if not who:
            say(self.t("answer.need_name"))
            return None
        if not self.answer_reason.value.strip():
            say(self.t("answer.need_reason"))
            return None
        try:
            with Ledger(self.ledger_path, create=False) as ledger:
                rec = ledger.answer_escalation(int(seq), kind, who, self.answer_reason.value)
        except LedgerError as err:
            say(str(err))
            return None
        self._answered = True
        self.answer_reason.value = ""
        self._on_recorded(rec)
        say(f"{self.t('answer.recorded')} #{rec['seq']}: {rec['case_id']}", ok=True)
        return rec
