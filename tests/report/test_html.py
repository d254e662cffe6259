"""HTML comes only from the autoescaped templates: no tags in Python, every id shown as text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossexec_ml import report
from crossexec_ml.decide import CheckupSheet
from tests.conftest import REPO

PKG = REPO / "crossexec_ml"

#: A tag a Python string must not hold: templates are the only place for them.
TAG = re.compile(
    r"<(div|table|td|tr|th|span|p|h[1-6]|ul|li|br|b|style|script)[\s>/]", re.IGNORECASE
)
#: Calls whose first argument is a pattern that *finds* HTML (it builds none).
_PATTERN_CALLS = {"compile", "sub", "search", "match", "fullmatch", "findall", "finditer", "split"}

#: Plotly hover templates (``%{x}``) use plotly.js's own text markup, drawn as SVG text: a line
#: break or bold there is no page HTML. Any other tag in them is still reported.
_PLOTLY_MARKUP = re.compile(r"<(br|b|/b|extra|/extra)>")

HOSTILE = ("<script>alert(1)</script>", '" onmouseover="x')


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _patterns(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in _PATTERN_CALLS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.args
        ):
            ids.update(id(n) for n in ast.walk(node.args[0]))
    return ids


def _without_plotly_markup(text: str) -> str:
    return _PLOTLY_MARKUP.sub("", text) if "%{" in text else text


def html_in_python(paths: list[Path]) -> list[str]:
    """``file:line: text`` for every string constant (f-string parts too) holding a tag."""
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _docstrings(tree) | _patterns(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in skip
                and TAG.search(_without_plotly_markup(node.value))
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value[:60]!r}")
    return sorted(found, key=lambda f: (f.split(":")[0], int(f.split(":")[1])))


def test_no_module_of_the_package_builds_tags():
    paths = sorted(PKG.rglob("*.py"))
    assert len(paths) > 40
    assert html_in_python(paths) == []


def test_the_scan_finds_a_planted_tag(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        '"""A docstring may say <div class="x">."""\n'
        "import re\n"
        "PATTERN = re.compile(r'<script[^>]*>')\n"
        "def page(x):\n"
        '    """Returns a <table>."""\n'
        '    return f"<td>{x}</td>"\n'
        "HEAD = '<p>title</p>'\n"
        "OK = 'a < b and c > d'\n"
        "HOVER = '%{x}<br>%{y}<extra></extra>'\n"
        "BAD_HOVER = '%{x}<td>'\n",
        encoding="utf-8",
    )
    found = html_in_python([planted])
    assert [f.split(":")[1] for f in found] == ["6", "7", "10"], found


# --------------------------------------------------------------------------------------------
# Hostile ids through every renderer
# --------------------------------------------------------------------------------------------


def _assert_escaped(page: str) -> None:
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '" onmouseover="x' not in page and "&#34; onmouseover=&#34;x" in page


def _sheet(case_id: str, value: object = "x") -> CheckupSheet:
    sheet = CheckupSheet(case_id=case_id, reasons_zh=HOSTILE[0], reasons_en=HOSTILE[1])
    sheet.sections.append(
        (
            "基本情况",
            "Case",
            [
                ("handler_id", "承办人", "handler id", HOSTILE[1]),
                ("previous_handler_ids", "此前承办人", "previous handlers", HOSTILE[0]),
                ("applicant_type", "申请人类型", "applicant type", "natural_person"),
                ("ladder_stage", "层级", "ladder stage", "intra_team"),
                ("is_livelihood", "民生案件", "livelihood", np.True_),
                ("has_vehicle", "有车辆", "vehicle", False),
                ("deposit_balance", "存款余额", "deposits", 1501828.996),
                ("court_id", "法院", "court", None),
            ],
        )
    )
    sheet.sections.append(
        (
            "交叉执行评估",
            "Assessment",
            [
                ("suggested_rung", "建议交叉层级", "suggested rung", "higher_court"),
                ("p_keep", "维持", "p keep", 0.21),
                ("uplift", "增益", "uplift", 0.037),
            ],
        )
    )
    return sheet


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_checkup_sheet_escapes_ids_and_reasons(lang):
    page = report.checkup_html(_sheet(HOSTILE[0] + HOSTILE[1]), lang)
    _assert_escaped(page)


def test_the_chinese_checkup_sheet_shows_words_not_codes():
    page = report.checkup_html(_sheet("(2024)执1号"), "zh")
    cells = re.findall(r"<td>(.*?)</td>", page)
    assert "自然人" in cells and "团队内" in cells
    assert "是" in cells and "否" in cells and "缺失" in cells
    assert "150.2 万元" in cells and "21%" in cells and "3.7 个百分点" in cells
    assert "提级/指令执行" in cells
    for code in ("natural_person", "intra_team", "higher_court", "True", "False", "None"):
        assert code not in cells, code
    en = re.findall(r"<td>(.*?)</td>", report.checkup_html(_sheet("c"), "en"))
    assert "yes" in en and "no" in en and "3.7 points" in en
    with pytest.raises(ValueError, match="lang"):
        report.checkup_html(_sheet("c"), "fr")


def test_the_fairness_page_escapes_group_names():
    summary = {
        "model_id": HOSTILE[0],
        "n_groupings": 1,
        "n_groups": 2,
        "n_groups_audited": 2,
        "capacity_share": 0.2,
        "n_rows": 100,
        "screening_dates": 1,
        "n_checks": 1,
        "n_flagged": 1,
        "n_watch": 0,
        "n_groups_too_small": 0,
        "too_small": [],
        "band": [0.8, 1.25],
        "uplift_tolerance": 0.05,
        "min_group_size": 30,
        "uplift_check": HOSTILE[1],
        "uplift_check_zh": HOSTILE[1],
        "flagged": [
            {
                "grouping_zh": "法院",
                "grouping_en": "court",
                "group_zh": HOSTILE[0],
                "group_en": HOSTILE[0],
                "metric_zh": "入选率",
                "metric_en": "selection rate",
                "n": 40,
                "estimate": 0.5,
                "ci_low": 0.3,
                "ci_high": 0.7,
                "compare": "ratio",
                "reference_zh": HOSTILE[1],
                "reference_en": HOSTILE[1],
            }
        ],
        "watch": [],
    }
    for lang in ("zh", "en"):
        _assert_escaped(report.fairness_html(summary, lang))
    card = {
        "model_id": HOSTILE[0] + HOSTILE[1],
        "training_data": {"as_of_min": "a", "as_of_max": HOSTILE[0], "rung_counts": {}},
    }
    _assert_escaped(report.card_html(card, {"summary": summary}))


def test_the_headline_and_the_dashboard_notice_escape():
    head = {
        "n_stalled": 3,
        "n_candidates": 1,
        "rungs": {"higher_court": 1},
        "expected_extra_resolutions": None,
        "expected_amount": None,
        "any_hard_bone": {"candidates": 0, "stock": 1},
        "n_decided": 0,
    }
    page = report.headline_html(head, "zh")
    assert "提级/指令执行 1" in page and "higher_court" not in page
    inputs = report.DashboardInputs(problem=HOSTILE[0] + HOSTILE[1])
    _assert_escaped(inputs.problem_html("zh"))


def test_a_table_escapes_every_cell_and_header():
    frame = pd.DataFrame({HOSTILE[0]: [HOSTILE[1], None], "ok": [True, 1.0]})
    page = report.table_html(frame, "zh")
    _assert_escaped(page)
    cells = re.findall(r"<td>(.*?)</td>", page)
    assert cells == ["&#34; onmouseover=&#34;x", "是", "缺失", "1"]


def test_the_rescore_fragments_escape():
    from crossexec_ml.jobs import fairness_html, outcome_html
    from crossexec_ml.jobs._rescore import RunInputs

    manifest = {
        "run_id": HOSTILE[0],
        "run_date": "2026-11-28",
        "rows": {"read": 1, "stalled_cohort": 1, "ranked": 1, "candidates": 1},
        "model": {"model_id": HOSTILE[1]},
        "drift_reference": "previous run",
        "alarms": [HOSTILE[0]],
    }
    for lang in ("zh", "en"):
        _assert_escaped(outcome_html(manifest, lang))
    inputs = RunInputs.__new__(RunInputs)
    inputs.fairness = {"summary": {"model_id": HOSTILE[0]}}
    inputs.card = {"model_id": HOSTILE[1]}
    with pytest.raises(KeyError):  # a summary without its numbers is refused, not half shown
        fairness_html(inputs, "zh")
    inputs.fairness = None
    assert "--fairness" in fairness_html(inputs, "en")
