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
# # 06 公平性审查 · Fairness audit
#
# 检查前 k 名交叉执行候选清单对不同群体是否一视同仁：按申请人类型、被执行人类型、案由、是否民生
# 案件、执行法院和标的额区间分组，看各组的入选率、入选案件的化解率、化解概率和交叉增益的校准，
# 以及**未入选**案件后来怎样了。所有数字都来自滚动时间回测的**样本外**预测：每个窗口的清单由只用
# 更早案件训练的模型给出，从不用"用这些案件训练、再在这些案件上打分"的结果。
#
# Is the top-k list of cross-execution candidates even-handed across groups? By applicant type,
# debtor type, cause of action, livelihood or not, court and amount band: selection rate,
# how often the picked cases were resolved, calibration of the resolution probability and of the
# gain, and what happened to the cases **not** picked. Every number comes from **out-of-sample**
# predictions of the rolling temporal back-test: each window's list is made by a model trained
# only on earlier cases, never by a model judged on the rows it was fitted on.

# %%
import plotly.io as pio
from IPython.display import HTML, display

from crossexec_ml import FairnessSettings, audit_saved, fairness_summary, report

# Figures must survive conversion to HTML (NOTEBOOK_NOTES.md, plotly#5365).
pio.renderers.default = "plotly_mimetype+notebook"

# %% tags=["parameters"]
history_path = "../data/sample/history.csv"
truth_path = "../data/sample/truth.csv"
model_dir = ""
capacity_share = 0.1
min_group_size = 30
seed = 0
lang = "zh"

# %% [markdown]
# `model_dir = ""` 用默认模型设置（无需先运行 02）；设为 `"../models/latest"` 则审查 02 保存的
# 模型的设置。模型在每个回测窗口用更早的数据重新拟合，所以审查的是"方法"，不是某一次拟合。
# `truth_path = ""` 时没有随机试点标记，增益校准无法检验（见下文）。
#
# `model_dir = ""` uses the default model settings (no need to run 02 first); set it to
# `"../models/latest"` to audit the settings of the model 02 saved. The model is refitted on
# earlier rows for each back-test window, so the audit judges the method, not one fit. With
# `truth_path = ""` there are no randomised-pilot marks and the uplift check is not available.
#
# ## 1. 审查 · Run the audit

# %%
settings = FairnessSettings(capacity_share=capacity_share, min_group_size=min_group_size, seed=seed)
audit = audit_saved(model_dir, history_path, truth_path=truth_path or None, settings=settings)
summary = fairness_summary(audit)
display(HTML(report.fairness_html(summary, lang)))

# %% [markdown]
# ## 2. 怎么读 · How to read the ratios
#
# - **与参照组之比**：本组数值除以参照组（默认每种分组中最大的组）数值。1 表示相同；"五分之四"
#   规则把 0.8 至 1.25 视为正常。比值超出该范围**且** 95% 自助法置信区间不含 1，判为"需关注"；
#   超出范围但区间含 1，判为"留意"（可能只是偶然）。组内（或参照组）案件少于 `min_group_size`
#   时不下结论（样本不足）；入选案件化解率看的是入选案件数，增益校准看的是试点案件数。
# - **入选率不同本身不等于不公平**：清单按"交叉能多化解多少"排序，并给民生案件和困难申请人加权、
#   保底；没有可执行财产的案件（常见于信用卡、金融借款）交叉也难有增益。需要追问的是：模型对各组
#   的估计是否同样准确——这正是两项校准指标要回答的。
# - **化解概率校准**：实际化解数 / 预测化解数，按案件实际采取的层级（留在原承办人就用维持原承办
#   的概率）。历史上只能看到实际采取的那一种结果。
# - **增益校准**：交叉增益需要可比的"交叉"和"不交叉"案件；历史上的交叉不是随机的（骨头案、信访、
#   大额、老案更常被交叉），直接相减衡量的是"谁被挑中"，不是交叉的作用。所以只在**随机试点**
#   案件上，按试点各层级比例逆概率加权来估计；合成数据另与真值比较。
#
# - **Ratio to the reference group**: the group's value divided by the reference's (default the
#   largest group of each grouping). 1 means equal; the four-fifths rule counts 0.8 to 1.25 as
#   fine. Outside that band **and** a 95% bootstrap interval that excludes 1: *flag*; outside
#   the band but the interval includes 1: *watch* (may be chance). Fewer than `min_group_size`
#   cases in the group or the reference: no verdict (*too small*); for precision@k the count is
#   of picked cases, for the uplift of pilot cases.
# - **A different selection rate is not by itself unfair**: the list ranks by how much
#   reassignment adds, boosts livelihood cases and vulnerable applicants and reserves floors for
#   them, and cases with nothing to execute (often credit-card and bank-loan cases) gain little
#   from any handler. The question to ask is whether the model's estimates are equally right for
#   every group, which is what the two calibration checks answer.
# - **Calibration of p**: observed / predicted resolutions, for the rung each case actually took
#   (the keep probability for cases left with their handler): history shows only that outcome.
# - **Uplift calibration**: a gain needs comparable reassigned and kept cases; historical
#   reassignment was not random (hard bones, petitions, large and old cases went first), so a
#   plain difference measures who was chosen, not what reassignment does. It is estimated only on
#   the **randomised pilot** cases, inverse-probability weighted by the pilot's rung shares; on
#   synthetic data also against the truth.
#
# ## 3. 需关注与留意的差异 · Flagged and watched differences

# %%
columns = [
    f"grouping_{lang}",
    f"group_{lang}",
    f"metric_{lang}",
    "n",
    "value",
    f"reference_{lang}",
    "reference_value",
    "estimate",
    "ci_low",
    "ci_high",
    f"verdict_{lang}",
]
flagged = audit.disparities[audit.disparities["verdict"].isin(["flag", "watch"])]
flagged[columns].sort_values([f"verdict_{lang}", f"grouping_{lang}"]).round(3)

# %% [markdown]
# 每个点是一个组与参照组之比（或差），横线是置信区间，阴影是正常范围。
#
# Each point is a group's ratio (or difference) to its reference, the line its interval, the
# shaded band the range counted as fine.

# %%
report.fairness_ratio_plot(audit.disparities, "selection_rate", lang, band=settings.band)

# %%
report.fairness_ratio_plot(audit.disparities, "precision_at_k", lang, band=settings.band)

# %%
report.fairness_ratio_plot(audit.disparities, "calibration_p", lang, band=settings.band)

# %%
report.fairness_ratio_plot(
    audit.disparities, "calibration_uplift", lang, tolerance=settings.uplift_tolerance
)

# %% [markdown]
# ## 4. 各组明细 · Every group
#
# 样本数、入选数、入选率、入选案件化解率、实际与预测化解率、试点案件数及其实际与预测增益，
# 以及该组最需注意的结论。
#
# Cases, picked, selection rate, precision@k, observed and predicted resolution rate, pilot cases
# with their observed and predicted gain, and the group's most serious verdict.

# %%
audit.groups.drop(columns=["grouping", "group", "grouping_en", "group_en"]).round(3)

# %% [markdown]
# ## 5. 未入选的案件后来怎样 · What happened to the cases not picked
#
# 历史上这些案件 180 天后：化解、终本（不算化解）、仍未结、新增信访，以及当时是否仍被交叉执行。
# 未入选案件的化解率低、终本率高，说明清单没有漏掉"本来就会化解"的案件；若某组未入选案件的
# 化解率明显高于其他组，就值得追问模型是否低估了该组。
#
# In history, 180 days later: resolved, 终本 (closed for now, never counted as resolved), still
# open, a new petition, and whether the case was reassigned anyway. Low resolution and high 终本
# among the cases not picked mean the list did not pass over cases that would have resolved; a
# group whose not-picked cases resolve clearly more often than others' asks whether the model
# underestimates that group.

# %%
audit.unselected.drop(columns=["grouping", "grouping_en", "group"]).round(3)

# %%
report.outcomes_by_selection_plot(audit.unselected, "cause_category", lang)

# %%
report.outcomes_by_selection_plot(audit.unselected, "livelihood", lang)

# %% [markdown]
# ## 6. 对照：只按化解概率排序 · For comparison: ranking by probability alone
#
# 只按"交叉后化解概率"排序会偏向容易、有钱的商事案件（DOMAIN.md 第2节）。同一回测下，本工具
# 清单与按化解概率排序的清单在民生案件和标的额区间上的入选率：
#
# Ranking by the probability of resolution alone favours easy, rich commercial cases (DOMAIN.md
# section 2). Selection rates of this tool's list and of the probability-ranked list, in the same
# back-test, for livelihood cases and amount bands:

# %%
by_p = audit_saved(
    model_dir,
    history_path,
    truth_path=truth_path or None,
    settings=FairnessSettings(
        capacity_share=capacity_share,
        min_group_size=min_group_size,
        seed=seed,
        policy="p_cross",
        groupings=("livelihood", "amount_band"),
    ),
)
keys = ["grouping", "group", f"group_{lang}"]
compare = audit.groups[keys + ["n", "selection_rate"]].merge(
    by_p.groups[keys + ["selection_rate"]], on=keys, suffixes=("_this_tool", "_by_p_cross")
)
compare.drop(columns=["grouping", "group"]).round(3)

# %% [markdown]
# ## 7. 局限 · Limits
#
# - 样本是**合成数据**：结论说明方法是否可用，不说明任何真实法院的情况。
# - 历史是**混杂的**：案件是否被交叉由当时的承办人和领导决定，入选案件的化解率反映的是历史上
#   实际采取的做法，不是按清单交叉的效果；只有随机试点案件能无偏地检验增益，而试点案件少，
#   分组后区间很宽。
# - 置信区间只反映案件抽样的不确定性（清单本身固定不变），且各项比较未做多重检验校正：
#   比较越多，越可能有个别"需关注"出于偶然。
# - "需关注"是请人复核的提示，不是不公平的认定；是否调整清单由有权限的人决定。
#
# - The sample is **synthetic**: the audit shows that the method works, not how any real court
#   fares.
# - History is **confounded**: whether a case was reassigned was decided by its handler and
#   leaders, so the precision of picked cases reflects what was actually done, not the effect of
#   following the list; only the randomised pilot checks the gain without bias, and it is small,
#   so its intervals by group are wide.
# - Intervals reflect the sampling of cases only (the list is held fixed), and there is no
#   correction for multiple comparisons: with many comparisons a few flags may be chance.
# - A flag asks a person to review; it is not a finding of unfairness, and whether to change the
#   list is for a person with authority to decide.
