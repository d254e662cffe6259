"""Ingestion: every format and encoding, header mapping, each validation rule, bad files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from crossexec_ml.data import (
    MAX_PROBLEMS,
    ValidationError,
    atomic_path,
    cases_contract,
    read_cases,
    read_handlers,
    validate_file,
    validate_frame,
    write_table,
)
from crossexec_ml.errors import InputError
from tests.conftest import case_rows

ZH = cases_contract().labels_zh()


def to_zh(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns=ZH)


def write_csv(df: pd.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    path.write_bytes(df.to_csv(index=False).encode(encoding))
    return path


def check_typed(df: pd.DataFrame) -> None:
    """The three rows of case_rows(), read back with the contract's dtypes."""
    c = cases_contract()
    assert list(df.columns[: len(c.names)]) == c.names
    assert df["case_id"].tolist() == case_rows()["case_id"].tolist()
    assert df["filing_date"].tolist() == [
        pd.Timestamp("2023-01-05"),
        pd.Timestamp("2023-02-07"),
        pd.Timestamp("2022-03-09"),
    ]
    assert df["is_livelihood"].tolist() == [False, True, False]
    assert df["amount_outstanding"].tolist() == [12000.0, 3500.5, 880000.0]
    assert df["amount_outstanding"].dtype == "float64"
    assert str(df["n_handlers_so_far"].dtype) == "Int64"
    assert str(df["has_real_estate"].dtype) == "boolean"
    assert df["has_real_estate"].tolist() == [True, True, False]
    assert isinstance(df["cause_category"].dtype, pd.CategoricalDtype)
    assert list(df["cause_category"].cat.categories) == list(c.columns["cause_category"].categories)
    assert df["debtor_status"].isna().tolist() == [False, False, True]
    assert df["petition_count"].isna().tolist() == [False, False, True]
    # absent optional columns are present and empty
    assert df["deposit_balance"].isna().all()
    assert df["ladder_stage"].isna().all()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
@pytest.mark.parametrize("zh", [False, True])
def test_csv_encodings_and_header_languages(tmp_path, encoding, zh):
    df = to_zh(case_rows()) if zh else case_rows()
    path = write_csv(df, tmp_path / "cases.csv", encoding)
    check_typed(read_cases(path))


def test_english_headers_are_case_insensitive_and_trimmed(tmp_path):
    df = case_rows().rename(columns={"case_id": " Case_ID ", "court_id": "COURT_ID"})
    check_typed(read_cases(write_csv(df, tmp_path / "c.csv")))


def test_xlsx_with_chinese_headers_booleans_and_real_dates(tmp_path):
    df = to_zh(case_rows())
    path = tmp_path / "export.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "执行案件"
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        cells = list(row)
        # Real Excel dates and numbers, the way a court system writes them.
        cells[5] = dt.datetime(2023, 1, 5) if cells[0].endswith("1号") else cells[5]
        cells[6] = dt.date(2024, 3, 1)
        cells[13] = int(cells[13])
        ws.append(cells)
    wb.save(path)
    check_typed(read_cases(path))
    check_typed(read_cases(path, sheet="执行案件"))


def test_xlsx_excel_serial_dates(tmp_path):
    df = case_rows()
    df["as_of_date"] = [45352, 45352, 45352]  # 2024-03-01 as Excel day numbers
    path = tmp_path / "serial.xlsx"
    df.to_excel(path, index=False)
    assert (read_cases(path)["as_of_date"] == pd.Timestamp("2024-03-01")).all()


def test_parquet_typed_and_text(tmp_path):
    typed = read_cases(write_csv(case_rows(), tmp_path / "c.csv"))
    typed.to_parquet(tmp_path / "typed.parquet")
    check_typed(read_cases(tmp_path / "typed.parquet"))
    case_rows().to_parquet(tmp_path / "text.parquet")
    check_typed(read_cases(tmp_path / "text.parquet"))


@pytest.mark.parametrize("how", ["filtered", "indexed_by_case_id", "multi_index"])
def test_parquet_saved_with_its_pandas_index_is_read(tmp_path, how):
    # Step 2 item 6: `df[mask].to_parquet(p)` and `df.set_index("case_id").to_parquet(p)` gave a
    # "Length mismatch" traceback; the saved row numbers are dropped, a named index is a column.
    typed = read_cases(write_csv(case_rows(), tmp_path / "c.csv"))
    if how == "filtered":
        frame = typed[typed.index != 0]  # row numbers 1, 2 saved as __index_level_0__
    elif how == "indexed_by_case_id":
        frame = typed.set_index("case_id")
    else:
        frame = typed.set_index(["case_id", "as_of_date"])
    path = tmp_path / f"{how}.parquet"
    frame.to_parquet(path)
    report = validate_file(path)
    assert report.ok, report.problem_text()
    assert not any("__index_level" in w for w in report.warnings)
    back = read_cases(path)
    assert sorted(back["case_id"]) == sorted(frame.reset_index()["case_id"])
    assert "__index_level_0__" not in back.columns


def test_handlers_read(tmp_path, handlers_frame):
    h = read_handlers(write_csv(handlers_frame, tmp_path / "h.csv"))
    assert h["open_slots"].tolist() == [2, 0, 5]
    assert h["is_leader"].tolist()[:2] == [False, True]
    assert pd.isna(h["is_leader"].iloc[2])


def test_extra_columns_kept_with_warning(tmp_path, caplog):
    df = case_rows()
    df["备注"] = ["a", "b", "c"]
    out = read_cases(write_csv(df, tmp_path / "c.csv"))
    assert out["备注"].tolist() == ["a", "b", "c"]
    assert any("备注" in w for w in out.attrs["warnings"])
    assert "备注" in caplog.text


# ---------------------------------------------------------------- validation rules


def problems(df: pd.DataFrame, kind: str = "cases") -> list[str]:
    return [str(p) for p in validate_frame(df, kind=kind, source="t.csv").problems]


def test_valid_frame_has_no_problem():
    assert problems(case_rows()) == []


def test_missing_required_column():
    found = problems(case_rows().drop(columns=["debtor_type"]))
    assert found == [
        "file, column debtor_type (被执行人类型) -> required column is missing from the header; "
        "add it (English name or Chinese label)"
    ]


def test_empty_required_cell_names_row_and_column():
    df = case_rows()
    df.loc[1, "handler_id"] = "  "
    assert problems(df) == ["row 3, column handler_id (承办人) -> required: text"]


def test_unparseable_number_date_bool_category_and_range():
    df = case_rows()
    df.loc[0, "amount_outstanding"] = "12k"
    df.loc[1, "filing_date"] = "2023-13-01"
    df.loc[2, "has_real_estate"] = "maybe"
    df.loc[0, "debtor_type"] = "alien"
    df.loc[1, "n_handlers_so_far"] = "0"
    df.loc[2, "days_since_last_action"] = "1.5"
    df.loc[2, "petition_count"] = "-1"
    found = problems(df)
    assert found == [
        "row 2, column amount_outstanding (尚未执行标的额): '12k' -> a number >= 0",
        "row 2, column debtor_type (被执行人类型): 'alien' -> one of natural_person, "
        "individual_business, private_company, state_owned, public_body, other_org",
        "row 3, column filing_date (立案日期): '2023-13-01' -> a date such as 2024-03-01, "
        "2024/3/1 or 2024年3月1日",
        "row 3, column n_handlers_so_far (历任承办人数): '0' -> a whole number >= 1",
        "row 4, column has_real_estate (有不动产): 'maybe' -> true/false, 1/0, 是/否 or Y/N",
        "row 4, column days_since_last_action (距最近实质执行行为天数): '1.5' -> "
        "a whole number >= 0",
        "row 4, column petition_count (涉执信访次数): '-1' -> a whole number >= 0",
    ]


def test_infinite_and_nan_text_are_not_numbers():
    df = case_rows()
    df.loc[0, "amount_outstanding"] = "inf"
    df.loc[1, "amount_outstanding"] = "nan"
    found = problems(df)
    assert len(found) == 2 and all("amount_outstanding" in p for p in found)


def test_as_of_before_filing():
    df = case_rows()
    df.loc[0, "as_of_date"] = "2022-12-31"
    assert problems(df) == [
        "row 2, column as_of_date (评估基准日): '2022-12-31' -> must be on or after "
        "filing_date (立案日期) 2023-01-05"
    ]


def test_duplicate_case_and_as_of():
    df = pd.concat([case_rows(), case_rows().iloc[[0]]], ignore_index=True)
    assert problems(df) == [
        "row 5, column case_id (案号): '(2023)湘0103执1号' -> duplicate: row 2 has the same "
        "case_id (案号) and as_of_date (评估基准日); keep one row per key"
    ]
    df.loc[3, "as_of_date"] = "2024-04-01"  # same case, next screening date: fine
    assert problems(df) == []


def test_duplicate_handler_and_negative_slots(handlers_frame):
    h = pd.concat([handlers_frame, handlers_frame.iloc[[2]]], ignore_index=True)
    h.loc[0, "open_slots"] = "-1"
    found = problems(h, kind="handlers")
    assert found[0] == "row 2, column open_slots (可接收交叉案件数): '-1' -> a whole number >= 0"
    assert found[1].startswith("row 5, column handler_id (承办人): 'H010' -> duplicate: row 4")


def test_every_problem_counted_first_200_listed():
    df = pd.concat([case_rows()] * 150, ignore_index=True)
    df["case_id"] = [f"case{i}" for i in range(len(df))]
    df["amount_outstanding"] = "x"
    df["days_since_last_action"] = "y"
    report = validate_frame(df, source="big.csv")
    assert report.n_problems == 900
    assert len(report.problems) == MAX_PROBLEMS
    assert [p.row for p in report.problems[:4]] == [2, 2, 3, 3]
    assert "... and 700 more not listed" in report.problem_text()


def test_read_cases_raises_with_report(tmp_path):
    df = case_rows()
    df.loc[2, "amount_outstanding"] = "abc"
    with pytest.raises(ValidationError) as err:
        read_cases(write_csv(df, tmp_path / "bad.csv"))
    assert err.value.report.n_problems == 1
    assert "bad.csv: 1 problem(s) found" in str(err.value)
    assert "row 4, column amount_outstanding" in str(err.value)


# ---------------------------------------------------------------- unreadable files


def one_sentence(exc: BaseException) -> str:
    msg = str(exc)
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_missing_file(tmp_path):
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "nope.csv")
    assert "no such file" in one_sentence(e.value)


@pytest.mark.parametrize("content", [b"", b"  \n\n"])
def test_empty_file(tmp_path, content):
    (tmp_path / "e.csv").write_bytes(content)
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "e.csv")
    assert "empty" in one_sentence(e.value)


def test_header_only(tmp_path):
    write_csv(case_rows().iloc[:0], tmp_path / "h.csv")
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "h.csv")
    assert "no data rows" in one_sentence(e.value)


def test_binary_file(tmp_path):
    (tmp_path / "b.csv").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "b.csv")
    assert "binary" in one_sentence(e.value)


def test_undecodable_text(tmp_path):
    (tmp_path / "u.csv").write_bytes(b"case_id\n\xff\xfe\xfa\n")
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "u.csv")
    assert "neither UTF-8 nor GBK" in one_sentence(e.value)


@pytest.mark.parametrize("zh", [True, False])
def test_utf8_mark_before_gbk_text_is_called_mixed_encodings(tmp_path, zh):
    # Step 2 "also seen": read as GBK, the mark became a mojibake first column name.
    df = to_zh(case_rows()) if zh else case_rows()
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\xef\xbb\xbf" + df.to_csv(index=False).encode("gbk"))
    with pytest.raises(InputError) as e:
        read_cases(path)
    text = one_sentence(e.value)
    assert "mixes encodings" in text and "save it again as 'CSV UTF-8'" in text
    assert "\u951f" not in text  # no mojibake column name
    # The same bytes without the mark, or the mark with UTF-8, still read.
    path.write_bytes(df.to_csv(index=False).encode("gbk"))
    check_typed(read_cases(path))
    path.write_bytes(b"\xef\xbb\xbf" + df.to_csv(index=False).encode("utf-8"))
    check_typed(read_cases(path))


def test_hidden_xlsx_rows_and_sheets_are_named_in_the_warnings(tmp_path):
    # Step 2 "also seen": rows hidden in Excel were scored without a word.
    path = tmp_path / "hidden.xlsx"
    case_rows().to_excel(path, index=False, sheet_name="cases")
    wb = openpyxl.load_workbook(path)
    wb["cases"].row_dimensions[3].hidden = True  # the second case
    wb.create_sheet("old")["A1"] = "case_id"
    wb["old"].sheet_state = "hidden"
    wb.save(path)
    report = validate_file(path)
    assert report.ok and len(report.frame) == 3
    hidden = [w for w in report.warnings if "hidden" in w]
    assert len(hidden) == 2, report.warnings
    assert "1 row(s) of sheet 'cases' are hidden in Excel" in hidden[0]
    assert "sheet rows 3;" in hidden[0]
    assert "hidden sheet(s) that were not read: 'old'" in hidden[1]
    assert "row(s) of sheet 'cases' are hidden" in report.summary()
    assert any("sheet rows 3;" in w for w in read_cases(path).attrs["warnings"])
    # The first sheet, read by default, hidden in Excel: said too.
    wb["cases"].sheet_state, wb["old"].sheet_state = "hidden", "visible"
    wb.save(path)
    assert any("the sheet read, 'cases', is hidden" in w for w in validate_file(path).warnings)
    # A workbook with nothing hidden says nothing.
    case_rows().to_excel(path, index=False)
    assert not [w for w in validate_file(path).warnings if "hidden" in w]


def test_fake_xlsx_and_wrong_sheet(tmp_path):
    (tmp_path / "f.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "f.xlsx")
    assert "not a readable .xlsx" in one_sentence(e.value)
    case_rows().to_excel(tmp_path / "ok.xlsx", index=False, sheet_name="cases")
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "ok.xlsx", sheet="案件")
    assert one_sentence(e.value).endswith("the workbook has: cases")


def test_column_named_twice(tmp_path):
    text = case_rows().to_csv(index=False).replace("petition_count", "court_id", 1)
    (tmp_path / "d.csv").write_text(text)
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "d.csv")
    assert "appears twice" in one_sentence(e.value)


def test_english_name_and_chinese_label_for_the_same_column(tmp_path):
    df = case_rows()
    df["案号"] = df["case_id"]
    with pytest.raises(InputError) as e:
        read_cases(write_csv(df, tmp_path / "d.csv"))
    assert "both mean case_id (案号)" in one_sentence(e.value)


def test_mixed_language_header(tmp_path):
    df = case_rows().rename(columns={"court_id": "执行法院", "team_id": "执行团队"})
    with pytest.raises(InputError) as e:
        read_cases(write_csv(df, tmp_path / "m.csv"))
    assert "mixes English names" in one_sentence(e.value)


@pytest.mark.parametrize("name", ["x.json", "x.xls", "x"])
def test_unknown_extension(tmp_path, name):
    (tmp_path / name).write_text("a")
    with pytest.raises(InputError):
        read_cases(tmp_path / name)


def test_ragged_csv_row(tmp_path):
    text = case_rows().to_csv(index=False)
    lines = text.splitlines()
    lines[2] += ",extra,cells"
    (tmp_path / "r.csv").write_text("\n".join(lines))
    with pytest.raises(InputError) as e:
        read_cases(tmp_path / "r.csv")
    assert "row 3" in one_sentence(e.value)


def test_short_rows_and_empty_trailing_cells(tmp_path):
    # Excel drops empty cells at the end of a row, and some exports add empty ones: both read
    # as the full row, the missing cells empty.
    frame = case_rows()
    text = frame.to_csv(index=False)
    lines = text.splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0]  # the last cell (petition_count) left out
    lines[2] += ",,"
    (tmp_path / "s.csv").write_text("\n".join(lines), encoding="utf-8")
    got = read_cases(tmp_path / "s.csv")
    frame.assign(petition_count=["", "2", ""]).to_csv(tmp_path / "w.csv", index=False)
    want = read_cases(tmp_path / "w.csv")
    pd.testing.assert_frame_equal(got, want, check_like=True)


# ---------------------------------------------------------------- writing


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_write_round_trip(tmp_path, suffix):
    df = read_cases(write_csv(case_rows(), tmp_path / "in.csv"))
    out = write_table(df, tmp_path / f"out{suffix}")
    back = read_cases(out)
    pd.testing.assert_frame_equal(back, df, check_like=False)
    if suffix == ".xlsx":
        header = next(openpyxl.load_workbook(out).active.iter_rows(values_only=True))
        assert header[0] == "案号"


def test_formulas_neutralised_in_csv_and_xlsx(tmp_path):
    df = pd.DataFrame({"note": ["=cmd|' /C calc'!A0", "+1+1", "-5", "@SUM(A1)", "plain"]})
    write_table(df, tmp_path / "o.xlsx")
    cells = [
        r[0]
        for r in openpyxl.load_workbook(tmp_path / "o.xlsx").active.iter_rows(
            min_row=2, values_only=True
        )
    ]
    assert cells == ["'=cmd|' /C calc'!A0", "'+1+1", "-5", "'@SUM(A1)", "plain"]
    write_table(df, tmp_path / "o.csv")
    assert "'=cmd" in (tmp_path / "o.csv").read_text(encoding="utf-8-sig")


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    dest = tmp_path / "scored.csv"
    dest.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["scored.csv"]


def test_write_refuses_unknown_extension(tmp_path):
    with pytest.raises(InputError):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_validate_file_reports_absent_optional(tmp_path):
    report = validate_file(write_csv(case_rows(), tmp_path / "c.csv"))
    assert report.ok
    assert "deposit_balance" in report.absent_optional
    assert "case_id" not in report.absent_optional
    assert np.isnan(report.frame["deposit_balance"]).all()


def test_case_ids_differing_only_in_full_width_forms_are_flagged(tmp_path):
    df = case_rows()
    first = df.loc[0, "case_id"]
    wide = first.replace("(", "（").replace(")", "）")
    assert wide != first
    df.loc[1, "case_id"] = wide  # spreadsheet row 3; row 2 holds the ASCII form
    df.loc[1, "as_of_date"] = df.loc[0, "as_of_date"]
    report = validate_file(write_csv(df, tmp_path / "c.csv"))
    assert report.ok  # kept as typed: the ledger joins on the ids
    (warning,) = [w for w in report.warnings if "full-width" in w]
    assert "row 2" in warning and "row 3" in warning
    df.loc[1, "case_id"] = "(2099)其他案号"
    assert not [
        w for w in validate_file(write_csv(df, tmp_path / "d.csv")).warnings if "full-width" in w
    ]


def test_a_csv_too_large_for_memory_is_refused_with_a_sentence(tmp_path, monkeypatch):
    # Step 2, also seen: a 2 GB export needs ~30 GB and was killed by the kernel, no reason given.
    import crossexec_ml.data._read as reading

    path = write_csv(case_rows(), tmp_path / "c.csv")
    monkeypatch.setattr(reading, "_available_memory", lambda: 1000)
    with pytest.raises(InputError, match="split the export into parts") as err:
        read_cases(path)
    assert "c.csv" in str(err.value) and "GB of memory" in str(err.value)
    monkeypatch.setattr(reading, "_available_memory", lambda: None)  # unknown: read it
    assert len(read_cases(path)) == 3
