"""Reading a synthetic truth file (``truth.csv``) with the same checks as every input."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml.data._read import _read_raw, log
from crossexec_ml.data._report import ValidationError
from crossexec_ml.data._validate import (
    _TRUTH_IS,
    TRUTH_PROB_COLUMNS,
    _shown,
    truth_contract,
    validate_frame,
)
from crossexec_ml.errors import InputError


def read_truth(
    path: str | os.PathLike[str],
    *,
    sheet: str | int | None = None,
    cases: pd.DataFrame | None = None,
    cover: str = "some",
) -> pd.DataFrame:
    """Read and validate a synthetic truth file, optionally checking that it fits the history.

    Parameters
    ----------
    path : path-like
        ``truth.csv`` from ``crossexec generate`` (UTF-8 with or without BOM, or GBK); XLSX
        and Parquet with the same columns are read too. See :func:`truth_contract`.
    sheet : str or int, optional
        XLSX worksheet (default: the first).
    cases : pandas.DataFrame, optional
        The history the truth is joined to, as :func:`read_cases` returned it (rows in file
        order). Only its back-tested rows count: those with ``cross_mode`` and
        ``resolved_180d`` filled (all rows when it has neither column).
    cover : {"some", "all"}
        With ``cases``: ``some`` refuses a truth that matches none of those rows (it belongs to
        another history: joined, it would give nothing but missing values); ``all`` also
        refuses one that misses any of them (the back-test needs the truth of every row).

    Returns
    -------
    pandas.DataFrame
        ``case_id`` (string), ``as_of_date`` (datetime64), ``stall_cause`` and ``is_pilot``
        when present (absent optional columns are left out), the ``p_*`` columns (float64),
        then any extra columns as text. Rows in file order.

    Raises
    ------
    ValidationError
        Missing required columns, bad or out-of-range cells, blank ids, duplicate
        ``(case_id, as_of_date)`` rows: every problem, with its spreadsheet row (the header is
        row 1) and column; values that look like ID or telephone numbers are never shown.
    InputError
        The file cannot be read, is not a truth file at all, or does not fit ``cases``.
    """
    if cover not in ("some", "all"):
        raise ValueError(f"cover must be 'some' or 'all', not {cover!r}")
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such truth file; check the path, or leave out --truth")
    try:
        header, raw = _read_raw(p, sheet)
    except InputError as err:
        raise InputError(f"{err} (the truth file is {_TRUTH_IS})") from None
    labels = truth_contract().labels_zh()
    probs = {c.lower() for c in TRUTH_PROB_COLUMNS} | {labels[c] for c in TRUTH_PROB_COLUMNS}
    cleaned = [str(h).replace("\ufeff", "").strip() for h in header]
    if not any(h.lower() in probs or h in probs for h in cleaned):
        # Most likely the history or a scored list given by mistake: say what is expected
        # once, rather than one "missing column" problem per probability.
        raise InputError(
            f"{p.name}: not a truth file: its header has none of the true probabilities "
            f"({', '.join(TRUTH_PROB_COLUMNS)}); give {_TRUTH_IS}"
        )
    if raw.empty:
        raise InputError(f"{p.name}: the truth file has a header but no rows; give {_TRUTH_IS}")
    report = validate_frame(raw, header, kind="truth", source=p.name)
    if not report.ok:
        raise ValidationError(report)
    for w in report.warnings:
        log.warning("%s: %s", report.source, w)
    truth = report.frame.drop(columns=report.absent_optional)
    truth.attrs["warnings"] = list(report.warnings)
    truth.attrs["source"] = report.source
    if cases is not None:
        _check_truth_fits(truth, cases, cover)
    return truth


def _check_truth_fits(truth: pd.DataFrame, cases: pd.DataFrame, cover: str) -> None:
    """Refuse a truth that matches none (``some``) or not all (``all``) back-tested rows."""
    key = ["case_id", "as_of_date"]
    used = pd.Series(True, index=cases.index)
    for c in ("cross_mode", "resolved_180d"):
        if c in cases:
            used &= cases[c].notna().to_numpy()
    positions = np.flatnonzero(used.to_numpy())
    if len(positions) == 0:
        return
    rows = cases.iloc[positions]
    ids = rows["case_id"].astype("string")
    dates = pd.to_datetime(rows["as_of_date"]).astype("datetime64[ns]")
    found = pd.MultiIndex.from_arrays([ids, dates]).isin(
        pd.MultiIndex.from_arrays([truth["case_id"], truth["as_of_date"]])
    )
    history = cases.attrs.get("source", "the history")
    outcomes = "cross_mode" in cases or "resolved_180d" in cases
    what = "back-tested rows (cross_mode and resolved_180d filled)" if outcomes else "rows"
    if not found.any():
        raise InputError(
            f"{truth.attrs['source']}: none of its {len(truth):,} rows matches one of the "
            f"{len(rows):,} {what} of {history} by {' and '.join(key)} (案号, 评估基准日): it "
            f"belongs to another data set; give {_TRUTH_IS}"
        )
    if cover == "all" and not found.all():
        first = int(np.flatnonzero(~found)[0])
        raise InputError(
            f"{truth.attrs['source']}: {int((~found).sum()):,} of the {len(rows):,} {what} of "
            f"{history} have no truth row, the first at {history} row {positions[first] + 2} "
            f"(case_id {_shown(ids.iloc[first])!r}, as_of_date "
            f"{dates.iloc[first]:%Y-%m-%d}); the back-test needs the truth of every row: "
            f"give {_TRUTH_IS}"
        )
