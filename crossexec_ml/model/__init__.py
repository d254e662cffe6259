"""The model: case features, the estimator of P(resolve) under each rung, and its files.

The estimator and its files load scikit-learn, so they are imported on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import Any

from crossexec_ml.model._features import (
    ASSET_COLUMNS,
    DERIVED_FEATURES,
    add_features,
    case_fingerprint,
    derived_features,
    hard_bone_flags,
    model_features,
    rung_of,
    stalled_cohort,
)

_LAZY: dict[str, str] = {
    "CARD_FILE": "_persistence",
    "CrossExecModel": "_estimator",
    "LOG_COLUMNS": "_estimator",
    "MODEL_FILE": "_persistence",
    "MODEL_FORMAT": "_persistence",
    "SPLINE_COLUMNS": "_estimator",
    "TRUSTED_TYPES": "_persistence",
    "load_model": "_persistence",
    "save_model": "_persistence",
    "training_rows": "_estimator",
}

__all__ = [
    "ASSET_COLUMNS",
    "CARD_FILE",
    "CrossExecModel",
    "DERIVED_FEATURES",
    "LOG_COLUMNS",
    "MODEL_FILE",
    "MODEL_FORMAT",
    "SPLINE_COLUMNS",
    "TRUSTED_TYPES",
    "add_features",
    "case_fingerprint",
    "derived_features",
    "hard_bone_flags",
    "load_model",
    "model_features",
    "rung_of",
    "save_model",
    "stalled_cohort",
    "training_rows",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"crossexec_ml.model.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'crossexec_ml.model' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
