"""Read court exports into contract-typed frames, validate them, and write outputs atomically.

Real case-management systems export CSV (UTF-8, UTF-8 with BOM, GBK) or XLSX with Chinese
headers; data teams also keep Parquet. Every reader here goes through one validation pass that
collects **every** problem, each naming the spreadsheet row (the header is row 1), the column
(English name and Chinese label), the bad value and what is expected, so a clerk can fix the
export in one go. Nothing downstream ever runs on an invalid frame.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from crossexec_ml.data._csv import BATCH_ROWS, _read_csv_whole
from crossexec_ml.data._report import ValidationError, ValidationReport
from crossexec_ml.data._validate import validate_frame
from crossexec_ml.errors import InputError
from crossexec_ml.settings import RUNGS

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


#: A CSV read whole (``read_cases``, ``validate_file``) takes about this many times its size in
#: memory: Arrow strings, then the typed frame (measured: a 384 MB export of 1M rows peaked at
#: 1.8 GB; the cell-by-cell reader before step 6 took 17 times). The engines read a CSV in
#: batches instead, whatever its size.
CSV_MEMORY_FACTOR = 5


def _available_memory() -> int | None:
    """Bytes of memory the kernel says are available (Linux ``MemAvailable``), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def _refuse_what_cannot_fit(path: Path) -> None:
    """Refuse a CSV that would not fit in memory, with a sentence, before reading it.

    Without this the kernel kills the process part-way (an operator sees no reason at all).
    """
    need = path.stat().st_size * CSV_MEMORY_FACTOR
    free = _available_memory()
    if free is not None and need > free:
        raise InputError(
            f"{path.name}: this CSV is {path.stat().st_size / 2**20:,.0f} MB; reading it takes "
            f"about {need / 2**30:,.1f} GB of memory and this machine has "
            f"{free / 2**30:,.1f} GB free: split the export into parts, or score it piece by "
            "piece (`crossexec score --cases FILE --out FOLDER`, a folder of Parquet parts) "
            "or validate it in batches (`crossexec validate FILE`)"
        )


def _read_csv_raw(path: Path) -> tuple[list[str], pd.DataFrame]:
    _refuse_what_cannot_fit(path)
    return _read_csv_whole(path)


def _read_xlsx_raw(path: Path, sheet: str | int | None) -> tuple[list[str], pd.DataFrame]:
    import openpyxl

    unreadable = InputError(
        f"{path.name}: not a readable .xlsx workbook; open it in Excel and save it as .xlsx again"
    )
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # a damaged workbook can fail anywhere in openpyxl's XML parsing
        raise unreadable from None
    try:
        names = wb.sheetnames
        ws = _pick_sheet(wb, path, sheet)
        try:
            # Read-only rows come one per sheet row from row 1 (gaps filled): i is Excel's row.
            numbered = [
                (i, list(r))
                for i, r in enumerate(ws.iter_rows(values_only=True), start=1)
                if any(c is not None and str(c).strip() for c in r)
            ]
            hidden = _hidden_rows(ws)
        except Exception:  # damaged sheet XML, bad shared strings, impossible dates...
            raise unreadable from None
        notes = _hidden_notes(
            ws.title,
            [i for i, _ in numbered[1:] if i in hidden],
            [n for n in names if wb[n].sheet_state != "visible"],
        )
    finally:
        wb.close()
    rows = [r for _, r in numbered]
    if not rows:
        raise InputError(f"{path.name}: the sheet {ws.title!r} is empty")
    header = ["" if c is None else str(c) for c in rows[0]]
    while header and not header[-1].strip():
        header.pop()
    width = len(header)
    body = [(r + [None] * width)[:width] for r in rows[1:]]
    frame = pd.DataFrame(body, columns=range(width), dtype=object)
    frame.attrs["read_warnings"] = notes
    return header, frame


def _pick_sheet(wb: object, path: Path, sheet: str | int | None) -> object:
    names = wb.sheetnames  # type: ignore[attr-defined]
    if sheet is None:
        return wb[names[0]]  # type: ignore[index]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise InputError(
                f"{path.name}: there is no sheet number {sheet}; the workbook has "
                f"{len(names)} sheet(s): {', '.join(names)}"
            )
        return wb[names[sheet]]  # type: ignore[index]
    if sheet not in names:
        raise InputError(
            f"{path.name}: there is no sheet named {sheet!r}; the workbook has: " + ", ".join(names)
        )
    return wb[sheet]  # type: ignore[index]


def xlsx_batches(
    path: str | os.PathLike[str], batch_rows: int = BATCH_ROWS, *, sheet: str | int | None = None
) -> Iterator[tuple[list[str], pd.DataFrame, int]]:
    """An XLSX sheet as batches of rows, read one row at a time (openpyxl read-only).

    The rows are those :func:`read_cases` reads (blank rows skipped and not counted, short
    rows padded, cells as Excel typed them), so memory holds one batch however long the sheet.

    Parameters
    ----------
    path : path-like
    batch_rows : int
        Rows per batch (the last one may hold fewer).
    sheet : str or int, optional
        Worksheet name or 0-based number (default: the first sheet).

    Yields
    ------
    header : list of str
    frame : pandas.DataFrame
        The batch's rows, columns numbered 0.. by position (object cells).
    done : int
        Data rows before this batch (its first row is spreadsheet row ``done + 2``).

    Raises
    ------
    InputError
        An unreadable workbook, a missing sheet, an empty sheet.
    """
    import openpyxl

    path = Path(path)
    unreadable = InputError(
        f"{path.name}: not a readable .xlsx workbook; open it in Excel and save it as .xlsx again"
    )
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # a damaged workbook can fail anywhere in openpyxl's XML parsing
        raise unreadable from None
    try:
        ws = _pick_sheet(wb, path, sheet)
        rows = ws.iter_rows(values_only=True)
        header: list[str] | None = None
        body: list[list[object]] = []
        done = width = 0
        while True:
            try:
                row = next(rows, None)
            except Exception:  # damaged sheet XML, bad shared strings, impossible dates...
                raise unreadable from None
            if row is not None and not any(c is not None and str(c).strip() for c in row):
                continue
            if row is not None and header is None:
                header = ["" if c is None else str(c) for c in row]
                while header and not header[-1].strip():
                    header.pop()
                width = len(header)
                continue
            if row is not None:
                body.append((list(row) + [None] * width)[:width])
                if len(body) < batch_rows:
                    continue
            if header is None:
                raise InputError(f"{path.name}: the sheet {ws.title!r} is empty")
            if body or row is None:
                yield header, pd.DataFrame(body, columns=range(width), dtype=object), done
                done += len(body)
                body = []
            if row is None:
                break
    finally:
        wb.close()


_SHEET_ROW = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}row"


def _hidden_rows(ws: object) -> set[int]:
    """Excel row numbers of the rows hidden in a read-only worksheet (its XML, one pass).

    Read-only worksheets do not keep ``row_dimensions``; the ``hidden`` attribute of each
    ``<row>`` is read here (``r`` may be left out: then it is the previous row + 1).
    """
    from openpyxl.xml.functions import iterparse

    hidden: set[int] = set()
    last = 0
    with ws._get_source() as src:  # type: ignore[attr-defined]
        for _, el in iterparse(src):
            if el.tag != _SHEET_ROW:
                continue
            last = int(el.get("r") or last + 1)
            if el.get("hidden") in ("1", "true"):
                hidden.add(last)
            el.clear()
    return hidden


def _hidden_notes(sheet: str, hidden_rows: list[int], hidden_sheets: list[str]) -> list[str]:
    """Warnings about what Excel hides: data rows that are read anyway, hidden sheets."""
    notes = []
    if hidden_rows:
        shown = ", ".join(map(str, hidden_rows[:20]))
        more = len(hidden_rows) - 20
        notes.append(
            f"{len(hidden_rows)} row(s) of sheet {sheet!r} are hidden in Excel but are read and "
            f"used like the others: sheet rows {shown}"
            + (f" and {more} more" if more > 0 else "")
            + "; unhide them to check them, or delete the rows that must not be used"
        )
    if sheet in hidden_sheets:
        notes.append(
            f"the sheet read, {sheet!r}, is hidden in Excel; check that it is the case table "
            "(choose another with --sheet)"
        )
    others = [n for n in hidden_sheets if n != sheet]
    if others:
        notes.append(
            f"the workbook has hidden sheet(s) that were not read: {', '.join(map(repr, others))}"
        )
    return notes


_PANDAS_ROW_NUMBERS = re.compile(r"__index_level_\d+__")


def without_pandas_index(table: pa.Table) -> pa.Table:
    """The table without the row numbers pandas saves as ``__index_level_N__`` columns.

    ``df[mask].to_parquet(path)`` keeps the filtered frame's row numbers as such a column; they
    are not case data. A named index (``df.set_index("case_id").to_parquet(path)``) is stored
    as an ordinary column of that name and is kept, so ``case_id`` is read as a column.

    Parameters
    ----------
    table : pyarrow.Table

    Returns
    -------
    pyarrow.Table
    """
    drop = [c for c in table.column_names if _PANDAS_ROW_NUMBERS.fullmatch(str(c))]
    return table.drop_columns(drop) if drop else table


def _read_parquet_raw(path: Path) -> tuple[list[str], pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = without_pandas_index(pq.read_table(path))
        header = list(table.column_names)
        # The pandas metadata would turn a saved index back into the index and leave the
        # header one column longer than the frame; every column is data here.
        df = table.to_pandas(ignore_metadata=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(
            f"{path.name}: not a readable Parquet file ({type(exc).__name__}); "
            "write it again with pandas or pyarrow"
        ) from None
    df.columns = range(len(header))
    return header, df


def _read_raw(path: Path, sheet: str | int | None) -> tuple[list[str], pd.DataFrame]:
    if not path.exists():
        raise InputError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise InputError(f"{path}: this is a folder, not a file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv_raw(path)
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx_raw(path, sheet)
    if suffix == ".parquet" or suffix == ".pq":
        return _read_parquet_raw(path)
    if suffix == ".xls":
        raise InputError(
            f"{path.name}: old-style .xls workbooks are not read; save it as .xlsx in Excel"
        )
    raise InputError(
        f"{path.name}: unknown file type {suffix or '(none)'}; use .csv, .xlsx or .parquet"
    )


def validate_file(
    path: str | os.PathLike[str],
    *,
    kind: str = "cases",
    sheet: str | int | None = None,
    allow_personal_columns: bool | None = None,
    batch_over_mb: float | None = None,
) -> ValidationReport:
    """Read a CSV/XLSX/Parquet file and validate it against the contract.

    Parameters
    ----------
    path : path-like
        ``.csv`` (UTF-8, UTF-8 with BOM, GBK/GB18030), ``.xlsx`` or ``.parquet``.
    kind : {"cases", "handlers", "truth"}
        Which contract applies (a truth file is best read with :func:`read_truth`).
    sheet : str or int, optional
        Worksheet name or 0-based number of an XLSX file (default: the first sheet).
    allow_personal_columns : bool, optional
        Drop extra columns that look like personal data instead of refusing them (see
        :func:`validate_frame`).
    batch_over_mb : float, optional
        A CSV larger than this many MB is validated in batches of :data:`BATCH_ROWS` rows,
        memory bounded by a batch, with the same problems (keys compared across the whole
        file by hash); its report's ``frame`` then holds only what the summary needs. Default:
        the whole file at once (it must fit in memory, about five times its size).

    Returns
    -------
    ValidationReport

    Raises
    ------
    InputError
        When the file cannot be read at all; the message is one actionable sentence.
    """
    p = Path(path)
    if (
        batch_over_mb is not None
        and p.suffix.lower() in (".csv", ".txt")
        and p.is_file()
        and p.stat().st_size > batch_over_mb * 2**20
    ):
        from crossexec_ml.data._batch_check import _validate_csv_in_batches

        return _validate_csv_in_batches(
            p, kind=kind, allow_personal_columns=allow_personal_columns, batch_rows=BATCH_ROWS
        )
    header, raw = _read_raw(p, sheet)
    if raw.empty:
        raise InputError(
            f"{p.name}: the file has a header but no data rows; export the table with its rows"
        )
    notes = raw.attrs.pop("read_warnings", [])
    report = validate_frame(
        raw, header, kind=kind, source=p.name, allow_personal_columns=allow_personal_columns
    )
    report.warnings[:0] = notes
    return report


def read_cases(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    allow_personal_columns: bool | None = None,
) -> pd.DataFrame:
    """Read and validate a case export (history or current).

    Parameters
    ----------
    path : path-like
        CSV (UTF-8 or GBK), XLSX or Parquet, with English or Chinese headers.
    sheet : str or int, optional
        XLSX worksheet (default: the first).
    allow_personal_columns : bool, optional
        Drop extra columns that look like personal data (names, ID or telephone numbers)
        instead of refusing the file. Default: off, unless inside
        :func:`allowing_personal_columns`.

    Returns
    -------
    pandas.DataFrame
        Contract columns in contract order with contract dtypes, then any extra columns
        (never one that looks like personal data).
        ``frame.attrs["warnings"]`` lists non-fatal remarks (also logged).

    Raises
    ------
    ValidationError
        When any row breaks the contract or a column looks like personal data; ``err.report``
        lists every problem (personal values are never shown).
    InputError
        When the file cannot be read at all.
    """
    return _read_valid(path, "cases", sheet, allow_personal_columns)


def read_handlers(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    allow_personal_columns: bool | None = None,
) -> pd.DataFrame:
    """Read and validate a handlers file (who can take reassigned cases, and how many).

    Parameters
    ----------
    path : path-like
        CSV, XLSX or Parquet following ``handlers_schema.csv``.
    sheet : str or int, optional
        XLSX worksheet (default: the first).
    allow_personal_columns : bool, optional
        As :func:`read_cases`.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    ValidationError, InputError
        As :func:`read_cases`.
    """
    return _read_valid(path, "handlers", sheet, allow_personal_columns)


def _read_valid(
    path: str | os.PathLike[str], kind: str, sheet: str | int | None, allow: bool | None
) -> pd.DataFrame:
    report = validate_file(path, kind=kind, sheet=sheet, allow_personal_columns=allow)
    if not report.ok:
        raise ValidationError(report)
    for w in report.warnings:
        log.warning("%s: %s", report.source, w)
    report.frame.attrs["warnings"] = list(report.warnings)
    report.frame.attrs["source"] = report.source
    return report.frame


def read_scored(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a scored list written by :func:`score` (``.parquet`` or ``.csv``).

    Raises
    ------
    InputError
        When the file is missing, of another kind, or lacks the scored-list columns.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such scored list; run `crossexec score` first")
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        df = pd.read_parquet(p)
    elif suffix == ".csv":
        text_cols = {"case_id": "string", "case_fingerprint": "string", "model_id": "string"}
        df = pd.read_csv(p, encoding="utf-8-sig", dtype=text_cols)
    else:
        raise InputError(
            f"{p.name}: read the scored list from its .parquet or .csv file (the .xlsx is for "
            "people)"
        )
    missing = [c for c in ("case_id", "suggested_rung", "priority_rank", "model_id") if c not in df]
    if missing:
        raise InputError(
            f"{p.name}: not a scored list (missing {', '.join(missing)}); score the cases with "
            "`crossexec score` and pass its output"
        )
    df["suggested_rung"] = pd.Categorical(df["suggested_rung"].astype(str), categories=list(RUNGS))
    df["priority_rank"] = pd.to_numeric(df["priority_rank"]).astype("Int64")
    df["as_of_date"] = pd.to_datetime(df["as_of_date"]).astype("datetime64[ns]")
    text = ("case_id", "court_id", "team_id", "handler_id", "previous_handler_ids", "model_id")
    for col in (*text, "case_fingerprint"):
        if col in df:
            df[col] = df[col].astype("string")
    return df
