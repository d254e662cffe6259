"""CSV exports read in bounded batches: Arrow's streaming reader, Python's csv as the fallback.

Court systems export CSV in UTF-8 (with or without the byte-order mark) or GBK. A province
export runs to gigabytes, so a file is never held whole here: :func:`csv_batches` yields it
as batches of about ``batch_rows`` rows of text (Arrow-backed strings), each with the
position of its first row in the file, and memory depends on the batch, not the file.

Arrow's parser reads the same rows as Python's ``csv`` module for every well-formed file
(quoted commas and line breaks, doubled quotes, bare CR line ends, a text after a closing
quote). Where it stops (a row with more or fewer cells than the header, an unclosed quote),
:class:`NeedsPython` is raised and the caller reads the file again with ``fast=False``, the
cell-by-cell reader that pads short rows, names the row with too many cells and the cell too
long, exactly as before. Rows whose every cell is blank are skipped by both and not counted,
so a row's number is its place among the data rows (the header is row 1).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crossexec_ml.errors import InputError

#: Rows per batch by default (about 120 MB of text for a 40-column export).
BATCH_ROWS = 250_000

_CHUNK = 16 * 2**20  # bytes read at a time when checking the encoding

# Every character Python's str.strip() removes, so "blank" means what it meant to the csv
# module path (Arrow's own whitespace class differs on a few control characters).
# (Spelled out: scanning every code point at import cost 0.13 s; a test checks the list.)
_PY_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
_BLANK = "^[" + "".join(f"\\x{{{ord(c):x}}}" for c in _PY_SPACE) + "]*$"

_STRING = pd.StringDtype("pyarrow")


class NeedsPython(Exception):
    """Arrow cannot read this file as Python's csv would: read it with ``fast=False``."""


def _decodes(path: Path, codec: str, skip: int = 0) -> bool:
    """Whether the whole file decodes strictly, read a chunk at a time."""
    dec = codecs.getincrementaldecoder(codec)("strict")
    try:
        with path.open("rb") as fh:
            fh.seek(skip)
            while chunk := fh.read(_CHUNK):
                dec.decode(chunk)
            dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _csv_encoding(path: Path) -> str:
    """``utf-8-sig`` or ``gb18030``: the encoding of a CSV export, checked over the whole file.

    UTF-8 first: it is strict, so GBK bytes never pass as UTF-8. GB18030 is a superset of
    GBK/GB2312, so one try covers every Chinese export we know.

    Raises
    ------
    InputError
        Empty, binary, mixed or unknown encodings, each said in one sentence.
    """
    with path.open("rb") as fh:
        start = fh.read(8192)
        if b"\x00" in start:
            raise InputError(
                f"{path.name}: this looks like a binary file, not a CSV export; "
                "check that you picked the right file"
            )
        blank = not start.strip()
        while blank and (more := fh.read(_CHUNK)):
            blank = not more.strip()
    if blank:
        raise InputError(f"{path.name}: the file is empty; export the case table again")
    if _decodes(path, "utf-8-sig"):
        return "utf-8-sig"
    if start.startswith(codecs.BOM_UTF8) and _decodes(path, "gb18030", len(codecs.BOM_UTF8)):
        # A UTF-8 mark then GBK bytes (a GBK export edited by a tool that added the mark):
        # read as GBK, the mark became a mojibake first column name. Neither reading is right.
        raise InputError(
            f"{path.name}: the file mixes encodings (it starts with the UTF-8 mark but the rest "
            "is GBK text); open it in Excel or a text editor and save it again as "
            "'CSV UTF-8'"
        )
    if _decodes(path, "gb18030"):
        return "gb18030"
    raise InputError(
        f"{path.name}: the file is neither UTF-8 nor GBK text; save it from Excel as "
        "'CSV UTF-8' or as .xlsx and try again"
    )


def _blank_rows(table: pa.Table) -> np.ndarray:
    """Positions of the rows whose every cell is blank (checked column by column on the
    rows still blank so far: after the first column hardly any are left)."""
    left = np.arange(table.num_rows)
    for col in table.columns:
        if not len(left):
            break
        cells = col.take(pa.array(left))
        blank = pc.match_substring_regex(cells, _BLANK).fill_null(True)
        left = left[np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)]
    return left


def _too_long(path: Path, table: pa.Table) -> None:
    limit = csv.field_size_limit()
    for col in table.columns:
        longest = pc.max(pc.utf8_length(col)).as_py()
        if longest is not None and longest > limit:
            raise InputError(
                f"{path.name}: a cell is longer than {limit:,} characters, which no case "
                'export holds; check for an unclosed quote (") in the file'
            )


def _frame(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas(types_mapper={pa.string(): _STRING}.get)
    frame.columns = range(table.num_columns)
    return frame


def _arrow_batches(
    path: Path, encoding: str, batch_rows: int
) -> Iterator[tuple[list[str], pa.Table, int]]:
    import pyarrow.csv as pcsv

    def open_reader(width: int | None):
        read = pcsv.ReadOptions(
            autogenerate_column_names=True,
            encoding="utf8" if encoding == "utf-8-sig" else encoding,
            block_size=8 * 2**20,
        )
        convert = pcsv.ConvertOptions(
            column_types=(
                {f"f{i}": pa.string() for i in range(width)} if width is not None else None
            ),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        parse = pcsv.ParseOptions(newlines_in_values=True)
        return pcsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)

    try:
        with open_reader(None) as probe:
            width = len(probe.schema)  # the header row's cells: every column read as text
        reader = open_reader(width)
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            raise InputError(
                f"{path.name}: the file is empty; export the case table again"
            ) from None
        raise NeedsPython(str(exc)) from None
    header: list[str] | None = None
    done = 0
    held: list[pa.Table] = []  # read, not yet yielded: fewer than batch_rows rows
    n_held = 0
    try:
        with reader:
            for record_batch in reader:
                table = pa.Table.from_batches([record_batch])
                _too_long(path, table)
                blank = _blank_rows(table)
                if header is None and (table.num_rows == len(blank) or blank[:1].tolist() == [0]):
                    raise NeedsPython("blank cells before the header")
                if len(blank):
                    keep = np.ones(table.num_rows, dtype=bool)
                    keep[blank] = False
                    table = table.filter(pa.array(keep))
                if header is None:
                    header = [table.column(i)[0].as_py() for i in range(width)]
                    header[0] = header[0].removeprefix("\ufeff")
                    table = table.slice(1)
                held.append(table)
                n_held += table.num_rows
                while n_held >= batch_rows:
                    rows = pa.concat_tables(held)
                    yield header, rows.slice(0, batch_rows), done
                    done += batch_rows
                    held, n_held = [rows.slice(batch_rows)], n_held - batch_rows
    except pa.ArrowInvalid as exc:
        raise NeedsPython(str(exc)) from None
    if header is None:
        raise NeedsPython("no rows")
    if n_held or done == 0:
        yield header, pa.concat_tables(held), done


def _python_batches(
    path: Path, encoding: str, batch_rows: int
) -> Iterator[tuple[list[str], pd.DataFrame, int]]:
    """The cell-by-cell reader: Python's csv module, padding short rows (Excel drops empty
    cells at the end of a row) and refusing a row with more filled cells than the header."""
    header: list[str] | None = None
    body: list[list[str]] = []
    done = 0
    width = 0
    with path.open(encoding=encoding, newline="") as fh:
        rows = csv.reader(fh)
        while True:
            try:
                row = next(rows, None)
            except csv.Error as exc:
                if "field limit" in str(exc):
                    raise InputError(
                        f"{path.name}: a cell is longer than {csv.field_size_limit():,} "
                        'characters, which no case export holds; check for an unclosed quote (") '
                        "in the file"
                    ) from None
                raise InputError(f"{path.name}: not a readable CSV file ({exc})") from None
            if row is not None and not any(cell.strip() for cell in row):
                continue
            if row is not None and header is None:
                header, width = row, len(row)
                continue
            if row is not None:
                if len(row) > width and any(c.strip() for c in row[width:]):
                    raise InputError(
                        f"{path.name}: row {done + len(body) + 2} has {len(row)} cells but the "
                        f"header has {width}; check for an unquoted comma in that row"
                    )
                body.append(row if len(row) == width else (row + [""] * width)[:width])
                if len(body) < batch_rows:
                    continue
            if header is None:
                raise InputError(f"{path.name}: the file is empty; export the case table again")
            if body or row is None:
                frame = pd.DataFrame(body, columns=range(width), dtype=object)
                yield header, frame.astype(_STRING) if len(frame) else frame, done
                done += len(body)
                body = []
            if row is None:
                break


def csv_batches(
    path: Path, batch_rows: int = BATCH_ROWS, *, fast: bool = True, as_arrow: bool = False
) -> Iterator[tuple[list[str], pd.DataFrame | pa.Table, int]]:
    """A CSV export as batches of text rows.

    Parameters
    ----------
    path : pathlib.Path
    batch_rows : int
        Rows per batch (the last one may hold fewer).
    fast : bool
        Arrow's reader (raises :class:`NeedsPython` where it cannot read the file as Python's
        csv module would; read again with ``fast=False``), or Python's csv module.
    as_arrow : bool
        Yield each batch as a ``pyarrow.Table`` of string columns ``f0, f1, ...`` instead of
        a frame (to write it on without a round trip through pandas).

    Yields
    ------
    header : list of str
        The header row's cells as read (the same list in every batch).
    frame : pandas.DataFrame or pyarrow.Table
        The batch's rows, columns numbered 0.. by position, every cell text.
    done : int
        Data rows before this batch (its first row is spreadsheet row ``done + 2``).

    Raises
    ------
    InputError
        An empty, binary or undecodable file, a row with too many cells, a cell too long.
    NeedsPython
        ``fast`` only, as above.
    """
    encoding = _csv_encoding(path)
    if not fast:
        for header, frame, done in _python_batches(path, encoding, batch_rows):
            yield header, _table(frame) if as_arrow else frame, done
        return
    for header, table, done in _arrow_batches(path, encoding, batch_rows):
        yield header, table if as_arrow else _frame(table), done


def _table(frame: pd.DataFrame) -> pa.Table:
    cols = [pa.array(frame[c], type=pa.string(), from_pandas=True) for c in frame.columns]
    return pa.table(cols, names=[f"f{i}" for i in range(len(cols))])


def _read_csv_whole(path: Path) -> tuple[list[str], pd.DataFrame]:
    """The whole CSV as one frame of text (Arrow's reader, Python's where it must)."""
    for fast in (True, False):
        try:
            parts = list(csv_batches(path, 2**62, fast=fast))
        except NeedsPython:
            continue
        header = parts[0][0]
        return header, parts[0][1] if len(parts) == 1 else pd.concat(
            [p[1] for p in parts], ignore_index=True
        )
    raise AssertionError("unreachable: the Python reader never asks for itself")
