"""The jobs the CLI, the notebooks and the scheduler share: train, score, evaluate.

Each job reads through the validating readers, so bad input gets the same clear error
everywhere, and writes atomically, so a failure leaves nothing half-written. The numbers a
leader sees on a dashboard are the numbers these functions wrote.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from tqdm.auto import tqdm

from crossexec_ml import __version__
from crossexec_ml.data import (
    HARD_BONE_FLAGS,
    read_cases,
    read_handlers,
    read_scored,
    read_truth,
    refuse_overwriting_inputs,
    write_table,
)
from crossexec_ml.decide import (
    TIE_BREAK_RULE,
    PriorityOrder,
    capacity_k,
    categories_as_text,
    expected_gain,
    explain_cases,
    guidance_categories,
    ledger_decisions,
    order_by_gain,
    suggest_rung,
)
from crossexec_ml.evaluate import backtest
from crossexec_ml.jobs._scored_model import scored_model_card
from crossexec_ml.jobs._sheets import leader_sheets
from crossexec_ml.model import (
    CrossExecModel,
    case_fingerprint,
    derived_features,
    load_model,
    rung_of,
    save_model,
    stalled_cohort,
    training_rows,
)
from crossexec_ml.report import REFERENCE_FILE, reference_sample
from crossexec_ml.settings import (
    PROB_COLUMNS,
    RUNGS,
    BacktestSettings,
    CohortSettings,
    FlagSettings,
    LadderSettings,
    PrioritySettings,
    ScoringPolicy,
    resolve_policy,
)

#: Columns of a scored file, in order.
SCORE_COLUMNS: tuple[str, ...] = (
    "priority_rank",
    "case_id",
    "as_of_date",
    "court_id",
    "team_id",
    "handler_id",
    "previous_handler_ids",
    *PROB_COLUMNS,
    "suggested_rung",
    "p_cross",
    "uplift",
    "best_gain",
    "expected_gain",
    "candidate",
    "floor_reason",
    *HARD_BONE_FLAGS,
    "n_hard_bone_flags",
    "stalled",
    "guidance",
    "guidance_en",
    "top_reason_zh",
    "reasons_zh",
    "reasons_en",
    "decided_action",
    "case_fingerprint",
    "model_id",
)

#: Reasons are computed for this many cases from the top of the list (each reason costs a
#: model call per fact); the check-up sheet explains any other case on demand.
EXPLAIN_TOP = 2000


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (the data hash recorded in cards and manifests)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _summary_metrics(result: dict) -> dict:
    keep = (
        "auc",
        "pr_auc",
        "brier",
        "ece",
        "precision_at_k",
        "recall_at_k",
        "k",
        "n_test",
        "truth_auc",
        "ece_vs_truth",
        "share_of_oracle_model",
    )
    pooled = {k: v for k, v in result["pooled"].items() if k in keep or k.startswith("gain_")}
    out = {"pooled": pooled, "windows": result["windows"]}
    if "calibration" in result:  # decile table of the pooled test windows (the model card shows it)
        out["calibration"] = result["calibration"]
    if "pilot" in result:
        out["pilot"] = result["pilot"]
    return out


def train(
    history_path: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    *,
    seed: int = 0,
    backtest_settings: BacktestSettings | None = None,
    ladder: LadderSettings | None = None,
    policy: ScoringPolicy | None = None,
    model_params: dict | None = None,
    progress: bool = True,
) -> dict:
    """Validate the history, back-test over time, fit on every row, save model and card.

    Parameters
    ----------
    history_path : path-like
        Historical export (with ``cross_mode`` and the 180-day outcomes).
    model_dir : path-like
        Where ``model.skops`` and ``card.json`` go.
    seed : int
        Seed of the model and of the back-test's random baseline.
    backtest_settings : BacktestSettings, optional
    ladder : LadderSettings, optional
        Replaces the ladder part of ``policy``.
    policy : ScoringPolicy, optional
        What decides the list (ladder, priority, cohort, flags): the back-test judges the list
        under it and the card keeps it (``card["scoring_policy"]``), so scoring reads it back.
        Its flags are features of the model (``flag_settings``); a ``flag_settings`` in
        ``model_params`` wins over them.
    model_params : dict, optional
        Extra :class:`CrossExecModel` parameters.
    progress : bool
        Show a progress bar.

    Returns
    -------
    dict
        The model card as written (with ``model_id``).
    """
    history = read_cases(history_path)
    rows = training_rows(history)  # fails early, with a clear message, on unusable history
    bt = backtest_settings or BacktestSettings(seed=seed)
    policy = policy or ScoringPolicy()
    if ladder is not None:
        policy = replace(policy, ladder=ladder)
    params = dict(model_params or {})
    if params.get("flag_settings") is not None:
        policy = replace(policy, flags=params["flag_settings"])
    elif policy.flags != FlagSettings():
        params["flag_settings"] = policy.flags
    template = CrossExecModel(random_state=seed, **params)
    n_steps = bt.n_splits + 1
    with tqdm(total=n_steps, desc="train", disable=not progress, unit="fit") as bar:
        result = backtest(
            history,
            lambda: clone(template),
            bt,
            ladder=policy.ladder,
            priority=policy.priority,
            progress=lambda msg: (bar.set_postfix_str(msg), bar.update(1)),
        )
        bar.update(n_steps - 1 - len(result["windows"]))
        bar.set_postfix_str("final fit on all rows")
        model = clone(template).fit(history)
        bar.update(1)
    dates = rows["as_of_date"]
    card = {
        "package_version": __version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "training_data": {
            "file": Path(history_path).name,
            "sha256": file_sha256(history_path),
            "rows": int(len(rows)),
            "rows_in_file": int(len(history)),
            "as_of_min": f"{dates.min():%Y-%m-%d}",
            "as_of_max": f"{dates.max():%Y-%m-%d}",
            "rung_counts": {r: int((rows["rung"] == r).sum()) for r in RUNGS},
            "resolved_rate": float(rows["resolved_180d"].astype(bool).mean()),
        },
        "method": "penalised logistic S-learner with rung interactions (shared and per-rung "
        "effect blocks scaled by inter_scale before an L2 fit) plus a boosted baseline that "
        "moves the level shared by the four rungs",
        "model_params": {
            k: (asdict(v) if hasattr(v, "__dataclass_fields__") else v)
            for k, v in model.get_params().items()
        },
        "unused_columns": list(model.unused_columns_),
        "scoring_policy": policy.to_dict(),
        "backtest_settings": asdict(bt),
        "metrics": _summary_metrics(result),
        "tie_break_rule": TIE_BREAK_RULE,
        "seed": seed,
    }
    # The drift reference of the first scheduled re-scoring (crossexec_ml.report): case facts
    # of the training rows, no outcomes; its hash is in the card so an edit is detected.
    reference = Path(model_dir) / REFERENCE_FILE
    write_table(reference_sample(history, seed=seed), reference)
    card["reference"] = {"file": REFERENCE_FILE, "sha256": file_sha256(reference)}
    save_model(model, model_dir, card)
    _, card = load_model(model_dir)  # read back: proves the files load and returns model_id
    return card


#: Columns only the global stage can fill: they depend on every other row (the order, the
#: top-k with its floors) or on the order (reasons are computed for the top of the list).
GLOBAL_COLUMNS: tuple[str, ...] = (
    "priority_rank",
    "candidate",
    "floor_reason",
    "top_reason_zh",
    "reasons_zh",
    "reasons_en",
)

#: The per-row keys the global ranking needs; a partitioned run gathers only these.
RANK_KEYS: tuple[str, ...] = (
    "case_id",
    "as_of_date",
    "expected_gain",
    "stalled",
    "flag_long_unresolved",
    "idle_days",
    "is_livelihood",
)

#: Columns of :func:`score_rows`: everything a row gives by itself, plus the rank keys.
ROW_COLUMNS: tuple[str, ...] = (
    *(c for c in SCORE_COLUMNS if c not in GLOBAL_COLUMNS),
    "idle_days",
    "is_livelihood",
)


def score_rows(
    model: CrossExecModel,
    cases: pd.DataFrame,
    *,
    model_id: str = "",
    ladder: LadderSettings | None = None,
    cohort: CohortSettings | None = None,
    priority: PrioritySettings | None = None,
    decisions: Mapping[str, Mapping[str, object]] | None = None,
) -> pd.DataFrame:
    """The row-wise stage of scoring: everything each case gives by itself.

    Probabilities, suggested rung, flags, cohort, fingerprint, decided action, expected gain
    and guidance depend on the case's own row only, so any partition of the cases can be
    scored on its own (by a worker, a file at a time) and the results concatenated.

    Parameters
    ----------
    model, cases, model_id, ladder, cohort, priority, decisions
        As :func:`score_cases`.

    Returns
    -------
    pandas.DataFrame
        :data:`ROW_COLUMNS`, in the cases' order: the scored columns without
        :data:`GLOBAL_COLUMNS`, plus ``idle_days`` (``days_since_last_action``, missing as 0)
        and ``is_livelihood`` (missing as False), the tie-break and floor keys. ``guidance``
        and ``guidance_en`` are categoricals (each distinct text once); :func:`with_order`
        writes them out as text.
    """
    ladder = ladder or LadderSettings()
    cases = cases.reset_index(drop=True)
    derived = derived_features(cases, model.flag_settings)
    probs = _predict(model, cases, derived)
    rung = suggest_rung(probs, cases["ladder_stage"], ladder)
    ids = ["case_id", "as_of_date", "court_id", "team_id", "handler_id", "previous_handler_ids"]
    out = pd.concat([cases[ids], probs, rung], axis=1)
    for c in HARD_BONE_FLAGS:
        out[c] = derived[c]
    out["n_hard_bone_flags"] = out[list(HARD_BONE_FLAGS)].sum(axis=1).astype(int)
    out["stalled"] = stalled_cohort(cases, cohort)
    out["case_fingerprint"] = case_fingerprint(cases)
    decided, settled = _decided(cases, out["case_fingerprint"], decisions)
    out["decided_action"] = decided
    # Decided and unchanged: shown, not proposed again (outside the ranked cohort).
    out["stalled"] = out["stalled"] & ~settled
    out["model_id"] = model_id
    out["expected_gain"] = expected_gain(out, cases, priority)
    # Categoricals here (a code per case); with_order writes the texts out after sorting.
    out["guidance"], out["guidance_en"] = guidance_categories(out, cases, derived)
    idle = pd.to_numeric(cases["days_since_last_action"], errors="coerce").fillna(0)
    out["idle_days"] = idle.to_numpy(dtype=float)
    livelihood = cases.get("is_livelihood", pd.Series(False, index=cases.index))
    out["is_livelihood"] = livelihood.astype("boolean").fillna(False).astype(bool)
    return out[list(ROW_COLUMNS)]


# Rows per call of the model when scoring: a case's probabilities do not depend on its batch,
# and batches of this size ran about a quarter faster than 250,000 rows at once (the model's
# working arrays stay small enough to be reused instead of fresh pages for every call).
_PREDICT_ROWS = 65_536


def _predict(model: CrossExecModel, cases: pd.DataFrame, derived: pd.DataFrame) -> pd.DataFrame:
    """``model.predict_rungs`` on ``cases`` in batches of :data:`_PREDICT_ROWS` rows."""
    if len(cases) <= _PREDICT_ROWS:
        return model.predict_rungs(cases, derived=derived)
    parts = [
        model.predict_rungs(
            cases.iloc[i : i + _PREDICT_ROWS], derived=derived.iloc[i : i + _PREDICT_ROWS]
        )
        for i in range(0, len(cases), _PREDICT_ROWS)
    ]
    values = np.vstack([p.to_numpy(dtype=float) for p in parts])
    return pd.DataFrame(values, columns=parts[0].columns, index=cases.index)


def _decided(
    cases: pd.DataFrame,
    fingerprint: pd.Series,
    decisions: Mapping[str, Mapping[str, object]] | None,
) -> tuple[pd.Series, np.ndarray]:
    """Each case's decided action (or missing) and whether its facts are unchanged since."""
    decided = pd.Series(pd.NA, index=cases.index, dtype="string")
    settled = np.zeros(len(cases), dtype=bool)
    if not decisions:
        return decided, settled
    # Only the rows of decided cases are visited, not every row of a province's list.
    ids = cases["case_id"].astype(str).to_numpy(dtype=object)
    rows = np.flatnonzero(pd.Index(ids).isin(list(decisions)))
    # Decisions recorded by earlier builds hold the fingerprint with the case id hashed in;
    # it is computed for these few rows only, so such a decision still counts as unchanged.
    legacy = case_fingerprint(cases.iloc[rows], include_case_id=True).to_numpy(dtype=object)
    current = fingerprint.to_numpy(dtype=object)
    for r, old in zip(rows, legacy, strict=True):
        d = decisions[ids[r]]
        decided.iloc[r] = str(d.get("action"))
        settled[r] = d.get("case_fingerprint") in (current[r], old)
    return decided, settled


def rank_rows(rows: pd.DataFrame, priority: PrioritySettings | None = None) -> PriorityOrder:
    """The global stage's order from the :data:`RANK_KEYS` of every row (in one frame).

    Parameters
    ----------
    rows : pandas.DataFrame
        At least :data:`RANK_KEYS`, for all rows of the list, in the list's row order.
    priority : PrioritySettings, optional

    Returns
    -------
    PriorityOrder
        Rank, candidate and floor reason per row of ``rows``.
    """
    return order_by_gain(
        rows["expected_gain"].to_numpy(dtype=float),
        stalled=rows["stalled"].to_numpy(dtype=bool),
        livelihood=rows["is_livelihood"].to_numpy(dtype=bool),
        long_unresolved=rows["flag_long_unresolved"].to_numpy(dtype=bool),
        idle_days=rows["idle_days"].to_numpy(dtype=float),
        case_id=rows["case_id"],
        settings=priority,
    )


def _rank_permutation(rank: np.ndarray) -> np.ndarray:
    """Row positions by rank, then the unranked rows (NaN) in their own order.

    The same as a stable argsort of the ranks with NaN last. Ranks are distinct whole
    numbers, so when they are dense (a whole list, not a small slice of a province's) each
    row is put straight into its place instead of sorting.
    """
    ranked = ~np.isnan(rank)
    where = np.flatnonzero(ranked)
    unranked = np.flatnonzero(~ranked)
    if not len(where):
        return unranked
    r = rank[where].astype(np.int64)
    if r.min() >= 0 and r.max() <= 4 * len(where):
        slot = np.full(r.max() + 1, -1, dtype=np.int64)
        slot[r] = where
        by_rank = slot[slot >= 0]
        if len(by_rank) == len(where):  # else a rank repeats: sort instead
            return np.concatenate([by_rank, unranked])
    return np.concatenate([where[np.argsort(r, kind="stable")], unranked])


def with_order(rows: pd.DataFrame, order: PriorityOrder) -> pd.DataFrame:
    """Rows of :func:`score_rows` with their slice of the global order, sorted by rank.

    Parameters
    ----------
    rows : pandas.DataFrame
        Output of :func:`score_rows` (any partition of the list).
    order : PriorityOrder
        The global order restricted to these rows (same length and order).

    Returns
    -------
    pandas.DataFrame
        ``rows`` plus ``priority_rank``, ``candidate``, ``floor_reason`` and empty reasons,
        sorted by ``priority_rank`` (unranked rows last, in their original order).
    """
    perm = _rank_permutation(order.rank)
    out = rows.take(perm).reset_index(drop=True)
    out["priority_rank"] = pd.array(order.rank[perm], dtype="Float64").astype("Int64")
    out["candidate"] = np.asarray(order.candidate)[perm]
    if order.proposal_propensity is not None:  # an exploration band was drawn
        out["proposal_propensity"] = np.asarray(order.proposal_propensity)[perm]
    # Mostly empty, a few distinct reasons: each written out once, then taken by code.
    reason = np.asarray(order.floor_reason, dtype=object)[perm]
    lifted = np.flatnonzero(reason != "")
    codes = np.zeros(len(reason), dtype=np.int64)  # 0: not lifted by a floor
    lifted_codes, reasons = pd.factorize(reason[lifted], use_na_sentinel=False)
    codes[lifted] = lifted_codes + 1
    texts = np.asarray(["", *reasons], dtype=object)
    out["floor_reason"] = pd.array(texts, dtype="string").take(codes)
    for col in ("top_reason_zh", "reasons_zh", "reasons_en"):
        out[col] = pd.Series(pd.NA, index=out.index, dtype="string")
    for col in ("guidance", "guidance_en"):
        if isinstance(out[col].dtype, pd.CategoricalDtype):
            out[col] = categories_as_text(out[col].array)
    return out


def output_columns(ranked: pd.DataFrame) -> list[str]:
    """The scored list's columns: :data:`SCORE_COLUMNS`, then ``proposal_propensity`` when an
    exploration band was drawn."""
    extra = ["proposal_propensity"] if "proposal_propensity" in ranked else []
    return [*SCORE_COLUMNS, *extra]


def reasons_for(
    model: CrossExecModel, cases: pd.DataFrame, ladder: LadderSettings | None = None
) -> pd.DataFrame:
    """``top_reason_zh``, ``reasons_zh``, ``reasons_en`` of the given cases (row by row).

    Reasons are read off the model case by case, so the top of a partitioned list can be
    explained in one call, whichever partitions its cases came from.
    """
    why = explain_cases(model, cases.reset_index(drop=True), ladder=ladder)
    return why[["top_reason_zh", "reasons_zh", "reasons_en"]]


def score_cases(
    model: CrossExecModel,
    cases: pd.DataFrame,
    *,
    model_id: str = "",
    ladder: LadderSettings | None = None,
    cohort: CohortSettings | None = None,
    priority: PrioritySettings | None = None,
    explain_top: int = EXPLAIN_TOP,
    decisions: Mapping[str, Mapping[str, object]] | None = None,
    card: Mapping | None = None,
    policy: ScoringPolicy | None = None,
    capacity: int | None = None,
    explore: float | None = None,
    explore_seed: int | None = None,
) -> pd.DataFrame:
    """Score contract-typed cases in memory: probabilities, suggested rung, flags, rank.

    The row-wise stage (:func:`score_rows`) and the global stage (:func:`rank_rows`, reasons
    for the top of the list) in one process; :mod:`crossexec_ml.jobs` runs the same two
    stages over partitioned Parquet and gives the same rows.

    Parameters
    ----------
    model : CrossExecModel
        Fitted model.
    cases : pandas.DataFrame
        Contract-typed cases; treatment and outcome columns are ignored.
    model_id : str
        Recorded on every row.
    ladder : LadderSettings, optional
    cohort : CohortSettings, optional
        Rows outside the stalled cohort are scored but get no ``priority_rank``.
    priority : PrioritySettings, optional
        Gain weighting, vulnerability boost, floors and capacity.
    explain_top : int
        Reasons (``reasons_zh``, ``reasons_en``) are computed for this many top-ranked cases;
        the others have them missing.
    decisions : mapping, optional
        The ledger's latest decision per case (``case_id -> {"action", "case_fingerprint"}``,
        see :func:`ledger_decisions`). A decided case whose facts have not changed since (same
        fingerprint) shows its ``decided_action`` and is not proposed again (no rank); one
        whose facts changed is ranked again, its earlier decision still shown.
    card : mapping, optional
        The model's card: its ``scoring_policy`` decides the list (defaults without one).
    policy : ScoringPolicy, optional
        Overrides the card's policy as a whole; ``ladder``, ``cohort``, ``priority`` and
        ``capacity`` override single parts (see :func:`crossexec_ml.settings.resolve_policy`).
    capacity : int, optional
        Cases to reassign this cycle (overrides ``priority.capacity`` only).
    explore, explore_seed : optional
        The exploration band and its seed (see :class:`PrioritySettings`); with a band the
        list gains ``proposal_propensity``, and ``candidate`` is the band's draw.

    Returns
    -------
    pandas.DataFrame
        :data:`SCORE_COLUMNS`, sorted by ``priority_rank`` (unranked rows last);
        ``attrs["scoring_policy"]`` says which policy made it and where it came from.

    Raises
    ------
    ValueError
        When the policy's hard-bone flags differ from the model's (they are features: a
        different threshold needs a retrained model).
    """
    resolved, record = resolve_policy(
        card,
        policy=policy,
        ladder=ladder,
        cohort=cohort,
        priority=priority,
        capacity=capacity,
        explore=explore,
        explore_seed=explore_seed,
    )
    model_flags = getattr(model, "flag_settings", None) or FlagSettings()
    if resolved.flags != model_flags:
        raise ValueError(
            f"the scoring policy's flags {resolved.flags} differ from the model's {model_flags}: "
            "the hard-bone flags are features of the model; train a model with these flags"
        )
    ladder, cohort, priority = resolved.ladder, resolved.cohort, resolved.priority
    cases = cases.reset_index(drop=True)
    rows = score_rows(
        model,
        cases,
        model_id=model_id,
        ladder=ladder,
        cohort=cohort,
        priority=priority,
        decisions=decisions,
    )
    order = rank_rows(rows, priority)
    ranked = with_order(rows, order)
    top = np.flatnonzero(ranked["priority_rank"].notna() & (ranked["priority_rank"] <= explain_top))
    if len(top):
        # The top's positions in ``cases``, in rank order (ranks are distinct, so ``ranked``,
        # sorted by rank, holds them in the same order).
        position = np.flatnonzero(order.rank <= explain_top)
        position = position[np.argsort(order.rank[position])]
        why = reasons_for(model, cases.iloc[position], ladder)
        for col in why:
            ranked.loc[top, col] = why[col].to_numpy()
    out = ranked[output_columns(ranked)]
    out.attrs["scoring_policy"] = record
    return out


def score(
    model_dir: str | os.PathLike[str],
    cases_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str] | None = None,
    *,
    ladder: LadderSettings | None = None,
    cohort: CohortSettings | None = None,
    priority: PrioritySettings | None = None,
    ledger_path: str | os.PathLike[str] | None = None,
    policy: ScoringPolicy | None = None,
    capacity: int | None = None,
    expected_sha256: str | None = None,
    explore: float | None = None,
    explore_seed: int | None = None,
) -> pd.DataFrame:
    """Load a model, read and validate cases, score them, and write the list if asked.

    The list is made under the scoring policy saved in the model's card; any setting passed
    here overrides it, and the ``.xlsx``'s 说明 sheet records which was used.

    Parameters
    ----------
    model_dir : path-like
        Folder written by :func:`train`.
    cases_path : path-like
        Cases to score (CSV/XLSX/Parquet).
    out_path : path-like, optional
        ``.csv``, ``.parquet`` or ``.xlsx`` (Chinese headers); written atomically.
    ladder, cohort, priority : settings, optional
        Override those parts of the card's policy.
    ledger_path : path-like, optional
        Decision ledger: decided cases are marked and not proposed again unless their facts
        changed.
    policy : ScoringPolicy, optional
        Overrides the card's policy as a whole.
    capacity : int, optional
        Cases to reassign this cycle (overrides the policy's ``priority.capacity`` only).
    expected_sha256 : str, optional
        The approved model's SHA-256 or model_id (see :func:`crossexec_ml.model.load_model`).
    explore, explore_seed : optional
        The exploration band and its seed (override the policy's ``priority.explore_band``
        and ``priority.explore_seed``; off unless given).

    Returns
    -------
    pandas.DataFrame
        The scored list (see :func:`score_cases`).
    """
    refuse_overwriting_inputs(out_path, cases_path, model_dir, ledger_path)
    model, card = load_model(model_dir, expected_sha256)
    cases = read_cases(cases_path)
    decisions = ledger_decisions(ledger_path) if ledger_path is not None else None
    scored = score_cases(
        model,
        cases,
        model_id=card["model_id"],
        ladder=ladder,
        cohort=cohort,
        priority=priority,
        decisions=decisions,
        card=card,
        policy=policy,
        capacity=capacity,
        explore=explore,
        explore_seed=explore_seed,
    )
    if out_path is not None:
        extra = None
        if Path(out_path).suffix.lower() == ".xlsx":
            extra = leader_sheets(scored, cases, card, scored.attrs.get("scoring_policy"))
        write_table(scored, out_path, sheet_name="scored", extra_sheets=extra)
    return scored


def evaluate_saved(
    model_dir: str | os.PathLike[str],
    history_path: str | os.PathLike[str],
    *,
    truth_path: str | os.PathLike[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Evaluate a saved model's method on a history file, honestly.

    A model fitted on all of its history cannot be judged on that history, so this runs the
    rolling temporal back-test with the saved model's parameters (refitted per window), and,
    when the file has rows screened after the model's training data, also scores those rows
    with the saved model itself (``out_of_time``).

    Parameters
    ----------
    model_dir : path-like
    history_path : path-like
        Historical rows with outcomes.
    truth_path : path-like, optional
        Synthetic truth (``truth.csv``): adds the Bayes limit and the oracle comparison.
    progress : callable, optional

    Returns
    -------
    dict
        ``backtest`` (see :func:`crossexec_ml.evaluate.backtest`), ``model_id`` and, when
        available, ``out_of_time`` metrics of the saved model.
    """
    model, card = load_model(model_dir)
    history = read_cases(history_path)
    truth = None
    if truth_path is not None:
        truth = read_truth(truth_path, cases=history, cover="all")
    bt = BacktestSettings(**card.get("backtest_settings", {}))
    policy, _ = resolve_policy(card)
    result = backtest(
        history,
        lambda: clone(model),
        bt,
        ladder=policy.ladder,
        priority=policy.priority,
        truth=truth,
        progress=progress,
    )
    out = {"model_id": card["model_id"], "backtest": result}
    trained_until = pd.Timestamp(card["training_data"]["as_of_max"])
    later = history[
        (history["as_of_date"] > trained_until)
        & history["cross_mode"].notna()
        & history["resolved_180d"].notna()
    ]
    if len(later) and later["resolved_180d"].astype(bool).nunique() == 2:
        from sklearn.metrics import roc_auc_score

        probs = model.predict_rungs(later)
        taken = rung_of(later["cross_mode"]).cat.codes.to_numpy()
        p_taken = probs.to_numpy()[np.arange(len(later)), taken]
        out["out_of_time"] = {
            "n": int(len(later)),
            "auc": float(roc_auc_score(later["resolved_180d"].astype(bool), p_taken)),
        }
    return out


def plan(
    scored_path: str | os.PathLike[str],
    handlers_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str] | None = None,
    *,
    capacity: int | None = None,
    model_dir: str | os.PathLike[str] | None = None,
    expected_sha256: str | None = None,
) -> pd.DataFrame:
    """Propose who takes each top case: read the scored list and handlers, assign, write.

    Parameters
    ----------
    scored_path : path-like
        Scored list from :func:`score` (``.parquet`` or ``.csv``).
    handlers_path : path-like
        Handlers file (contract ``handlers_schema.csv``).
    out_path : path-like, optional
        ``.csv`` or ``.xlsx`` (Chinese headers); written atomically, only on success.
    capacity : int, optional
        Cases to reassign or escalate this cycle (default: the scored list's candidates,
        which the card's scoring policy chose; for a list without them, the policy's k).
    model_dir : path-like, optional
        When given, the scored list must come from this model (same ``model_id``), and its
        card's scoring policy gives the default capacity.
    expected_sha256 : str, optional
        With ``model_dir``: the approved model's SHA-256 or model_id, as in :func:`score`.

    Returns
    -------
    pandas.DataFrame
        The plan (see :func:`crossexec_ml.decide.assign`).
    """
    from crossexec_ml.decide import PLAN_LABELS, assign, plan_sheet

    refuse_overwriting_inputs(out_path, scored_path, handlers_path, model_dir)
    scored = read_scored(scored_path)
    handlers = read_handlers(handlers_path)
    card = scored_model_card(scored, scored_path, model_dir, expected_sha256)
    if capacity is None and "candidate" in scored:
        capacity = int(scored["candidate"].astype(bool).sum())
    elif capacity is None and card is not None:
        prio = resolve_policy(card)[0].priority
        n_ranked = int(scored["priority_rank"].notna().sum()) if "priority_rank" in scored else 0
        capacity = capacity_k(n_ranked, prio.capacity, prio.capacity_share)
    result = assign(scored, handlers, capacity)
    if out_path is not None:
        # The Excel plan is a leader's sheet: rungs and yes/no as words, Chinese headers.
        shown = plan_sheet(result, "zh") if Path(out_path).suffix.lower() == ".xlsx" else result
        write_table(shown, out_path, sheet_name="plan", labels=PLAN_LABELS)
    return result
