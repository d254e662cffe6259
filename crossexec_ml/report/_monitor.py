"""Drift and freshness between scoring runs, and what carries over from the previous list.

A scheduled re-scoring must not hand leaders a list built on stale or shifted data without
saying so. :func:`drift_report` compares this run with the previous one (or with the training
data when there is none): population stability of the scores and of the main features, values
of categorical columns never seen before, missing values per column, how old the newest
screening date is, whether a screening date lies after the run date or the run date lies far
from every case's dates (a mistyped ``--as-of-date`` or a wrong clock), and whether the scores
still spread (all equal is an alarm). Thresholds are settings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crossexec_ml.data import cases_contract
from crossexec_ml.settings import MonitorSettings

#: Numeric case columns whose distribution is compared run to run.
MONITORED_FEATURES: tuple[str, ...] = (
    "days_since_last_action",
    "amount_outstanding",
    "n_handlers_so_far",
    "petition_count",
    "deposit_balance",
    "handler_caseload",
)
#: Training rows kept beside a model (case facts only, no outcomes): the drift reference of a
#: first re-scoring run, when there is no previous run to compare with.
REFERENCE_FILE = "reference.parquet"
#: Score columns compared run to run (when both runs have them).
MONITORED_SCORES: tuple[str, ...] = ("p_keep", "p_cross", "expected_gain")


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``current`` against ``reference``.

    Bins are the reference's deciles (ties merged); each bin's share is floored at 1e-4 so an
    empty bin gives a large but finite value. Missing values are ignored.

    Parameters
    ----------
    reference, current : array-like of float
    bins : int

    Returns
    -------
    float
        ``sum((c - r) * ln(c / r))`` over bins; 0 for identical distributions, NaN when either
        side has no value.

    Examples
    --------
    >>> round(psi(np.arange(1000), np.arange(1000)), 6)
    0.0
    """
    r = np.asarray(reference, dtype=float)
    c = np.asarray(current, dtype=float)
    r, c = r[np.isfinite(r)], c[np.isfinite(c)]
    if len(r) == 0 or len(c) == 0:
        return float("nan")
    edges = np.unique(np.quantile(r, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        # A constant reference: one bin for its value, one for anything else.
        same_r, same_c = np.mean(r == edges[0]), np.mean(c == edges[0])
        rs, cs = np.array([same_r, 1 - same_r]), np.array([same_c, 1 - same_c])
    else:
        inner = edges[1:-1]
        rs = np.bincount(np.searchsorted(inner, r, side="right"), minlength=len(edges) - 1)
        cs = np.bincount(np.searchsorted(inner, c, side="right"), minlength=len(edges) - 1)
        rs, cs = rs / rs.sum(), cs / cs.sum()
    rs, cs = np.clip(rs, 1e-4, None), np.clip(cs, 1e-4, None)
    return float(np.sum((cs - rs) * np.log(cs / rs)))


@dataclass
class DriftReport:
    """What :func:`drift_report` found.

    Attributes
    ----------
    checks : pandas.DataFrame
        One row per check: ``check``, ``column``, ``value``, ``threshold``, ``status``
        (``ok``, ``warn`` or ``alarm``).
    alarms : list of str
        One sentence per alarm.
    """

    checks: pd.DataFrame
    alarms: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """``ok`` or ``drift`` (any alarm, staleness included)."""
        return "drift" if self.alarms else "ok"


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)


def drift_report(
    cases: pd.DataFrame,
    reference_cases: pd.DataFrame,
    *,
    scored: pd.DataFrame | None = None,
    reference_scored: pd.DataFrame | None = None,
    run_date: dt.date | pd.Timestamp | None = None,
    settings: MonitorSettings | None = None,
) -> DriftReport:
    """Compare this run's cases (and scores) with a reference run.

    Parameters
    ----------
    cases : pandas.DataFrame
        Contract-typed cases of this run.
    reference_cases : pandas.DataFrame
        The previous run's cases, or the training data when there is no previous run.
    scored, reference_scored : pandas.DataFrame, optional
        Scored lists of the two runs; score checks run only when both are given.
    run_date : date, optional
        Date of this run (default: today, UTC) for the staleness check.
    settings : MonitorSettings, optional

    Returns
    -------
    DriftReport
    """
    s = settings or MonitorSettings()
    rows: list[dict[str, object]] = []
    alarms: list[str] = []

    def add(check: str, column: str, value: float, threshold: float, status: str, say: str):
        rows.append(
            dict(check=check, column=column, value=value, threshold=threshold, status=status)
        )
        if status == "alarm":
            alarms.append(say)

    pairs = [(c, cases, reference_cases) for c in MONITORED_FEATURES if c in cases]
    if scored is not None and reference_scored is not None:
        pairs += [(c, scored, reference_scored) for c in MONITORED_SCORES if c in scored]
    for col, cur, ref in pairs:
        if col not in ref:
            continue
        value = psi(_num(ref, col), _num(cur, col))
        status = "alarm" if value >= s.psi_alarm else "warn" if value >= s.psi_warn else "ok"
        add(
            "psi",
            col,
            value,
            s.psi_alarm,
            status,
            f"{col}: distribution shifted (PSI {value:.2f} >= {s.psi_alarm})",
        )

    contract = cases_contract()
    for col in contract.names:
        spec = contract.columns[col]
        if spec.role in ("treatment", "outcome") or col not in cases or col not in reference_cases:
            continue
        if spec.dtype == "category":
            seen = set(reference_cases[col].dropna().astype(str))
            values = cases[col].dropna().astype(str)
            share = float((~values.isin(seen)).mean()) if len(values) else 0.0
            status = "alarm" if share >= s.unseen_share_alarm else "ok"
            add(
                "unseen_categories",
                col,
                share,
                s.unseen_share_alarm,
                status,
                f"{col}: {share:.0%} of rows have a value never seen before",
            )
        increase = float(cases[col].isna().mean() - reference_cases[col].isna().mean())
        if increase > 0:
            status = "alarm" if increase >= s.missing_increase_alarm else "ok"
            add(
                "missing_increase",
                col,
                increase,
                s.missing_increase_alarm,
                status,
                f"{col}: {increase:.0%} more rows are missing than before",
            )

    today = pd.Timestamp(run_date if run_date is not None else dt.datetime.now(dt.UTC).date())
    newest = pd.to_datetime(cases["as_of_date"]).max()
    age = float((today.normalize() - newest).days) if pd.notna(newest) else float("inf")
    add(
        "staleness_days",
        "as_of_date",
        age,
        float(s.stale_days),
        "alarm" if age > s.stale_days else "ok",
        f"input is stale: newest screening date {newest:%Y-%m-%d} is {age:.0f} days before "
        f"the run date (limit {s.stale_days})"
        if pd.notna(newest)
        else "input has no dates",
    )
    if pd.notna(newest):
        run_day = today.normalize()
        dates = pd.to_datetime(cases["as_of_date"])
        ahead = float((newest - run_day).days)
        n_after = int((dates > run_day + pd.Timedelta(days=s.date_skew_days)).sum())
        add(
            "dates_after_run_date",
            "as_of_date",
            ahead,
            float(s.date_skew_days),
            "alarm" if ahead > s.date_skew_days else "ok",
            f"{n_after} case(s) have a screening date after the run date {run_day:%Y-%m-%d} "
            f"(the newest, {newest:%Y-%m-%d}, is {ahead:.0f} days after it): the run date "
            "(--as-of-date) or the export's as_of_date column is wrong",
        )
        add(
            "run_date_gap",
            "as_of_date",
            age,
            float(s.far_run_date_days),
            "alarm" if age > s.far_run_date_days else "ok",
            f"the run date {run_day:%Y-%m-%d} is {age:.0f} days after the newest screening date "
            f"{newest:%Y-%m-%d}, far from every case's dates (limit {s.far_run_date_days}): check "
            "the run date (--as-of-date) and the server's clock before treating the data as old",
        )
    if scored is not None and "p_cross" in scored and len(scored):
        sd = float(pd.to_numeric(scored["p_cross"]).std(ddof=0))
        add(
            "score_spread",
            "p_cross",
            sd,
            s.min_score_sd,
            "alarm" if sd < s.min_score_sd else "ok",
            "all scores are (nearly) equal: the model or the input is broken",
        )
    return DriftReport(checks=pd.DataFrame(rows), alarms=alarms)


def carry_over(
    scored: pd.DataFrame,
    previous_scored: pd.DataFrame | None,
    decisions: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Mark what the previous list already proposed, and what the ledger decided since.

    Parameters
    ----------
    scored : pandas.DataFrame
        This run's scored list.
    previous_scored : pandas.DataFrame or None
        The previous run's scored list.
    decisions : dict, optional
        Ledger's latest action per case (``Ledger.decided_cases()``).

    Returns
    -------
    pandas.DataFrame
        ``scored`` plus ``previous_rank`` (the case's rank last time, missing if it was not
        ranked), ``carried_over`` (a candidate last time, still here, no decision since) and
        ``decided_action``.
    """
    out = scored.copy()
    decided = decisions or {}
    if previous_scored is not None and len(previous_scored):
        prev = previous_scored.drop_duplicates("case_id", keep="last").set_index("case_id")
        out["previous_rank"] = (
            out["case_id"].map(prev["priority_rank"]).astype("Float64").astype("Int64")
        )
        was_candidate = out["case_id"].map(
            prev["candidate"].astype(bool) if "candidate" in prev else prev["priority_rank"].notna()
        )
        was_candidate = was_candidate.astype("boolean").fillna(False).astype(bool)
    else:
        out["previous_rank"] = pd.array([pd.NA] * len(out), dtype="Int64")
        was_candidate = pd.Series(False, index=out.index)
    action = out["case_id"].map(decided)
    out["decided_action"] = action.astype("string")
    out["carried_over"] = was_candidate & action.isna()
    return out


def reference_sample(history: pd.DataFrame, n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """The training rows kept as a drift reference: case facts only, at most ``n`` rows.

    Treatment and outcome columns are dropped: the reference only describes what the cases
    looked like, which is all the drift checks compare.

    Parameters
    ----------
    history : pandas.DataFrame
        Contract-typed training rows.
    n : int
        Rows to keep (a seeded random sample when there are more).
    seed : int

    Returns
    -------
    pandas.DataFrame
    """
    contract = cases_contract()
    keep = [
        c
        for c in contract.names
        if c in history and contract.columns[c].role not in ("treatment", "outcome")
    ]
    rows = history[keep]
    if len(rows) > n:
        rows = rows.sample(n=n, random_state=seed).sort_index()
    return rows.reset_index(drop=True)
