"""Tables that describe a case export and a trained model, for the notebooks and reports.

Every table a notebook shows is computed here (the figures in :mod:`crossexec_ml.report` draw
these tables), so the numbers in a notebook, a dashboard and a report are the same numbers.
Tables are plain :class:`pandas.DataFrame` objects with a fixed set of columns, a Chinese and an
English label where a row names a category, and no index to remember.

Breakdowns go down to the enforcement **team**, never to the individual handler: the tool
describes the stock of stalled cases, it does not score judges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from crossexec_ml.data import HARD_BONE_FLAGS, ValidationReport, cases_contract
from crossexec_ml.decide import suggest_rung
from crossexec_ml.model import ASSET_COLUMNS, add_features, stalled_cohort
from crossexec_ml.settings import CohortSettings, FlagSettings, LadderSettings
from crossexec_ml.text import t, t_pair, value_label


def _pair(key: str) -> tuple[str, str]:
    """The (zh, en) texts of a catalogue key."""
    return t_pair(key)


#: Case-age bands (``as_of_date - filing_date``): key -> (upper bound in days, zh, en); the
#: texts are the catalogue's ``band.age.<slug>``.
AGE_BANDS: dict[str, tuple[float, str, str]] = {
    "<1y": (365, *_pair("band.age.lt_1y")),
    "1-2y": (730, *_pair("band.age.1_2y")),
    "2-3y": (1095, *_pair("band.age.2_3y")),
    ">3y": (np.inf, *_pair("band.age.gt_3y")),
}

#: Idle bands (``days_since_last_action``): key -> (upper bound in days, zh, en), texts from
#: ``band.idle.<slug>``. The stalled cohort starts at 90 idle days by default, so its first band
#: holds 90-180 days.
IDLE_BANDS: dict[str, tuple[float, str, str]] = {
    "90-180d": (180, *_pair("band.idle.90_180d")),
    "180-365d": (365, *_pair("band.idle.180_365d")),
    "1-2y": (730, *_pair("band.idle.1_2y")),
    ">2y": (np.inf, *_pair("band.idle.gt_2y")),
}


#: The back-test's policies: name -> (zh, en, kind), texts from ``policy.<name>``. ``kind`` is
#: ``model`` for the lists this package makes, ``today`` for lists that mimic today's practice
#: and ``random`` for chance.
POLICY_LABELS: dict[str, tuple[str, str, str]] = {
    name: (*_pair(f"policy.{name}"), kind)
    for name, kind in (
        ("priority", "model"),
        ("model", "model"),
        ("p_cross", "model"),
        ("oldest_idle_first", "today"),
        ("largest_amount_first", "today"),
        ("most_hard_bones_first", "today"),
        ("random", "random"),
    )
}

#: Rows of the assets and measures tables, in order (labels: ``asset.<k>``, ``measure.<k>``).
_ASSETS = (
    "has_real_estate",
    "has_vehicle",
    "has_equity",
    "has_receivable",
    "has_income",
    "deposits",
    "material_assets",
)
_MEASURES = ("dishonest_listed", "consumption_restricted", "detained", "criminal_referral")

#: Rows of the overview table, in order (labels: ``profile.overview.<metric>``).
_OVERVIEW = (
    "n_rows",
    "n_stalled",
    "share_stalled",
    "n_courts",
    "n_teams",
    "share_any_hard_bone",
    "median_idle_days",
    "total_outstanding",
)

_GROUP_COLUMNS = ["n_cases", "share_of_stock", "share_material_assets"]


def _flag(s: pd.Series) -> pd.Series:
    """Nullable boolean as plain bool; missing counts as not recorded (False)."""
    return s.astype("boolean").fillna(False).astype(bool)


def _num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s.astype("Float64"), errors="coerce").astype("float64")


def _band(values: pd.Series, bands: Mapping[str, tuple[float, str, str]]) -> pd.Series:
    """Band key per value (missing stays missing); values below the first edge join band 1."""
    edges = [-np.inf] + [upper for upper, _, _ in bands.values()]
    return pd.cut(values, bins=edges, labels=list(bands), right=False)


def _band_table(band: pd.Series, bands: Mapping[str, tuple[float, str, str]]) -> pd.DataFrame:
    counts = band.value_counts(sort=False).reindex(list(bands), fill_value=0)
    n = int(counts.sum())
    return pd.DataFrame(
        {
            "band": list(bands),
            "label_zh": [zh for _, zh, _ in bands.values()],
            "label_en": [en for _, _, en in bands.values()],
            "n_cases": counts.to_numpy(dtype=int),
            "share": counts.to_numpy(dtype=float) / n if n else 0.0,
        }
    )


def _count_table(flags: Mapping[str, pd.Series], prefix: str, key: str) -> pd.DataFrame:
    """One row per flag (in ``flags`` order), labelled by the catalogue's ``<prefix>.<name>``."""
    n = len(next(iter(flags.values()))) if flags else 0
    rows = []
    for name, flag in flags.items():
        count = int(flag.sum())
        rows.append(
            {
                key: name,
                "label_zh": t(f"{prefix}.{name}", "zh"),
                "label_en": t(f"{prefix}.{name}", "en"),
                "n_cases": count,
                "share": count / n if n else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=[key, "label_zh", "label_en", "n_cases", "share"])


def _group_table(stock: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts, share with material assets, median idle days and outstanding amount by group."""
    n = len(stock)
    frame = pd.DataFrame(
        {
            **{k: stock[k].astype(object) for k in keys},
            "material": stock["material_assets"].fillna(0).astype(float),
            "idle": _num(stock["days_since_last_action"]),
            "outstanding": _num(stock["amount_outstanding"]),
        }
    )
    table = (
        frame.groupby(keys, dropna=False, sort=True)
        .agg(
            n_cases=("idle", "size"),
            share_material_assets=("material", "mean"),
            median_idle_days=("idle", "median"),
            median_outstanding=("outstanding", "median"),
        )
        .reset_index()
    )
    table.insert(len(keys) + 1, "share_of_stock", table["n_cases"] / n if n else 0.0)
    table = table.sort_values(["n_cases", *keys], ascending=[False] + [True] * len(keys))
    return table.reset_index(drop=True)


def data_quality(
    source: pd.DataFrame | ValidationReport,
    absent_optional: Sequence[str] = (),
    *,
    history_columns: bool | None = None,
) -> pd.DataFrame:
    """Missing share per contract column, and which optional columns the export lacks.

    Parameters
    ----------
    source : pandas.DataFrame or ValidationReport
        Contract-typed cases, or the report of :func:`crossexec_ml.data.validate_file` (its
        ``frame`` and ``absent_optional`` are used).
    absent_optional : sequence of str
        Optional columns absent from the export (ignored when ``source`` is a report).
    history_columns : bool, optional
        Whether to list the treatment and outcome columns. By default they are listed only when
        the frame has at least one treatment or outcome value: a list of cases to score lacks
        them by design.

    Returns
    -------
    pandas.DataFrame
        One row per contract column, in contract order: ``column``, ``label_zh``, ``role``,
        ``required``, ``absent`` (not in the export), ``missing_share`` (1.0 when absent).
    """
    if isinstance(source, ValidationReport):
        frame, absent = source.frame, set(source.absent_optional)
    else:
        frame, absent = source, set(absent_optional)
    contract = cases_contract()
    later = contract.by_role("treatment", "outcome")
    if history_columns is None:
        history_columns = any(c in frame and frame[c].notna().any() for c in later)
    rows = []
    for spec in contract.columns.values():
        if spec.name in later and not history_columns:
            continue
        missing = (
            1.0 if spec.name not in frame or not len(frame) else frame[spec.name].isna().mean()
        )
        rows.append(
            {
                "column": spec.name,
                "label_zh": spec.label_zh,
                "role": spec.role,
                "required": spec.required,
                "absent": spec.name in absent or spec.name not in frame,
                "missing_share": float(missing),
            }
        )
    return pd.DataFrame(rows)


def stock_profile(
    cases: pd.DataFrame,
    *,
    absent_optional: Sequence[str] = (),
    cohort: CohortSettings | None = None,
    flags: FlagSettings | None = None,
) -> dict[str, pd.DataFrame]:
    """Describe the stock of stalled cases: where they are, how old, what is known about them.

    Only the rows of the stalled cohort (:func:`crossexec_ml.model.stalled_cohort`) are
    described, except ``overview`` (which also counts the whole input) and ``data_quality``
    (which describes the export as a whole). The idle bands start at 90 days, the default
    cohort's threshold; with a lower ``cohort.min_idle_days`` the first band also holds the
    cases idle for less than 90 days.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed cases (from :func:`crossexec_ml.data.read_cases`).
    absent_optional : sequence of str
        Optional columns absent from the export (``ValidationReport.absent_optional``).
    cohort : CohortSettings, optional
        Which cases count as stalled.
    flags : FlagSettings, optional
        Hard-bone thresholds.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``overview`` (``metric``, ``label_zh``, ``label_en``, ``value``; the total outstanding
        amount in 万元, as its label says); ``by_court``, ``by_team`` (court and team),
        ``by_cause`` (with ``label_zh`` and ``label_en``): ``n_cases``,
        ``share_of_stock``, ``share_material_assets``, ``median_idle_days``,
        ``median_outstanding`` (yuan); ``age_bands``, ``idle_bands`` (``band``, labels,
        ``n_cases``, ``share``); ``age_by_idle`` (case counts, age bands as rows, idle bands
        as columns); ``assets`` (per asset type, deposits > 0 and any material asset),
        ``measures`` (coercive measures taken) and ``hard_bones`` (the five flags), each with
        ``n_cases`` and ``share`` of the stock; ``data_quality`` (see :func:`data_quality`).

    Examples
    --------
    >>> from crossexec_ml.data import make_cases
    >>> tables = stock_profile(make_cases(n_history=10, n_current=50, seed=1).current)
    >>> int(tables["hard_bones"]["n_cases"].ge(0).all())
    1
    """
    in_stock = stalled_cohort(cases, cohort)
    stock = add_features(cases[in_stock], flags)
    n = len(stock)

    age_band = _band(stock["case_age_days"], AGE_BANDS)
    idle_band = _band(_num(stock["days_since_last_action"]), IDLE_BANDS)
    age_by_idle = pd.crosstab(
        pd.Categorical(age_band, categories=list(AGE_BANDS)),
        pd.Categorical(idle_band, categories=list(IDLE_BANDS)),
        dropna=False,
    ).reindex(index=list(AGE_BANDS), columns=list(IDLE_BANDS), fill_value=0)
    age_by_idle.index.name, age_by_idle.columns.name = "age_band", "idle_band"

    assets = {c: _flag(stock[c]) for c in ASSET_COLUMNS}
    assets["deposits"] = (_num(stock["deposit_balance"]) > 0).fillna(False)
    assets["material_assets"] = stock["material_assets"].fillna(0).astype(bool)
    measures = {
        "dishonest_listed": _flag(stock["dishonest_listed"]),
        "consumption_restricted": _flag(stock["consumption_restricted"]),
        "detained": (_num(stock["n_detentions"]) > 0).fillna(False),
        "criminal_referral": _flag(stock["criminal_referral"]),
    }
    hard = {f: stock[f].astype(bool) for f in HARD_BONE_FLAGS}

    by_cause = _group_table(stock, ["cause_category"])
    causes = by_cause["cause_category"]
    by_cause.insert(1, "label_zh", [value_label("cause_category", c, "zh") for c in causes])
    by_cause.insert(2, "label_en", [value_label("cause_category", c, "en") for c in causes])

    any_flag = stock[list(HARD_BONE_FLAGS)].any(axis=1) if n else pd.Series(dtype=bool)
    values = {
        "n_rows": len(cases),
        "n_stalled": n,
        "share_stalled": n / len(cases) if len(cases) else 0,
        "n_courts": stock["court_id"].nunique(),
        "n_teams": stock["team_id"].nunique(),
        "share_any_hard_bone": float(any_flag.mean()) if n else 0.0,
        "median_idle_days": float(_num(stock["days_since_last_action"]).median()),
        # Leaders read amounts in 万元 (the label says so): yuan / 1e4.
        "total_outstanding": float(_num(stock["amount_outstanding"]).sum()) / 1e4,
    }
    overview = pd.DataFrame(
        [(m, *_pair(f"profile.overview.{m}"), values[m]) for m in _OVERVIEW],
        columns=["metric", "label_zh", "label_en", "value"],
    )
    return {
        "overview": overview,
        "by_court": _group_table(stock, ["court_id"]),
        "by_team": _group_table(stock, ["court_id", "team_id"]),
        "by_cause": by_cause,
        "age_bands": _band_table(age_band, AGE_BANDS),
        "idle_bands": _band_table(idle_band, IDLE_BANDS),
        "age_by_idle": age_by_idle,
        "assets": _count_table({a: assets[a] for a in _ASSETS}, "asset", "asset"),
        "measures": _count_table({m: measures[m] for m in _MEASURES}, "measure", "measure"),
        "hard_bones": _count_table(hard, "flag", "flag"),
        "data_quality": data_quality(cases, absent_optional),
    }


# --------------------------------------------------------------------------------------------
# The trained model: back-test and policy tables, what drives the gain
# --------------------------------------------------------------------------------------------

_BACKTEST_COLUMNS = (
    "window_start",
    "window_end",
    "n_train",
    "n_test",
    "auc",
    "truth_auc",
    "pr_auc",
    "brier",
    "ece",
    "precision_at_k",
    "recall_at_k",
    "k",
    "share_of_oracle_priority",
)


def backtest_table(windows: Sequence[Mapping[str, object]]) -> pd.DataFrame:
    """The back-test's windows as a table, one row per test window, oldest first.

    Parameters
    ----------
    windows : sequence of dict
        ``card["metrics"]["windows"]`` or ``evaluate_saved(...)["backtest"]["windows"]``.

    Returns
    -------
    pandas.DataFrame
        ``window_start``, ``window_end``, ``n_train``, ``n_test``, ``auc``, ``pr_auc``,
        ``brier``, ``ece``, ``precision_at_k``, ``recall_at_k``, ``k``; with a truth file also
        ``truth_auc`` and ``share_of_oracle_priority``. Counts are integers.
    """
    table = pd.DataFrame(list(windows))
    cols = [c for c in _BACKTEST_COLUMNS if c in table]
    table = table[cols].copy()
    for c in ("n_train", "n_test", "k"):
        if c in table:
            table[c] = table[c].astype(int)
    return table


def policy_table(pooled: Mapping[str, float]) -> pd.DataFrame:
    """Policy value of the model's lists and of today's practice, from pooled back-test metrics.

    Parameters
    ----------
    pooled : dict
        ``evaluate_saved(...)["backtest"]["pooled"]`` (or ``card["metrics"]["pooled"]``). The
        values exist only when the back-test ran with a truth file.

    Returns
    -------
    pandas.DataFrame
        One row per policy present, in :data:`POLICY_LABELS` order: ``policy``, ``label_zh``,
        ``label_en``, ``kind`` (``model``, ``today``, ``random``), ``gain`` (extra resolutions
        of the top-k list by the truth) and ``share_of_oracle``. Empty without a truth file.
    """
    rows = [
        {
            "policy": name,
            "label_zh": zh,
            "label_en": en,
            "kind": kind,
            "gain": float(pooled[f"gain_{name}"]),
            "share_of_oracle": float(pooled.get(f"share_of_oracle_{name}", float("nan"))),
        }
        for name, (zh, en, kind) in POLICY_LABELS.items()
        if f"gain_{name}" in pooled
    ]
    return pd.DataFrame(
        rows, columns=["policy", "label_zh", "label_en", "kind", "gain", "share_of_oracle"]
    )


def _permuted(cases: pd.DataFrame, column: str, order: np.ndarray) -> pd.DataFrame:
    out = cases.copy()
    if column == "filing_date":
        # Shuffle the case's age, not the date: rows screened on different dates stay valid.
        age = cases["as_of_date"] - cases["filing_date"]
        out["filing_date"] = cases["as_of_date"] - age.iloc[order].to_numpy()
    else:
        out[column] = pd.Series(cases[column].array.take(order), index=cases.index)
    return out


def gain_drivers(
    model: object,
    cases: pd.DataFrame,
    n_repeats: int = 3,
    seed: int = 0,
    *,
    max_rows: int | None = 1000,
    ladder: LadderSettings | None = None,
) -> pd.DataFrame:
    """What drives the score: permutation importance of each case fact on the estimated gain.

    The list is ranked by each case's best allowed gain (the model's extra probability of
    resolution over keeping the case, ``best_gain`` of
    :func:`crossexec_ml.decide.suggest_rung`). For each contract feature column, its values are
    shuffled across the cases, the model is asked again, and the mean absolute change of the
    gain is recorded (averaged over ``n_repeats`` shuffles). A fact the model ignores scores 0.
    Derived inputs (case age, deposit cover, the hard-bone flags...) are credited to the
    contract columns they come from; ``filing_date`` stands for the case's age. Correlated
    facts are shuffled one at a time, so they can share or split their importance.

    This measures how much the *ranking score* depends on a fact, not how well the model
    predicts resolution; it is a global picture. Why one case ranks where it does is
    :func:`crossexec_ml.decide.explain_cases`.

    Parameters
    ----------
    model : CrossExecModel
        A fitted model (``predict_rungs`` on contract-typed cases).
    cases : pandas.DataFrame
        Contract-typed cases (history or a current list).
    n_repeats : int
        Shuffles per column.
    seed : int
        Seed of the row sample and of the shuffles.
    max_rows : int or None
        Use a seeded sample of at most this many rows (None: all rows); the model scores
        ``rows * (1 + n_columns * n_repeats)`` rows in all.
    ladder : LadderSettings, optional
        Which rungs are allowed per case.

    Returns
    -------
    pandas.DataFrame
        ``column``, ``label_zh``, ``mean_abs_change``, ``std`` (both in percentage points of
        the gain; ``std`` over the repeats), sorted by ``mean_abs_change``, largest first.
    """
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be at least 1, got {n_repeats}")
    rng = np.random.default_rng(seed)
    if max_rows is not None and len(cases) > max_rows:
        cases = cases.iloc[np.sort(rng.choice(len(cases), size=max_rows, replace=False))]
    cases = cases.reset_index(drop=True)
    contract = cases_contract()

    columns = ["filing_date"] + [
        c for c in contract.by_role("feature") if c in cases and cases[c].notna().any()
    ]
    # Every shuffled copy goes through the model in one call: one transform of many rows is
    # far cheaper than many small calls (the per-call overhead dominates at this size).
    copies = [cases] + [
        _permuted(cases, column, rng.permutation(len(cases)))
        for column in columns
        for _ in range(n_repeats)
    ]
    stacked = pd.concat(copies, ignore_index=True)
    probs = model.predict_rungs(stacked)
    gains = suggest_rung(probs, stacked["ladder_stage"], ladder)["best_gain"].to_numpy()
    gains = gains.reshape(len(copies), len(cases))
    changes = np.abs(gains[1:] - gains[0]).mean(axis=1).reshape(len(columns), n_repeats)
    rows = [
        {
            "column": column,
            "label_zh": "立案日期（案龄）"
            if column == "filing_date"
            else contract.columns[column].label_zh,
            "mean_abs_change": 100 * float(changes[i].mean()),
            "std": 100 * float(changes[i].std()),
        }
        for i, column in enumerate(columns)
    ]
    table = pd.DataFrame(rows, columns=["column", "label_zh", "mean_abs_change", "std"])
    table = table.sort_values(["mean_abs_change", "column"], ascending=[False, True])
    return table.reset_index(drop=True)
