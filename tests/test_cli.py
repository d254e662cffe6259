"""`crossexec validate` and `crossexec generate` as a clerk would run them."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import SAMPLE_DIR, cases_contract, read_cases

ZH = cases_contract().labels_zh()


@pytest.fixture(scope="module")
def sample_rows() -> pd.DataFrame:
    """200 sample rows as text, the way an export holds them."""
    return pd.read_csv(SAMPLE_DIR / "history.csv", dtype=str, keep_default_na=False).head(200)


def test_gbk_export_with_chinese_headers(tmp_path, sample_rows, capsys):
    path = tmp_path / "导出.csv"
    path.write_bytes(sample_rows.rename(columns=ZH).to_csv(index=False).encode("gbk"))
    assert main(["validate", str(path)]) == 0
    assert "200 rows" in capsys.readouterr().out


def test_xlsx_with_chinese_headers_and_yes_no(tmp_path, sample_rows, capsys):
    df = sample_rows.copy()
    for name, spec in cases_contract().columns.items():
        if spec.dtype == "bool":
            df[name] = df[name].map({"True": "是", "False": "否", "": ""})
    df.rename(columns=ZH).to_excel(tmp_path / "export.xlsx", index=False)
    assert main(["validate", str(tmp_path / "export.xlsx")]) == 0
    back = read_cases(tmp_path / "export.xlsx")
    expected = read_cases(SAMPLE_DIR / "history.csv").head(200)
    pd.testing.assert_frame_equal(back, expected)


def test_planted_errors_name_every_row_and_column(tmp_path, sample_rows, capsys):
    df = sample_rows.copy()
    plants = {
        (4, "amount_outstanding"): "lots",
        (17, "filing_date"): "2023-02-30",
        (17, "debtor_type"): "dragon",
        (88, "handler_id"): "",
        (150, "has_vehicle"): "perhaps",
    }
    for (i, col), value in plants.items():
        df.loc[i, col] = value
    path = tmp_path / "planted.csv"
    df.to_csv(path, index=False)
    before = set(tmp_path.iterdir())
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "5 problem(s) found" in out
    for i, col in plants:
        label = ZH[col]
        assert f"row {i + 2}, column {col} ({label})" in out
    assert set(tmp_path.iterdir()) == before  # validate writes nothing


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        (b"case_id,court_id\n", "no data rows"),
    ],
)
def test_unreadable_files_one_sentence_exit_1(tmp_path, capsys, content, message):
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_bytes(content)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_runs(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"nope")
    proc = subprocess.run(
        [sys.executable, "-m", "crossexec_ml.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: bad.xlsx: not a readable .xlsx workbook")


def test_ctrl_c_ends_with_a_sentence_and_exit_130(monkeypatch, capsys):
    import importlib

    def interrupted(args):
        raise KeyboardInterrupt

    # The parser binds the command when it is built, so patch both modules before main builds
    # it. The package re-exports a function named _parser, hence import_module, not attributes.
    for name in ("crossexec_ml.cli._commands", "crossexec_ml.cli._parser"):
        module = importlib.import_module(name)
        if hasattr(module, "_cmd_validate"):
            monkeypatch.setattr(module, "_cmd_validate", interrupted)
    assert main(["validate", "whatever.csv"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
