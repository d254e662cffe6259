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
from crossexec_ml.decide._checkup import CheckupSheet, GainParts, checkup, checkup_table
from crossexec_ml.decide._explain import FACTS, Fact, explain_cases
from crossexec_ml.decide._explore import ExplorationDraw, exploration_draw
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
    code_shape,
    ledger_decisions,
    scores_shown,
    verify_ledger,
)
from crossexec_ml.decide._policy import (
    TIE_BREAK_RULE,
    allowed_rungs,
    apply_floor,
    best_allowed_gain,
    capacity_k,
    expected_gain,
    floor_needs,
    idle_days,
    suggest_rung,
    tie_rule_order,
    top_k,
    vulnerable,
)
from crossexec_ml.decide._priority import (
    PriorityOrder,
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
    "ExplorationDraw",
    "FACTS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Fact",
    "GENESIS_HASH",
    "GainParts",
    "Ledger",
    "PLAN_COLUMNS",
    "PLAN_LABELS",
    "PriorityOrder",
    "SHOWN_SCORES",
    "TIE_BREAK_RULE",
    "VerifyReport",
    "allowed_rungs",
    "apply_floor",
    "assign",
    "best_allowed_gain",
    "capacity_k",
    "categories_as_text",
    "checkup",
    "checkup_table",
    "code_shape",
    "eligible_handlers",
    "expected_gain",
    "explain_cases",
    "exploration_draw",
    "floor_needs",
    "guidance",
    "guidance_arrays",
    "guidance_categories",
    "idle_days",
    "ledger_decisions",
    "order_by_gain",
    "plan_sheet",
    "priority_order",
    "rank_cases",
    "scores_shown",
    "suggest_rung",
    "tie_rule_order",
    "top_k",
    "verify_ledger",
    "vulnerable",
]
