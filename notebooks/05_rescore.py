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
# # 05 定期重新评分 · Scheduled re-scoring
#
# 用当前模型对全部停滞案件重新评分、排序、提出承办建议，并检查数据漂移和是否陈旧。
# 通常由 `crossexec rescore`（cron 或 systemd 定时器）无人值守运行，结果写入按日期命名的文件夹；
# 本页转换为 `report.html` 供领导阅读。名单只排序、解释和建议；是否交叉执行由有权限的人决定，
# 并记入台账。
#
# Re-score the whole stalled stock with the current model, rank it, propose who takes each
# case, and check the data for drift and staleness. Usually run unattended by
# `crossexec rescore` (cron or a systemd timer) into a dated folder; this page becomes
# `report.html` for leaders. The list ranks, explains and proposes; a person with authority
# decides, and the ledger records it.
#
# 不带参数运行时使用 `data/sample/` 和 `make demo` 训练的模型；若尚未运行 `make demo`，
# 则改用 02 号笔记本保存的 `models/latest`，两者都没有时先用样例历史数据训练一个模型，存入
# 不纳入版本库的 `models/sample/`（约需一分钟）。
# Without parameters it runs on `data/sample/` with the model `make demo` trains; before
# `make demo` it takes `models/latest` (saved by notebook 02) instead, and with neither it first
# trains one on the sample history into the git-ignored `models/sample/` (about a minute).

# %%
import plotly.io as pio
from IPython.display import HTML, display

from crossexec_ml import jobs, report

# Figures must survive conversion to HTML, offline (NOTEBOOK_NOTES.md, plotly#5365).
pio.renderers.default = "plotly_mimetype+notebook"

# %% tags=["parameters"]
cases_path = "../data/sample/current.csv"
model_dir = "../reports/demo/model"
handlers_path = "../data/sample/handlers.csv"
out_dir = "../reports/rescore/manual"
capacity = None
explore = None
explore_seed = None
challenger_dir = ""
previous_dir = ""
as_of_date = ""
ledger_path = ""
fairness_path = ""
expect_model = ""
run_id = ""
started_at = ""
lang = "zh"

# %%
from pathlib import Path  # noqa: E402

# Only the default model folder falls back (an explicit --model that is missing is refused by
# the next cell): right after `make install` it does not exist yet (NOTEBOOK_NOTES.md).
if model_dir == "../reports/demo/model" and not Path(model_dir, "card.json").is_file():
    if Path("../models/latest/card.json").is_file():
        model_dir = "../models/latest"
    else:
        model_dir = "../models/sample"
        if not Path(model_dir, "card.json").is_file():
            jobs.train("../data/sample/history.csv", model_dir, progress=False)
    print(f"默认模型尚不存在，改用 {model_dir} · default model missing, using {model_dir}")

# %% [markdown]
# ## 1. 读取与校验 · Read and validate
#
# 案件、承办人、模型、上一轮结果和台账逐一校验；任何一项有误，运行即停止，不写出任何文件。
# Cases, handlers, model, previous run and ledger are each validated; any problem stops the run
# before a file is written.

# %%
inputs = jobs.load_run_inputs(
    cases_path,
    model_dir,
    handlers_path=handlers_path or None,
    previous_dir=previous_dir or None,
    ledger_path=ledger_path or None,
    fairness_path=fairness_path or None,
    expected_sha256=expect_model or None,
    challenger_dir=challenger_dir or None,
)
result = jobs.rescore_cases(
    inputs,
    capacity=capacity,
    run_date=as_of_date or None,
    explore=explore,
    explore_seed=explore_seed,
)
manifest = jobs.write_run(result, inputs, out_dir, run_id=run_id, started_at=started_at)
display(HTML(jobs.outcome_html(manifest, lang)))

# %% [markdown]
# ## 2. 本轮概况 · This cycle
#
# 本轮建议交叉执行的案件，以及与现行做法（停滞最久优先、按顺序上一层级）相比预计多化解的案件。
# The cases proposed this cycle, and the extra resolutions expected compared with today's
# practice (oldest idle first, next rung of the ladder).

# %%
head = report.headline(result.scored, cases=inputs.cases)
display(HTML(report.headline_html(head, lang)))
display(HTML(jobs.exploration_html(result, lang)))  # one sentence, only with a band
report.headline_compare_bars(head, lang).show()

# %% [markdown]
# ## 3. 名单前列 · Top of the list
#
# 前 20 名（完整名单见 `scored.xlsx`，其中“全面体检”工作表逐案说明；承办建议见 `plan.xlsx`）。
# The first 20 (the full list is in `scored.xlsx`, with a check-up sheet per candidate; the
# proposed handlers are in `plan.xlsx`).

# %%
top = jobs.top_table(result.scored, lang)
display(HTML(report.table_html(top, lang)))  # escaped: ids are "any string"
teams = report.list_by_team(result.scored)
report.team_list_bars(teams, lang).show()

# %% [markdown]
# ## 4. 与上一轮相比 · Changes since the previous run
#
# 新进入候选、上轮已列入但仍未决定（结转）、已在台账作出决定、退出候选的案件数。
# New candidates, cases carried over (proposed before, still undecided), cases decided in the
# ledger since, and cases that left the candidates.

# %%
display(HTML(report.table_html(result.changes, lang)))

# %% [markdown]
# ## 5. 漂移与时效 · Drift and freshness
#
# 与上一轮（首次运行时与训练数据）比较：分数和主要特征的群体稳定性指数（PSI，0.10 以上为变化，
# 0.25 以上报警）、从未见过的类别、缺失值增加、最新评估基准日距运行日的天数、分数是否仍有差异。
# 有报警时名单照常写出，但退出码为 3，请先核查再使用。
#
# Against the previous run (the training data on a first run): population stability of the
# scores and the main features (PSI above 0.10 shifts, above 0.25 alarms), categories never seen
# before, increases of missing values, the age of the newest screening date, and whether the
# scores still spread. With an alarm the list is still written, but the exit code is 3: check
# before using it.

# %%
report.drift_bars(result.drift.checks, lang).show()
display(report.labelled(result.drift.checks, jobs.DRIFT_COLUMNS, lang))

# %% [markdown]
# ## 6. 公平性审计摘要 · Fairness audit summary
#
# 按申请人类型、被执行人类型、案由、是否民生、法院和标的额分组，检查历史上前 k 名单的入选率、
# 精确率和校准（`crossexec fairness`，用时间回测的样本外预测）。“需关注”请人工核查，不等于不公平。
#
# By applicant type, debtor type, cause, livelihood, court and amount band: selection rate,
# precision and calibration of the top-k list on history (`crossexec fairness`, out-of-sample
# back-test predictions). A flag asks a person to look; it does not prove unfairness.

# %%
display(HTML(jobs.fairness_html(inputs, lang)))

# %% [markdown]
# ## 7. 影子模型 · Challenger in the shadow
#
# 指定影子模型（`--challenger`）时，它对同一批案件、按同样的容量排出自己的名单，仅用于比较：
# 发给领导的名单和承办建议只来自现行模型。下面列出两份名单的差异；待结果回来后用
# `crossexec compare` 判断哪个模型更好。
#
# With a challenger model (`--challenger`), it ranks the same cases at the same capacity, for
# comparison only: the list and the plan leaders receive come from the current model alone.
# Below, where the two lists differ; once outcomes are known, `crossexec compare` judges which
# model is better.

# %%
display(HTML(jobs.shadow_html(result.shadow, lang)))
