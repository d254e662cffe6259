"""The ``crossexec`` command: thin wrappers over the package's modules.

Every sub-command reads through :mod:`crossexec_ml.data` (so bad input always gets the same
clear error) and writes atomically. Exit codes: 0 success, 1 invalid input or failure;
``rescore`` distinguishes 1 failed, 2 invalid input and 3 drift or stale input (see
:mod:`crossexec_ml.jobs`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from crossexec_ml.cli._parser import _parser
from crossexec_ml.data import ValidationError, allowing_personal_columns
from crossexec_ml.errors import CrossExecError

__all__ = ["main"]


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
        with allowing_personal_columns(getattr(args, "allow_personal_columns", False)):
            return func(args)
    except ValidationError as err:
        print(err.report.problem_text(), file=sys.stderr)
        return 1
    except CrossExecError as err:  # every refusal of the package: one sentence, exit 1
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # every output is written atomically: nothing half-written
        print(
            "interrupted: every output is written whole or not at all, none is half-written",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
