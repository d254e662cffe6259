"""One scored file from a large input: scored in pieces, then the parts merged by rank.

``crossexec score --out list.parquet`` (or ``.csv``) on a province's export used to hold the
whole scored list to write one sorted file, as much memory as reading the input whole. Here
the input is scored by :func:`crossexec_ml.jobs.score_partitioned` into a temporary folder of
parts, each sorted by ``priority_rank``, and the parts are merged into the one file the
in-memory path writes: the ranked rows of all parts in rank order (a k-way merge that holds one
row group of each part at a time), then the unranked rows part after part, in input order, as
:func:`crossexec_ml.jobs.read_scored_parts` orders them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crossexec_ml.data import write_batches
from crossexec_ml.errors import InputError
from crossexec_ml.jobs._engines import ScaleRun, score_partitioned
from crossexec_ml.jobs._pieces import _refuse_unsafe_output

# Rows written per row group of the merged file: fewer, larger groups than the parts'.
_OUT_ROWS = 65_536

# Columns the command line's summary reads of the candidates and the exploration band.
_SUMMARY_COLUMNS = ("priority_rank", "candidate", "suggested_rung", "uplift", "proposal_propensity")


@dataclass(frozen=True)
class MergedList:
    """What :func:`merge_parts` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The merged file.
    n_rows, n_ranked : int
        Rows written, rows with a ``priority_rank``.
    shown : pandas.DataFrame
        The candidates and the rows of the exploration band (few: at most the capacity and
        its band), with ``priority_rank``, ``candidate``, ``suggested_rung``, ``uplift`` and
        ``proposal_propensity`` when a band was drawn: what a summary of the list reads.
    """

    path: Path
    n_rows: int
    n_ranked: int
    shown: pd.DataFrame


class _Cursor:
    """One part read a row group at a time; ``buf`` holds its rows not yet written."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.file = pq.ParquetFile(path)
        self.schema = schema
        self.group = 0
        self.buf = schema.empty_table()

    def load(self) -> bool:
        """Append the next row group to the buffer; False when none is left."""
        if self.group >= self.file.num_row_groups:
            return False
        table = self.file.read_row_group(self.group).cast(self.schema)
        self.group += 1
        self.buf = pa.concat_tables([self.buf, table]) if self.buf.num_rows else table
        return True

    def ranked(self) -> int:
        """How many rows at the start of the buffer are ranked (the part is sorted by rank,
        its unranked rows last), reading more row groups while the whole buffer is ranked
        and it is empty."""
        while self.buf.num_rows == 0 and self.load():
            pass
        null = self.buf.column("priority_rank").is_null()
        hits = np.flatnonzero(np.asarray(null.to_numpy(zero_copy_only=False), dtype=bool))
        return int(hits[0]) if len(hits) else self.buf.num_rows

    def take(self, n: int) -> pa.Table:
        head, self.buf = self.buf.slice(0, n), self.buf.slice(n)
        return head


def _ranked_rows(cursors: list[_Cursor]) -> Iterator[pa.Table]:
    """The ranked rows of all parts in rank order.

    Each step writes every buffered row up to the smallest of the parts' last buffered ranks:
    no row of a lower rank can still be unread, since each part is sorted. The part that set
    that bound then reads its next row group.
    """
    active = [c for c in cursors if c.ranked() > 0]
    while active:
        counts = [c.ranked() for c in active]
        bound = min(
            c.buf.column("priority_rank")[n - 1].as_py()
            for c, n in zip(active, counts, strict=True)
        )
        pieces = []
        for c, n in zip(active, counts, strict=True):
            ranks = c.buf.column("priority_rank").slice(0, n)
            upto = int(np.searchsorted(ranks.to_numpy(), bound, side="right"))
            if upto:
                pieces.append(c.take(upto))
        table = pa.concat_tables(pieces)
        yield table.take(pc.sort_indices(table, [("priority_rank", "ascending")]))
        still = []
        for c in active:
            # Whole ranked buffer written: read on (it may hold more ranked rows).
            if c.buf.num_rows == 0:
                c.load()
            if c.ranked() > 0:
                still.append(c)
        active = still


def _unranked_rows(cursors: list[_Cursor]) -> Iterator[pa.Table]:
    """The rows outside the ranked cohort, part after part, in each part's order."""
    for c in cursors:
        yield c.take(c.buf.num_rows)
        while c.load():
            yield c.take(c.buf.num_rows)


def _rebatch(tables: Iterator[pa.Table], rows: int) -> Iterator[pa.Table]:
    """The same rows in tables of about ``rows`` rows (the merge yields many small ones)."""
    held: list[pa.Table] = []
    n = 0
    for t in tables:
        if t.num_rows == 0:
            continue
        held.append(t)
        n += t.num_rows
        if n >= rows:
            yield pa.concat_tables(held).combine_chunks()
            held, n = [], 0
    if held:
        yield pa.concat_tables(held).combine_chunks()


def _has_carriage_return(paths: list[Path], schema: pa.Schema) -> bool:
    """Whether any text cell of the parts holds a carriage return (the CSV then ends its lines
    in CRLF, as :func:`crossexec_ml.data.write_table` decides on the whole list)."""
    text = [
        f.name
        for f in schema
        if pa.types.is_string(f.type)
        or pa.types.is_large_string(f.type)
        or (pa.types.is_dictionary(f.type) and pa.types.is_string(f.type.value_type))
    ]
    if any("\r" in name for name in schema.names):
        return True
    for path in paths:
        table = pq.read_table(path, columns=text)
        for col in table.columns:
            if pa.types.is_dictionary(col.type):
                col = col.cast(pa.string())
            if pc.any(pc.match_substring(col, "\r")).as_py():
                return True
    return False


def merge_parts(parts_dir: str | os.PathLike[str], dest: str | os.PathLike[str]) -> MergedList:
    """Merge a folder of scored parts into one ``.parquet`` or ``.csv`` file, sorted by rank.

    Parameters
    ----------
    parts_dir : path-like
        Folder written by :func:`crossexec_ml.jobs.score_partitioned` (each part sorted by
        ``priority_rank``).
    dest : path-like
        The file; written atomically (:func:`crossexec_ml.data.write_batches`).

    Returns
    -------
    MergedList

    Notes
    -----
    Memory holds one row group of each part (16,384 rows) and one batch of the output
    (65,536 rows), whatever the length of the list; the rows are those of
    :func:`crossexec_ml.jobs.read_scored_parts` on the folder, in the same order.
    """
    paths = sorted(Path(parts_dir).glob("part-*.parquet"))
    if not paths:
        raise InputError(f"{parts_dir}: no scored parts to merge")
    schema = pq.read_schema(paths[0])
    cursors = [_Cursor(p, schema) for p in paths]
    crlf = Path(dest).suffix.lower() == ".csv" and _has_carriage_return(paths, schema)
    counts = {"rows": 0, "ranked": 0}
    shown: list[pd.DataFrame] = []
    wanted = [c for c in _SUMMARY_COLUMNS if c in schema.names]

    def counted(tables: Iterator[pa.Table], ranked: bool) -> Iterator[pa.Table]:
        for t in tables:
            counts["rows"] += t.num_rows
            counts["ranked"] += t.num_rows if ranked else 0
            few = t.select(wanted).to_pandas()
            keep = few["candidate"].astype(bool)
            if "proposal_propensity" in few:
                p = few["proposal_propensity"].to_numpy(dtype=float)
                keep |= (p > 0) & (p < 1)
            if keep.any():
                shown.append(few[keep.to_numpy()])
            yield t

    def rows() -> Iterator[pa.Table]:
        yield from counted(_ranked_rows(cursors), True)
        yield from counted(_unranked_rows(cursors), False)

    path = write_batches(_rebatch(rows(), _OUT_ROWS), dest, schema, crlf=crlf)
    empty = schema.empty_table().select(wanted).to_pandas()
    return MergedList(
        path=path,
        n_rows=counts["rows"],
        n_ranked=counts["ranked"],
        shown=pd.concat(shown, ignore_index=True) if shown else empty,
    )


def score_to_file(
    model_dir: str | os.PathLike[str],
    cases: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    **options,
) -> tuple[ScaleRun, MergedList]:
    """Score a large input into one ``.parquet`` or ``.csv`` file in bounded memory.

    The input is scored piece by piece (:func:`crossexec_ml.jobs.score_partitioned`, pandas
    engine) into a temporary folder beside ``out_path``, and the parts are merged into the
    file (:func:`merge_parts`); the folder is removed, whatever happens. The file holds the
    rows, in the order, that :func:`crossexec_ml.jobs.score` writes for the same input.

    Parameters
    ----------
    model_dir, cases
        As :func:`crossexec_ml.jobs.score_partitioned`.
    out_path : path-like
        ``.parquet`` or ``.csv``.
    **options
        Passed on to :func:`crossexec_ml.jobs.score_partitioned` (``ledger_path``,
        ``capacity``, ``explore``, ``piece_rows``...).

    Returns
    -------
    (ScaleRun, MergedList)
    """
    dest = Path(out_path)
    if dest.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"{dest.name}: a large list is written as .csv or .parquet")
    _refuse_unsafe_output(dest, cases, model_dir, options.get("ledger_path"), folder=False)
    dest.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.parts-", dir=dest.parent))
    try:
        run = score_partitioned(model_dir, cases, work / "parts", **options)
        merged = merge_parts(work / "parts", dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return run, merged
