"""crossexec_ml: rank stalled enforcement cases for cross-execution (交叉执行).

The tool ranks, explains and records; a person with authority decides. The public API:

- contract and settings: :func:`cases_contract`, :func:`handlers_contract`, ``RUNGS``,
  :class:`CohortSettings`, :class:`FlagSettings`, :class:`LadderSettings`,
  :class:`PrioritySettings`
- reading and writing: :func:`read_cases`, :func:`read_handlers`, :func:`validate_file`,
  :func:`write_table`
- synthetic data: :func:`make_cases`, :func:`load_sample`
- features: :func:`add_features`, :func:`hard_bone_flags`, :func:`stalled_cohort`
- the model: :class:`CrossExecModel`, :func:`save_model`, :func:`load_model`,
  :func:`suggest_rung`
- the list: :func:`rank_cases`, :func:`explain_cases`, :func:`checkup`
- the ledger: :class:`Ledger`
- fairness: :class:`FairnessSettings`, :func:`audit_saved`, :func:`audit_history`,
  :func:`fairness_summary`
- jobs: :func:`train`, :func:`score`, :func:`score_cases`, :func:`backtest`

Names are imported on first use (PEP 562), so ``import crossexec_ml`` and the CLI start
without loading scikit-learn until a model is needed.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "RUNGS": "schema",
    "CohortSettings": "schema",
    "FlagSettings": "schema",
    "cases_contract": "schema",
    "handlers_contract": "schema",
    "InputError": "io",
    "ValidationError": "io",
    "read_cases": "io",
    "read_handlers": "io",
    "validate_file": "io",
    "write_table": "io",
    "load_sample": "datasets",
    "make_cases": "datasets",
    "add_features": "features",
    "hard_bone_flags": "features",
    "stalled_cohort": "features",
    "LadderSettings": "ladder",
    "suggest_rung": "ladder",
    "CrossExecModel": "model",
    "load_model": "model",
    "save_model": "model",
    "BacktestSettings": "evaluate",
    "backtest": "evaluate",
    "PrioritySettings": "prioritise",
    "rank_cases": "prioritise",
    "explain_cases": "explain",
    "checkup": "checkup",
    "Ledger": "ledger",
    "FairnessSettings": "fairness",
    "audit_history": "fairness",
    "audit_saved": "fairness",
    "fairness_summary": "fairness",
    "score": "pipeline",
    "score_cases": "pipeline",
    "train": "pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"crossexec_ml.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'crossexec_ml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
