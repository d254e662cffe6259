"""The sub-commands of ``crossexec``: each reads its arguments, calls the package, prints.

The parser that binds them to their options is :mod:`crossexec_ml.cli._parser`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crossexec_ml.data import (
    refuse_overwriting_inputs,
    validate_file,
)
from crossexec_ml.decide import band_counts
from crossexec_ml.errors import InputError


def _cmd_validate(args: argparse.Namespace) -> int:
    report = validate_file(
        args.path, kind=args.kind, sheet=args.sheet, batch_over_mb=VALIDATE_BATCH_MB
    )
    if report.ok:
        print(report.summary())
        return 0
    print(report.summary())
    print(report.problem_text())
    return 1


def _cmd_generate(args: argparse.Namespace) -> int:
    from crossexec_ml.data import make_cases, write_synthetic

    if args.out.exists() and not args.out.is_dir():
        raise InputError(
            f"{args.out} is a file; generate writes four files into a folder: "
            "give a folder with --out"
        )
    data = make_cases(
        n_history=args.n_history,
        n_current=args.n_current,
        pilot_share=args.pilot_share,
        seed=args.seed,
    )
    paths = write_synthetic(data, args.out)
    for p in paths:
        print(f"wrote {p}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from crossexec_ml.jobs import train

    card = train(args.cases, args.out, seed=args.seed, progress=not args.quiet)
    pooled = card["metrics"]["pooled"]
    print(f"model {card['model_id']} written to {args.out}")
    print(
        f"  trained on {card['training_data']['rows']} rows, "
        f"{card['training_data']['as_of_min']} .. {card['training_data']['as_of_max']}"
    )
    print("  temporal back-test (pooled test windows):")
    for key in ("auc", "pr_auc", "brier", "ece", "precision_at_k", "recall_at_k"):
        print(f"    {key:<16}{pooled[key]:.3f}")
    pilot = card["metrics"].get("pilot")
    if pilot:
        print(f"    pilot uplift@k  {pilot['uplift_at_k']:.3f}  (n={pilot['n_pilot']})")
    return 0


#: ``crossexec validate`` checks a CSV larger than this many MB batch by batch.
VALIDATE_BATCH_MB = 200


def _partitioned(args: argparse.Namespace) -> bool:
    """A folder out: the Dask engine, a folder or glob in, or ``--out`` a folder (no suffix)."""
    out = Path(args.out)
    return (
        args.engine == "dask"
        or Path(args.cases).is_dir()
        or any(ch in str(args.cases) for ch in "*?[")
        or out.is_dir()
        or (not out.exists() and out.suffix == "")
    )


#: ``crossexec score --out FILE.parquet|.csv`` scores one CSV larger than this many MB, or one
#: Parquet file of more rows than :data:`SCORE_STREAM_ROWS`, in pieces and merges the parts
#: into the file (memory bounded by the pieces); smaller inputs are scored in memory.
SCORE_STREAM_MB = 200

#: See :data:`SCORE_STREAM_MB` (600,000 rows: about 200 MB as CSV).
SCORE_STREAM_ROWS = 600_000


def _streamed(args: argparse.Namespace) -> bool:
    """One large CSV or Parquet file in, one .parquet or .csv file out: scored in pieces."""
    src, out = Path(args.cases), Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet") or not src.is_file():
        return False
    kind = src.suffix.lower()
    if kind in (".csv", ".txt"):
        return src.stat().st_size > SCORE_STREAM_MB * 2**20
    if kind in (".parquet", ".pq"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(src).metadata.num_rows > SCORE_STREAM_ROWS
        except (pa.ArrowInvalid, OSError):  # unreadable: the in-memory reader says what is wrong
            return False
    return False


def _case_inputs(cases: str) -> list[str]:
    """The paths ``--cases`` names: itself, and every file a glob pattern matches."""
    if any(ch in cases for ch in "*?["):
        import glob

        return [cases, *glob.glob(cases, recursive=True)]
    return [cases]


def _cmd_score(args: argparse.Namespace) -> int:
    from crossexec_ml.jobs import score

    # --capacity sets this cycle's candidates (the top-k and its floors), not just the printout;
    # it overrides only the capacity of the scoring policy saved in the model's card.

    if args.scheduler and args.engine != "dask":
        raise InputError("--scheduler is for --engine dask")
    refuse_overwriting_inputs(args.out, *_case_inputs(args.cases), args.model, args.ledger)
    if _partitioned(args):
        from crossexec_ml.jobs import score_partitioned
        from crossexec_ml.model import load_model

        if args.expect_model is not None:
            load_model(args.model, args.expect_model)  # the engines load the same folder

        run = score_partitioned(
            args.model,
            args.cases,
            args.out,
            engine=args.engine,
            scheduler=args.scheduler,
            ledger_path=args.ledger,
            capacity=args.capacity,
            explore=args.explore,
            explore_seed=args.explore_seed,
        )
        print(
            f"scored {run.n_rows} cases ({run.n_ranked} in the stalled cohort, "
            f"{run.n_candidates} candidates) with the {run.engine} engine -> {run.out_dir}/ "
            f"({run.n_parts} parts, ranked across all of them)"
        )
        return 0
    if _streamed(args):
        from crossexec_ml.jobs import score_to_file
        from crossexec_ml.model import load_model

        if args.expect_model is not None:
            load_model(args.model, args.expect_model)  # the engine loads the same folder
        _, merged = score_to_file(
            args.model,
            args.cases,
            args.out,
            ledger_path=args.ledger,
            capacity=args.capacity,
            explore=args.explore,
            explore_seed=args.explore_seed,
        )
        _print_list(merged.n_rows, merged.n_ranked, merged.shown, args.out)
        return 0
    scored = score(
        args.model,
        args.cases,
        args.out,
        ledger_path=args.ledger,
        capacity=args.capacity,
        expected_sha256=args.expect_model,
        explore=args.explore,
        explore_seed=args.explore_seed,
    )
    _print_list(len(scored), int(scored["priority_rank"].notna().sum()), scored, args.out)
    return 0


def _print_list(n_rows: int, n_ranked: int, shown, out) -> None:
    """The lines ``score`` prints; ``shown`` holds at least the candidates and the band."""
    top = shown[shown["priority_rank"].notna() & shown["candidate"].astype(bool)]
    print(f"scored {n_rows} cases ({n_ranked} in the stalled cohort) -> {out}")
    from crossexec_ml.settings import RUNGS

    # Every rung, in ladder order, even when nothing is proposed (an empty merged list's
    # category has no categories).
    rungs = top["suggested_rung"].astype(str).value_counts().reindex(RUNGS, fill_value=0)
    print(
        f"  top {len(top)}: expected extra resolutions {top['uplift'].sum():.1f}; rungs: "
        + ", ".join(f"{r} {n}" for r, n in rungs.items())
    )
    counts = band_counts(shown)
    if counts is not None and counts[0]:
        print(
            f"  exploration band: {counts[0]} cases around the cut, {counts[1]} drawn into the "
            "proposal at random (proposal_propensity 0.5); a person still decides each case"
        )
    elif counts is not None:
        print(
            "  exploration band: empty (the band rounds to no case at this capacity, or no case "
            "lies below the cut); the list is proposed as ranked"
        )


def _cmd_rescore(args: argparse.Namespace) -> int:
    from crossexec_ml.jobs import EXIT_FAILED, EXIT_INVALID, run_rescore, run_scheduled

    if args.runs is not None:
        given = {"--out-dir": args.out_dir, "--previous": args.previous, "--replace": args.replace}
        clash = [flag for flag, value in given.items() if value]
        if clash:
            print(
                f"refused, nothing written (exit 2): --runs chooses the run's folder and the "
                f"previous run itself; leave out {', '.join(clash)} (or use --out-dir "
                "[--previous] without --runs)",
                file=sys.stderr,
            )
            return EXIT_INVALID
    elif args.out_dir is None:
        print(
            "refused, nothing written (exit 2): give --runs DIR (a new dated folder in DIR, "
            "the newest earlier run as --previous) or --out-dir DIR",
            file=sys.stderr,
        )
        return EXIT_INVALID
    common = dict(
        handlers_path=args.handlers,
        capacity=args.capacity,
        explore=args.explore,
        explore_seed=args.explore_seed,
        ledger_path=args.ledger,
        as_of_date=args.as_of_date,
        fairness_path=args.fairness,
        expect_model=args.expect_model,
        challenger_dir=args.challenger,
        followup_cases=args.followup_cases,
        progress=not args.quiet,
        on_step=None if args.quiet else (lambda msg: print(f"rescore: {msg}", file=sys.stderr)),
    )
    if args.runs is not None:
        outcome = run_scheduled(args.cases, args.model, args.runs, **common)
    else:
        outcome = run_rescore(
            args.cases,
            args.model,
            args.out_dir,
            previous_dir=args.previous,
            replace=args.replace,
            **common,
        )
    if outcome.exit_code == EXIT_INVALID:
        print(f"refused, nothing written (exit 2):\n{outcome.message}", file=sys.stderr)
    elif outcome.exit_code == EXIT_FAILED:
        print(f"failed, no run written (exit 1): {outcome.message}", file=sys.stderr)
    else:
        print(outcome.message)
        rows = outcome.manifest["rows"]
        print(
            f"  {rows['read']} cases read, {rows['stalled_cohort']} stalled, "
            f"{rows['candidates']} candidates, {rows['carried_over']} carried over, "
            f"{rows['decided_in_ledger']} decided in the ledger"
        )
    return outcome.exit_code


def _cmd_card(args: argparse.Namespace) -> int:
    from crossexec_ml.report import write_card

    refuse_overwriting_inputs(args.out, args.model_dir, args.fairness)
    out = write_card(args.model_dir, args.out, fairness_path=args.fairness)
    print(f"model card written to {out}")
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from crossexec_ml.jobs import plan

    refuse_overwriting_inputs(args.out, args.scored, args.handlers, args.model)
    result = plan(
        args.scored,
        args.handlers,
        args.out,
        capacity=args.capacity,
        model_dir=args.model,
        expected_sha256=args.expect_model,
    )
    placed = result["target_handler_id"].notna() & (result["target_handler_id"] != "")
    escalated = result["escalation"].astype(bool) if "escalation" in result else placed & False
    unplaced = ~placed & ~escalated
    print(
        f"plan for {len(result)} case(s) -> {args.out}: {int(placed.sum())} to a new handler, "
        f"{int(escalated.sum())} to the higher court, {int(unplaced.sum())} not placed"
    )
    print(
        f"  expected extra resolutions of the placed and escalated cases: "
        f"{result.loc[placed | escalated, 'expected_gain'].sum():.1f}"
    )
    implausible = result.attrs.get("plan_summary", {}).get("implausible_slots", {})
    if implausible:
        named = ", ".join(f"{h} {n:,}" for h, n in list(implausible.items())[:10])
        print(
            f"  warning: {len(implausible)} handler(s) have implausibly many open slots ({named}"
            f"{' ...' if len(implausible) > 10 else ''}); each was given at most the cases of "
            "its rung: check the handlers file"
        )
    print("  this is a proposal: a person decides (crossexec decide ...)")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import json

    from crossexec_ml.data import atomic_path
    from crossexec_ml.jobs import evaluate_saved

    refuse_overwriting_inputs(args.json, args.model, args.cases, args.truth)
    result = evaluate_saved(args.model, args.cases, truth_path=args.truth, progress=print)
    pooled = result["backtest"]["pooled"]
    print(f"model {result['model_id']}: temporal back-test, pooled over test windows")
    for key, value in pooled.items():
        print(f"  {key:<46}{value:.4f}" if isinstance(value, float) else f"  {key:<46}{value}")
    for key, value in result["backtest"].get("pilot", {}).items():
        if isinstance(value, float):
            print(f"  pilot {key:<40}{value:.4f}")
    if "out_of_time" in result:
        oot = result["out_of_time"]
        print(f"  saved model on {oot['n']} later rows: AUC {oot['auc']:.3f}")
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _cmd_fairness(args: argparse.Namespace) -> int:
    from crossexec_ml.evaluate import audit_saved, summary_text
    from crossexec_ml.report import write_fairness_report
    from crossexec_ml.settings import FairnessSettings

    suffix = args.out.suffix.lower()
    if suffix not in (".xlsx", ".html", ".json"):
        raise InputError(
            f"{args.out.name}: the fairness audit is written as .xlsx, .html or .json, "
            f"not {suffix or 'a file without extension'}"
        )
    refuse_overwriting_inputs(args.out, args.model, args.cases, args.truth)
    try:
        settings = FairnessSettings(
            capacity_share=args.capacity_share,
            min_group_size=args.min_group_size,
            seed=args.seed,
        )
    except ValueError as err:
        raise InputError(f"invalid setting: {err}") from None
    audit = audit_saved(
        args.model,
        args.cases,
        truth_path=args.truth,
        settings=settings,
        progress=None if args.quiet else print,
    )
    write_fairness_report(audit, args.out)
    print(summary_text(audit.summary(), "en"))
    print(f"wrote {args.out}")
    return 0


def _scores_shown(
    scored_path: Path | None, case_id: str
) -> tuple[dict | None, str | None, str | None]:
    """The scores a decider saw for a case in a scored list: (scores, model_id, as_of)."""
    if scored_path is None:
        return None, None, None
    import pandas as pd

    from crossexec_ml.data import read_scored
    from crossexec_ml.decide import scores_shown

    scored = read_scored(scored_path)
    rows = scored[scored["case_id"] == case_id]
    if rows.empty:
        raise InputError(f"{scored_path.name}: case {case_id!r} is not in this scored list")
    row = rows.iloc[0]
    shown = scores_shown(row)
    as_of = pd.Timestamp(row["as_of_date"]).strftime("%Y-%m-%d")
    return shown, str(row.get("model_id") or "") or None, as_of


def _cmd_decide(args: argparse.Namespace) -> int:
    from crossexec_ml.decide import Ledger

    scores, model_id, as_of = _scores_shown(args.scored, args.case)
    with Ledger(args.ledger) as ledger:
        row = ledger.record(
            args.case,
            args.action,
            args.by,
            args.reason,
            target_handler_id=args.target,
            model_id=model_id,
            scores=scores,
            as_of_date=as_of,
            supersedes=args.supersedes,
        )
    print(f"recorded decision #{row['seq']} for {row['case_id']}: {row['action']}")
    return 0


def _cmd_ledger(args: argparse.Namespace) -> int:
    from crossexec_ml.decide import Ledger, verify_ledger

    # Read-only: an auditor without write access can verify, show and export; a damaged file
    # is a broken verdict (exit 1), never a traceback.
    if args.what == "init":
        # An empty ledger for a new installation (rescore's --ledger must exist); an existing
        # ledger is opened and left as it is.
        with Ledger(args.ledger, create=True) as ledger:
            print(f"ledger {ledger.path}: {ledger.n_rows} decision(s)")
        return 0
    if args.what == "verify":
        report = verify_ledger(args.ledger)
        print(report)
        return 0 if report.ok else 1
    if args.what == "export":
        # Checked before the ledger is opened: nothing, not even SQLite's -wal/-shm, appears.
        if args.out is None:
            raise InputError("ledger export needs --out FILE.xlsx (or .csv / .parquet)")
        refuse_overwriting_inputs(args.out, args.ledger)
    with Ledger(args.ledger, create=False, read_only=True) as ledger:
        if args.what == "show":
            latest = ledger.latest()
            cols = [
                "case_id",
                "action",
                "action_zh",
                "target_handler_id",
                "decided_by",
                "decided_at",
                "n_decisions",
            ]
            print(f"{ledger.n_rows} decision(s) on {len(latest)} case(s)")
            if len(latest):
                print(latest[cols].to_string(index=False))
            return 0
        path = ledger.export(args.out)
        print(f"wrote {path}")
        return 0


def _cmd_followup(args: argparse.Namespace) -> int:
    from crossexec_ml.data import read_cases
    from crossexec_ml.evaluate import follow_up_ledger
    from crossexec_ml.jobs import known_models, proposed_cases
    from crossexec_ml.report import write_followup

    refuse_overwriting_inputs(args.out, args.ledger, args.cases)
    later = read_cases(args.cases)
    models = known_models(args.runs) if args.runs else None
    proposals = proposed_cases(args.runs) if args.runs else None
    result = follow_up_ledger(str(args.ledger), later, known_models=models, proposals=proposals)
    path = write_followup(result, args.out, lang=args.lang)
    counts = result.to_json()
    undecided = (
        f"; {counts['n_undecided']} proposed case(s) nobody decided, followed up as kept"
        if args.runs
        else ""
    )
    print(
        f"wrote {path}: {counts['n_cases']} decided case(s), {counts['n_known']} with a known "
        f"outcome{undecided}"
    )
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    import json

    import pandas as pd

    from crossexec_ml.data import atomic_path, read_cases
    from crossexec_ml.evaluate import compare_models
    from crossexec_ml.model import load_model
    from crossexec_ml.report import comparison_lines
    from crossexec_ml.settings import resolve_policy

    refuse_overwriting_inputs(args.json, *args.models, args.cases)
    (champion, card), (challenger, challenger_card) = (load_model(m) for m in args.models)
    policy, _ = resolve_policy(card)
    history = read_cases(args.cases)
    result = compare_models(
        history,
        champion.predict_rungs,
        challenger.predict_rungs,
        names=(str(args.models[0]), str(args.models[1])),
        share=args.share,
        ladder=policy.ladder,
        priority=policy.priority,
    )
    print("\n".join(comparison_lines(result)))
    trained = max(pd.Timestamp(c["training_data"]["as_of_max"]) for c in (card, challenger_card))
    overlap = int((pd.to_datetime(history["as_of_date"]) <= trained).sum())
    if overlap:
        print(
            f"warning: {overlap} of {len(history)} row(s) are dated on or before "
            f"{trained:%Y-%m-%d}, the last screening date a model was trained on: a model "
            "judged on rows it was trained on looks better than it is; compare on a later export",
            file=sys.stderr,
        )
    if args.json:
        with atomic_path(args.json) as tmp:
            tmp.write_text(json.dumps(result.to_json(), indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0
