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

Exit codes: :data:`EXIT_OK` 0, :data:`EXIT_FAILED` 1, :data:`EXIT_INVALID` 2 (nothing
written), :data:`EXIT_DRIFT` 3 (drift or stale input; outputs written, the manifest says why).
"""

from __future__ import annotations

import ctypes
import datetime as dt
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
from crossexec_ml.errors import InputError, ModelFileError
from crossexec_ml.jobs._rescore import MANIFEST_FILE, load_run_inputs

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_DRIFT = 0, 1, 2, 3
KERNEL = "crossexec-ml"
#: The notebook the scheduler runs (the repository's copy: the package is installed editable).
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "05_rescore.ipynb"
EXECUTED_NOTEBOOK = "rescore.ipynb"
REPORT_FILE = "report.html"
_TEMPLATES = Path(__file__).resolve().parents[1] / "report" / "templates"
_TMP_PREFIX = ".tmp-"
# plotly's notebook renderer adds a MathJax <script> from a CDN to every figure (hard-coded in
# plotly.io._base_renderers); the report uses no LaTeX, and it must not reach the network.
_CDN_SCRIPT = re.compile(r'<script[^>]*\ssrc="https?://[^"]*"[^>]*>\s*</script>')


@dataclass
class RescoreOutcome:
    """What a run did: the exit code, where its files are, and what to tell the operator."""

    exit_code: int
    message: str
    out_dir: Path | None = None
    manifest: dict | None = None
    failed_notebook: Path | None = None


def report_html(executed: Path, title: str) -> str:
    """Render an executed notebook as a self-contained HTML report (no code, no network).

    Parameters
    ----------
    executed : pathlib.Path
        The executed ``.ipynb``.
    title : str
        The page title.

    Returns
    -------
    str
        HTML that opens offline: plotly.js is embedded once by the notebook renderer, and the
        CDN scripts of nbconvert's lab template and of plotly's MathJax hook are left out.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html is not None:
                text = "".join(html) if isinstance(html, list) else html
                output["data"]["text/html"] = _CDN_SCRIPT.sub("", text)
    exporter = HTMLExporter(
        extra_template_basedirs=[str(_TEMPLATES)],
        template_name="crossexec_report",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


def _preflight(
    cases_path: Path,
    model_dir: Path,
    out_dir: Path,
    handlers_path: Path | None,
    previous_dir: Path | None,
    replace: bool,
    fairness_path: Path | None = None,
) -> str | None:
    """Every check that can fail before anything is written; the problem, or None."""
    if out_dir.exists() and not replace:
        return (
            f"--out-dir {out_dir} already exists; give each run its own (dated) folder, or pass "
            "--replace to swap it for the new run once the new run has succeeded"
        )
    if out_dir.exists() and not out_dir.is_dir():
        return f"--out-dir {out_dir} is a file, not a folder"
    parent = next((p for p in out_dir.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        return f"--out-dir {out_dir}: {parent} is a file, not a folder"
    if parent is None or not os.access(parent, os.W_OK | os.X_OK):
        return f"--out-dir {out_dir}: cannot write in {parent}; choose a folder you can write to"
    if not NOTEBOOK.is_file():
        return f"{NOTEBOOK} is missing: run crossexec rescore from a checkout of the project"
    try:
        # Reads and validates everything the notebook will read (the notebook reads it again:
        # a clear refusal before anything is created is worth the second read).
        load_run_inputs(
            cases_path,
            model_dir,
            handlers_path=handlers_path,
            previous_dir=previous_dir,
            fairness_path=fairness_path,
        )
    except ValidationError as err:
        return err.report.summary() + "\n" + err.report.problem_text()
    except (InputError, ModelFileError) as err:
        return str(err)
    return None


def _remove_stale_temps(out_dir: Path) -> None:
    """Temporary folders of earlier runs beside ``out_dir`` whose process is gone (killed)."""
    for tmp in out_dir.parent.glob(f".*{_TMP_PREFIX}*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


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
    previous_dir: str | os.PathLike[str] | None = None,
    ledger_path: str | os.PathLike[str] | None = None,
    as_of_date: str | None = None,
    fairness_path: str | os.PathLike[str] | None = None,
    replace: bool = False,
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
        The run's folder; must not exist unless ``replace``.
    handlers_path : path-like, optional
        Handlers file; without it no ``plan.xlsx`` is made.
    capacity : int, optional
        Cases to reassign or escalate this cycle (default 10% of the ranked stock).
    previous_dir : path-like, optional
        The previous run's folder (drift reference; carried-over cases are marked).
    ledger_path : path-like, optional
        Decision ledger (decided cases are marked and not proposed again).
    as_of_date : str, optional
        The run's date ``YYYY-MM-DD`` for the freshness check (default: today, UTC).
    fairness_path : path-like, optional
        JSON from ``crossexec fairness``: its summary goes into the report and manifest.
    replace : bool
        Replace an existing ``out_dir``, only once the new run has fully succeeded.
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
    import papermill

    say = on_step or (lambda _msg: None)
    started = dt.datetime.now(dt.UTC)
    run_id = f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"
    dest = Path(out_dir).absolute()
    cases_path, model_dir = Path(cases_path).absolute(), Path(model_dir).absolute()
    handlers = Path(handlers_path).absolute() if handlers_path else None
    previous = Path(previous_dir).absolute() if previous_dir else None
    fairness = Path(fairness_path).absolute() if fairness_path else None
    if as_of_date:
        try:
            dt.date.fromisoformat(as_of_date)
        except ValueError:
            return RescoreOutcome(EXIT_INVALID, f"--as-of-date {as_of_date!r}: use YYYY-MM-DD")
    say("checking inputs")
    problem = _preflight(cases_path, model_dir, dest, handlers, previous, replace, fairness)
    if problem:
        return RescoreOutcome(EXIT_INVALID, problem)
    source = Path(notebook) if notebook else NOTEBOOK
    _remove_stale_temps(dest)
    tmp = dest.parent / f".{dest.name}{_TMP_PREFIX}{run_id}-{os.getpid()}"
    executed = tmp / EXECUTED_NOTEBOOK
    with _terminate_cleanly():
        try:
            tmp.mkdir(parents=True)
            say(f"running {source.name} (run {run_id})")
            try:
                papermill.execute_notebook(
                    str(source),
                    str(executed),
                    parameters={
                        "cases_path": str(cases_path),
                        "model_dir": str(model_dir),
                        "handlers_path": str(handlers) if handlers else "",
                        "out_dir": str(tmp),
                        "capacity": capacity,
                        "previous_dir": str(previous) if previous else "",
                        "as_of_date": as_of_date or "",
                        "ledger_path": str(Path(ledger_path).absolute()) if ledger_path else "",
                        "fairness_path": str(fairness) if fairness else "",
                        "run_id": run_id,
                        "started_at": started.isoformat(timespec="seconds"),
                    },
                    kernel_name=KERNEL,
                    cwd=str(source.parent),
                    progress_bar=progress,
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
            with atomic_path(tmp / MANIFEST_FILE) as mtmp:
                mtmp.write_text(
                    json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
                )
            _move_into_place(tmp, dest, run_id)
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


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False if
    the system cannot."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return done == 0


def _move_into_place(tmp: Path, dest: Path, run_id: str) -> None:
    """Rename the finished run onto ``dest``; an existing ``dest`` is swapped out, then removed.

    SIGTERM is held back meanwhile, so a stop cannot land between two renames; replacing an
    existing run is one atomic exchange where the system offers it (Linux), so even a SIGKILL
    leaves either the old run or the new one at ``dest``.
    """
    blocked = {signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        if not dest.exists():
            os.rename(tmp, dest)
        elif _exchange(tmp, dest):
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
