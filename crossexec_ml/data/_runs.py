"""The scheduled runs already written: which folders under a runs directory are finished runs.

Shared by ``crossexec rescore --runs DIR`` (which takes the newest earlier run as its drift
reference by itself) and by the leader's workspace (which shows the newest run). Reading a run
folder is reading, so it lives in ``data`` and the workspace (``apps``) needs no jobs import;
``crossexec_ml.jobs`` offers the same names. A folder
counts as a run when it holds a readable ``manifest.json`` with a ``run_id``; runs are ordered
by when they started (the manifest's ``started_at``), not by folder name, so two runs on one day
or hand-named folders still come out in the order they were made. Hidden folders (a run still
being written, ``.<name>.tmp-…``) and ``failed/`` are never runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

#: The manifest a finished run writes (``crossexec_ml.jobs.MANIFEST_FILE`` is the same name).
RUN_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class RunInfo:
    """One finished run: its folder and the manifest it wrote.

    Attributes
    ----------
    folder : Path
        The run's folder.
    run_id : str
        The manifest's run id (``YYYYMMDDTHHMMSSZ-xxxxxx``).
    started_at : str
        ISO timestamp the run started (UTC).
    run_date : str
        The run date (``YYYY-MM-DD``).
    outcome : str
        ``ok``, ``drift`` or ``stale`` as the manifest says (empty when it says nothing).
    manifest : dict
        The whole manifest.
    """

    folder: Path
    run_id: str
    started_at: str
    run_date: str
    outcome: str
    manifest: dict = field(repr=False, compare=False, hash=False)


def read_run(folder: str | os.PathLike[str]) -> RunInfo | None:
    """The run in ``folder``, or None when it holds no readable run manifest.

    Parameters
    ----------
    folder : path-like
        A folder that may hold a run.

    Returns
    -------
    RunInfo or None
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / RUN_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not manifest.get("run_id"):
        return None
    return RunInfo(
        folder=folder,
        run_id=str(manifest["run_id"]),
        started_at=str(manifest.get("started_at") or ""),
        run_date=str(manifest.get("run_date") or ""),
        outcome=str(manifest.get("outcome") or ""),
        manifest=manifest,
    )


def list_runs(runs_dir: str | os.PathLike[str]) -> list[RunInfo]:
    """Every finished run directly under ``runs_dir``, oldest first.

    Parameters
    ----------
    runs_dir : path-like
        The folder the scheduler writes its runs into (``reports/rescore/`` by default).
        A missing folder has no runs.

    Returns
    -------
    list of RunInfo
        Ordered by ``started_at``, then run id; hidden folders, links and folders without a
        readable manifest are left out.
    """
    runs_dir = Path(runs_dir)
    try:
        entries = list(os.scandir(runs_dir))
    except (FileNotFoundError, NotADirectoryError):
        return []
    runs = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        run = read_run(entry.path)
        if run is not None:
            runs.append(run)
    return sorted(runs, key=lambda r: (r.started_at, r.run_id))


def newest_run(runs_dir: str | os.PathLike[str]) -> RunInfo | None:
    """The most recently started run under ``runs_dir``, or None when there is none.

    Parameters
    ----------
    runs_dir : path-like
        The runs folder.

    Returns
    -------
    RunInfo or None
    """
    runs = list_runs(runs_dir)
    return runs[-1] if runs else None
