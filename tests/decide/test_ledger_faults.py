"""The ledger under real faults: codes, a full disk, read-only auditors, damaged bytes."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl  # noqa: F401  (loaded before a forked auditor drops its rights)
import pytest

from crossexec_ml.cli import main
from crossexec_ml.decide import Ledger, code_shape, verify_ledger
from crossexec_ml.decide import _ledger as ledger_module
from crossexec_ml.errors import LedgerError
from crossexec_ml.settings import DEFAULT_CODE_PATTERN, LedgerSettings
from crossexec_ml.text import t

CASE = "(2023)湘0103执1号"
NOT_DAMAGED = "the ledger is not damaged"


def fill(path: Path, n: int) -> None:
    with Ledger(path) as led:
        for i in range(n):
            led.record(f"(2023)湘0103执{i % 7 + 1}号", "keep", f"L{i % 3:03d}", f"理由 {i}")


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --------------------------------------------------------------------------------------------
# 11. A decider is a code, not a name
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("decided_by", "张三局长"),
        ("decided_by", "L 007"),
        ("decided_by", "L" * 33),
        ("decided_by", "@L007"),
        ("target_handler_id", "王五"),
        ("target_handler_id", "H012;drop"),
    ],
)
def test_a_name_or_odd_code_is_refused_saying_the_shape(
    tmp_path: Path, field: str, value: str
) -> None:
    args: dict[str, Any] = {
        "case_id": CASE,
        "action": "reassign_intra_team",
        "decided_by": "L007",
        "reason": "财产线索未穷尽",
        "target_handler_id": "H012",
    }
    args[field] = value
    with Ledger(tmp_path / "l.sqlite") as led:
        with pytest.raises(LedgerError, match=f"{field} is not a code") as err:
            led.record(**args)
        assert "letters, digits, - or _" in str(err.value) and "L007" in str(err.value)
        assert value not in str(err.value)  # a name is never repeated
        assert led.n_rows == 0
        ok = led.record(**{**args, field: "ju-li_3" if field == "decided_by" else "H-0012"})
        assert ok["seq"] == 1


def test_ledger_settings_are_validated_and_a_court_pattern_is_used(tmp_path: Path) -> None:
    assert LedgerSettings().decider_pattern == DEFAULT_CODE_PATTERN
    for bad in ("(", ".*", "", 7):
        with pytest.raises(ValueError, match="decider_pattern"):
            LedgerSettings(decider_pattern=bad)  # type: ignore[arg-type]
    court = LedgerSettings(decider_pattern=r"[A-Z]\d{3}")
    with Ledger(tmp_path / "l.sqlite", settings=court) as led:
        with pytest.raises(LedgerError, match=r"matching the pattern \[A-Z\]\\d\{3\}"):
            led.record(CASE, "keep", "L07", "r")
        assert led.record(CASE, "keep", "L007", "r")["decided_by"] == "L007"


def test_rows_written_before_the_rule_still_verify_and_chain(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    with Ledger(path, settings=LedgerSettings(decider_pattern=r".{1,64}")) as led:
        led.record(CASE, "keep", "张三局长", "旧台账的一行")
    report = verify_ledger(path)
    assert report.ok and report.n_rows == 1
    with Ledger(path) as led:  # the default rule: new rows only
        led.record(CASE, "defer", "L007", "新的一行")
        assert led.verify().ok
        assert list(led.rows()["decided_by"]) == ["张三局长", "L007"]


def test_the_shape_is_said_in_the_cli_help_and_refusal_and_the_picker_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        main(["decide", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert code_shape() in help_text
    db = tmp_path / "l.sqlite"
    argv = ["decide", "--ledger", str(db), "--case", CASE, "--action", "keep"]
    assert main([*argv, "--by", "张三局长", "--reason", "r"]) == 1
    err = capsys.readouterr().err
    assert "decided_by is not a code" in err and "张三" not in err
    assert main([*argv, "--by", "L007", "--reason", "r"]) == 0
    # The picker's decider field shows this catalogue hint as its placeholder, in both languages.
    for lang in ("zh", "en"):
        assert "L007" in t("picker.decider_hint", lang) and "32" in t("picker.decider_hint", lang)
    from crossexec_ml.apps import DecisionForm  # the picker's and the workspace's form

    for lang in ("zh", "en"):
        form = DecisionForm(tmp_path / "never.sqlite", lang=lang)
        assert form.decider.placeholder == t("picker.decider_hint", lang)


# --------------------------------------------------------------------------------------------
# 12. A full disk, a read-only file or folder, a missing folder: not corruption
# --------------------------------------------------------------------------------------------


def _capped(real: Callable[..., sqlite3.Connection], pages: int | None = None):
    """``_connect`` with ``max_page_count`` at the file's size: the disk is full for it."""

    def connect(path: Path, *, configure: bool = True) -> sqlite3.Connection:
        conn = real(path, configure=configure)
        size = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages if pages is not None else max(size, 1)}")
        return conn

    return connect


def test_a_full_disk_while_recording_is_not_called_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "l.sqlite"
    fill(path, 5)
    monkeypatch.setattr(ledger_module, "_connect", _capped(ledger_module._connect))
    with Ledger(path) as led:
        with pytest.raises(LedgerError) as err:
            led.record(CASE, "keep", "L007", "很长的理由" * 2000)  # needs new pages
    message = str(err.value)
    assert "SQLITE_FULL" in message and "disk holding it is full" in message
    assert "nothing was recorded" in message and NOT_DAMAGED in message
    assert "file is damaged" not in message
    monkeypatch.undo()
    report = verify_ledger(path)
    assert report.ok and report.n_rows == 5


def test_creating_a_ledger_on_a_full_disk_says_so_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ledger_module, "_connect", _capped(ledger_module._connect, pages=1))
    db = tmp_path / "var" / "l.sqlite"
    argv = ["decide", "--ledger", str(db), "--case", CASE, "--action", "keep", "--by", "L007"]
    assert main([*argv, "--reason", "r"]) == 1  # no traceback: a sentence
    err = capsys.readouterr().err
    assert "disk holding it is full" in err and "no ledger was created" in err
    assert list(db.parent.iterdir()) == []


class _Faulty:
    """A connection whose statements containing ``when`` fail with one SQLite result code."""

    def __init__(self, conn: sqlite3.Connection, code: int, name: str, when: str) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_fault", (code, name, when))

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        code, name, when = self._fault
        if when in sql:
            exc = sqlite3.OperationalError(f"simulated {name}")
            exc.sqlite_errorcode, exc.sqlite_errorname = code, name
            raise exc
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._conn, name, value)


FAULTS = [
    (13, "SQLITE_FULL", "disk holding it is full"),
    (8, "SQLITE_READONLY", "read-only for this account"),
    (1544, "SQLITE_READONLY_DIRECTORY", "read-only for this account"),
    (14, "SQLITE_CANTOPEN", "cannot be opened"),
    (3, "SQLITE_PERM", "denied this account access"),
    (778, "SQLITE_IOERR_WRITE", "input/output error"),
]


@pytest.mark.parametrize(("code", "name", "said"), FAULTS, ids=[f[1] for f in FAULTS])
def test_each_fault_has_its_own_sentence_in_every_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    code: int,
    name: str,
    said: str,
) -> None:
    db = tmp_path / "l.sqlite"
    fill(db, 3)
    real_connect, real_open = ledger_module._connect, ledger_module._open_uri
    monkeypatch.setattr(
        ledger_module,
        "_connect",
        lambda p, configure=True: _Faulty(real_connect(p, configure=configure), code, name, "IN"),
    )
    monkeypatch.setattr(
        ledger_module, "_open_uri", lambda uri: _Faulty(real_open(uri), code, name, "FROM")
    )
    commands = [
        ["decide", "--ledger", str(db), "--case", CASE, "--action", "keep", "--by", "L1"]
        + ["--reason", "r"],
        ["ledger", "verify", "--ledger", str(db)],
        ["ledger", "show", "--ledger", str(db)],
        ["ledger", "export", "--ledger", str(db), "--out", str(tmp_path / "台账.xlsx")],
    ]
    for argv in commands:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert said in err and name in err, (argv, err)
        assert "file is damaged" not in err and "restore the latest backup" not in err
    monkeypatch.undo()
    assert verify_ledger(db).ok and verify_ledger(db).n_rows == 3


def test_damage_is_still_called_damage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "l.sqlite"
    fill(db, 2)
    real = ledger_module._connect
    monkeypatch.setattr(
        ledger_module,
        "_connect",
        lambda p, configure=True: _Faulty(real(p), 11, "SQLITE_CORRUPT", "INSERT"),
    )
    with Ledger(db) as led, pytest.raises(LedgerError, match="file is damaged.*SQLITE_CORRUPT"):
        led.record(CASE, "keep", "L1", "r")


def test_a_missing_folder_is_not_called_damage(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "l.sqlite"
    with pytest.raises(LedgerError, match="no ledger here"):
        verify_ledger(missing)
    try:
        sqlite3.connect(missing)
    except sqlite3.OperationalError as exc:  # what SQLite itself raises for it
        message = str(ledger_module._refusal(exc, missing, "the ledger could not be read"))
    assert "SQLITE_CANTOPEN" in message and "folder is missing" in message
    assert NOT_DAMAGED in message
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    with pytest.raises(LedgerError, match="no ledger was created.*folder exists"):
        Ledger(a_file / "l.sqlite")


def test_verify_show_export_open_read_only_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "var"
    db = folder / "l.sqlite"
    fill(db, 4)
    before = files_of(folder)
    mtime = db.stat().st_mtime_ns
    out = tmp_path / "台账.xlsx"
    assert main(["ledger", "verify", "--ledger", str(db)]) == 0
    assert main(["ledger", "show", "--ledger", str(db)]) == 0
    assert main(["ledger", "export", "--ledger", str(db), "--out", str(out)]) == 0
    capsys.readouterr()
    # The file's bytes and time are those of the last writer; SQLite may leave an empty -wal
    # and its -shm index beside it (a reader cannot remove them), never a decision.
    after = files_of(folder)
    assert after["l.sqlite"] == before["l.sqlite"] and db.stat().st_mtime_ns == mtime
    assert after.get("l.sqlite-wal", b"") == b""
    assert set(after) <= {"l.sqlite", "l.sqlite-wal", "l.sqlite-shm"}
    with Ledger(db, read_only=True) as led:
        with pytest.raises(LedgerError, match="opened read-only"):
            led.record(CASE, "keep", "L1", "r")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            led._conn.execute("INSERT INTO meta VALUES ('x', 'y')")  # SQLite itself refuses
    with pytest.raises(LedgerError, match="no ledger here"):
        Ledger(tmp_path / "none.sqlite", read_only=True)
    assert not (tmp_path / "none.sqlite").exists()


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder another account can enter (pytest's own tmp folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="ledger-audit-"))
    folder.chmod(0o755)
    yield folder
    for p in [folder, *folder.rglob("*")]:
        p.chmod(0o777 if p.is_dir() else 0o666)
    shutil.rmtree(folder)


def as_auditor(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` as an account without write access; return its result or the refusal text.

    Root ignores file modes, so as root the work runs in a forked child that first drops to
    ``nobody`` (the interpreter is already loaded: nothing needs to be read from root's home).
    """

    def run() -> Any:
        try:
            return {"result": fn()}
        except LedgerError as err:
            return {"refused": str(err)}

    if os.geteuid() != 0:
        return run()
    if not hasattr(os, "fork"):  # pragma: no cover
        pytest.skip("no fork to drop privileges")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                out = run()
            except BaseException as exc:  # report anything, never return into pytest
                out = {"crashed": f"{type(exc).__name__}: {exc}"}
            os.write(write, json.dumps(out, default=str).encode())
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks) or b'{"crashed": "no answer"}')


def _verify_summary(path: Path) -> dict[str, Any]:
    report = verify_ledger(path)
    with Ledger(path, create=False, read_only=True) as led:
        n_cases, immutable = len(led.latest()), led.immutable
    return {"ok": report.ok, "n_rows": report.n_rows, "cases": n_cases, "immutable": immutable}


def test_an_auditor_with_a_read_only_file_and_folder_can_verify(shared_folder: Path) -> None:
    db = shared_folder / "l.sqlite"
    fill(db, 6)
    db.chmod(0o444)
    shared_folder.chmod(0o555)
    before = files_of(shared_folder)
    seen = as_auditor(lambda: _verify_summary(db))
    assert seen == {"result": {"ok": True, "n_rows": 6, "cases": 6, "immutable": True}}
    refused = as_auditor(lambda: Ledger(db).record(CASE, "keep", "L1", "r"))
    assert "read-only for this account" in refused["refused"], refused
    assert "file is damaged" not in refused["refused"]
    assert files_of(shared_folder) == before


def test_a_decision_left_in_the_wal_is_not_silently_missed(shared_folder: Path) -> None:
    db = shared_folder / "l.sqlite"
    fill(db, 2)
    with Ledger(db) as writer:  # someone is recording: the -wal file exists
        writer.record(CASE, "keep", "L1", "r")
        shared_folder.chmod(0o555)
        try:
            wal_present = Path(f"{db}-wal").exists()
            answer = as_auditor(lambda: _verify_summary(db))
        finally:
            shared_folder.chmod(0o755)
    if os.geteuid() == 0 or not wal_present:
        # As root the -shm file already exists and is readable: the reader sees all 3 rows.
        assert answer.get("result", {}).get("n_rows") == 3 or "refused" in answer, answer
    else:
        assert "could miss them" in answer["refused"]


def test_an_auditor_with_a_read_only_file_in_a_writable_folder(shared_folder: Path) -> None:
    db = shared_folder / "l.sqlite"
    fill(db, 3)
    db.chmod(0o444)
    shared_folder.chmod(0o777)
    seen = as_auditor(lambda: _verify_summary(db))
    assert seen["result"]["ok"] and seen["result"]["n_rows"] == 3, seen
    refused = as_auditor(lambda: Ledger(db).record(CASE, "keep", "L1", "r"))
    assert "read-only for this account" in refused["refused"], refused
    db.chmod(0o644)
    assert verify_ledger(db).n_rows == 3


# --------------------------------------------------------------------------------------------
# 13. Damaged bytes: verify says broken, never crashes; record never appends to them
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "l.sqlite"
    fill(path, 30)
    assert not Path(f"{path}-wal").exists()  # closed: everything is in the one file
    return path


N_TRIALS = 48


def test_random_corruptions_are_broken_never_a_crash_and_never_appended_to(
    thirty: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(20240301)
    clean = thirty.read_bytes()
    n_broken = 0
    for trial in range(N_TRIALS):
        folder = tmp_path / f"t{trial}"
        folder.mkdir()
        copy = folder / "l.sqlite"
        data = bytearray(clean)
        at = rng.randrange(0, len(data) - 16)
        data[at : at + 16] = rng.randbytes(16)
        copy.write_bytes(bytes(data))
        where = f"trial {trial}: 16 bytes at {at}"

        report = verify_ledger(copy)  # never raises for damage
        assert report.ok == (not report.problems), where
        rc = main(["ledger", "verify", "--ledger", str(copy)])
        out = capsys.readouterr()
        assert rc == (0 if report.ok else 1), where
        assert "Traceback" not in out.out + out.err
        for argv in (
            ["ledger", "show", "--ledger", str(copy)],
            ["ledger", "export", "--ledger", str(copy), "--out", str(folder / "t.xlsx")],
        ):
            assert main(argv) in (0, 1), (where, argv)  # a sentence, not a traceback
        capsys.readouterr()
        if report.ok:
            continue
        n_broken += 1
        assert "ledger BROKEN" in out.out and report.problems[0] in out.out, where
        damaged = copy.read_bytes()
        with pytest.raises(LedgerError):  # refused on opening or before appending
            with Ledger(copy) as led:
                led.record(CASE, "keep", "L1", "after the damage")
        assert copy.read_bytes() == damaged, where  # nothing appended
        rc = main(
            ["decide", "--ledger", str(copy), "--case", CASE, "--action", "keep"]
            + ["--by", "L1", "--reason", "after the damage"]
        )
        assert rc == 1 and copy.read_bytes() == damaged, where
        capsys.readouterr()
    # The trials must exercise the broken path often, or this test proves little.
    assert n_broken >= N_TRIALS // 4, n_broken


def test_a_damaged_ledger_through_the_installed_command_has_no_traceback(
    thirty: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "l.sqlite"
    data = bytearray(thirty.read_bytes())
    data[4096 + 200 : 4096 + 216] = b"\xff" * 16  # inside the first table page
    data[0:16] = b"\x00" * 16  # and the SQLite header
    copy.write_bytes(bytes(data))
    script = Path(sys.executable).with_name("crossexec")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "crossexec_ml.cli"]
    for argv in (["ledger", "verify"], ["decide", "--case", CASE, "--action", "keep"]):
        extra = ["--by", "L1", "--reason", "r"] if argv[0] == "decide" else []
        done = subprocess.run(
            [*cmd, *argv, "--ledger", str(copy), *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": str(Path(ledger_module.__file__).parents[2])},
        )
        assert done.returncode == 1, done
        assert "Traceback" not in done.stderr and "damaged" in done.stdout + done.stderr
