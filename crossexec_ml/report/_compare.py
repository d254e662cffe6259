"""A champion/challenger comparison as people read it: the operator's lines, the leader's table.

The randomised half's leader table is :func:`crossexec_ml.report.comparison_table`; this module
has the observational half (the truth-free criteria on the rows whose rung a person chose,
with the caveat that they rest on an estimated propensity) and the English lines
``crossexec compare`` prints. The counting is :func:`crossexec_ml.evaluate.compare_models`.
"""

from __future__ import annotations

import pandas as pd

from crossexec_ml.evaluate import Comparison
from crossexec_ml.text import fmt_percent, fmt_points, t


def observed_note(result: Comparison, lang: str = "zh") -> str:
    """One sentence saying what the observational evidence is and how far to trust it.

    Parameters
    ----------
    result : Comparison
        From :func:`crossexec_ml.evaluate.compare_models`.
    lang : {"zh", "en"}

    Returns
    -------
    str
        Empty when the history had no observational row.
    """
    if result.observed is None:
        return ""
    return t("compare.obs.note", lang).format(n=f"{result.observed.n_rows:,}")


def observed_table(result: Comparison, lang: str = "zh") -> pd.DataFrame:
    """The observational evidence: one row per model, then the difference and the verdict.

    Parameters
    ----------
    result : Comparison
        From :func:`crossexec_ml.evaluate.compare_models`.
    lang : {"zh", "en"}

    Returns
    -------
    pandas.DataFrame
        Text cells: model, log-loss under the rung taken, resolution rate had its list been
        followed (estimated) and its 95% interval; the last row the challenger's difference
        and the verdict. Empty (headers only) when there was no observational row.
    """
    header = [t(f"compare.obs.col.{c}", lang) for c in ("model", "log_loss", "value", "ci")]
    seen = result.observed
    if seen is None:
        return pd.DataFrame(columns=header)

    def interval(low: float, high: float, fmt) -> str:
        if pd.isna(low) or pd.isna(high):
            return t("missing", lang)
        return f"{fmt(low, lang)} – {fmt(high, lang)}"

    rows = [
        [
            t(f"compare.role.{role}", lang) + f" · {name}",
            f"{seen.log_loss[name]['all']:.4f}",
            fmt_percent(seen.value[name], lang),
            interval(*seen.value_ci[name], fmt_percent),
        ]
        for role, name in zip(("champion", "challenger"), result.names, strict=True)
    ]
    low, high = seen.log_loss_ci
    rows.append(
        [
            t("compare.difference", lang),
            f"{seen.log_loss_difference:+.4f}（{low:+.4f} – {high:+.4f}）"
            if lang == "zh"
            else f"{seen.log_loss_difference:+.4f} ({low:+.4f} – {high:+.4f})",
            fmt_points(seen.difference, lang),
            interval(*seen.difference_ci, fmt_points)
            + " · "
            + t(f"compare.verdict.{seen.verdict}", lang),
        ]
    )
    return pd.DataFrame(rows, columns=header)


_SENTENCES = {
    "better": "the challenger is better",
    "worse": "the challenger is worse",
    "no_evidence": "no evidence that either is better",
}


def comparison_lines(result: Comparison) -> list[str]:
    """The comparison as the lines ``crossexec compare`` prints (English, for operators).

    Parameters
    ----------
    result : Comparison
        From :func:`crossexec_ml.evaluate.compare_models`.

    Returns
    -------
    list of str
        The randomised rows' values, difference and verdict (or why there is none), then the
        observational rows' log-loss, list values, differences and verdict.
    """
    lines = []
    if result.n_randomised:
        lines.append(
            f"{result.n_randomised} randomised case(s) with an outcome (pilot or exploration band)"
        )
        for name in result.names:
            low, high = result.value_ci[name]
            lines.append(
                f"  {name}: resolution rate if its list were followed {result.value[name]:.1%} "
                f"(95% interval {low:.1%}-{high:.1%}; {result.n_matched[name]} rows match its "
                "rungs)"
            )
        low, high = result.difference_ci
        lines.append(
            f"difference (challenger - champion) {result.difference:+.1%} "
            f"(95% interval {low:+.1%} to {high:+.1%}): {_SENTENCES[result.verdict]}"
        )
    else:
        lines.append(
            "no randomised case with an outcome: no unbiased check is possible; run an "
            "exploration band (score --explore) or a pilot and compare once their outcomes are in"
        )
    seen = result.observed
    if seen is None:
        return lines
    lines.append(
        f"{seen.n_rows} case(s) whose rung a person chose, judged by the truth-free criteria of "
        "model selection (weaker evidence: the list value rests on an estimated propensity of "
        "the rung taken)"
    )
    for name in result.names:
        low, high = seen.value_ci[name]
        lines.append(
            f"  {name}: log-loss under the rung taken {seen.log_loss[name]['all']:.4f}; "
            f"resolution rate if its list were followed {seen.value[name]:.1%} "
            f"(95% interval {low:.1%}-{high:.1%})"
        )
    low, high = seen.log_loss_ci
    lines.append(
        f"log-loss difference (challenger - champion) {seen.log_loss_difference:+.4f} "
        f"(95% interval {low:+.4f} to {high:+.4f}; negative: the challenger predicts better)"
    )
    low, high = seen.difference_ci
    lines.append(
        f"list value difference {seen.difference:+.1%} (95% interval {low:+.1%} to {high:+.1%})"
    )
    champion, challenger = (seen.support[n] for n in result.names)
    lines.append(
        f"  where the lists differ, {champion} case(s) took the champion's rung and "
        f"{challenger} the challenger's (the list value decides nothing below the minimum)"
    )
    lines.append(f"observational verdict (both criteria must agree): {_SENTENCES[seen.verdict]}")
    if seen.n_floored:
        lines.append(
            f"  {seen.n_floored} estimated propensities were raised to the floor "
            f"{seen.propensity_floor:g}"
        )
    return lines
