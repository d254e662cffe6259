"""Faults: processes killed at random points, and many writers at once.

* ``crossexec decide`` and a decision-writing loop are killed (SIGKILL) at random moments: the
  ledger must still verify, and every decision whose ``record`` returned (acknowledged) must be
  there.
* ``crossexec rescore`` is stopped (SIGTERM, as a scheduler does) and killed (SIGKILL) at random
  moments while it replaces and while it creates a run: the previous run stays byte for byte
  as it was, no output folder ever appears half-written, and a SIGTERM leaves no temporary
  folder or lock file behind (a SIGKILL's are removed by the next run, and its lock does not
  block a new run into the same folder).
* 8 processes appending 200 decisions each to one ledger lose none: that test lives with
  the ledger's own tests (``tests/test_ledger.py``).

The default suite runs one case of each; ``make test-all`` runs the heavy variants (``slow``).
Each test prints how many faults it injected (``pytest -s`` shows it).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crossexec_ml.decide import Ledger
from crossexec_ml.jobs import train
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample"
CROSSEXEC = Path(sys.executable).parent / "crossexec"
RUN_DATE = "2026-11-28"


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


# --------------------------------------------------------------------------------------------
# The ledger under SIGKILL
# --------------------------------------------------------------------------------------------

_WRITER = """
import sys
from crossexec_ml.decide._ledger import Ledger
path, tag = sys.argv[1], sys.argv[2]
with Ledger(path) as led:
    for i in range(100000):
        led.record(f"case-{tag}-{i}", "keep", "L01", f"{tag} {i}")
        print(f"{tag} {i}", flush=True)  # acknowledged: record() returned
"""


def _kill_writers(path: Path, n_kills: int, rng: random.Random) -> tuple[set[str], int]:
    """Start a writer, SIGKILL it after a random delay, ``n_kills`` times; acknowledged rows."""
    acked: set[str] = set()
    for k in range(n_kills):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), f"w{k}"],
            stdout=subprocess.PIPE,
            text=True,
        )
        # The random delay starts at the writer's first acknowledged row, not at its start: on a
        # loaded machine the import alone can outlast the delay, and a writer killed before it
        # opened the ledger tests nothing.
        first = proc.stdout.readline().strip()
        time.sleep(rng.uniform(0.0, 1.2))
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        acked |= {line for line in [first, *out.splitlines()] if line}
    return acked, n_kills


def _decide_killed(path: Path, n_kills: int, rng: random.Random) -> tuple[set[str], int]:
    """Run ``crossexec decide`` and SIGKILL it at a random moment; the ones that finished."""
    finished: set[str] = set()
    for k in range(n_kills):
        reason = f"cli {k}"
        proc = subprocess.Popen(
            [
                str(CROSSEXEC),
                "decide",
                "--ledger",
                str(path),
                "--case",
                f"cli-case-{k}",
                "--action",
                "defer",
                "--by",
                "L02",
                "--reason",
                reason,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.0, 2.5))  # from start-up to well after a normal finish
        proc.send_signal(signal.SIGKILL)
        if proc.wait(timeout=30) == 0:
            finished.add(reason)
    return finished, n_kills


def _check_ledger(path: Path, acked: set[str]) -> None:
    with Ledger(path, create=False) as led:
        report = led.verify()
        reasons = set(led.rows()["reason"])
    assert report.ok, report.problems
    lost = acked - reasons
    assert not lost, f"acknowledged decisions lost: {sorted(lost)[:5]}"


def _ledger_faults(tmp_path: Path, n_writer_kills: int, n_cli_kills: int, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()  # the CLI's decide may be killed before it creates one
    acked, k1 = _kill_writers(path, n_writer_kills, rng)
    finished, k2 = _decide_killed(path, n_cli_kills, rng)
    _check_ledger(path, acked | finished)
    assert acked, "the writers never got to record anything: the test proved nothing"
    print(f"ledger: {k1 + k2} SIGKILLs, {len(acked) + len(finished)} acknowledged rows kept")


def test_killed_ledger_writers_lose_no_acknowledged_decision(tmp_path):
    _ledger_faults(tmp_path, n_writer_kills=3, n_cli_kills=3, seed=1)


@pytest.mark.slow
def test_killed_ledger_writers_lose_no_acknowledged_decision_many_times(tmp_path):
    _ledger_faults(tmp_path, n_writer_kills=25, n_cli_kills=25, seed=2)


# --------------------------------------------------------------------------------------------
# crossexec rescore under SIGTERM and SIGKILL
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory) -> dict[str, Path]:
    from crossexec_ml.jobs import run_rescore

    root = tmp_path_factory.mktemp("faults")
    model = root / "model"
    train(SAMPLE / "history.csv", model, progress=False)
    runs = root / "runs"
    runs.mkdir()
    prev = runs / "2026-11-21"
    outcome = run_rescore(SAMPLE / "current.csv", model, prev, as_of_date=RUN_DATE)
    assert outcome.exit_code == 0, outcome.message
    return {"model": model, "runs": runs, "prev": prev}


def _kernels_of(pid: int) -> list[int]:
    """Kernels started by process ``pid`` (jupyter_client sets JPY_PARENT_PID for them)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if f"JPY_PARENT_PID={pid}\0".encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except (OSError, ValueError):
            continue
    return found


def _wait_for_kernels_of(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _kernels_of(pid):
        if time.monotonic() > deadline:
            for k in _kernels_of(pid):
                os.kill(k, signal.SIGKILL)
            return False
        time.sleep(0.2)
    return True


def _complete(folder: Path) -> bool:
    """A whole run: a stamped manifest and every file it lists."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return bool(manifest["finished_at"]) and all((folder / f).is_file() for f in manifest["files"])


def _rescore_cmd(model: Path, prev: Path, out: Path, replace: bool) -> list[str]:
    cmd = [
        str(CROSSEXEC),
        "rescore",
        "--quiet",
        "--cases",
        str(SAMPLE / "current.csv"),
        "--model",
        str(model),
        "--previous",
        str(prev),
        "--out-dir",
        str(out),
        "--as-of-date",
        RUN_DATE,
    ]
    return [*cmd, "--replace"] if replace else cmd


def _kill_rescores(previous_run, kills: list[tuple[int, float, bool]], label: str) -> None:
    runs, prev, model = previous_run["runs"], previous_run["prev"], previous_run["model"]
    before = _tree(prev)
    codes: list[int] = []
    for i, (sig, delay, replace) in enumerate(kills):
        out = prev if replace else runs / f"{label}-{i}"
        assert replace or not out.exists()
        hidden_before = {p.name for p in runs.iterdir() if p.name.startswith(".")}
        proc = subprocess.Popen(
            _rescore_cmd(model, prev, out, replace),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(sig)
        code = proc.wait(timeout=120)
        # A SIGKILLed runner cannot stop its kernel (jupyter_client starts it in its own
        # session); ipykernel's parent poller ends it within about a second. Until then it may
        # still write into the run's hidden temp folder, so wait for it, as a scheduler's next
        # run (a week later) would.
        assert _wait_for_kernels_of(proc.pid, timeout=30), "the orphaned kernel kept running"
        codes.append(code)
        if replace:
            now = _tree(prev)
            # Either untouched, or (the signal came once the run was in place) wholly new.
            assert now == before or _complete(prev), (sig, delay, code)
            before = now
        else:
            assert _tree(prev) == before, (sig, delay, code)
            assert not out.exists() or _complete(out), (sig, delay, code)
        # A stopped run leaves nothing of its own (an earlier SIGKILL's leftovers may remain if
        # the stop came before this run got to remove them).
        hidden = sorted({p.name for p in runs.iterdir() if p.name.startswith(".")} - hidden_before)
        if sig == signal.SIGTERM:
            assert hidden == [], f"SIGTERM after {delay:.1f}s left {hidden}"
    # A SIGKILL may leave a hidden temporary folder and a lock file (its flock died with the
    # process): neither blocks the next run into the same folder, and the next run removes them.
    from crossexec_ml.jobs import run_rescore

    killed = [runs / f"{label}-{i}" for i, (_, _, replace) in enumerate(kills) if not replace]
    final = next((out for out in killed if not out.exists()), runs / f"{label}-after")
    outcome = run_rescore(
        SAMPLE / "current.csv", model, final, previous_dir=prev, as_of_date=RUN_DATE
    )
    assert outcome.exit_code == 0, outcome.message
    assert [p.name for p in runs.iterdir() if p.name.startswith(".")] == []
    print(
        f"rescore: {len(kills)} faults injected (exit codes {codes}); previous run intact or "
        "wholly replaced, no partial folder"
    )


@pytest.mark.notebook
def test_stopped_or_killed_rescore_leaves_the_previous_run_intact(previous_run):
    rng = random.Random(3)
    _kill_rescores(
        previous_run,
        [
            (signal.SIGTERM, rng.uniform(3.0, 8.0), True),
            (signal.SIGKILL, rng.uniform(3.0, 8.0), False),
        ],
        label="default",
    )


@pytest.mark.notebook
@pytest.mark.slow
def test_stopped_or_killed_rescore_many_times(previous_run):
    rng = random.Random(4)
    kills = [
        (rng.choice([signal.SIGTERM, signal.SIGKILL]), rng.uniform(0.2, 16.0), rng.random() < 0.5)
        for _ in range(12)
    ]
    _kill_rescores(previous_run, kills, label="many")
