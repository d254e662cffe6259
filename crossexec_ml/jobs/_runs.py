"""The scheduled runs already written: see :mod:`crossexec_ml.data._runs` (reading a run folder is
reading; the workspace in ``apps`` reads runs without importing the jobs). Re-exported here for
``crossexec rescore --runs``, with the one thing only the job does: naming a new run's folder
(:func:`next_run_folder`).
"""

import os
from pathlib import Path

from crossexec_ml.data._runs import (  # noqa: F401  (re-exported by jobs/__init__)
    RUN_MANIFEST,
    RunInfo,
    list_runs,
    newest_run,
    read_run,
)
from crossexec_ml.jobs._rescore import MANIFEST_FILE

assert RUN_MANIFEST == MANIFEST_FILE, "the runs reader and the rescore job name one manifest"


def next_run_folder(runs_dir: str | os.PathLike[str], run_date: str) -> Path:
    """The folder a new run dated ``run_date`` goes into under ``runs_dir``.

    The first run of a day is ``<runs_dir>/<run_date>``; a second run the same day (a re-run by
    hand after a fix, say) is ``<run_date>-2``, then ``-3`` and so on, so that it neither clashes
    with nor replaces the earlier one. Any existing entry with that name, a run or anything
    else, is skipped; a run being written at the same moment holds a lock on the name it took,
    so a concurrent run is refused rather than given a second folder.

    Parameters
    ----------
    runs_dir : path-like
        The runs folder (need not exist yet).
    run_date : str
        The run date, ``YYYY-MM-DD``.

    Returns
    -------
    pathlib.Path
    """
    runs_dir = Path(runs_dir)
    folder, n = runs_dir / run_date, 1
    while folder.exists() or folder.is_symlink():
        n += 1
        folder = runs_dir / f"{run_date}-{n}"
    return folder
