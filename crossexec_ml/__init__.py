"""crossexec_ml: rank stalled enforcement cases for cross-execution (交叉执行).

The tool ranks, explains and records; a person with authority decides. The public API:

- contract and settings: :func:`cases_contract`, :func:`handlers_contract`, ``RUNGS``,
  :class:`CohortSettings`, :class:`FlagSettings`, :class:`LadderSettings`
- reading and writing: :func:`read_cases`, :func:`read_handlers`, :func:`validate_file`,
  :func:`write_table`
- synthetic data: :func:`make_cases`, :func:`load_sample`
- features: :func:`add_features`, :func:`hard_bone_flags`, :func:`stalled_cohort`
- the model: :class:`CrossExecModel`, :func:`save_model`, :func:`load_model`,
  :func:`suggest_rung`
- jobs: :func:`train`, :func:`score`, :func:`score_cases`, :func:`backtest`
"""

__version__ = "0.1.0"

from crossexec_ml.datasets import load_sample, make_cases
from crossexec_ml.evaluate import BacktestSettings, backtest
from crossexec_ml.features import add_features, hard_bone_flags, stalled_cohort
from crossexec_ml.io import (
    InputError,
    ValidationError,
    read_cases,
    read_handlers,
    validate_file,
    write_table,
)
from crossexec_ml.ladder import LadderSettings, suggest_rung
from crossexec_ml.model import CrossExecModel, load_model, save_model
from crossexec_ml.pipeline import score, score_cases, train
from crossexec_ml.schema import (
    RUNGS,
    CohortSettings,
    FlagSettings,
    cases_contract,
    handlers_contract,
)

__all__ = [
    "RUNGS",
    "BacktestSettings",
    "CohortSettings",
    "CrossExecModel",
    "FlagSettings",
    "InputError",
    "LadderSettings",
    "ValidationError",
    "add_features",
    "backtest",
    "cases_contract",
    "handlers_contract",
    "hard_bone_flags",
    "load_model",
    "load_sample",
    "make_cases",
    "read_cases",
    "read_handlers",
    "save_model",
    "score",
    "score_cases",
    "stalled_cohort",
    "suggest_rung",
    "train",
    "validate_file",
    "write_table",
]
