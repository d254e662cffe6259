"""Default places on disk, relative to the folder a command runs in.

Generated things live in ignored folders, never in git: models under ``models/``, lists and
reports under ``reports/``, the decision ledger under ``var/``. Every command takes an explicit
path too; these are only the defaults it falls back on.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_LEDGER_PATH", "MODELS_DIR", "REPORTS_DIR"]

#: The append-only decision ledger (SQLite) used when no ``--ledger`` is given.
DEFAULT_LEDGER_PATH = Path("var") / "ledger.sqlite"
#: Trained models (``crossexec train --out models/<name>``; notebook 02 writes ``models/latest``).
MODELS_DIR = Path("models")
#: Scored lists, plans, cards and scheduled runs.
REPORTS_DIR = Path("reports")
