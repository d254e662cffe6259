"""The input of the province-scale engines: pieces of Parquet, CSV or XLSX files.

A piece is a unit of work of about :data:`PIECE_ROWS` rows: some row groups of a Parquet
file, or a batch of a CSV file read by Arrow's streaming reader and spooled as text Parquet
(so memory holds one batch, whatever the size of the file). Each piece is read and validated
on its own exactly as :func:`crossexec_ml.data.read_cases` would read the whole file: every
message names the input file and its row (the header is row 1).
"""

from __future__ import annotations

import fnmatch
import glob
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.data import (
    ValidationError,
    refuse_overwriting_inputs,
    table_as_text,
    validate_frame,
    validate_table,
    without_pandas_index,
)
from crossexec_ml.errors import InputError

#: Rows per piece when a file is split by row groups or read in batches (bounds one worker's
#: memory).
PIECE_ROWS = 250_000

_PARQUET = (".parquet", ".pq")
_SPOOLED = (".csv", ".txt", ".xlsx", ".xlsm")


class PartitionError(InputError):
    """A piece of a partitioned input is unreadable or breaks the contract.

    A plain message (file, row, column, fix), so it crosses process boundaries unchanged.
    """


@dataclass(frozen=True)
class Piece:
    """A unit of work: some row groups of one Parquet file.

    Attributes
    ----------
    path : str
        The file.
    row_groups : tuple of int
        Its row groups in this piece, consecutive.
    first_row : int
        0-based index, within the file, of the piece's first data row (for messages).
    n_rows : int
        Rows in the piece.
    source : str
        For a piece of a CSV or XLSX file: that file's name (``path`` is then the piece as
        text Parquet, written by :func:`spool_pieces`); empty for Parquet input.
    header : tuple of str, optional
        The header row as read from that file (the spooled columns are named by position).
    """

    path: str
    row_groups: tuple[int, ...]
    first_row: int
    n_rows: int
    source: str = ""
    header: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        """The input file's name, as messages give it (a CSV's, not its spooled piece's)."""
        return self.source or Path(self.path).name


# --------------------------------------------------------------------------------------------
# Input: pieces of partitioned Parquet, read and validated as read_cases would
# --------------------------------------------------------------------------------------------


def _input_files(cases: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(cases, str | os.PathLike):
        p = Path(cases)
        if p.is_dir():
            files = sorted(p.rglob("*.parquet"))
            where = f"folder {p}"
        elif p.is_file():
            files = [p]
            where = str(p)
        else:
            files = sorted(Path(f) for f in glob.glob(str(p), recursive=True))
            where = f"pattern {p}"
    else:
        files = [Path(f) for f in cases]
        where = "the given files"
    root = _input_root(cases)
    files = [f for f in files if f.is_file() and not _hidden(f, root)]
    if not files:
        raise InputError(
            f"no Parquet files in {where}; pass a folder or a glob of .parquet files "
            "(e.g. 'cases/*.parquet')"
        )
    wrong = [f.name for f in files if f.suffix.lower() not in (*_PARQUET, *_SPOOLED)]
    if wrong:
        raise InputError(
            f"{wrong[0]}: the Dask and chunked engines read Parquet, CSV and XLSX files; save "
            "it in one of those formats"
        )
    return files


def _input_root(cases: object) -> Path | None:
    """The folder an input is listed below: a folder input itself, a glob's leading folders
    without wildcards; None for a file or a list of files."""
    if not isinstance(cases, str | os.PathLike):
        return None
    p = Path(cases)
    if p.is_dir():
        return p
    if p.is_file() or not glob.has_magic(str(p)):
        return None
    fixed = _leading_fixed(p.parts)
    return Path(*fixed) if fixed else Path(".")


def _leading_fixed(parts: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        out.append(part)
    return out


def _hidden(f: Path, root: Path | None) -> bool:
    """A file named, or lying in a folder named, with a leading ``.`` or ``_`` below the input.

    The convention of partitioned Parquet (``_SUCCESS``, ``_temporary``, ``.part.crc``); it
    also keeps out the temporary parts folder (``.list.parquet.parts-*``) a killed
    ``score --out FILE`` can leave beside its list, which would otherwise be read as cases.
    Folders above the input (``/srv/_data/export``) do not count.
    """
    if f.name.startswith((".", "_")):
        return True
    if root is None:
        return False
    try:
        inner = f.relative_to(root).parts[:-1]
    except ValueError:
        return False
    return any(part.startswith((".", "_")) for part in inner)


def refuse_output_among_inputs(
    out: str | os.PathLike[str],
    cases: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    folder: bool = True,
) -> None:
    """Refuse an output that the next run would read as cases.

    A folder input means every ``*.parquet`` below it and a glob every file it matches, so
    a list written inside the folder (or matching the glob) would be read back as a piece of
    cases by the next run of the same command, a weekly job, and refused as invalid (or,
    worse, scored). Call it before any work, so nothing is written. What the listing skips
    (a name, or a folder below the input, starting with ``.`` or ``_``) is allowed.

    Parameters
    ----------
    out : path-like
        The output file or folder.
    cases : path-like, glob or list of paths
        As :func:`list_pieces`.
    folder : bool
        ``out`` is a folder of ``part-NNNNN.parquet`` files (else one file).

    Raises
    ------
    InputError
        Naming the output and the input folder or pattern, and what to do.
    """
    root = _input_root(cases)
    if root is None:
        return
    src = Path(cases)  # type: ignore[arg-type]
    is_glob = not src.is_dir()
    rest = src.parts[len(_leading_fixed(src.parts)) :] if is_glob else ()
    written = [Path(out)] + ([Path(out) / "part-00000.parquet"] if folder else [])
    # Compared as spelled and with symlinks resolved, on both sides.
    for base in {Path(os.path.abspath(root)), root.resolve()}:
        for path in written:
            for spelled in {Path(os.path.abspath(path)), path.resolve()}:
                try:
                    below = spelled.relative_to(base)
                except ValueError:
                    continue
                if _hidden(spelled, base):
                    continue
                if is_glob and _glob_matches(below.parts, rest):
                    raise InputError(
                        f"{out} matches the input pattern {src}: the next run would read the "
                        "list as cases; write the list elsewhere; nothing was written"
                    )
                if not is_glob and spelled.name.endswith(".parquet"):  # rglob('*.parquet')
                    raise InputError(
                        f"{out} is inside the input folder {src}: the next run would read the "
                        "list as cases; write the list outside it; nothing was written"
                    )
    if is_glob and len(rest) > 1 and "**" not in rest:
        # A wildcard folder that is a symlink (exp/* with exp/a -> elsewhere): the folders the
        # glob lists today, resolved, against where the list goes.
        for folder_now in glob.glob(str(src.parent)):
            target = Path(folder_now).resolve()
            for path in written:
                resolved = path.resolve()
                if resolved.parent == target and _glob_matches((resolved.name,), rest[-1:]):
                    raise InputError(
                        f"{out} matches the input pattern {src} (through {folder_now}): the "
                        "next run would read the list as cases; write the list elsewhere; "
                        "nothing was written"
                    )


def _refuse_unsafe_output(
    out: str | os.PathLike[str],
    cases: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *also_read: str | os.PathLike[str] | None,
    folder: bool,
) -> None:
    """Both output checks of the large paths: not one of the inputs (or the model, the
    ledger), and not where the next run would read it as cases."""
    inputs = [cases] if isinstance(cases, str | os.PathLike) else list(cases)
    refuse_overwriting_inputs(out, *inputs, *also_read)
    refuse_output_among_inputs(out, cases, folder=folder)


def _glob_matches(parts: tuple[str, ...], pattern: tuple[str, ...]) -> bool:
    """Whether :func:`glob.glob` with ``recursive=True`` would list the path ``parts``.

    Component by component (a ``*`` never crosses a ``/``), ``**`` for any number of folders;
    a name starting with ``.`` only where the pattern's component starts with ``.``, as glob
    lists it. Python 3.13's ``glob.translate`` does this; the package supports 3.11.
    """
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(
            _glob_matches(parts[i:], pattern[1:])
            for i in range(len(parts) + 1)
            if not any(p.startswith(".") for p in parts[:i])
        )
    if not parts or (parts[0].startswith(".") and not pattern[0].startswith(".")):
        return False
    return fnmatch.fnmatchcase(parts[0], pattern[0]) and _glob_matches(parts[1:], pattern[1:])


def list_pieces(
    cases: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    piece_rows: int = PIECE_ROWS,
    spool: str | os.PathLike[str] | None = None,
    *,
    allow_personal_columns: bool = False,
) -> list[Piece]:
    """The pieces of a partitioned input, in file order then row order.

    Parameters
    ----------
    cases : path-like, glob or list of paths
        A folder (every ``*.parquet`` below it, sorted by path), a glob pattern, one file, or
        a list of files. The list's row order is the concatenation of the files in this order.
    piece_rows : int
        A Parquet file with more rows is split at row-group boundaries into pieces of about
        this many; a CSV file into pieces of exactly this many rows.
    spool : path-like, optional
        Folder for CSV and XLSX inputs, read in batches and written there as text Parquet
        pieces (:func:`spool_pieces`); without it such a file is refused.
    allow_personal_columns : bool
        As :func:`spool_pieces`.

    Returns
    -------
    list of Piece

    Raises
    ------
    InputError
        No input file found, a file of another type, or an unreadable file.
    """
    pieces: list[Piece] = []
    for f in _input_files(cases):
        if f.suffix.lower() in _PARQUET:
            pieces += _parquet_pieces(f, piece_rows)
        elif spool is None:
            raise InputError(
                f"{f.name}: a CSV or XLSX file is read piece by piece by score_partitioned; "
                "list_pieces needs a spool folder for it"
            )
        else:
            pieces += spool_pieces(
                f, Path(spool), piece_rows, allow_personal_columns=allow_personal_columns
            )
    return pieces


def _parquet_pieces(f: Path, piece_rows: int) -> list[Piece]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(f).metadata
    except (pa.ArrowInvalid, OSError) as exc:
        raise PartitionError(f"{f.name}: not a readable Parquet file ({exc})") from None
    pieces: list[Piece] = []
    groups: list[int] = []
    start = first = 0
    for rg in range(meta.num_row_groups):
        n = meta.row_group(rg).num_rows
        groups.append(rg)
        start += n
        if start - first >= piece_rows:
            pieces.append(Piece(str(f), tuple(groups), first, start - first))
            groups, first = [], start
    if groups or not pieces:
        pieces.append(Piece(str(f), tuple(groups), first, start - first))
    return pieces


def spool_pieces(
    path: Path, folder: Path, piece_rows: int = PIECE_ROWS, *, allow_personal_columns: bool = False
) -> list[Piece]:
    """A CSV or XLSX file as pieces of text Parquet, read in batches of ``piece_rows`` rows.

    A CSV is streamed (:func:`crossexec_ml.data.csv_batches`): memory holds one batch, however
    large the file, and each batch is written as it is read; cells stay text, so each piece is
    validated later exactly as the whole file would be, with the file's row numbers. The first
    sheet of an XLSX file is read one row at a time too (:func:`crossexec_ml.data.xlsx_batches`),
    each batch validated as it comes (Excel's typed cells cannot all pass as text), then
    spooled typed.

    Parameters
    ----------
    path : pathlib.Path
    folder : pathlib.Path
        Where the pieces go (created if needed).
    piece_rows : int
    allow_personal_columns : bool
        XLSX only: as :func:`crossexec_ml.data.validate_frame` (CSV pieces are checked
        later, when they are read).

    Returns
    -------
    list of Piece

    Raises
    ------
    PartitionError
        The file cannot be read, or (XLSX) breaks the contract.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crossexec_ml.data import NeedsPython, csv_batches, xlsx_batches

    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{len(list(folder.iterdir())):05d}"

    def put(j: int, rows: pd.DataFrame | pa.Table, header: list[str], done: int) -> Piece:
        out = folder / f"{stem}-{j:05d}.parquet"
        if isinstance(rows, pd.DataFrame):
            cols = [pa.array(rows[c], type=pa.string(), from_pandas=True) for c in rows.columns]
            rows = pa.table(cols, names=[f"c{i}" for i in range(len(cols))])
        pq.write_table(rows, out, row_group_size=max(rows.num_rows, 1))
        return Piece(str(out), (0,), done, rows.num_rows, path.name, tuple(header))

    try:
        if path.suffix.lower() not in (".csv", ".txt"):
            # Cells as Excel typed them (a date, a serial day number) cannot all pass as text:
            # each batch is validated here, then spooled typed (and checked again as text).
            pieces = []
            for j, (header, frame, done) in enumerate(xlsx_batches(path, piece_rows)):
                report = validate_frame(
                    frame,
                    header,
                    kind="cases",
                    source=path.name,
                    allow_personal_columns=allow_personal_columns,
                    row_numbers=done + 2 + np.arange(len(frame)),
                )
                if not report.ok:
                    raise PartitionError(ValidationError(report).args[0])
                typed = pa.Table.from_pandas(report.frame, preserve_index=False)
                pieces.append(put(j, table_as_text(typed), list(report.frame.columns), done))
            return pieces
        for fast in (True, False):
            pieces: list[Piece] = []
            try:
                for j, (header, frame, done) in enumerate(
                    csv_batches(path, piece_rows, fast=fast, as_arrow=True)
                ):
                    pieces.append(put(j, frame, header, done))
            except NeedsPython:
                for p in pieces:
                    Path(p.path).unlink()
                continue
            return pieces
    except InputError as exc:
        if isinstance(exc, PartitionError):
            raise
        message = str(exc)
        raise PartitionError(
            message if message.startswith(path.name) else f"{path.name}: {message}"
        ) from None
    raise AssertionError("unreachable: the Python reader never asks for itself")


def _validate(
    table,
    header: list[str],
    piece: Piece,
    allow_personal: bool,
    rows: np.ndarray | None = None,
) -> pd.DataFrame:
    # Every row as the file numbers it (header = row 1, as read_cases counts a whole file):
    # the validator then uses these numbers everywhere, in the rows listed inside a message
    # (personal data "in rows ...", "duplicate: row ...") as much as in each problem's row.
    # Shifting the problems' rows afterwards left those inner numbers counted within the piece.
    local = np.arange(table.num_rows) if rows is None else np.asarray(rows, dtype=np.int64)
    # Typed Parquet columns clean in every cell are taken typed; the rest (all of a spooled
    # CSV piece, any column with a problem) are validated as text, as the whole file would be.
    report = validate_table(
        table,
        header,
        kind="cases",
        source=piece.name,
        allow_personal_columns=allow_personal,
        row_numbers=piece.first_row + 2 + local,
    )
    if not report.ok:
        raise PartitionError(ValidationError(report).args[0])
    return report.frame


def read_piece(
    piece: Piece, *, allow_personal_columns: bool = False, rows: np.ndarray | None = None
) -> pd.DataFrame:
    """Read one piece and validate it against the contract, as :func:`read_cases` would.

    Parameters
    ----------
    piece : Piece
    allow_personal_columns : bool
        As :func:`crossexec_ml.data.validate_frame`.
    rows : numpy.ndarray of int, optional
        Only these rows of the piece (0-based, in this order).

    Returns
    -------
    pandas.DataFrame
        Contract-typed cases.

    Raises
    ------
    PartitionError
        The piece cannot be read, or breaks the contract (every problem, with the file's
        row numbers and the column).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    name = piece.name
    try:
        table = without_pandas_index(
            pq.ParquetFile(piece.path).read_row_groups(list(piece.row_groups))
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise PartitionError(f"{name}: not a readable Parquet file ({exc})") from None
    if table.num_rows == 0:
        raise PartitionError(f"{name}: no data rows; remove the empty file or export its rows")
    if rows is not None:
        table = table.take(pa.array(np.asarray(rows, dtype=np.int64)))
    header = list(piece.header) if piece.header is not None else list(map(str, table.column_names))
    try:
        return _validate(table, header, piece, allow_personal_columns, rows)
    except InputError as exc:
        if isinstance(exc, PartitionError):
            raise
        raise PartitionError(f"{name}: {exc}") from None
