"""`crossexec decide` and `crossexec ledger show|export|verify`."""

from __future__ import annotations

import sqlite3

import openpyxl
import pandas as pd

from crossexec_ml.cli import main
from crossexec_ml.decide import Ledger


def decide(ledger, *extra):
    return main(["decide", "--ledger", str(ledger), *extra])


def test_decide_show_export_verify(tmp_path, capsys):
    db = tmp_path / "var" / "ledger.sqlite"
    scored = tmp_path / "scored.csv"
    pd.DataFrame(
        {
            "case_id": ["(2024)湘0102执1号"],
            "as_of_date": ["2026-10-31"],
            "p_keep": [0.05],
            "p_cross": [0.31],
            "uplift": [0.26],
            "suggested_rung": ["intra_team"],
            "priority_rank": [1],
            "model_id": ["abc123def456"],
        }
    ).to_csv(scored, index=False)
    rc = decide(
        db,
        "--case",
        "(2024)湘0102执1号",
        "--action",
        "reassign_intra_team",
        "--by",
        "L01",
        "--reason",
        "房产已查封420天未处置",
        "--target",
        "H0002",
        "--scored",
        str(scored),
    )
    assert rc == 0 and "recorded decision #1" in capsys.readouterr().out
    with Ledger(db) as led:
        row = led.rows().iloc[0]
    assert row["model_id"] == "abc123def456" and '"uplift":0.26' in row["scores"]
    assert row["as_of_date"] == pd.Timestamp("2026-10-31")
    assert main(["ledger", "show", "--ledger", str(db)]) == 0
    assert "1 decision(s) on 1 case(s)" in capsys.readouterr().out
    assert main(["ledger", "verify", "--ledger", str(db)]) == 0
    out = tmp_path / "台账.xlsx"
    assert main(["ledger", "export", "--ledger", str(db), "--out", str(out)]) == 0
    header = next(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
    assert "案号" in header


def test_decision_without_reason_writes_nothing(tmp_path, capsys):
    db = tmp_path / "ledger.sqlite"
    assert decide(db, "--case", "X1", "--action", "keep", "--by", "L01", "--reason", "ok") == 0
    rc = decide(db, "--case", "X2", "--action", "keep", "--by", "L01", "--reason", "  ")
    assert rc == 1
    assert "reason" in capsys.readouterr().err
    with Ledger(db) as led:
        assert led.n_rows == 1


def test_verify_fails_on_a_deleted_row(tmp_path, capsys):
    db = tmp_path / "ledger.sqlite"
    for i in range(3):
        decide(db, "--case", f"X{i}", "--action", "defer", "--by", "L01", "--reason", "wait")
    conn = sqlite3.connect(db)
    for (name,) in conn.execute("select name from sqlite_master where type='trigger'").fetchall():
        conn.execute(f'drop trigger "{name}"')
    conn.execute("delete from decisions where seq = 2")
    conn.commit()
    conn.close()
    assert main(["ledger", "verify", "--ledger", str(db)]) == 1
    assert "deleted" in capsys.readouterr().out


def test_not_a_ledger_is_refused_and_untouched(tmp_path, capsys):
    path = tmp_path / "cases.csv"
    path.write_text("case_id\nX\n")
    before = path.read_bytes()
    assert decide(path, "--case", "X", "--action", "keep", "--by", "L", "--reason", "r") == 1
    assert path.read_bytes() == before
    assert main(["ledger", "show", "--ledger", str(tmp_path / "missing.sqlite")]) == 1
    assert not (tmp_path / "missing.sqlite").exists()


def test_ledger_init_creates_an_empty_ledger_and_leaves_an_existing_one(tmp_path, capsys):
    from crossexec_ml.cli import main

    path = tmp_path / "var" / "ledger.sqlite"
    path.parent.mkdir()
    assert main(["ledger", "init", "--ledger", str(path)]) == 0
    assert "0 decision(s)" in capsys.readouterr().out
    decide = ["decide", "--ledger", str(path), "--case", "(2024)湘0103执1号", "--action", "keep"]
    assert main([*decide, "--by", "L007", "--reason", "test"]) == 0
    before = path.read_bytes()
    assert main(["ledger", "init", "--ledger", str(path)]) == 0
    assert "1 decision(s)" in capsys.readouterr().out
    assert main(["ledger", "verify", "--ledger", str(path)]) == 0
    assert path.read_bytes() == before
