"""Project hygiene: environment.yml mirrors pyproject.toml; the Makefile documents itself."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[ ;]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_packages_as_pyproject():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in pyproject["dependencies"]}
    for extra in pyproject["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    text = (REPO / "environment.yml").read_text()
    env_lines = text[text.index("dependencies:") :].splitlines()
    conda = {
        _name(line.strip()[2:])
        for line in env_lines
        if re.match(r"^  - [a-z]", line) and not line.strip().startswith("- pip:")
    }
    conda -= {"python", "pip"}
    assert conda == wanted, (
        f"only in environment.yml: {conda - wanted}; only in pyproject: {wanted - conda}"
    )
    assert '-e ".[ui,dev,scale]"' in (REPO / "environment.yml").read_text()


def test_make_help_lists_the_readme_commands():
    out = subprocess.run(
        ["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for target in ("install", "demo", "test", "lab"):
        assert re.search(rf"make {target}\s", out), out
    readme = (REPO / "README.md").read_text()
    assert readme.index("make demo") < 400 and readme.index("make test") < 400


def test_ci_runs_the_readme_test_command():
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_the_tree_is_ruff_clean():
    # `make lint` as a test, so CI keeps the package, tests, benchmarks and notebook pairs clean.
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    paths = ["crossexec_ml", "tests", "benchmarks", *map(str, (REPO / "notebooks").glob("*.py"))]
    for args in (["check"], ["format", "--check"]):
        done = subprocess.run([ruff, *args, *paths], cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
