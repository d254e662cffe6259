"""The house holds: lower rooms never import higher ones, front doors are the only way in.

Every import statement of the package is read from its source (lazy imports inside functions
included), so an import that only runs on one code path is judged too.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import REPO

PKG = REPO / "crossexec_ml"

#: ARCHITECTURE.md: errors, config, settings, text < data < model < decide < evaluate < report
#: < jobs, apps < cli. Rooms of one rank other than the bottom one may not import each other.
RANK: dict[str, int] = {
    "errors": 0,
    "config": 0,
    "settings": 0,
    "text": 0,
    "data": 1,
    "model": 2,
    "decide": 3,
    "evaluate": 4,
    "report": 5,
    "jobs": 6,
    "apps": 6,
    "cli": 7,
}
ROOMS = ("text", "data", "model", "decide", "evaluate", "report", "jobs", "apps")
#: The ledger is one cohesive file format; everything else stays below this many lines.
MAX_LINES = 800
LONG_ALLOWED = {"decide/_ledger.py"}


def _modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "templates" not in p.parts)


def _room(path: Path, root: Path = PKG) -> str | None:
    rel = path.relative_to(root).parts
    if len(rel) == 1:
        return None if rel[0] == "__init__.py" else rel[0].removesuffix(".py")
    return rel[0]


def _imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names) for every import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names]
    return found


def _target_room(module: str, names: list[str]) -> list[str]:
    parts = module.split(".")
    if parts[0] != "crossexec_ml":
        return []
    if len(parts) == 1:  # `from crossexec_ml import x`: x is a room or a name of the root
        return [n for n in names if n in RANK]
    return [parts[1]]


def layer_violations(paths: list[Path], root: Path = PKG) -> list[str]:
    """Every import from a lower room to a higher one (or between rooms of one upper rank)."""
    bad = []
    for path in paths:
        here = _room(path, root)
        if here is None:
            continue  # the root front door re-exports lazily and is no room
        for line, module, names in _imports(path):
            for there in _target_room(module, names):
                if there == here:
                    continue
                r_here, r_there = RANK[here], RANK[there]
                if r_there > r_here or (r_there == r_here and r_here > 0):
                    rel = path.relative_to(root.parent)
                    bad.append(f"{rel}:{line}: {here} (rank {r_here}) imports {module}")
    return bad


def test_no_room_imports_a_higher_room():
    assert layer_violations(_modules()) == []


def test_the_check_catches_an_upward_import(tmp_path):
    # The walk must see lazy imports inside functions too.
    root = tmp_path / "crossexec_ml"
    (root / "data").mkdir(parents=True)
    fake = root / "data" / "_probe.py"
    fake.write_text("def f():\n    from crossexec_ml.jobs import score\n    return score\n")
    ok = root / "data" / "_fine.py"
    ok.write_text(
        "from crossexec_ml.settings import RUNGS\nfrom crossexec_ml.data._read import x\n"
    )
    assert layer_violations([fake, ok], root) == [
        "crossexec_ml/data/_probe.py:2: data (rank 1) imports crossexec_ml.jobs"
    ]


def test_every_room_file_is_known():
    rooms = {_room(p) for p in _modules()} - {None}
    assert rooms <= set(RANK), rooms - set(RANK)


@pytest.mark.parametrize("room", ROOMS)
def test_modules_inside_a_room_are_private_and_the_front_door_lists_them(room):
    folder = PKG / room
    if not folder.exists():
        pytest.skip(f"{room}/ not built yet")
    modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
    assert all(p.name.startswith("_") for p in modules), [p.name for p in modules]
    door = importlib.import_module(f"crossexec_ml.{room}")
    assert door.__all__ == sorted(door.__all__)
    for name in door.__all__:
        assert getattr(door, name) is not None
    # every public top-level name of a private module is reachable from the front door
    for p in modules:
        tree = ast.parse(p.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names = [node.name]
            elif isinstance(node, ast.Assign):
                names = [e.id for t in node.targets for e in ast.walk(t) if isinstance(e, ast.Name)]
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names = [node.target.id]
            else:
                continue
            for n in names:
                if not n.startswith("_") and n != "log":
                    assert n in door.__all__, f"{p.name}: {n} is public but not in {room}/__init__"


def test_no_module_is_longer_than_the_limit():
    long = {
        str(p.relative_to(PKG)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert set(long) <= LONG_ALLOWED, long


@pytest.mark.parametrize(
    "path",
    [*sorted((REPO / "notebooks").glob("*.py")), *sorted((PKG / "cli").glob("*.py"))],
    ids=lambda p: p.name,
)
def test_notebooks_and_the_cli_use_front_doors_only(path):
    # The command line's own modules may import each other; every other room by its door.
    private = [
        f"{path.name}:{line}: {module}"
        for line, module, _ in _imports(path)
        if module.startswith("crossexec_ml.")
        and not module.startswith("crossexec_ml.cli.")
        and any(p.startswith("_") for p in module.split("."))
    ]
    assert private == []
