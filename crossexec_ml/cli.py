"""The ``crossexec`` command: thin wrappers over the package's modules.

Every sub-command reads through :mod:`crossexec_ml.io` (so bad input always gets the same
clear error) and writes atomically. Exit codes: 0 success, 1 invalid input or failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from crossexec_ml import __version__
from crossexec_ml.io import InputError, ValidationError, validate_file

__all__ = ["main"]


def _cmd_validate(args: argparse.Namespace) -> int:
    report = validate_file(args.path, kind=args.kind, sheet=args.sheet)
    if report.ok:
        print(report.summary())
        return 0
    print(report.summary())
    print(report.problem_text())
    return 1


def _cmd_generate(args: argparse.Namespace) -> int:
    from crossexec_ml.datasets import make_cases, write_synthetic

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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crossexec`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The process exit code.
    """
    args = _parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except ValidationError as err:
        print(err.report.problem_text(), file=sys.stderr)
        return 1
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
