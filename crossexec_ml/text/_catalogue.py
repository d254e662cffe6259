"""The bilingual catalogue: every text a leader reads, by key, in Chinese and English.

The texts live in ``catalogue.csv`` next to this module (columns ``key,zh,en``, sorted by key).
Column labels of the data contract are copied there from ``data/contract/*.csv`` (the source of
truth); ``tests/text`` checks that the copies equal the contract. This module reads the contract
files only as package data and imports nothing from the other rooms of ``crossexec_ml``.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import functools
import io
import math
import numbers
import string
from collections.abc import Mapping
from importlib import resources

import numpy as np
import pandas as pd

#: The two languages every text exists in.
LANGS: tuple[str, ...] = ("zh", "en")

#: The rungs of the cross-execution ladder, in order (the same codes as the data contract's).
RUNGS: tuple[str, ...] = ("keep", "intra_team", "inter_team", "higher_court")

_CONTRACT_FILES: tuple[str, ...] = ("cases_schema.csv", "handlers_schema.csv")


def _check_lang(lang: str) -> int:
    """0 for ``"zh"``, 1 for ``"en"``; ValueError for anything else."""
    if lang == "zh":
        return 0
    if lang == "en":
        return 1
    raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")


@functools.cache
def catalogue() -> Mapping[str, tuple[str, str]]:
    """All texts, read once from the packaged ``catalogue.csv``.

    Returns
    -------
    Mapping[str, tuple[str, str]]
        key -> (zh, en), in file order (sorted by key). Read-only.

    Raises
    ------
    ValueError
        When the file has a duplicate key or a row without three cells.
    """
    text = resources.files(__package__).joinpath("catalogue.csv").read_text(encoding="utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    if header != ["key", "zh", "en"]:
        raise ValueError(f"catalogue.csv: header must be key,zh,en, got {','.join(header)}")
    rows: dict[str, tuple[str, str]] = {}
    for line, row in enumerate(reader, start=2):
        if len(row) != 3:
            raise ValueError(f"catalogue.csv line {line}: expected 3 cells, got {len(row)}")
        key, zh, en = row
        if key in rows:
            raise ValueError(f"catalogue.csv line {line}: duplicate key {key!r}")
        rows[key] = (zh, en)
    return _ReadOnly(rows)


class _ReadOnly(Mapping[str, tuple[str, str]]):
    """A read-only view of a dict (the cached catalogue must not be changed by a caller)."""

    def __init__(self, data: dict[str, tuple[str, str]]):
        self._data = data

    def __getitem__(self, key: str) -> tuple[str, str]:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _nearest(key: str, n: int = 3) -> list[str]:
    keys = list(catalogue())
    near = difflib.get_close_matches(key, keys, n=n, cutoff=0.6)
    if not near:
        head = key.rsplit(".", 1)[0] + "."
        near = [k for k in keys if k.startswith(head)][:n]
    return near


def placeholders(template: str) -> frozenset[str]:
    """The ``str.format`` field names of a template (``"{n}个{k:.0%}"`` -> ``{"n", "k"}``)."""
    return frozenset(
        name.split(".", 1)[0].split("[", 1)[0]
        for _, name, _, _ in string.Formatter().parse(template)
        if name is not None
    )


def t(key: str, lang: str = "zh", **fields: object) -> str:
    """The text of ``key`` in ``lang``, with its placeholders filled from ``fields``.

    Parameters
    ----------
    key : str
        A catalogue key, e.g. ``"rung.higher_court"`` or ``"fairness.text.scope"``.
    lang : {"zh", "en"}
    **fields
        Values of the text's ``str.format`` placeholders. Without any, the template is returned
        as it is (placeholders unfilled), so a caller can fill it later.

    Returns
    -------
    str

    Raises
    ------
    KeyError
        When the key is not in the catalogue (the message names the nearest keys), or when
        ``fields`` are given but one of the text's placeholders is not among them.
    ValueError
        When ``lang`` is not ``"zh"`` or ``"en"``.
    """
    i = _check_lang(lang)
    try:
        template = catalogue()[key][i]
    except KeyError:
        near = _nearest(key)
        hint = f"; nearest: {', '.join(near)}" if near else ""
        raise KeyError(f"no text {key!r} in the catalogue{hint}") from None
    if not fields:
        return template
    missing = placeholders(template) - fields.keys()
    if missing:
        raise KeyError(
            f"text {key!r} ({lang}) needs the field(s) {', '.join(sorted(missing))}; "
            f"given: {', '.join(sorted(fields)) or 'none'}"
        )
    return template.format(**fields)


# --------------------------------------------------------------------------------------------
# Cell values
# --------------------------------------------------------------------------------------------


@functools.cache
def _contract_columns() -> Mapping[str, tuple[str, tuple[str, ...]]]:
    """Contract column -> (dtype, allowed category values), from both contract files."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    folder = resources.files("crossexec_ml").joinpath("data", "contract")
    for name in _CONTRACT_FILES:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        for spec in csv.DictReader(io.StringIO(text)):
            allowed = tuple(spec["allowed"].split("|")) if spec["dtype"] == "category" else ()
            out.setdefault(spec["name"], (spec["dtype"], allowed))
    return out


def category_values() -> dict[str, tuple[str, ...]]:
    """Every category column of the contract (cases and handlers) with its allowed values."""
    return {c: allowed for c, (dtype, allowed) in _contract_columns().items() if allowed}


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return False


def _bool_label(value: bool | np.bool_, lang: str) -> str:
    return t("bool.true" if bool(value) else "bool.false", lang)


def t_pair(key: str, **fields: object) -> tuple[str, str]:
    """The ``(zh, en)`` texts of ``key``, for the tables that carry both languages.

    Examples
    --------
    >>> t_pair("bool.true")
    ('是', 'yes')
    """
    return t(key, "zh", **fields), t(key, "en", **fields)


def value_label(column: str, value: object, lang: str = "zh") -> str:
    """How one cell of ``column`` reads on a leader's page.

    Parameters
    ----------
    column : str
        A contract column (cases or handlers), or ``suggested_rung`` / ``action`` (ledger).
    value : object
        The cell. Booleans (Python ``bool``, ``numpy.bool_``, the values of a pandas
        ``boolean`` array) read 是/否; missing cells (None, NaN, ``pd.NA``, ``NaT``) read 缺失.
    lang : {"zh", "en"}

    Returns
    -------
    str

    Raises
    ------
    KeyError
        For a column that is neither in the contract nor ``suggested_rung`` / ``action``.
    ValueError
        For a value a category column does not allow, or a bad ``lang``.
    """
    _check_lang(lang)
    if isinstance(value, (bool, np.bool_)):
        return _bool_label(value, lang)
    if _is_missing(value):
        return t("missing", lang)
    if column == "suggested_rung":
        return rung_label(str(value), lang)
    if column == "action":
        key = f"action.{value}"
        if key not in catalogue():
            raise ValueError(f"unknown action {value!r}")
        return t(key, lang)
    columns = _contract_columns()
    if column not in columns:
        raise KeyError(f"{column!r} is not a contract column (nor suggested_rung / action)")
    dtype, allowed = columns[column]
    if allowed:
        if str(value) not in allowed:
            raise ValueError(
                f"{value!r} is not an allowed value of the category column {column!r}; "
                f"allowed: {', '.join(allowed)}"
            )
        return t(f"value.{column}.{value}", lang)
    if isinstance(value, (pd.Timestamp, dt.date)):
        return f"{value:%Y-%m-%d}"
    return str(value)


def rung_label(rung: str, lang: str = "zh", long: bool = False) -> str:
    """The leaders' name of a ladder rung.

    Parameters
    ----------
    rung : {"keep", "intra_team", "inter_team", "higher_court"}
    lang : {"zh", "en"}
    long : bool
        The guidance sentence (``rung.<r>.long``, e.g. 建议团队内交叉执行，…) instead of the
        short table form (团队内).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown rung or ``lang``.
    """
    _check_lang(lang)
    if rung not in RUNGS:
        raise ValueError(f"unknown rung {rung!r}; rungs: {', '.join(RUNGS)}")
    return t(f"rung.{rung}.long" if long else f"rung.{rung}", lang)


# --------------------------------------------------------------------------------------------
# Numbers on leaders' pages
# --------------------------------------------------------------------------------------------


def _number(x: object) -> float | None:
    """``x`` as a float, or None when missing; TypeError for booleans and non-numbers."""
    if _is_missing(x):
        return None
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"expected a number, got {type(x)}: {x!r}")
    value = float(x)
    return None if math.isnan(value) else value


def fmt_wan_yuan(yuan: object, lang: str = "zh") -> str:
    """An amount in yuan as 万元 with one decimal: ``1501828.996`` -> ``"150.2 万元"``.

    Parameters
    ----------
    yuan : float
        Amount in yuan. Missing (None, NaN, ``pd.NA``) reads 缺失 / missing.
    lang : {"zh", "en"}

    Returns
    -------
    str
        ``"150.2 万元"`` or ``"150.2 × 10k yuan"``; thousands separated by commas.
    """
    _check_lang(lang)
    value = _number(yuan)
    if value is None:
        return t("missing", lang)
    return t("fmt.wan_yuan", lang, value=f"{round(value / 1e4, 1) + 0.0:,.1f}")


def fmt_points(gain: object, lang: str = "zh") -> str:
    """A gain (difference of probabilities) in percentage points: ``0.037`` -> ``"3.7 个百分点"``.

    Parameters
    ----------
    gain : float
        A probability difference (0.037 = 3.7 points); may be negative. Missing reads 缺失.
    lang : {"zh", "en"}

    Returns
    -------
    str
        ``"3.7 个百分点"`` or ``"3.7 points"``.
    """
    _check_lang(lang)
    value = _number(gain)
    if value is None:
        return t("missing", lang)
    # + 0.0 turns a rounded -0.0 into 0.0, so a tiny negative gain does not read "-0.0".
    return t("fmt.points", lang, value=f"{round(value * 100, 1) + 0.0:.1f}")


def fmt_percent(p: object, lang: str = "zh") -> str:
    """A share as a whole percent: ``0.21`` -> ``"21%"`` (the same in both languages).

    Parameters
    ----------
    p : float
        A share between 0 and 1 (values outside are written as they are). Missing reads 缺失.
    lang : {"zh", "en"}

    Returns
    -------
    str
    """
    _check_lang(lang)
    value = _number(p)
    if value is None:
        return t("missing", lang)
    return t("fmt.percent", lang, value=f"{round(value * 100) + 0:.0f}")
