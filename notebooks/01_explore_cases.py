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
# # 01 案件探查 · Explore the cases
#
# 检查一份案件导出是否符合数据规范，并描述其中的长期停滞案件：分布在哪些法院和团队、
# 停了多久、查到了什么财产、采取过哪些措施、属于哪类"骨头案"。所有表格和图都由
# `crossexec_ml` 计算，本笔记本只负责展示和说明。统计只到执行团队，不对承办人个人排名。
#
# Check a case export against the data contract and describe its stalled cases: where they
# sit (court, team), how long they have been idle, which assets were found, which measures were
# taken, which hard-bone categories they fall in. The package computes every table and figure;
# this notebook only shows and explains. Breakdowns stop at the team: no individual handler is
# ranked.

# %%
import plotly.io as pio
from IPython.display import display

from crossexec_ml import ValidationError, report, stalled_cohort, validate_file

# Figures must survive conversion to HTML (NOTEBOOK_NOTES.md, plotly#5365).
pio.renderers.default = "plotly_mimetype+notebook"

# %% tags=["parameters"]
cases_path = "../data/sample/current.csv"
lang = "zh"

# %% [markdown]
# ## 1. 数据校验 · Validation
#
# 一次列出全部问题（行号、列名、错误值、应填内容）。有问题时下一步读取会停止并报错：
# 请先修正导出文件。
#
# Every problem is listed at once (row, column, value, what is expected). If there is any, the
# next step stops with the same list: fix the export first.

# %%
validation = validate_file(cases_path)
print(validation.summary())
if not validation.ok:
    print(validation.problem_text())

# %%
if not validation.ok:
    # Nothing below runs on invalid data: fix the rows listed above and run again.
    raise ValidationError(validation)
cases = validation.frame  # already read and typed by validate_file: no second read of the file
stalled = stalled_cohort(cases)
print(f"长期停滞案件 stalled cases: {int(stalled.sum())} / {len(cases)}")

# %% [markdown]
# ## 2. 存量概况 · The stalled stock
#
# 长期停滞：立案满180天且距最近一次实质执行行为至少90天（`CohortSettings`）。
#
# Stalled: at least 180 days since filing and 90 days since the last substantive enforcement
# act (`CohortSettings`).

# %%
tables = report.stock_profile(cases, absent_optional=validation.absent_optional)
tables["overview"]

# %% [markdown]
# ### 按法院、团队、案由 · By court, team and cause of action
#
# 每组：案件数、占比、有实质财产的比例、停滞天数中位数、未执行标的额中位数（元）。
#
# Per group: cases, share of the stock, share with material assets, median idle days, median
# outstanding amount (yuan).

# %%
display(tables["by_court"])
report.stock_by(tables["by_court"], "court_id", lang=lang).show()

# %%
display(tables["by_team"])
report.stock_by(tables["by_team"], "team_id", lang=lang).show()

# %%
display(tables["by_cause"])
report.stock_by(tables["by_cause"], "cause_category", lang=lang).show()

# %% [markdown]
# ### 案龄与停滞时长 · Case age and idle time
#
# 右下角是又老又久未动的案件，最需要关注。
#
# The bottom-right cells hold old cases that have not moved for long: they need attention
# first.

# %%
display(tables["age_bands"])
display(tables["idle_bands"])
report.age_idle_heatmap(tables["age_by_idle"], lang=lang).show()

# %% [markdown]
# ## 3. 财产与措施 · Assets found and measures taken
#
# 缺失值按"未查到/未采取"计。有实质财产：无负担的不动产、存款不少于欠款的10%、股权、
# 到期债权或收入。
#
# A missing value counts as not found / not taken. Material assets: unencumbered real estate,
# deposits of at least 10% of the debt, equity, receivables or income.

# %%
display(tables["assets"])
report.assets_bars(tables["assets"], lang=lang).show()

# %%
display(tables["measures"])
report.measures_bars(tables["measures"], lang=lang).show()

# %% [markdown]
# ## 4. 五类骨头案 · The five hard-bone categories
#
# 长期未结（案龄≥730天）、重复信访（≥2次）、存在干预风险、涉特殊主体、上级督办。
# 一个案件可属多类。
#
# Long unresolved (≥ 730 days), repeat petitions (≥ 2), interference risk, special entity,
# key supervised. A case can be in several.

# %%
display(tables["hard_bones"])
report.hard_bone_bars(tables["hard_bones"], lang=lang).show()

# %% [markdown]
# ## 5. 数据质量 · Data quality
#
# 每列的缺失比例；`absent` 表示导出文件中没有这一列（可选列缺失时按空值处理）。
# 待评分的名单本来就没有处置方式和结果列，因此不列出。
#
# Missing share per column; `absent` means the export lacks the column (an absent optional
# column is read as empty). A list of cases to score has no treatment or outcome columns by
# design, so they are not listed for it.

# %%
tables["data_quality"]
