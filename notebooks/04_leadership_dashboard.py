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
# # 04 领导驾驶舱 · Leadership dashboard
#
# **需要先运行 `make demo`**（或笔记本 02、03）：本页读取评分名单 `../reports/demo/scored.parquet`、
# 模型 `../reports/demo/model` 和历史案件；台账 `../var/ledger.sqlite` 不存在时表示尚无决定。
# 用 `make dashboard` 以 Voilà 网页打开。数字均按法院和**执行团队**统计，从不按承办人统计；
# 终本不计为化解。工具只排序、解释和记录，由有权限的人作出决定。
#
# **Run `make demo` first** (or notebooks 02 and 03): this page reads the scored list, the model
# and the history; a missing ledger means no decision has been recorded yet. `make dashboard`
# serves it with Voilà. Figures are per court and **team**, never per handler; 终本 never counts
# as resolved. The tool ranks, explains and records; a person with authority decides.

# %%
import plotly.io as pio
from IPython.display import HTML, Markdown, display

from crossexec_ml import report

pio.renderers.default = "plotly_mimetype+notebook"

# %% tags=["parameters"]
scored_path = "../reports/demo/scored.parquet"
cases_path = "../data/sample/current.csv"
history_path = "../data/sample/history.csv"
model_dir = "../reports/demo/model"
ledger_path = "../var/ledger.sqlite"
lang = "zh"

# %%
zh = lang == "zh"
inputs = report.load_inputs(scored_path, cases_path, history_path, model_dir, ledger_path)
if not inputs.ok:
    # Said in place: Voilà hides exception messages from the people reading the page.
    display(HTML(inputs.problem_html(lang)))
scored, cases, history = inputs.scored, inputs.cases, inputs.history
model, card, ledger_rows = inputs.model, inputs.card, inputs.ledger_rows

# %% [markdown]
# ## 1. 本轮概况 · This cycle

# %%
if inputs.ok:
    head = report.headline(scored, cases=cases)
    display(HTML(report.headline_html(head, lang)))
    report.headline_compare_bars(head, lang).show()

# %% [markdown]
# ## 2. 各团队建议名单 · Proposed cases by court and team
#
# 每个团队本轮建议交叉执行的案件数及建议层级（团队内、团队间、提级/指令）。
# Proposed cases per team and suggested rung; the case-level list is in the picker (notebook 03).

# %%
if inputs.ok:
    teams = report.list_by_team(scored)
    report.team_list_bars(teams, lang).show()
    display(report.labelled(teams, report.TEAM_COLUMNS, lang))

# %% [markdown]
# ## 3. 以往结果 · Past results
#
# 历史上实际交叉执行的案件：化解数、终本（不计为化解）、到位金额、信访前后，
# 以及客观原因（未查到实质财产、主体灭失）与其他原因的未化解分开显示。

# %%
if inputs.ok:
    past = report.past_results(history, ledger_rows)
    report.past_results_bars(past, lang).show()
    display(Markdown("> " + past.attrs["note"][lang]))
    display(report.labelled(past, report.PAST_COLUMNS, lang))
    decisions = report.ledger_summary(ledger_rows, scored)
    if decisions.empty:
        print("台账中尚无决定。" if zh else "No decision recorded in the ledger yet.")
    else:
        display(HTML(report.table_html(decisions, lang)))  # escaped: ids are "any string"

# %% [markdown]
# ## 4. 预测是否可信 · Can the predictions be trusted?
#
# 把历史案件按模型预测的化解概率分成十组，比较每组的预测化解率和实际化解率（实际采取的层级）。
# 两根柱子越接近，预测越可信。模型用这些历史案件训练，这里偏乐观；
# 诚实的时间回测见模型卡（AUC、校准误差）。
#
# Historical cases in ten groups by predicted probability: predicted against observed
# resolution for the rung actually taken. These rows trained the model, so this view is
# optimistic; the honest temporal back-test figures are in the model card.

# %%
if inputs.ok:
    calib = report.calibration_deciles(history, model)
    report.calibration_bars(calib, lang).show()
    display(Markdown("> " + report.calibration_text(calib, card, lang)))
