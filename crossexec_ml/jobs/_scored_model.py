"""Which model a scored list came from, checked before a plan is made from it."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from crossexec_ml.errors import InputError
from crossexec_ml.model import load_model


def scored_model_card(
    scored: pd.DataFrame,
    scored_path: str | os.PathLike[str],
    model_dir: str | os.PathLike[str] | None,
    expected_sha256: str | None = None,
) -> dict | None:
    """The card of the model a scored list must come from, after checking that it does.

    Parameters
    ----------
    scored : pandas.DataFrame
        The scored list (:func:`crossexec_ml.data.read_scored`), with ``model_id``.
    scored_path : path-like
        Its file, named in messages.
    model_dir : path-like, optional
        The model the list must come from; ``None``: only one model is required.
    expected_sha256 : str, optional
        The approved model's SHA-256 or model_id (see :func:`crossexec_ml.model.load_model`).

    Returns
    -------
    dict or None
        The model's card (``None`` without ``model_dir``).

    Raises
    ------
    InputError
        Rows from several models, or from another model than ``model_dir``'s; an expected
        hash without ``model_dir``.
    ModelFileError
        A refused model folder (altered, or not the expected hash).
    """
    name = Path(scored_path).name
    ids = scored["model_id"].dropna().unique()
    if len(ids) > 1:
        raise InputError(
            f"{name}: rows from several models ({', '.join(map(str, ids))}); "
            "score the whole list again with one model"
        )
    if model_dir is None:
        if expected_sha256 is not None:
            raise InputError(
                "the expected model hash is checked against a model folder: give the model "
                "folder too (--model MODEL_DIR)"
            )
        return None
    _, card = load_model(model_dir, expected_sha256)
    if len(ids) and ids[0] != card["model_id"]:
        raise InputError(
            f"{name} was scored by model {ids[0]}, not by {card['model_id']} in {model_dir}; "
            "score the cases again with this model"
        )
    return card
