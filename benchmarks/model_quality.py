"""Model-quality benchmark on generated data with a known truth (run on demand, not a test).

Prints, for each history size, the temporal back-test next to the truth's limits and the
baselines that mimic today's practice; the fit time on all rows; and the scoring throughput
of the whole ``score_cases`` path against the fitted estimator's own prediction
(``CrossExecModel.predict_rungs``) on the same rows, in the same process.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/model_quality.py [--sizes 6000 20000]
        [--score-rows 1000000] [--seeds 1 2 3 4 5 6 7 8]

Targets (issue "Model"): on 20,000 rows AUC within 0.03 of the truth's AUC, calibration error
against the truth below 0.02, policy value at 10% capacity >= 75% of the oracle and ahead of
every baseline; fit under 60 s; score >= 70% of the estimator's predict throughput and
>= 30,000 cases/s on 1M rows.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from crossexec_ml.data import make_cases
from crossexec_ml.evaluate import backtest
from crossexec_ml.jobs import score_cases, score_rows
from crossexec_ml.model import CrossExecModel
from crossexec_ml.settings import BacktestSettings

POLICIES = (
    "priority",
    "model",
    "p_cross",
    "oldest_idle_first",
    "largest_amount_first",
    "most_hard_bones_first",
    "random",
)


def quality(n: int, seeds: list[int]) -> dict:
    """Back-test on generated data for each seed; metrics per seed and their mean and sd."""
    per_seed = []
    for seed in seeds:
        data = make_cases(n_history=n, n_current=0, seed=seed)
        t0 = time.perf_counter()
        result = backtest(
            data.history, CrossExecModel, BacktestSettings(seed=seed), truth=data.truth
        )
        bt_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        CrossExecModel().fit(data.history)
        fit_seconds = time.perf_counter() - t0
        per_seed.append(
            {
                **result["pooled"],
                "fit_s": fit_seconds,
                "backtest_s": bt_seconds,
                "auc_gap": result["pooled"]["truth_auc"] - result["pooled"]["auc"],
            }
        )
    frame = pd.DataFrame(per_seed, index=seeds)
    return {"n": n, "per_seed": frame, "mean": frame.mean(), "sd": frame.std(ddof=1)}


def throughput(n_rows: int, seed: int, rounds: int = 7) -> dict:
    """Scoring throughput on ``n_rows`` generated cases, stage by stage, in one process.

    The target compares the whole ``score_cases`` path with the fitted estimator's own
    prediction on the same case rows, ``CrossExecModel.predict_rungs`` (its transforms, the
    regression and the boosted baseline: what ``predict_proba`` is for a scikit-learn
    pipeline). Each round times both back to back; the ratio reported is the median of the
    rounds' ratios, so load from other processes tends to move both parts together.
    """
    data = make_cases(n_history=6000, n_current=0, seed=seed)
    model = CrossExecModel().fit(data.history)
    cases = make_cases(n_history=0, n_current=n_rows, seed=seed + 1).current
    # The inner regression alone: LogisticRegression.predict_proba on the model's ready-made
    # design rows for the four rungs, transforms excluded; in the same 100k-row chunks as
    # predict_rungs, since 1M x 4 design rows at once need ~8 GB. Shown, not the target.
    bare = 0.0
    for i in range(0, n_rows, 100_000):
        z, zi = model._blocks(model.design_matrix(cases.iloc[i : i + 100_000]))
        stacked = np.vstack([model._design(z, zi, np.full(len(z), r)) for r in range(4)])
        t0 = time.perf_counter()
        model.lr_.predict_proba(stacked)
        bare += time.perf_counter() - t0
    # Warm-up at full size: one-hot tables, imports, and the allocator's first large pages.
    model.predict_rungs(cases)
    score_cases(model, cases)
    times: dict[str, list[float]] = {"predict": [], "rows": [], "whole": []}
    for _ in range(rounds):
        for key, call in (
            ("predict", lambda: model.predict_rungs(cases)),
            ("rows", lambda: score_rows(model, cases)),
            ("whole", lambda: score_cases(model, cases)),
        ):
            t0 = time.perf_counter()
            call()
            times[key].append(time.perf_counter() - t0)
    # The ratio is taken within each round (the two runs back to back see the same machine)
    # and its median reported; the rates are the best round per stage, as timeit reports,
    # since other processes on a shared machine only ever add time.
    ratios = [p / w for p, w in zip(times["predict"], times["whole"], strict=True)]
    return {
        "rows": n_rows,
        "rounds": rounds,
        "score_rows_per_s": n_rows / min(times["whole"]),
        "row_stage_rows_per_s": n_rows / min(times["rows"]),
        "predict_rungs_rows_per_s": n_rows / min(times["predict"]),
        "bare_rows_per_s": n_rows / bare,
        "ratio_best": min(times["predict"]) / min(times["whole"]),
        "ratio_median": float(np.median(ratios)),
        "ratio_min": float(np.min(ratios)),
        "ratio_max": float(np.max(ratios)),
    }


def print_throughput(t: dict) -> None:
    """The scoring table: whole path, row-wise stage, the estimator, its inner regression."""
    est = t["predict_rungs_rows_per_s"]
    print(
        f"== scoring {t['rows']:,} cases (one process, OMP_NUM_THREADS=1, {t['rounds']} rounds "
        "after a warm-up; rates from the best round) =="
    )
    for label, key in (
        ("score_cases (whole path)", "score_rows_per_s"),
        ("score_rows (row-wise stage)", "row_stage_rows_per_s"),
        ("predict_rungs (the estimator)", "predict_rungs_rows_per_s"),
        ("inner regression only", "bare_rows_per_s"),
    ):
        print(f"  {label:<31}{t[key]:>10,.0f} cases/s  {t[key] / est:>5.0%} of the estimator")
    print(
        f"  score_cases keeps {t['ratio_median']:.0%} of the estimator's throughput (median "
        f"of the rounds' ratios, range {t['ratio_min']:.0%}-{t['ratio_max']:.0%}; best round "
        f"against best round {t['ratio_best']:.0%}; target >= 70%),\n"
        f"  at {t['score_rows_per_s']:,.0f} cases/s (target >= 30,000)\n"
        "  estimator = CrossExecModel.predict_rungs on the same case rows: its own transforms\n"
        "  (derived features, splines, one-hot), the regression and the boosted baseline.\n"
        "  inner regression only = LogisticRegression.predict_proba on ready-made design rows,\n"
        "  shown for reference. score_cases adds the rung choice, flags, fingerprints, guidance,\n"
        "  the ranking with its floors and tie rule, and the reasons for the top 2,000 cases."
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[6000, 20000])
    ap.add_argument("--score-rows", type=int, default=1_000_000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6, 7, 8])
    ap.add_argument("--rounds", type=int, default=7, help="timing rounds of the scoring table")
    args = ap.parse_args()

    print(
        f"model quality, temporal back-test pooled over 3 windows, seeds {args.seeds} "
        "(mean +- sd over seeds)\n"
    )
    for n in args.sizes:
        r = quality(n, args.seeds)
        m, sd, per = r["mean"], r["sd"], r["per_seed"]

        def ms(key: str, fmt: str = ".3f", m=m, sd=sd) -> str:
            return f"{m[key]:{fmt}} +- {sd[key]:{fmt}}"

        print(f"== {n} historical rows (test rows ~{m['n_test']:.0f}, k ~ {m['k']:.0f}) ==")
        print(
            f"  AUC {ms('auc')}   truth AUC {ms('truth_auc')}   gap {ms('auc_gap')} "
            "(target <= 0.03)"
        )
        print(
            f"  calibration error vs truth (ECE, deciles) {ms('ece_vs_truth', '.4f')} "
            f"(target < 0.02); per-case MAE vs truth {ms('mae_vs_truth', '.4f')}"
        )
        print(
            f"  Brier {ms('brier', '.4f')}   precision@k {ms('precision_at_k')}   "
            f"recall@k {ms('recall_at_k')}"
        )
        print("  policy value at 10% capacity, share of the oracle (top-k by true gain):")
        for name in POLICIES:
            print(f"    {name:<24}{ms('share_of_oracle_' + name)}")
        wins = int((per["share_of_oracle_model"] > per["share_of_oracle_p_cross"]).sum())
        margin = per["share_of_oracle_model"] - per["share_of_oracle_p_cross"]
        print(
            f"  gain ranking vs p_cross ranking: ahead on {wins}/{len(per)} seeds, margin "
            f"{margin.mean():+.3f} +- {margin.std(ddof=1):.3f}"
        )
        print(
            f"  fit on all {n} rows: {ms('fit_s', '.1f')} s (target < 60 s); whole back-test "
            f"{ms('backtest_s', '.1f')} s\n"
        )
    if args.score_rows:
        print_throughput(throughput(args.score_rows, args.seeds[0], args.rounds))


if __name__ == "__main__":
    main()
