"""Checks of a plan's inputs (the ranked list, the handlers, the capacity), each with its fix."""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from crossexec_ml.data import HARD_BONE_FLAGS, OUTPUT_LABELS, cases_contract, handlers_contract
from crossexec_ml.errors import PlanError
from crossexec_ml.settings import RUNGS
from crossexec_ml.text import catalogue, category_values, t, value_label

_INTRA, _INTER = "intra_team", "inter_team"

#: Contract category columns (their cells read as labels on a leader's sheet).
_CATEGORY_COLUMNS = frozenset(category_values())


def _display(name: str) -> str:
    """``name (中文标签)`` when the name has a label anywhere in the contract or outputs."""
    for contract in (cases_contract(), handlers_contract()):
        if name in contract.columns:
            return contract.columns[name].display
    label = OUTPUT_LABELS.get(name) or PLAN_LABELS.get(name)
    return f"{name} ({label})" if label else name


def _require(df: pd.DataFrame, required: tuple[str, ...], what: str, fix: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise PlanError(f"{what} must be a pandas DataFrame, not {type(df).__name__}")
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise PlanError(
            f"{what} is missing required column(s): "
            + ", ".join(_display(c) for c in missing)
            + f"; {fix}"
        )


def _examples(values: pd.Series | np.ndarray, n: int = 5) -> str:
    vals = [str(v) for v in list(values)[:n]]
    more = len(values) - len(vals)
    return ", ".join(vals) + (f" and {more} more" if more > 0 else "")


def _ids(df: pd.DataFrame, col: str, what: str, key: pd.Series | None = None) -> pd.Series:
    """A text column with every cell present (ids must never be guessed)."""
    s = df[col].astype("string").str.strip()
    missing = s.isna() | (s == "")
    if missing.any():
        where = key[missing] if key is not None else s.index[missing]
        raise PlanError(
            f"{what}: {_display(col)} is empty in {int(missing.sum())} row(s) "
            f"({_examples(where)}); fill it in"
        )
    return s


def _numbers(df: pd.DataFrame, col: str, what: str) -> pd.Series:
    s = df[col]
    if pd.api.types.is_bool_dtype(s.dtype):
        raise PlanError(f"{what}: {_display(col)} must hold numbers, not true/false")
    num = pd.to_numeric(s.astype(object).where(s.notna(), np.nan), errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        raise PlanError(
            f"{what}: {_display(col)} must hold numbers; found {_examples(s[bad].unique())}"
        )
    return num.astype("float64")


@dataclass(frozen=True)
class _Handlers:
    """The handlers table as arrays, sorted by handler_id (the deterministic order)."""

    ids: np.ndarray
    team: np.ndarray
    court: np.ndarray
    slots: np.ndarray
    leader: np.ndarray


def _check_handlers(handlers: pd.DataFrame) -> _Handlers:
    what = "handlers table"
    _require(
        handlers,
        _HANDLERS_REQUIRED,
        what,
        "read it with crossexec_ml.data.read_handlers (handlers_schema.csv)",
    )
    handlers = handlers.reset_index(drop=True)
    ids = _ids(handlers, "handler_id", what)
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        raise PlanError(
            f"{what}: duplicate {_display('handler_id')} {_examples(dup.unique())}; "
            "keep one row per handler"
        )
    team = _ids(handlers, "team_id", what, key=ids)
    court = _ids(handlers, "court_id", what, key=ids)
    slots = _numbers(handlers, "open_slots", what)
    if slots.isna().any():
        raise PlanError(
            f"{what}: {_display('open_slots')} is empty for handler(s) "
            f"{_examples(ids[slots.isna()])}; write 0 when a handler takes no case"
        )
    bad = (slots < 0) | (slots != np.floor(slots)) | ~np.isfinite(slots)
    if bad.any():
        raise PlanError(
            f"{what}: {_display('open_slots')} must be a whole number >= 0; handler(s) "
            f"{_examples(ids[bad] + '=' + slots[bad].astype(str))}"
        )
    if "is_leader" in handlers.columns:
        lead = handlers["is_leader"]
        if pd.api.types.is_bool_dtype(lead.dtype):
            leader = lead.astype("boolean").fillna(False)
        else:
            num = pd.to_numeric(lead.astype(object), errors="coerce")
            bad = ~(num.isin([0, 1]) | lead.isna())
            if bad.any():
                raise PlanError(
                    f"{what}: {_display('is_leader')} must be true/false (or 1/0); found "
                    f"{_examples(lead[bad].astype(str).unique())}; read the file with "
                    "crossexec_ml.data.read_handlers, which understands 是/否"
                )
            leader = num.fillna(0).astype(bool)
    else:
        leader = pd.Series(False, index=handlers.index)
    order = np.argsort(ids.to_numpy(dtype=object), kind="stable")
    return _Handlers(
        ids=ids.to_numpy(dtype=object)[order],
        team=team.to_numpy(dtype=object)[order],
        court=court.to_numpy(dtype=object)[order],
        # Beyond any real count (and int64's range): assign caps slots at the cases anyway.
        slots=slots.clip(upper=2.0**62).to_numpy(dtype="int64")[order],
        leader=leader.to_numpy(dtype=bool)[order],
    )


def _hard_bone_count(ranked: pd.DataFrame) -> pd.Series:
    """``n_hard_bone_flags``, else the sum of the five flag columns present, else 0."""
    if "n_hard_bone_flags" in ranked.columns:
        n = _numbers(ranked, "n_hard_bone_flags", "ranked list").fillna(0.0)
        if (n < 0).any():
            raise PlanError(f"ranked list: {_display('n_hard_bone_flags')} must be >= 0")
        return n
    flags = [f for f in HARD_BONE_FLAGS if f in ranked.columns]
    if not flags:
        return pd.Series(0.0, index=ranked.index)
    return sum(ranked[f].astype("boolean").fillna(False).astype("float64") for f in flags)


def _check_capacity(capacity: int | None, leader_bonus: float) -> None:
    if capacity is not None and (
        isinstance(capacity, bool) or not isinstance(capacity, Integral) or capacity < 0
    ):
        raise PlanError(
            f"capacity must be a whole number >= 0 or None (every case), not {capacity!r}"
        )
    if (
        isinstance(leader_bonus, bool)
        or not isinstance(leader_bonus, Real)
        or not math.isfinite(leader_bonus)
        or leader_bonus < 0
    ):
        raise PlanError(f"leader_bonus must be a finite number >= 0, not {leader_bonus!r}")


def _candidates(ranked: pd.DataFrame, capacity: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ranked non-keep cases, normalised and sorted: the top ``capacity`` and the rest."""
    what = "ranked list"
    _require(
        ranked,
        _RANKED_REQUIRED,
        what,
        "score the cases first (crossexec score) and add the case columns it lacks",
    )
    ranked = ranked.reset_index(drop=True)  # any index, duplicated labels included
    rung = ranked["suggested_rung"].astype("string").str.strip()
    unknown = rung[rung.notna() & ~rung.isin(RUNGS)].unique()
    if len(unknown):
        raise PlanError(
            f"{what}: unknown {_display('suggested_rung')} value(s) {_examples(unknown)}; "
            f"expected one of {', '.join(RUNGS)}"
        )
    if rung.isna().any():
        raise PlanError(
            f"{what}: {_display('suggested_rung')} is empty in {int(rung.isna().sum())} "
            f"row(s); expected one of {', '.join(RUNGS)}"
        )
    rank = _numbers(ranked, "priority_rank", what)
    if (rank.notna() & (rank != np.floor(rank))).any():
        raise PlanError(f"{what}: {_display('priority_rank')} must hold whole numbers")
    pool = ranked.loc[(rung != "keep") & rank.notna()]
    frame = pd.DataFrame(
        {
            "case_id": pool["case_id"].astype("string").str.strip(),
            "priority_rank": pd.array(rank[pool.index], dtype="Float64").astype("Int64"),
            "suggested_rung": rung[pool.index],
            "court_id": pool["court_id"].astype("string").str.strip(),
            "team_id": pool["team_id"].astype("string").str.strip(),
            "handler_id": pool["handler_id"].astype("string").str.strip(),
            "previous_handler_ids": pool["previous_handler_ids"].astype("string"),
            "expected_gain": _numbers(pool, "expected_gain", what),
            "guidance": (
                pool["guidance"].astype("string").fillna("")
                if "guidance" in pool.columns
                else pd.Series("", index=pool.index, dtype="string")
            ),
            "n_hard_bone_flags": _hard_bone_count(pool),
        }
    )
    frame = frame.sort_values(["priority_rank", "case_id"], kind="stable", na_position="last")
    frame = frame.reset_index(drop=True)
    top = frame if capacity is None else frame.iloc[:capacity]
    rest = frame.iloc[len(top) :]
    _check_candidates(top)
    return top.reset_index(drop=True), rest.reset_index(drop=True)


def _check_candidates(cands: pd.DataFrame) -> None:
    what = "ranked list"
    _ids(cands, "case_id", what)
    dup = cands["case_id"][cands["case_id"].duplicated(keep=False)]
    if len(dup):
        raise PlanError(
            f"{what}: {_display('case_id')} {_examples(dup.unique())} appear(s) more than once "
            "among the cases to reassign; keep one row per case (one as_of_date)"
        )
    key = cands["case_id"]
    moved = cands["suggested_rung"].isin([_INTRA, _INTER])
    for col in ("court_id", "team_id"):
        _ids(cands.loc[moved], col, what, key=key[moved])
    _ids(cands, "handler_id", what, key=key)
    gain = cands["expected_gain"]
    bad = gain.isna() | ~np.isfinite(gain.fillna(0.0))
    if bad.any():
        raise PlanError(
            f"{what}: {_display('expected_gain')} is empty or not finite for case(s) "
            f"{_examples(key[bad])}; score the cases again"
        )


#: Chinese labels of the plan's own columns, for ``write_table(..., labels=PLAN_LABELS)``; read
#: from the catalogue (``column.<name>``).
PLAN_LABELS: dict[str, str] = {
    c: t(f"column.{c}", "zh")
    for c in (
        "target_handler_id",
        "target_team_id",
        "expected_gain",
        "guidance",
        "unplaced_reason",
        "n_hard_bone_flags",
        "is_leader_target",
        "escalation",
        "target",
    )
}


_RANKED_REQUIRED: tuple[str, ...] = (
    "case_id",
    "court_id",
    "team_id",
    "handler_id",
    "previous_handler_ids",
    "suggested_rung",
    "expected_gain",
    "priority_rank",
)


_HANDLERS_REQUIRED: tuple[str, ...] = ("handler_id", "team_id", "court_id", "open_slots")


def plan_sheet(plan: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """A plan as a leader reads it: headers, rungs and yes/no in ``lang``, no codes.

    Parameters
    ----------
    plan : pandas.DataFrame
        :func:`crossexec_ml.decide.assign` output (made in the same ``lang``).
    lang : {"zh", "en"}

    Returns
    -------
    pandas.DataFrame
        The same rows and columns: ``suggested_rung`` as the rung's name (团队内),
        ``escalation`` and ``is_leader_target`` as 是/否 (不适用 for a case with no proposed
        handler: an escalation or an unplaced case); headers
        are the catalogue's ``column.<name>`` where it has one.
    """
    t("column.target", lang)  # ValueError on a bad lang
    out = plan.copy()
    for col in out.columns:
        values = out[col]
        if col == "suggested_rung":
            out[col] = values.map(lambda r: value_label("suggested_rung", r, lang))
        elif col in _CATEGORY_COLUMNS or pd.api.types.is_bool_dtype(values.dtype):
            out[col] = values.astype(object).map(lambda v, c=col: value_label(c, v, lang))
            if col == "is_leader_target":
                # No handler is proposed (an escalation, or a case left unplaced): "missing"
                # would read as a data error, so the sheet says the question does not apply.
                out.loc[values.isna().to_numpy(), col] = t("plan.not_applicable", lang)
    headers = {c: t(f"column.{c}", lang) for c in out.columns if f"column.{c}" in catalogue()}
    return out.rename(columns=headers)
