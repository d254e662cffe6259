"""The fairness audit: metrics by hand, verdict rules, planted bias, bootstrap, CLI, notebook."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crossexec_ml import evaluate, report
from crossexec_ml.cli import main
from crossexec_ml.data import read_cases
from crossexec_ml.evaluate import (
    audit_saved,
    backtest_predictions,
    fairness_audit,
    fairness_summary,
    precision_recall_at_k,
    summary_text,
    top_k_selection,
)
from crossexec_ml.report import fairness_html
from crossexec_ml.settings import PROB_COLUMNS, BacktestSettings, FairnessSettings
from tests.conftest import REPO

SAMPLE = REPO / "data" / "sample"


def _rows_by_hand() -> pd.DataFrame:
    """Group A (6 rows, the reference) and B (4 rows); every number below is counted by hand."""
    return pd.DataFrame(
        {
            "court_id": ["A"] * 6 + ["B"] * 4,
            "selected": [1, 1, 1, 0, 0, 0, 1, 0, 0, 0],
            "resolved": [1, 0, 1, 0, 1, 0, 1, 0, 0, 0],
            "p_taken": [0.5] * 6 + [0.25] * 4,
        }
    ).astype({"selected": float, "resolved": float})


def _settings(**kw) -> FairnessSettings:
    base = {"groupings": ("court_id",), "min_group_size": 1, "n_boot": 200}
    return FairnessSettings(**{**base, **kw})


def _disparity(audit, group: str, metric: str) -> pd.Series:
    d = audit.disparities
    return d[(d["group"] == group) & (d["metric"] == metric)].iloc[0]


# --------------------------------------------------------------------------------------------
# Metrics against hand-computed examples
# --------------------------------------------------------------------------------------------


def test_top_k_selection_shares_tied_places_like_precision_at_k():
    score = np.array([0.9, 0.5, 0.5, 0.1])
    w = top_k_selection(score, 2)
    assert w.tolist() == [1.0, 0.5, 0.5, 0.0]
    y = np.array([1, 0, 1, 0])
    # The audit's precision over all rows is evaluate's precision@k with its tie rule.
    assert (w * y).sum() / 2 == precision_recall_at_k(y, score, 2)[0] == 0.75
    assert top_k_selection(score, 0).sum() == 0
    assert top_k_selection(score, 9).tolist() == [1.0, 1.0, 1.0, 1.0]


def test_selection_rate_precision_and_ratios_by_hand():
    audit = fairness_audit(_rows_by_hand(), _settings())
    g = audit.groups.set_index("group")
    assert g.loc["A", "n"] == 6 and g.loc["B", "n"] == 4
    assert g.loc["A", "selection_rate"] == pytest.approx(3 / 6)
    assert g.loc["B", "selection_rate"] == pytest.approx(1 / 4)
    assert g.loc["A", "precision_at_k"] == pytest.approx(2 / 3)  # 2 of the 3 picked resolved
    assert g.loc["B", "precision_at_k"] == pytest.approx(1.0)
    assert g.loc["A", "calibration_p"] == pytest.approx(3 / 3.0)  # 3 resolved, 6 x 0.5 expected
    assert g.loc["B", "calibration_p"] == pytest.approx(1 / 1.0)
    # A is the largest group, hence the reference.
    sel = _disparity(audit, "B", "selection_rate")
    assert sel["reference_group"] == "A"
    assert sel["estimate"] == pytest.approx(0.25 / 0.5)
    assert _disparity(audit, "B", "precision_at_k")["estimate"] == pytest.approx(1.0 / (2 / 3))
    assert _disparity(audit, "B", "calibration_p")["estimate"] == pytest.approx(1.0)
    assert _disparity(audit, "B", "calibration_p")["verdict"] == "ok"
    assert _disparity(audit, "A", "selection_rate")["verdict"] == "reference"
    # The not-picked cases of A: 3 rows, 1 resolved.
    u = audit.unselected.set_index(["group", "in_list"])
    assert u.loc[("A", "not_selected"), "n"] == 3
    assert u.loc[("A", "not_selected"), "resolved_rate"] == pytest.approx(1 / 3)
    assert u.loc[("B", "selected"), "resolved_rate"] == pytest.approx(1.0)


def test_fractional_selection_weights_count_as_expected_picks():
    rows = pd.DataFrame(
        {
            "court_id": ["A", "A", "B", "B"],
            "selected": top_k_selection(np.array([0.9, 0.5, 0.5, 0.1]), 2),
            "resolved": [1.0, 0.0, 1.0, 0.0],
        }
    )
    g = fairness_audit(rows, _settings()).groups.set_index("group")
    assert g.loc["A", "selection_rate"] == pytest.approx(0.75)  # (1 + 0.5) / 2
    assert g.loc["B", "selection_rate"] == pytest.approx(0.25)
    assert g.loc["A", "precision_at_k"] == pytest.approx(1 / 1.5)
    assert g.loc["B", "precision_at_k"] == pytest.approx(1.0)


def test_groups_below_the_minimum_size_get_no_verdict():
    audit = fairness_audit(_rows_by_hand(), _settings(min_group_size=5))
    b = audit.disparities[audit.disparities["group"] == "B"]
    assert set(b["verdict"]) == {"too_small"}
    assert b["estimate"].isna().all()  # no ratio is shown as if it meant something
    assert _disparity(audit, "A", "selection_rate")["verdict"] == "reference"
    # precision@k counts picked cases: A has 3 picked, below 5, so no verdict for it either.
    assert _disparity(audit, "A", "precision_at_k")["verdict"] == "too_small"
    s = fairness_summary(audit)
    small = {t["group"]: t for t in s["too_small"]}
    assert small["B"]["no_verdict_at_all"] and small["B"]["n"] == 4
    assert not small["A"]["no_verdict_at_all"]
    assert s["n_groups_too_small"] == 1
    assert s["n_flagged"] == 0


def test_reference_group_can_be_chosen_and_must_exist():
    audit = fairness_audit(_rows_by_hand(), _settings(reference={"court_id": "B"}))
    assert _disparity(audit, "A", "selection_rate")["estimate"] == pytest.approx(0.5 / 0.25)
    with pytest.raises(ValueError, match="reference group 'Z'"):
        fairness_audit(_rows_by_hand(), _settings(reference={"court_id": "Z"}))


@pytest.mark.parametrize(
    "kw",
    [
        {"capacity_share": 0},
        {"capacity_share": 1.5},
        {"band": (1.1, 1.25)},
        {"min_group_size": 0},
        {"policy": "oldest_first"},
        {"groupings": ("handler_id",)},  # never by judge
        {"amount_edges": (1e5, 1e4)},
    ],
)
def test_bad_settings_are_refused(kw):
    with pytest.raises(ValueError):
        FairnessSettings(**kw)


# --------------------------------------------------------------------------------------------
# A planted bias is flagged, a fair list is not
# --------------------------------------------------------------------------------------------


def _population(seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 2000
    group = np.where(rng.random(n) < 0.6, "urban", "rural")
    p = rng.uniform(0.05, 0.4, n)
    y = (rng.random(n) < p).astype(float)
    return pd.DataFrame({"court_id": group, "resolved": y, "p_taken": p}), rng.random(n)


def test_a_planted_biased_scorer_is_flagged_and_a_fair_one_is_not():
    rows, noise = _population()
    rural = (rows["court_id"] == "rural").to_numpy()
    s = _settings(min_group_size=30, n_boot=300)
    fair = fairness_audit(rows.assign(selected=top_k_selection(noise, 200)), s)
    biased_score = noise - 0.5 * rural  # rural cases pushed down the list
    biased = fairness_audit(rows.assign(selected=top_k_selection(biased_score, 200)), s)

    assert _disparity(biased, "rural", "selection_rate")["verdict"] == "flag"
    assert _disparity(biased, "rural", "selection_rate")["estimate"] < 0.5
    assert "flag" not in set(fair.disparities["verdict"])
    assert fairness_summary(fair)["n_flagged"] == 0
    flagged = fairness_summary(biased)["flagged"]
    assert [(f["group"], f["metric"]) for f in flagged] == [("rural", "selection_rate")]


def test_a_model_overconfident_for_one_group_is_flagged_on_calibration():
    rows, noise = _population()
    rural = (rows["court_id"] == "rural").to_numpy()
    rows = rows.assign(selected=top_k_selection(noise, 200))
    skewed = rows.assign(p_taken=np.where(rural, rows["p_taken"] * 2, rows["p_taken"]))
    audit = fairness_audit(skewed, _settings(min_group_size=30))
    cal = _disparity(audit, "rural", "calibration_p")
    assert cal["verdict"] == "flag" and cal["estimate"] == pytest.approx(0.5, abs=0.1)


# --------------------------------------------------------------------------------------------
# Bootstrap intervals
# --------------------------------------------------------------------------------------------


def test_bootstrap_intervals_are_reproducible_and_contain_the_estimate():
    rows, noise = _population()
    rows = rows.assign(selected=top_k_selection(noise - 0.1 * (rows["court_id"] == "rural"), 200))
    a = fairness_audit(rows, _settings(seed=11))
    b = fairness_audit(rows, _settings(seed=11))
    c = fairness_audit(rows, _settings(seed=12))
    cols = ["estimate", "ci_low", "ci_high", "verdict"]
    pd.testing.assert_frame_equal(a.disparities[cols], b.disparities[cols])
    judged = a.disparities[a.disparities["verdict"].isin(["ok", "watch", "flag"])]
    assert len(judged) == 3  # rural: selection rate, precision@k, calibration of p
    assert (judged["ci_low"] <= judged["estimate"]).all()
    assert (judged["estimate"] <= judged["ci_high"]).all()
    assert (judged["ci_high"] > judged["ci_low"]).all()
    assert not np.allclose(a.disparities["ci_low"].dropna(), c.disparities["ci_low"].dropna())


def test_a_groups_interval_does_not_depend_on_other_groups():
    rows, noise = _population()
    rows = rows.assign(selected=top_k_selection(noise, 200))
    more = pd.concat(
        [rows, rows.head(50).assign(court_id="new")], ignore_index=True
    )  # adding a group leaves rural's draws alone
    a = _disparity(fairness_audit(rows, _settings()), "rural", "selection_rate")
    b = _disparity(fairness_audit(more, _settings()), "rural", "selection_rate")
    assert a["ci_low"] == b["ci_low"] and a["ci_high"] == b["ci_high"]


# --------------------------------------------------------------------------------------------
# The summary others embed
# --------------------------------------------------------------------------------------------


def test_summary_is_plain_json_and_renders_in_both_languages():
    rows, noise = _population()
    rural = (rows["court_id"] == "rural").to_numpy()
    audit = fairness_audit(
        rows.assign(selected=top_k_selection(noise - 0.5 * rural, 200)),
        _settings(min_group_size=30),
    )
    s = fairness_summary(audit)
    text = json.dumps(s, allow_nan=False)  # no NaN token, no numpy type
    assert json.loads(text) == s
    assert s["n_groupings"] == 1 and s["n_groups"] == 2 and s["n_flagged"] == 1
    f = s["flagged"][0]
    assert f["compare"] == "ratio" and f["ci_low"] <= f["estimate"] <= f["ci_high"]
    assert f["reference_group"] == "urban"
    zh, en = summary_text(s, "zh"), summary_text(s, "en")
    assert "需关注1项" in zh and "入选率" in zh and "rural" in zh
    assert "1 flagged" in en and "selection rate" in en
    html = fairness_html(s, "en")
    assert html.startswith('<div class="fairness-summary">') and "<td>rural</td>" in html
    assert "flag" in html and "selection rate" in html
    with pytest.raises(ValueError, match="lang"):
        summary_text(s, "fr")


def test_summary_html_escapes_group_names():
    rows = _rows_by_hand()
    rows["court_id"] = rows["court_id"].replace({"B": "<b>B</b>"})
    audit = fairness_audit(pd.concat([rows] * 20, ignore_index=True), _settings())
    s = fairness_summary(audit)
    s["flagged"] = s["flagged"] or s["watch"]
    assert s["flagged"], "the hand-made B group differs enough to be listed"
    assert "<b>B</b>" not in fairness_html(s, "en")


def test_fairness_plots_draw_the_audit():
    rows, noise = _population()
    audit = fairness_audit(rows.assign(selected=top_k_selection(noise, 200)), _settings())
    fig = report.fairness_ratio_plot(audit.disparities, "selection_rate", "en")
    assert len(fig.data) == 1 and fig.layout.xaxis.type == "log"
    assert list(fig.data[0].y) == ["court: rural"]
    empty = report.fairness_ratio_plot(audit.disparities, "calibration_uplift", "zh")
    assert len(empty.data) == 0  # no pilot rows: the figure says so instead of failing
    bars = report.outcomes_by_selection_plot(audit.unselected, "court_id", "zh")
    assert len(bars.data) == 2  # no closure column here: resolved bars only


# --------------------------------------------------------------------------------------------
# On the sample: out-of-sample lists, the product's own list
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_audit():
    return audit_saved(None, SAMPLE / "history.csv", truth_path=SAMPLE / "truth.csv")


def test_every_window_is_scored_by_a_model_that_never_saw_it():
    history = read_cases(SAMPLE / "history.csv")
    seen: list[pd.Timestamp] = []

    class Spy:
        def fit(self, rows):
            seen.append(rows["as_of_date"].max())
            return self

        def predict_rungs(self, cases):
            return pd.DataFrame(0.1, index=cases.index, columns=list(PROB_COLUMNS))

    bt = BacktestSettings()
    scored = backtest_predictions(history, Spy, bt, n_windows=3)
    for trained_until, (_, part) in zip(seen, scored.groupby("window", sort=True), strict=True):
        gap = (part["as_of_date"].min() - trained_until).days
        assert gap > bt.gap_days  # outcomes of every training row known before the window


def test_sample_audit_uses_the_products_list_and_the_pilot(sample_audit):
    a = sample_audit
    rows = a.rows
    per_date = rows.groupby("as_of_date").agg(n=("selected", "size"), k=("selected", "sum"))
    assert (per_date["k"] <= (0.1 * per_date["n"]).round().clip(lower=1)).all()
    assert (per_date["k"] > 0).all()
    assert set(a.meta["groupings_audited"]) == set(evaluate.GROUPINGS)
    assert "pilot" in a.meta["uplift_check"] and rows["pilot"].sum() > 100
    # Livelihood cases get the floor and the boost: never picked less often than the others.
    g = a.groups.set_index(["grouping", "group"])
    assert (
        g.loc[("livelihood", "yes"), "selection_rate"]
        >= g.loc[("livelihood", "no"), "selection_rate"]
    )
    s = a.summary()
    assert s["n_rows"] == len(rows) and s["n_groups"] == len(a.groups)
    json.dumps(s, allow_nan=False)


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from crossexec_ml.jobs import train

    out = tmp_path_factory.mktemp("fair") / "model"
    train(SAMPLE / "history.csv", out, progress=False)
    return out


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_cli_writes_the_audit_atomically(model_dir, tmp_path, capsys):
    out = tmp_path / "reports" / "fairness.json"
    args = ["fairness", "--model", str(model_dir), "--cases", str(SAMPLE / "history.csv")]
    rc = main([*args, "--truth", str(SAMPLE / "truth.csv"), "--out", str(out), "--quiet"])
    assert rc == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert set(doc) == {"summary", "settings", "meta", "groups", "disparities", "unselected"}
    assert (
        doc["summary"]["model_id"] == json.loads((model_dir / "card.json").read_text())["model_id"]
    )
    assert "case_id" not in out.read_text(encoding="utf-8")  # no case is named in the report
    assert _leftovers(out.parent) == []
    assert f"wrote {out}" in capsys.readouterr().out

    html = tmp_path / "fairness.html"
    assert main([*args, "--out", str(html), "--quiet", "--capacity-share", "0.2"]) == 0
    text = html.read_text(encoding="utf-8")
    assert "公平性审查摘要" in text and "Fairness audit summary" in text
    # No truth file: the history's own assignment_randomised column marks the pilot rows.
    assert "not available" not in text
    bare = tmp_path / "bare.csv"
    history = pd.read_csv(SAMPLE / "history.csv", encoding="utf-8-sig", dtype=str)
    history.drop(columns=["assignment_randomised", "assignment_propensity"]).to_csv(
        bare, index=False, encoding="utf-8-sig"
    )
    html2 = tmp_path / "bare.html"
    bare_args = ["fairness", "--model", str(model_dir), "--cases", str(bare)]
    assert main([*bare_args, "--out", str(html2), "--quiet", "--capacity-share", "0.2"]) == 0
    assert "not available" in html2.read_text(encoding="utf-8")  # no pilot marks at all


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--out", "{tmp}/audit.txt"], "audit.txt: the fairness audit is written as"),
        (["--out", "{tmp}/audit.json", "--capacity-share", "0"], "capacity_share must be"),
        (["--out", "{tmp}/audit.json", "--min-group-size", "0"], "min_group_size must be"),
        (["--out", "{tmp}/audit.json", "--truth", "{tmp}/nope.csv"], "no such truth file"),
    ],
)
def test_cli_refuses_bad_input_and_leaves_the_old_file(model_dir, tmp_path, capsys, extra, message):
    old = tmp_path / "audit.json"
    old.write_text("previous run", encoding="utf-8")
    args = ["fairness", "--model", str(model_dir), "--cases", str(SAMPLE / "history.csv")]
    rc = main([*args, *(e.format(tmp=tmp_path) for e in extra), "--quiet"])
    assert rc == 1
    assert message in capsys.readouterr().err
    assert old.read_text(encoding="utf-8") == "previous run"
    assert _leftovers(tmp_path) == []


def test_cli_refuses_a_file_without_outcomes(model_dir, tmp_path, capsys):
    out = tmp_path / "audit.xlsx"
    rc = main(
        ["fairness", "--model", str(model_dir), "--cases", str(SAMPLE / "current.csv")]
        + ["--out", str(out), "--quiet"]
    )
    assert rc == 1
    err = capsys.readouterr().err
    assert "current.csv" in err and "history export with outcomes" in err
    assert not out.exists() and _leftovers(tmp_path) == []


def test_a_failed_xlsx_write_leaves_nothing_behind(sample_audit, tmp_path, monkeypatch):
    import crossexec_ml.data._write as io

    def broken(sheets, path):
        path.write_bytes(b"PK half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(io, "_write_xlsx", broken)
    out = tmp_path / "fairness.xlsx"
    with pytest.raises(OSError, match="disk full"):
        evaluate.write_audit(sample_audit, out)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# The notebook
# --------------------------------------------------------------------------------------------


@pytest.mark.notebook
def test_06_fairness_audit_runs_on_the_sample(tmp_path):
    from tests.system.test_notebooks import _execute, _n_figures

    _, outputs = _execute("06_fairness_audit", tmp_path, lang="en")
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "Fairness audit summary" in html and "randomised-pilot rows" in html
    assert _n_figures(outputs) == 6  # four ratio plots, two outcome plots


def test_the_renderings_accept_the_json_file_written_by_the_cli(sample_audit, tmp_path):
    out = evaluate.write_audit(sample_audit, tmp_path / "fairness.json")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert fairness_html(doc, "zh") == fairness_html(fairness_summary(sample_audit), "zh")
    assert summary_text(doc, "en") == summary_text(doc["summary"], "en")


def test_cli_refuses_a_truth_file_with_a_case_twice(model_dir, tmp_path, capsys):
    truth = pd.read_csv(SAMPLE / "truth.csv", encoding="utf-8-sig")
    bad = tmp_path / "truth.csv"
    pd.concat([truth, truth.tail(1)]).to_csv(bad, index=False)
    args = ["fairness", "--model", str(model_dir), "--cases", str(SAMPLE / "history.csv")]
    rc = main([*args, "--truth", str(bad), "--out", str(tmp_path / "a.json"), "--quiet"])
    assert rc == 1
    err = capsys.readouterr().err  # read_truth names both rows (header = row 1)
    assert "truth.csv: 1 problem(s) found" in err and "duplicate: row 7501 has the same" in err
    assert not (tmp_path / "a.json").exists()


def test_pilot_rows_come_from_the_contract_column_without_a_truth_file():
    from crossexec_ml.evaluate._fairness_rows import _pilot_flags

    rows = pd.DataFrame({"assignment_randomised": pd.array([True, None, False], "boolean")})
    flags, source = _pilot_flags(rows, None)
    assert flags.tolist() == [True, False, False] and source == "assignment_randomised column"
    # An export without any randomised row falls back to the truth file's marks.
    truth = pd.DataFrame({"is_pilot": [False, True, False]})
    flags, source = _pilot_flags(rows.assign(assignment_randomised=False), truth)
    assert flags.tolist() == [False, True, False] and source == "truth file"
