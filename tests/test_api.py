"""The public API: every name in __all__ resolves; importing the package stays light."""

from __future__ import annotations

import subprocess
import sys

import crossexec_ml


def test_every_exported_name_resolves():
    for name in crossexec_ml.__all__:
        assert getattr(crossexec_ml, name) is not None


def test_import_does_not_load_sklearn():
    code = "import sys, crossexec_ml; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_refusal_shares_one_base_and_the_cli_catches_it(capsys):
    from crossexec_ml import errors
    from crossexec_ml.cli import main
    from crossexec_ml.data import ValidationError
    from crossexec_ml.jobs import PartitionError

    refusals = [getattr(errors, n) for n in errors.__all__] + [ValidationError, PartitionError]
    assert all(issubclass(e, errors.CrossExecError) for e in refusals)
    # a refusal raised deep inside a command is one sentence and exit 1, not a traceback
    assert main(["ledger", "export", "--ledger", "/nonexistent/ledger.sqlite"]) == 1
    assert capsys.readouterr().err.startswith("error: ")
