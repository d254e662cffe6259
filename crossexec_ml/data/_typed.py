"""Validating an Arrow table whose columns are already typed (Parquet), column by column.

The validator reads text: every cell of a CSV is a string, and it types and checks whole
columns of them (:mod:`crossexec_ml.data._coerce`). Typed Parquet was handed to it as text too
(a date written out as ``2024-03-01`` and parsed back, a number printed and read again): exact,
but most of the cost of reading a province's Parquet. Here a column whose Arrow type already is
the contract's (numbers, true/false, dates, a dictionary of allowed values) is checked on its
typed values directly, and taken as it is when every cell passes: what the text path would give
for such a column is that same column.

Only the all-clean case is decided here. A column with any cell the validator would flag (a
value below the minimum, a blank required cell, a date outside the plausible range, a number of
ten digits or more that may be a telephone or ID number, an unlisted category) or of a type not
handled here goes to the validator as ``read_cases`` hands it a Parquet file's column
(``to_pandas``), so every message is the one ``crossexec validate`` gives for the same file
(``tests/data/test_typed_validation.py`` compares the two on hostile typed tables).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crossexec_ml.data._coerce import DATE_RANGE, _as_text
from crossexec_ml.data._contract import ColumnSpec
from crossexec_ml.data._report import ValidationReport
from crossexec_ml.data._validate import (
    _FILLED_WHEN_PRESENT,
    _UPPER,
    MAX_PROBLEMS,
    _contract,
    _map_header,
    validate_frame,
)

# Numbers from 10^10 up may be telephone (11 digits) or ID numbers: the text path scans them
# for personal data, so such a column is left to it (it also flags 10^15 and more).
_SCANNED_FROM = 1e10


def table_as_text(table: pa.Table) -> pa.Table:
    """Every column as text, the way a CSV export holds it.

    Dates as ISO days (what the validator keeps of a timestamp), NaN as missing (as it reads
    NaN); a type Arrow cannot cast is left as it is and read by the validator cell by cell.

    Parameters
    ----------
    table : pyarrow.Table

    Returns
    -------
    pyarrow.Table
        Same names and rows.
    """
    return pa.table([_column_as_text(c) for c in table.columns], names=table.column_names)


def _column_as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    t = col.type
    try:
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return pc.strftime(col, format="%Y-%m-%d")
        if pa.types.is_floating(t):
            return _floats_as_text(col)
        if pa.types.is_duration(t):
            # As pandas prints it ("641 days 00:00:00"), so a duration is refused as a number
            # the way read_cases refuses it, never read as a count of microseconds.
            series = col.to_pandas()
            return pa.chunked_array([pa.array(series.astype(str).where(series.notna(), None))])
        if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
            return pc.cast(col, pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        pass  # left typed: the validator reads such cells one by one
    return col


def _floats_as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Floats as a CSV holds them: whole numbers as digits, never ``1.3812345678e+10``.

    Widened to float64 first (a float32 prints its rounded value; read_cases widens to the
    exact double). A whole number below 2**53 is printed as an integer, so a mobile or ID
    number stored as float (what pandas writes for an integer column with gaps) is seen by
    the personal-data scan; NaN is missing.
    """
    col = pc.cast(col, pa.float64())
    col = pc.if_else(pc.is_nan(col), None, col)
    whole = pc.and_(pc.equal(pc.trunc(col), col), pc.less(pc.abs(col), float(2**53)))
    digits = pc.cast(pc.cast(pc.if_else(whole, col, None), pa.int64()), pa.string())
    return pc.if_else(whole, digits, pc.cast(col, pa.string()))


def _numbers(col: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64, missing as NaN."""
    return (
        col.to_numpy().astype("float64", copy=False)
        if col.null_count == 0
        else np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype="float64")
    )


def _clean_number(values: np.ndarray, spec: ColumnSpec) -> bool:
    """No cell the text path would flag, scan or change: finite, below 10^10, above the
    minimum, none missing where required (NaN is missing)."""
    present = ~np.isnan(values)
    if spec.required and not present.all():
        return False
    v = values[present]
    if len(v) == 0:
        return True
    if not (np.isfinite(v).all() and np.abs(v).max() < _SCANNED_FROM):
        return False
    return spec.minimum is None or bool(v.min() >= spec.minimum)


def _typed_number(col: pa.ChunkedArray, spec: ColumnSpec, index: pd.Index) -> pd.Series | None:
    t = col.type
    if spec.dtype == "int":
        # Whole numbers only: a float column may hold fractions (the text path's problem).
        if not pa.types.is_integer(t):
            return None
        values = _numbers(col)
        if not _clean_number(values, spec):
            return None
        missing = np.isnan(values)
        ints = np.where(missing, 0, values).astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(ints, missing), index=index)
    # float64 and whole numbers print and read back as the same double; float32 does not
    # (0.1f prints as 0.1, read back as the double 0.1).
    if not (pa.types.is_float64(t) or pa.types.is_integer(t)):
        return None
    values = _numbers(col)
    if not _clean_number(values, spec):
        return None
    return pd.Series(values, index=index, dtype="float64")


def _typed_date(col: pa.ChunkedArray, spec: ColumnSpec, index: pd.Index) -> pd.Series | None:
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            return None  # printed in its zone by the text path: left to it
    elif not pa.types.is_date(t):
        return None
    if spec.required and col.null_count:
        return None
    # The text path keeps the day a timestamp falls on (time of day dropped): the same as
    # flooring to days (numpy floors, before 1970 too).
    days = col.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    present = ~np.isnat(days)
    lo, hi = (np.datetime64(d.date(), "D") for d in DATE_RANGE)
    v = days[present]
    if len(v) and (v.min() < lo or v.max() > hi):
        return None
    return pd.Series(days.astype("datetime64[ns]"), index=index)


def _typed_bool(col: pa.ChunkedArray, spec: ColumnSpec, index: pd.Index) -> pd.Series | None:
    if not pa.types.is_boolean(col.type) or (spec.required and col.null_count):
        return None
    values = col.to_numpy(zero_copy_only=False)
    if col.null_count == 0:
        return pd.Series(
            pd.arrays.BooleanArray(values.astype(bool), np.zeros(len(values), bool)), index=index
        )
    missing = np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    data = np.asarray(pc.fill_null(col, False).to_numpy(zero_copy_only=False), dtype=bool)
    return pd.Series(pd.arrays.BooleanArray(data, missing), index=index)


def _typed_category(col: pa.ChunkedArray, spec: ColumnSpec, index: pd.Index) -> pd.Series | None:
    """A dictionary column: its few distinct values read as the text path reads a cell
    (stripped, blank as missing, any case), spread back by the indices."""
    if not pa.types.is_dictionary(col.type):
        return None
    value_type = col.type.value_type
    if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
        return None
    cats = list(spec.categories or ())
    position = {c.lower(): i for i, c in enumerate(cats)}
    parts = []
    for chunk in col.chunks:
        words = _as_text(pd.Series(chunk.dictionary.to_pylist(), dtype="string"))
        # -2 missing (a blank value), -1 not allowed, else the category's position.
        of_value = np.array(
            [-2 if w is pd.NA else position.get(str(w).lower(), -1) for w in words],
            dtype=np.int64,
        )
        idx = np.asarray(
            pc.fill_null(chunk.indices, 0).to_numpy(zero_copy_only=False), dtype=np.int64
        )
        codes = of_value[idx] if len(of_value) else np.full(len(idx), -2, dtype=np.int64)
        if chunk.null_count:
            null = np.asarray(chunk.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            codes = np.where(null, -2, codes)
        parts.append(codes)
    codes = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    if (codes == -1).any() or (spec.required and (codes == -2).any()):
        return None
    out = pd.Categorical.from_codes(np.maximum(codes, -1), categories=cats)
    return pd.Series(out, index=index)


def _typed_column(
    col: pa.ChunkedArray, spec: ColumnSpec, kind: str, index: pd.Index
) -> pd.Series | None:
    """A typed column as the validator's text path would type it, when every cell is clean.

    Parameters
    ----------
    col : pyarrow.ChunkedArray
        The column as read from Parquet.
    spec : ColumnSpec
        Its contract column.
    kind : str
        The contract (``cases``, ``handlers``, ``truth``).
    index : pandas.Index
        Index of the result.

    Returns
    -------
    pandas.Series or None
        The typed column; None when any cell might be a problem or the type is not one handled
        here: the caller then validates the column as text, which names every problem.
    """
    if (kind, spec.name) in _UPPER or (kind, spec.name) in _FILLED_WHEN_PRESENT:
        return None
    if spec.dtype in ("int", "float"):
        return _typed_number(col, spec, index)
    if spec.dtype == "date":
        return _typed_date(col, spec, index)
    if spec.dtype == "bool":
        return _typed_bool(col, spec, index)
    if spec.dtype == "category":
        return _typed_category(col, spec, index)
    # Text columns are already read vectorised, and each cell is scanned for personal data.
    return None


def validate_table(
    table: pa.Table,
    header: list[str] | None = None,
    *,
    kind: str = "cases",
    source: str = "<Arrow table>",
    allow_personal_columns: bool | None = None,
    row_numbers: np.ndarray | None = None,
    check_keys: bool = True,
    max_problems: int = MAX_PROBLEMS,
) -> ValidationReport:
    """Validate an Arrow table against the contract, as :func:`validate_frame` validates the
    same table written out as text.

    Columns already of the contract's type and clean in every cell are taken typed (no text
    round trip); every other column, and every column with a problem, is validated as text, so
    the report (typed frame, problems, their messages, warnings) is the text path's.

    Parameters
    ----------
    table : pyarrow.Table
        The table as read (Parquet), its columns in file order.
    header : list of str, optional
        Header cells, one per column of ``table``; default its column names.
    kind, source, allow_personal_columns, row_numbers, check_keys, max_problems
        As :func:`validate_frame`.

    Returns
    -------
    ValidationReport

    Raises
    ------
    InputError
        When the header itself is unusable.
    """
    if header is None:
        header = [str(c) for c in table.column_names]
    contract = _contract(kind)
    # The validator's own header mapping (it refuses a bad header with its own message).
    mapping, _ = _map_header(header, contract, source)
    index = pd.RangeIndex(table.num_rows)
    typed: dict[int, pd.Series] = {}
    for pos, name in mapping.items():
        spec = contract.columns.get(name)
        if spec is not None:
            col = _typed_column(table.column(pos), spec, kind, index)
            if col is not None:
                typed[pos] = col
    rest = [pos for pos in range(table.num_columns) if pos not in typed]
    if rest:
        # As read_cases reads a Parquet file (``to_pandas``), so every bad cell is quoted,
        # and every odd value (a serial day number in a date column, a float-stored phone
        # number, a timestamp with a time of day) read, exactly as ``crossexec validate``
        # and the in-memory ``score`` do on the same file.
        picked = pa.table([table.column(pos) for pos in rest], names=[str(p) for p in rest])
        raw = picked.to_pandas(ignore_metadata=True)
        raw.columns = rest
    else:
        raw = pd.DataFrame(index=index)
    return validate_frame(
        raw,
        header,
        kind=kind,
        source=source,
        allow_personal_columns=allow_personal_columns,
        row_numbers=row_numbers,
        check_keys=check_keys,
        max_problems=max_problems,
        typed=typed,
    )
