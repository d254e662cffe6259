"""The decision ledger: recording, refusals, append-only, tamper evidence, files, concurrency."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import sqlite3
import threading
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from crossexec_ml.decide import ACTION_LABELS, ACTIONS, GENESIS_HASH, Ledger
from crossexec_ml.errors import LedgerError

CASE_A = "(2023)湘0103执1号"
CASE_B = "(2023)湘0103执2号"
SCORES = {
    "p_keep": 0.05,
    "p_cross": 0.3,
    "uplift": 0.25,
    "suggested_rung": "intra_team",
    "priority_rank": 3,
}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "ledger.sqlite"


def fill(path: Path, n: int = 4) -> None:
    """``n`` decisions alternating between two cases."""
    with Ledger(path) as led:
        for i in range(n):
            led.record(CASE_A if i % 2 == 0 else CASE_B, "keep", "L001", f"reason {i}")


def raw(path: Path, *statements: str) -> None:
    """Tamper the way someone with a SQLite browser would: drop the triggers, then write."""
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
        for name in names:
            conn.execute(f"DROP TRIGGER {name}")
        for sql in statements:
            conn.execute(sql)
        conn.commit()
    finally:
        conn.close()


def sidecars(path: Path) -> list[Path]:
    return [p for p in path.parent.iterdir() if p != path]


# --------------------------------------------------------------------------------------------
# Recording and reading back
# --------------------------------------------------------------------------------------------


def test_record_and_read_back(path: Path) -> None:
    with Ledger(path) as led:
        first = led.record(
            f"  {CASE_A} ",
            "reassign_intra_team",
            " L007 ",
            " 财产线索未穷尽，换人再查 ",
            target_handler_id="H012",
            model_id="m-2024-03",
            scores={**SCORES, "p_higher": np.float64(0.1), "missing": float("nan")},
            as_of_date=dt.date(2024, 3, 1),
        )
        second = led.record(CASE_B, "refer_judicial_aid", "L007", "无财产可供执行")
        df = led.rows()

    assert path.exists()  # the parent folder var/ was created
    assert first["seq"] == 1 and second["seq"] == 2
    assert first["case_id"] == CASE_A and first["decided_by"] == "L007"
    assert first["reason"] == "财产线索未穷尽，换人再查"
    assert first["scores"] == {**SCORES, "p_higher": 0.1, "missing": None}
    assert first["as_of_date"] == "2024-03-01"
    assert first["prev_hash"] == GENESIS_HASH
    assert second["prev_hash"] == first["row_hash"]
    stamp = dt.datetime.fromisoformat(first["decided_at"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert "." in first["decided_at"]  # microseconds kept
    assert abs(dt.datetime.now(dt.UTC) - stamp) < dt.timedelta(minutes=1)

    assert df["seq"].tolist() == [1, 2]
    assert df["action"].tolist() == ["reassign_intra_team", "refer_judicial_aid"]
    assert df["action_zh"].tolist() == ["团队内交叉执行", "转司法救助"]
    assert df["target_handler_id"].iloc[0] == "H012" and pd.isna(df["target_handler_id"].iloc[1])
    assert json.loads(df["scores"].iloc[0])["uplift"] == 0.25
    assert df["as_of_date"].iloc[0] == pd.Timestamp("2024-03-01")
    assert df["decided_at"].iloc[0] == pd.Timestamp(first["decided_at"])
    assert df["row_hash"].tolist() == [first["row_hash"], second["row_hash"]]


def test_row_hash_is_reproducible_from_the_documented_formula(path: Path) -> None:
    """An auditor can recompute every hash with sha256 and JSON alone."""
    with Ledger(path) as led:
        row = led.record(CASE_A, "keep", "L001", "暂无更优承办人", scores={"uplift": 0.01})
    content = {k: v for k, v in row.items() if k not in ("prev_hash", "row_hash")}
    content["scores"] = json.dumps(row["scores"], sort_keys=True, separators=(",", ":"))
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    expected = hashlib.sha256((GENESIS_HASH + canonical).encode("utf-8")).hexdigest()
    assert row["row_hash"] == expected


def test_an_acknowledged_record_is_committed(path: Path) -> None:
    with Ledger(path) as led:
        row = led.record(CASE_A, "defer", "L001", "等待评估报告")
        other = sqlite3.connect(path)  # another reader sees it before the ledger is closed
        try:
            seen = other.execute("SELECT row_hash FROM decisions WHERE seq = 1").fetchone()
        finally:
            other.close()
    assert seen == (row["row_hash"],)


def test_rows_of_one_case_and_expanded_scores(path: Path) -> None:
    with Ledger(path) as led:
        led.record(CASE_A, "keep", "L001", "r1", scores={"uplift": 0.2, "suggested_rung": "keep"})
        led.record(CASE_B, "keep", "L001", "r2")
        led.record(CASE_A, "defer", "L001", "r3", scores={"uplift": 0.1, "seq": 9})
        one = led.rows(CASE_A, expand_scores=True)
    assert one["seq"].tolist() == [1, 3]
    assert one["uplift"].tolist() == [0.2, 0.1]
    assert one["score_seq"].iloc[1] == 9  # a score name clashing with a ledger column
    assert one["suggested_rung"].iloc[0] == "keep" and pd.isna(one["suggested_rung"].iloc[1])


def test_empty_ledger_reads_empty_frames(path: Path) -> None:
    with Ledger(path) as led:
        report = led.verify()
        assert report.ok and report.n_rows == 0 and report.head_hash == GENESIS_HASH
        assert led.rows().empty and "case_id" in led.rows().columns
        assert led.latest().empty and "n_decisions" in led.latest().columns
        assert led.decided_cases() == {}
        assert led.n_rows == 0


# --------------------------------------------------------------------------------------------
# Refusals write nothing
# --------------------------------------------------------------------------------------------

REFUSALS = [
    ({"reason": ""}, "reason is empty"),
    ({"reason": "   \n"}, "reason is empty"),
    ({"decided_by": "   "}, "decided_by is empty"),
    ({"decided_by": None}, "decided_by is empty"),
    ({"decided_by": "430103199001011234"}, "decided_by looks like an ID number"),
    ({"case_id": ""}, "case_id is empty"),
    ({"case_id": 12345}, "case_id must be text"),
    ({"action": "reassign"}, "action 'reassign' is not a ledger action"),
    ({"action": "团队内交叉执行"}, "is not a ledger action"),
    ({"action": "reassign_intra_team"}, "target_handler_id is empty"),
    ({"action": "reassign_inter_team", "target_handler_id": "  "}, "target_handler_id is empty"),
    ({"action": "keep", "target_handler_id": "H012"}, "target_handler_id must be empty"),
    ({"action": "escalate_higher_court", "target_handler_id": "H012"}, "must be empty"),
    ({"supersedes": 2}, "supersedes 2 is a decision on case"),
    ({"supersedes": 99}, "supersedes 99 names no decision"),
    ({"supersedes": 0}, "supersedes 0 must be the seq"),
    ({"supersedes": True}, "supersedes True must be the seq"),
    ({"supersedes": "1"}, "supersedes '1' must be the seq"),
    ({"as_of_date": "2024-13-01"}, "as_of_date '2024-13-01' is not a date"),
    ({"as_of_date": "1/3/2024"}, "as_of_date '1/3/2024' is not a date"),
    ({"scores": [0.1, 0.2]}, "scores must be a mapping"),
    ({"scores": {"uplift": float("inf")}}, "scores['uplift'] is infinite"),
    ({"scores": {"nested": {"a": 1}}}, "scores['nested'] is a dict"),
    ({"scores": {"": 1.0}}, "must be a non-empty text name"),
]


@pytest.mark.parametrize(("change", "message"), REFUSALS)
def test_invalid_decisions_are_refused_and_write_nothing(
    path: Path, change: dict, message: str
) -> None:
    with Ledger(path) as led:
        led.record(CASE_A, "keep", "L001", "first")  # seq 1, case A
        led.record(CASE_B, "keep", "L001", "second")  # seq 2, case B
        before = led.rows()
        args = {"case_id": CASE_A, "action": "keep", "decided_by": "L001", "reason": "why"}
        args.update(change)
        with pytest.raises(LedgerError, match="decision not recorded") as err:
            led.record(**args)
        assert message in str(err.value)
        pd.testing.assert_frame_equal(led.rows(), before)
        report = led.verify()
    assert report.ok and report.n_rows == 2
    with Ledger(path) as led:  # and the next decision still chains on
        assert led.record(CASE_A, "keep", "L001", "third")["seq"] == 3
        assert led.verify().ok


def test_every_problem_is_listed_at_once(path: Path) -> None:
    with Ledger(path) as led, pytest.raises(LedgerError) as err:
        led.record("", "keep", " ", "", target_handler_id="H1")
    text = str(err.value)
    for part in ("case_id is empty", "decided_by is empty", "reason is empty", "must be empty"):
        assert part in text


def test_unknown_action_message_lists_the_actions(path: Path) -> None:
    with Ledger(path) as led, pytest.raises(LedgerError) as err:
        led.record(CASE_A, "close_case", "L001", "r")
    for action in ACTIONS:
        assert action in str(err.value) and ACTION_LABELS[action] in str(err.value)


# --------------------------------------------------------------------------------------------
# Append-only and tamper evidence
# --------------------------------------------------------------------------------------------


def test_ledger_has_no_update_or_delete_method() -> None:
    public = {n for n in dir(Ledger) if not n.startswith("_")}
    assert not {n for n in public if any(w in n for w in ("update", "delete", "remove", "edit"))}


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE decisions SET reason = 'rewritten' WHERE seq = 2",
        "UPDATE decisions SET action = 'keep'",
        "DELETE FROM decisions WHERE seq = 2",
        "DELETE FROM decisions",
        # Out of turn: a row that does not follow the head.
        "INSERT INTO decisions(seq, case_id, action, decided_by, reason, decided_at, prev_hash,"
        " row_hash) VALUES (9, 'x', 'keep', 'L1', 'r', '2024-01-01', 'p', 'h')",
        "UPDATE meta SET value = '1' WHERE key = 'n_rows'",
        "UPDATE meta SET value = 'other' WHERE key = 'format'",
        "DELETE FROM meta",
    ],
)
def test_triggers_abort_raw_writes(path: Path, sql: str) -> None:
    fill(path, 3)
    conn = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(sql)
        conn.rollback()
    finally:
        conn.close()
    with Ledger(path) as led:
        report = led.verify()
    assert report.ok and report.n_rows == 3


def test_verify_catches_an_edited_row(path: Path) -> None:
    fill(path, 4)
    raw(path, "UPDATE decisions SET reason = 'rewritten' WHERE seq = 2")
    with Ledger(path) as led:
        report = led.verify()
    assert not report.ok
    assert "seq 2: content does not match its hash (edited)" in report.problems
    assert any("triggers are missing" in p for p in report.problems)
    assert "seq 2 missing" not in str(report)


def test_verify_catches_an_edit_that_was_re_hashed(path: Path) -> None:
    """Rewriting a row and its own hash still breaks the link to the next row."""
    fill(path, 4)
    with Ledger(path) as led:
        row = led.rows().iloc[1]
    content = {
        "seq": 2,
        "case_id": row["case_id"],
        "action": "escalate_higher_court",
        "target_handler_id": None,
        "decided_by": row["decided_by"],
        "reason": row["reason"],
        "decided_at": row["decided_at"].isoformat(timespec="microseconds"),
        "model_id": None,
        "scores": None,
        "as_of_date": None,
        "supersedes": None,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    new_hash = hashlib.sha256((row["prev_hash"] + canonical).encode()).hexdigest()
    raw(
        path,
        f"UPDATE decisions SET action = 'escalate_higher_court', row_hash = '{new_hash}' "
        "WHERE seq = 2",
    )
    with Ledger(path) as led:
        report = led.verify()
    assert not report.ok
    assert not any(p.startswith("seq 2:") for p in report.problems)
    assert any(p.startswith("seq 3: does not chain to seq 2") for p in report.problems)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("DELETE FROM decisions WHERE seq = 3", "seq 3 missing: rows 2 and 4 do not chain"),
        ("DELETE FROM decisions WHERE seq IN (2, 3)", "seq 2..3 missing: rows 1 and 4"),
        ("DELETE FROM decisions WHERE seq = 1", "seq 1 missing: the genesis and row 2"),
        ("DELETE FROM decisions WHERE seq = 5", "seq 5 missing: the ledger recorded 5"),
    ],
    ids=["middle", "two-middle", "first", "last"],
)
def test_verify_catches_deleted_rows(path: Path, sql: str, expected: str) -> None:
    fill(path, 5)
    raw(path, sql)
    with Ledger(path) as led:
        report = led.verify()
    assert not report.ok
    assert any(p.startswith(expected) for p in report.problems), report.problems
    assert not any("content does not match" in p for p in report.problems)
    if "seq = 5" in sql:
        assert "last row's hash differs from the head recorded in meta" in report.problems


def test_verify_catches_a_row_appended_behind_the_ledgers_back(path: Path) -> None:
    fill(path, 2)
    with Ledger(path) as led:
        head = led.verify().head_hash
    raw(
        path,
        "INSERT INTO decisions(seq, case_id, action, decided_by, reason, decided_at, prev_hash,"
        f" row_hash) VALUES (3, 'x', 'keep', 'L1', 'r', '2024-01-01', '{head}', 'h')",
    )
    with Ledger(path) as led:
        report = led.verify()
    assert "seq 3: content does not match its hash (edited)" in report.problems
    assert any("meta records '2'" in p for p in report.problems)


def test_record_refuses_to_append_to_a_tampered_ledger(path: Path) -> None:
    fill(path, 3)
    raw(path, "DELETE FROM decisions WHERE seq = 3")
    with Ledger(path) as led:
        with pytest.raises(LedgerError, match="altered outside this tool"):
            led.record(CASE_A, "keep", "L001", "after the deletion")
        assert led.n_rows == 2


# --------------------------------------------------------------------------------------------
# Files that are not ledgers
# --------------------------------------------------------------------------------------------


def _other_sqlite(path: Path, *, tables: bool, app_id: int = 0) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA user_version = 7")
        if app_id:
            conn.execute(f"PRAGMA application_id = {app_id}")
        if tables:  # same table names as the ledger: must not fool it
            conn.execute("CREATE TABLE meta (key TEXT, value TEXT)")
            conn.execute("CREATE TABLE decisions (seq INTEGER, note TEXT)")
            conn.execute("INSERT INTO decisions VALUES (1, 'keep me')")
        conn.commit()
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("案号,承办人\n(2023)湘0103执1号,H001\n"), "not an SQLite database"),
        (lambda p: p.write_bytes(b""), "is an empty file"),
        (lambda p: p.write_bytes(b"SQLite format 3\x00 too short"), "not an SQLite database"),
        (lambda p: _other_sqlite(p, tables=False), "another application"),
        (lambda p: _other_sqlite(p, tables=True), "another application"),
        (lambda p: _other_sqlite(p, tables=True, app_id=0x12345), "application_id 0x12345"),
    ],
    ids=["csv-text", "empty", "short", "sqlite-no-tables", "sqlite-same-names", "sqlite-app-id"],
)
def test_non_ledger_files_are_refused_and_left_untouched(
    tmp_path: Path, make, message: str
) -> None:
    target = tmp_path / "cases.sqlite"
    make(target)
    before = target.read_bytes()
    with pytest.raises(LedgerError, match=message) as err:
        Ledger(target)
    assert "left untouched" in str(err.value)
    assert target.read_bytes() == before
    assert sidecars(target) == []  # no -wal/-shm/-journal created beside it


def test_a_file_with_the_ledger_mark_but_no_meta_is_refused(tmp_path: Path) -> None:
    from crossexec_ml.decide import APPLICATION_ID

    target = tmp_path / "fake.sqlite"
    _other_sqlite(target, tables=False, app_id=APPLICATION_ID)
    before = target.read_bytes()
    with pytest.raises(LedgerError, match="damaged"):
        Ledger(target)
    assert target.read_bytes() == before


def test_a_ledger_of_a_newer_format_is_refused(path: Path) -> None:
    fill(path, 1)
    raw(path, "UPDATE meta SET value = '99' WHERE key = 'format_version'")
    with pytest.raises(LedgerError, match="Upgrade crossexec-ml"):
        Ledger(path)


def test_folder_and_missing_paths(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="is a folder"):
        Ledger(tmp_path)
    missing = tmp_path / "nowhere" / "ledger.sqlite"
    with pytest.raises(LedgerError, match="no ledger here"):
        Ledger(missing, create=False)
    assert not missing.parent.exists()


def test_reopened_ledger_keeps_verifying_and_chaining(path: Path) -> None:
    fill(path, 3)
    with Ledger(path) as led:
        head = led.verify().head_hash
        row = led.record(CASE_B, "defer", "L002", "下周复议")
    assert row["seq"] == 4 and row["prev_hash"] == head
    led = Ledger(path, create=False)
    try:
        report = led.verify()
    finally:
        led.close()
        led.close()  # closing twice is harmless
    assert report.ok and report.n_rows == 4 and report.head_hash == row["row_hash"]
    assert sidecars(path) == []  # WAL checkpointed and removed on the last close
    with pytest.raises(LedgerError, match="is closed"):
        led.rows()


# --------------------------------------------------------------------------------------------
# Several writers
# --------------------------------------------------------------------------------------------


def _write_decisions(path: str, proc: int, n: int, barrier) -> None:
    barrier.wait()  # start together, so the creation of the file and the appends really race
    with Ledger(path) as led:
        for i in range(n):
            led.record(f"case-{proc}-{i}", "keep", f"L{proc}", f"p{proc} i{i}")


def test_concurrent_processes_lose_no_decision(path: Path) -> None:
    n_procs, n_each = 8, 200  # the trust issue's figure: 8 processes x 200 decisions
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n_procs)
    procs = [
        ctx.Process(target=_write_decisions, args=(str(path), p, n_each, barrier))
        for p in range(n_procs)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * n_procs

    with Ledger(path, create=False) as led:
        report = led.verify()
        df = led.rows()
    assert report.ok, report.problems
    assert report.n_rows == n_procs * n_each
    assert df["seq"].tolist() == list(range(1, n_procs * n_each + 1))
    assert set(df["reason"]) == {f"p{p} i{i}" for p in range(n_procs) for i in range(n_each)}
    assert df["decided_at"].is_monotonic_increasing
    assert not list(path.parent.glob("*.init"))  # the losers' creation files are cleaned up


def test_threads_sharing_one_ledger(path: Path) -> None:
    with Ledger(path) as led:

        def work(t: int) -> None:
            for i in range(20):
                led.record(f"case-{t}-{i}", "keep", "L001", "r")

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        report = led.verify()
    assert report.ok and report.n_rows == 80


# --------------------------------------------------------------------------------------------
# latest(), history and the exported 台账
# --------------------------------------------------------------------------------------------


def _history(path: Path) -> list[dict]:
    with Ledger(path) as led:
        return [
            led.record(
                CASE_A,
                "reassign_intra_team",
                "L001",
                "资产线索多，原承办人久未推进",
                target_handler_id="H012",
                model_id="m1",
                scores=SCORES,
                as_of_date="2024-03-01",
            ),
            led.record(CASE_B, "refer_judicial_aid", "L001", "无财产，申请人生活困难"),
            led.record(
                CASE_A,
                "reassign_inter_team",
                "L002",
                "=更正：本团队无空余承办人",
                target_handler_id="H020",
                model_id="m1",
                scores=SCORES,
                as_of_date="2024-03-01",
                supersedes=1,
            ),
        ]


def test_latest_and_history_count_with_a_correction(path: Path) -> None:
    first, second, correction = _history(path)
    with Ledger(path) as led:
        latest = led.latest()
        decided = led.decided_cases()
        history = led.rows(CASE_A)
    assert latest["case_id"].tolist() == [CASE_B, CASE_A]  # in order of the latest decision
    a = latest.set_index("case_id").loc[CASE_A]
    assert a["seq"] == 3 and a["action"] == "reassign_inter_team" and a["supersedes"] == 1
    assert a["target_handler_id"] == "H020" and a["n_decisions"] == 2
    assert a["first_decided_at"] == pd.Timestamp(first["decided_at"])
    assert a["decided_at"] == pd.Timestamp(correction["decided_at"])
    b = latest.set_index("case_id").loc[CASE_B]
    assert b["n_decisions"] == 1 and b["first_decided_at"] == b["decided_at"]
    assert decided == {CASE_A: "reassign_inter_team", CASE_B: "refer_judicial_aid"}
    assert history["seq"].tolist() == [1, 3]


def test_export_xlsx_is_the_chinese_ledger_form(path: Path, tmp_path: Path) -> None:
    _, _, correction = _history(path)
    out = tmp_path / "reports" / "台账.xlsx"
    with Ledger(path) as led:
        assert led.export_xlsx(out) == out
    wb = openpyxl.load_workbook(out, read_only=True)
    try:
        rows = list(wb.active.iter_rows(values_only=True))
        title = wb.active.title
    finally:
        wb.close()
    header, body = rows[0], rows[1:]
    assert title == "决定台账"
    for label in (
        "案号",
        "决定",
        "接收承办人",
        "决定人",
        "决定理由",
        "决定时间",
        "模型版本",
        "决定次数",
        "首次决定时间",
        "更正的台账序号",
        "交叉执行增益",
        "建议交叉层级",
    ):
        assert label in header, label
    assert "action" not in header and "row_hash" not in header
    assert len(body) == 2
    a = dict(zip(header, body[1], strict=True))
    assert a["案号"] == CASE_A and a["决定"] == "团队间交叉执行" and a["接收承办人"] == "H020"
    assert a["决定次数"] == 2 and a["更正的台账序号"] == 1
    assert a["决定理由"] == "'=更正：本团队无空余承办人"  # a formula-like text is neutralised
    assert (
        a["建议交叉层级"] == "团队内"
    )  # the suggested rung, not the action and a["交叉执行增益"] == 0.25
    beijing = pd.Timestamp(correction["decided_at"]).tz_convert("UTC") + pd.Timedelta(hours=8)
    assert a["决定时间"] == beijing.strftime("%Y-%m-%d %H:%M:%S")
    b = dict(zip(header, body[0], strict=True))
    assert b["决定"] == "转司法救助" and b["接收承办人"] is None
    assert not list(out.parent.glob(".*.tmp"))  # written atomically, no leftovers


def test_export_csv_and_by_extension(path: Path, tmp_path: Path) -> None:
    _history(path)
    with Ledger(path) as led:
        led.export_csv(tmp_path / "t.csv")
        led.export(tmp_path / "t.parquet")
        with pytest.raises(LedgerError, match="must end in .xlsx"):
            led.export_xlsx(tmp_path / "t.csv")
        with pytest.raises(LedgerError, match="is the ledger itself"):
            led.export(path)
        with pytest.raises(Exception, match="use .csv, .parquet or .xlsx"):
            led.export(tmp_path / "t.txt")
    csv = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig")
    assert csv.columns[:3].tolist() == ["台账序号", "案号", "决定"]
    assert csv["决定"].tolist() == ["转司法救助", "团队间交叉执行"]
    machine = pd.read_parquet(tmp_path / "t.parquet")
    assert machine["action"].tolist() == ["refer_judicial_aid", "reassign_inter_team"]
    assert machine["n_decisions"].tolist() == [1, 2]


def test_export_of_an_empty_ledger_has_the_headers(path: Path, tmp_path: Path) -> None:
    with Ledger(path) as led:
        led.export_xlsx(tmp_path / "empty.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "empty.xlsx", read_only=True)
    try:
        rows = list(wb.active.iter_rows(values_only=True))
    finally:
        wb.close()
    assert len(rows) == 1 and rows[0][:3] == ("台账序号", "案号", "决定")


@pytest.mark.skipif(not hasattr(os, "umask") or os.name != "posix", reason="POSIX modes")
def test_new_ledger_gets_the_usual_file_mode(path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    fill(path, 1)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
