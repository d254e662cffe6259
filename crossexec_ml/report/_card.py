"""The model card a court can file: ``crossexec card MODEL_DIR --out card.html``.

One self-contained HTML page (no script, no network), in Chinese and English, built only from
the model folder's ``card.json`` (whose integrity :func:`crossexec_ml.model.load_model`
checks) and, when given, a fairness summary: intended use and what the tool must never be used
for (DOMAIN.md section 2), the training data, the rolling back-test's metrics and calibration,
the fairness audit, the known limits, and the hashes that identify the model and its data.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossexec_ml.data import atomic_path
from crossexec_ml.errors import InputError
from crossexec_ml.model import load_model

#: What the model is for, (zh, en).
INTENDED_USE: tuple[tuple[str, str], ...] = (
    (
        "在执行局内部，对停滞执行案件按“交叉执行后多化解的可能”排序、解释原因、建议交叉层级"
        "（团队内、团队间、提级/指令执行）和承办人，供有权限的领导参考决定。",
        "Inside an enforcement bureau: rank stalled enforcement cases by how much reassignment "
        "is expected to add, explain why, and suggest the rung (within the team, another team, "
        "the higher court) and a handler, for a leader with authority to decide.",
    ),
    (
        "区分“交叉后可能化解”（p_cross）与“交叉带来的增益”（uplift = p_cross - p_keep）："
        "无财产可供执行的案件增益低，应转司法救助或终本管理，而不是占用交叉执行名额。",
        "Separate 'likely to resolve if reassigned' (p_cross) from 'gain from reassignment' "
        "(uplift = p_cross - p_keep): a case with no assets gains little and belongs to "
        "judicial aid or 终本 management, not to a cross-execution slot.",
    ),
)

#: What the tool must never be used for (DOMAIN.md section 2), (zh, en).
MUST_NOT: tuple[tuple[str, str], ...] = (
    (
        "不得自动改派案件、启动强制措施或结案：工具只排序、解释和建议，由有权限的人决定，"
        "每一决定在台账中记明决定人和理由。",
        "Never reassign a case, trigger a coercive measure or close a case automatically: the "
        "tool ranks, explains and suggests; a person with authority decides, and every "
        "decision in the ledger names who decided and why.",
    ),
    (
        "不得用于考核或惩戒个别法官：承办人层面的数字只汇总到团队。",
        "Never use it to discipline individual judges: handler-level figures stay aggregated "
        "to teams.",
    ),
    (
        "弱势因素只能提高优先级，不能降低；不得按化解概率“挑肥拣瘦”：名额按预期增益分配，"
        "并为民生案件和长期未结案件保留下限比例，报告同时显示未入选案件的结果。",
        "Vulnerability only raises priority, never lowers it; no cherry-picking by raw "
        "probability: capacity goes to the largest expected gain with floors for livelihood "
        "and long-unresolved cases, and reports show what happens to the cases not picked.",
    ),
    (
        "不得输入或输出姓名、身份证号、手机号等个人信息：只用当事人和承办人代码。",
        "Never feed it or let it output names, ID numbers or phone numbers: party and handler "
        "codes only.",
    ),
    (
        "终本（终结本次执行程序）不计为化解。",
        "终本 (closing 'for now' with no assets) never counts as resolved.",
    ),
)

#: What the model cannot know, (zh, en).
KNOWN_LIMITS: tuple[tuple[str, str], ...] = (
    (
        "历史上的交叉执行不是随机分配的（存在混杂）：领导挑选的案件本就不同。模型对可观测"
        "事实做了调整，并用随机试点案件检验增益，但无法排除未记录因素的影响。",
        "Cross-execution in history was not assigned at random (confounding): the cases "
        "leaders picked differ. The model adjusts for the recorded facts and checks the gain "
        "on randomised pilot cases, but cannot rule out unrecorded factors.",
    ),
    (
        "示例数据为合成数据：其中的校准和增益数字说明方法可行，不代表任何法院的真实效果；"
        "在真实数据上须重新训练和回测。",
        "The sample data is synthetic: calibration and gain figures on it show the method "
        "works, not what any court will see; retrain and back-test on real data.",
    ),
    (
        "概率指180天内化解；数据约定中没有化解日期，因此无法估计“用时”。",
        "Probabilities are of resolution within 180 days; the data contract has no resolution "
        "date, so time to resolution cannot be estimated.",
    ),
    (
        "只有见过的法院、团队和类别才有依据；新出现的类别会被评分但可信度较低（定期重新"
        "评分会报告其比例）。",
        "Only courts, teams and categories seen in training are grounded; new ones are scored "
        "with less support (the scheduled re-scoring reports their share).",
    ),
)

_CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1{font-size:1.6rem;border-bottom:2px solid #1f5fa8}h2{font-size:1.2rem;margin-top:2rem;
color:#1f5fa8}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;
padding:.25rem .5rem;text-align:left;font-size:.9rem}th{background:#f0f4fa}
.en{color:#555}.flag{color:#c0392b;font-weight:bold}code{font-size:.85rem}
"""


def _e(v: Any) -> str:
    return html.escape(str(v))


def _num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return _e("—" if v is None else v)
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1):
        return f"{int(v):,}"  # counts: 2,820 rather than 2820.000
    if isinstance(v, float):
        return f"{v:.3f}"
    return _e(v)


def _table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> str:
    head = "".join(f"<th>{_e(label)}</th>" for label in columns.values())
    body = "".join(
        "<tr>" + "".join(f"<td>{_num(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _pairs(pairs: Sequence[tuple[str, str]]) -> str:
    return (
        "<ul>"
        + "".join(f"<li>{_e(zh)}<br><span class='en'>{_e(en)}</span></li>" for zh, en in pairs)
        + "</ul>"
    )


def _fairness_section(doc: Mapping[str, Any] | None, model_id: str | None) -> str:
    if not doc:
        return (
            "<p>未附公平性审计。运行 <code>crossexec fairness --model MODEL_DIR --cases HISTORY "
            "--out fairness.json</code> 后用 <code>--fairness fairness.json</code> 生成模型卡。"
            "<br><span class='en'>No fairness audit attached: run <code>crossexec fairness</code> "
            "and pass its JSON with <code>--fairness</code>.</span></p>"
        )
    from crossexec_ml.evaluate import summary_html

    summary = doc.get("summary", doc)
    audited = summary.get("model_id")
    warning = ""
    if audited and model_id and audited != model_id:
        warning = (
            f"<p class='flag'>注意：该审计针对模型 {_e(audited)}，不是本模型 {_e(model_id)}。"
            f"<br>Note: this audit is of model {_e(audited)}, not of this model.</p>"
        )
    return warning + summary_html(dict(doc), "zh") + summary_html(dict(doc), "en")


def card_html(card: Mapping[str, Any], fairness: Mapping[str, Any] | None = None) -> str:
    """Render a model card (``card.json``) as one bilingual, self-contained HTML page.

    Parameters
    ----------
    card : mapping
        The model card as :func:`crossexec_ml.model.load_model` returns it.
    fairness : mapping, optional
        A fairness summary (:func:`crossexec_ml.evaluate.fairness_summary`) or the whole JSON
        document ``crossexec fairness --out FILE.json`` wrote.

    Returns
    -------
    str
        HTML without scripts or external resources.
    """
    data = card["training_data"]
    metrics = card.get("metrics", {})
    pooled = metrics.get("pooled", {})
    rungs = data.get("rung_counts", {})
    training = _table(
        [
            {"k": "文件 file", "v": data.get("file")},
            {"k": "行数 rows used", "v": data.get("rows")},
            {"k": "文件行数 rows in file", "v": data.get("rows_in_file")},
            {
                "k": "评估基准日范围 screening dates",
                "v": f"{data['as_of_min']} .. {data['as_of_max']}",
            },
            {"k": "180日化解率 resolved within 180 days", "v": data.get("resolved_rate")},
            *({"k": f"层级 rung: {r}", "v": n} for r, n in rungs.items()),
            {"k": "数据 SHA-256", "v": data.get("sha256")},
        ],
        {"k": "项目 item", "v": "值 value"},
    )
    metric_rows = [
        {"k": name, "v": pooled.get(key)}
        for key, name in (
            ("auc", "AUC（实际采取的层级）AUC, rung taken"),
            ("pr_auc", "PR AUC"),
            ("brier", "Brier"),
            ("ece", "校准误差 calibration error (ECE)"),
            ("precision_at_k", "前k精确率 precision@k"),
            ("recall_at_k", "前k召回率 recall@k"),
            ("k", "k"),
            ("n_test", "测试行数 test rows"),
            ("truth_auc", "真值AUC（合成数据）truth AUC (synthetic)"),
            ("ece_vs_truth", "相对真值校准误差 ECE against the truth"),
        )
        if key in pooled
    ]
    windows = _table(
        metrics.get("windows", []),
        {
            "window_start": "窗口开始 from",
            "window_end": "窗口结束 to",
            "n_train": "训练 train",
            "n_test": "测试 test",
            "auc": "AUC",
            "ece": "ECE",
        },
    )
    calib = metrics.get("calibration")
    calibration = (
        _table(
            calib,
            {
                "bin": "组 decile",
                "n": "n",
                "mean_predicted": "预测 predicted",
                "observed_rate": "实际 observed",
            },
        )
        if calib
        else "<p>（模型卡中没有校准表：用新版本重新训练 / retrain to include it）</p>"
    )
    pilot = metrics.get("pilot")
    pilot_html = (
        _table(
            [{"k": k, "v": v} for k, v in pilot.items() if not isinstance(v, list | dict)],
            {"k": "随机试点 pilot", "v": "值 value"},
        )
        if pilot
        else "<p>历史数据中没有随机试点案件，增益未在随机样本上检验。<br><span class='en'>No "
        "randomised pilot rows in the history: the gain was not checked on a random sample."
        "</span></p>"
    )
    hashes = _table(
        [
            {"k": "model_id", "v": card.get("model_id")},
            {"k": "model.skops SHA-256", "v": card.get("model_sha256")},
            {"k": "数据约定版本 contract version", "v": card.get("contract_version")},
            {"k": "软件版本 package version", "v": card.get("package_version")},
            {"k": "模型格式 model format", "v": card.get("model_format")},
            {
                "k": "漂移参照 drift reference SHA-256",
                "v": (card.get("reference") or {}).get("sha256"),
            },
            {"k": "训练时间 created", "v": card.get("created_at")},
            {"k": "随机种子 seed", "v": card.get("seed")},
            {"k": "并列规则 tie-break rule", "v": card.get("tie_break_rule")},
        ],
        {"k": "项目 item", "v": "值 value"},
    )
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>模型卡 Model card {_e(card.get("model_id"))}</title><style>{_CSS}</style></head><body>
<h1>交叉执行排序模型 · 模型卡<br>
<span class="en">Cross-execution ranking model · model card</span></h1>
<p>模型 <code>{_e(card.get("model_id"))}</code>，{_e(card.get("created_at"))} 训练。
<span class="en">{_e(card.get("method"))}</span></p>
<h2>1. 用途 · Intended use</h2>{_pairs(INTENDED_USE)}
<h2>2. 不得用于 · Must never be used for</h2>{_pairs(MUST_NOT)}
<h2>3. 训练数据 · Training data</h2>{training}
<h2>4. 时间滚动回测 · Rolling temporal back-test</h2>
<p>用更早的案件训练，在之后的窗口检验，从不随机拆分。<span class="en">Trained on earlier cases,
tested on the next window, never a random split.</span></p>
{_table(metric_rows, {"k": "指标 metric", "v": "值 value"})}{windows}
<h2>5. 校准 · Calibration</h2>
<p>按预测概率分十组：预测化解率与实际化解率（测试窗口合并）。<span class="en">Ten groups by
predicted probability: predicted against observed resolution (pooled test windows).</span></p>
{calibration}{pilot_html}
<h2>6. 公平性 · Fairness</h2>{_fairness_section(fairness, card.get("model_id"))}
<h2>7. 已知局限 · Known limits</h2>{_pairs(KNOWN_LIMITS)}
<h2>8. 版本与校验 · Versions and hashes</h2>{hashes}
<p>核对模型文件：<code>crossexec card</code> 只在模型文件与模型卡的哈希一致时生成本页。
<span class="en">This page is only produced when the model file matches the hash in its card
(checked on load).</span></p>
</body></html>
"""


def write_card(
    model_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    fairness_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Load a model folder (refusing an altered one) and write its card as HTML, atomically.

    Parameters
    ----------
    model_dir : path-like
        Folder from ``crossexec train``.
    out : path-like
        The ``.html`` file.
    fairness_path : path-like, optional
        JSON written by ``crossexec fairness --out FILE.json``.

    Returns
    -------
    pathlib.Path
    """
    dest = Path(out)
    if dest.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"{dest.name}: the model card is written as .html")
    _, card = load_model(model_dir)
    fairness = None
    if fairness_path is not None:
        from crossexec_ml.evaluate import read_audit

        fairness = read_audit(fairness_path)
    page = card_html(card, fairness)
    with atomic_path(dest) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return dest
