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

# %% [markdown]
# # 03 选择下一件交叉执行案件 · Pick the next case to reassign
#
# 对停滞案件评分、排序并提出接办人建议，然后用交互选案器筛选、查看全面体检表，
# 并把**由人作出**的决定（决定人、理由必填）记入动态台账。工具从不自行交叉执行任何案件。
#
# Scores, ranks and proposes new handlers, then the picker lets you filter, read each case's
# check-up sheet and record a decision **made by a person** (who and why are required) in the
# ledger. The tool never reassigns a case by itself.

# %%
# The model: `model_dir` if given, else notebook 02's ../models/latest, else the one `make demo`
# trains in ../reports/demo/model (crossexec_ml.apps.MODEL_PLACES), so the picker opens right
# after `make demo`. Without any, the page says so in place (Voilà hides exceptions).
from pathlib import Path

import plotly.io as pio
from IPython.display import HTML, display

from crossexec_ml import load_model, read_cases, read_handlers, score
from crossexec_ml.apps import CasePicker, find_model
from crossexec_ml.jobs import plan
from crossexec_ml.report import render
from crossexec_ml.text import t

pio.renderers.default = "plotly_mimetype+notebook"

# %% tags=["parameters"]
cases_path = "../data/sample/current.csv"
handlers_path = "../data/sample/handlers.csv"
model_dir = ""
out_dir = "../reports/notebooks"
ledger_path = "../var/ledger.sqlite"
lang = "zh"
top_n = 20

# %% [markdown]
# ## 1. 评分与接办建议 · Score and propose
#
# 评分结果写入 `out_dir/scored.parquet`，接办建议写入 `out_dir/plan.xlsx`（中文表头）。
# The scored list goes to `out_dir/scored.parquet`, the proposal to `out_dir/plan.xlsx`.

# %%
model = find_model(model_dir)
if model is None:
    display(
        HTML(
            render(
                "notice.html.j2",
                head=t("picker.no_model_head", lang),
                text=t("picker.no_model", lang),
            )
        )
    )
else:
    scored_path = Path(out_dir) / "scored.parquet"
    scored = score(
        model,
        cases_path,
        scored_path,
        ledger_path=ledger_path if Path(ledger_path).exists() else None,
    )
    proposal = plan(scored_path, handlers_path, Path(out_dir) / "plan.xlsx", model_dir=model)
    print(f"scored {len(scored)} cases; plan for {len(proposal)} candidates -> {out_dir}")

# %% [markdown]
# ## 2. 选案器 · The picker
#
# 筛选（法院、团队、案由、建议层级、五类骨头案、民生案件、标的额），调整本轮名额和增益口径；
# 点击图中的柱子或在下拉框中选择案件，查看全面体检表；填写决定人和理由后记录决定。
#
# Filter, set the capacity and gain weighting; click a bar or pick a case to see its check-up
# sheet; enter who decides and why, then record the decision.

# %%
if model is not None:
    _, card = load_model(model)  # the picker ranks under the policy the model was trained with
    picker = CasePicker(
        scored,
        read_cases(cases_path),
        handlers=read_handlers(handlers_path),
        plan=proposal,
        ledger_path=ledger_path,
        lang=lang,
        top_n=top_n,
        card=card,
    )
    display(picker.view)
