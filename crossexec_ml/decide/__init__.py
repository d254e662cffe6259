"""The decision rule and what surrounds a decision: the suggested rung, the priority order,
guidance, reasons, the check-up sheet, the handler plan and the append-only ledger.

The tool ranks, explains and records; a person decides.
"""

from crossexec_ml.decide._assign import (
    DEFAULT_LEADER_BONUS,
    ESCALATION_TARGET,
    PLAN_COLUMNS,
    assign,
    eligible_handlers,
)
from crossexec_ml.decide._assign_checks import PLAN_LABELS, plan_sheet
from crossexec_ml.decide._checkup import CheckupSheet, checkup, checkup_table
from crossexec_ml.decide._explain import FACTS, Fact, explain_cases
from crossexec_ml.decide._guidance import (
    categories_as_text,
    guidance,
    guidance_arrays,
    guidance_categories,
)
from crossexec_ml.decide._ledger import (
    ACTION_LABELS,
    ACTION_TO_RUNG,
    ACTIONS,
    APPLICATION_ID,
    FORMAT_NAME,
    FORMAT_VERSION,
    GENESIS_HASH,
    SHOWN_SCORES,
    Ledger,
    VerifyReport,
    ledger_decisions,
    scores_shown,
)
from crossexec_ml.decide._policy import allowed_rungs, suggest_rung, vulnerable
from crossexec_ml.decide._priority import (
    TIE_BREAK_RULE,
    PriorityOrder,
    expected_gain,
    order_by_gain,
    priority_order,
    rank_cases,
)

__all__ = [
    "ACTIONS",
    "ACTION_LABELS",
    "ACTION_TO_RUNG",
    "APPLICATION_ID",
    "CheckupSheet",
    "DEFAULT_LEADER_BONUS",
    "ESCALATION_TARGET",
    "FACTS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Fact",
    "GENESIS_HASH",
    "Ledger",
    "PLAN_COLUMNS",
    "PLAN_LABELS",
    "PriorityOrder",
    "SHOWN_SCORES",
    "TIE_BREAK_RULE",
    "VerifyReport",
    "allowed_rungs",
    "assign",
    "categories_as_text",
    "checkup",
    "checkup_table",
    "eligible_handlers",
    "expected_gain",
    "explain_cases",
    "guidance",
    "guidance_arrays",
    "guidance_categories",
    "ledger_decisions",
    "order_by_gain",
    "plan_sheet",
    "priority_order",
    "rank_cases",
    "scores_shown",
    "suggest_rung",
    "vulnerable",
]
