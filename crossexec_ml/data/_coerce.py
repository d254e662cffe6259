"""Typing raw cells by the contract's dtypes, a whole column at a time.

Every parser here returns the typed column and the masks of the cells it could not read
(``bad``) or read as implausible (``far``); the validator turns those masks into messages.
The work is done on whole columns: text as Arrow strings (strip, lower, regular expressions
and the string-to-number cast are Arrow compute kernels), and the few distinct values of a
date, flag or category column are parsed once each and spread back with their codes
(``pandas.factorize``), so a million-row export costs a handful of column passes instead of a
Python call per cell. What counts as valid, and the typed value of each cell, is exactly what
the cell-by-cell validator before it accepted (``tests/data/test_vectorised_validation.py``
compares the two on hostile tables).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crossexec_ml.data._contract import ColumnSpec

_TRUE = {"true", "t", "1", "1.0", "y", "yes", "是", "真", "有"}


_FALSE = {"false", "f", "0", "0.0", "n", "no", "否", "假", "无"}


# Excel stores dates as days since 1899-12-30 (the 1900 leap-year bug included).
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


_ZH_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?\s*$")


_SEP_DATE = re.compile(
    r"^\s*(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?\s*$"
)


_DIGITS8 = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


# Plausible values. Outside them a cell is a typing error, and some would break the pipeline:
# pandas' nanosecond dates span 1677-2262 and a difference of two dates at most 292 years;
# whole numbers above 2**53 lose digits as floats.
DATE_RANGE = (pd.Timestamp("1950-01-01"), pd.Timestamp("2100-12-31"))


MAX_ABS_NUMBER = 1e15


# A number as both Arrow's cast and pandas' parser read it, to the same double (checked on
# 5.4M values, exotic exponents included): such cells take Arrow's cast, ~20x faster; any other
# cell (hex, underscores, "inf", non-ASCII digits...) is parsed by pandas as before.
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


# Money as typed in Chinese exports: thousands separators (ASCII and full-width), yuan signs.
_MONEY_MARKS = "[,，¥元]"


def _fmt_cell(v: object) -> object:
    if v is None or v is pd.NA or v is pd.NaT:
        return pd.NA
    if isinstance(v, float | np.floating):
        if np.isnan(v):
            return pd.NA
        if float(v).is_integer() and abs(v) < 1e15:
            return str(int(v))
        return repr(float(v))
    s = str(v).strip()
    return s if s else pd.NA


def _float_text(col: pd.Series) -> pd.Series:
    """A float column as :func:`_fmt_cell` writes each cell, computed per distinct value."""
    return _by_value(col.astype("float64"), lambda u: [_fmt_cell(v) for v in u], "string")


def _as_text(col: pd.Series) -> pd.Series:
    """Cells as stripped text with missing values as NA (whole floats lose their '.0')."""
    if isinstance(col.dtype, pd.StringDtype) or pd.api.types.infer_dtype(col, skipna=True) in (
        "string",
        "empty",
    ):
        # The common CSV case, vectorised: every cell is already text (Arrow strip).
        text = col.astype("string").str.strip()
        return text.mask(text == "")
    if pd.api.types.is_float_dtype(col.dtype):
        return _float_text(col)
    if pd.api.types.is_integer_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("string")
    return col.astype(object).map(_fmt_cell).astype("string")


def _by_value(values: pd.Series, fn: Callable[[np.ndarray], object], dtype: object) -> pd.Series:
    """``fn`` applied to each distinct value of ``values`` once, spread back to every row.

    ``fn`` takes the array of distinct non-missing values and returns one result per value;
    missing cells get a missing result. Exports repeat a few hundred distinct dates or
    categories over millions of rows.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = pd.array(fn(np.asarray(uniques, dtype=object)), dtype=dtype)
    return pd.Series(results.take(codes, allow_fill=True), index=values.index)


def _arrow_text(text: pd.Series) -> pa.Array:
    cells = pa.array(text)
    if not (pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type)):
        cells = pa.array(text.astype(object), type=pa.string(), from_pandas=True)
    return cells


def _plain(cells: pa.Array) -> np.ndarray:
    hit = pc.match_substring_regex(cells, _PLAIN_NUMBER).fill_null(False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _parse_numbers(text: pd.Series) -> pd.Series:
    """Numbers from stripped text (NaN where missing or unreadable), as pandas reads them.

    Thousands separators and yuan marks are dropped first (12,000 and ¥3,500.5元 are numbers).
    """
    out = np.full(len(text), np.nan)
    plain = np.zeros(len(text), dtype=bool)
    with contextlib.suppress(pa.ArrowException, UnicodeError):  # lone surrogates...
        cells = _arrow_text(text)
        # Nearly every cell is already a plain number: only the others are cleaned.
        plain = _plain(cells)
        if plain.any():
            out[plain] = pc.cast(cells.filter(pa.array(plain)), pa.float64()).to_numpy(
                zero_copy_only=False
            )
    rest = text.notna().to_numpy() & ~plain
    if not rest.any():
        return pd.Series(out, index=text.index)
    cleaned = text[rest].str.replace(_MONEY_MARKS, "", regex=True)
    done = np.zeros(len(cleaned), dtype=bool)
    with contextlib.suppress(pa.ArrowException, UnicodeError):
        cells = _arrow_text(cleaned)
        done = _plain(cells)
        if done.any():
            vals = np.full(len(cleaned), np.nan)
            vals[done] = pc.cast(cells.filter(pa.array(done)), pa.float64()).to_numpy(
                zero_copy_only=False
            )
            out[np.flatnonzero(rest)[done]] = vals[done]
    if (~done).any():
        parsed = _by_value(
            cleaned[~done],
            lambda u: pd.to_numeric(pd.Series(u, dtype=object), errors="coerce").astype("float64"),
            "float64",
        )
        out[np.flatnonzero(rest)[~done]] = parsed.to_numpy(dtype="float64", na_value=np.nan)
    return pd.Series(out, index=text.index)


def _coerce_number(col: pd.Series, text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Numbers, the mask of unparseable cells, and the mask of implausibly large ones."""
    missing = text.isna()
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        num = pd.to_numeric(col, errors="coerce").astype("float64")
    else:
        num = _parse_numbers(text)
    finite = np.isfinite(num.fillna(0.0))
    bad = ~missing & (num.isna() | ~finite)
    far = ~bad & (num.abs() >= MAX_ABS_NUMBER).fillna(False).astype(bool)
    num = num.where(~bad & ~far & finite)
    return num, bad, far


def _parse_date(v: object) -> pd.Timestamp | None:
    try:
        if isinstance(v, pd.Timestamp):
            return v.normalize()
        if hasattr(v, "year") and hasattr(v, "month") and hasattr(v, "day"):
            return pd.Timestamp(v.year, v.month, v.day)  # datetime/date from Excel
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            # A real Excel date that lost its format: a serial day number.
            if 1 <= float(v) < 2958466 and float(v).is_integer():
                return _EXCEL_EPOCH + pd.Timedelta(days=int(v))
            return None
    except (ValueError, OverflowError, TypeError):
        return None
    s = str(v).strip()
    m = _SEP_DATE.match(s) or _ZH_DATE.match(s)
    if m is None and s.isdigit() and len(s) == 8:
        m = _DIGITS8.match(s)
    if m is None:
        return None
    try:
        return pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except (ValueError, OverflowError):
        return None


def _days(parsed: list[pd.Timestamp | None]) -> np.ndarray:
    """Parsed dates as datetime64[ns] (NaT for None); all are within DATE_RANGE or None."""
    return np.array(
        [np.datetime64("NaT") if p is None else p.to_datetime64() for p in parsed],
        dtype="datetime64[ns]",
    )


def _states(parsed: list[pd.Timestamp | None], lo: pd.Timestamp, hi: pd.Timestamp) -> np.ndarray:
    """0 unreadable, 1 read, 2 read but outside [lo, hi]."""
    return np.array(
        [0 if p is None else (1 if lo <= p <= hi else 2) for p in parsed], dtype=np.int8
    )


def _coerce_date(col: pd.Series, text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Dates (day precision), the mask of unreadable cells and the mask of implausible ones.

    Dates outside :data:`DATE_RANGE` (year 1500, 9999...) are flagged rather than typed: they
    are typing errors, and most would not fit pandas' nanosecond dates (1677 to 2262).
    """
    out = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
    lo, hi = DATE_RANGE
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        typed = pd.to_datetime(col)
        if typed.dt.tz is not None:
            typed = typed.dt.tz_localize(None)
        typed = typed.dt.normalize()
        far = typed.notna() & ((typed < lo) | (typed > hi))
        out[~far] = typed[~far].astype("datetime64[ns]")
        return out, pd.Series(False, index=col.index), far

    present = text.notna().to_numpy()
    values = col[present]
    # Each distinct cell is parsed once: 1 = read, 2 = read but out of range, 0 = unreadable.
    # Text cells are grouped by their text as read (unstripped, as the parser sees them);
    # mixed Excel cells one by one, since 1, 1.0 and True are one key to a hash.
    if isinstance(values.dtype, pd.StringDtype) or pd.api.types.infer_dtype(
        values, skipna=True
    ) in ("string", "empty"):
        codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
        parsed = [_parse_date(v) for v in np.asarray(uniques, dtype=object)]
        each = _states(parsed, lo, hi)
        state = each[codes]
        days = _days([p if s == 1 else None for p, s in zip(parsed, each, strict=True)])[codes]
    else:
        cache: dict[object, pd.Timestamp | None] = {}
        parsed: list[pd.Timestamp | None] = []
        for v in values:
            key = v if isinstance(v, str) else (type(v).__name__, str(v))
            if key not in cache:
                cache[key] = _parse_date(v)
            parsed.append(cache[key])
        state = _states(parsed, lo, hi)
        days = _days([p if s == 1 else None for p, s in zip(parsed, state, strict=True)])
    where = np.flatnonzero(present)
    bad = np.zeros(len(col), dtype=bool)
    bad[where[state == 0]] = True
    far = np.zeros(len(col), dtype=bool)
    far[where[state == 2]] = True
    full = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[ns]")
    full[where] = days
    out = pd.Series(full, index=col.index)
    return out, pd.Series(bad, index=col.index), pd.Series(far, index=col.index)


def _coerce_bool(col: pd.Series, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.astype("boolean"), pd.Series(False, index=col.index)
    # 2 = neither true nor false: a problem; missing cells stay missing.
    verdict = _by_value(
        text.str.lower(),
        lambda u: [1 if v in _TRUE else (0 if v in _FALSE else 2) for v in u],
        "Int64",
    ).to_numpy(dtype="int8", na_value=-1)
    bad = verdict == 2
    out = pd.arrays.BooleanArray(verdict == 1, (verdict == -1) | bad)
    return pd.Series(out, index=col.index), pd.Series(bad, index=col.index)


def _coerce_category(text: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, pd.Series]:
    cats = list(spec.categories or ())
    position = {c.lower(): i for i, c in enumerate(cats)}
    # -1 = not an allowed value (a problem); missing cells (-2) stay missing.
    codes = _by_value(
        text.str.lower(), lambda u: [position.get(v, -1) for v in u], "Int64"
    ).to_numpy(dtype="int64", na_value=-2)
    bad = codes == -1
    out = pd.Categorical.from_codes(np.maximum(codes, -1), categories=cats)
    return pd.Series(out, index=text.index), pd.Series(bad, index=text.index)


def _coerce(
    col: pd.Series, text: pd.Series, spec: ColumnSpec
) -> tuple[pd.Series, pd.Series, str, pd.Series]:
    """Typed column, mask of unparseable cells, what was expected, mask of implausible cells.

    Implausible cells (a date in year 9999, an amount of 10^20) are missing in the typed column.
    """
    no = pd.Series(False, index=col.index)
    if spec.dtype == "string":
        return text, no, spec.expected, no
    if spec.dtype == "date":
        out, bad, far = _coerce_date(col, text)
        return out, bad, spec.expected, far
    if spec.dtype == "bool":
        out, bad = _coerce_bool(col, text)
        return out, bad, spec.expected, no
    if spec.dtype == "category":
        out, bad = _coerce_category(text, spec)
        return out, bad, spec.expected, no
    num, bad, far = _coerce_number(col, text)
    expected = spec.expected
    if spec.dtype == "int":
        frac = num.notna() & (num != np.round(num))
        bad = bad | frac
        num = num.where(~frac)
        out = num.round().astype("Int64") if num.notna().any() else num.astype("Int64")
    else:
        out = num
    return out, bad, expected, far
