"""The resolution model: shapes, determinism, gaps, bad training data, safe model files."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from crossexec_ml.data import cases_contract, make_cases
from crossexec_ml.errors import ModelFileError, TrainingDataError
from crossexec_ml.model import (
    CARD_FILE,
    MODEL_FILE,
    MODEL_FORMAT,
    CrossExecModel,
    derived_features,
    load_model,
    save_model,
)
from crossexec_ml.settings import PROB_COLUMNS

SMALL: dict = {}  # the model is fast enough to test with its defaults


@pytest.fixture(scope="module")
def data():
    return make_cases(n_history=2500, n_current=300, seed=5)


@pytest.fixture(scope="module")
def fitted(data):
    return CrossExecModel(**SMALL).fit(data.history)


def test_shapes_and_ranges(fitted, data):
    p = fitted.predict_rungs(data.current)
    assert list(p.columns) == list(PROB_COLUMNS)
    assert p.index.equals(data.current.index)
    assert ((p > 0) & (p < 1)).all().all()
    assert fitted.n_rows_ == 2500


def test_learns_the_direction_of_the_truth(fitted, data):
    # on the current cases the model ranks by p_keep much like the truth does
    p = fitted.predict_rungs(data.current)
    truth = data.truth.iloc[len(data.history) :].reset_index(drop=True)
    corr = np.corrcoef(p["p_keep"], truth["p_keep"])[0, 1]
    assert corr > 0.6


def test_precomputed_derived_features_give_the_same_scores(fitted, data):
    cases = data.current
    derived = derived_features(cases, fitted.flag_settings)
    pd.testing.assert_frame_equal(
        fitted.predict_rungs(cases, derived=derived), fitted.predict_rungs(cases)
    )
    with pytest.raises(ValueError, match="same index"):
        fitted.predict_rungs(cases, derived=derived.reset_index(drop=True).iloc[::-1])


def test_deterministic(data):
    a = CrossExecModel(**SMALL, random_state=3).fit(data.history).predict_rungs(data.current)
    b = CrossExecModel(**SMALL, random_state=3).fit(data.history).predict_rungs(data.current)
    pd.testing.assert_frame_equal(a, b)


def test_works_without_optional_columns(data):
    contract = cases_contract()
    optional = [
        c
        for c in contract.by_role("feature")
        if not contract.columns[c].required and c != "ladder_stage"
    ]
    hist, cur = data.history.copy(), data.current.copy()
    for frame in (hist, cur):
        for c in optional:
            frame[c] = frame[c].where(pd.Series(False, index=frame.index))
    p = CrossExecModel(**SMALL).fit(hist).predict_rungs(cur)
    assert p.notna().all().all()


def test_unseen_category_is_scored(fitted, data):
    cur = data.current.head(5).copy()
    cur["debtor_status"] = pd.Categorical(
        ["deceased"] * 5, categories=cur["debtor_status"].cat.categories
    )
    cur["cause_category"] = pd.Categorical(
        ["criminal_property"] * 5, categories=cur["cause_category"].cat.categories
    )
    assert fitted.predict_rungs(cur).notna().all().all()


def test_treatment_and_outcome_columns_are_ignored_when_scoring(fitted, data):
    hist = data.history.head(50)
    blanked = hist.copy()
    blanked["resolved_180d"] = pd.array([pd.NA] * 50, dtype="boolean")
    blanked["cross_mode"] = pd.Categorical(
        ["elevated"] * 50, categories=hist["cross_mode"].cat.categories
    )
    pd.testing.assert_frame_equal(fitted.predict_rungs(hist), fitted.predict_rungs(blanked))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: h.drop(columns=["resolved_180d"]), "resolved_180d (180日内化解)"),
        (
            lambda h: h.assign(cross_mode=pd.Categorical([None] * len(h), categories=["none"])),
            "cross_mode",
        ),
        (lambda h: h[h["cross_mode"] == "none"], "no historical row was cross-executed"),
        (lambda h: h[h["cross_mode"] != "none"], "no historical row was kept"),
        (
            lambda h: h.assign(resolved_180d=pd.array([False] * len(h), dtype="boolean")),
            "every historical outcome",
        ),
    ],
)
def test_unusable_training_data(data, change, message):
    with pytest.raises(TrainingDataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        CrossExecModel(**SMALL).fit(change(data.history))


def test_predict_before_fit_is_a_clear_error(data):
    with pytest.raises(RuntimeError, match="not fitted"):
        CrossExecModel().predict_rungs(data.current)


# ---------------------------------------------------------------- model files


@pytest.fixture
def saved(tmp_path, fitted):
    save_model(fitted, tmp_path / "m", {"note": "test"})
    return tmp_path / "m"


def test_round_trip(saved, fitted, data):
    model, card = load_model(saved)
    pd.testing.assert_frame_equal(
        model.predict_rungs(data.current), fitted.predict_rungs(data.current)
    )
    assert card["note"] == "test"
    assert card["contract_version"] == cases_contract().version
    assert len(card["model_id"]) == 12


def test_a_loaded_card_saves_again_into_a_folder_that_loads(saved, tmp_path):
    # Re-saving a model with the card load_model gave (it names the old file's hash) must
    # write a folder load_model accepts, stamped with the new file's hash.
    model, card = load_model(saved)
    save_model(model, tmp_path / "again", {**card, "note": "re-saved"})
    _, again = load_model(tmp_path / "again")
    assert again["note"] == "re-saved"
    on_disk = (tmp_path / "again" / MODEL_FILE).read_bytes()
    assert again["model_sha256"] == hashlib.sha256(on_disk).hexdigest()
    assert again["model_id"] == again["model_sha256"][:12]


def test_altered_model_file_refused(saved):
    blob = bytearray((saved / MODEL_FILE).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (saved / MODEL_FILE).write_bytes(bytes(blob))
    with pytest.raises(ModelFileError, match="altered or replaced"):
        load_model(saved)


def test_edited_card_refused(saved):
    card = json.loads((saved / CARD_FILE).read_text())
    card["note"] = "better numbers"
    (saved / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="card was edited"):
        load_model(saved)


def test_other_contract_version_refused(tmp_path, fitted, monkeypatch):
    save_model(fitted, tmp_path / "m", {})
    import crossexec_ml.model._persistence as model_module

    class Other:
        version = "000000000000"

    monkeypatch.setattr(model_module, "cases_contract", lambda: Other())
    with pytest.raises(ModelFileError, match="contract version"):
        load_model(tmp_path / "m")


def test_untrusted_types_refused(tmp_path):
    # A file that hashes correctly but carries a type outside the reviewed list.
    from fractions import Fraction

    folder = tmp_path / "m"
    folder.mkdir()
    blob = sio.dumps({"model": Fraction(1, 3), "card": "{}"})
    (folder / MODEL_FILE).write_bytes(blob)
    import hashlib

    sha = hashlib.sha256(blob).hexdigest()
    card = {"model_sha256": sha, "model_id": sha[:12], "model_format": MODEL_FORMAT}
    (folder / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="outside the reviewed list: fractions.Fraction"):
        load_model(folder)


@pytest.mark.parametrize("missing", [None, MODEL_FILE, CARD_FILE])
def test_missing_folder_or_file(tmp_path, saved, missing):
    if missing is None:
        target = tmp_path / "nowhere"
        match = "no such model folder"
    else:
        (saved / missing).unlink()
        target, match = saved, f"{missing} is missing"
    with pytest.raises(ModelFileError, match=match):
        load_model(target)


@pytest.mark.parametrize("earlier", [1, 3])  # 3: saved before the package moved into rooms
def test_model_from_an_earlier_format_refused(tmp_path, fitted, earlier):
    import hashlib

    save_model(fitted, tmp_path / "m", {})
    card = json.loads((tmp_path / "m" / CARD_FILE).read_text())
    card["model_format"] = earlier
    (tmp_path / "m" / CARD_FILE).write_text(json.dumps(card))
    assert (
        card["model_sha256"]
        == hashlib.sha256((tmp_path / "m" / MODEL_FILE).read_bytes()).hexdigest()
    )
    with pytest.raises(ModelFileError, match="earlier version of crossexec_ml") as err:
        load_model(tmp_path / "m")
    assert "crossexec train" in str(err.value)


def test_trusted_types_name_where_the_package_classes_live():
    from crossexec_ml.model import TRUSTED_TYPES, CrossExecModel
    from crossexec_ml.settings import FlagSettings

    for cls in (CrossExecModel, FlagSettings):
        assert f"{cls.__module__}.{cls.__qualname__}" in TRUSTED_TYPES


@pytest.mark.parametrize("model_id", ["<script>alert(1)</script>", "abc", None])
def test_model_id_must_be_the_hash_prefix(tmp_path, fitted, model_id):
    # Step 2 item 9: model_id was free text; a script in card.json ran in the dashboard.
    save_model(fitted, tmp_path / "m", {})
    card = json.loads((tmp_path / "m" / CARD_FILE).read_text())
    assert card["model_id"] == card["model_sha256"][:12]
    card["model_id"] = model_id
    (tmp_path / "m" / CARD_FILE).write_text(json.dumps(card))
    with pytest.raises(ModelFileError, match="model_id is not"):
        load_model(tmp_path / "m")


# ---------------------------------------------------------------- the approved model's hash


def test_expected_hash_refuses_a_rewritten_model_with_a_recomputed_card(tmp_path, fitted, data):
    # Step 2 "also seen": the card's hash lives in the same folder as the model, so a model
    # rewritten together with its card was accepted. The hash recorded at approval is not.
    import hashlib

    save_model(fitted, tmp_path / "m", {"note": "approved"})
    approved = json.loads((tmp_path / "m" / CARD_FILE).read_text())["model_sha256"]
    _, card = load_model(tmp_path / "m", expected_sha256=approved)
    assert card["model_sha256"] == approved
    _, card = load_model(tmp_path / "m", expected_sha256=f"  {approved[:12].upper()} ")
    assert card["model_id"] == approved[:12]

    other = CrossExecModel(**SMALL).fit(data.history.iloc[:1500])
    save_model(other, tmp_path / "m", {"note": "approved"})  # card recomputed with it
    swapped = hashlib.sha256((tmp_path / "m" / MODEL_FILE).read_bytes()).hexdigest()
    assert swapped != approved
    load_model(tmp_path / "m")  # the folder alone cannot tell
    for expected in (approved, approved[:12]):
        with pytest.raises(ModelFileError, match="not the approved model") as err:
            load_model(tmp_path / "m", expected_sha256=expected)
        assert swapped in str(err.value) and expected in str(err.value)


@pytest.mark.parametrize("expected", ["abc", "z" * 12, "0" * 40, ""])
def test_expected_hash_must_be_a_sha256_or_a_model_id(saved, expected):
    with pytest.raises(ModelFileError, match="neither a SHA-256"):
        load_model(saved, expected_sha256=expected)
