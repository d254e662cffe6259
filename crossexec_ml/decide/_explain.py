"""Why a case ranks where it does, in court vocabulary, in Chinese and English.

Reasons come from the model itself, by counterfactuals: for each fact of the case that could
matter (real estate found, idle days, earlier handlers, a debtor that is gone, ...), the fact is
set to a neutral reference and the model is asked again; the change in the case's gain (the
probability under its best allowed rung minus the probability if kept) is that fact's effect.
The three to five facts with the largest effects, up or down, are the reasons. A fact the model
ignores never becomes a reason, and changing a fact changes the reasons, because both are read
off the model's own predictions. (Tree SHAP is not used: it is silently wrong for
HistGradientBoosting with native categoricals, NOTEBOOK_NOTES.md.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crossexec_ml.decide._policy import best_allowed_gain
from crossexec_ml.settings import PROB_COLUMNS, LadderSettings
from crossexec_ml.text import fmt_wan_yuan, t, t_pair

#: Debtor statuses and whereabouts that are facts, and the disposal obstacles (labels in text/).
_STATUS = ("deregistered", "bankruptcy", "deceased", "imprisoned", "dormant")
_WHERE = ("unreachable", "abroad", "intermittent")
_OBSTACLE = ("third_party_objection", "occupancy", "mortgage_priority", "failed_auction", "other")


def _b(df: pd.DataFrame, col: str) -> np.ndarray:
    return df[col].astype("boolean").fillna(False).to_numpy(dtype=bool)


def _n(df: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)


def _s(df: pd.DataFrame, col: str) -> np.ndarray:
    return df[col].astype("string").fillna("").to_numpy()


def _set(col: str, value: object) -> Callable[[pd.DataFrame], None]:
    def apply(df: pd.DataFrame) -> None:
        df[col] = pd.Series([value] * len(df), index=df.index).astype(df[col].dtype)

    return apply


def _set_many(*pairs: tuple[str, object]) -> Callable[[pd.DataFrame], None]:
    setters = [_set(c, v) for c, v in pairs]

    def apply(df: pd.DataFrame) -> None:
        for s in setters:
            s(df)

    return apply


@dataclass(frozen=True)
class Fact:
    """A fact of a case that can be a reason.

    Attributes
    ----------
    name : str
        Short identifier.
    present : callable
        ``cases -> bool array``: where the fact holds (and so can be neutralised).
    neutralise : callable
        Sets the fact to its reference value in place (on a copy of the rows).
    text : callable
        ``(row) -> (zh, en)``: the fact in court vocabulary; ``row[column]`` gives the case's
        cell (a row Series or anything indexable the same way).
    """

    name: str
    present: Callable[[pd.DataFrame], np.ndarray]
    neutralise: Callable[[pd.DataFrame], None]
    text: Callable[[pd.Series | _Row], tuple[str, str]]


def _true(v: object) -> bool:
    return v is not pd.NA and v is not None and bool(v)


def _text(name: str, **fields: object) -> tuple[str, str]:
    """Fact ``name`` in both languages (``explain.fact.<name>``); a field given as a
    ``(zh, en)`` pair differs by language."""
    pair = [
        t(
            f"explain.fact.{name}",
            lang,
            **{k: v[i] if isinstance(v, tuple) else v for k, v in fields.items()},
        )
        for i, lang in enumerate(("zh", "en"))
    ]
    return pair[0], pair[1]


def _flag_fact(name: str, column: str) -> Fact:
    """A yes/no fact whose neutral value is "no"."""
    return Fact(name, lambda d: _b(d, column), _set(column, False), lambda r: _text(name))


def _money(v: float) -> tuple[str, str]:
    """An amount as leaders read it (万元) and in yuan for the English text."""
    return fmt_wan_yuan(v, "zh"), f"{v:,.0f} yuan"


_ASSETS = ("has_vehicle", "has_equity", "has_receivable", "has_income")


def _assets(r: pd.Series | _Row) -> tuple[str, str]:
    found = [a for a in _ASSETS if _true(r[a])]
    zh, en = (
        t("explain.list_join", lang).join(t(f"explain.asset.{a}", lang) for a in found)
        for lang in ("zh", "en")
    )
    return zh, en


FACTS: tuple[Fact, ...] = (
    Fact(
        "free_real_estate",
        lambda d: _b(d, "has_real_estate") & ~_b(d, "real_estate_encumbered"),
        _set_many(("has_real_estate", False), ("real_estate_encumbered", False)),
        lambda r: _text("free_real_estate"),
    ),
    Fact(
        "encumbered_real_estate",
        lambda d: _b(d, "has_real_estate") & _b(d, "real_estate_encumbered"),
        _set_many(("has_real_estate", False), ("real_estate_encumbered", False)),
        lambda r: _text("encumbered_real_estate"),
    ),
    Fact(
        "deposits",
        lambda d: np.nan_to_num(_n(d, "deposit_balance")) > 0,
        _set("deposit_balance", 0.0),
        lambda r: _text("deposits", deposit_balance=_money(r["deposit_balance"])),
    ),
    Fact(
        "other_assets",
        lambda d: (
            _b(d, "has_vehicle")
            | _b(d, "has_equity")
            | _b(d, "has_receivable")
            | _b(d, "has_income")
        ),
        _set_many(
            ("has_vehicle", False),
            ("has_equity", False),
            ("has_receivable", False),
            ("has_income", False),
        ),
        lambda r: _text("other_assets", assets=_assets(r)),
    ),
    _flag_fact("preservation", "has_preservation"),
    Fact(
        "idle",
        lambda d: np.nan_to_num(_n(d, "days_since_last_action")) > 180,
        _set("days_since_last_action", 90),
        lambda r: _text("idle", days_since_last_action=r["days_since_last_action"]),
    ),
    Fact(
        "earlier_handlers",
        lambda d: np.nan_to_num(_n(d, "n_handlers_so_far")) >= 2,
        _set("n_handlers_so_far", 1),
        lambda r: _text("earlier_handlers", n_handlers_so_far=r["n_handlers_so_far"]),
    ),
    Fact(
        "debtor_status",
        lambda d: np.isin(_s(d, "debtor_status"), list(_STATUS)),
        _set("debtor_status", "active"),
        lambda r: _text(
            "debtor_status", debtor_status=t_pair(f"explain.status.{r['debtor_status']}")
        ),
    ),
    Fact(
        "whereabouts",
        lambda d: np.isin(_s(d, "debtor_whereabouts"), list(_WHERE)),
        _set("debtor_whereabouts", "contactable"),
        lambda r: _text(
            "whereabouts",
            debtor_whereabouts=t_pair(f"value.debtor_whereabouts.{r['debtor_whereabouts']}"),
        ),
    ),
    Fact(
        "disposal_obstacle",
        lambda d: np.isin(_s(d, "asset_disposal_obstacle"), list(_OBSTACLE)),
        _set("asset_disposal_obstacle", "none"),
        lambda r: _text(
            "disposal_obstacle",
            asset_disposal_obstacle=t_pair(f"explain.obstacle.{r['asset_disposal_obstacle']}"),
        ),
    ),
    _flag_fact("objection_pending", "objection_pending"),
    Fact(
        "caseload",
        lambda d: np.nan_to_num(_n(d, "handler_caseload")) >= 250,
        _set("handler_caseload", 150),
        lambda r: _text("caseload", handler_caseload=r["handler_caseload"]),
    ),
    Fact(
        "related_cases",
        lambda d: (
            (np.nan_to_num(_n(d, "n_related_cases")) >= 3)
            | (np.nan_to_num(_n(d, "n_queued_seizures")) >= 2)
        ),
        _set_many(("n_related_cases", 0), ("n_queued_seizures", 0)),
        lambda r: _text(
            "related_cases",
            n_related_cases=r["n_related_cases"],
            n_queued_seizures=r["n_queued_seizures"],
        ),
    ),
    _flag_fact("cross_jurisdiction", "cross_jurisdiction"),
    _flag_fact("interference", "interference_risk"),
    _flag_fact("special_entity", "special_entity"),
    _flag_fact("supervised", "superior_supervised"),
    Fact(
        "large_amount",
        lambda d: np.nan_to_num(_n(d, "amount_outstanding")) >= 1e6,
        _set("amount_outstanding", 1e5),
        lambda r: _text("large_amount", amount_outstanding=_money(r["amount_outstanding"])),
    ),
)


_NOTHING = t_pair("explain.nothing")
_JOIN = t_pair("explain.join")


class _Row:
    """One case's cells by column name, read from the frame's column arrays."""

    __slots__ = ("_arrays", "_i")

    def __init__(self, arrays: dict[str, object], i: int):
        self._arrays = arrays
        self._i = i

    def __getitem__(self, column: str) -> object:
        return self._arrays[column][self._i]


def explain_cases(
    model: object,
    cases: pd.DataFrame,
    *,
    n_reasons: int = 4,
    min_effect: float = 0.005,
    ladder: LadderSettings | None = None,
) -> pd.DataFrame:
    """The facts that most raise or lower each case's gain, from the model's own predictions.

    Parameters
    ----------
    model : object
        Anything with ``predict_rungs(cases)`` returning the four probabilities.
    cases : pandas.DataFrame
        Contract-typed cases.
    n_reasons : int
        At most this many reasons per case (the largest effects, up or down).
    min_effect : float
        Effects smaller than this (in probability, 0.005 = half a point) are not reasons.
    ladder : LadderSettings, optional
        Which rungs are allowed; the gain explained is that of the best allowed rung.

    Returns
    -------
    pandas.DataFrame
        Aligned with ``cases``: ``reasons_zh``, ``reasons_en`` (joined with "；" / "; "),
        ``top_reason_zh``, ``top_reason_en`` and ``reason_effects`` (dict fact -> effect in
        probability points, signed).
    """
    ladder = ladder or LadderSettings()
    cases = cases.reset_index(drop=True)
    n = len(cases)
    # Every counterfactual goes into one prediction with the cases themselves: the model
    # scores each row on its own (``model._rowdot``), so this gives the same numbers as one
    # call per fact, without paying the model's fixed cost per call twenty times.
    present: list[tuple[Fact, np.ndarray]] = []
    frames = [cases]
    for fact in FACTS:
        mask = np.asarray(fact.present(cases), dtype=bool)
        if not mask.any():
            continue
        cf = cases.loc[mask].copy()
        fact.neutralise(cf)
        present.append((fact, mask))
        frames.append(cf)
    stacked = pd.concat(frames, ignore_index=True) if len(frames) > 1 else cases
    p_all = model.predict_rungs(stacked)[list(PROB_COLUMNS)].to_numpy()
    p = p_all[:n]
    base_gain, best = best_allowed_gain(p, cases["ladder_stage"], ladder)
    effects: dict[str, np.ndarray] = {}
    start = n
    for fact, mask in present:
        rows = np.flatnonzero(mask)
        pc = p_all[start : start + len(rows)]
        start += len(rows)
        eff = np.zeros(n)
        eff[rows] = base_gain[rows] - (pc[np.arange(len(rows)), best[rows]] - pc[:, 0])
        effects[fact.name] = eff
    names = list(effects)
    matrix = np.column_stack([effects[k] for k in names]) if names else np.zeros((n, 0))
    by_name = {f.name: f for f in FACTS}
    # A case's facts for the texts, read from the column arrays: the same values ``iloc``
    # gives, without building a row Series per case.
    arrays = {c: cases[c].array for c in cases.columns}
    # Each case's largest effects first (stable: ties keep the order of FACTS).
    ranked = np.argsort(-np.abs(matrix), axis=1, kind="stable")[:, :n_reasons]
    strong = np.take_along_axis(np.abs(matrix), ranked, axis=1) >= min_effect
    zh_all, en_all, top_zh, top_en, eff_all = [], [], [], [], []
    for i in range(n):
        row_eff = matrix[i]
        chosen = ranked[i][strong[i]].tolist()
        row = _Row(arrays, i)
        zh_parts, en_parts, eff_map = [], [], {}
        for j in chosen:
            e = row_eff[j]
            zh, en = by_name[names[j]].text(row)
            sign = "+" if e > 0 else "−"
            zh_parts.append(f"{zh}（增益{sign}{abs(e) * 100:.1f}个百分点）")
            en_parts.append(f"{en} ({sign}{abs(e) * 100:.1f} points)")
            eff_map[names[j]] = round(float(e), 4)
        zh_all.append(_JOIN[0].join(zh_parts) or _NOTHING[0])
        en_all.append(_JOIN[1].join(en_parts) or _NOTHING[1])
        top_zh.append(zh_parts[0] if zh_parts else "")
        top_en.append(en_parts[0] if en_parts else "")
        eff_all.append(eff_map)
    return pd.DataFrame(
        {
            "reasons_zh": pd.array(zh_all, dtype="string"),
            "reasons_en": pd.array(en_all, dtype="string"),
            "top_reason_zh": pd.array(top_zh, dtype="string"),
            "top_reason_en": pd.array(top_en, dtype="string"),
            "reason_effects": eff_all,
        },
        index=cases.index,
    )
