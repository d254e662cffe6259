# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python (crossexec-ml)
#     language: python
#     name: crossexec-ml
# ---

# %%
# 04 The leader's workspace (served by `make dashboard`; see the README, "The leader's
# workspace"). The page is built by crossexec_ml.apps.Workspace: it reads the newest run under
# reports/rescore/ and the ledger var/ledger.sqlite when the page is opened. Empty parameters
# come from CROSSEXEC_RUNS, CROSSEXEC_LEDGER, CROSSEXEC_HANDLERS and CROSSEXEC_EXPORTS (set by
# `make dashboard RUNS=... LEDGER=...`), else those defaults. No developer text on the page:
# everything a leader reads comes from the catalogue.
from IPython.display import display

from crossexec_ml.apps import open_workspace

# %% tags=["parameters"]
runs_dir = ""
ledger_path = ""
handlers_path = ""
exports_dir = ""
lang = "zh"

# %%
workspace = open_workspace(runs_dir, ledger_path, handlers_path, exports_dir, lang=lang)
display(workspace.view)
