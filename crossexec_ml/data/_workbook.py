"""Leader-grade workbooks: every .xlsx the tool writes is readable and printable as it opens.

:func:`crossexec_ml.data.write_table` calls these for each worksheet of an ``.xlsx``, so every
writer (``scored.xlsx`` of score and rescore, ``plan.xlsx``, the ledger's 台账, the check-up
sheets) gets the same treatment in one place:

- values a leader reads: yes/no as 是/否 (which the reader accepts back), rungs and ledger
  actions by their catalogue names (never ``intra_team`` or TRUE/FALSE);
- numbers with a unit: probabilities as percents, gains in 个百分点, amounts in 万元, days with
  天, dates as ``yyyy-mm-dd`` (a cell keeps its number, only its display changes, except that
  gains are stored ×100 so that the cell's value is what it says; no file read back holds one);
- column widths that show a whole 案号 and a whole date, long texts wrapped, the header row
  frozen (with the 案号 column when it comes first), an auto-filter;
- a print setup: A4 landscape, fit to one page wide, the header row repeated on every page.

A column's kind comes from the contract (its dtype) and the small map :data:`COLUMN_KINDS`;
a column is found by its code or by its Chinese header (a frame already labelled, as the plan
sheet is).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping

import numpy as np
import pandas as pd

from crossexec_ml.data._contract import cases_contract, handlers_contract
from crossexec_ml.text import RUNGS, catalogue, t

#: Kinds of leader columns that the contract's dtypes do not tell (scores, the list's own).
COLUMN_KINDS: dict[str, str] = {
    **dict.fromkeys(
        (
            "p_keep",
            "p_intra_team",
            "p_inter_team",
            "p_higher_court",
            "p_cross",
            "proposal_propensity",
        ),
        "percent",
    ),
    **dict.fromkeys(("uplift", "best_gain", "expected_gain"), "points"),
    **dict.fromkeys(("days_since_last_action", "days_since_last_asset_query"), "days"),
    **dict.fromkeys(
        ("priority_rank", "previous_rank", "n_hard_bone_flags", "seq", "n_decisions"), "int"
    ),
    **dict.fromkeys(("guidance", "reasons_zh", "reason", "unplaced_reason", "note"), "long"),
    # English twins and fingerprints: kept in the file for whoever needs them, hidden so that a
    # printed page shows what a leader reads.
    **dict.fromkeys(
        ("guidance_en", "reasons_en", "case_fingerprint", "row_hash", "model_id"), "hidden"
    ),
    "suggested_rung": "rung",
    "decided_action": "action",
    "action": "action",
    "floor_reason": "floor",
}

#: Excel number formats by kind (the unit is part of the display, not of the header).
NUMBER_FORMATS: dict[str, str] = {
    "percent": "0.0%",
    "points": '0.0" 个百分点"',
    # Yuan shown in 万元 with one decimal while the cell keeps its yuan (a file read back, such
    # as a cases export, keeps its amounts): the trailing comma divides by 1,000 and the quoted
    # point is placed before the last digit left, so 1501828.996 shows 150.2 万元.
    "wan": '0"."0," 万元"',
    "days": '#,##0" 天"',
    "int": "0",
    "count": "#,##0",
    "date": "yyyy-mm-dd",
}

_MIN_WIDTH, _MAX_WIDTH, _LONG_WIDTH, _HEADER_WIDTH = 6, 36, 32, 8
# Width a formatted number needs beyond its digits (the unit text and a margin).
_UNIT_EXTRA = {"percent": 2, "points": 8, "wan": 6, "days": 3, "int": 1, "count": 2, "date": 1}
_SAMPLE_ROWS = 2000
#: Points per wrapped line, and the most lines a row grows to (longer text is cut in print).
_LINE_HEIGHT, _MAX_LINES = 13.5, 6
#: Text longer than this (characters) in some cell is wrapped in a column of its own width.
_LONG_CHARS = 60


def _contract_dtypes() -> dict[str, str]:
    out = {c.name: c.dtype for c in handlers_contract().columns.values()}
    out.update({c.name: c.dtype for c in cases_contract().columns.values()})
    return out


def _codes_by_label(labels: Mapping[str, str]) -> dict[str, str]:
    """Chinese header -> column code, so that a frame already labelled is still understood."""
    out = {zh: code for code, zh in labels.items()}
    for key, (zh, _en) in catalogue().items():
        if key.startswith("column."):
            out.setdefault(zh, key.removeprefix("column."))
    return out


def column_kind(code: str, series: pd.Series) -> str:
    """How a column is shown: one of the :data:`NUMBER_FORMATS` kinds, or ``bool``,
    ``category``, ``rung``, ``action``, ``floor``, ``long``, ``hidden`` or ``text``.

    Parameters
    ----------
    code : str
        The column's code (``p_keep``, ``amount_outstanding``...), or any other header.
    series : pandas.Series
        Its values (a column not known by code is judged by its dtype).

    Returns
    -------
    str
    """
    if code in COLUMN_KINDS:
        return COLUMN_KINDS[code]
    dtype = _contract_dtypes().get(code)
    if dtype == "float" and code.startswith(("amount_", "deposit_")):
        return "wan"
    if dtype == "float" and code == "assignment_propensity":
        return "percent"
    if dtype == "category":
        return "category"
    if dtype == "bool" or pd.api.types.is_bool_dtype(series.dtype):
        return "bool"
    if dtype == "date" or pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "date"
    if dtype == "int":
        return "count"
    if series.dtype == object and len(series):
        values = series.dropna()
        if len(values) and values.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            return "bool"
    if _is_long_text(series):
        return "long"  # a sentence or more (a note, a policy): wrapped, not cut at the border
    return "text"


def _is_long_text(series: pd.Series) -> bool:
    if not (series.dtype == object or isinstance(series.dtype, pd.StringDtype)):
        return False
    lengths = series.dropna().head(_SAMPLE_ROWS).astype(str).str.len()
    return bool(len(lengths)) and int(lengths.max()) > _LONG_CHARS


def _label(kind: str, code: str, value: object) -> object:
    """One cell as a leader reads it (None stays empty; an unknown code is left as it is)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if kind == "bool":
        if isinstance(value, (bool, np.bool_)):
            return t("bool.true" if value else "bool.false")
        return value
    text = str(value)
    if kind == "rung":
        return t(f"rung.{text}") if text in RUNGS else value
    if kind == "action":
        return t(f"action.{text}") if f"action.{text}" in catalogue() else value
    if kind == "floor":
        for floor in ("livelihood", "long_unresolved"):
            zh, en = t("priority.floor." + floor, "zh"), t("priority.floor." + floor, "en")
            if zh in text or text.startswith(en):
                return zh
        return value
    return value


def leader_values(
    frame: pd.DataFrame, labels: Mapping[str, str], *, translate: bool = True
) -> tuple[pd.DataFrame, list[str]]:
    """The frame's cells as a leader's workbook holds them, and each column's kind.

    Parameters
    ----------
    frame : pandas.DataFrame
        One worksheet, with column codes or their Chinese headers.
    labels : mapping
        Column code -> Chinese header (the contract's, the outputs', the caller's).
    translate : bool
        Read codes and yes/no in Chinese (a workbook with English headers keeps them).

    Returns
    -------
    (pandas.DataFrame, list of str)
        A copy with gains ×100 (shown in 个百分点), datetimes as dates and, when ``translate``,
        labels for yes/no, rungs and actions; and the kind of each column, in order.
    """
    codes = _codes_by_label(labels)
    out = frame.copy()
    kinds = []
    for i, name in enumerate(out.columns):
        code = name if not isinstance(name, str) else codes.get(name, name)
        series = out.iloc[:, i]
        kind = column_kind(str(code), series)
        if kind in ("points", "wan", "percent", "days", "int", "count"):
            numeric = pd.to_numeric(series, errors="coerce")
            if numeric.notna().sum() < series.notna().sum():
                kind = "text"  # not all numbers (a text note in a number column): leave it be
            elif kind == "points":
                series = numeric * 100
        elif kind == "date":
            if pd.api.types.is_datetime64_any_dtype(series.dtype):
                series = series.dt.tz_localize(None) if series.dt.tz is not None else series
                series = series.dt.date
        elif translate and kind in ("bool", "rung", "action", "floor"):
            # Contract categories keep their codes here: a cases file written as .xlsx must read
            # back as it was; the leaders' sheets word them before writing (全面体检).
            series = series.astype(object).map(lambda v, k=kind, c=str(code): _label(k, c, v))
        out.isetitem(i, series)
        kinds.append(kind)
    return out, kinds


def _text_width(text: str) -> int:
    """Display width in spreadsheet character units: CJK characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _width(header: object, series: pd.Series, kind: str) -> float:
    head = min(_text_width(str(header)), _HEADER_WIDTH) + 2  # headers wrap beyond that
    if kind == "hidden":
        return head
    values = series.dropna()
    if len(values) > _SAMPLE_ROWS:
        values = values.iloc[:_SAMPLE_ROWS]
    if kind == "date":
        body = 11
    elif kind in _UNIT_EXTRA and len(values):
        numbers = pd.to_numeric(values, errors="coerce").abs()
        if kind == "wan":
            numbers = numbers / 1e4
        digits = len(f"{numbers.max():,.2f}") if numbers.notna().any() else 4
        body = digits + _UNIT_EXTRA[kind]
    elif len(values):
        body = max(_text_width(str(v)) for v in values) + 2
    else:
        body = 0
    cap = _LONG_WIDTH if kind == "long" else _MAX_WIDTH
    return float(max(_MIN_WIDTH, min(max(head, body), cap)))


def _lines(text: object, width: float) -> int:
    """Lines a wrapped cell needs in a column ``width`` characters wide."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return 1
    return max(1, math.ceil(_text_width(str(text)) / max(width - 1, 1)))


def _set_row_heights(ws, frame: pd.DataFrame, kinds: list[str]) -> None:
    """Row heights for wrapped cells: a spreadsheet keeps the default height of a row whose
    height the file does not give, and wrapped lines then print over the next row."""
    widths = [ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width for i in
              range(1, len(kinds) + 1)]  # fmt: skip
    visible = [k != "hidden" for k in kinds]
    head = max(
        (_lines(h, w) for h, w, v in zip(frame.columns, widths, visible, strict=True) if v),
        default=1,
    )
    ws.row_dimensions[1].height = _LINE_HEIGHT * min(head, _MAX_LINES) + 2
    long_cols = [i for i, k in enumerate(kinds) if k == "long"]
    if not long_cols:
        return
    from openpyxl.styles import Alignment

    top = Alignment(vertical="top")
    wrap_top = Alignment(wrap_text=True, vertical="top")
    cells = ws.iter_rows(min_row=2, max_row=len(frame) + 1, max_col=len(kinds))
    texts = frame.iloc[:, long_cols].itertuples(index=False, name=None)
    for r, (row, values) in enumerate(zip(cells, texts, strict=True), 2):
        n = max(_lines(v, widths[i]) for v, i in zip(values, long_cols, strict=True))
        if n > 1:
            ws.row_dimensions[r].height = _LINE_HEIGHT * min(n, _MAX_LINES) + 2
            # A tall row reads from its top line: the 案号 beside the first line of its text.
            for cell, kind in zip(row, kinds, strict=True):
                cell.alignment = wrap_top if kind == "long" else top


#: Column width (Excel character units) one A4 landscape page takes: about 130 units fit at
#: full size within the default margins, so a page of 420 prints at no less than about a
#: third of it, which is what the main list (about 400 units) has always printed at.
_PAGE_WIDTH_UNITS = 420.0


def _pages_wide_for(width: float) -> int:
    """How many A4 landscape pages wide a sheet of ``width`` character units prints on.

    Parameters
    ----------
    width : float
        Sum of the shown columns' widths.

    Returns
    -------
    int
        1 up to :data:`_PAGE_WIDTH_UNITS`, then as many pages as keep the print at about a
        third of full size or more.
    """
    return max(1, math.ceil(width / _PAGE_WIDTH_UNITS))


def format_sheet(ws, frame: pd.DataFrame, kinds: list[str]) -> None:
    """Number formats, widths, frozen header, filter and print setup of one written sheet.

    Parameters
    ----------
    ws : openpyxl.worksheet.worksheet.Worksheet
        The sheet pandas just wrote ``frame`` into (header in row 1, no index).
    frame : pandas.DataFrame
        What was written (its headers as written).
    kinds : list of str
        Each column's kind (:func:`leader_values`).
    """
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    n_rows = len(frame) + 1
    wrap_top = Alignment(wrap_text=True, vertical="top")
    shown_width = 0.0
    for i, (header, kind) in enumerate(zip(frame.columns, kinds, strict=True), start=1):
        letter = get_column_letter(i)
        dim = ws.column_dimensions[letter]
        dim.width = _width(header, frame.iloc[:, i - 1], kind)
        if kind == "hidden":
            dim.hidden = True
        else:
            shown_width += dim.width
        head = ws.cell(row=1, column=i)
        head.font = Font(bold=True)
        head.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
        fmt = NUMBER_FORMATS.get(kind)
        if fmt or kind == "long":
            for (cell,) in ws.iter_rows(min_row=2, max_row=n_rows, min_col=i, max_col=i):
                if fmt:
                    cell.number_format = fmt
                else:
                    cell.alignment = wrap_top
    _set_row_heights(ws, frame, kinds)
    codes = list(frame.columns)
    # Keep the 案号 in sight when scrolling right, when it is one of the first two columns.
    case_col = next((j for j, c in enumerate(codes[:2]) if c in ("案号", "case_id")), None)
    ws.freeze_panes = f"{get_column_letter(case_col + 2)}2" if case_col is not None else "A2"
    if len(frame.columns):
        last = get_column_letter(len(frame.columns))
        ws.auto_filter.ref = f"A1:{last}{n_rows}"
        ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    # One page wide while that keeps the print readable; a wider sheet (the 全面体检 sheet has
    # 60-odd columns, which one page would print at about a sixth of full size) spreads over
    # as few pages as keep it at a third or more, each repeating the 案号 column.
    pages_wide = _pages_wide_for(shown_width)
    ws.page_setup.fitToWidth = pages_wide
    if pages_wide > 1 and case_col is not None:
        ws.print_title_cols = f"A:{get_column_letter(case_col + 1)}"
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.gridLines = True
    # Each printed page names its sheet and counts pages (&A sheet, &P page, &N pages).
    ws.oddHeader.center.text = "&A"
    ws.oddFooter.center.text = "&P / &N"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
