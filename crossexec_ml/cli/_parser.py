"""The ``crossexec`` argument parser: every sub-command, its options and their checks."""

from __future__ import annotations

import argparse
from pathlib import Path

from crossexec_ml import __version__
from crossexec_ml.cli._commands import (
    _cmd_card,
    _cmd_compare,
    _cmd_decide,
    _cmd_evaluate,
    _cmd_fairness,
    _cmd_followup,
    _cmd_generate,
    _cmd_ledger,
    _cmd_plan,
    _cmd_rescore,
    _cmd_score,
    _cmd_train,
    _cmd_validate,
)
from crossexec_ml.decide import ACTIONS, code_shape


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="crossexec",
        description=(
            "Rank stalled enforcement cases for cross-execution (交叉执行). "
            "The tool ranks, explains and records; a person decides."
        ),
    )
    p.add_argument("--version", action="version", version=f"crossexec_ml {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser(
        "validate",
        help="check a case or handler export against the data contract (writes nothing)",
    )
    v.add_argument("path", help="CSV (UTF-8/GBK), XLSX or Parquet file")
    v.add_argument("--kind", choices=["cases", "handlers"], default="cases")
    v.add_argument("--sheet", default=None, help="XLSX sheet name (default: the first sheet)")
    _allow_personal_option(v)
    v.set_defaults(func=_cmd_validate)

    g = sub.add_parser(
        "generate",
        help="write synthetic history/current/truth/handlers files with a known truth",
    )
    g.add_argument("--out", required=True, type=Path, help="output folder")
    g.add_argument("--n-history", type=int, default=6000)
    g.add_argument("--n-current", type=int, default=1500)
    g.add_argument("--pilot-share", type=float, default=0.2)
    g.add_argument("--seed", type=int, default=7)
    g.set_defaults(func=_cmd_generate)

    t = sub.add_parser(
        "train", help="validate history, back-test over time, fit, write model.skops + card.json"
    )
    t.add_argument("--cases", required=True, help="historical export with outcomes")
    t.add_argument("--out", required=True, type=Path, help="model folder")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    _allow_personal_option(t)
    t.set_defaults(func=_cmd_train)

    s = sub.add_parser("score", help="score cases with a trained model into a ranked list")
    s.add_argument("--model", required=True, type=Path, help="model folder from `train`")
    s.add_argument(
        "--cases",
        required=True,
        help="cases to score (CSV/XLSX/Parquet); a folder or glob of them scores partitioned "
        "data into a folder of Parquet parts",
    )
    s.add_argument(
        "--out", required=True, type=Path, help=".csv, .parquet or .xlsx; or a folder for parts"
    )
    s.add_argument("--capacity", type=int, default=None, help="cases to reassign this cycle")
    _explore_options(s)
    s.add_argument(
        "--ledger", type=Path, default=None, help="decision ledger: decided cases are marked"
    )
    s.add_argument(
        "--engine",
        choices=("pandas", "dask"),
        default="pandas",
        help="pandas: in memory, or piece by piece for a folder or glob of CSV/XLSX/Parquet "
        "or a folder --out; dask: the pieces on a local Dask cluster or --scheduler, into a "
        "folder of Parquet parts",
    )
    s.add_argument(
        "--scheduler", default=None, help="Dask scheduler address (default: a local cluster)"
    )
    _expect_model_option(s)
    _allow_personal_option(s)
    s.set_defaults(func=_cmd_score)

    pl = sub.add_parser(
        "plan", help="propose who takes each top case (capacity-aware; a person decides)"
    )
    pl.add_argument("--scored", required=True, type=Path, help="scored .parquet or .csv")
    pl.add_argument("--handlers", required=True, type=Path, help="handlers file")
    pl.add_argument("--capacity", type=int, default=None, help="cases to move this cycle")
    pl.add_argument("--out", required=True, type=Path, help="PLAN.csv or PLAN.xlsx")
    pl.add_argument("--model", type=Path, default=None, help="refuse lists from other models")
    _expect_model_option(pl)
    _allow_personal_option(pl)
    pl.set_defaults(func=_cmd_plan)

    r = sub.add_parser(
        "rescore",
        help="scheduled re-scoring: run notebook 05 into a new folder, all or nothing "
        "(exit 0 ok, 1 failed, 2 invalid input, 3 drift or stale input)",
    )
    r.add_argument("--cases", required=True, help="the stalled stock (CSV/XLSX/Parquet)")
    r.add_argument("--model", required=True, type=Path, help="model folder from `train`")
    r.add_argument(
        "--runs",
        type=Path,
        default=None,
        help="the folder of all runs (for a schedule): this run goes into RUNS/<date>/ "
        "(<date>-2 for a second run that day) and is compared with the newest run in RUNS; "
        "not with --out-dir, --previous or --replace",
    )
    r.add_argument(
        "--out-dir",
        type=Path,
        default=None,
        help="new folder for this run, instead of --runs (one run at a time: a lock file beside "
        "it)",
    )
    r.add_argument("--handlers", type=Path, default=None, help="handlers file (for plan.xlsx)")
    r.add_argument("--capacity", type=int, default=None, help="cases to reassign this cycle")
    _explore_options(r)
    r.add_argument(
        "--previous",
        type=Path,
        default=None,
        help="with --out-dir: the previous run's folder (leave it out on a first run)",
    )
    r.add_argument(
        "--ledger",
        type=Path,
        default=None,
        help="decision ledger (marks decisions); must exist: a missing file is refused",
    )
    r.add_argument(
        "--as-of-date", default=None, help="run date for the freshness check (default today)"
    )
    _expect_model_option(r)
    r.add_argument(
        "--challenger",
        type=Path,
        default=None,
        metavar="DIR",
        help="a challenger model folder: scores the same cases in the shadow; the report shows "
        "where its list differs, only the --model list goes to leaders",
    )
    r.add_argument(
        "--fairness", type=Path, default=None, help="JSON from `crossexec fairness` (report)"
    )
    r.add_argument(
        "--followup-cases",
        type=Path,
        metavar="LATER_EXPORT",
        help="a later export with outcomes: the --ledger's decisions are followed up into "
        "followup.json/.html in the run's folder (the workspace shows them)",
    )
    r.add_argument(
        "--replace",
        action="store_true",
        help="replace --out-dir once the new run succeeded; only an earlier run's own folder",
    )
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.set_defaults(func=_cmd_rescore)

    e = sub.add_parser("evaluate", help="temporal back-test of a model's method on a history")
    e.add_argument("--model", required=True, type=Path)
    e.add_argument("--cases", required=True, help="historical export with outcomes")
    e.add_argument("--truth", default=None, help="synthetic truth.csv (optional)")
    e.add_argument("--json", default=None, type=Path, help="also write the metrics as JSON")
    _allow_personal_option(e)
    e.set_defaults(func=_cmd_evaluate)

    fa = sub.add_parser(
        "fairness",
        help="fairness audit of the top-k list on history, by group (out-of-sample back-test)",
    )
    fa.add_argument("--model", required=True, type=Path, help="model folder from `train`")
    fa.add_argument("--cases", required=True, help="historical export with outcomes")
    fa.add_argument("--out", required=True, type=Path, help="OUT.xlsx, OUT.html or OUT.json")
    fa.add_argument(
        "--capacity-share", type=float, default=0.10, help="k as a share of each date's cases"
    )
    fa.add_argument("--min-group-size", type=int, default=30, help="no verdict for smaller groups")
    fa.add_argument("--truth", default=None, help="synthetic truth.csv: pilot rows, true gains")
    fa.add_argument("--seed", type=int, default=0, help="seed of the bootstrap intervals")
    fa.add_argument("--quiet", action="store_true", help="no progress output")
    _allow_personal_option(fa)
    fa.set_defaults(func=_cmd_fairness)

    d = sub.add_parser(
        "decide", help="record a person's decision on a case in the ledger (动态台账)"
    )
    d.add_argument("--ledger", type=Path, default=Path("var/ledger.sqlite"))
    d.add_argument("--case", required=True, help="case number (案号)")
    d.add_argument(
        "--action",
        required=True,
        choices=ACTIONS,
    )
    d.add_argument(
        "--by",
        required=True,
        help=f"who decided (决定人): {code_shape()}",
    )
    d.add_argument("--reason", required=True, help="why (决定理由), required")
    d.add_argument(
        "--target",
        default=None,
        help="receiving handler's code (reassign only), the same shape as --by",
    )
    d.add_argument(
        "--scored", type=Path, default=None, help="scored list shown (records model and scores)"
    )
    d.add_argument("--supersedes", type=int, default=None, help="ledger row this one corrects")
    d.set_defaults(func=_cmd_decide)

    c = sub.add_parser(
        "card", help="render a model's card as one HTML page for filing (refuses altered models)"
    )
    c.add_argument("model_dir", type=Path, help="model folder from `train`")
    c.add_argument("--out", required=True, type=Path, help="card.html")
    c.add_argument(
        "--fairness", type=Path, default=None, help="JSON from `crossexec fairness` to include"
    )
    c.set_defaults(func=_cmd_card)

    lg = sub.add_parser("ledger", help="show, export or verify the decision ledger")
    lg.add_argument("what", choices=["init", "show", "export", "verify"])
    lg.add_argument("--ledger", type=Path, default=Path("var/ledger.sqlite"))
    lg.add_argument("--out", type=Path, default=None, help="export: .xlsx, .csv or .parquet")
    lg.set_defaults(func=_cmd_ledger)

    fu = sub.add_parser(
        "followup",
        help="what happened to the decided cases: realised against predicted resolution rates",
    )
    fu.add_argument("--ledger", type=Path, default=Path("var/ledger.sqlite"))
    fu.add_argument("--cases", required=True, type=Path, help="a later export with outcomes")
    fu.add_argument("--out", required=True, type=Path, help=".html, .xlsx or .json")
    fu.add_argument(
        "--runs",
        type=Path,
        help="runs folder: follow up the cases its runs proposed that nobody decided, and "
        "refuse a ledger made on none of its models",
    )
    fu.add_argument("--lang", choices=["zh", "en"], default="zh")
    _allow_personal_option(fu)
    fu.set_defaults(func=_cmd_followup)

    cm = sub.add_parser(
        "compare",
        help=(
            "champion against challenger: on randomised cases (pilot or exploration band), "
            "and on the rest by the truth-free criteria of model selection"
        ),
    )
    cm.add_argument(
        "--models", nargs=2, required=True, type=Path, metavar=("CHAMPION", "CHALLENGER")
    )
    cm.add_argument(
        "--cases",
        required=True,
        type=Path,
        help="a later history with outcomes (randomised rows give the unbiased check)",
    )
    cm.add_argument(
        "--share",
        type=_share,
        default=0.10,
        help="capacity share of each screening date's list, in (0, 1] (default 0.1); a share "
        "of the rows the history holds on that date, so give the whole export",
    )
    cm.add_argument("--json", type=Path, default=None, help="write the comparison here")
    _allow_personal_option(cm)
    cm.set_defaults(func=_cmd_compare)
    return p


def _expect_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--expect-model",
        default=None,
        metavar="SHA",
        help="refuse the model folder unless its model file has this SHA-256 (64 hex digits) "
        "or model_id (the first 12), as recorded when the model was approved",
    )


def _share(text: str) -> float:
    """A capacity share: more than 0, at most 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a capacity share: more than 0, at most 1 (e.g. 0.1)"
        )
    return value


def _band(text: str) -> float:
    """An exploration band: a share of the capacity between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a share of the capacity between 0 and 1 (e.g. 0.2)"
        )
    return value


def _explore_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--explore",
        type=_band,
        default=None,
        metavar="BAND",
        help="exploration band (off by default), e.g. 0.2: of the round(BAND x k) cases on each "
        "side of the capacity cut, half are drawn into the proposal at random (propensity 1/2, "
        "recorded in the list and the ledger); a person still decides every case",
    )
    parser.add_argument(
        "--explore-seed",
        type=int,
        default=None,
        help="seed of the band's draw (score: default 0; rescore: the run date as YYYYMMDD, so "
        "each run draws afresh)",
    )


def _allow_personal_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-personal-columns",
        action="store_true",
        help="drop extra columns that look like personal data (姓名, 身份证号, 手机号...) on "
        "reading instead of refusing the file; they are never used or written",
    )
