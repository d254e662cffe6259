"""What a run adds so the bureau can learn from its own decisions.

**The exploration band** (``crossexec rescore --explore BAND``): :func:`exploration_summary`
for the manifest and :func:`exploration_html`, one sentence for the report.

**Shadow scoring**: where a challenger model's list differs from the champion's.

``crossexec rescore --challenger DIR`` scores the same cases with a second model, in the
shadow: only the champion's list (``scored.*``, ``plan.xlsx``) goes to leaders; the report and
the manifest say where the two lists differ, so a bureau sees what switching models would
change before any outcome is known (``crossexec compare`` judges them once outcomes are in).

Both lists are compared at the same size, the champion's number of candidates ``k``: the
champion's first ``k`` ranks (its list before any exploration draw, which is the same lottery
whichever model ranks) against the challenger's candidates when it is given that capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crossexec_ml.decide import band_counts
from crossexec_ml.text import fmt_percent, rung_label, t

if TYPE_CHECKING:  # the run's result, defined where runs are made
    from crossexec_ml.jobs._rescore import RunResult

#: The shadow table's columns, in order (labels: the catalogue's ``shadow.column.<name>``).
SHADOW_COLUMNS: tuple[str, ...] = (
    "case_id",
    "court_id",
    "team_id",
    "champion_rank",
    "challenger_rank",
    "in_champion",
    "in_challenger",
    "champion_rung",
    "challenger_rung",
)


def exploration_summary(result: RunResult) -> dict | None:
    """The run's exploration band for the manifest, or None when the band is off.

    Parameters
    ----------
    result : RunResult

    Returns
    -------
    dict or None
        ``band`` and ``seed`` (as the scoring policy used them), ``in_band`` (cases drawn at
        random, propensity 1/2) and ``drawn`` (of those, the ones proposed).
    """
    counts = band_counts(result.scored)
    if counts is None:
        return None
    priority = (result.scoring_policy or {}).get("policy", {}).get("priority", {})
    return {
        "band": priority.get("explore_band"),
        "seed": priority.get("explore_seed"),
        "in_band": counts[0],
        "drawn": counts[1],
    }


def exploration_html(result: RunResult, lang: str = "zh") -> str:
    """One sentence on the exploration band for the report, or ``""`` when it is off.

    Parameters
    ----------
    result : RunResult
    lang : {"zh", "en"}

    Returns
    -------
    str
        An HTML paragraph (every value escaped), from the catalogue's ``rescore.explore``.
    """
    summary = exploration_summary(result)
    t("tile.na", lang)  # checks lang
    if summary is None:
        return ""
    text = t(
        "rescore.explore",
        lang,
        n=summary["in_band"],
        drawn=summary["drawn"],
        band=fmt_percent(float(summary["band"] or 0), lang),
        seed=summary["seed"],
    )
    from crossexec_ml.report import render

    return render("rescore_explore.html.j2", text=text)


@dataclass
class ShadowComparison:
    """Where the challenger's list differs from the champion's (see :func:`shadow_compare`).

    Attributes
    ----------
    counts : dict
        ``k`` (cases compared at), ``n_champion`` and ``n_challenger`` (each list's top),
        ``n_both``, ``only_champion``, ``only_challenger`` and ``rung_differs`` (cases in
        both tops whose suggested rung differs).
    table : pandas.DataFrame
        Every differing case (:data:`SHADOW_COLUMNS`), by the better of its two ranks.
    challenger_id : str
        The challenger's ``model_id``.
    """

    counts: dict[str, int]
    table: pd.DataFrame
    challenger_id: str


def _top(scored: pd.DataFrame, k: int) -> pd.DataFrame:
    rank = pd.to_numeric(scored["priority_rank"], errors="coerce")
    return pd.DataFrame(
        {
            "case_id": scored["case_id"].astype(str).to_numpy(),
            "rank": rank.to_numpy(dtype=float),
            "top": (rank <= k).fillna(False).to_numpy(dtype=bool),
            "rung": scored["suggested_rung"].astype(str).to_numpy(),
        }
    )


def shadow_compare(
    champion: pd.DataFrame, challenger: pd.DataFrame, *, challenger_id: str = ""
) -> ShadowComparison:
    """Compare the champion's list with the challenger's on the same cases.

    Parameters
    ----------
    champion : pandas.DataFrame
        The run's list (``case_id``, ``priority_rank``, ``candidate``, ``suggested_rung``,
        ``court_id``, ``team_id``).
    challenger : pandas.DataFrame
        The challenger's list of the same cases, scored with capacity ``k`` = the champion's
        number of candidates (its ``candidate`` column is its top).
    challenger_id : str
        Recorded with the result.

    Returns
    -------
    ShadowComparison
    """
    k = int(champion["candidate"].astype(bool).sum())
    a = _top(champion, k)
    b = _top(challenger, k)
    b["top"] = challenger["candidate"].astype(bool).to_numpy()
    both = a.merge(b, on="case_id", how="outer", suffixes=("_a", "_b"))
    in_a = both["top_a"].fillna(False).astype(bool)
    in_b = both["top_b"].fillna(False).astype(bool)
    rung_differs = in_a & in_b & (both["rung_a"] != both["rung_b"])
    differs = (in_a != in_b) | rung_differs
    where = champion.assign(case_id=champion["case_id"].astype(str)).set_index("case_id")
    rows = both.loc[differs]
    table = pd.DataFrame(
        {
            "case_id": rows["case_id"].to_numpy(),
            "court_id": where["court_id"].reindex(rows["case_id"]).to_numpy(),
            "team_id": where["team_id"].reindex(rows["case_id"]).to_numpy(),
            "champion_rank": pd.array(rows["rank_a"].to_numpy(), dtype="Float64").astype("Int64"),
            "challenger_rank": pd.array(rows["rank_b"].to_numpy(), dtype="Float64").astype("Int64"),
            "in_champion": in_a[differs].to_numpy(),
            "in_challenger": in_b[differs].to_numpy(),
            "champion_rung": rows["rung_a"].to_numpy(),
            "challenger_rung": rows["rung_b"].to_numpy(),
        }
    )
    best = np.fmin(rows["rank_a"].to_numpy(dtype=float), rows["rank_b"].to_numpy(dtype=float))
    table = table.iloc[np.argsort(best, kind="stable")].reset_index(drop=True)
    counts = {
        "k": k,
        "n_champion": int(in_a.sum()),
        "n_challenger": int(in_b.sum()),
        "n_both": int((in_a & in_b).sum()),
        "only_champion": int((in_a & ~in_b).sum()),
        "only_challenger": int((in_b & ~in_a).sum()),
        "rung_differs": int(rung_differs.sum()),
    }
    return ShadowComparison(counts=counts, table=table, challenger_id=str(challenger_id))


def shadow_table(comparison: ShadowComparison, lang: str = "zh", n: int = 20) -> pd.DataFrame:
    """The first ``n`` differing cases as the report shows them (rungs named, 是/否).

    Parameters
    ----------
    comparison : ShadowComparison
    lang : {"zh", "en"}
    n : int

    Returns
    -------
    pandas.DataFrame
        Under the catalogue's ``shadow.column.*`` names; show it with
        :func:`crossexec_ml.report.table_html` (escaped).
    """
    top = comparison.table.head(n).copy()
    for column in ("champion_rung", "challenger_rung"):
        top[column] = [rung_label(r, lang) if r != "nan" else "" for r in top[column]]
    for column in ("in_champion", "in_challenger"):
        top[column] = [t(f"bool.{str(bool(v)).lower()}", lang) for v in top[column]]
    return top.rename(columns={c: t(f"shadow.column.{c}", lang) for c in SHADOW_COLUMNS})


def shadow_html(comparison: ShadowComparison | None, lang: str = "zh", n: int = 20) -> str:
    """The report's shadow section: counts in one sentence and the top differing cases.

    Parameters
    ----------
    comparison : ShadowComparison or None
        None when the run had no challenger (the section says so).
    lang : {"zh", "en"}
    n : int
        Rows of the table.

    Returns
    -------
    str
        An HTML fragment, every value escaped.
    """
    from crossexec_ml.report import render, table_html

    t("tile.na", lang)  # checks lang
    if comparison is None:
        return render("rescore_shadow.html.j2", lines=[t("shadow.none", lang)], table="")
    text = t("shadow.summary", lang, model_id=comparison.challenger_id, **comparison.counts)
    if comparison.table.empty:
        return render("rescore_shadow.html.j2", lines=[text, t("shadow.same", lang)], table="")
    table = table_html(shadow_table(comparison, lang, n), lang)
    return render("rescore_shadow.html.j2", lines=[text], table=table)
