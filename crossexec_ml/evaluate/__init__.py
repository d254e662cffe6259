"""Judging the list: the rolling temporal back-test, its metrics, and the fairness audit."""

from crossexec_ml.evaluate._backtest import (
    BASELINES,
    backtest,
    calibration_table,
    expected_calibration_error,
    next_rung,
    policy_gains,
    precision_recall_at_k,
    qini_curve,
    rank_order,
    temporal_splits,
    truth_gain,
    uplift_at_k,
)
from crossexec_ml.evaluate._fairness import (
    FairnessAudit,
    audit_history,
    audit_saved,
    fairness_audit,
)
from crossexec_ml.evaluate._fairness_rows import (
    GROUPINGS,
    METRICS,
    VERDICTS,
    audit_rows,
    backtest_predictions,
    top_k_selection,
)
from crossexec_ml.evaluate._fairness_summary import (
    fairness_summary,
    read_audit,
    summary_table,
    summary_text,
    write_audit,
)

__all__ = [
    "BASELINES",
    "FairnessAudit",
    "GROUPINGS",
    "METRICS",
    "VERDICTS",
    "audit_history",
    "audit_rows",
    "audit_saved",
    "backtest",
    "backtest_predictions",
    "calibration_table",
    "expected_calibration_error",
    "fairness_audit",
    "fairness_summary",
    "next_rung",
    "policy_gains",
    "precision_recall_at_k",
    "qini_curve",
    "rank_order",
    "read_audit",
    "summary_table",
    "summary_text",
    "temporal_splits",
    "top_k_selection",
    "truth_gain",
    "uplift_at_k",
    "write_audit",
]
