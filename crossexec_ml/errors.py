"""Errors the command line turns into one clear sentence and exit code 1.

They live apart from the modules that raise them so the CLI can catch them without importing
scikit-learn for commands that never load a model.
"""

from __future__ import annotations

__all__ = ["ModelFileError", "PlanError", "TrainingDataError"]


class TrainingDataError(ValueError):
    """Historical rows cannot train the model (no outcomes, no treated rows, one class...)."""


class ModelFileError(Exception):
    """A model folder is missing, altered, or from another contract version."""


class PlanError(ValueError):
    """The ranked list, the handlers table or a setting cannot give a plan; says how to fix it."""
