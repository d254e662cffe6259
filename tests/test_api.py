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
