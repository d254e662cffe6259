"""Chinese rung names live in one file: the catalogue.

Docstrings and comments may speak of 提级 or 团队内; what a leader reads may not come from
anywhere but ``crossexec_ml/text/catalogue.csv`` (string constants in code and templates are
checked).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import REPO

PKG = REPO / "crossexec_ml"
RUNG_WORDS = re.compile(r"团队内|团队间|提级|指令执行|维持原承办|维持")


def _docstrings(tree: ast.AST) -> set[int]:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, kinds)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def rung_words_outside_the_catalogue(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docs
                and RUNG_WORDS.search(node.value)
            ):
                found.append(f"{path.relative_to(root.parent)}:{node.lineno}: {node.value[:40]!r}")
    for path in sorted(root.rglob("*.j2")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if RUNG_WORDS.search(line):
                found.append(f"{path.relative_to(root.parent)}:{i}: {line.strip()[:40]!r}")
    return found


def test_chinese_rung_names_come_only_from_the_catalogue():
    assert rung_words_outside_the_catalogue(PKG) == []


def test_the_scan_finds_a_planted_label(tmp_path):
    root = tmp_path / "crossexec_ml"
    root.mkdir()
    (root / "_m.py").write_text('"""提级 in a docstring is fine."""\nLABEL = "团队内"\n')
    (root / "page.j2").write_text("<td>提级/指令执行</td>\n")
    assert rung_words_outside_the_catalogue(root) == [
        "crossexec_ml/_m.py:2: '团队内'",
        "crossexec_ml/page.j2:1: '<td>提级/指令执行</td>'",
    ]


def test_the_catalogue_has_each_rung_once_per_form():
    catalogue = (PKG / "text" / "catalogue.csv").read_text(encoding="utf-8")
    short = [line.split(",")[1] for line in catalogue.splitlines() if re.match(r"rung\.\w+,", line)]
    assert sorted(short) == sorted(["维持", "团队内", "团队间", "提级/指令执行"])
