"""Atomic writing: every output file appears whole or not at all; spreadsheets made safe to open."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa

from crossexec_ml.data._contract import (
    OUTPUT_LABELS,
    cases_contract,
    handlers_contract,
)
from crossexec_ml.data._workbook import format_sheet, leader_values
from crossexec_ml.errors import InputError


def temp_path_beside(dest: Path, suffix: str = ".tmp") -> Path:
    """Create an empty hidden temporary file in ``dest``'s folder and return its path.

    Beside the destination, so the final rename stays on one file system (atomic); with the
    usual permissions (0666 less the umask) rather than mkstemp's 0600, so a file shared by a
    clerk's account and a scheduled job stays readable by both.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix, dir=dest.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds.

    Parameters
    ----------
    path : path-like
        Final destination. Its folder is created if needed.

    Yields
    ------
    pathlib.Path
        Where to write. On an exception it is removed and ``path`` is left untouched.
    """
    dest = Path(path)
    tmp_path = temp_path_beside(dest)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, dest)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def refuse_overwriting_inputs(
    out: str | os.PathLike[str] | None, *inputs: str | os.PathLike[str] | None
) -> None:
    """Refuse an output path that would overwrite (or remove) one of the command's inputs.

    Call it before any work, so nothing is written. Paths are compared resolved (symlinks
    followed) and, when both exist, with :func:`os.path.samefile` (a hard link, or another
    spelling on a case-insensitive disk, is the same file). Refused: the output *is* an input;
    an input lies inside the output (a folder output is replaced whole); the output is an
    existing file inside an input folder (a model folder, a folder of Parquet parts). A new
    file beside the inputs is written: it replaces nothing that is read.

    Parameters
    ----------
    out : path-like or None
        Where the command will write (``None``: nothing to check).
    *inputs : path-like or None
        Every file or folder the command reads; ``None`` entries are skipped.

    Raises
    ------
    InputError
        Naming the output and the input it would overwrite, and how to fix it.
    """
    if out is None:
        return
    dest = Path(out)
    target = dest.resolve()
    fix = "give the output another name or folder; nothing was written"
    for given in inputs:
        if given is None:
            continue
        src = Path(given)
        source = src.resolve()
        same = source == target
        if not same and dest.exists() and src.exists():
            same = os.path.samefile(dest, src)
        if same:
            raise InputError(f"{dest} is also an input of this command ({src}); {fix}")
        if source.is_relative_to(target):
            raise InputError(
                f"{dest} holds an input of this command ({src}) and would be replaced; {fix}"
            )
        if src.is_dir() and dest.exists() and target.is_relative_to(source):
            raise InputError(
                f"{dest} is a file inside the input folder {src} and would be overwritten; {fix}"
            )


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# Characters an .xlsx file cannot hold (XML 1.0 control characters; openpyxl refuses them).
_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


#: Excel shows at most this many characters in a cell; longer text is cut with a marker.
EXCEL_MAX_CHARS = 32767


_CUT_MARK = "…〔已截断 cut〕"


def _is_text(series: pd.Series) -> bool:
    return series.dtype == object or isinstance(series.dtype, pd.StringDtype | pd.CategoricalDtype)


def _safe_name(name: object) -> object:
    """A column header as written: formula-like headers are quoted too."""
    if isinstance(name, str) and name.startswith(_FORMULA_START):
        return "'" + name
    return name


def _neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that Excel would run as formulas (CSV/formula injection) with a quote.

    Headers are treated the same way (an extra column's name is text from the input too).
    """
    out = df.copy()
    out.columns = [_safe_name(c) for c in out.columns]
    for c in out.columns:
        if _is_text(out[c]):
            s = out[c].astype("string")
            risky = s.str.startswith(_FORMULA_START).fillna(False).astype(bool)
            # Negative numbers held as text are numbers, not formulas.
            risky &= ~s.str.fullmatch(r"-\d+(\.\d+)?").fillna(False).astype(bool)
            if risky.any():
                out[c] = s.where(~risky, "'" + s)
    return out


def _excel_text(df: pd.DataFrame) -> pd.DataFrame:
    """Text an .xlsx can hold: control characters replaced, cells cut at Excel's limit."""
    out = df.copy()
    out.columns = [
        re.sub(_XML_ILLEGAL, "\ufffd", c) if isinstance(c, str) else c for c in out.columns
    ]
    for c in out.columns:
        if not _is_text(out[c]):
            continue
        s = out[c].astype("string")
        illegal = s.str.contains(_XML_ILLEGAL, regex=True).fillna(False).astype(bool)
        long = (s.str.len() > EXCEL_MAX_CHARS).fillna(False).astype(bool)
        if illegal.any() or long.any():
            s = s.str.replace(_XML_ILLEGAL, "\ufffd", regex=True)
            cut = s.str.slice(0, EXCEL_MAX_CHARS - len(_CUT_MARK)) + _CUT_MARK
            out[c] = s.where(~long, cut)
    return out


def write_table(
    df: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    zh_headers: bool | None = None,
    sheet_name: str = "cases",
    labels: dict[str, str] | None = None,
    extra_sheets: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write a frame to CSV, Parquet or XLSX (by extension), atomically.

    An ``.xlsx`` is leader-grade (:mod:`crossexec_ml.data._workbook`): with Chinese headers its
    yes/no, category, rung and action cells read in Chinese; probabilities show as percents,
    gains in 个百分点 (stored ×100), amounts in 万元 (stored ÷10,000), dates as dates; columns
    are wide enough for a whole 案号 and date; the header is frozen and filtered; it prints
    landscape, one page wide, the header repeated.

    Text a spreadsheet would run as a formula (a cell or header starting with ``=``, ``+``,
    ``-``, ``@``, tab or carriage return) is prefixed with ``'`` in CSV and XLSX; in XLSX,
    control characters become U+FFFD and text beyond :data:`EXCEL_MAX_CHARS` is cut with a
    marker, so any text gives a file Excel opens.

    Parameters
    ----------
    df : pandas.DataFrame
        What to write.
    path : path-like
        Destination; ``.csv`` (UTF-8 with BOM so Excel opens Chinese text), ``.parquet`` or
        ``.xlsx``.
    zh_headers : bool, optional
        Rename contract columns to their Chinese labels. Default: True for ``.xlsx`` (what
        leaders read), False otherwise (what programs read).
    sheet_name : str
        Worksheet name for ``.xlsx``.
    labels : dict, optional
        Extra name -> Chinese label mapping for non-contract columns (scores, ranks...).
    extra_sheets : dict, optional
        ``.xlsx`` only: more worksheets (name -> frame), written after the main one with the
        same header and formula rules (e.g. the check-up sheets, a "说明" sheet).

    Returns
    -------
    pathlib.Path
        The written path.
    """
    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix not in (".csv", ".parquet", ".xlsx"):
        raise InputError(
            f"{dest.name}: cannot write {suffix or 'no extension'}; use .csv, .parquet or .xlsx"
        )
    if zh_headers is None:
        zh_headers = suffix == ".xlsx"
    names = {
        **cases_contract().labels_zh(),
        **handlers_contract().labels_zh(),
        **OUTPUT_LABELS,
        **(labels or {}),
    }

    def headers(frame: pd.DataFrame) -> pd.DataFrame:
        if not zh_headers:
            return frame
        return frame.rename(columns={c: names.get(c, c) for c in frame.columns})

    out = headers(df)
    if out is df:
        out = df.copy(deep=False)
    # pandas writes DataFrame.attrs into Parquet metadata: the input's file name and reading
    # warnings (extra column names) would travel into every output. Outputs carry data only.
    out.attrs = {}

    def xlsx_sheets() -> dict[str, tuple[pd.DataFrame, list[str]]]:
        # Leader-grade values and each column's kind (data/_workbook.py), judged on the codes
        # before the headers are translated; then the same header and formula rules.
        sheets = {}
        for name, frame in {sheet_name: df, **(extra_sheets or {})}.items():
            shown, kinds = leader_values(frame, names, translate=zh_headers)
            sheets[name] = (_excel_text(_neutralise_formulas(headers(shown))), kinds)
        return sheets

    writers: dict[str, Callable[[Path], None]] = {
        ".csv": lambda p: _write_csv(_neutralise_formulas(out), p),
        ".parquet": lambda p: out.to_parquet(p, index=False),
        ".xlsx": lambda p: _write_xlsx(xlsx_sheets(), p),
    }
    with atomic_path(dest) as tmp:
        writers[suffix](tmp)
    return dest


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    # The csv module quotes a cell holding a line break only when that character is part of
    # the line terminator: with "\n" alone, a bare carriage return in a cell went out unquoted
    # and split the row for every reader. Files with one end their lines in "\r\n".
    has_cr = any(isinstance(c, str) and "\r" in c for c in df.columns) or any(
        df[c].astype("string").str.contains("\r", regex=False).fillna(False).any()
        for c in df.columns
        if _is_text(df[c])
    )
    df.to_csv(
        path,
        index=False,
        encoding="utf-8-sig",
        date_format="%Y-%m-%d",
        lineterminator="\r\n" if has_cr else "\n",
    )


def _write_xlsx(sheets: dict[str, tuple[pd.DataFrame, list[str]]], path: Path) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for sheet_name, (frame, kinds) in sheets.items():
            df = frame.copy()
            for c in df.columns:
                if pd.api.types.is_datetime64_any_dtype(df[c].dtype):
                    df[c] = df[c].dt.date
            df.to_excel(xw, index=False, sheet_name=sheet_name[:31])
            format_sheet(xw.sheets[sheet_name[:31]], df, kinds)


def write_batches(
    batches: Iterable[pa.Table],
    path: str | os.PathLike[str],
    schema: pa.Schema,
    *,
    crlf: bool = False,
) -> Path:
    """Write tables arriving one after another as one ``.csv`` or ``.parquet`` file, atomically.

    The file is the one :func:`write_table` writes for their concatenation (read back, the same
    rows, values and types), with one batch in memory at a time: a province's scored list
    merged from its parts never has to be held whole.

    Parameters
    ----------
    batches : iterable of pyarrow.Table
        The rows in order, each with ``schema`` (its pandas metadata gives the CSV's types).
    path : path-like
        ``.csv`` (UTF-8 with BOM, formula-like text quoted, as :func:`write_table`) or
        ``.parquet``.
    schema : pyarrow.Schema
    crlf : bool
        CSV only: end lines in ``"\\r\\n"``, as :func:`write_table` does when any text cell
        holds a carriage return (the caller knows it before the first batch).

    Returns
    -------
    pathlib.Path
    """
    import pyarrow.parquet as pq

    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(f"{dest.name}: a list is written in batches as .csv or .parquet only")
    with atomic_path(dest) as tmp:
        if suffix == ".parquet":
            with pq.ParquetWriter(tmp, schema) as writer:
                for table in batches:
                    writer.write_table(table.cast(schema))
        else:
            # One handle for the whole file: the byte-order mark is written once, at its start.
            with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
                first = True
                for table in batches:
                    frame = _neutralise_formulas(table.cast(schema).to_pandas())
                    if first or len(frame):
                        frame.to_csv(
                            fh,
                            index=False,
                            header=first,
                            date_format="%Y-%m-%d",
                            lineterminator="\r\n" if crlf else "\n",
                        )
                        first = False
                if first:  # no batch at all: the header alone, as an empty frame writes
                    _neutralise_formulas(schema.empty_table().to_pandas()).to_csv(
                        fh, index=False, lineterminator="\r\n" if crlf else "\n"
                    )
    return dest
