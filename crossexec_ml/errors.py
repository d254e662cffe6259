"""The refusals of the package: one base class, so the command line catches one thing.

Every error here carries one sentence a clerk or an operator can act on (what is wrong, where,
how to fix it). They live apart from the modules that raise them so the CLI can catch them
without importing scikit-learn for commands that never load a model.
"""

from __future__ import annotations

__all__ = [
    "CrossExecError",
    "InputError",
    "LedgerError",
    "ModelFileError",
    "PlanError",
    "TrainingDataError",
]


class CrossExecError(Exception):
    """Base of every refusal the package raises on purpose; its message is meant for a person."""


class InputError(CrossExecError):
    """An input file cannot be read at all (missing, empty, binary, wrong sheet...).

    The message is one sentence a clerk can act on.
    """


class TrainingDataError(CrossExecError, ValueError):
    """Historical rows cannot train the model (no outcomes, no treated rows, one class...)."""


class ModelFileError(CrossExecError):
    """A model folder is missing, altered, or from another contract version."""


class PlanError(CrossExecError, ValueError):
    """The ranked list, the handlers table or a setting cannot give a plan; says how to fix it."""


class LedgerError(CrossExecError):
    """The ledger refused something: bad input, a file that is not a ledger, a broken chain.

    The message says what is wrong and how to fix it; when it is raised, nothing was written.
    """
