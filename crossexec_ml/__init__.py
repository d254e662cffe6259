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
    "RUNGS": "data._contract",
    "CohortSettings": "data._contract",
    "FlagSettings": "data._contract",
    "cases_contract": "data._contract",
    "handlers_contract": "data._contract",
    "InputError": "data._io",
    "ValidationError": "data._io",
    "read_cases": "data._io",
    "read_handlers": "data._io",
    "validate_file": "data._io",
    "write_table": "data._io",
    "load_sample": "data._synthetic",
    "make_cases": "data._synthetic",
    "add_features": "model._features",
    "hard_bone_flags": "model._features",
    "stalled_cohort": "model._features",
    "LadderSettings": "decide._policy",
    "suggest_rung": "decide._policy",
    "CrossExecModel": "model._estimator",
    "load_model": "model._estimator",
    "save_model": "model._estimator",
    "BacktestSettings": "evaluate._backtest",
    "backtest": "evaluate._backtest",
    "PrioritySettings": "decide._priority",
    "rank_cases": "decide._priority",
    "explain_cases": "decide._explain",
    "checkup": "decide._checkup",
    "Ledger": "decide._ledger",
    "FairnessSettings": "evaluate._fairness",
    "audit_history": "evaluate._fairness",
    "audit_saved": "evaluate._fairness",
    "fairness_summary": "evaluate._fairness",
    "score": "jobs._pipeline",
    "score_cases": "jobs._pipeline",
    "train": "jobs._pipeline",
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
