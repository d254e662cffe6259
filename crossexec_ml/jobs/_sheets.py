"""The leaders' extra worksheets of a scored list: the candidates' check-up sheets and the 说明
sheet saying how the list was made (model, as-of date, tie rule, scoring policy)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from crossexec_ml.decide import TIE_BREAK_RULE
from crossexec_ml.text import category_values, value_label


def leader_sheets(
    scored: pd.DataFrame, cases: pd.DataFrame, card: dict, policy: Mapping | None = None
) -> dict:
    """Leaders' extra worksheets: the candidates' check-up sheets and how the list was made.

    ``policy`` is the record of the scoring policy used
    (:func:`crossexec_ml.settings.resolve_policy`); it adds a row to the 说明 sheet.
    """
    from crossexec_ml.decide import checkup_table

    candidates = scored.loc[scored["candidate"].astype(bool), "case_id"].astype(str).tolist()
    about = pd.DataFrame(
        {
            "项目 item": [
                "模型版本 model id",
                "评估基准日 as-of date",
                "排序并列规则 tie-break rule",
                "本轮候选 candidates this cycle",
                "说明 note",
            ],
            "内容 value": [
                card["model_id"],
                ", ".join(sorted({f"{d:%Y-%m-%d}" for d in scored["as_of_date"].dropna()})),
                TIE_BREAK_RULE,
                str(len(candidates)),
                "本表只排序、解释和建议；是否交叉执行由有权限的人决定并记入台账。"
                " The list ranks, explains and suggests; a person decides.",
            ],
        }
    )
    if policy is not None:
        about.loc[len(about)] = [
            "计分规则 scoring policy",
            f"{_POLICY_SOURCE_ZH.get(policy['source'], policy['source'])} "
            f"({policy['source']}: {policy['note']}): "
            + json.dumps(policy["policy"], ensure_ascii=False, sort_keys=True),
        ]
    sheet = checkup_table(candidates, cases, scored)
    # The verdict first: the sheet is 60-odd columns, printed over two pages wide, and the
    # first page must say what is proposed and why, not only the case's facts.
    lead = [c for c in _CHECKUP_LEAD if c in sheet.columns]
    sheet = sheet[lead + [c for c in sheet.columns if c not in lead]]
    return {"全面体检": _labelled_cells(sheet, "zh"), "说明": about}


#: The 全面体检 sheet's first columns: the case, its place, the proposal and its reasons.
_CHECKUP_LEAD = (
    "case_id",
    "priority_rank",
    "suggested_rung",
    "expected_gain",
    "reasons_zh",
    "guidance",
)


def _labelled_cells(sheet: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A leader's sheet with category codes, rungs and booleans read as labels (是/否)."""
    categories = category_values()
    out = sheet.copy()
    for col in out.columns:
        values = out[col].astype(object)
        if col in categories or col == "suggested_rung":
            out[col] = values.map(lambda v, c=col: value_label(c, v, lang))
        elif values.map(lambda v: isinstance(v, (bool, np.bool_))).any():
            out[col] = values.map(
                lambda v, c=col: value_label(c, v, lang) if isinstance(v, (bool, np.bool_)) else v
            )
    return out


#: Where the scoring policy came from, as the 说明 sheet says it.
_POLICY_SOURCE_ZH = {
    "card": "模型卡保存的规则",
    "override": "本次调用覆盖",
    "default": "默认规则（模型卡未保存）",
}
