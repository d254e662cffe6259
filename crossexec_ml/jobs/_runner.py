"""``crossexec rescore``: run notebook 05 unattended, all-or-nothing, with honest exit codes.

A scheduler (cron, a systemd timer) calls this once a week. It

1. checks every input in this process first (cases, handlers, model, previous run, output
   folder), so invalid input exits with code 2 before anything is created;
2. executes ``notebooks/05_rescore.ipynb`` with papermill on the project's kernel, into a
   hidden temporary folder beside the output folder;
3. turns the executed notebook into ``report.html`` (self-contained: plotly.js embedded, no
   network), stamps ``manifest.json``, and renames the folder into place only then.

A failure leaves no output folder and does not touch the previous run; the executed notebook
with the error is kept in ``failed/`` beside the output folder for diagnosis.

Nothing but a run is ever replaced or removed: ``replace`` swaps out only a folder this command
wrote (its ``manifest.json`` and nothing but a run's own files); without it the final rename
refuses an existing folder even if it appeared during the run. A lock file beside the output
folder (``.<name>.lock``, ``flock``) refuses a second run into the same folder at once; the
kernel releases it when a run dies, and the next run removes the file.

Exit codes: :data:`EXIT_OK` 0, :data:`EXIT_FAILED` 1, :data:`EXIT_INVALID` 2 (nothing
written), :data:`EXIT_DRIFT` 3 (drift or stale input; outputs written, the manifest says why).
"""

from __future__ import annotations

import ctypes
import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crossexec_ml.data import ValidationError, atomic_path
from crossexec_ml.errors import CrossExecError, LedgerError
from crossexec_ml.jobs import _learning as learning
from crossexec_ml.jobs._notebook import kernel_config, report_html
from crossexec_ml.jobs._rescore import MANIFEST_FILE, RUN_FILES, load_run_inputs
from crossexec_ml.jobs._runs import RunInfo, list_runs, next_run_folder

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_DRIFT = 0, 1, 2, 3
KERNEL = "crossexec-ml"
#: The notebook the scheduler runs (the repository's copy: the package is installed editable).
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_rescore.ipynb"
EXECUTED_NOTEBOOK = "rescore.ipynb"
REPORT_FILE = "report.html"
_TMP_PREFIX = ".tmp-"
#: A run's hidden temporary folder: ``.<out-dir name>.tmp-<run id>-<pid>``.
_TMP_NAME = re.compile(r"\..+\.tmp-\d{8}T\d{6}Z-[0-9a-f]{6}-(?P<pid>\d+)")
_LOCK_SUFFIX = ".lock"


@dataclass
class RescoreOutcome:
    """What a run did: the exit code, where its files are, and what to tell the operator."""

    exit_code: int
    message: str
    out_dir: Path | None = None
    manifest: dict | None = None
    failed_notebook: Path | None = None


#: Every file a run's folder may hold: what the notebook writes and what the runner adds.
_RUN_FOLDER_FILES: frozenset[str] = frozenset(
    {*RUN_FILES, REPORT_FILE, EXECUTED_NOTEBOOK, *learning.FOLLOWUP_FILES}
)


class _Refused(Exception):
    """A run that must stop before it writes anything (exit 2): the sentence says why."""


def _not_a_run(folder: Path) -> str | None:
    """Why ``folder`` is not a run this command wrote, or None when it is one.

    A run folder holds a readable ``manifest.json`` with a run id, and nothing but a run's own
    files (:data:`_RUN_FOLDER_FILES`), each a regular file: no sub-folder, no link, nothing else.
    """
    if folder.is_symlink():
        return "it is a symbolic link"
    if not folder.is_dir():
        return "it is not a folder"
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    foreign = [
        e.name + ("/" if e.is_dir(follow_symlinks=False) else "")
        for e in entries
        if e.name not in _RUN_FOLDER_FILES or not e.is_file(follow_symlinks=False)
    ]
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        return f"it holds {shown}, which no run writes"
    try:
        manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"it has no {MANIFEST_FILE}"
    except (OSError, ValueError) as exc:
        return f"its {MANIFEST_FILE} is not readable ({exc})"
    if not isinstance(manifest, dict) or not manifest.get("run_id"):
        return f"its {MANIFEST_FILE} is not a run manifest (no run_id)"
    return None


def _check_out_dir(out_dir: Path, replace: bool) -> str | None:
    """The output folder's problem (cheap checks, nothing read or written), or None."""
    if out_dir.exists() or out_dir.is_symlink():
        if not replace:
            if not out_dir.is_dir():
                return f"--out-dir {out_dir} is a file, not a folder"
            return (
                f"--out-dir {out_dir} already exists; give each run its own (dated) folder, or "
                "pass --replace to swap an earlier run in it for the new run once the new run "
                "has succeeded"
            )
        why = _not_a_run(out_dir)
        if why:
            return (
                f"--replace refuses --out-dir {out_dir}: {why}, so it is not a run folder "
                "written by `crossexec rescore`; nothing was touched. --replace only swaps out "
                "an earlier run's own folder (such as runs/2026-11-28), never a folder holding "
                "anything else"
            )
    parent = next((p for p in out_dir.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        return f"--out-dir {out_dir}: {parent} is a file, not a folder"
    if parent is None or not os.access(parent, os.W_OK | os.X_OK):
        return f"--out-dir {out_dir}: cannot write in {parent}; choose a folder you can write to"
    return None


def _check_inputs(
    cases_path: Path,
    model_dir: Path,
    handlers_path: Path | None,
    previous_dir: Path | None,
    ledger_path: Path | None,
    fairness_path: Path | None = None,
    expect_model: str | None = None,
    challenger_dir: Path | None = None,
) -> str | None:
    """Every input check that can fail before anything is written; the problem, or None."""
    if not NOTEBOOK.is_file():
        return f"{NOTEBOOK} is missing: run crossexec rescore from a checkout of the project"
    try:
        # Validates all the notebook reads (it reads again: refusing first is worth the read).
        load_run_inputs(
            cases_path,
            model_dir,
            handlers_path=handlers_path,
            previous_dir=previous_dir,
            ledger_path=ledger_path,
            fairness_path=fairness_path,
            expected_sha256=expect_model,
            challenger_dir=challenger_dir,
        )
    except ValidationError as err:
        return err.report.summary() + "\n" + err.report.problem_text()
    except LedgerError as err:
        return f"--ledger {err}"
    except CrossExecError as err:
        return str(err)
    return None


def _lock_path(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}{_LOCK_SUFFIX}"


def _flock_or_none(path: Path) -> int | None:
    """Open and ``flock`` the lock file at ``path`` (created if needed); None if it is held.

    Loops until the locked file is still the one at ``path``: a run that finishes removes its
    lock file while holding it, so a file opened just before that is no lock any more.
    """
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _holder(path: Path) -> str:
    """Who holds the lock at ``path``, as the refusal names it."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {info['pid']}, started {info['started_at']}, run {info['run_id']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "it has only just started"


def _ours(lock: Path) -> bool:
    """Whether ``lock`` is a run's lock file (another program's is never touched)."""
    try:
        info = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(info, dict)
        and {"pid", "started_at", "run_id"} <= info.keys()
        and re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", str(info["run_id"])) is not None
    )


@contextmanager
def _out_dir_lock(out_dir: Path, run_id: str, started: dt.datetime) -> Iterator[None]:
    """Hold ``.<out-dir name>.lock`` beside ``out_dir`` for the whole run; remove it after.

    Raises
    ------
    _Refused
        When another run holds it (the sentence names that run's pid and start time).
    """
    path = _lock_path(out_dir)
    try:
        fd = _flock_or_none(path)
    except OSError as exc:  # a link or a folder in its place, no permission
        raise _Refused(f"cannot take the lock {path} ({exc.strerror or exc})") from None
    if fd is None:
        raise _Refused(
            f"another `crossexec rescore` is already writing --out-dir {out_dir} ({_holder(path)}; "
            f"lock {path}); wait for it to finish, or give this run its own folder"
        )
    try:
        info = {"pid": os.getpid(), "started_at": f"{started:%Y-%m-%dT%H:%M:%SZ}", "run_id": run_id}
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps(info).encode())
        yield
    finally:
        try:
            path.unlink()  # still holding it: whoever opens the file now retries on the new one
        except FileNotFoundError:
            pass
        os.close(fd)


def _remove_stale_temps(out_dir: Path) -> None:
    """Leftovers beside ``out_dir`` of earlier runs that were killed: their temporary folders
    (the process is gone) and their lock files (nobody holds them)."""
    for tmp in out_dir.parent.glob(f".*{_TMP_PREFIX}*"):
        match = _TMP_NAME.fullmatch(tmp.name)
        if match and tmp.is_dir() and not tmp.is_symlink() and not _alive(int(match["pid"])):
            shutil.rmtree(tmp, ignore_errors=True)
    for lock in out_dir.parent.glob(f".*{_LOCK_SUFFIX}"):
        if lock == _lock_path(out_dir) or lock.is_symlink() or not _ours(lock):
            continue
        try:
            fd = _flock_or_none(lock)
        except OSError:
            continue
        if fd is not None:
            lock.unlink(missing_ok=True)
            os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM (a scheduler's stop, ``kill``) into an exception so cleanup runs."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _keep_failed(executed: Path, out_dir: Path, run_id: str) -> Path | None:
    if not executed.is_file():
        return None
    failed = out_dir.parent / "failed"
    failed.mkdir(exist_ok=True)
    dest = failed / f"{out_dir.name}-{run_id}.ipynb"
    shutil.move(str(executed), dest)
    return dest


def run_rescore(
    cases_path: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    handlers_path: str | os.PathLike[str] | None = None,
    capacity: int | None = None,
    explore: float | None = None,
    explore_seed: int | None = None,
    previous_dir: str | os.PathLike[str] | None = None,
    ledger_path: str | os.PathLike[str] | None = None,
    as_of_date: str | None = None,
    fairness_path: str | os.PathLike[str] | None = None,
    replace: bool = False,
    expect_model: str | None = None,
    challenger_dir: str | os.PathLike[str] | None = None,
    followup_cases: str | os.PathLike[str] | None = None,
    progress: bool = False,
    notebook: str | os.PathLike[str] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> RescoreOutcome:
    """Run one scheduled re-scoring into ``out_dir``, all or nothing.

    Parameters
    ----------
    cases_path : path-like
        The stalled stock (CSV/XLSX/Parquet).
    model_dir : path-like
        Folder from ``crossexec train``.
    out_dir : path-like
        The run's folder; must not exist unless ``replace``. A second run into the same
        folder while this one works is refused (exit 2), naming this run.
    handlers_path : path-like, optional
        Handlers file; without it no ``plan.xlsx`` is made.
    capacity : int, optional
        Cases to reassign or escalate this cycle (default 10% of the ranked stock).
    explore, explore_seed : optional
        The exploration band and its seed (``--explore``, ``--explore-seed``; the seed
        defaults to the run date as YYYYMMDD, so each week draws afresh; the band is off unless
        given): the list keeps ``proposal_propensity``, the plan proposes the band's draw, and
        the manifest's ``scoring_policy`` names both.
    previous_dir : path-like, optional
        The previous run's folder (drift reference; carried-over cases are marked).
    ledger_path : path-like, optional
        Decision ledger (decided cases are marked and not proposed again); it must exist (a
        mistyped path is refused with exit 2, never read as "nothing decided").
    as_of_date : str, optional
        The run's date ``YYYY-MM-DD`` for the freshness check (default: today, UTC).
    fairness_path : path-like, optional
        JSON from ``crossexec fairness``: its summary goes into the report and manifest.
    replace : bool
        Replace an existing ``out_dir``, only once the new run has fully succeeded, and only
        when it is an earlier run's folder (its ``manifest.json`` and nothing but a run's own
        files); any other folder is refused (exit 2) and left untouched.
    expect_model : str, optional
        The approved model's SHA-256 or ``model_id`` (``--expect-model``): another model file
        in ``model_dir`` is refused (exit 2) before anything is written.
    challenger_dir : path-like, optional
        A challenger model (``--challenger``) scoring the same cases in the shadow: the report
        shows where its list differs and the manifest records its model id and SHA-256; only
        the champion's list is written. A folder that is not a model is refused (exit 2).
    followup_cases : path-like, optional
        A later export with outcomes (``--followup-cases``, needs ``ledger_path``): the ledger's
        decisions are followed up into ``followup.json`` and ``followup.html`` in the run's
        folder. An export the follow-up refuses refuses the run (exit 2), nothing written.
    progress : bool
        papermill's cell progress bar.
    notebook : path-like, optional
        Another copy of notebook 05 (tests use this to force a failure).
    on_step : callable, optional
        Called with a short message at each step (the CLI prints them).

    Returns
    -------
    RescoreOutcome
    """
    say = on_step or (lambda _msg: None)
    started = dt.datetime.now(dt.UTC)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    dest = Path(out_dir).absolute()
    cases_path, model_dir = Path(cases_path).absolute(), Path(model_dir).absolute()
    handlers = Path(handlers_path).absolute() if handlers_path else None
    previous = Path(previous_dir).absolute() if previous_dir else None
    fairness = Path(fairness_path).absolute() if fairness_path else None
    ledger = Path(ledger_path).absolute() if ledger_path else None
    challenger = Path(challenger_dir).absolute() if challenger_dir else None
    later = Path(followup_cases).absolute() if followup_cases else None
    if as_of_date:
        try:
            dt.date.fromisoformat(as_of_date)
        except ValueError:
            return RescoreOutcome(EXIT_INVALID, f"--as-of-date {as_of_date!r}: use YYYY-MM-DD")
    if explore and explore_seed is None:
        # A fixed seed would draw the same band places every week (not independent draws):
        # the run date (YYYYMMDD) is the seed, recorded in the manifest like a given one.
        explore_seed = int((as_of_date or f"{started:%Y-%m-%d}").replace("-", ""))
    say("checking inputs")
    problem = _check_out_dir(dest, replace)
    if problem:
        return RescoreOutcome(EXIT_INVALID, problem)
    made = [p for p in (dest.parent, *dest.parent.parents) if not p.exists()]
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)  # where the lock file goes
        with _terminate_cleanly(), _out_dir_lock(dest, run_id, started):
            # Checked again under the lock: a run that just finished may have made it.
            problem = _check_out_dir(dest, replace)
            if problem:
                raise _Refused(problem)
            # First, so that a run stopped while it checks its inputs leaves no one's garbage.
            _remove_stale_temps(dest)
            problem = _check_inputs(
                cases_path,
                model_dir,
                handlers,
                previous,
                ledger,
                fairness,
                expect_model,
                challenger,
            )
            if problem:
                raise _Refused(problem)
            followup = None
            if later is not None:
                models = learning.known_models(dest.parent, model_dir, challenger)
                proposed = learning.proposed_cases(dest.parent)
                followup, problem = learning.check_followup(ledger, later, models, proposed)
                if problem:
                    raise _Refused(problem)
            made = []
            return _run_locked(
                source=Path(notebook) if notebook else NOTEBOOK,
                dest=dest,
                run_id=run_id,
                started=started,
                replace=replace,
                progress=progress,
                say=say,
                followup=followup,
                parameters={
                    "cases_path": str(cases_path),
                    "model_dir": str(model_dir),
                    "handlers_path": str(handlers) if handlers else "",
                    "out_dir": "",  # the temporary folder, set by _run_locked
                    "capacity": capacity,
                    "explore": explore,
                    "explore_seed": explore_seed,
                    "previous_dir": str(previous) if previous else "",
                    "as_of_date": as_of_date or "",
                    "ledger_path": str(ledger) if ledger else "",
                    "fairness_path": str(fairness) if fairness else "",
                    "expect_model": expect_model or "",
                    "challenger_dir": str(challenger) if challenger else "",
                    "run_id": run_id,
                    "started_at": started.isoformat(timespec="seconds"),
                },
            )
    except _Refused as refused:
        return RescoreOutcome(EXIT_INVALID, str(refused))
    finally:
        for folder in made:  # folders made only to hold the lock of a refused run
            try:
                folder.rmdir()
            except OSError:
                break


def run_scheduled(
    cases_path: str | os.PathLike[str],
    model_dir: str | os.PathLike[str],
    runs_dir: str | os.PathLike[str],
    *,
    as_of_date: str | None = None,
    **options: object,
) -> RescoreOutcome:
    """One scheduled run into a new dated folder under ``runs_dir`` (``crossexec rescore --runs``).

    The run goes into ``<runs_dir>/<run date>/`` (``<run date>-2`` and so on for a later run the
    same day, :func:`~crossexec_ml.jobs.next_run_folder`) and is compared with the newest run
    already in ``runs_dir`` (by the manifests' start time, :func:`~crossexec_ml.jobs.newest_run`;
    a run folder damaged by hand, missing its lists, is passed over for the one before it);
    the first run, with none before it, is compared with the model's training data. So the same
    command line works every week from the first one on.

    Parameters
    ----------
    cases_path, model_dir
        As for :func:`run_rescore`.
    runs_dir : path-like
        The folder holding every run (made when missing).
    as_of_date : str, optional
        The run date ``YYYY-MM-DD`` for the freshness check and the folder's name (default:
        today; the folder takes the machine's local date, the check today in UTC).
    **options
        Any other keyword of :func:`run_rescore` except ``out_dir``, ``previous_dir`` and
        ``replace``, which this function decides.

    Returns
    -------
    RescoreOutcome
    """
    taken = {"out_dir", "previous_dir", "replace"} & options.keys()
    if taken:
        raise TypeError(f"run_scheduled chooses {', '.join(sorted(taken))} itself")
    runs = Path(runs_dir).absolute()
    if runs.exists() and not runs.is_dir():
        return RescoreOutcome(EXIT_INVALID, f"--runs {runs} is a file, not a folder")
    if as_of_date:
        try:
            dt.date.fromisoformat(as_of_date)
        except ValueError:
            return RescoreOutcome(EXIT_INVALID, f"--as-of-date {as_of_date!r}: use YYYY-MM-DD")
    # The folder is named by the machine's local date, as `date +%F` in a crontab would; the
    # freshness check keeps its own date (``as_of_date``, default today UTC).
    run_date = as_of_date or dt.date.today().isoformat()
    previous = _newest_usable_run(runs)
    return run_rescore(
        cases_path,
        model_dir,
        next_run_folder(runs, run_date),
        previous_dir=previous.folder if previous else None,
        as_of_date=as_of_date,
        **options,  # type: ignore[arg-type]
    )


#: What an earlier run must still hold to be compared with (besides its manifest).
_PREVIOUS_NEEDS = ("scored.parquet", "cases.parquet")


def _newest_usable_run(runs_dir: Path) -> RunInfo | None:
    """The newest run in ``runs_dir`` that a new run can be compared with.

    A run folder damaged by hand (a file deleted) is passed over for the one before it, rather
    than refusing every scheduled run from then on; the manifest names the run compared with.
    """
    usable = [
        run
        for run in list_runs(runs_dir)
        if all((run.folder / f).is_file() for f in _PREVIOUS_NEEDS)
    ]
    return usable[-1] if usable else None


def _run_locked(
    *,
    source: Path,
    dest: Path,
    run_id: str,
    started: dt.datetime,
    replace: bool,
    progress: bool,
    say: Callable[[str], None],
    parameters: dict[str, object],
    followup: learning.RunFollowUp | None = None,
) -> RescoreOutcome:
    """The run itself, under the output folder's lock: notebook, report, manifest, rename."""
    import papermill

    tmp = dest.parent / f".{dest.name}{_TMP_PREFIX}{run_id}-{os.getpid()}"
    executed = tmp / EXECUTED_NOTEBOOK
    try:
        tmp.mkdir()
        say(f"running {source.name} (run {run_id})")
        try:
            papermill.execute_notebook(
                str(source),
                str(executed),
                parameters={**parameters, "out_dir": str(tmp)},
                kernel_name=KERNEL,
                cwd=str(source.parent),
                progress_bar=progress,
                config=kernel_config(),  # no plain-text-TCP warning in the weekly log
            )
        except Exception as err:  # a failing cell, or a kernel that died or never started
            kept = _keep_failed(executed, dest, run_id)
            if isinstance(err, papermill.PapermillExecutionError):
                why = f"the notebook failed in cell {err.exec_count}: {err.ename}: {err.evalue}"
            else:
                why = f"the run failed: {type(err).__name__}: {err}"
            where = f"\nthe executed notebook is kept in {kept}" if kept else ""
            return RescoreOutcome(EXIT_FAILED, why + where, failed_notebook=kept)
        say("writing report.html")
        (tmp / REPORT_FILE).write_text(
            report_html(executed, f"重新评分 Re-scoring {run_id}"), encoding="utf-8"
        )
        manifest = json.loads((tmp / MANIFEST_FILE).read_text(encoding="utf-8"))
        manifest["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest["notebook"] = source.name
        manifest["files"] = sorted({*manifest["files"], REPORT_FILE, EXECUTED_NOTEBOOK})
        learning.add_followup(tmp, manifest, followup)  # followup.json/.html beside the list
        with atomic_path(tmp / MANIFEST_FILE) as mtmp:
            mtmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        try:
            _move_into_place(tmp, dest, run_id, replace=replace)
        except (FileExistsError, _Refused) as err:
            kept = _keep_failed(tmp / EXECUTED_NOTEBOOK, dest, run_id)
            where = f"; the executed notebook is kept in {kept}" if kept else ""
            return RescoreOutcome(
                EXIT_FAILED,
                f"{err}; this run's results were not moved there{where}",
                failed_notebook=kept,
            )
    except BaseException:
        _kill_children()
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    code = EXIT_DRIFT if manifest["outcome"] != "ok" else EXIT_OK
    message = f"run {run_id}: {manifest['outcome']} -> {dest}"
    if manifest["alarms"]:
        message += "\n" + "\n".join(f"  alarm: {a}" for a in manifest["alarms"])
    return RescoreOutcome(code, message, out_dir=dest, manifest=manifest)


def _renameat2(a: Path, b: Path, flags: int) -> int:
    """Linux ``renameat2(a, b, flags)``: 0 when done, else the errno (ENOSYS when the system
    or the C library has no such call)."""
    if sys.platform != "linux":
        return errno.ENOSYS
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return errno.ENOSYS
    at_fdcwd = -100
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), flags)
    return 0 if done == 0 else ctypes.get_errno()


_RENAME_NOREPLACE, _RENAME_EXCHANGE = 1, 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if
    the system cannot."""
    return _renameat2(a, b, _RENAME_EXCHANGE) == 0


def _rename_new(tmp: Path, dest: Path) -> None:
    """Rename ``tmp`` to ``dest`` only if ``dest`` does not exist, in one step that cannot race.

    ``renameat2(RENAME_NOREPLACE)`` where the system offers it; elsewhere ``mkdir(dest)``
    claims the name (it fails if anything is there) and the rename replaces only that empty
    folder (it fails if anything was put in it meanwhile).

    Raises
    ------
    FileExistsError
        When ``dest`` exists; nothing at ``dest`` was touched.
    """
    exists = FileExistsError(
        errno.EEXIST,
        f"--out-dir {dest} appeared while this run was working (made by another process); "
        "it was not replaced",
    )
    code = _renameat2(tmp, dest, _RENAME_NOREPLACE)
    if code == 0:
        return
    if code == errno.EEXIST:
        raise exists
    if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        raise OSError(code, os.strerror(code), str(dest))
    try:
        os.mkdir(dest)
    except FileExistsError:
        raise exists from None
    try:
        os.rename(tmp, dest)
    except OSError as err:
        if err.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise exists from None
        os.rmdir(dest)
        raise


def _move_into_place(tmp: Path, dest: Path, run_id: str, *, replace: bool = False) -> None:
    """Rename the finished run onto ``dest``; with ``replace`` an earlier run there is swapped
    out, then removed.

    Without ``replace`` the rename refuses an existing ``dest`` (:func:`_rename_new`), even
    one that appeared during the run. With it, ``dest`` is checked once more to be a run
    folder this command wrote, right before it is swapped out. SIGTERM is held back meanwhile,
    so a stop cannot land between two renames; replacing an existing run is one atomic
    exchange where the system offers it (Linux), so even a SIGKILL leaves either the old run
    or the new one at ``dest``.

    Raises
    ------
    FileExistsError
        ``dest`` exists and ``replace`` is False.
    _Refused
        ``dest`` is no longer an earlier run's folder.
    """
    blocked = {signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        if not replace or not (dest.exists() or dest.is_symlink()):
            _rename_new(tmp, dest)
            return
        why = _not_a_run(dest)
        if why:
            raise _Refused(f"--out-dir {dest} changed during the run ({why}); it was not replaced")
        if _exchange(tmp, dest):
            shutil.rmtree(tmp, ignore_errors=True)  # now holds the previous run
        else:
            old = dest.parent / f".{dest.name}.old-{run_id}"
            os.rename(dest, old)
            try:
                os.rename(tmp, dest)
            except BaseException:
                os.rename(old, dest)  # put the previous run back
                raise
            shutil.rmtree(old, ignore_errors=True)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)


def _kill_children() -> None:
    """Stop this process's children (the notebook's kernel) after an interrupted run.

    papermill shuts the kernel down when a run ends normally or fails in a cell; after a
    SIGTERM it may not, and a kernel still running its last cell would write into the
    temporary folder after it was removed.
    """
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == me:
            try:
                os.kill(int(stat.parent.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
