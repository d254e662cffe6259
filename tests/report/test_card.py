"""The model card for filing: ``crossexec card MODEL_DIR --out card.html``."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from markupsafe import escape

from crossexec_ml.cli import main
from crossexec_ml.errors import InputError, ModelFileError
from crossexec_ml.jobs import train
from crossexec_ml.model import load_model
from crossexec_ml.report import KNOWN_LIMITS, MUST_NOT, card_html, write_card
from tests.conftest import REPO, sample_audit

SAMPLE = REPO / "data" / "sample"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("card") / "model"
    train(SAMPLE / "history.csv", folder, progress=False)
    return folder


def test_card_has_every_section_and_the_models_own_figures(model_dir, tmp_path):
    out = tmp_path / "card.html"
    assert main(["card", str(model_dir), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    _, card = load_model(model_dir)
    for heading in (
        "Intended use",
        "Must never be used for",
        "Training data",
        "Rolling temporal back-test",
        "Calibration",
        "Fairness",
        "Known limits",
        "Versions and hashes",
    ):
        assert heading in page, heading
    for zh, en in (*MUST_NOT, *KNOWN_LIMITS):
        assert zh in page and str(escape(en)) in page  # Jinja's autoescape: ' is &#39;
    assert card["model_id"] in page and card["model_sha256"] in page
    assert card["training_data"]["sha256"] in page
    assert f"{card['metrics']['pooled']['auc']:.3f}" in page
    calibration = card["metrics"]["calibration"]
    assert len(calibration) == 10
    for row in calibration:
        assert f"<td>{row['mean_predicted']:.3f}</td><td>{row['observed_rate']:.3f}</td>" in page
    assert "No fairness audit attached" in page  # said, not invented
    window = card["metrics"]["windows"][0]
    assert f"<td>{window['n_train']:,}</td>" in page  # counts shown as counts


def test_card_shows_the_learner_chosen_its_evidence_and_each_rungs_calibration(model_dir):
    from crossexec_ml.settings import LEARNERS
    from crossexec_ml.text import t_pair

    _, card = load_model(model_dir)
    sel = card["model_selection"]
    page = card_html(card)
    assert card["learner"] == sel["chosen"] in LEARNERS
    assert "How the learner was chosen" in page and f"▶ {sel['chosen']}" in page
    assert t_pair(f"card.selection.{sel['reason']}")[0] in page
    for c in sel["candidates"]:  # every candidate with its DR value and standard error
        assert f"{c['dr_gain_per_case']:.3f} ± {c['dr_se']:.3f}" in page
    assert "Each rung calibrated on" in page
    window = card["metrics"]["windows"][0]
    assert f"<td>{window['ece_intra_team']:.3f}</td>" in page
    # The pilot rows of the export are found (the card no longer says there are none).
    n_pilot = card["metrics"]["pilot"]["n_pilot"]
    assert n_pilot > 0 and "No randomised" not in page
    assert f"randomised rows in the test windows</td><td>{n_pilot:,}</td>" in page


def test_card_includes_the_fairness_audit_and_says_when_it_is_of_another_model(model_dir, tmp_path):
    doc_path = sample_audit(model_dir, tmp_path / "fairness.json")
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    out = write_card(model_dir, tmp_path / "card.html", fairness_path=doc_path)
    page = out.read_text(encoding="utf-8")
    assert "No fairness audit attached" not in page
    assert "fairness-summary" in page and "公平性审查" in page
    assert "of another model" not in page and "不是本模型" not in page
    doc["summary"]["model_id"] = "000000000000"
    page = card_html(load_model(model_dir)[1], doc)
    assert "不是本模型" in page and "000000000000" in page


def test_card_is_self_contained_and_escapes_what_it_shows(model_dir):
    _, card = load_model(model_dir)
    card = {**card, "training_data": {**card["training_data"], "file": "<script>x()</script>.csv"}}
    page = card_html(card)
    assert "<script" not in page
    assert "&lt;script&gt;x()&lt;/script&gt;.csv" in page
    assert not re.search(r"(src|href)=\"https?://", page)


def test_card_refuses_an_altered_model_and_bad_arguments(model_dir, tmp_path, capsys):
    altered = tmp_path / "altered"
    shutil.copytree(model_dir, altered)
    card = json.loads((altered / "card.json").read_text(encoding="utf-8"))
    card["metrics"]["pooled"]["auc"] = 0.99
    (altered / "card.json").write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(ModelFileError, match="edited after training"):
        write_card(altered, tmp_path / "card.html")
    assert main(["card", str(altered), "--out", str(tmp_path / "c.html")]) == 1
    assert "edited after training" in capsys.readouterr().err
    assert not (tmp_path / "card.html").exists() and not (tmp_path / "c.html").exists()
    with pytest.raises(InputError, match=r"\.html"):
        write_card(model_dir, tmp_path / "card.pdf")
    with pytest.raises(InputError, match="no such file"):
        write_card(model_dir, tmp_path / "card.html", fairness_path=tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not a JSON file"):
        write_card(model_dir, tmp_path / "card.html", fairness_path=tmp_path / "bad.json")
    assert not (tmp_path / "card.html").exists()
