"""A large CSV validated in batches: the whole file's problems, memory bounded by a batch.

:func:`crossexec_ml.data.validate_file` on a CSV over ``batch_over_mb`` lands here. Each batch
of :func:`crossexec_ml.data.csv_batches` is validated by
:func:`crossexec_ml.data.validate_frame` with the file's row numbers, so every cell's problem
reads exactly as when the whole file is validated at once. Two rows with one key may sit in
different batches, so keys are checked here across the file: a 64-bit hash of each row's
typed key is kept (16 bytes a row with its row number, not the row), and only when two hashes
are equal are those rows' keys read again and compared exactly; the messages are the same as
the whole file's (``duplicate: row N has ...``).

What differs from the whole file: a problem about a whole column (a missing column, a header
or cells that look like personal data) found in several batches is listed once, its rows
joined as the whole file lists them (unless a batch has over 10,000 problems); warnings are
listed once each, and case ids written two ways (full-width and half-width) are found only
within a batch.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.data._csv import NeedsPython, csv_batches
from crossexec_ml.data._report import Problem, ValidationReport
from crossexec_ml.data._validate import (
    _MAX_ROWS_LISTED,
    MAX_PROBLEMS,
    _Collector,
    _contract,
    _key_columns,
    _rows_text,
    validate_frame,
)
from crossexec_ml.errors import InputError


def _validate_csv_in_batches(
    path: Path, *, kind: str, allow_personal_columns: bool | None, batch_rows: int
) -> ValidationReport:
    """Validate a CSV batch by batch (see the module's note).

    Parameters
    ----------
    path : pathlib.Path
    kind : {"cases", "handlers", "truth"}
    allow_personal_columns : bool, optional
        As :func:`crossexec_ml.data.validate_frame`.
    batch_rows : int
        Rows per batch.

    Returns
    -------
    ValidationReport
        Its ``frame`` holds only what the summary needs (``court_id`` as a category and
        ``as_of_date``, one row per data row), not the typed file.
    """
    for fast in (True, False):
        try:
            return _validate(path, kind, allow_personal_columns, batch_rows, fast)
        except NeedsPython:  # Arrow cannot read it as Python's csv would: read it again
            continue
    raise AssertionError("unreachable: the Python reader never asks for itself")


def _validate(
    path: Path, kind: str, allow: bool | None, batch_rows: int, fast: bool
) -> ValidationReport:
    contract = _contract(kind)
    keys, what = _key_columns(kind)
    order = {contract.columns[n].display: i for i, n in enumerate(contract.names)}
    items: list[tuple[int, int, Problem]] = []
    whole_column: set[tuple[str, str]] = set()
    kept_extras: set[str] | None = None
    personal: dict[tuple[str, str], list] = {}  # (column, rule) -> [place in items, problems]
    total = 0
    first: ValidationReport | None = None
    warnings: list[str] = []
    hashes, numbers_kept, summary = [], [], []
    for header, frame, done in csv_batches(path, batch_rows, fast=fast):
        numbers = done + 2 + np.arange(len(frame), dtype=np.int64)
        rep = validate_frame(
            frame,
            header,
            kind=kind,
            source=path.name,
            allow_personal_columns=allow,
            row_numbers=numbers,
            check_keys=False,
            max_problems=_KEPT,
        )
        first = first or rep
        total += rep.n_problems
        for p in rep.problems:
            if _PERSONAL.search(p.expected) and p.row is not None:
                key = (p.column, _PERSONAL.search(p.expected).group(1))
                if key in personal:  # found in an earlier batch: its rows join that problem
                    total -= 1
                    personal[key][1].append(p)
                    continue
                personal[key] = [len(items), [p]]
            elif p.row is None:
                if (p.column, p.expected[:40]) in whole_column:
                    total -= 1  # the same column's problem, found again in this batch
                    continue
                whole_column.add((p.column, p.expected[:40]))
            items.append((p.row or 0, order.get(p.column, len(order)), p))
        kept_here: set[str] = set()
        for w in rep.warnings:
            if w.startswith(_KEPT_EXTRAS):
                kept_here = set(w[len(_KEPT_EXTRAS) :].split(", "))
            elif w not in warnings:
                warnings.append(w)
        # An extra column is kept only if no batch refused it (personal data in any batch).
        kept_extras = kept_here if kept_extras is None else kept_extras & kept_here
        typed = rep.frame
        complete = typed[keys].notna().all(axis=1).to_numpy()
        hashes.append(pd.util.hash_pandas_object(typed[keys][complete], index=False).to_numpy())
        numbers_kept.append(numbers[complete])
        summary.append(typed[[c for c in ("court_id", "as_of_date") if c in typed]])
    if first is None:
        raise InputError(
            f"{path.name}: the file has a header but no data rows; export the table with its rows"
        )
    for place, found_in in personal.values():
        if len(found_in) > 1:
            row, order_, _ = items[place]
            items[place] = (row, order_, _merged(found_in))
    found = _duplicates(path, kind, allow, batch_rows, fast, hashes, numbers_kept, what)
    total += found.total
    items += found.items
    items.sort(key=lambda t: (t[0], t[1]))  # stable: a batch's own order within a cell
    first.problems = [p for _, _, p in items][:MAX_PROBLEMS]
    first.n_problems = total
    if kept_extras:
        warnings.insert(0, _KEPT_EXTRAS + ", ".join(h for h in header if h in kept_extras))
    first.warnings = warnings
    first.frame = _summary_frame(summary)
    return first


def _duplicates(
    path: Path,
    kind: str,
    allow: bool | None,
    batch_rows: int,
    fast: bool,
    hashes: list[np.ndarray],
    numbers: list[np.ndarray],
    what: str,
) -> _Collector:
    """Rows whose key an earlier row already has, across the whole file."""
    found = _Collector()
    h = np.concatenate(hashes) if hashes else np.empty(0, dtype=np.uint64)
    rows = np.concatenate(numbers) if numbers else np.empty(0, dtype=np.int64)
    by_hash = np.argsort(h, kind="stable")
    hs = h[by_hash]
    same = np.zeros(len(hs), dtype=bool)
    same[1:] = hs[1:] == hs[:-1]
    same[:-1] |= same[1:]
    suspects = np.sort(rows[by_hash[same]])
    if not len(suspects):
        return found
    # Equal hashes: read those rows' keys again (a duplicate, or very rarely a collision).
    contract = _contract(kind)
    keys, _ = _key_columns(kind)
    col = contract.columns[keys[0]]
    col_order = contract.names.index(keys[0])
    parts = []
    for header, frame, done in csv_batches(path, batch_rows, fast=fast):
        numbers_here = done + 2 + np.arange(len(frame), dtype=np.int64)
        take = np.isin(numbers_here, suspects)
        if not take.any():
            continue
        rep = validate_frame(
            frame[take].reset_index(drop=True),
            header,
            kind=kind,
            source=path.name,
            allow_personal_columns=allow,
            row_numbers=numbers_here[take],
            check_keys=False,
            max_problems=_KEPT,
        )
        part = rep.frame[keys].copy()
        part["_row"] = numbers_here[take]
        parts.append(part)
    seen = pd.concat(parts, ignore_index=True).sort_values("_row", kind="stable")
    first_row = seen.groupby(keys, sort=False, observed=True)["_row"].transform("first")
    later = seen["_row"] != first_row
    for value, row, first in zip(
        seen.loc[later, keys[0]], seen.loc[later, "_row"], first_row[later], strict=True
    ):
        found.add(
            int(row),
            col_order,
            col.display,
            value,
            f"duplicate: row {int(first)} has {what}; keep one row per key",
        )
    return found


_KEPT_EXTRAS = "columns not in the contract were kept but are not used: "

# Problems kept per batch: as many as a collector keeps, so a personal-data problem of a
# column is seen in every batch where it is found (unless a batch has more than this).
_KEPT = 50 * MAX_PROBLEMS

# A personal-data problem: "<rule> in rows 2, 5 and 3 more (5 rows) (values not shown); fix".
_PERSONAL = re.compile(
    r"^(.*?) in (rows? [\d, ]+(?: and [\d,]+ more \([\d,]+ rows\))?) \(values not shown\)"
)
_LISTED = re.compile(r"^rows? ([\d, ]+?)(?: and [\d,]+ more \(([\d,]+) rows\))?$")


def _merged(found_in: list[Problem]) -> Problem:
    """One column's personal-data problem found in several batches, as the whole file says it:
    the first rows listed, the count of all."""
    listed: list[int] = []
    count = 0
    for p in found_in:
        m = _LISTED.match(_PERSONAL.search(p.expected).group(2))
        rows = [int(r) for r in m.group(1).split(", ")]
        listed += rows
        count += int(m.group(2).replace(",", "")) if m.group(2) else len(rows)
    rows_text = _rows_text(pd.Series(listed))
    if count > _MAX_ROWS_LISTED:
        shown = ", ".join(str(r) for r in listed[:_MAX_ROWS_LISTED])
        rows_text = f"rows {shown} and {count - _MAX_ROWS_LISTED:,} more ({count:,} rows)"
    first = found_in[0]
    old = _PERSONAL.search(first.expected).group(2)
    return Problem(first.row, first.column, first.value, first.expected.replace(old, rows_text, 1))


def _summary_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """What :meth:`ValidationReport.summary` reads, for every row, in little memory."""
    if not parts or not len(parts[0].columns):
        return pd.DataFrame(index=pd.RangeIndex(sum(len(p) for p in parts)))
    out = {}
    if "court_id" in parts[0]:
        out["court_id"] = pd.api.types.union_categoricals(
            [p["court_id"].astype("category") for p in parts], ignore_order=True
        )
    if "as_of_date" in parts[0]:
        out["as_of_date"] = pd.concat([p["as_of_date"] for p in parts], ignore_index=True)
    return pd.DataFrame(out)
