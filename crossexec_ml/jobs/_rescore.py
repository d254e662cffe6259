"""One re-scoring run of the whole stalled stock: what notebook 05 does, step by step.

The scheduled job (``crossexec rescore``, see :mod:`crossexec_ml.jobs`) executes
``notebooks/05_rescore.ipynb`` with papermill; the notebook only calls these functions and
shows their results, so the report and the files come from the same numbers:

1. :func:`load_run_inputs` validates the cases (and handlers), loads the model and, when given,
   the previous run and the decision ledger;
2. :func:`rescore_cases` scores, ranks, marks what carried over or was decided, proposes who
   takes each case, and checks drift and freshness against the previous run (or, for a first
   run, against the model's training data);
3. :func:`write_run` writes the run's files and its ``manifest.json``.

Nothing here reassigns a case: the list ranks, explains and proposes; a person decides and the
ledger records it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crossexec_ml import __version__
from crossexec_ml.data import atomic_path, read_cases, read_handlers, read_scored, write_table
from crossexec_ml.decide import TIE_BREAK_RULE, ledger_decisions
from crossexec_ml.errors import CrossExecError, InputError, ModelFileError
from crossexec_ml.jobs._learning import ShadowComparison, exploration_summary, shadow_compare
from crossexec_ml.jobs._pipeline import file_sha256, score_cases
from crossexec_ml.jobs._sheets import leader_sheets
from crossexec_ml.model import CARD_FILE, CrossExecModel, load_model, stalled_cohort
from crossexec_ml.report import REFERENCE_FILE, DriftReport, carry_over, drift_report
from crossexec_ml.settings import MonitorSettings, resolve_policy
from crossexec_ml.text import fmt_percent, fmt_points, rung_label, t, t_pair, value_label

MANIFEST_FILE = "manifest.json"
#: What one run leaves in its folder (``plan.xlsx`` only when a handlers file was given;
#: ``report.html`` and the executed notebook are added by :mod:`crossexec_ml.jobs`).
RUN_FILES: tuple[str, ...] = (
    "scored.parquet",
    "scored.xlsx",
    "plan.xlsx",
    "cases.parquet",
    MANIFEST_FILE,
)
#: Labels of the columns the run adds to a scored list (the catalogue's ``top.column.*``).
RUN_LABELS: dict[str, str] = {
    c: t(f"top.column.{c}", "zh") for c in ("previous_rank", "carried_over")
}
#: The report's top-of-list table: its columns, in order (names: ``top.column.<column>``).
TOP_COLUMNS: tuple[str, ...] = (
    "priority_rank",
    "previous_rank",
    "case_id",
    "court_id",
    "team_id",
    "suggested_rung",
    "p_keep",
    "p_cross",
    "uplift",
    "n_hard_bone_flags",
    "main_reason",
    "carried_over",
    "decided_action",
)
#: The report's drift table: column -> (zh, en), from the catalogue's ``drift.column.*``.
DRIFT_COLUMNS: dict[str, tuple[str, str]] = {
    c: t_pair(f"drift.column.{c}") for c in ("check", "column", "value", "threshold", "status")
}


@dataclass
class PreviousRun:
    """The files of an earlier run that this run compares with."""

    folder: Path
    manifest: dict
    scored: pd.DataFrame
    cases: pd.DataFrame


@dataclass
class RunInputs:
    """Everything a run reads, validated."""

    cases: pd.DataFrame
    model: CrossExecModel
    card: dict
    cases_path: Path
    model_dir: Path
    handlers: pd.DataFrame | None = None
    handlers_path: Path | None = None
    previous: PreviousRun | None = None
    reference_cases: pd.DataFrame | None = None
    reference_source: str = "none"
    decisions: dict[str, dict[str, object]] = field(default_factory=dict)
    ledger_path: Path | None = None
    fairness: dict | None = None
    fairness_path: Path | None = None
    #: ``--challenger``: a second model that scores the same cases in the shadow.
    challenger: CrossExecModel | None = None
    challenger_card: dict | None = None
    challenger_dir: Path | None = None


@dataclass
class RunResult:
    """What a run computed (see :func:`rescore_cases`)."""

    scored: pd.DataFrame
    plan: pd.DataFrame | None
    drift: DriftReport
    changes: pd.DataFrame
    counts: dict[str, int]
    capacity: int
    run_date: dt.date
    #: Which scoring policy made the list and where it came from (``resolve_policy``'s record).
    scoring_policy: dict | None = None
    #: With a challenger: where its list differs from this one (never shown to leaders as a list).
    shadow: ShadowComparison | None = None

    @property
    def outcome(self) -> str:
        """``ok`` or ``drift`` (any drift or staleness alarm)."""
        return self.drift.outcome


def _read_reference(model_dir: Path, card: dict) -> pd.DataFrame | None:
    path = model_dir / REFERENCE_FILE
    meta = card.get("reference") or {}
    if not path.is_file() or not meta:
        return None
    if file_sha256(path) != meta.get("sha256"):
        raise ModelFileError(
            f"{path}: the drift reference does not match the SHA-256 in the model card: it was "
            "altered after training; retrain with `crossexec train`"
        )
    return pd.read_parquet(path)


def read_previous_run(folder: str | os.PathLike[str]) -> PreviousRun:
    """Read an earlier run's folder (written by ``crossexec rescore``).

    Raises
    ------
    InputError
        When the folder is missing or is not a complete earlier run.
    """
    p = Path(folder)
    if not p.is_dir():
        raise InputError(f"--previous {p}: no such folder; pass the folder of an earlier run")
    missing = [
        f for f in (MANIFEST_FILE, "scored.parquet", "cases.parquet") if not (p / f).is_file()
    ]
    if missing:
        raise InputError(
            f"--previous {p}: not a folder written by `crossexec rescore` (missing "
            f"{', '.join(missing)}); pass the folder of an earlier run, or leave --previous out"
        )
    try:
        manifest = json.loads((p / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"--previous {p}: {MANIFEST_FILE} is not readable ({exc})") from None
    if not isinstance(manifest, dict) or "run_id" not in manifest:
        raise InputError(f"--previous {p}: {MANIFEST_FILE} is not a run manifest (no run_id)")
    return PreviousRun(
        folder=p,
        manifest=manifest,
        scored=read_scored(p / "scored.parquet"),
        cases=pd.read_parquet(p / "cases.parquet"),
    )


def load_run_inputs(
    cases_path: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    *,
    handlers_path: str | os.PathLike[str] | None = None,
    previous_dir: str | os.PathLike[str] | None = None,
    ledger_path: str | os.PathLike[str] | None = None,
    fairness_path: str | os.PathLike[str] | None = None,
    expected_sha256: str | None = None,
    challenger_dir: str | os.PathLike[str] | None = None,
) -> RunInputs:
    """Read and validate everything a run needs, failing before anything is computed.

    Parameters
    ----------
    cases_path : path-like
        The stalled stock (CSV/XLSX/Parquet, cases contract).
    model_dir : path-like
        Folder written by ``crossexec train``.
    handlers_path : path-like, optional
        Handlers file; without it no plan is proposed.
    previous_dir : path-like, optional
        The previous run's folder: drift is measured against it and carried-over cases are
        marked. Without it, drift is measured against the model's training data.
    ledger_path : path-like, optional
        Decision ledger. It must exist: a mistyped path is refused, never read as "nothing
        decided yet" (which would propose decided cases again), as ``crossexec score`` does.
    fairness_path : path-like, optional
        JSON written by ``crossexec fairness --out FILE.json``: its summary goes into the
        report and the manifest.

    expected_sha256 : str, optional
        The approved model's SHA-256 or 12-digit ``model_id``; any other model is refused.
    challenger_dir : path-like, optional
        A challenger model's folder (``--challenger``): it scores the same cases in the
        shadow. A folder that is not a usable model is refused here, before anything is
        written.

    Returns
    -------
    RunInputs

    Raises
    ------
    crossexec_ml.data.ValidationError, InputError, ModelFileError, LedgerError
        With the file, row and column at fault; LedgerError for a missing or damaged ledger.
    """
    model_dir = Path(model_dir)
    model, card = load_model(model_dir, expected_sha256=expected_sha256)
    challenger = challenger_card = None
    if challenger_dir:
        try:
            challenger, challenger_card = load_model(challenger_dir)
        except CrossExecError as err:
            raise ModelFileError(
                f"--challenger {challenger_dir}: not a usable model folder ({err}); pass a "
                "folder written by `crossexec train`, or leave --challenger out"
            ) from None
    cases = read_cases(cases_path)
    handlers = read_handlers(handlers_path) if handlers_path else None
    previous = read_previous_run(previous_dir) if previous_dir else None
    if previous is not None:
        reference, source = previous.cases, f"previous run {previous.manifest['run_id']}"
    else:
        reference = _read_reference(model_dir, card)
        source = "training data" if reference is not None else "none"
    decisions: dict[str, dict[str, object]] = {}
    if ledger_path:
        decisions = ledger_decisions(ledger_path)
    fairness = None
    if fairness_path:
        from crossexec_ml.evaluate import read_audit

        fairness = read_audit(fairness_path)
    return RunInputs(
        cases=cases,
        model=model,
        card=card,
        cases_path=Path(cases_path),
        model_dir=model_dir,
        handlers=handlers,
        handlers_path=Path(handlers_path) if handlers_path else None,
        previous=previous,
        reference_cases=reference,
        reference_source=source,
        decisions=decisions,
        ledger_path=Path(ledger_path) if ledger_path else None,
        fairness=fairness,
        fairness_path=Path(fairness_path) if fairness_path else None,
        challenger=challenger,
        challenger_card=challenger_card,
        challenger_dir=Path(challenger_dir) if challenger_dir else None,
    )


def changes_since(scored: pd.DataFrame, previous_scored: pd.DataFrame | None) -> pd.DataFrame:
    """What changed in the list of candidates since the previous run.

    Parameters
    ----------
    scored : pandas.DataFrame
        This run's list, after :func:`crossexec_ml.report.carry_over`.
    previous_scored : pandas.DataFrame or None

    Returns
    -------
    pandas.DataFrame
        One row per kind of change (``change``, ``变化``, ``cases``): candidates now, new
        candidates, carried over (candidates before and still undecided), decided since the
        previous list, left the list (candidates before, no longer), no longer in the stock.
    """
    now = set(scored.loc[scored["candidate"].astype(bool), "case_id"].astype(str))
    if previous_scored is None:
        before: set[str] = set()
        present_before: set[str] = set()
    else:
        cand = previous_scored.get("candidate")
        mask = (
            cand.astype(bool)
            if cand is not None
            else previous_scored["priority_rank"].notna().to_numpy()
        )
        before = set(previous_scored.loc[mask, "case_id"].astype(str))
        present_before = set(previous_scored["case_id"].astype(str))
    in_stock = set(scored["case_id"].astype(str))
    decided = set(scored.loc[scored["decided_action"].notna(), "case_id"].astype(str))
    rows = [
        ("candidates this run", "本轮候选", len(now)),
        ("new candidates", "新进入候选", len(now - before)),
        (
            "carried over, still undecided",
            "上轮已列入、仍未决定",
            int(scored["carried_over"].astype(bool).sum()),
        ),
        ("decided since (from the ledger)", "已在台账作出决定", len(before & decided)),
        ("left the candidates", "退出候选", len((before & in_stock) - now - decided)),
        ("no longer in the stock", "已不在存量中", len(present_before - in_stock)),
    ]
    return pd.DataFrame(rows, columns=["change", "变化", "cases"])


def rescore_cases(
    inputs: RunInputs,
    *,
    capacity: int | None = None,
    run_date: dt.date | str | None = None,
    monitor: MonitorSettings | None = None,
    explore: float | None = None,
    explore_seed: int | None = None,
) -> RunResult:
    """Score and rank the whole stock, mark what carried over, propose a plan, check drift.

    Parameters
    ----------
    inputs : RunInputs
        From :func:`load_run_inputs`.
    capacity : int, optional
        Cases the bureau can reassign or escalate this cycle; overrides the capacity of the
        scoring policy saved in the model card (default there: 10% of the ranked stalled
        cohort, see :class:`crossexec_ml.settings.PrioritySettings`).
    run_date : date or ISO string, optional
        The run's date for the freshness check (default: today, UTC).
    monitor : MonitorSettings, optional
        Drift and freshness thresholds.
    explore, explore_seed : optional
        The exploration band and its seed (override the policy's ``priority.explore_band`` and
        ``priority.explore_seed``): the list gains ``proposal_propensity``, ``candidate`` is
        the band's draw, and the plan proposes exactly those cases.

    Returns
    -------
    RunResult
    """
    if isinstance(run_date, str):
        run_date = dt.date.fromisoformat(run_date) if run_date else None
    run_date = run_date or dt.datetime.now(dt.UTC).date()
    cases = inputs.cases
    scored = score_cases(
        inputs.model,
        cases,
        model_id=inputs.card["model_id"],
        decisions=inputs.decisions,
        card=inputs.card,
        capacity=capacity,
        explore=explore,
        explore_seed=explore_seed,
    )
    policy_record = scored.attrs["scoring_policy"]
    cohort = resolve_policy(inputs.card, capacity=capacity)[0].cohort
    actions = {cid: str(d["action"]) for cid, d in inputs.decisions.items()}
    previous_scored = inputs.previous.scored if inputs.previous is not None else None
    scored = carry_over(scored, previous_scored, actions)
    n_candidates = int(scored["candidate"].astype(bool).sum())
    plan = None
    if inputs.handlers is not None:
        from crossexec_ml.decide import assign

        plan = assign(scored, inputs.handlers, n_candidates)
    if inputs.reference_cases is not None:
        drift = drift_report(
            cases,
            inputs.reference_cases,
            scored=scored,
            reference_scored=previous_scored,
            run_date=run_date,
            settings=monitor,
        )
    else:
        # No reference at all (a model trained before references were kept): freshness and
        # score spread can still be checked, against the stock itself.
        drift = drift_report(cases, cases, scored=scored, run_date=run_date, settings=monitor)
    counts = {
        "read": int(len(cases)),
        "valid": int(len(cases)),  # validation is all-or-nothing: an invalid row stops the run
        "stalled_cohort": int(stalled_cohort(cases, cohort).sum()),
        "scored": int(len(scored)),
        "ranked": int(scored["priority_rank"].notna().sum()),
        "candidates": n_candidates,
        "decided_in_ledger": int(scored["decided_action"].notna().sum()),
        "carried_over": int(scored["carried_over"].sum()),
    }
    shadow = None
    if inputs.challenger is not None and inputs.challenger_card is not None:
        # Scored for comparison only, at the champion's size, without the band's lottery;
        # nothing of it reaches the list, the plan or the ledger.
        challenger = score_cases(
            inputs.challenger,
            cases,
            model_id=inputs.challenger_card["model_id"],
            decisions=inputs.decisions,
            card=inputs.challenger_card,
            capacity=n_candidates,
        )
        shadow = shadow_compare(
            scored, challenger, challenger_id=inputs.challenger_card["model_id"]
        )
    return RunResult(
        scored=scored,
        plan=plan,
        drift=drift,
        changes=changes_since(scored, previous_scored),
        counts=counts,
        capacity=n_candidates,
        run_date=run_date,
        scoring_policy=policy_record,
        shadow=shadow,
    )


def _fairness_manifest(inputs: RunInputs) -> dict | None:
    if inputs.fairness is None or inputs.fairness_path is None:
        return None
    summary = inputs.fairness.get("summary", inputs.fairness)
    return {
        "file": inputs.fairness_path.name,
        "sha256": file_sha256(inputs.fairness_path),
        "model_id": summary.get("model_id"),
        "same_model": summary.get("model_id") == inputs.card["model_id"],
        "n_checks": summary.get("n_checks"),
        "n_flagged": summary.get("n_flagged"),
        "n_watch": summary.get("n_watch"),
    }


def _challenger_manifest(result: RunResult, inputs: RunInputs) -> dict | None:
    card, folder = inputs.challenger_card, inputs.challenger_dir
    if result.shadow is None or card is None or folder is None:
        return None
    return {
        "model_id": card["model_id"],
        "model_sha256": card.get("model_sha256"),
        "card_sha256": file_sha256(folder / CARD_FILE),
        "folder": str(folder),
        **result.shadow.counts,
    }


def _json_value(v: object) -> object:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def write_run(
    result: RunResult,
    inputs: RunInputs,
    out_dir: str | os.PathLike[str],
    *,
    run_id: str = "",
    started_at: str = "",
) -> dict:
    """Write a run's files into ``out_dir``, each atomically, the manifest last.

    Parameters
    ----------
    result : RunResult
    inputs : RunInputs
    out_dir : path-like
        Created if needed. ``crossexec rescore`` passes a temporary folder that it renames into
        place only when the whole run succeeded.
    run_id, started_at : str
        Set by the runner; a run started from the notebook itself gets its own.

    Returns
    -------
    dict
        The manifest as written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    run_id = run_id or f"{now:%Y%m%dT%H%M%SZ}-{inputs.card['model_id'][:6]}"
    scored = result.scored
    labels = dict(RUN_LABELS)
    write_table(scored, out / "scored.parquet")
    write_table(
        scored,
        out / "scored.xlsx",
        sheet_name="scored",
        labels=labels,
        extra_sheets=leader_sheets(scored, inputs.cases, inputs.card, result.scoring_policy),
    )
    files = ["scored.parquet", "scored.xlsx"]
    if result.plan is not None:
        from crossexec_ml.decide import PLAN_LABELS

        write_table(result.plan, out / "plan.xlsx", sheet_name="plan", labels=PLAN_LABELS)
        files.append("plan.xlsx")
    write_table(inputs.cases, out / "cases.parquet")
    files.append("cases.parquet")
    checks = [
        {k: _json_value(v) for k, v in row.items()}
        for row in result.drift.checks.to_dict(orient="records")
    ]
    manifest = {
        "run_id": run_id,
        "started_at": started_at or now.isoformat(timespec="seconds"),
        "finished_at": None,  # the runner stamps it when the whole run is in place
        "run_date": result.run_date.isoformat(),
        "package_version": __version__,
        "model": {
            "model_id": inputs.card["model_id"],
            "package_version": inputs.card.get("package_version"),
            "contract_version": inputs.card.get("contract_version"),
            "card_sha256": file_sha256(inputs.model_dir / CARD_FILE),
            "trained_until": inputs.card["training_data"]["as_of_max"],
        },
        "inputs": {
            "cases": {"file": inputs.cases_path.name, "sha256": file_sha256(inputs.cases_path)},
            "handlers": (
                {"file": inputs.handlers_path.name, "sha256": file_sha256(inputs.handlers_path)}
                if inputs.handlers_path
                else None
            ),
            "previous_run": inputs.previous.manifest["run_id"] if inputs.previous else None,
            "ledger": str(inputs.ledger_path) if inputs.ledger_path else None,
        },
        "rows": result.counts,
        "capacity": result.capacity,
        "tie_break_rule": TIE_BREAK_RULE,
        "scoring_policy": result.scoring_policy,
        "seed": inputs.card.get("seed"),
        "drift_reference": inputs.reference_source,
        "outcome": result.outcome,
        "alarms": list(result.drift.alarms),
        "checks": checks,
        "plan": None if result.plan is not None else "not made: no handlers file was given",
        "fairness": _fairness_manifest(inputs),
        "exploration": exploration_summary(result),
        "challenger": _challenger_manifest(result, inputs),
        "files": files + [MANIFEST_FILE],
    }
    with atomic_path(out / MANIFEST_FILE) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return manifest


def outcome_text(manifest: dict, lang: str = "zh") -> str:
    """The run's outcome as a few sentences a leader can read (Markdown).

    Parameters
    ----------
    manifest : dict
        From :func:`write_run`.
    lang : {"zh", "en"}

    Returns
    -------
    str
    """
    rows, alarms = manifest["rows"], manifest["alarms"]
    ref = manifest["drift_reference"]
    if lang == "zh":
        head = (
            f"本次运行 `{manifest['run_id']}`（{manifest['run_date']}）：读入 {rows['read']} 件，"
            f"停滞案件 {rows['stalled_cohort']} 件，排序 {rows['ranked']} 件，"
            f"本轮候选 {rows['candidates']} 件。模型 `{manifest['model']['model_id']}`。"
            f"漂移参照：{ref}。"
        )
        if not alarms:
            return head + "\n\n**结论：正常（ok）**，未发现漂移或数据陈旧。"
        return (
            head
            + "\n\n**结论：需要核查（drift）**。名单已生成，但使用前请先核查以下报警：\n\n"
            + "\n".join(f"- {a}" for a in alarms)
        )
    head = (
        f"Run `{manifest['run_id']}` ({manifest['run_date']}): {rows['read']} cases read, "
        f"{rows['stalled_cohort']} stalled, {rows['ranked']} ranked, {rows['candidates']} "
        f"candidates this cycle. Model `{manifest['model']['model_id']}`. Drift reference: {ref}."
    )
    if not alarms:
        return head + "\n\n**Outcome: ok**: no drift or staleness found."
    return (
        head + "\n\n**Outcome: drift**. The list was written, but check these alarms before using "
        "it:\n\n" + "\n".join(f"- {a}" for a in alarms)
    )


def _alarm_fields(check: dict, lang: str) -> dict[str, str]:
    column = str(check.get("column") or "")
    key = f"column.{column}"
    from crossexec_ml.text import catalogue

    value, threshold = float(check.get("value") or 0), float(check.get("threshold") or 0)
    return {
        "column": t(key, lang) if key in catalogue() else column,
        "value": f"{value:.2f}",
        "threshold": f"{threshold:g}",
        "share": fmt_percent(value, lang),
        "days": f"{value:.0f}",
        "limit": f"{threshold:.0f}",
    }


def alarm_sentences(manifest: dict, lang: str = "zh") -> list[str]:
    """The run's alarms in ``lang``, one sentence each (the manifest keeps them in English).

    Parameters
    ----------
    manifest : dict
        From :func:`write_run` (its ``checks`` table and ``alarms``).
    lang : {"zh", "en"}

    Returns
    -------
    list of str
        From the catalogue's ``rescore.alarm.<check>`` for each check whose status is
        ``alarm``; a check the catalogue does not know keeps the manifest's English sentence.
    """
    from crossexec_ml.text import catalogue

    checks = [c for c in manifest.get("checks") or [] if c.get("status") == "alarm"]
    english = [str(a) for a in manifest.get("alarms") or []]
    if len(checks) != len(english):  # an older manifest: its sentences as they are
        return english
    return [
        t(f"rescore.alarm.{c['check']}", lang, **_alarm_fields(c, lang))
        if f"rescore.alarm.{c['check']}" in catalogue()
        else said
        for c, said in zip(checks, english, strict=True)
    ]


def outcome_html(manifest: dict, lang: str = "zh") -> str:
    """The run's outcome as an HTML fragment (template ``rescore_outcome.html.j2``).

    The same sentences as :func:`outcome_text`, but every value (run id, model id, alarms) is
    escaped: Markdown would pass a tag in an alarm or an id through as HTML.

    Parameters
    ----------
    manifest : dict
        From :func:`write_run`.
    lang : {"zh", "en"}

    Returns
    -------
    str
    """
    from crossexec_ml.report import render

    t("tile.na", lang)  # checks lang
    return render(
        "rescore_outcome.html.j2",
        lang=lang,
        run_id=str(manifest["run_id"]),
        run_date=str(manifest["run_date"]),
        rows=manifest["rows"],
        model_id=str(manifest["model"]["model_id"]),
        reference=str(manifest["drift_reference"]),
        alarms=alarm_sentences(manifest, lang),
    )


def fairness_html(inputs: RunInputs, lang: str = "zh") -> str:
    """The fairness audit's summary for the report, or a note saying none was attached.

    Parameters
    ----------
    inputs : RunInputs
    lang : {"zh", "en"}

    Returns
    -------
    str
        An HTML fragment (template ``rescore_fairness.html.j2``), every value escaped.
    """
    from crossexec_ml.report import fairness_html as summary_fragment
    from crossexec_ml.report import render

    t("tile.na", lang)  # checks lang
    if inputs.fairness is None:
        return render("rescore_fairness.html.j2", lang=lang, attached=False)
    summary = inputs.fairness.get("summary", inputs.fairness)
    audited, model_id = summary.get("model_id"), inputs.card["model_id"]
    return render(
        "rescore_fairness.html.j2",
        lang=lang,
        attached=True,
        other_model=str(audited) if audited != model_id else None,
        model_id=str(model_id),
        summary=summary_fragment(inputs.fairness, lang),
    )


def top_table(scored: pd.DataFrame, lang: str = "zh", n: int = 20) -> pd.DataFrame:
    """The first ``n`` candidates as the report shows them: leaders' words, not codes.

    Parameters
    ----------
    scored : pandas.DataFrame
        This run's list (after :func:`crossexec_ml.report.carry_over`).
    lang : {"zh", "en"}
    n : int

    Returns
    -------
    pandas.DataFrame
        :data:`TOP_COLUMNS` (present ones, in that order) under the catalogue's
        ``top.column.*`` names; rungs and decisions named, 是/否 for the carried-over mark,
        probabilities in whole percents, the uplift in 个百分点, the main reason in ``lang``.
        Show it with :func:`crossexec_ml.report.table_html` (escaped).
    """
    from crossexec_ml.report import top_list

    t("tile.na", lang)  # checks lang
    top = top_list(scored).head(n).copy()
    top["suggested_rung"] = [rung_label(str(r), lang) for r in top["suggested_rung"]]
    top["carried_over"] = [t(f"bool.{str(bool(v)).lower()}", lang) for v in top["carried_over"]]
    top["decided_action"] = [
        value_label("action", a, lang) if isinstance(a, str) and a else ""
        for a in top["decided_action"]
    ]
    for column in ("p_keep", "p_cross"):
        if column in top:
            top[column] = [fmt_percent(v, lang) for v in top[column]]
    if "uplift" in top:
        top["uplift"] = [fmt_points(v, lang) for v in top["uplift"]]
    if lang == "zh":
        top["main_reason"] = top["top_reason_zh"]
    else:
        top["main_reason"] = top["reasons_en"].astype("string").str.split("; ").str[0]
    cols = [c for c in TOP_COLUMNS if c in top]
    return top[cols].rename(columns={c: t(f"top.column.{c}", lang) for c in cols})
