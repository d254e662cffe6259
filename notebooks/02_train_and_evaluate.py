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
# # 02 训练与评估 · Train and evaluate
#
# 用历史案件训练模型：估计每个停滞案件在维持原承办、团队内交叉、团队间交叉、提级或指令执行
# 四种方式下180天内化解的概率。评估只按时间滚动回测（用更早的案件训练，在之后三个月检验），
# 绝不随机拆分。模型只排序和解释，由有权限的人作决定。
#
# Train the model on historical cases: for every stalled case, the probability of resolution
# within 180 days if kept, reassigned within the team, to another team, or sent to the higher
# court. Evaluation rolls forward in time (train on older cases, test on the next three
# months), never a random split. The model ranks and explains; a person with authority decides.

# %%
from pathlib import Path

import plotly.io as pio

from crossexec_ml import load_model, read_cases, report, train
from crossexec_ml.jobs import evaluate_saved

# Figures must survive conversion to HTML (NOTEBOOK_NOTES.md, plotly#5365).
pio.renderers.default = "plotly_mimetype+notebook"

# %% tags=["parameters"]
history_path = "../data/sample/history.csv"
truth_path = "../data/sample/truth.csv"
model_dir = "../models/latest"
seed = 0
lang = "zh"

# %% [markdown]
# ## 1. 训练 · Train
#
# 校验历史数据，滚动回测，再用全部行拟合，写入 `model.skops` 和模型卡 `card.json`。
#
# Validate the history, back-test over time, fit on all rows, write `model.skops` and the model
# card `card.json`.

# %%
card = train(history_path, model_dir, seed=seed, progress=False)
print(
    f"model {card['model_id']}: {card['training_data']['rows']} rows, "
    f"{card['training_data']['as_of_min']} .. {card['training_data']['as_of_max']}"
)

# %% [markdown]
# ## 2. 时间回测 · Rolling back-test
#
# 每个窗口：训练行数、测试行数、AUC、PR AUC、Brier、校准误差（ECE）、按处置能力 k（10%）
# 计算的精确率和召回率。
#
# Per window: training and test rows, AUC, PR AUC, Brier score, calibration error (ECE),
# precision and recall at capacity k (10%).

# %%
report.backtest_table(card["metrics"]["windows"])

# %%
report.backtest_windows_plot(card["metrics"]["windows"], lang=lang)

# %% [markdown]
# ## 3. 校准、Qini 与名单价值 · Calibration, Qini and policy value
#
# 用已保存模型的参数重跑回测；给了真值文件（合成数据）时还计算可达上限、随机试点案件上的
# Qini 曲线，以及前 k 名单相对"最优名单"的额外化解比例，并与现行做法（停滞最久优先、标的额
# 最大优先、骨头案最多优先、随机）比较。`truth_path = ""` 时跳过这些部分。
#
# The saved model's method is back-tested again. With the truth file (synthetic data) this adds
# the Bayes limit, the Qini curve on the randomised pilot cases, and the share of the oracle's
# extra resolutions each top-k list reaches, against today's practice (longest idle first,
# largest amount first, most hard-bone flags first, random). With `truth_path = ""` these parts
# are skipped.

# %%
evaluation = evaluate_saved(model_dir, history_path, truth_path=truth_path or None)
result = evaluation["backtest"]

# %% [markdown]
# 点在对角线上表示预测概率与实际化解率一致。
#
# Points on the diagonal mean the predicted probability matches the observed rate.

# %%
report.calibration_plot(result["calibration"], lang=lang)

# %% [markdown]
# 曲线高于随机线越多，按模型增益排序挑出的案件交叉后多化解得越多。
#
# The higher the curve above the random line, the more extra resolutions the cases picked by
# the model's gain bring when reassigned.

# %%
report.qini_plot(result.get("qini"), lang=lang)

# %%
report.policy_table(result["pooled"])

# %%
report.policy_value_plot(result["pooled"], lang=lang)

# %% [markdown]
# ## 4. 什么影响排序 · What drives the score
#
# 名单按"最大可得增益"排序。逐一打乱每项案件事实，看增益平均变化多少（百分点）；
# 模型不用的事实变化为 0。这是整体图景；单个案件的理由见排序理由（`explain_cases`）。
#
# The list is ranked by the best allowed gain. Each case fact is shuffled in turn and the mean
# change of the gain is measured (percentage points); a fact the model ignores scores 0. This is
# the overall picture; why one case ranks where it does is in its reasons (`explain_cases`).

# %%
model, _ = load_model(model_dir)
drivers = report.gain_drivers(model, read_cases(history_path), seed=seed)
report.importance_plot(drivers, lang=lang)

# %% [markdown]
# ## 5. 模型保存位置 · Where the model is
#
# 03 及之后的笔记本（挑选下一个案件、领导看板、定期重新评分、公平性审查）读取
# `../models/latest`。
#
# Notebooks 03 onwards (pick the next case, leadership dashboard, scheduled re-scoring,
# fairness audit) read `../models/latest`.

# %%
print(f"model saved in {Path(model_dir).resolve()}")
