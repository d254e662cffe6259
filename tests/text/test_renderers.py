"""Leader-facing renderers emit no raw code in Chinese.

Each renderer is run in Chinese on the shipped sample and every cell, header, label and title it
shows is compared with the contract's category codes (every allowed value of every category
column: ``intra_team``, ``natural_person``, ``higher_court``...) and with ``True``/``False``.
The sample and one quickly trained model are shared by the module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from crossexec_ml import decide, evaluate, jobs, report
from crossexec_ml.data import load_sample
from crossexec_ml.text import category_values

#: What a Chinese page must never show as a whole cell, label or title.
FORBIDDEN: frozenset[str] = frozenset(
    {v for values in category_values().values() for v in values} | {"True", "False"}
)

#: Key columns of the profile tables: machine keys the figures and joins read (ids, metric
#: names, band keys), shown beside their ``label_zh``; not the Chinese reading of a row.
#: ``label_en`` is the English reading (it may equal a code: ``lease``, ``other``).
PROFILE_KEYS = {"column", "metric", "band", "asset", "measure", "flag", "cause_category", "role"}
PROFILE_KEYS |= {"label_en"}


def _leaks(values) -> list[str]:
    return sorted({str(v) for v in values if str(v) in FORBIDDEN})


def _frame_leaks(frame: pd.DataFrame, skip: set[str] = frozenset()) -> list[str]:
    cells = [frame[c] for c in frame.columns if c not in skip]
    found = _leaks(map(str, frame.columns))
    for col in cells:
        found += _leaks(col.astype(object).tolist())
    return sorted(set(found))


def _figure_texts(fig: go.Figure) -> list[str]:
    """Titles, axis titles, legend names, annotations and category labels of a figure."""
    layout = fig.layout
    out = [layout.title.text, layout.xaxis.title.text, layout.yaxis.title.text]
    out += [a.text for a in layout.annotations or ()]
    for trace in fig.data:
        out.append(getattr(trace, "name", None))
        for axis in ("x", "y"):
            values = getattr(trace, axis, None)
            if values is not None and len(values) and isinstance(values[0], str):
                out += list(values)
    return [s for s in out if s is not None]


@pytest.fixture(scope="module")
def sample():
    return load_sample()


@pytest.fixture(scope="module")
def scored_list(sample, tmp_path_factory):
    """The sample's current cases scored by a model trained on its history."""
    from crossexec_ml.model import load_model

    folder = tmp_path_factory.mktemp("renderers")
    history = folder / "history.parquet"
    sample["history"].to_parquet(history)
    jobs.train(history, folder / "model", progress=False)
    model, card = load_model(folder / "model")
    return jobs.score_cases(model, sample["current"], model_id=card["model_id"]), card


def test_forbidden_codes_are_the_contract_categories():
    assert {"intra_team", "natural_person", "higher_court", "True"} <= FORBIDDEN


def test_leader_sheets_show_labels(scored_list, sample):
    frame, card = scored_list
    sheets = jobs.leader_sheets(frame, sample["current"], card)
    assert sheets
    for name, sheet in sheets.items():
        assert not _leaks([name])
        assert _frame_leaks(sheet) == [], name


def test_plan_chinese_sheet_shows_labels(scored_list, sample):
    frame, _card = scored_list
    plan = decide.assign(frame, sample["handlers"])
    assert len(plan)
    assert _frame_leaks(decide.plan_sheet(plan, "zh")) == []


def test_profile_tables_label_every_row(sample):
    tables = report.stock_profile(sample["current"])
    for name, table in tables.items():
        if name == "age_by_idle":
            continue  # band keys as index/columns, drawn with their labels by the heatmap
        shown = table.drop(columns=["required", "absent"], errors="ignore")
        assert _frame_leaks(shown, PROFILE_KEYS) == [], name
    assert tables["by_cause"]["label_zh"].str.contains(r"[\u4e00-\u9fff]").all()


def test_plots_show_labels(sample):
    tables = report.stock_profile(sample["current"])
    figures = [
        report.stock_by(tables["by_cause"], "cause_category"),
        report.stock_by(tables["by_court"], "court_id"),
        report.age_idle_heatmap(tables["age_by_idle"]),
        report.hard_bone_bars(tables["hard_bones"]),
        report.assets_bars(tables["assets"]),
        report.measures_bars(tables["measures"]),
    ]
    past = report.past_results(sample["history"])
    assert len(past)
    figures.append(report.past_results_bars(past))
    teams = pd.DataFrame(
        {"team_id": ["C01-T1"], **{f"n_{r}": [1] for r in ("intra_team", "higher_court")}}
    )
    figures.append(report.team_list_bars(teams))
    for fig in figures:
        texts = _figure_texts(fig)
        assert texts
        assert _leaks(texts) == [], fig.layout.title.text


def test_workspace_tables_show_labels(sample):
    past = report.past_results(sample["history"])
    shown = report.labelled(past, report.PAST_COLUMNS, "zh").data
    assert _frame_leaks(shown) == []
    raw = past["amount_recovered"].to_numpy(float)
    np.testing.assert_allclose(shown["到位金额（万元）"].to_numpy(float), raw / 1e4)


def test_fairness_labels_are_words():
    from crossexec_ml.evaluate import _fairness_rows as rows

    labels = [v for pair in rows.GROUPINGS.values() for v in pair]
    labels += [v for m in rows.METRICS.values() for v in m[:2]]
    labels += [v for pair in rows.VERDICTS.values() for v in pair[:1]]
    labels += [zh for values in rows._VALUE_LABELS.values() for zh, _en in values.values()]
    labels += list(rows._MISSING_LABEL[:1])
    assert _leaks(labels) == []
    assert evaluate.VERDICTS["flag"] == ("需关注", "flag")


def test_catalogue_is_the_only_home_of_leader_labels():
    # The migrated modules hold no (zh, en) label tables of their own any more.
    root = Path(__file__).resolve().parents[2] / "crossexec_ml"
    for rel in ("report/_plots.py", "report/_plots_dashboard.py", "report/_plots_fairness.py"):
        text = (root / rel).read_text("utf-8")
        assert 'dict[str, tuple[str, str]] = {\n    "' not in text, rel
