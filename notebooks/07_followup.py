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
# # 07 决定跟踪、探索区间与模型比较 · Follow-up, exploration and champion/challenger
#
# 工具记录了谁、依据哪版模型和分数作出了什么决定；本笔记本把后来的结果带回来：领导交叉执行的
# 案件后来化解了吗？模型说的 40% 是不是真的 40%？新训练的模型在本院自己的案件上是否更好？
# 全部在样例数据上演示，**决定是模拟的**（一位按名单建议行事的"模拟领导"，写入单独的演示台账），
# 半年后的结果由生成器按真实概率抽取。真实使用时，台账来自领导的决定，结果来自法院后来的导出
# （`crossexec followup --ledger … --cases 后来的导出 --out 跟踪.xlsx`）。
#
# The ledger records who decided what, on which model and scores; this notebook brings the
# outcomes back: did the reassigned cases resolve, did the model's 40% mean 40%, is a retrained
# model better on this court's own cases? Shown on the sample with **simulated decisions** (a
# simulated leader who follows the list, in a separate demo ledger) and a half-year drawn by the
# generator from its truth. In real use the ledger holds leaders' decisions and the outcomes
# come from the court's later export (`crossexec followup`).

# %%
import tempfile
from pathlib import Path

import plotly.io as pio
from IPython.display import HTML, Markdown, display

from crossexec_ml import data, decide, evaluate, jobs, report
from crossexec_ml.model import CrossExecModel

# Figures must survive conversion to HTML (NOTEBOOK_NOTES.md, plotly#5365).
pio.renderers.default = "plotly_mimetype+notebook"

# %% tags=["parameters"]
history_path = "../data/sample/history.csv"
current_path = "../data/sample/current.csv"
truth_path = "../data/sample/truth.csv"
out_dir = "../reports/followup_demo"
explore = 0.2
seed = 0
cutoff = "2025-06-30"
lang = "zh"

# %% [markdown]
# ## 1. 名单与探索区间 · The list with an exploration band
#
# 在容量线附近，名单上的增益彼此相差无几；探索区间在线上、线下各取 `round(0.2 × k)` 件，随机抽
# 一半列入建议（概率恰为 1/2，并记入名单和台账），区间外的案件一个不变，由人逐案决定。这样日后
# 才能无偏地检验模型。
#
# Near the capacity cut the list's gains are within noise of each other: the band takes
# `round(0.2 × k)` cases on each side of the cut and draws half of them into the proposal
# (probability exactly 1/2, recorded in the list and the ledger); nothing outside the band
# moves, and a person decides every case. This is what later gives an unbiased test.

# %%
history = data.read_cases(history_path)
current = data.read_cases(current_path)
truth = data.read_truth(truth_path)
model = CrossExecModel(learner="s_linear_0.2").fit(history)
scored = jobs.score_cases(model, current, model_id="demo", explore=explore, explore_seed=seed)
in_band, drawn = decide.band_counts(scored)
print(
    f"候选 candidates: {int(scored['candidate'].sum())}; "
    f"探索区间 band: {in_band}, 抽中 drawn in: {drawn}"
)

# %% [markdown]
# ## 2. 模拟决定与半年后的结果 · Simulated decisions and the half-year after
#
# 模拟领导对每件建议案件按建议层级作出决定（写入新的演示台账，绝不写入真实台账）；生成器按
# 真实概率抽取每件案件半年后的结果。
#
# The simulated leader puts every proposed case on its suggested rung (in a new demo ledger,
# never a real one); the generator draws each case's outcome over the next half-year.

# %%
Path(out_dir).mkdir(parents=True, exist_ok=True)
ledger_path = str(Path(tempfile.mkdtemp(prefix="ledger-", dir=out_dir)) / "demo.sqlite")
n_decided = evaluate.simulate_decisions(scored, ledger_path)
later = evaluate.ledger_half_year(ledger_path, current, truth, scored=scored, seed=seed)
print(f"模拟决定 simulated decisions: {n_decided} -> {ledger_path}")

# %% [markdown]
# ## 3. 决定跟踪 · Follow-up
#
# 按层级、决定、法院、团队和月份统计（从不按承办人）：实际化解率（终本不计）与决定时模型预测的
# 化解率对比，附 95% 区间。预测落在区间外，说明模型在本院需要重新校准。
#
# By rung, decision, court, team and month (never per handler): the realised resolution rate
# (终本 never counts) against the rate the model predicted when the decision was made, with its
# 95% interval. A prediction outside the interval says the model needs recalibrating here.

# %%
result = evaluate.follow_up_ledger(ledger_path, later)
tables = report.followup_tables(result, lang)
for title in list(tables)[:2]:  # by decision and by rung; the workbook has every cut
    display(Markdown(f"**{title}**"))
    display(HTML(report.table_html(tables[title], lang)))
report.followup_plot(result, "rung", lang).show()
report.write_followup(result, Path(out_dir) / "followup.xlsx", lang=lang)

# %% [markdown]
# ## 4. 现用模型与挑战者 · Champion and challenger
#
# 只用随机分配层级的案件（试点或探索区间）比较两个模型的名单：若按各自名单执行，化解率各是多少。
# 两个模型都只用 `cutoff` 之前的案件训练，在之后的随机案件上比较；区间不含 0 才下结论。
#
# Two models' lists compared on the randomised cases only (a pilot or the band): the resolution
# rate had each list been followed. Both are trained on cases before `cutoff` and compared on
# the randomised cases after it; a verdict only when the interval excludes 0.

# %%
dates = history["as_of_date"]
early, late = history[dates <= cutoff], history[dates > cutoff]
champion = CrossExecModel(learner="s_linear_0.2").fit(early)
challenger = CrossExecModel(learner="t_linear").fit(early)
comparison = evaluate.compare_models(
    late, champion.predict_rungs, challenger.predict_rungs, names=("s_linear_0.2", "t_linear")
)
print(f"随机案件 randomised cases: {comparison.n_randomised}")
display(HTML(report.table_html(report.comparison_table(comparison, lang), lang)))

# %% [markdown]
# 其余案件的层级由人选定（非随机）。下表用模型选择所用的无真值标准比较两个模型：按实际层级的
# 预测对数损失，以及用“选了哪个层级”的推算概率加权的名单化解率。证据弱于随机案件，仅作参考。
#
# The rest of the cases had their rung chosen by a person. They are judged by the truth-free
# criteria the model is chosen by: log-loss under the rung taken, and the list's value weighted
# by an estimated propensity. Weaker evidence than the randomised cases, shown beside them.

# %%
display(Markdown(report.observed_note(comparison, lang)))
display(HTML(report.table_html(report.observed_table(comparison, lang), lang)))
