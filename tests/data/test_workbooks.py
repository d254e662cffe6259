"""Every workbook the tool writes is leader-grade, checked in a real spreadsheet client.

``scored.xlsx`` (with its 全面体检 sheet), ``plan.xlsx`` and the ledger's 台账 are made by the
real commands on the sample, then opened by LibreOffice Calc (headless ``soffice``, one call
for all of them) and printed to PDF: the first printed page of each sheet must show a whole
案号, a whole date (never ``###``) and the key column headers, with values worded for leaders
(no ``intra_team``, no TRUE/FALSE) and numbers in their units. openpyxl checks the settings a
PDF does not show: frozen header, filter, print titles, landscape, one page wide.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from crossexec_ml import jobs
from crossexec_ml.data import write_table
from crossexec_ml.decide import Ledger
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample"
CODES = re.compile(r"intra_team|inter_team|higher_court|natural_person|\bTRUE\b|\bFALSE\b|###")


def _tools() -> tuple[str, str]:
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if not (soffice and pdftotext):
        message = "needs LibreOffice (libreoffice-calc-nogui) and pdftotext (poppler-utils)"
        if os.environ.get("CI"):
            pytest.fail(message + ": .ci/run installs them")
        pytest.skip(message)
    return soffice, pdftotext


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    """scored.xlsx, plan.xlsx and the 台账 made from the sample by the real jobs."""
    root = tmp_path_factory.mktemp("books")
    model = root / "model"
    jobs.train(SAMPLE / "history.csv", model, progress=False)
    jobs.score(model, SAMPLE / "current.csv", root / "scored.parquet")
    scored = jobs.score(model, SAMPLE / "current.csv", root / "scored.xlsx")
    jobs.plan(root / "scored.parquet", SAMPLE / "handlers.csv", root / "plan.xlsx")
    top = scored.iloc[0]
    with Ledger(root / "ledger.sqlite") as ledger:
        ledger.record(
            str(top["case_id"]),
            "reassign_intra_team",
            "L007",
            "查得存款，换人接办",
            target_handler_id="H0001",
            scores={k: top[k].item() for k in ("p_keep", "p_cross", "uplift")}
            | {"suggested_rung": str(top["suggested_rung"])},
            as_of_date=top["as_of_date"].date(),
        )
        ledger.export(root / "ledger.xlsx")
    return {
        "scored": root / "scored.xlsx",
        "plan": root / "plan.xlsx",
        "ledger": root / "ledger.xlsx",
        "top_case": str(top["case_id"]),
    }


def _first_pages(books: dict[str, Path], tmp_path: Path) -> dict[tuple[str, str], str]:
    """(workbook, sheet) -> the text of that sheet's first printed page, as Calc prints it."""
    soffice, pdftotext = _tools()
    files = [books[k] for k in ("scored", "plan", "ledger")]
    profile = tmp_path / "lo-profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path), *map(str, files)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pages: dict[tuple[str, str], str] = {}
    for book in files:
        text = subprocess.run(
            [pdftotext, "-layout", str(tmp_path / f"{book.stem}.pdf"), "-"],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip
        sheets = openpyxl.load_workbook(book, read_only=True).sheetnames
        for page in text.split("\f"):
            # The page header names the sheet (&A), among the first lines of the page (the
            # layout may put the header row's first wrapped line beside it).
            top = " ".join(page.strip().splitlines()[:4]).split()
            named = [s for s in sheets if s in top]
            if named:
                pages.setdefault((book.stem, named[0]), page)
    return pages


def test_each_workbook_prints_whole_case_numbers_dates_and_headers(books, tmp_path):
    pages = _first_pages(books, tmp_path)
    expected = {
        ("scored", "scored"): ("优先顺序", "案号", "评估基准日", "建议交叉层级", "预期交叉增益"),
        ("scored", "全面体检"): ("案号", "立案日期", "尚未执行标的额", "建议交叉层级"),
        ("plan", "plan"): ("案号", "优先顺序", "建议承办人", "预期交叉增益"),
        ("ledger", "决定台账"): ("案号", "决定", "决定人", "评估基准日"),
    }
    for key, headers in expected.items():
        assert key in pages, f"{key}: no printed page found; pages: {sorted(pages)}"
        page = pages[key]
        for header in headers:
            assert header in page, f"{key}: header {header} not on the first printed page"
        assert books["top_case"] in page, f"{key}: the whole 案号 is not printed"
        if key != ("plan", "plan"):  # the plan has no date column
            assert re.search(r"\b20\d\d-\d\d-\d\d\b", page), f"{key}: no whole date printed"
        assert not CODES.search(page), f"{key}: {CODES.search(page)[0]} printed"
    scored = pages[("scored", "scored")]
    assert re.search(r"\d+\.\d% ", scored) and "个百分点" in scored
    assert re.search(r"\d+\.\d 万元", pages[("scored", "全面体检")])


def test_workbook_settings_for_reading_and_printing(books):
    for name in ("scored", "plan", "ledger"):
        wb = openpyxl.load_workbook(books[name])
        for ws in wb.worksheets:
            where = f"{name}.xlsx [{ws.title}]"
            assert ws.freeze_panes in ("A2", "B2", "C2"), where
            assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:"), where
            assert ws.print_title_rows == "$1:$1", where
            assert ws.page_setup.orientation == "landscape", where
            assert ws.sheet_properties.pageSetUpPr.fitToPage, where
            header = [c.value for c in ws[1]]
            # Readable print: one page wide up to 420 character units (about a third of full
            # size, as the main list prints), else more pages, each repeating the 案号 column.
            shown = sum(
                ws.column_dimensions[openpyxl.utils.get_column_letter(j)].width
                for j in range(1, ws.max_column + 1)
                if not ws.column_dimensions[openpyxl.utils.get_column_letter(j)].hidden
            )
            assert ws.page_setup.fitToWidth == max(1, -(-shown // 420)), (where, shown)
            assert shown / ws.page_setup.fitToWidth <= 420, where
            if ws.page_setup.fitToWidth > 1:
                assert ws.print_title_cols.replace("$", "").startswith("A:"), where
            if "案号" in header:
                letter = openpyxl.utils.get_column_letter(header.index("案号") + 1)
                assert ws.column_dimensions[letter].width >= 22, where
    # The 全面体检 sheet (60-odd columns) is the one too wide for a single page.
    assert openpyxl.load_workbook(books["scored"])["全面体检"].page_setup.fitToWidth > 1
    scored = openpyxl.load_workbook(books["scored"])["scored"]
    header = [c.value for c in scored[1]]
    row = {h: c for h, c in zip(header, scored[2], strict=True)}
    assert row["维持原承办化解概率"].number_format == "0.0%"
    assert row["预期交叉增益"].number_format.endswith('" 个百分点"')
    assert row["评估基准日"].number_format == "yyyy-mm-dd"
    assert row["本轮交叉候选"].value in ("是", "否")
    # Wrapped guidance makes its row taller (else its lines print over the next row).
    assert scored.row_dimensions[1].height > 15 and scored.row_dimensions[2].height > 15
    assert row["分类指引"].alignment.wrap_text and row["案号"].alignment.vertical == "top"
    assert row["建议交叉层级"].value in ("维持原承办", "团队内", "团队间", "提级/指令执行")


def test_amounts_show_in_wan_yuan_yet_a_cases_workbook_reads_back_unchanged(tmp_path):
    from crossexec_ml.data import read_cases

    cases = read_cases(SAMPLE / "current.csv").head(20)
    out = write_table(cases, tmp_path / "cases.xlsx")
    back = read_cases(out)
    pd.testing.assert_series_equal(
        back["amount_outstanding"], cases["amount_outstanding"], check_names=False
    )
    ws = openpyxl.load_workbook(out).active
    header = [c.value for c in ws[1]]
    cell = ws.cell(row=2, column=header.index("尚未执行标的额") + 1)
    assert cell.number_format == '0"."0," 万元"'
    assert cell.value == pytest.approx(float(cases["amount_outstanding"].iloc[0]))
