"""Checking a raw table against the contract: every problem named by row, column and fix."""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
from collections.abc import Iterator, Mapping

import numpy as np
import pandas as pd

from crossexec_ml.data._coerce import _as_text, _coerce, _fmt_cell
from crossexec_ml.data._contract import (
    OUTPUT_LABELS,
    ColumnSpec,
    Contract,
    cases_contract,
    handlers_contract,
)
from crossexec_ml.data._privacy import RULES, header_rule, mask_text, scan_values, value_rule
from crossexec_ml.data._report import Problem, ValidationReport
from crossexec_ml.data._warnings import implausible_slots
from crossexec_ml.errors import InputError
from crossexec_ml.settings import RUNGS

#: How many problems a report lists; the total is always counted.
MAX_PROBLEMS = 200


_DATE_RANGE_TEXT = "a date between 1950-01-01 and 2100-12-31 (this one looks mistyped)"


_NUMBER_RANGE_TEXT = "a number below 10^15 (this one looks mistyped)"


# Whether columns that look like personal data may be read (and dropped) rather than refused;
# set for a block of code by allowing_personal_columns(), e.g. around a whole CLI command.
_ALLOW_PERSONAL: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "crossexec_allow_personal_columns", default=False
)


# Row numbers listed per personal-data finding, extra columns named in the warning (the
# counts are always given).
_MAX_ROWS_LISTED = 10


_MAX_EXTRAS_NAMED = 50


def _map_header(
    header: list[str], contract: Contract, source: str
) -> tuple[dict[int, str], list[str]]:
    """Map header positions to contract names; return ``(mapping, extra column names)``."""
    lower = {n.lower(): n for n in contract.names}
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    extras: list[str] = []
    used_en: list[str] = []
    used_zh: list[str] = []
    raw_seen: dict[str, int] = {}
    cleaned = [str(h).replace("\ufeff", "").strip() for h in header]
    if not any(lower.get(h.lower()) or contract.name_for_label(h) for h in cleaned):
        # Most likely the header row is missing and the first row is data: say so without
        # repeating that row, which may hold names or numbers.
        raise InputError(
            f"{source}: the first row holds none of the {contract.kind} contract's column names "
            "(English names or Chinese labels); the file must start with its header row, as "
            "in the export template"
        )
    for pos, h in enumerate(header):
        h = str(h).replace("\ufeff", "").strip()
        if not h:
            raise InputError(
                f"{source}: column {pos + 1} of the header is empty; give it a name or delete it"
            )
        if h in raw_seen:
            raise InputError(
                f"{source}: the column {_shown(h)!r} appears twice in the header (columns "
                f"{raw_seen[h] + 1} and {pos + 1}); delete one of them"
            )
        raw_seen[h] = pos
        name = lower.get(h.lower())
        if name is not None:
            used_en.append(h)
        else:
            name = contract.name_for_label(h)
            if name is not None:
                used_zh.append(h)
        if name is None:
            extras.append(h)
            mapping[pos] = h
            continue
        if name in seen:
            raise InputError(
                f"{source}: the headers {seen[name]!r} and {h!r} both mean "
                f"{contract.columns[name].display}; keep only one of them"
            )
        seen[name] = h
        mapping[pos] = name
    if used_en and used_zh:
        raise InputError(
            f"{source}: the header mixes English names ({', '.join(used_en[:3])}...) and "
            f"Chinese labels ({', '.join(used_zh[:3])}...); use one language for every "
            "contract column, as the export template does"
        )
    return mapping, extras


def _shown(text: object, limit: int = 60) -> str:
    """A cell or header as a message may show it: personal numbers masked, then shortened.

    A typed cell is shown as a CSV export holds it (a whole float as digits, a date at
    midnight as its day), so the same bad cell reads alike from a CSV, an XLSX and a Parquet
    file, and whether ``read_cases`` or a piece of the large path met it.
    """
    if isinstance(text, float | np.floating):
        text = _fmt_cell(text)
    elif isinstance(text, datetime.datetime) and text.time() == datetime.time(0):
        text = text.strftime("%Y-%m-%d")
    shown = mask_text(text)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


class _Collector:
    def __init__(self) -> None:
        self.items: list[tuple[int, int, Problem]] = []
        self.total = 0

    def add(self, row: int | None, order: int, column: str, value: object, expected: str):
        self.total += 1
        if len(self.items) < 50 * MAX_PROBLEMS:
            # Masked before it is shortened, so a cut can never leave half an ID number.
            text = "" if value is None or value is pd.NA else _shown(value)
            self.items.append(
                (row if row is not None else 0, order, Problem(row, column, text, expected))
            )

    def sorted(self, limit: int = MAX_PROBLEMS) -> list[Problem]:
        return [p for _, _, p in sorted(self.items, key=lambda t: (t[0], t[1]))][:limit]


@contextlib.contextmanager
def allowing_personal_columns(allow: bool = True) -> Iterator[None]:
    """Within the block, readers drop extra columns that look like personal data.

    By default a column that looks like personal data (see :mod:`crossexec_ml.data`) is
    refused. Inside this block, one that is **not** a contract column is dropped on reading
    instead (named by position in a warning) and so never reaches any output. Contract
    columns holding an ID or mobile number are refused either way: they must hold codes.
    The CLI's ``--allow-personal-columns`` wraps its command in this block, so jobs that read
    several files (train, score, plan) need no extra parameter.

    Parameters
    ----------
    allow : bool
        False restores the default inside a block that allowed it.
    """
    token = _ALLOW_PERSONAL.set(allow)
    try:
        yield
    finally:
        _ALLOW_PERSONAL.reset(token)


def personal_columns_allowed() -> bool:
    """Whether :func:`allowing_personal_columns` is in force here (engines pass it to workers)."""
    return _ALLOW_PERSONAL.get()


def _rows_text(rows: pd.Series) -> str:
    """``row 3`` / ``rows 3, 5`` / ``rows 2, 3, ... and 990 more (1,000 rows)``."""
    shown = ", ".join(str(r) for r in rows.iloc[:_MAX_ROWS_LISTED])
    if len(rows) == 1:
        return f"row {shown}"
    more = len(rows) - _MAX_ROWS_LISTED
    return f"rows {shown}" + (f" and {more:,} more ({len(rows):,} rows)" if more > 0 else "")


def _personal_problem(
    found: _Collector,
    rows: pd.Series,
    order: int,
    column: str,
    rule: str,
    *,
    contract_column: bool,
) -> None:
    """One problem per column and rule, listing the rows; the values themselves never shown."""
    if contract_column:
        fix = (
            "this contract column holds pseudonymised codes or plain figures, never personal "
            "data: replace these cells at the source (allowing personal columns does not "
            "apply to contract columns)"
        )
    else:
        fix = (
            "the data contract carries no personal data: delete this column from the export, "
            "or read with allow_personal_columns=True (crossexec ... --allow-personal-columns) "
            "to drop it on reading"
        )
    where = "" if rule == "header" else f" in {_rows_text(rows)}"
    found.add(
        int(rows.iloc[0]) if len(rows) and rule != "header" else None,
        order,
        column,
        "",
        f"{RULES[rule]}{where} (values not shown); {fix}",
    )


_NUMERIC_NO_MOBILE = ("float",)  # money: 13-20 billion yuan is an amount, not a phone number


def _check_required_present(
    contract: Contract,
    kind: str,
    pos_of: dict[str, int],
    found: _Collector,
    col_order: dict[str, int],
    report: ValidationReport,
) -> None:
    """Required columns missing from the header (one problem each); optional ones noted."""
    missing_fix = (
        _TRUTH_MISSING_FIX
        if kind == "truth"
        else "required column is missing from the header; add it (English name or Chinese label)"
    )
    for name in contract.required:
        if name not in pos_of:
            spec = contract.columns[name]
            found.add(None, col_order[name], spec.display, "", missing_fix)
    report.absent_optional = [
        c for c in contract.names if c not in pos_of and not contract.columns[c].required
    ]


def _check_personal_cells(
    text: pd.Series,
    out: pd.Series,
    bad: pd.Series,
    far: pd.Series,
    spec: ColumnSpec,
    rows: pd.Series,
    order: int,
    found: _Collector,
    report: ValidationReport,
) -> tuple[pd.Series, pd.Series]:
    """ID and mobile numbers in a contract column: one problem per rule, values masked.

    Returns the typed column with those cells masked out, and their mask.
    """
    personal = pd.Series(False, index=text.index)
    if spec.dtype not in ("string", "int", "float"):
        # Dates, flags and categories cannot hold a valid personal value: anything else
        # there is already a problem, and its value is masked in the message.
        return out, personal
    cells = text
    if spec.dtype != "string":
        # Only a number of 11 or more digits (or an unreadable one: "138-1234-5678",
        # an ID ending in X) can be a phone or ID number: the rest skip the scan.
        big = (out.astype("float64").abs() >= 1e10).fillna(False).astype(bool)
        cells = text[big | bad | far]
    hits = scan_values(cells, mobile=spec.dtype not in _NUMERIC_NO_MOBILE)
    for rule, idx in hits.items():
        personal[idx] = True
        _personal_problem(found, rows[idx], order, spec.display, rule, contract_column=True)
        if spec.display not in report.personal_columns:
            report.personal_columns.append(spec.display)
    if personal.any():
        # The typed frame never holds the value either (a notebook may show it).
        out = (
            out.mask(personal)
            if spec.dtype != "string"
            else out.where(~personal, text[personal].map(mask_text)).astype("string")
        )
    return out, personal


def _check_column(
    col: pd.Series,
    spec: ColumnSpec,
    kind: str,
    rows: pd.Series,
    order: int,
    found: _Collector,
    report: ValidationReport,
) -> pd.Series:
    """One contract column, typed as a whole; every bad cell collected. Returns it typed."""
    text = _as_text(col)
    out, bad, expected, far = _coerce(col, text, spec)
    upper = _UPPER.get((kind, spec.name))
    if upper is not None:
        expected = f"a probability between {spec.minimum:g} and {upper:g}"
    out, personal = _check_personal_cells(text, out, bad, far, spec, rows, order, found, report)
    missing = text.isna()
    for idx in bad[bad & ~personal].index:
        found.add(int(rows[idx]), order, spec.display, col[idx], expected)
    far_text = _DATE_RANGE_TEXT if spec.dtype == "date" else _NUMBER_RANGE_TEXT
    if upper is not None:
        far_text = expected
    for idx in far[far & ~personal].index:
        found.add(int(rows[idx]), order, spec.display, col[idx], far_text)
    if spec.required or (kind, spec.name) in _FILLED_WHEN_PRESENT:
        for idx in missing[missing].index:
            found.add(int(rows[idx]), order, spec.display, "", f"required: {expected}")
    if spec.minimum is not None:
        low = out.notna() & (out.astype("float64") < spec.minimum)
        for idx in low[low].index:
            found.add(int(rows[idx]), order, spec.display, col[idx], expected)
        out = out.where(~low) if spec.dtype == "float" else out.mask(low)
    if upper is not None:
        # Far values (10^15 and more) are already listed; any other cell above the bound.
        high = out.notna() & (out.astype("float64") > upper)
        for idx in high[high].index:
            found.add(int(rows[idx]), order, spec.display, col[idx], expected)
        out = out.where(~high)
    return out


def _check_extras(
    raw: pd.DataFrame,
    extras: list[str],
    pos_of: dict[str, int],
    rows: pd.Series,
    n_contract: int,
    found: _Collector,
    report: ValidationReport,
    allow_personal_columns: bool,
) -> tuple[np.ndarray, list[int]]:
    """Columns outside the contract: personal ones refused (or dropped), the rest kept.

    Returns their text (rows x columns) and which of them are kept.
    """
    # Extra columns are checked as one block: a file with thousands of them costs one pass.
    texts, hits_by_col = _extra_block(raw, [pos_of[e] for e in extras])
    kept: list[int] = []
    for j, e in enumerate(extras):
        pos = pos_of[e]
        label = f"{_shown(e)} (column {pos + 1})"
        order = n_contract + pos
        rules = {"header": rows.iloc[:0]} if header_rule(e) else {}
        rules.update({r: rows.iloc[i] for r, i in hits_by_col.get(j, {}).items()})
        header_value = value_rule(e)
        if header_value is not None:
            # A header cell that is itself an ID or phone number: the header row is missing.
            found.add(
                1,
                order,
                label,
                "",
                f"{RULES[header_value]} in the header row (value not shown): the first row "
                "must be the header; add it",
            )
            rules.setdefault("header", rows.iloc[:0])
        if not rules:
            kept.append(j)
            continue
        report.personal_columns.append(label)
        if allow_personal_columns:
            report.dropped_columns.append(pos + 1)
            continue
        for rule, where in rules.items():
            _personal_problem(found, where, order, label, rule, contract_column=False)
    if kept:
        named = ", ".join(_shown(extras[j]) for j in kept[:_MAX_EXTRAS_NAMED])
        more = len(kept) - _MAX_EXTRAS_NAMED
        report.warnings.append(
            "columns not in the contract were kept but are not used: "
            + named
            + (f" and {more:,} more ({len(kept):,} columns)" if more > 0 else "")
        )
    if report.dropped_columns:
        report.warnings.append(
            f"{len(report.dropped_columns)} column(s) that look like personal data were dropped "
            f"on reading and are not used or written anywhere (file columns "
            f"{', '.join(map(str, report.dropped_columns))})"
        )
    return texts, kept


def validate_frame(
    raw: pd.DataFrame,
    header: list[str] | None = None,
    *,
    kind: str = "cases",
    source: str = "<frame>",
    allow_personal_columns: bool | None = None,
    row_numbers: np.ndarray | None = None,
    check_keys: bool = True,
    max_problems: int = MAX_PROBLEMS,
    typed: Mapping[int, pd.Series] | None = None,
) -> ValidationReport:
    """Validate a table against the contract and return a typed frame with every problem.

    Besides the contract's rules, every column is checked for personal data
    (:mod:`crossexec_ml.data`): a header naming personal data (姓名, 身份证号, 手机号, 住址,
    name, phone...) or cells holding a resident ID number or a mobile number. Such a column is
    a problem, named with its rows but never its values; with ``allow_personal_columns`` an
    extra (non-contract) one is dropped instead. No message ever shows a value that looks like
    an ID or telephone number.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read. Its columns are the header unless ``header`` is given.
    header : list of str, optional
        Header cells as read, one per column of ``raw`` (positional).
    kind : {"cases", "handlers", "truth"}
        Which contract to validate against (``truth``: see :func:`truth_contract`).
    source : str
        Name used in messages (usually the file name).
    allow_personal_columns : bool, optional
        Drop extra columns that look like personal data instead of refusing them. Default:
        as set by :func:`allowing_personal_columns` (off unless inside that block).
    row_numbers : numpy.ndarray of int, optional
        Spreadsheet row number (the header is row 1) of each row of ``raw``, in order.
        Default 2, 3, ...: ``raw`` is a whole file. A caller validating a slice of a file
        (a piece of a large Parquet file) passes the file's numbers, so every message, row
        lists inside messages included, names the row as it is in the file.
    check_keys : bool
        Refuse two rows with one key (case_id and as_of_date; handler_id). Off for a batch of
        a file whose keys are checked across all its batches (:func:`validate_file`).
    max_problems : int
        Problems listed in the report (the count covers all); a batch lists more, so the
        whole file's first problems are among them.
    typed : mapping of int to pandas.Series, optional
        Contract columns, by position in ``header``, already typed and found clean in every
        cell (:func:`validate_table` on typed Parquet); ``raw`` need not hold them.

    Returns
    -------
    ValidationReport
        ``report.frame`` has every contract column (in contract order) with contract dtypes,
        followed by any extra columns as text (never those that look like personal data).
        Rows keep the input order.

    Raises
    ------
    InputError
        When the header itself is unusable (a column named twice, mixed languages...).
    """
    contract = _contract(kind)
    if allow_personal_columns is None:
        allow_personal_columns = _ALLOW_PERSONAL.get()
    if header is None:
        header = [str(c) for c in raw.columns]
        raw = raw.copy()
        raw.columns = range(raw.shape[1])
    mapping, extras = _map_header(header, contract, source)
    raw = raw.reset_index(drop=True)
    pos_of = {name: pos for pos, name in mapping.items()}
    n = len(raw)
    if row_numbers is None:
        row_numbers = np.arange(n) + 2  # spreadsheet row: the header is row 1
    elif len(row_numbers) != n:
        raise ValueError(f"row_numbers has {len(row_numbers)} entries for {n} rows")
    rows = pd.Series(np.asarray(row_numbers, dtype=np.int64), index=raw.index)
    col_order = {name: i for i, name in enumerate(contract.names)}
    found = _Collector()
    report = ValidationReport(source=source, kind=kind, frame=pd.DataFrame())

    _check_required_present(contract, kind, pos_of, found, col_order, report)
    done = typed or {}
    columns: dict[str, pd.Series] = {}
    for name, spec in contract.columns.items():
        if name not in pos_of:
            columns[name] = _empty_column(spec, raw.index)
        elif pos_of[name] in done:
            columns[name] = done[pos_of[name]]
        else:
            col = raw[pos_of[name]]
            columns[name] = _check_column(col, spec, kind, rows, col_order[name], found, report)
    texts, kept = _check_extras(
        raw, extras, pos_of, rows, len(col_order), found, report, bool(allow_personal_columns)
    )
    frame = pd.DataFrame(columns, index=raw.index)
    if kept:
        # One concat, not one insert per column: thousands of extra columns stay fast.
        extra = pd.DataFrame(texts[:, kept], index=raw.index, columns=[extras[j] for j in kept])
        frame = pd.concat([frame, extra.astype("string")], axis=1)
    _check_rows(frame, kind, contract, rows, found, col_order, check_keys)
    report.warnings += _lookalike_keys(frame, kind, rows)
    report.warnings += implausible_slots(frame, kind, rows)
    report.frame = frame
    report.problems = found.sorted(max_problems)
    report.n_problems = found.total
    return report


def _extra_block(
    raw: pd.DataFrame, positions: list[int]
) -> tuple[np.ndarray, dict[int, dict[str, np.ndarray]]]:
    """Extra columns as text (rows x columns) and their personal-data hits.

    Returns the text cells (missing as ``None``) and ``{column j: {rule: row positions}}``.
    """
    n = len(raw)
    if not positions:
        return np.empty((n, 0), dtype=object), {}
    cells = raw[positions].to_numpy(dtype=object)
    # Column after column, so cell k is row k % n of column k // n.
    flat = _as_text(pd.Series(cells.ravel(order="F"), dtype=object))
    texts = flat.astype(object).where(flat.notna(), None).to_numpy().reshape(cells.shape, order="F")
    hits: dict[int, dict[str, np.ndarray]] = {}
    for rule, idx in scan_values(flat).items():
        col_of, row_of = np.divmod(np.asarray(idx, dtype=np.int64), n)
        for j in np.unique(col_of):
            hits.setdefault(int(j), {})[rule] = row_of[col_of == j]
    return texts, hits


def _check_rows(
    frame: pd.DataFrame,
    kind: str,
    contract: Contract,
    rows: pd.Series,
    found: _Collector,
    col_order: dict[str, int],
    check_keys: bool = True,
) -> None:
    """Rules across cells: dates in order, unique keys (unless ``check_keys`` is off)."""
    if len(frame) == 0:
        return
    if kind == "cases":
        spec = contract.columns["as_of_date"]
        before = frame["as_of_date"] < frame["filing_date"]
        before = before.fillna(False).astype(bool)
        for idx in before[before].index:
            found.add(
                int(rows[idx]),
                col_order["as_of_date"],
                spec.display,
                f"{frame.at[idx, 'as_of_date']:%Y-%m-%d}",
                f"must be on or after filing_date (立案日期) "
                f"{frame.at[idx, 'filing_date']:%Y-%m-%d}",
            )
    if not check_keys:
        return
    keys, what = _key_columns(kind)
    complete = frame[keys].notna().all(axis=1)
    dup = frame[keys][complete].duplicated(keep="first")
    if dup.any():
        # The first row of each key, found by group rather than row by row (a province file
        # with one duplicate must not cost a Python loop over millions of rows).
        group = frame[keys][complete].groupby(keys, sort=False, observed=True).ngroup()
        first_of_group = rows[group.index].groupby(group.to_numpy()).first()
        for idx in dup[dup].index:
            found.add(
                int(rows[idx]),
                col_order[keys[0]],
                contract.columns[keys[0]].display,
                frame.at[idx, keys[0]],
                f"duplicate: row {int(first_of_group[group[idx]])} has {what}; "
                "keep one row per key",
            )


def _key_columns(kind: str) -> tuple[list[str], str]:
    """The columns that make a row's key under ``kind``'s contract, and how a message says so."""
    if kind in ("cases", "truth"):
        return ["case_id", "as_of_date"], "the same case_id (案号) and as_of_date (评估基准日)"
    return ["handler_id"], "the same handler_id (承办人)"


def _lookalike_keys(frame: pd.DataFrame, kind: str, rows: pd.Series) -> list[str]:
    """Warn about case ids that differ only in full-width/ASCII forms or spaces.

    ``（2023）湘0103执1号`` and ``(2023)湘0103执1号`` are one case typed two ways; the ids are
    kept as they are (the ledger joins on them), but a person should look.
    """
    if kind not in ("cases", "truth") or len(frame) == 0:
        return []
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = frame["case_id"].astype("string")
    # Only ids holding a full-width form or a space can fold onto another: normalise those
    # alone (a province export has millions of ids, nearly all plain).
    cells = pa.array(ids)  # zero-copy for pandas' Arrow-backed strings
    if not (pa.types.is_string(cells.type) or pa.types.is_large_string(cells.type)):
        cells = pa.array(ids.astype(object), type=pa.string(), from_pandas=True)
    hit = pc.match_substring_regex(cells, "[\uff01-\uff5e\u3000\\s]").fill_null(False)
    wide = pd.Series(hit.to_numpy(zero_copy_only=False), index=ids.index, dtype=bool)
    if not wide.any():
        return []
    folded = ids.copy()
    folded[wide] = ids[wide].str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    keyed = pd.DataFrame({"raw": ids, "folded": folded, "as_of": frame["as_of_date"]}).dropna()
    per_key = keyed.groupby(["folded", "as_of"], sort=False)["raw"].transform("nunique")
    alike = keyed[per_key > 1]
    if alike.empty:
        return []
    groups = alike.groupby(["folded", "as_of"], sort=False).groups
    shown = [
        " and ".join(f"row {int(rows[i])} {_shown(ids[i])!r}" for i in list(idx)[:3])
        for idx in list(groups.values())[:5]
    ]
    return [
        f"{len(groups)} case_id(s) (案号) appear in forms that differ only in full-width or "
        f"half-width characters or spaces, probably the same case: {'; '.join(shown)}; "
        "write each case number one way in the export"
    ]


def _empty_column(spec: ColumnSpec, index: pd.Index) -> pd.Series:
    n = len(index)
    if spec.dtype == "string":
        return pd.Series(pd.NA, index=index, dtype="string")
    if spec.dtype == "date":
        return pd.Series(np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]"), index=index)
    if spec.dtype == "bool":
        return pd.Series(pd.NA, index=index, dtype="boolean")
    if spec.dtype == "int":
        return pd.Series(pd.NA, index=index, dtype="Int64")
    if spec.dtype == "category":
        cats = list(spec.categories or ())
        codes = np.full(n, -1, dtype=np.int8 if len(cats) < 127 else np.int64)
        return pd.Series(pd.Categorical.from_codes(codes, categories=cats), index=index)
    return pd.Series(np.full(n, np.nan), index=index, dtype="float64")


def _contract(kind: str) -> Contract:
    if kind == "cases":
        return cases_contract()
    if kind == "handlers":
        return handlers_contract()
    if kind == "truth":
        return truth_contract()
    raise ValueError(f"kind must be 'cases', 'handlers' or 'truth', not {kind!r}")


#: Probability columns of a truth file: the true chance of resolution on each rung.
TRUTH_PROB_COLUMNS: tuple[str, ...] = tuple(f"p_{r}" for r in RUNGS)


# Upper bounds besides a contract's ">=" minimum, by (kind, column): probabilities.
_UPPER: dict[tuple[str, str], float] = {("truth", c): 1.0 for c in TRUTH_PROB_COLUMNS}


# Optional columns that must be filled in every row once present: a blank pilot flag would
# silently count as "not in the pilot".
_FILLED_WHEN_PRESENT = {("truth", "is_pilot")}


_TRUTH_IS = "the truth.csv that `crossexec generate` wrote together with the history file"
_TRUTH_MISSING_FIX = (
    f"required column is missing from the header; give {_TRUTH_IS} (columns case_id, "
    f"as_of_date, stall_cause, is_pilot, {', '.join(TRUTH_PROB_COLUMNS)})"
)


@functools.cache
def truth_contract() -> Contract:
    """The columns of a synthetic truth file (``truth.csv`` from ``crossexec generate``).

    Required: ``case_id`` and ``as_of_date`` (as in the case contract; one row per pair) and
    the true probabilities :data:`TRUTH_PROB_COLUMNS` (numbers in [0, 1]). Optional:
    ``stall_cause`` (text) and ``is_pilot`` (true/false, filled in every row when present).

    Returns
    -------
    Contract
        ``kind="truth"``; accepted by :func:`validate_frame` and :func:`validate_file`.
    """
    cases = cases_contract().columns
    specs = [
        cases["case_id"],
        cases["as_of_date"],
        ColumnSpec("stall_cause", "堵点成因（真值）", "string", "truth", False),
        ColumnSpec("is_pilot", "随机试点", "bool", "truth", False),
        *(
            ColumnSpec(c, f"{OUTPUT_LABELS[c]}（真值）", "float", "truth", True, minimum=0.0)
            for c in TRUTH_PROB_COLUMNS
        ),
    ]
    return Contract(
        kind="truth",
        columns={c.name: c for c in specs},
        version="truth",
        _by_label={c.label_zh: c.name for c in specs},
    )
