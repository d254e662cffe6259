"""Warnings about inputs that are valid but probably not what the clerk meant."""

from __future__ import annotations

import pandas as pd

#: More open slots than this on one handler is not a real count (a whole team's caseload in one
#: cycle): such a row is valid but named in a warning, and the plan's summary says so (the plan
#: caps every handler at the cases it could take anyway).
MAX_PLAUSIBLE_SLOTS = 500


_MAX_NAMED = 20


def _named(items: list[str], total: int) -> str:
    more = total - len(items)
    return ", ".join(items) + (f" and {more:,} more" if more > 0 else "")


def implausible_slots(frame: pd.DataFrame, kind: str, rows: pd.Series) -> list[str]:
    """A warning naming the handlers (row, code, value) with implausibly many open slots.

    Parameters
    ----------
    frame : pandas.DataFrame
        The typed frame being validated.
    kind : str
        Only ``handlers`` frames are checked.
    rows : pandas.Series
        Spreadsheet row number of each row of ``frame``.

    Returns
    -------
    list of str
        No warning, or one.
    """
    if kind != "handlers" or len(frame) == 0:
        return []
    slots = frame["open_slots"].astype("Float64")
    many = (slots > MAX_PLAUSIBLE_SLOTS).fillna(False).astype(bool)
    if not many.any():
        return []
    shown = [
        f"row {int(rows[i])} ({str(frame.at[i, 'handler_id'])[:40]}: {int(slots[i]):,})"
        for i in many[many].index[:_MAX_NAMED]
    ]
    return [
        f"{int(many.sum())} handler(s) have more than {MAX_PLAUSIBLE_SLOTS} open slots "
        "(open_slots, 可接收交叉案件数), more cases than one handler takes in a cycle: "
        + _named(shown, int(many.sum()))
        + "; write the number of cases each can really take (a plan never gives a handler more "
        "cases than its rung has)"
    ]
