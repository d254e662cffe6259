"""crossexec_ml: rank stalled enforcement cases for cross-execution (交叉执行).

The tool ranks, explains and records; a person with authority decides. The public API:

- contract and settings: :func:`cases_contract`, :func:`handlers_contract`, ``RUNGS``,
  :class:`CohortSettings`, :class:`FlagSettings`, :class:`LadderSettings`,
  :class:`PrioritySettings`, :class:`ScoringPolicy` (all of them, saved in the model card),
  :class:`LedgerSettings`
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
    "RUNGS": "settings",
    "CohortSettings": "settings",
    "FlagSettings": "settings",
    "LedgerSettings": "settings",
    "ScoringPolicy": "settings",
    "cases_contract": "data",
    "handlers_contract": "data",
    "InputError": "errors",
    "ValidationError": "data",
    "read_cases": "data",
    "read_handlers": "data",
    "validate_file": "data",
    "write_table": "data",
    "load_sample": "data",
    "make_cases": "data",
    "add_features": "model",
    "hard_bone_flags": "model",
    "stalled_cohort": "model",
    "LadderSettings": "settings",
    "suggest_rung": "decide",
    "CrossExecModel": "model",
    "load_model": "model",
    "save_model": "model",
    "BacktestSettings": "settings",
    "backtest": "evaluate",
    "PrioritySettings": "settings",
    "rank_cases": "decide",
    "explain_cases": "decide",
    "checkup": "decide",
    "Ledger": "decide",
    "FairnessSettings": "settings",
    "audit_history": "evaluate",
    "audit_saved": "evaluate",
    "fairness_summary": "evaluate",
    "score": "jobs",
    "score_cases": "jobs",
    "train": "jobs",
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
