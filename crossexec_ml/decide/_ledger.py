"""The decision ledger (动态台账): who decided what about which case, when, why, on which model.

One SQLite file, append-only, hash-chained, safe for several processes, durable, and careful
with files that are not ledgers; only pseudonymised codes are stored. The format and each
guarantee: ``docs/design/ledger.md``.

Examples
--------
>>> with Ledger("var/ledger.sqlite") as led:  # doctest: +SKIP
...     led.record("(2023)湘0103执1号", "reassign_intra_team", "L007", "财产线索未穷尽",
...                target_handler_id="H012", model_id="m-2024-03", as_of_date="2024-03-01")
...     led.verify().ok
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import hashlib
import json
import math
import os
import re
import sqlite3
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossexec_ml.config import DEFAULT_LEDGER_PATH
from crossexec_ml.data import mask_text, temp_path_beside, value_rule, write_table
from crossexec_ml.errors import LedgerError
from crossexec_ml.settings import DEFAULT_CODE_PATTERN, RUNGS, LedgerSettings
from crossexec_ml.text import rung_label, t

#: What a person can decide about a case, in ledger codes.
ACTIONS: tuple[str, ...] = (
    "reassign_intra_team",
    "reassign_inter_team",
    "escalate_higher_court",
    "keep",
    "refer_judicial_aid",
    "defer",
)

#: Chinese label of each action, as the 台账 shows it (the catalogue's ``action.<action>``).
ACTION_LABELS: dict[str, str] = {action: t(f"action.{action}") for action in ACTIONS}

#: The ladder rung (see :data:`crossexec_ml.data.RUNGS`) an action puts the case on, so a
#: decision can be compared with the suggested rung. Judicial aid and deferral are off the ladder.
ACTION_TO_RUNG: dict[str, str] = {
    "keep": "keep",
    "reassign_intra_team": "intra_team",
    "reassign_inter_team": "inter_team",
    "escalate_higher_court": "higher_court",
}
assert set(ACTION_TO_RUNG.values()) == set(RUNGS), "ACTION_TO_RUNG must cover every rung"

#: The higher court's answers to a request to escalate (报请, action ``escalate_higher_court``)
#: and the action each answer records: approved keeps the case on the higher-court rung,
#: declined sends it back to the bureau as deferred (暂缓) until a new decision. An answer is an
#: ordinary row that ``supersedes`` the request and carries ``{ESCALATION_ANSWER: answer,
#: "request_seq": seq}`` in its scores: same actions, same schema, so every existing ledger
#: takes answers and every older reader still reads (and verifies) them.
ESCALATION_ANSWERS: dict[str, str] = {"approved": "escalate_higher_court", "declined": "defer"}
#: The scores key marking a row as the higher court's answer.
ESCALATION_ANSWER = "escalation_answer"

#: ``prev_hash`` of the first decision.
GENESIS_HASH = "0" * 64

#: Written into the SQLite header (``PRAGMA application_id``), so a ledger is recognised from its
#: first 100 bytes without opening it: ASCII "CXLG".
APPLICATION_ID = 0x43584C47
FORMAT_NAME = "crossexec-ml decision ledger"
FORMAT_VERSION = 1

_TARGET_ACTIONS = frozenset({"reassign_intra_team", "reassign_inter_team"})
_BUSY_TIMEOUT_S = 30.0
_SQLITE_MAGIC = b"SQLite format 3\x00"
# A Chinese resident ID number: 17 digits and a check digit. Person fields hold codes only.
_ID_NUMBER = re.compile(r"\d{17}[\dXx]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# All Chinese courts keep Beijing time (UTC+8, no daylight saving): the 台账 shows it.
_BEIJING = dt.timezone(dt.timedelta(hours=8), "UTC+08:00")

# The hashed content of a row, in this order; prev_hash and row_hash are the chain itself.
_CONTENT = (
    "seq",
    "case_id",
    "action",
    "target_handler_id",
    "decided_by",
    "reason",
    "decided_at",
    "model_id",
    "scores",
    "as_of_date",
    "supersedes",
)
_COLUMNS = (*_CONTENT, "prev_hash", "row_hash")
_TRIGGERS = ("decisions_no_update", "decisions_no_delete", "decisions_insert_in_turn")

_SCHEMA = f"""
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE decisions (
    seq               INTEGER PRIMARY KEY,
    case_id           TEXT NOT NULL CHECK (length(trim(case_id)) > 0),
    action            TEXT NOT NULL CHECK (action IN ({", ".join(f"'{a}'" for a in ACTIONS)})),
    target_handler_id TEXT,
    decided_by        TEXT NOT NULL CHECK (length(trim(decided_by)) > 0),
    reason            TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    decided_at        TEXT NOT NULL,
    model_id          TEXT,
    scores            TEXT,
    as_of_date        TEXT,
    supersedes        INTEGER REFERENCES decisions(seq),
    prev_hash         TEXT NOT NULL,
    row_hash          TEXT NOT NULL UNIQUE
);
CREATE INDEX decisions_by_case ON decisions(case_id, seq);
CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions BEGIN
    SELECT RAISE(ABORT, 'append-only ledger: record a correction with supersedes=<seq>');
END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions BEGIN
    SELECT RAISE(ABORT, 'append-only ledger: rows cannot be deleted, record a correction');
END;
CREATE TRIGGER decisions_insert_in_turn BEFORE INSERT ON decisions
WHEN NEW.seq IS NOT (SELECT CAST(value AS INTEGER) + 1 FROM meta WHERE key = 'n_rows')
  OR NEW.prev_hash IS NOT (SELECT value FROM meta WHERE key = 'head_hash')
BEGIN
    SELECT RAISE(ABORT, 'a decision must follow the ledger head: use Ledger.record');
END;
CREATE TRIGGER meta_fixed BEFORE UPDATE ON meta
WHEN OLD.key NOT IN ('n_rows', 'head_hash') BEGIN
    SELECT RAISE(ABORT, 'the ledger identity in meta cannot be changed');
END;
CREATE TRIGGER meta_moves_with_head BEFORE UPDATE ON meta
WHEN (OLD.key = 'n_rows' AND NEW.value IS NOT (SELECT CAST(max(seq) AS TEXT) FROM decisions))
  OR (OLD.key = 'head_hash'
      AND NEW.value IS NOT (SELECT row_hash FROM decisions ORDER BY seq DESC LIMIT 1))
BEGIN
    SELECT RAISE(ABORT, 'meta n_rows/head_hash only follow the last appended decision');
END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta BEGIN
    SELECT RAISE(ABORT, 'the ledger meta table cannot be deleted from');
END;
"""


@dataclass
class VerifyReport:
    """Outcome of :meth:`Ledger.verify`.

    Attributes
    ----------
    ok : bool
        True when every row matches its hash, the chain is unbroken from the genesis to the head
        recorded in meta, and the append-only triggers are in place.
    n_rows : int
        Number of decision rows found.
    problems : list of str
        One sentence per problem, e.g. ``"seq 7: content does not match its hash (edited)"``.
    head_hash : str
        ``row_hash`` of the last row (the genesis value for an empty ledger). Write it down
        outside the ledger to anchor the chain.
    """

    ok: bool
    n_rows: int
    problems: list[str] = field(default_factory=list)
    head_hash: str = GENESIS_HASH

    def __str__(self) -> str:
        if self.ok:
            return f"ledger OK: {self.n_rows} decision(s), head {self.head_hash[:16]}"
        lines = [f"ledger BROKEN: {len(self.problems)} problem(s) in {self.n_rows} row(s)"]
        lines.extend(f"  {p}" for p in self.problems)
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Hashing and validation
# --------------------------------------------------------------------------------------------


def _canonical(content: Mapping[str, Any]) -> str:
    return json.dumps(
        {k: content[k] for k in _CONTENT},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )


def _row_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + _canonical(content)).encode("utf-8")).hexdigest()


def _seq_range(first: int, last: int) -> str:
    return f"seq {first}" if first == last else f"seq {first}..{last}"


def _now_utc() -> str:
    # Stored as text: sqlite3's default datetime adapters are deprecated (Python 3.12).
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _text(value: Any, name: str, what: str, problems: list[str], *, required: bool) -> str | None:
    """Strip a text field; note a problem when it is not text or is required and empty."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        value = ""
    if not isinstance(value, str):
        problems.append(f"{name} must be text ({what}), not {type(value).__name__} {value!r}")
        return None
    value = value.strip()
    if not value:
        if required:
            problems.append(f"{name} is empty; give {what}")
        return None
    return value


_PERSONAL_WHAT = {"id_number": "an ID number (身份证号)", "mobile": "a mobile number (手机号)"}


def _no_personal(value: str | None, name: str, problems: list[str], *, code: bool) -> None:
    """Refuse text holding an ID or mobile number; the ledger is append-only, so it would stay.

    Codes (``code=True``) are also refused for any 18-character ID-like run, valid or not:
    a code never needs one.
    """
    if value is None:
        return
    rule = value_rule(value)
    if rule is None and code and _ID_NUMBER.search(value):
        rule = "id_number"
    if rule is None:
        return
    if code:
        fix = "the ledger stores pseudonymised codes only (e.g. H012), never names or numbers"
    else:
        fix = (
            "the ledger keeps no personal data and can never be edited: name parties and "
            "people by their codes and leave out ID and telephone numbers"
        )
    said = "looks like" if code else "contains what looks like"
    problems.append(f"{name} {said} {_PERSONAL_WHAT[rule]}, not shown; {fix}")


def _clean_scores(scores: Any, problems: list[str]) -> str | None:
    """Check the scores shown at decision time and return them as canonical JSON text."""
    if scores is None:
        return None
    if isinstance(scores, pd.Series):
        scores = scores.to_dict()
    if not isinstance(scores, Mapping):
        problems.append(
            "scores must be a mapping of score name -> number or text "
            f"(e.g. {{'uplift': 0.25}}), not {type(scores).__name__}"
        )
        return None
    clean: dict[str, Any] = {}
    for key, value in scores.items():
        if not isinstance(key, str) or not key.strip():
            problems.append(f"scores: key {key!r} must be a non-empty text name")
            continue
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or value is pd.NA:
            clean[key] = None
        elif isinstance(value, bool | str):
            clean[key] = value
        elif isinstance(value, int | float):
            if isinstance(value, float) and math.isnan(value):
                clean[key] = None  # a score that was not shown (missing) is stored as null
            elif isinstance(value, float) and math.isinf(value):
                problems.append(f"scores[{key!r}] is infinite; pass a finite number or None")
            else:
                clean[key] = value
        else:
            problems.append(
                f"scores[{key!r}] is a {type(value).__name__}; scores hold numbers, text, "
                "true/false or None only (flatten nested values)"
            )
    return json.dumps(clean, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _clean_date(value: Any, problems: list[str]) -> str | None:
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, dt.datetime):  # pandas.Timestamp included; checked before date
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    if isinstance(value, str) and not value.strip():
        return None
    problems.append(
        f"as_of_date {value!r} is not a date; give the as-of date of the scored list as "
        "YYYY-MM-DD (e.g. 2024-03-01)"
    )
    return None


def _validate(
    case_id: Any,
    action: Any,
    decided_by: Any,
    reason: Any,
    target_handler_id: Any,
    model_id: Any,
    scores: Any,
    as_of_date: Any,
    supersedes: Any,
    settings: LedgerSettings,
) -> dict[str, Any]:
    """Check one decision and return its normalised fields; raise LedgerError with every problem."""
    problems: list[str] = []
    fields: dict[str, Any] = {
        "case_id": _text(case_id, "case_id", "the case number (案号)", problems, required=True),
        "decided_by": _text(
            decided_by,
            "decided_by",
            "the pseudonymised code of who decided",
            problems,
            required=True,
        ),
        "reason": _text(
            reason, "reason", "the reason for the decision (决定理由)", problems, required=True
        ),
        "target_handler_id": _text(
            target_handler_id,
            "target_handler_id",
            "the receiving handler's code",
            problems,
            required=False,
        ),
        "model_id": _text(
            model_id, "model_id", "the model version shown", problems, required=False
        ),
        "scores": _clean_scores(scores, problems),
        "as_of_date": _clean_date(as_of_date, problems),
        "action": None,
        "supersedes": None,
    }
    _no_personal(fields["case_id"], "case_id", problems, code=False)
    for name, what in (
        ("decided_by", "the decider's code (决定人代码)"),
        ("target_handler_id", "the receiving handler's code (接收承办人代码)"),
    ):
        before = len(problems)
        _no_personal(fields[name], name, problems, code=True)
        if len(problems) == before and fields[name] is not None:
            if not settings.is_code(fields[name]):
                problems.append(
                    f"{name} is not a code (not shown): give {what} as {code_shape(settings)}"
                )
    _no_personal(fields["reason"], "reason", problems, code=False)
    _no_personal(fields["model_id"], "model_id", problems, code=False)

    if isinstance(action, str):
        action = action.strip()
    if action not in ACTIONS:
        choices = ", ".join(f"{a} ({ACTION_LABELS[a]})" for a in ACTIONS)
        problems.append(f"action {action!r} is not a ledger action; use one of: {choices}")
    else:
        fields["action"] = action
        if action in _TARGET_ACTIONS and fields["target_handler_id"] is None:
            problems.append(
                f"target_handler_id is empty; {action} ({ACTION_LABELS[action]}) needs the code "
                "of the handler who receives the case"
            )
        if action not in _TARGET_ACTIONS and fields["target_handler_id"] is not None:
            problems.append(
                f"target_handler_id must be empty for {action} ({ACTION_LABELS[action]}): only "
                "reassign_intra_team and reassign_inter_team name a receiving handler"
            )

    if supersedes is not None:
        if isinstance(supersedes, np.integer):
            supersedes = int(supersedes)
        if isinstance(supersedes, bool) or not isinstance(supersedes, int) or supersedes < 1:
            problems.append(
                f"supersedes {supersedes!r} must be the seq (a whole number >= 1) of the earlier "
                "decision this one corrects, or None"
            )
        else:
            fields["supersedes"] = supersedes

    if problems:
        # Masked: a refused value (a number typed into a code field...) is never echoed.
        raise LedgerError(mask_text("decision not recorded: " + "; ".join(problems)))
    return fields


def code_shape(settings: LedgerSettings | None = None, lang: str = "en") -> str:
    """The shape of a person's code the ledger accepts, in words, for refusals and help texts.

    Parameters
    ----------
    settings : LedgerSettings, optional
        The ledger's settings (default: :class:`~crossexec_ml.settings.LedgerSettings`).
    lang : {"en", "zh"}
        Language of the words for the default pattern.

    Returns
    -------
    str
        The catalogue's ``ledger.code_shape`` for the default pattern; for a court's own
        pattern, the pattern itself.
    """
    settings = settings or LedgerSettings()
    if settings.decider_pattern == DEFAULT_CODE_PATTERN:
        return t("ledger.code_shape", lang)
    return f"a code matching the pattern {settings.decider_pattern} (never a name)"


# --------------------------------------------------------------------------------------------
# Telling faults apart: a full disk or a read-only folder is not a damaged file
# --------------------------------------------------------------------------------------------


class _DamagedError(LedgerError):
    """The file is (or was) a ledger but its bytes cannot be read: `verify` calls it broken."""


# Primary SQLite result codes (the low byte of ``sqlite_errorcode``) that say something
# about the surroundings, not about the file's bytes.
_SQLITE_KINDS = {
    3: "permission",  # SQLITE_PERM
    5: "busy",  # SQLITE_BUSY
    6: "busy",  # SQLITE_LOCKED
    7: "memory",  # SQLITE_NOMEM
    8: "read_only",  # SQLITE_READONLY
    10: "io",  # SQLITE_IOERR
    13: "full",  # SQLITE_FULL
    14: "cannot_open",  # SQLITE_CANTOPEN
    23: "permission",  # SQLITE_AUTH
}
_ERRNO_KINDS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EROFS: "read_only",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
    errno.ENOENT: "cannot_open",
    errno.ENOTDIR: "cannot_open",
    errno.EIO: "io",
}
# Not every OS error has its own sentence: the rest share one.
_OS_OTHER = "os"
_NOT_DAMAGED = "the ledger is not damaged: do not restore it from a backup"
_FAULTS = {
    "full": (
        "the disk holding it is full ({name}), so {outcome}. Free space on that disk (or raise "
        "the account's quota) and try again; " + _NOT_DAMAGED
    ),
    "read_only": (
        "the file or its folder is read-only for this account ({name}), so {outcome}. Recording "
        "a decision needs write access to the file and its folder (SQLite keeps -wal and -shm "
        "files beside it); `crossexec ledger verify`, `show` and `export` only need read "
        "access; " + _NOT_DAMAGED
    ),
    "permission": (
        "the operating system denied this account access ({name}), so {outcome}. Ask for read "
        "access to the file and its folder (to verify, show or export) or write access (to "
        "record); " + _NOT_DAMAGED
    ),
    "cannot_open": (
        "it cannot be opened, or its -wal/-shm files cannot be created beside it ({name}), so "
        "{outcome}: the folder is missing, or this account may not enter or write it. Check the "
        "path and the folder's permissions; " + _NOT_DAMAGED
    ),
    "io": (
        "the disk reported an input/output error ({name}), so {outcome}. Check the disk or "
        "network share and its free space, then try again; run `crossexec ledger verify` "
        "before restoring anything from a backup"
    ),
    "busy": (
        f"another process held the ledger for more than {_BUSY_TIMEOUT_S:.0f} s ({{name}}), so "
        "{outcome}; try again"
    ),
    "memory": "the computer ran out of memory ({name}), so {outcome}; try again",
    _OS_OTHER: (
        "the operating system refused ({name}), so {outcome}. Check that the folder exists or "
        "can be created and that this account may write to it; " + _NOT_DAMAGED
    ),
    "damaged": (
        "the file is damaged: SQLite cannot read it ({name}), so {outcome}, and nothing will be "
        "appended to it. Keep the damaged file (copy it aside), restore the latest backup and "
        "re-enter the decisions recorded since that backup from the 台账 export or the paper "
        "records"
    ),
}


# SQLite's own message about a damaged file can hold bytes that are not text: Python raises
# UnicodeDecodeError for it instead of a sqlite3 error.
_SQLITE_FAULTS = (sqlite3.Error, UnicodeDecodeError)


def _sqlite_kind(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "damaged"
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_KINDS.get(code & 0xFF, "damaged")
    text = str(exc).lower()
    return "busy" if "locked" in text or "busy" in text else "damaged"


def _detail(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "SQLite's message about it is not even text"
    name = getattr(exc, "sqlite_errorname", None)
    # A text-decoding error quotes the stored bytes: never echo them.
    text = str(exc).split(" with text ", 1)[0][:120]
    return f"{name}: {text}" if name else text


def _refusal(exc: BaseException, path: Path, outcome: str) -> LedgerError:
    """One sentence for a SQLite or OS fault; only a damaged file gets the backup advice."""
    if isinstance(exc, _SQLITE_FAULTS):
        kind, name = _sqlite_kind(exc), _detail(exc)
    elif isinstance(exc, OSError):
        kind, name = _ERRNO_KINDS.get(exc.errno or 0, _OS_OTHER), exc.strerror or str(exc)
    else:  # pragma: no cover - callers pass only the two
        raise TypeError(type(exc).__name__)
    message = mask_text(f"{path}: " + _FAULTS[kind].format(name=name, outcome=outcome))
    return _DamagedError(message) if kind == "damaged" else LedgerError(message)


# --------------------------------------------------------------------------------------------
# Opening and creating the file
# --------------------------------------------------------------------------------------------


def _connect(path: Path, *, configure: bool = True) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN IMMEDIATE / COMMIT ourselves. check_same_thread=False
    # because a Ledger serialises its own calls with a lock (widget callbacks may use threads).
    conn = sqlite3.connect(
        path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    if configure:
        try:
            _configure(conn)
        except BaseException:
            conn.close()
            raise
    return conn


def _uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{urllib.parse.quote(str(path.absolute()))}?{query}"


def _open_uri(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(
        uri, uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens -wal/-shm now
    except BaseException:
        conn.close()
        raise
    return conn


def _connect_read_only(path: Path) -> tuple[sqlite3.Connection, bool]:
    """Open ``path`` so that nothing can be written: ``(connection, immutable)``.

    ``mode=ro`` first. A WAL ledger still needs its -shm file; when this account cannot create
    it (a read-only folder), ``immutable=1`` reads the file alone, which is only right when no
    -wal file holds decisions not yet merged into it, so that case is refused instead.
    """
    try:
        return _open_uri(_uri(path, mode="ro")), False
    except sqlite3.OperationalError as exc:
        if _sqlite_kind(exc) not in ("read_only", "cannot_open", "permission", "full", "io"):
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        raise LedgerError(
            f"{path}: this account cannot create {path.name}-shm beside the ledger, and "
            f"{wal.name} shows that someone has the ledger open or that it holds decisions not "
            "yet merged into the file; reading the file alone could miss them, so nothing was "
            "read. Verify from an account that may write the folder, or when nobody is "
            "recording (the last writer to close merges them); the ledger is not damaged"
        )
    return _open_uri(_uri(path, mode="ro", immutable="1")), True


def _configure(conn: sqlite3.Connection) -> None:
    # Setting WAL rewrites the file header, so it only runs once the file is known to be ours.
    conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")


def _fsync_dir(folder: Path) -> None:
    # Makes the new directory entry durable; not possible on every platform (Windows).
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _create(path: Path) -> None:
    """Create an initialised ledger at ``path`` unless a file appears there first."""
    try:
        _create_file(path)
    except (OSError, *_SQLITE_FAULTS) as exc:
        raise _refusal(exc, path, "no ledger was created") from None


def _create_file(path: Path) -> None:
    # The ledger is built in a temporary file beside ``path`` and hard-linked into place: linking
    # fails if ``path`` exists, so two processes creating the same ledger at once cannot
    # overwrite each other, and nobody ever sees a half-initialised file.
    # Usual permissions, not 0600: the clerk's account and a scheduled job share the ledger
    # (SQLite gives its -wal/-shm files the same mode).
    tmp = temp_path_beside(path, suffix=".init")
    try:
        conn = _connect(tmp)
        try:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
            # The file is private until linked into place, so no transaction is needed here.
            conn.executescript(_SCHEMA)
            conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [
                    ("format", FORMAT_NAME),
                    ("format_version", str(FORMAT_VERSION)),
                    ("created_at", _now_utc()),
                    ("n_rows", "0"),
                    ("head_hash", GENESIS_HASH),
                ],
            )
        finally:
            conn.close()  # the last connection checkpoints and removes the -wal/-shm files
        try:
            os.link(tmp, path)
        except FileExistsError:
            return  # another process created it first: open theirs
        except OSError:
            # No hard links on this file system: claim the name exclusively, then fill it.
            try:
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                return
            with os.fdopen(out, "wb") as fh:
                fh.write(tmp.read_bytes())
                fh.flush()
                os.fsync(fh.fileno())
        _fsync_dir(path.parent)
    finally:
        for p in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            p.unlink(missing_ok=True)


def _lenient_text(data: bytes) -> str:
    # Undecodable bytes become lone surrogates: such a row cannot hash, so verify names it.
    return data.decode("utf-8", "surrogateescape")


def _check_header(path: Path) -> None:
    """Refuse a file that is not a ledger by its first 100 bytes, before SQLite touches it."""
    if path.is_dir():
        raise LedgerError(
            f"{path} is a folder; give the path of a ledger file such as {DEFAULT_LEDGER_PATH}"
        )
    try:
        with open(path, "rb") as fh:
            head = fh.read(100)
            # A ledger whose first bytes were damaged still names its format further on.
            ours = head[68:72] == APPLICATION_ID.to_bytes(4, "big") or (
                FORMAT_NAME.encode() in fh.read(1 << 20)
            )
    except OSError as exc:
        raise _refusal(exc, path, "the ledger could not be read") from None
    if (
        head
        and ours
        and (
            len(head) < 100
            or not head.startswith(_SQLITE_MAGIC)
            or (int.from_bytes(head[68:72], "big") != APPLICATION_ID)
        )
    ):
        raise _DamagedError(
            f"{path}: the file is a decision ledger whose SQLite header is damaged (its first "
            "100 bytes); it was left untouched and nothing will be appended to it. Keep the "
            "damaged file (copy it aside), restore the latest backup and re-enter the decisions "
            "recorded since that backup from the 台账 export or the paper records"
        )
    if not head:
        raise LedgerError(
            f"{path} is an empty file, not a decision ledger; it was left untouched. Delete it "
            f"or choose another path (the default is {DEFAULT_LEDGER_PATH})"
        )
    if len(head) < 100 or not head.startswith(_SQLITE_MAGIC):
        raise LedgerError(
            f"{path} is not a decision ledger (it is not an SQLite database; perhaps a CSV or "
            "another export); it was left untouched. Give the ledger's path (default "
            f"{DEFAULT_LEDGER_PATH}) or a path where no file exists yet to start a new ledger"
        )
    app_id = int.from_bytes(head[68:72], "big")
    if app_id != APPLICATION_ID:
        raise LedgerError(
            f"{path} is an SQLite database of another application (application_id "
            f"{app_id:#x}), not a crossexec decision ledger; it was left untouched. Give the "
            f"ledger's path (default {DEFAULT_LEDGER_PATH}) or a new path"
        )


def _check_meta(conn: sqlite3.Connection, path: Path) -> None:
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        conn.execute("SELECT seq FROM decisions LIMIT 0")
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise _refusal(exc, path, "the ledger could not be opened") from None
    if meta.get("format") != FORMAT_NAME:
        raise _DamagedError(
            f"{path} carries the ledger's mark but its meta table does not identify a "
            "crossexec decision ledger; the file is damaged or foreign: keep it aside and "
            "restore the latest backup"
        )
    version = meta.get("format_version", "")
    if not isinstance(version, str) or not (version.isascii() and version.isdecimal()):
        raise _DamagedError(
            f"{path}: the ledger's format version {version!r} is not a number; the file is "
            "damaged: keep it aside and restore the latest backup"
        )
    if int(version) > FORMAT_VERSION:
        raise LedgerError(
            f"{path} is a ledger of format version {version!r}; this crossexec-ml reads version "
            f"{FORMAT_VERSION}. Upgrade crossexec-ml to open it"
        )


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


class Ledger:
    """An append-only, hash-chained decision ledger in one SQLite file.

    Parameters
    ----------
    path : path-like
        The ledger file (the CLI uses ``var/ledger.sqlite``). If no file exists there, a new
        ledger is created (with its parent folders) unless ``create=False``. An existing file
        must be a ledger: anything else is refused and left untouched.
    create : bool
        Whether a missing file may be created. Readers (dashboards, reports) pass False so a
        mistyped path is an error instead of a new, empty ledger.
    read_only : bool
        Open without any right to write (``mode=ro``; ``immutable=1`` when even the -shm file
        cannot be created beside it), so an auditor without write access can verify, show and
        export. :meth:`record` is refused then; nothing is ever created.
    settings : LedgerSettings, optional
        The shape a decider's or handler's code must have (default: letters, digits, ``-``
        and ``_``, 1 to 32 characters).

    Raises
    ------
    LedgerError
        The file is not a ledger, is damaged, comes from a newer version, or is missing and
        ``create`` is False; or it cannot be opened (a full disk, a read-only or missing
        folder, no permission), said apart from damage.

    Notes
    -----
    One ``Ledger`` may be shared by threads (calls are serialised); each process opens its own.
    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_LEDGER_PATH,
        *,
        create: bool = True,
        read_only: bool = False,
        settings: LedgerSettings | None = None,
    ):
        self.path = Path(path)
        self.read_only = read_only
        self.settings = settings or LedgerSettings()
        #: Whether this ledger reads the file alone, without its -wal/-shm files.
        self.immutable = False
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        # Whether this connection has verified the whole file before its first append.
        self._verified = False
        if not self.path.exists() and not self.path.is_symlink():
            if not create or read_only:
                raise LedgerError(
                    f"{self.path}: no ledger here; check the path, or record a decision first"
                )
            _create(self.path)
        _check_header(self.path)
        # Read-only checks first: nothing is written until the meta table says it is a ledger.
        try:
            if read_only:
                conn, self.immutable = _connect_read_only(self.path)
            else:
                conn = _connect(self.path, configure=False)
        except _SQLITE_FAULTS as exc:
            raise _refusal(exc, self.path, "the ledger could not be opened") from None
        try:
            _check_meta(conn, self.path)
            if not read_only:
                _configure(conn)
        except _SQLITE_FAULTS as exc:
            conn.close()
            raise _refusal(exc, self.path, "the ledger could not be opened") from None
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    # -- life cycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the file. Safe to call twice; the ledger cannot be used afterwards."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._conn is None else "open"
        return f"Ledger({str(self.path)!r}, {state})"

    @property
    def n_rows(self) -> int:
        """How many decisions the ledger holds."""
        with self._reading() as conn:
            return conn.execute("SELECT count(*) FROM decisions").fetchone()[0]

    @contextlib.contextmanager
    def _reading(
        self, outcome: str = "the ledger could not be read"
    ) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock; a SQLite fault becomes a LedgerError saying which."""
        with self._lock:
            if self._conn is None:
                raise LedgerError(f"the ledger {self.path} is closed; open it again with Ledger()")
            try:
                yield self._conn
            except sqlite3.IntegrityError as exc:
                # The file's own triggers refused a write the head check let through.
                raise _DamagedError(
                    f"{self.path}: the ledger's own rules refused the append ({_detail(exc)}), "
                    f"so {outcome}; the ledger was altered outside this tool: run `crossexec "
                    "ledger verify` and restore the file from a backup"
                ) from exc
            except _SQLITE_FAULTS as exc:
                raise _refusal(exc, self.path, outcome) from exc

    # -- writing ------------------------------------------------------------------------------

    def record(
        self,
        case_id: str,
        action: str,
        decided_by: str,
        reason: str,
        *,
        target_handler_id: str | None = None,
        model_id: str | None = None,
        scores: Mapping[str, Any] | None = None,
        as_of_date: str | dt.date | None = None,
        supersedes: int | None = None,
    ) -> dict[str, Any]:
        """Append one decision and return it as stored.

        Parameters
        ----------
        case_id : str
            Case number (案号).
        action : str
            One of :data:`ACTIONS`.
        decided_by : str
            Pseudonymised code of the person who decided (never a name).
        reason : str
            Why (决定理由); required. Name parties and people by their codes, not by name.
        target_handler_id : str, optional
            Code of the receiving handler: required for ``reassign_intra_team`` and
            ``reassign_inter_team``, must be empty for every other action.
        model_id : str, optional
            Version of the model whose list was shown.
        scores : mapping, optional
            Scores shown at decision time, name -> number/text/bool/None (NaN is stored as
            None), e.g. ``{"p_keep": 0.05, "uplift": 0.25, "suggested_rung": "intra_team"}``.
        as_of_date : str or date, optional
            As-of date of the scored list (``YYYY-MM-DD``).
        supersedes : int, optional
            ``seq`` of an earlier decision on the same case that this one corrects.

        Returns
        -------
        dict
            The stored row: ``seq``, the fields above (normalised: text stripped, scores parsed),
            ``decided_at`` (UTC ISO timestamp set by the ledger), ``prev_hash``, ``row_hash``.

        Raises
        ------
        LedgerError
            On any invalid field (every problem is listed), when ``supersedes`` does not name an
            earlier decision of the same case, when the ledger does not verify (checked in full
            before this connection's first append, then its head before each one), when it was
            opened read-only, or when the disk is full or the file cannot be written (each said
            apart). Nothing is written then.
        """
        fields = _validate(
            case_id,
            action,
            decided_by,
            reason,
            target_handler_id,
            model_id,
            scores,
            as_of_date,
            supersedes,
            self.settings,
        )
        if self.read_only:
            raise LedgerError(
                f"{self.path} was opened read-only (for verify, show and export); nothing was "
                "recorded: open it with Ledger(path) to record a decision"
            )
        with self._reading("nothing was recorded") as conn:
            if not self._verified:
                # Once per connection: the same check as `verify` (SQLite's quick_check and the
                # whole chain), so nothing is ever appended to a file `verify` calls broken.
                self._refuse_unless_ok(self._verify(conn))
                self._verified = True
            # IMMEDIATE takes the write lock before reading the head, so no other process can
            # append between our read of the previous hash and our insert.
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = self._append(conn, fields)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        row["scores"] = None if row["scores"] is None else json.loads(row["scores"])
        return row

    def answer_escalation(
        self, request_seq: int, answer: str, decided_by: str, reason: str
    ) -> dict[str, Any]:
        """Record the higher court's answer to a request to escalate, as a row referring to it.

        Parameters
        ----------
        request_seq : int
            ``seq`` of the request (an ``escalate_higher_court`` row that is not an answer and is
            still its case's latest decision).
        answer : {"approved", "declined"}
            See :data:`ESCALATION_ANSWERS`.
        decided_by : str
            Code of the person answering for the higher court.
        reason : str
            The answer's reason.

        Returns
        -------
        dict
            The stored row (``supersedes`` = ``request_seq``).

        Raises
        ------
        LedgerError
            For an unknown answer, a seq that is no request, or a request already answered or
            superseded by a later decision; nothing is written then.
        """
        if answer not in ESCALATION_ANSWERS:
            raise LedgerError(
                f"answer {answer!r} not recorded: give one of {', '.join(ESCALATION_ANSWERS)}"
            )
        with self._reading() as conn:
            row = conn.execute(
                "SELECT case_id, action, scores FROM decisions WHERE seq = ?", (int(request_seq),)
            ).fetchone()
            later = (
                conn.execute(
                    "SELECT max(seq) FROM decisions WHERE case_id = ?", (row[0],)
                ).fetchone()[0]
                if row
                else None
            )
        if (
            row is None
            or row[1] != "escalate_higher_court"
            or ESCALATION_ANSWER in _scores_of(row[2])
        ):
            raise LedgerError(
                f"answer not recorded: seq {request_seq} is not a request to the higher court"
            )
        if later != int(request_seq):
            raise LedgerError(
                f"answer not recorded: the request seq {request_seq} on case {row[0]!r} was "
                f"already answered or superseded (its latest decision is seq {later})"
            )
        return self.record(
            row[0],
            ESCALATION_ANSWERS[answer],
            decided_by,
            reason,
            scores={ESCALATION_ANSWER: answer, "request_seq": int(request_seq)},
            supersedes=int(request_seq),
        )

    def _refuse_unless_ok(self, report: VerifyReport) -> None:
        if report.ok:
            return
        shown = "; ".join(report.problems[:3])
        more = f" (and {len(report.problems) - 3} more)" if len(report.problems) > 3 else ""
        raise _DamagedError(
            f"{self.path} does not verify, so nothing was recorded: {shown}{more}. The ledger "
            "was damaged or altered outside this tool; nothing will be appended to it. Run "
            "`crossexec ledger verify`, keep the file aside and restore the latest backup"
        )

    def _append(self, conn: sqlite3.Connection, fields: dict[str, Any]) -> dict[str, Any]:
        meta = dict(
            conn.execute("SELECT key, value FROM meta WHERE key IN ('n_rows', 'head_hash')")
        )
        n_rows, head = int(meta["n_rows"]), meta["head_hash"]
        last = conn.execute(
            "SELECT seq, row_hash FROM decisions ORDER BY seq DESC LIMIT 1"
        ).fetchone() or (0, GENESIS_HASH)
        if tuple(last) != (n_rows, head):
            raise LedgerError(
                f"{self.path}: the last decision (seq {last[0]}) does not match the head recorded "
                f"in meta (seq {n_rows}); the ledger was altered outside this tool. Nothing was "
                "recorded: run `verify` and restore the file from a backup"
            )
        sup = fields["supersedes"]
        if sup is not None:
            target = conn.execute("SELECT case_id FROM decisions WHERE seq = ?", (sup,)).fetchone()
            if target is None:
                raise LedgerError(
                    f"decision not recorded: supersedes {sup} names no decision (the ledger has "
                    f"seq 1..{n_rows}); give the seq of the decision this one corrects"
                )
            if target[0] != fields["case_id"]:
                raise LedgerError(
                    f"decision not recorded: supersedes {sup} is a decision on case "
                    f"{target[0]!r}, not {fields['case_id']!r}; a correction must supersede a "
                    "decision of the same case"
                )
        row: dict[str, Any] = {
            **fields,
            "seq": n_rows + 1,
            # Set under the write lock, so decided_at never goes backwards as seq grows.
            "decided_at": _now_utc(),
            "prev_hash": head,
        }
        row["row_hash"] = _row_hash(head, row)
        conn.execute(
            f"INSERT INTO decisions({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})",
            [row[c] for c in _COLUMNS],
        )
        conn.execute("UPDATE meta SET value = ? WHERE key = 'n_rows'", (str(row["seq"]),))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'head_hash'", (row["row_hash"],))
        return {c: row[c] for c in _COLUMNS}

    # -- checking -----------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Re-hash every row and walk the chain from the genesis to the head recorded in meta.

        Returns
        -------
        VerifyReport
            ``ok`` is False when a row's content does not match its hash (edited), a row does not
            chain to the one before (deleted, inserted or re-hashed), the last row is not the
            head recorded in meta (the last row deleted), a correction points at another case,
            the append-only triggers were dropped, or SQLite finds the file damaged or cannot
            read all of it (each problem is one sentence; a damaged file never raises).

        Raises
        ------
        LedgerError
            Only when the file cannot be read for a reason outside it (the disk, permissions,
            another process holding it): that is not a verdict on the ledger.
        """
        with self._reading() as conn:
            return self._verify(conn)

    def _verify(self, conn: sqlite3.Connection) -> VerifyReport:
        problems: list[str] = []
        check = "ok"
        meta: dict[Any, Any] = {}
        triggers: set[Any] = set()
        rows: list[tuple[Any, ...]] = []
        factory = conn.text_factory
        # Damaged text is read as text that cannot hash, so the row is named instead of the
        # whole read failing.
        conn.text_factory = _lenient_text
        try:
            conn.execute("BEGIN")  # one consistent snapshot, even while others append
            try:
                found = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
                check = "ok" if found == ["ok"] else "; ".join(found[:3])
                meta = dict(conn.execute("SELECT key, value FROM meta"))
                triggers = {
                    r[0]
                    for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
                }
                cursor = conn.execute(f"SELECT {', '.join(_COLUMNS)} FROM decisions ORDER BY seq")
                for values in cursor:
                    rows.append(values)
            finally:
                with contextlib.suppress(sqlite3.Error):
                    if conn.in_transaction:
                        conn.execute("COMMIT")
        except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
            if _sqlite_kind(exc) != "damaged":
                raise
            read = f"after {len(rows)} row(s)" if rows else "before any row"
            problems.append(
                f"SQLite cannot read the whole file ({_detail(exc)}) {read}: the file is damaged"
            )
            if check != "ok":
                problems.append(f"SQLite integrity check failed: {check}")
            return VerifyReport(ok=False, n_rows=len(rows), problems=problems)
        finally:
            conn.text_factory = factory
        if check != "ok":
            problems.append(f"SQLite integrity check failed: {check}")
        missing = [t for t in _TRIGGERS if t not in triggers]
        if missing:
            problems.append(
                "append-only triggers are missing (" + ", ".join(missing) + "): someone opened "
                "the file with another tool and removed them"
            )

        case_of: dict[int, str] = {}
        prev_seq, prev_hash = 0, GENESIS_HASH
        for values in rows:
            row = dict(zip(_COLUMNS, values, strict=True))
            seq = row["seq"]
            try:
                expected = _row_hash(row["prev_hash"], row)
            except (TypeError, ValueError):
                expected = ""
            if expected != row["row_hash"]:
                problems.append(f"seq {seq}: content does not match its hash (edited)")
            if seq != prev_seq + 1:
                before = f"rows {prev_seq} and {seq}" if prev_seq else f"the genesis and row {seq}"
                problems.append(
                    f"{_seq_range(prev_seq + 1, seq - 1)} missing: {before} do not chain (deleted)"
                )
            elif row["prev_hash"] != prev_hash:
                before = f"seq {prev_seq}" if prev_seq else "the genesis"
                problems.append(
                    f"seq {seq}: does not chain to {before} (a row before it was edited and "
                    "re-hashed, or rows were replaced)"
                )
            sup = row["supersedes"]
            if sup is not None and case_of.get(sup) != row["case_id"]:
                problems.append(
                    f"seq {seq}: supersedes seq {sup!r}, which is not an earlier decision of the "
                    "same case"
                )
            case_of[seq] = row["case_id"]
            prev_seq, prev_hash = seq, row["row_hash"]

        meta_n = meta.get("n_rows", "")
        if not isinstance(meta_n, str):
            meta_n = repr(meta_n)
        meta_head = meta.get("head_hash")
        if meta_n.isascii() and meta_n.isdecimal() and int(meta_n) > prev_seq:
            problems.append(
                f"{_seq_range(prev_seq + 1, int(meta_n))} missing: the ledger recorded "
                f"{meta_n} decision(s) but the last row is seq {prev_seq} (deleted)"
            )
        elif meta_n != str(prev_seq):
            problems.append(
                f"the last row is seq {prev_seq} but meta records {meta_n!r} decision(s) "
                "(rows added or meta altered outside this tool)"
            )
        if meta_head != prev_hash:
            problems.append("last row's hash differs from the head recorded in meta")
        return VerifyReport(
            ok=not problems, n_rows=len(rows), problems=problems, head_hash=prev_hash
        )

    # -- reading ------------------------------------------------------------------------------

    def rows(self, case_id: str | None = None, *, expand_scores: bool = False) -> pd.DataFrame:
        """Every decision (or every decision on one case) in ``seq`` order.

        Parameters
        ----------
        case_id : str, optional
            Only this case's history.
        expand_scores : bool
            Add one column per score name (prefixed ``score_`` when it clashes with a ledger
            column); ``scores`` stays as JSON text either way.

        Returns
        -------
        pandas.DataFrame
            Columns ``seq, case_id, action, action_zh, target_handler_id, decided_by, reason,
            decided_at`` (UTC), ``model_id, scores, as_of_date, supersedes, prev_hash,
            row_hash``.
        """
        sql = f"SELECT {', '.join(_COLUMNS)} FROM decisions"
        params: tuple[Any, ...] = ()
        if case_id is not None:
            sql += " WHERE case_id = ?"
            params = (str(case_id).strip(),)
        with self._reading() as conn:
            records = conn.execute(sql + " ORDER BY seq", params).fetchall()
        df = _frame(records, _COLUMNS)
        return _expand_scores(df) if expand_scores else df

    def latest(self, *, expand_scores: bool = False) -> pd.DataFrame:
        """One row per case: its latest decision (highest ``seq``) and its history.

        Parameters
        ----------
        expand_scores : bool
            As in :meth:`rows`.

        Returns
        -------
        pandas.DataFrame
            The columns of :meth:`rows` plus ``n_decisions`` (how many decisions the case has)
            and ``first_decided_at``, ordered by the latest decision's ``seq``.
        """
        cols = ", ".join(f"d.{c}" for c in _COLUMNS)
        with self._reading() as conn:
            records = conn.execute(
                f"SELECT {cols}, h.n_decisions, h.first_decided_at FROM decisions d JOIN ("
                "  SELECT case_id, max(seq) AS last_seq, count(*) AS n_decisions,"
                "         min(decided_at) AS first_decided_at"
                "  FROM decisions GROUP BY case_id"
                ") h ON d.seq = h.last_seq ORDER BY d.seq"
            ).fetchall()
        df = _frame(records, (*_COLUMNS, "n_decisions", "first_decided_at"))
        return _expand_scores(df) if expand_scores else df

    def decided_cases(self) -> dict[str, str]:
        """Map each case with a decision to its latest action, for the scoring step."""
        with self._reading() as conn:
            return dict(
                conn.execute(
                    "SELECT d.case_id, d.action FROM decisions d JOIN ("
                    "  SELECT max(seq) AS last_seq FROM decisions GROUP BY case_id"
                    ") h ON d.seq = h.last_seq ORDER BY d.seq"
                ).fetchall()
            )

    # -- exporting ----------------------------------------------------------------------------

    def export(self, path: str | os.PathLike[str], *, zh_headers: bool | None = None) -> Path:
        """Write the 台账 (one row per case, latest decision and history count), atomically.

        Parameters
        ----------
        path : path-like
            ``.xlsx`` (what leaders open), ``.csv`` (UTF-8 with BOM) or ``.parquet``.
        zh_headers : bool, optional
            Chinese headers and actions in Chinese. Default: True for ``.xlsx`` and ``.csv``,
            False for ``.parquet``.

        Returns
        -------
        pathlib.Path
            The written file.
        """
        dest = Path(path)
        if dest.resolve() == self.path.resolve():
            raise LedgerError(f"{dest} is the ledger itself; export to another file")
        if zh_headers is None:
            zh_headers = dest.suffix.lower() in (".xlsx", ".csv")
        form = _ledger_form(self.latest(expand_scores=True), zh=zh_headers)
        try:
            return write_table(
                form, dest, zh_headers=zh_headers, sheet_name="决定台账", labels=_FORM_LABELS
            )
        except OSError as exc:  # a full disk or a read-only folder where the 台账 goes
            raise LedgerError(
                str(_refusal(exc, dest, "the 台账 was not written")).replace(
                    _NOT_DAMAGED, "the ledger itself is unchanged"
                )
            ) from None

    def export_xlsx(self, path: str | os.PathLike[str]) -> Path:
        """Write the 台账 as an Excel workbook with Chinese headers; see :meth:`export`."""
        return self._export_as(path, ".xlsx")

    def export_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write the 台账 as CSV (UTF-8 with BOM, Chinese headers); see :meth:`export`."""
        return self._export_as(path, ".csv")

    def _export_as(self, path: str | os.PathLike[str], suffix: str) -> Path:
        if Path(path).suffix.lower() != suffix:
            raise LedgerError(f"{path}: the file name must end in {suffix}")
        return self.export(path, zh_headers=True)


def verify_ledger(path: str | os.PathLike[str]) -> VerifyReport:
    """Verify the ledger at ``path`` read-only; a damaged file is a broken report, never a crash.

    What ``crossexec ledger verify`` runs: it needs read access only (see
    :class:`Ledger`'s ``read_only``), and a file whose bytes are damaged anywhere (its header,
    its tables, a row) is reported broken with a sentence instead of raising.

    Parameters
    ----------
    path : path-like
        The ledger file.

    Returns
    -------
    VerifyReport

    Raises
    ------
    LedgerError
        When there is no ledger at ``path``, the file is no ledger at all (a CSV, another
        application's database), comes from a newer version, or cannot be read for a reason
        outside it (permissions, the disk): no verdict on the ledger can be given then.
    """
    try:
        with Ledger(path, create=False, read_only=True) as ledger:
            return ledger.verify()
    except _DamagedError as err:
        return VerifyReport(ok=False, n_rows=0, problems=[str(err)])


# --------------------------------------------------------------------------------------------
# Frames and the 台账 form
# --------------------------------------------------------------------------------------------


def _frame(records: list[tuple[Any, ...]], columns: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=list(columns))
    df["seq"] = df["seq"].astype("int64")
    df["supersedes"] = df["supersedes"].astype("Int64")
    for c in ("decided_at", "first_decided_at"):
        if c in df:
            # coerce: a damaged stamp shows empty instead of stopping show/export (verify names it)
            df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601", errors="coerce")
    df["as_of_date"] = pd.to_datetime(df["as_of_date"], format="%Y-%m-%d", errors="coerce")
    if "n_decisions" in df:
        df["n_decisions"] = df["n_decisions"].astype("int64")
    for c in (
        "case_id",
        "action",
        "target_handler_id",
        "decided_by",
        "reason",
        "model_id",
        "scores",
        "prev_hash",
        "row_hash",
    ):
        df[c] = df[c].astype("string")
    df.insert(
        df.columns.get_loc("action") + 1,
        "action_zh",
        df["action"].map(ACTION_LABELS).astype("string"),
    )
    return df


def _scores_of(text: object) -> dict[str, Any]:
    """Parsed scores; damaged JSON (which verify reports) reads as no scores."""
    if not isinstance(text, str):
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _expand_scores(df: pd.DataFrame) -> pd.DataFrame:
    parsed = [_scores_of(s) for s in df["scores"]]
    keys = list(dict.fromkeys(k for d in parsed for k in d))
    out = df.copy()
    for k in keys:
        name = k if k not in out.columns else f"score_{k}"
        out[name] = [d.get(k) for d in parsed]
        if all(isinstance(v, str) or v is None for v in out[name]):
            out[name] = out[name].astype("string")
        elif all(
            v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in out[name]
        ):
            out[name] = pd.to_numeric(out[name])
    return out


# English column -> Chinese header of the 台账 (contract and output labels cover the rest).
#: Chinese headers of the 台账 form (the catalogue's ``ledger.column.<name>``).
_FORM_LABELS: dict[str, str] = {
    c: t(f"ledger.column.{c}")
    for c in (
        "seq",
        "case_id",
        "action",
        "action_zh",
        "target_handler_id",
        "decided_by",
        "reason",
        "decided_at",
        "first_decided_at",
        "n_decisions",
        "model_id",
        "as_of_date",
        "supersedes",
    )
}


def _ledger_form(latest: pd.DataFrame, *, zh: bool) -> pd.DataFrame:
    """The 台账 leaders read: who decided what, when and why, with the scores then shown."""
    form = latest.drop(columns=["scores", "prev_hash", "row_hash"])
    for c in ("decided_at", "first_decided_at"):
        # Beijing time as text: what a court reads, and write_table would cut datetimes to dates.
        form[c] = form[c].dt.tz_convert(_BEIJING).dt.strftime("%Y-%m-%d %H:%M:%S")
    if zh:
        form = form.drop(columns=["action"])
        if "suggested_rung" in form:
            form["suggested_rung"] = form["suggested_rung"].map(
                # the rung a case was suggested (团队内), not the action of taking it
                lambda r: rung_label(r) if isinstance(r, str) and r in RUNGS else r
            )
    else:
        form = form.drop(columns=["action_zh"])
    first = [
        "seq",
        "case_id",
        "action_zh" if zh else "action",
        "target_handler_id",
        "decided_by",
        "reason",
        "decided_at",
        "n_decisions",
        "first_decided_at",
        "model_id",
        "as_of_date",
        "supersedes",
    ]
    return form[first + [c for c in form.columns if c not in first]]


#: The scores a decider saw, recorded with each decision in the ledger. ``candidate`` says
#: whether this cycle's list proposed the case (the follow-up's "proposed and kept").
SHOWN_SCORES: tuple[str, ...] = (
    "p_keep",
    "p_intra_team",
    "p_inter_team",
    "p_higher_court",
    "p_cross",
    "uplift",
    "expected_gain",
    "suggested_rung",
    "priority_rank",
    "proposal_propensity",
    "candidate",
    "case_fingerprint",
)


def scores_shown(row: pd.Series) -> dict[str, object]:
    """The :data:`SHOWN_SCORES` of one scored row as plain JSON values (missing ones left out).

    ``case_fingerprint`` lets the next scoring tell whether the case changed since.
    """
    return {
        k: (
            row[k].item()
            if hasattr(row[k], "item")
            else row[k]
            if isinstance(row[k], bool | int | float)
            else str(row[k])
        )
        for k in SHOWN_SCORES
        if k in row.index and not pd.isna(row[k])
    }


def ledger_decisions(ledger_path: str | os.PathLike[str]) -> dict[str, dict[str, object]]:
    """Latest decision per case from the ledger: ``case_id -> {action, case_fingerprint}``."""
    import json

    from crossexec_ml.decide._ledger import Ledger

    # A job that scores reads with an ordinary connection, so SQLite removes its -wal and -shm
    # files on close (a read-only one cannot, and would leave them beside the ledger after
    # every run); only a job without write access to the ledger's folder reads read-only.
    try:
        ledger = Ledger(ledger_path, create=False)
    except LedgerError as err:
        if not os.access(Path(ledger_path).parent, os.W_OK) or not os.access(ledger_path, os.W_OK):
            ledger = Ledger(ledger_path, create=False, read_only=True)
        else:
            raise err from None
    with ledger:
        latest = ledger.latest()
    out: dict[str, dict[str, object]] = {}
    for row in latest.itertuples(index=False):
        shown = json.loads(row.scores) if isinstance(row.scores, str) and row.scores else {}
        out[str(row.case_id)] = {
            "action": row.action,
            "case_fingerprint": shown.get("case_fingerprint"),
        }
    return out
