"""Model files: skops (never pickle), an explicit trusted-type list, a card that must match."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from crossexec_ml.data import cases_contract
from crossexec_ml.errors import ModelFileError
from crossexec_ml.model._estimator import CrossExecModel
from crossexec_ml.model._learners import _describe_learner

MODEL_FILE = "model.skops"


#: Version of the model's internal layout; bumped whenever a saved model from an earlier
#: layout could not be used by this code, so loading refuses it with a clear message.
MODEL_FORMAT = 5


CARD_FILE = "card.json"


#: Every non-builtin type a model file may contain, reviewed by hand. Loading refuses any file
#: that needs anything else (never ``trusted=True``). ``numpy.dtype`` is the one-hot encoder's
#: output dtype; ``BSpline`` and scipy's ``asarray`` alias are the spline transformer's state;
#: ``TreePredictor`` holds the boosted trees (baseline and ``s_boost``). The package's own
#: classes are named by where they are defined (a move changes the name, and MODEL_FORMAT must
#: then be bumped).
TRUSTED_TYPES: tuple[str, ...] = (
    "crossexec_ml.model._estimator.CrossExecModel",
    "crossexec_ml.settings.FlagSettings",
    "crossexec_ml.settings.SelectionSettings",
    "numpy.dtype",
    "scipy._lib.array_api_compat.numpy._aliases.asarray",
    "scipy.interpolate._bsplines.BSpline",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _expected_hash(value: str | None) -> str | None:
    """An expected SHA-256 or model_id, normalised (lower case), or a refusal saying why."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if len(text) not in (12, 64) or any(ch not in "0123456789abcdef" for ch in text):
        raise ModelFileError(
            f"expected model {value!r} is neither a SHA-256 (64 hex digits) nor a model_id "
            "(its first 12); copy it from the approved model's card.json"
        )
    return text


def save_model(model: CrossExecModel, model_dir: str | os.PathLike[str], card: dict) -> Path:
    """Write ``model.skops`` and ``card.json`` into ``model_dir``, each atomically.

    The card is also stored inside the model file, and the card on disk records the model
    file's SHA-256, so :func:`load_model` detects an edit to either.

    Parameters
    ----------
    model : CrossExecModel
        A fitted model.
    model_dir : path-like
        Folder (created if needed).
    card : dict
        JSON-serialisable model card (see :func:`crossexec_ml.jobs.train`).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    import skops.io as sio

    from crossexec_ml.data import atomic_path

    model._check_fitted()
    folder = Path(model_dir)
    # What was fitted and why is the model's to say: the learner, its description and the
    # truth-free evidence that chose it replace whatever the caller wrote there.
    # A card read back from a saved model names the old file's hash: the new file's replaces
    # it, and the copy inside the file never holds one (load_model compares them without).
    card = {k: v for k, v in card.items() if k not in ("model_sha256", "model_id")}
    card = {
        **card,
        "method": _describe_learner(model.learner_),
        "learner": model.learner_,
        "model_selection": model.selection_,
        "contract_version": cases_contract().version,
        "model_format": MODEL_FORMAT,
    }
    blob = sio.dumps({"model": model, "card": json.dumps(card, sort_keys=True)})
    card_on_disk = {**card, "model_sha256": _sha256(blob), "model_id": _sha256(blob)[:12]}
    with atomic_path(folder / MODEL_FILE) as tmp:
        tmp.write_bytes(blob)
    with atomic_path(folder / CARD_FILE) as tmp:
        tmp.write_text(json.dumps(card_on_disk, indent=2, ensure_ascii=False), encoding="utf-8")
    return folder


def load_model(
    model_dir: str | os.PathLike[str], expected_sha256: str | None = None
) -> tuple[CrossExecModel, dict]:
    """Load a model folder written by :func:`save_model`, refusing anything doubtful.

    The card's hash proves the model file and the card belong together, but both live in the
    same folder: whoever can rewrite one can rewrite both. ``expected_sha256`` is the check
    that does not rest on the folder: the hash recorded elsewhere (the approval record, the
    schedule's configuration) when the model was approved.

    Parameters
    ----------
    model_dir : path-like
        Folder with ``model.skops`` and ``card.json``.
    expected_sha256 : str, optional
        The approved model's SHA-256 (64 hex digits) or its ``model_id`` (the first 12);
        any case, surrounding spaces ignored. The model file must hash to it.

    Returns
    -------
    (CrossExecModel, dict)
        The model and its card (with ``model_id`` and ``model_sha256``).

    Raises
    ------
    ModelFileError
        Missing files, a model file whose hash differs from the card's (altered or swapped)
        or from ``expected_sha256``, a card edited after training, types outside
        :data:`TRUSTED_TYPES`, or a contract version other than this package's.
    """
    import skops.io as sio

    expected = _expected_hash(expected_sha256)
    folder = Path(model_dir)
    model_path, card_path = folder / MODEL_FILE, folder / CARD_FILE
    if not folder.is_dir():
        raise ModelFileError(f"{folder}: no such model folder; train one with `crossexec train`")
    for p in (model_path, card_path):
        if not p.is_file():
            raise ModelFileError(f"{folder}: {p.name} is missing; retrain with `crossexec train`")
    blob = model_path.read_bytes()
    actual = _sha256(blob)
    if expected is not None and actual[: len(expected)] != expected:
        raise ModelFileError(
            f"{model_path}: the model file's SHA-256 is {actual} (model_id {actual[:12]}), not "
            f"the expected {expected}: this is not the approved model; do not use it, restore "
            "the approved model folder or pass the hash of the model you mean to use"
        )
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{card_path}: not a readable model card ({exc})") from None
    if _sha256(blob) != card.get("model_sha256"):
        raise ModelFileError(
            f"{model_path}: the file does not match the SHA-256 in its card: it was altered "
            "or replaced after training; do not use it, retrain with `crossexec train`"
        )
    # model_id is shown on every page and recorded with every decision: it is the hash's
    # first 12 digits, never free text, so an edited card cannot put anything else there.
    if card.get("model_id") != _sha256(blob)[:12]:
        raise ModelFileError(
            f"{card_path}: model_id is not the first 12 digits of the model file's SHA-256 "
            "(the card was edited); restore the card or retrain with `crossexec train`"
        )
    if card.get("model_format") != MODEL_FORMAT:
        raise ModelFileError(
            f"{folder}: the model was saved by an earlier version of crossexec_ml (model format "
            f"{card.get('model_format', 'unknown')}, this version reads {MODEL_FORMAT}); retrain "
            "it with `crossexec train`"
        )
    try:
        untrusted = sio.get_untrusted_types(data=blob)
        unknown = sorted(set(untrusted) - set(TRUSTED_TYPES))
        if unknown:
            raise ModelFileError(
                f"{model_path}: refusing to load types outside the reviewed list: "
                + ", ".join(unknown)
            )
        payload = sio.loads(blob, trusted=list(untrusted))
    except ModelFileError:
        raise
    except Exception as exc:  # skops raises many types on a damaged file
        raise ModelFileError(f"{model_path}: not a readable model file ({exc})") from None
    inner = json.loads(payload["card"])
    stored = {k: v for k, v in card.items() if k not in ("model_sha256", "model_id")}
    if inner != stored:
        raise ModelFileError(
            f"{card_path}: the card was edited after training (it differs from the copy "
            "inside the model file); restore it or retrain"
        )
    version = cases_contract().version
    if card.get("contract_version") != version:
        raise ModelFileError(
            f"{folder}: the model was trained under data contract version "
            f"{card.get('contract_version')}, this package uses {version}; retrain it on "
            "data that follows the current contract"
        )
    model = payload["model"]
    if not isinstance(model, CrossExecModel):
        raise ModelFileError(f"{model_path}: does not hold a CrossExecModel")
    return model, card
