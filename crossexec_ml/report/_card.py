"""The model card a court can file: ``crossexec card MODEL_DIR --out card.html``.

One self-contained HTML page (no script, no network), in Chinese and English, built only from
the model folder's ``card.json`` (whose integrity :func:`crossexec_ml.model.load_model`
checks) and, when given, a fairness summary: intended use and what the tool must never be used
for (DOMAIN.md section 2), the training data, the rolling back-test's metrics and calibration,
the fairness audit, the known limits, and the hashes that identify the model and its data.
The page is the template ``templates/card.html.j2``; this module only gathers its values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from crossexec_ml.data import atomic_path
from crossexec_ml.errors import InputError
from crossexec_ml.evaluate import read_audit, summary_table
from crossexec_ml.model import load_model
from crossexec_ml.report._html import render
from crossexec_ml.settings import RUNGS
from crossexec_ml.text import catalogue, rung_label, t, t_pair


def _pairs_from(prefix: str) -> tuple[tuple[str, str], ...]:
    """``card.<prefix>.1``, ``.2``, ... of the catalogue as (zh, en) pairs, in order."""
    pairs: list[tuple[str, str]] = []
    while f"card.{prefix}.{len(pairs) + 1}" in catalogue():
        key = f"card.{prefix}.{len(pairs) + 1}"
        pairs.append(t_pair(key))
    return tuple(pairs)


#: What the model is for, (zh, en) (catalogue ``card.intended_use.*``).
INTENDED_USE: tuple[tuple[str, str], ...] = _pairs_from("intended_use")
#: What the tool must never be used for (DOMAIN.md section 2), (zh, en) (``card.must_not.*``).
MUST_NOT: tuple[tuple[str, str], ...] = _pairs_from("must_not")
#: What the model cannot know, (zh, en) (``card.known_limits.*``).
KNOWN_LIMITS: tuple[tuple[str, str], ...] = _pairs_from("known_limits")


def _both(key: str) -> str:
    return f"{t(key, 'zh')} {t(key, 'en')}"


def _num(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return _both("bool.true" if v else "bool.false")
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) >= 1):
        return f"{int(v):,}"  # counts: 2,820 rather than 2820.000
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _table(rows: Sequence[Mapping[str, Any]], columns: Mapping[str, str]) -> dict[str, list]:
    """Header and text cells for the template's ``table`` macro."""
    return {
        "header": list(columns.values()),
        "rows": [[_num(r.get(c)) for c in columns] for r in rows],
    }


def _rung_both(rung: str) -> str:
    return f"{rung_label(rung, 'zh')} {rung_label(rung, 'en')}" if rung in RUNGS else rung


def _fairness_section(doc: Mapping[str, Any] | None, model_id: str | None) -> dict[str, Any]:
    if not doc:
        return {"attached": False}
    summary = doc.get("summary", doc)
    audited = summary.get("model_id")
    return {
        "attached": True,
        "other_model": audited if audited and model_id and audited != model_id else None,
        "summaries": [summary_table(dict(doc), "zh"), summary_table(dict(doc), "en")],
    }


def _selection_section(card: Mapping[str, Any]) -> dict[str, Any] | None:
    """The learner chosen, why, and every candidate's truth-free evidence (section 4a)."""
    sel = card.get("model_selection")
    if not sel:
        return None
    reason = sel.get("reason", "")
    key = f"card.selection.{reason}"
    rows = []
    for c in sel.get("candidates", []):
        by_rung = c.get("log_loss_by_rung") or {}
        shares = c.get("list_rung_shares") or {}
        rows.append(
            {
                "learner": ("▶ " if c["learner"] == sel.get("chosen") else "") + c["learner"],
                "dr": f"{c['dr_gain_per_case']:.3f} ± {c['dr_se']:.3f}",
                "diff": f"{c['diff_to_best']:.3f} ± {c['diff_se']:.3f}",
                "tied": c.get("tied"),
                "log_loss": c.get("log_loss"),
                **{f"ll_{r}": by_rung.get(r) for r in RUNGS},
                "shares": " / ".join(f"{shares.get(r, 0):.0%}" for r in RUNGS[1:]),
            }
        )
    columns = {
        "learner": "候选 learner",
        "dr": "双重稳健增益/案 DR gain per case ± SE",
        "diff": "与最优差 behind best ± SE",
        "tied": "噪声内 within noise",
        "log_loss": "对数损失 log-loss",
        **{f"ll_{r}": f"{rung_label(r, 'zh')} log-loss" for r in RUNGS},
        "shares": "名单层级 list rungs (intra/inter/higher)",
    }
    window = sel.get("valid_window") or ["", ""]
    return {
        "chosen": sel.get("chosen"),
        "reason": t_pair(key) if key in catalogue() else (reason, reason),
        "window": f"{window[0]} .. {window[1]}",
        "n_fit": _num(sel.get("n_fit")),
        "n_valid": _num(sel.get("n_valid")),
        "n_randomised": _num(sel.get("n_randomised_valid")),
        "share": f"{(sel.get('settings') or {}).get('capacity_share', 0.1):.0%}",
        "table": _table(rows, columns) if rows else None,
    }


def _rung_calibration(windows: Sequence[Mapping[str, Any]]) -> dict[str, list] | None:
    """Per window, each rung's calibration error on the rows that took it."""
    if not any(f"ece_{r}" in w for w in windows for r in RUNGS):
        return None
    columns = {"window_start": "窗口开始 from"}
    columns.update({f"ece_{r}": f"ECE {_rung_both(r)}" for r in RUNGS})
    return _table(windows, columns)


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
        HTML without scripts or external resources (template ``card.html.j2``), every value
        escaped.
    """
    data = card["training_data"]
    metrics = card.get("metrics", {})
    pooled = metrics.get("pooled", {})
    item = {"k": "项目 item", "v": "值 value"}
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
            *(
                {"k": f"层级 rung: {_rung_both(r)}", "v": n}
                for r, n in data.get("rung_counts", {}).items()
            ),
            {"k": "数据 SHA-256", "v": data.get("sha256")},
        ],
        item,
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
    windows = {
        "window_start": "窗口开始 from",
        "window_end": "窗口结束 to",
        "n_train": "训练 train",
        "n_test": "测试 test",
        "auc": "AUC",
        "ece": "ECE",
    }
    deciles = {
        "bin": "组 decile",
        "n": "n",
        "mean_predicted": "预测 predicted",
        "observed_rate": "实际 observed",
    }
    calib, pilot = metrics.get("calibration"), metrics.get("pilot")
    # The pilot rows counted are those of the back-test's test windows (the fairness audit
    # counts its own windows'), said in the row's name so the two figures are not confused.
    pilot_names = {"n_pilot": "随机分配行（回测测试窗口内）randomised rows in the test windows"}
    pilot_rows = [
        {"k": pilot_names.get(k, k), "v": v}
        for k, v in (pilot or {}).items()
        if not isinstance(v, list | dict)
    ]
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
        item,
    )
    return render(
        "card.html.j2",
        model_id=_num(card.get("model_id")),
        created_at=_num(card.get("created_at")),
        method=_num(card.get("method")),
        intended_use=INTENDED_USE,
        must_not=MUST_NOT,
        known_limits=KNOWN_LIMITS,
        training=training,
        metrics=_table(metric_rows, {"k": "指标 metric", "v": "值 value"}),
        windows=_table(metrics.get("windows", []), windows),
        selection=_selection_section(card),
        rung_calibration=_rung_calibration(metrics.get("windows", [])),
        calibration=_table(calib, deciles) if calib else None,
        pilot=_table(pilot_rows, {"k": "随机试点 pilot", "v": "值 value"}) if pilot else None,
        fairness=_fairness_section(fairness, card.get("model_id")),
        hashes=hashes,
    )


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
        fairness = read_audit(fairness_path)
    page = card_html(card, fairness)
    with atomic_path(dest) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return dest
