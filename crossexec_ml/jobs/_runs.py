"""The scheduled runs already written: see :mod:`crossexec_ml.data._runs` (reading a run folder is
reading; the workspace in ``apps`` reads runs without importing the jobs). Re-exported here for
``crossexec rescore --runs``.
"""

from crossexec_ml.data._runs import (  # noqa: F401  (re-exported by jobs/__init__)
    RUN_MANIFEST,
    RunInfo,
    list_runs,
    newest_run,
    read_run,
)
from crossexec_ml.jobs._rescore import MANIFEST_FILE

assert RUN_MANIFEST == MANIFEST_FILE, "the runs reader and the rescore job name one manifest"
