"""The notebooks: stored without outputs, paired with their .py, parameterised, and runnable.

The fast tests read the files only. The ``notebook`` tests execute each notebook headless with
papermill in the venv's ``crossexec-ml`` kernel, from the ``notebooks/`` folder (as
``make lab`` and a scheduler would), and fail on any error cell or any stderr output (which is
where a warning raised inside the kernel ends up).
"""

from __future__ import annotations

import ast

import jupytext
import nbformat
import pytest

from tests.conftest import REPO

NOTEBOOKS = REPO / "notebooks"
PAIRED = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
KERNEL = "crossexec-ml"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def _ids(path):
    return path.stem


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_numbered_notebooks_exist():
    assert [p.stem for p in PAIRED][:2] == ["01_explore_cases", "02_train_and_evaluate"]


@pytest.mark.parametrize("path", PAIRED, ids=_ids)
def test_stored_without_outputs_and_with_the_project_kernel(path):
    nb = nbformat.read(path, as_version=4)
    for cell in _code_cells(nb):
        assert cell.outputs == [], f"{path.name}: clear the outputs before committing"
        assert cell.execution_count is None, f"{path.name}: clear the execution counts"
    assert nb.metadata.kernelspec.name == KERNEL


@pytest.mark.parametrize("path", PAIRED, ids=_ids)
def test_parameters_cell_follows_the_imports_and_holds_only_literals(path):
    nb = nbformat.read(path, as_version=4)
    code = _code_cells(nb)
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [1], f"{path.name}: one cell tagged 'parameters', right after the imports"
    first = ast.parse(code[0].source).body
    assert first and isinstance(first[0], ast.Import | ast.ImportFrom), "imports come first"
    for stmt in ast.parse(code[1].source).body:
        assert isinstance(stmt, ast.Assign), ast.dump(stmt)
        assert len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
        ast.literal_eval(stmt.value)  # raises on anything but a literal


@pytest.mark.parametrize("path", PAIRED, ids=_ids)
def test_no_shell_escapes(path):
    # A failing `!` command does not fail a papermill run (papermill#539).
    for cell in _code_cells(nbformat.read(path, as_version=4)):
        for line in cell.source.splitlines():
            assert not line.lstrip().startswith(("!", "%")), f"{path.name}: {line}"


@pytest.mark.parametrize("path", PAIRED, ids=_ids)
def test_in_sync_with_its_py_percent_pair(path):
    py = path.with_suffix(".py")
    assert py.exists(), f"{py.name} is missing: jupytext --set-formats ipynb,py:percent {path}"
    a, b = jupytext.read(path), jupytext.read(py)

    def cells(nb):
        return [(c.cell_type, c.source.strip(), c.metadata.get("tags", [])) for c in nb.cells]

    assert cells(a) == cells(b), f"run: jupytext --sync {py.relative_to(REPO)}"


# --------------------------------------------------------------------------------------------
# Headless runs
# --------------------------------------------------------------------------------------------


def _execute(name: str, tmp_path, **parameters):
    import papermill
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL not in KernelSpecManager().find_kernel_specs():
        pytest.fail(f"kernel {KERNEL!r} is not installed: run `make install`")
    out = tmp_path / f"{name}.out.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{name}.ipynb"),
        str(out),
        parameters=parameters,
        kernel_name=KERNEL,
        cwd=str(NOTEBOOKS),
        progress_bar=False,
    )
    nb = nbformat.read(out, as_version=4)
    outputs = [o for c in _code_cells(nb) for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.get("name") == "stderr"]
    assert not stderr, f"{name} wrote to stderr: {stderr}"
    return nb, outputs


def _n_figures(outputs) -> int:
    return sum(PLOTLY_MIME in o.get("data", {}) for o in outputs)


@pytest.mark.notebook
def test_01_explore_cases_runs(tmp_path):
    _, outputs = _execute("01_explore_cases", tmp_path, lang="en")
    text = "".join(o.get("text", "") for o in outputs)
    assert "valid: no problems found" in text
    assert "stalled cases: 1500 / 1500" in text
    assert _n_figures(outputs) == 7  # court, team, cause, heatmap, assets, measures, flags


@pytest.mark.notebook
def test_02_train_and_evaluate_runs(tmp_path):
    model_dir = tmp_path / "model"
    _, outputs = _execute("02_train_and_evaluate", tmp_path, model_dir=str(model_dir))
    assert (model_dir / "model.skops").exists() and (model_dir / "card.json").exists()
    assert _n_figures(outputs) == 5  # windows, calibration, Qini, policy value, drivers
    assert f"model saved in {model_dir}" in "".join(o.get("text", "") for o in outputs)


@pytest.mark.notebook
@pytest.mark.slow
def test_02_runs_without_a_truth_file(tmp_path):
    _, outputs = _execute(
        "02_train_and_evaluate", tmp_path, model_dir=str(tmp_path / "model"), truth_path=""
    )
    assert _n_figures(outputs) == 5  # Qini and policy value say they need the truth


@pytest.mark.notebook
def test_03_pick_next_case_runs(tmp_path):
    from crossexec_ml.jobs import train

    model_dir = tmp_path / "model"
    train(REPO / "data/sample/history.csv", model_dir, progress=False)
    out_dir = tmp_path / "reports"
    _, outputs = _execute(
        "03_pick_next_case",
        tmp_path,
        model_dir=str(model_dir),
        out_dir=str(out_dir),
        ledger_path=str(tmp_path / "ledger.sqlite"),
    )
    assert (out_dir / "scored.parquet").exists() and (out_dir / "plan.xlsx").exists()
    widgets = [
        o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert len(widgets) == 1  # the picker
    assert not (tmp_path / "ledger.sqlite").exists()  # nothing decided by the notebook itself


@pytest.mark.notebook
def test_07_followup_runs_on_the_sample(tmp_path):
    out_dir = tmp_path / "followup"
    _, outputs = _execute("07_followup", tmp_path, out_dir=str(out_dir))
    text = "".join(o.get("text", "") for o in outputs)
    assert "探索区间 band: 60" in text  # round(0.2 x 150) each side of the cut
    assert (out_dir / "followup.xlsx").exists()
    # The simulation writes into its own new demo ledger, nowhere else.
    assert len(list(out_dir.glob("ledger-*/demo.sqlite"))) == 1
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "实际化解率" in html and "挑战者 · t_linear" in html
    assert "按实际层级的预测对数损失" in html  # the observational half, beside the randomised
    assert _n_figures(outputs) == 1
