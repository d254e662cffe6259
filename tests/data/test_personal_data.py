"""Personal data never gets in: refused on ingestion, dropped only when allowed, never written.

Columns that look like personal data are planted in every input path (CSV, XLSX, Parquet; the
history, the current cases and the handlers), by header (姓名, 身份证号, 手机号...) and by value
(an ID number or a mobile number in an innocently named column, or in a contract column). By
default each is refused with a message that names the column and the rows but never the value.
With the allow option the real jobs run end to end, and every file they write is searched for
the planted values and headers.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import (
    ValidationError,
    allowing_personal_columns,
    cases_contract,
    handlers_contract,
    header_rule,
    is_id_number,
    make_cases,
    mask_text,
    read_cases,
    read_handlers,
    validate_file,
    value_rule,
    write_synthetic,
    write_table,
)
from crossexec_ml.decide import Ledger
from crossexec_ml.errors import InputError, LedgerError


def make_id(area: str, birth: str, seq: str) -> str:
    """A resident ID number with its ISO 7064 check digit (computed here independently)."""
    body = area + birth + seq
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


ID_A = make_id("110105", "19491231", "002")  # 11010519491231002X
ID_B = make_id("430103", "19850617", "123")
ID_OLD = "430103850617123"  # 15-digit form (before 1999)
MOBILE_A = "13912345678"
MOBILE_B = "18800001234"
NAME = "张三丰"
ADDRESS = "湖南省长沙市芙蓉区五一大道88号"

#: Values that must never appear in any message or output.
SECRETS = (ID_A, ID_B, ID_OLD, MOBILE_A, MOBILE_B, "188-0000-1234", NAME, ADDRESS)

#: Extra columns planted by header (the header says it is personal) and by value only.
BY_HEADER = {
    "姓名": NAME,
    "身份证号": ID_A,
    "Mobile Phone": MOBILE_A,
    "住址": ADDRESS,
    "debtor_full_name": NAME,
}
BY_VALUE = {
    "案件备注": f"申请人身份证{ID_B}已核实",
    "联络记录": "已通知申请人 +86 188-0000-1234，无异议",
    "remarks_2": ID_OLD,
}
#: Headers that must not appear in any output either (they were dropped on reading).
PLANTED_HEADERS = (*BY_HEADER, *BY_VALUE)
#: Rows (spreadsheet numbering, header = row 1) that carry the by-value plants.
VALUE_ROWS = (3, 5)


def test_the_planted_values_are_what_they_claim():
    assert ID_A == "11010519491231002X"
    assert is_id_number(ID_A) and is_id_number(ID_B) and is_id_number(ID_OLD)
    assert not is_id_number(ID_B[:-1] + ("0" if ID_B[-1] != "0" else "1"))  # wrong check digit
    assert value_rule(MOBILE_A) == "mobile" and value_rule(BY_VALUE["案件备注"]) == "id_number"
    assert value_rule(BY_VALUE["联络记录"]) == "mobile"
    for h in BY_HEADER:
        assert header_rule(h) == "header", h
    for h in BY_VALUE:
        assert header_rule(h) is None, h


@pytest.mark.parametrize(
    "header",
    [
        "姓名",
        "当事人姓名",
        "身份证号",
        "身份证号码",
        "公民身份号码",
        "手机号",
        "联系电话",
        "住址",
        "家庭地址",
        "被执行人",
        "name",
        "Full Name",
        "full_name",
        "FullName",
        "id_number",
        "ID-Card",
        "idcard_no",
        "phone",
        "Mobile",
        "mobile_no",
        "address",
        "E-mail",
        "date_of_birth",
        "xingming",
        "sfzh",
        "ｎａｍｅ",  # full-width
    ],
)
def test_personal_headers_are_recognised(header):
    assert header_rule(header) == "header"


@pytest.mark.parametrize(
    "header",
    ["court_name", "team name", "cause_name", "case_no", "case_number", "remark", "备注", "id"]
    + [c.name for c in cases_contract().columns.values()]
    + [c.label_zh for c in cases_contract().columns.values()]
    + [c.label_zh for c in handlers_contract().columns.values()],
)
def test_ordinary_headers_are_not_personal(header):
    assert header_rule(header) is None


@pytest.mark.parametrize(
    "text",
    [
        "(2023)湘0103执1234号",
        "(2021)京0105执恢12345号",
        "H00123",
        "C01-T3",
        "12000",
        "880000.5",
        "2024-03-01",
        "20240301",
        "12345678901",  # 11 digits, not a mobile prefix
        "123456789012345678",  # 18 digits, no province, bad check digit
        "4301031985061712",  # 16 digits
        "6222021234567890123",  # a bank card: masked in messages, not refused
    ],
)
def test_codes_amounts_and_case_numbers_are_not_personal(text):
    assert value_rule(text) is None


def test_mask_text_hides_ids_phones_and_long_digit_runs():
    text = f"a {ID_A} b +86 188-0000-1234 c {MOBILE_A} d 6222021234567890123 e (2023)湘0103执1号"
    masked = mask_text(text)
    for secret in (ID_A, "188-0000-1234", MOBILE_A, "6222021234567890123", "0000-1234"):
        assert secret not in masked
    assert "(2023)湘0103执1号" in masked  # case numbers stay readable


# --------------------------------------------------------------------------------------------
# Inputs in every format
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("personal")
    write_synthetic(make_cases(n_history=800, n_current=120, seed=3), root)
    return root


def raw_frame(base: Path, kind: str, rows: int | None = None) -> pd.DataFrame:
    """The generated file as text cells (the way an export holds them), its first ``rows``."""
    name = {"history": "history.csv", "current": "current.csv", "handlers": "handlers.csv"}[kind]
    df = pd.read_csv(base / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return df if rows is None else df.head(rows)


def plant(df: pd.DataFrame, *, by_header: bool = True, by_value: bool = True) -> pd.DataFrame:
    """Add the planted personal columns (by-value plants only in :data:`VALUE_ROWS`)."""
    out = df.copy()
    if by_header:
        for h, v in BY_HEADER.items():
            out[h] = v
    if by_value:
        for h, v in BY_VALUE.items():
            col = pd.Series("无", index=out.index, dtype=object)
            for row in VALUE_ROWS:
                col.iloc[row - 2] = v
            out[h] = col
    return out


def write(df: pd.DataFrame, path: Path) -> Path:
    """Write a text frame as CSV (GBK for .gbk.csv), XLSX or Parquet."""
    if path.name.endswith(".gbk.csv"):
        path.write_bytes(df.to_csv(index=False).encode("gb18030"))
    elif path.suffix == ".csv":
        path.write_bytes(df.to_csv(index=False).encode("utf-8-sig"))
    elif path.suffix == ".xlsx":
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(list(df.columns))
        for row in df.itertuples(index=False):
            # Mobile numbers as real numbers, the way Excel stores a typed phone number.
            ws.append([int(c) if c == MOBILE_A else c for c in row])
        wb.save(path)
    else:
        df.to_parquet(path, index=False)
    return path


FORMATS = ["csv", "gbk.csv", "xlsx", "parquet"]
KINDS = ["history", "current", "handlers"]


def every_input(formats: list[str]) -> list:
    """(kind, format) pairs: each kind and each format once in the default suite, all in slow."""
    default = {(k, formats[i % len(formats)]) for i, k in enumerate(KINDS)}
    default |= {(KINDS[i % len(KINDS)], f) for i, f in enumerate(formats)}
    return [
        (k, f) if (k, f) in default else pytest.param(k, f, marks=pytest.mark.slow)
        for k in KINDS
        for f in formats
    ]


def reader(kind: str) -> Callable[..., pd.DataFrame]:
    return read_handlers if kind == "handlers" else read_cases


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked"
    # nor a run of its digits long enough to identify it
    for secret in (ID_A, ID_B, MOBILE_A, MOBILE_B):
        assert secret[-8:] not in text, f"digits of {secret!r} leaked"


@pytest.mark.parametrize(("kind", "fmt"), every_input(FORMATS))
def test_personal_columns_refused_by_default(base, tmp_path, kind, fmt, caplog):
    path = write(plant(raw_frame(base, kind, 40)), tmp_path / f"{kind}.{fmt}")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ValidationError) as err:
        reader(kind)(path)
    message = str(err.value)
    assert_no_secret(message)
    assert_no_secret(caplog.text)
    lines = {
        h: [ln for ln in message.splitlines() if f"column {h} (column " in ln]
        for h in PLANTED_HEADERS
    }
    for h in BY_HEADER:
        assert len(lines[h]) >= 1 and "header names personal data" in lines[h][0], h
        assert "--allow-personal-columns" in lines[h][0]
    assert "looks like a mainland mobile number in rows 2, 3, 4" in lines["Mobile Phone"][1]
    assert "ID number in rows 2, 3" in lines["身份证号"][1]
    for h, rule in (
        ("案件备注", "ID number"),
        ("联络记录", "mobile number"),
        ("remarks_2", "ID number"),
    ):
        assert len(lines[h]) == 1 and f"{rule} in rows 3, 5 (values" in lines[h][0], h
    report = err.value.report
    assert len(report.personal_columns) == len(PLANTED_HEADERS)
    # The typed frame kept for inspection holds none of it either.
    assert_no_secret(report.frame.to_csv())


@pytest.mark.parametrize(("kind", "fmt"), every_input(["csv", "xlsx", "parquet"]))
def test_allowed_personal_columns_are_dropped_on_reading(base, tmp_path, kind, fmt, caplog):
    path = write(plant(raw_frame(base, kind, 40)), tmp_path / f"{kind}.{fmt}")
    caplog.set_level(logging.DEBUG)
    frame = reader(kind)(path, allow_personal_columns=True)
    assert not set(PLANTED_HEADERS) & set(frame.columns)
    assert_no_secret(frame.to_csv())
    assert_no_secret(repr(frame.attrs))
    assert_no_secret(caplog.text)
    assert any("personal data were dropped" in w for w in frame.attrs["warnings"])
    # Same through the context the CLI uses.
    with allowing_personal_columns():
        assert list(reader(kind)(path).columns) == list(frame.columns)


@pytest.mark.parametrize(
    ("kind", "column", "value", "rule", "fmt"),
    [
        ("current", "case_id", ID_A, "ID number", "xlsx"),
        ("current", "case_id", f"(2023)湘0103执{MOBILE_A}号", "mobile", "csv"),
        ("history", "handler_id", MOBILE_A, "mobile", "parquet"),
        ("current", "previous_handler_ids", f"H001;{MOBILE_B}", "mobile", "csv"),
        ("handlers", "handler_id", ID_B, "ID number", "xlsx"),
        ("handlers", "team_id", ID_OLD, "ID number", "parquet"),
        ("history", "n_applicants", MOBILE_A, "mobile", "csv"),
        ("current", "amount_applied", ID_A[:-1] + "0", None, "xlsx"),
    ],
)
def test_personal_values_in_contract_columns_refused_even_when_allowed(
    base, tmp_path, kind, column, value, rule, fmt
):
    df = raw_frame(base, kind, 40)
    df.loc[2, column] = value  # spreadsheet row 4
    path = write(df, tmp_path / f"{kind}.{fmt}")
    if rule is None:
        # An amount of 18 digits with a bad check digit is no ID number: only implausible.
        report = validate_file(path, kind="handlers" if kind == "handlers" else "cases")
        assert [p.row for p in report.problems] == [4] and "10^15" in report.problems[0].expected
        assert value not in report.problem_text()
        return
    for allow in (False, True):
        with pytest.raises(ValidationError) as err:
            reader(kind)(path, allow_personal_columns=allow)
        message = str(err.value)
        assert_no_secret(message)
        assert value not in message
        line = next(ln for ln in message.splitlines() if f"column {column} (" in ln)
        assert "row 4" in line and rule in line and "contract column" in line


def test_header_row_missing_is_said_without_the_value(base, tmp_path):
    df = plant(raw_frame(base, "handlers"), by_value=False)
    rows = [list(r) for r in df.itertuples(index=False)]
    path = tmp_path / "no_header.csv"
    path.write_text("\n".join(",".join(map(str, r)) for r in rows), encoding="utf-8")
    with pytest.raises(InputError) as err:
        validate_file(path, kind="handlers")
    assert_no_secret(str(err.value))
    assert "must start with its header row" in str(err.value)
    # A header with some contract names and an ID number as another header cell.
    df = raw_frame(base, "handlers")
    df[ID_A] = "x"
    report = validate_file(write(df, tmp_path / "odd.csv"), kind="handlers")
    assert not report.ok
    text = report.problem_text() + report.summary()
    assert_no_secret(text)
    assert "the first row must be the header" in text


def test_validate_command_refuses_without_echo(base, tmp_path, capsys):
    path = write(plant(raw_frame(base, "current")), tmp_path / "current.xlsx")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr()
    assert_no_secret(out.out + out.err)
    assert "身份证号" in out.out
    assert main(["validate", str(path), "--allow-personal-columns"]) == 0
    out = capsys.readouterr()
    assert_no_secret(out.out + out.err)
    assert "personal data were dropped" in out.out


# --------------------------------------------------------------------------------------------
# Ledger
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reason", f"已与被执行人电话沟通 {MOBILE_A}"),
        ("reason", f"申请人身份证{ID_A}"),
        ("reason", f"旧身份证 {ID_OLD}"),
        ("reason", "联系 +86 188-0000-1234"),
        ("decided_by", MOBILE_A),
        ("decided_by", ID_B),
        ("target_handler_id", MOBILE_B),
        ("case_id", f"(2023)湘0103执{MOBILE_A}号"),
    ],
)
def test_ledger_refuses_personal_numbers_and_never_echoes_them(tmp_path, field, value):
    args = {
        "case_id": "(2023)湘0103执1号",
        "action": "reassign_intra_team",
        "decided_by": "L007",
        "reason": "财产线索未穷尽",
        "target_handler_id": "H012",
    }
    args[field] = value
    with Ledger(tmp_path / "ledger.sqlite") as led:
        with pytest.raises(LedgerError, match=f"{field} .*looks like") as err:
            led.record(**args)
        assert_no_secret(str(err.value))
        assert led.n_rows == 0
        # a non-text value is not echoed either
        with pytest.raises(LedgerError) as err:
            led.record(**{**args, field: int(MOBILE_A)})
        assert MOBILE_A not in str(err.value)
    assert value.encode() not in (tmp_path / "ledger.sqlite").read_bytes()


def test_ledger_keeps_ordinary_reasons(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as led:
        row = led.record(
            "(2023)湘0103执1号",
            "keep",
            "L007",
            "标的额 1,250,000 元，2024-03-01 已查控，案号(2023)湘0103执1号",
        )
    assert row["seq"] == 1


# --------------------------------------------------------------------------------------------
# End to end: with the allow option, no output of any job holds a planted value or header
# --------------------------------------------------------------------------------------------


def job_inputs(base: Path, folder: Path, formats: dict[str, str]) -> dict[str, Path]:
    """Planted history, current cases and handlers, each in the format asked for."""
    folder.mkdir(parents=True, exist_ok=True)
    return {
        kind: write(plant(raw_frame(base, kind)), folder / f"{kind}.{fmt}")
        for kind, fmt in formats.items()
    }


def run_jobs(inputs: dict[str, Path], out: Path) -> None:
    """Run every job that reads cases, with ``--allow-personal-columns``, writing under ``out``.

    Extend here when a new job appears (e.g. ``crossexec rescore --out-dir out/rescore``): its
    files land under ``out`` and :func:`output_files` finds them.
    """
    allow = "--allow-personal-columns"
    model = out / "model"
    steps = [
        ["train", "--cases", str(inputs["history"]), "--out", str(model), "--quiet", allow],
        *(
            ["score", "--model", str(model), "--cases", str(inputs["current"]), allow]
            + ["--out", str(out / f"scored{suffix}")]
            for suffix in (".csv", ".parquet", ".xlsx")
        ),
        *(
            ["plan", "--scored", str(out / "scored.parquet"), "--handlers", str(inputs["handlers"])]
            + ["--model", str(model), "--out", str(out / f"plan{suffix}"), allow]
            for suffix in (".csv", ".xlsx")
        ),
        ["evaluate", "--model", str(model), "--cases", str(inputs["history"]), allow]
        + ["--json", str(out / "evaluation.json")],
    ]
    for argv in steps:
        assert main(argv) == 0, argv
    scored = pd.read_parquet(out / "scored.parquet")
    ledger = out / "ledger.sqlite"
    for case_id in scored["case_id"].head(3):
        argv = ["decide", "--ledger", str(ledger), "--case", str(case_id), "--action", "defer"]
        argv += [
            "--by",
            "L007",
            "--reason",
            "等待评估报告",
            "--scored",
            str(out / "scored.parquet"),
        ]
        assert main(argv) == 0
    for suffix in (".xlsx", ".csv", ".parquet"):
        argv = ["ledger", "export", "--ledger", str(ledger), "--out", str(out / f"台账{suffix}")]
        assert main(argv) == 0
    assert main(["ledger", "show", "--ledger", str(ledger)]) == 0
    assert main(["ledger", "verify", "--ledger", str(ledger)]) == 0


def output_files(out: Path) -> list[Path]:
    """Every file the jobs wrote (model, card, lists, plans, metrics, ledger and its exports)."""
    return sorted(p for p in out.rglob("*") if p.is_file())


def file_texts(path: Path) -> list[str]:
    """Everything a file holds as text: raw bytes, unzipped parts, parquet cells and metadata."""
    raw = path.read_bytes()
    texts = [raw.decode("utf-8", errors="replace"), raw.decode("gb18030", errors="replace")]
    if zipfile.is_zipfile(path):  # .xlsx and .skops: compressed XML/JSON parts
        with zipfile.ZipFile(path) as zf:
            texts += [zf.read(n).decode("utf-8", errors="replace") for n in zf.namelist()]
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path)
        texts += [
            "\t".join(str(c) for row in ws.iter_rows(values_only=True) for c in row)
            for ws in wb.worksheets
        ]
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        texts.append(json.dumps(table.to_pylist(), default=str, ensure_ascii=False))
        texts.append(" ".join(table.column_names))
        meta = table.schema.metadata or {}
        texts += [v.decode("utf-8", errors="replace") for v in meta.values()]
    if path.suffix == ".sqlite":
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                texts.append(repr(conn.execute(f"SELECT * FROM {name}").fetchall()))
    return texts


def check_outputs(out: Path, console: str) -> int:
    """Search every output file and the console for the planted values and headers."""
    files = output_files(out)
    names = {p.name for p in files}
    expected = {"model.skops", "card.json", "scored.xlsx", "plan.xlsx", "evaluation.json"}
    assert expected <= names and "ledger.sqlite" in names and "台账.xlsx" in names
    for path in files:
        for text in file_texts(path):
            for secret in (*SECRETS, *PLANTED_HEADERS):
                assert secret not in text, f"{secret!r} found in {path.name}"
    for secret in (*SECRETS, *PLANTED_HEADERS):
        assert secret not in console
    return len(files)


def test_outputs_carry_no_input_metadata(tmp_path):
    """pandas writes DataFrame.attrs into Parquet metadata; write_table leaves them out."""
    df = pd.DataFrame({"a": [1.0], "b": ["x"]})
    df.attrs = {"source": f"{NAME}的案件.csv", "warnings": [f"kept: {ADDRESS}"]}
    for suffix in (".parquet", ".csv", ".xlsx"):
        path = write_table(df, tmp_path / f"t{suffix}")
        for text in file_texts(path):
            assert NAME not in text and ADDRESS not in text, suffix
    assert df.attrs["source"] == f"{NAME}的案件.csv"  # the caller's frame is untouched


def test_jobs_with_allowed_personal_columns_write_none_of_them(base, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    # Every format once (the slow variant runs each format for every input).
    inputs = job_inputs(
        base, tmp_path / "in", {"history": "csv", "current": "xlsx", "handlers": "parquet"}
    )
    run_jobs(inputs, tmp_path / "out")
    captured = capsys.readouterr()
    n = check_outputs(tmp_path / "out", captured.out + captured.err + caplog.text)
    assert n >= 13


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_jobs_every_format_write_no_personal_data(base, tmp_path, capsys, caplog, fmt):
    caplog.set_level(logging.DEBUG)
    inputs = job_inputs(base, tmp_path / "in", dict.fromkeys(KINDS, fmt))
    run_jobs(inputs, tmp_path / "out")
    captured = capsys.readouterr()
    check_outputs(tmp_path / "out", captured.out + captured.err + caplog.text)


def test_jobs_refuse_personal_columns_without_the_option(base, tmp_path, capsys):
    inputs = job_inputs(
        base, tmp_path / "in", {"history": "csv", "current": "xlsx", "handlers": "parquet"}
    )
    out = tmp_path / "out"
    assert main(["train", "--cases", str(inputs["history"]), "--out", str(out / "m")]) == 1
    assert not (out / "m").exists()
    captured = capsys.readouterr()
    assert_no_secret(captured.out + captured.err)
    assert "身份证号" in captured.err


#: Step 2 item 10: how people type numbers with separators (a Chinese input method's full-width
#: space U+3000, a full-width hyphen, a no-break space, spaced or hyphenated ID numbers).
SPACED = {
    "full-width space": ("138\u30001234\u30005678", "mobile"),
    "full-width hyphen": ("138\uff0d1234\uff0d5678", "mobile"),
    "no-break space": ("139\u00a01234\u00a05678", "mobile"),
    "full-width digits": ("１３８\u3000１２３４\u3000５６７８", "mobile"),
    "spaced ID": ("110105 19491231 002X", "id_number"),
    "hyphenated ID": ("110105-19491231-002X", "id_number"),
    "ID with full-width spaces": (f"{ID_B[:6]}\u3000{ID_B[6:14]}\u3000{ID_B[14:]}", "id_number"),
}


@pytest.mark.parametrize("name", list(SPACED))
def test_separators_do_not_defeat_the_value_scan(name):
    value, rule = SPACED[name]
    assert value_rule(value) == rule
    assert value_rule(f"申请人联系方式：{value}，已核实") == rule
    digits = "".join(c for c in unicodedata.normalize("NFKC", value) if c.isdigit())
    assert digits[:6] not in mask_text(value) and digits[-4:] not in mask_text(value)


@pytest.mark.parametrize(
    "text",
    ["13.912345678", "2024-01-31 至 2024-12-31", "1 500 000 元", "(2023)湘0103执1234号"],
)
def test_separators_do_not_make_ordinary_values_personal(text):
    assert value_rule(text) is None


@pytest.mark.parametrize("name", list(SPACED))
def test_spaced_numbers_in_an_extra_column_are_refused(base, tmp_path, name):
    value, _ = SPACED[name]
    df = raw_frame(base, "current", 40)
    df["联络记录"] = "已通知"
    df.loc[2, "联络记录"] = f"申请人 {value}"  # spreadsheet row 4
    path = write(df, tmp_path / "current.csv")
    with pytest.raises(ValidationError) as err:
        read_cases(path)
    message = str(err.value)
    assert "row 4" in message and value not in message
    assert_no_secret(message)


@pytest.mark.parametrize("name", list(SPACED))
def test_ledger_refuses_spaced_numbers_in_a_reason(tmp_path, name):
    value, _ = SPACED[name]
    with Ledger(tmp_path / "ledger.sqlite") as led:
        with pytest.raises(LedgerError, match="reason .*looks like"):
            led.record("(2023)湘0103执1号", "keep", "L007", f"已电话沟通 {value}")
        assert led.n_rows == 0
    assert value.encode() not in (tmp_path / "ledger.sqlite").read_bytes()


def test_a_duplicate_case_id_holding_a_spaced_id_is_not_echoed(base, tmp_path):
    df = raw_frame(base, "current", 40)
    spaced = SPACED["spaced ID"][0]
    df.loc[1, "case_id"] = df.loc[2, "case_id"] = f"(2023)湘0103执{spaced}号"
    report = validate_file(write(df, tmp_path / "current.csv"))
    assert not report.ok
    assert spaced not in report.problem_text() and "19491231" not in report.problem_text()
