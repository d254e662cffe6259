"""Model-quality benchmark on generated worlds with a known truth (run on demand, not a test).

Prints, for every structural variant of the generator (``crossexec_ml.data.VARIANTS``) side by
side, the share of the oracle's extra resolutions at 10% capacity (mean +- sd over seeds) of:
the ceiling (a model fitted to the true gains, observed columns only), today's practice (oldest
idle first, each case given its true best rung), ranking by the model's own P(resolve | cross)
as it is and through the product's rung rule and floors (like for like), the chosen model's
gain list (best allowed gain, each case at its best rung, no floors), its priority list's picks
each given their true best rung (the choice of cases alone), the fixed model of earlier
versions (``s_linear_0.2``) and the chosen model's priority list (``learner="auto"``, chosen
with no truth) with what it chose; then AUC gap and calibration error against the truth; the
fit time (selection included) on all rows; and the scoring throughput.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/model_quality.py [--sizes 20000 6000]
        [--seeds 1 2 3] [--variants default divergent ...] [--learners] [--score-rows 1000000]

``--learners`` adds every candidate learner fitted as it is (slow: one back-test each).

Targets (issue 15): on every variant at 20,000 rows the default priority list >= 0.75 of the
oracle and above the p_cross ranking, AUC gap <= 0.025, calibration error <= 0.015; at 6,000
rows >= 0.68; the chosen model wins or ties the fixed one; fit with selection and back-test
under 60 s; scoring >= 100,000 cases/s in memory on one thread. After the table of each size,
a block prints every target per variant: met or MISSED on the mean over seeds, and how many
seeds miss. "Above the p_cross ranking" is judged like for like, through the same rung rule,
floors and vulnerability boost (the floors are the domain's, DOMAIN.md section 3; the raw
p_cross list obeys none of them); the raw comparison is printed beside it.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor

from crossexec_ml.data import VARIANTS, make_cases
from crossexec_ml.decide import (
    best_allowed_gain,
    capacity_k,
    idle_days,
    priority_order,
    suggest_rung,
)
from crossexec_ml.evaluate import backtest, temporal_splits
from crossexec_ml.evaluate._backtest import _align_truth, _priority_list, rank_order, truth_gain
from crossexec_ml.jobs import score_cases, score_rows
from crossexec_ml.model import CrossExecModel, hard_bone_flags, model_features
from crossexec_ml.model._estimator import _Design
from crossexec_ml.model._learners import _learner_logits
from crossexec_ml.settings import (
    LEARNERS,
    PROB_COLUMNS,
    BacktestSettings,
    LadderSettings,
    PrioritySettings,
)

FIXED = "s_linear_0.2"


class TruthFitted:
    """The ceiling: boosted regressions of the true log-odds per rung on the observed columns.

    It sees the truth of its training rows only (looked up by case and date), never the test
    rows': what a learner of these columns could reach if it were told the true gains.
    """

    def __init__(self, truth: pd.DataFrame):
        self.truth = truth

    @staticmethod
    def _x(cases: pd.DataFrame) -> np.ndarray:
        numeric, categorical = model_features()
        m = _Design(numeric, categorical).matrix(cases, None)
        cols = [m[c].to_numpy(float) for c in numeric]
        for c in categorical:
            codes = m[c].cat.codes.to_numpy().astype(float)
            codes[codes < 0] = np.nan
            cols.append(codes)
        return np.column_stack(cols)

    def fit(self, history: pd.DataFrame) -> TruthFitted:
        rows = history.reset_index(drop=True)
        t = rows[["case_id", "as_of_date"]].merge(
            self.truth, on=["case_id", "as_of_date"], how="left"
        )
        p = np.clip(t[list(PROB_COLUMNS)].to_numpy(), 1e-6, 1 - 1e-6)
        x = self._x(rows)
        self.reg_ = [
            HistGradientBoostingRegressor(max_iter=300, learning_rate=0.1, random_state=0).fit(
                x, np.log(p[:, r] / (1 - p[:, r]))
            )
            for r in range(4)
        ]
        return self

    def predict_rungs(self, cases: pd.DataFrame) -> pd.DataFrame:
        x = self._x(cases)
        z = np.column_stack([r.predict(x) for r in self.reg_])
        return pd.DataFrame(1 / (1 + np.exp(-z)), columns=list(PROB_COLUMNS), index=cases.index)


def _today_true_rung(history: pd.DataFrame, truth: pd.DataFrame, s: BacktestSettings) -> float:
    """Oldest idle first over the pooled test windows, each case given its true best rung."""
    rows = history[history["cross_mode"].notna() & history["resolved_180d"].notna()]
    rows = rows.reset_index(drop=True)
    test = np.concatenate([t for _, t, _, _ in temporal_splits(rows["as_of_date"], s)])
    cases = rows.iloc[test].reset_index(drop=True)
    key = cases[["case_id", "as_of_date"]]
    tp = key.merge(truth, on=["case_id", "as_of_date"], how="left")[list(PROB_COLUMNS)]
    tp = tp.to_numpy()
    k = int(np.ceil(s.capacity_share * len(cases)))
    gain, rung = best_allowed_gain(tp, cases["ladder_stage"])
    oracle = np.sort(gain)[::-1][:k].sum()
    top = rank_order(idle_days(cases), cases)[:k]
    return float(truth_gain(tp, top, rung[top]) / oracle)


def _decomposition(
    scored: list[tuple[pd.DataFrame, pd.DataFrame]], truth: pd.DataFrame, s: BacktestSettings
) -> dict:
    """Where the priority list loses, on the pooled back-test windows of the chosen model.

    - ``picks_true_rung``: the priority list's cases, each given its true best allowed rung
      (the choice of cases alone);
    - ``p_cross_rules``: P(resolve | suggested rung) ranked through the product's own rules
      (cheapest close rung, ``min_gain``, floors, vulnerability boost), the like-for-like
      comparison with the priority list: cases suggested ``keep`` score 0, as they gain 0;
    - ``list_no_floors`` and ``p_cross_rules_no_floors``: the same two lists with the floors
      and the vulnerability boost switched off (the rung rule kept), so what the floors cost
      each list shows apart from what the ranking adds.
    """
    cases = pd.concat([c for c, _ in scored], ignore_index=True)
    probs = pd.concat([p for _, p in scored], ignore_index=True)
    tp = _align_truth(cases, truth)[list(PROB_COLUMNS)].to_numpy()
    k = capacity_k(len(cases), share=s.capacity_share)
    true_gain, _ = best_allowed_gain(tp, cases["ladder_stage"])
    oracle = np.sort(true_gain)[::-1][:k].sum()
    top, _ = _priority_list(cases, probs, k, LadderSettings())
    sug = suggest_rung(probs, cases["ladder_stage"])
    sug["flag_long_unresolved"] = hard_bone_flags(cases)["flag_long_unresolved"].to_numpy()
    as_p = sug.assign(uplift=np.where(sug["suggested_rung"] != "keep", sug["p_cross"], 0.0))
    codes = sug["suggested_rung"].cat.codes.to_numpy()
    out = {"picks_true_rung": float(true_gain[top].sum() / oracle)}
    # Ranking by the *true* P(resolve | best rung): how close a p_cross list can come to the
    # oracle in this world at all, hence how much a gain ranking can beat it by.
    true_rung = best_allowed_gain(tp, cases["ladder_stage"])[1]
    true_p = tp[np.arange(len(tp)), true_rung]
    by_p = rank_order(true_p, cases)[:k]
    out["true_p_cross"] = float(truth_gain(tp, by_p, true_rung[by_p]) / oracle)
    no_floors = PrioritySettings(
        livelihood_floor=0.0, long_unresolved_floor=0.0, vulnerability_boost=1.0
    )
    for name, frame, prio in (
        ("p_cross_rules", as_p, PrioritySettings()),
        ("p_cross_rules_no_floors", as_p, no_floors),
        ("list_no_floors", sug, no_floors),
    ):
        rank = priority_order(frame, cases, replace(prio, capacity=k)).rank
        chosen = np.flatnonzero(rank <= k)
        out[name] = float(truth_gain(tp, chosen, codes[chosen]) / oracle)
    return out


def one_world(variant: str, n: int, seed: int, learners: bool) -> dict:
    """Every policy's share of the oracle on one generated world (pooled back-test windows)."""
    data = make_cases(n_history=n, n_current=0, seed=seed, variant=variant)
    s = BacktestSettings(seed=seed)
    out: dict = {"variant": variant, "seed": seed}
    chosen: list[str] = []
    scored: list[tuple[pd.DataFrame, pd.DataFrame]] = []  # (cases, probabilities) per window

    class Recording(CrossExecModel):
        def fit(self, history):
            super().fit(history)
            chosen.append(self.learner_)
            return self

        def predict_rungs(self, cases, **kw):
            probs = super().predict_rungs(cases, **kw)
            scored.append((cases, probs))
            return probs

    t0 = time.perf_counter()
    auto = backtest(data.history, lambda: Recording(random_state=seed), s, truth=data.truth)
    out["backtest_s"] = time.perf_counter() - t0
    pa = auto["pooled"]
    out["chosen"] = "/".join(chosen)
    out["auto"] = pa["share_of_oracle_priority"]
    out["auto_gain_list"] = pa["share_of_oracle_model"]
    out["p_cross"] = pa["share_of_oracle_p_cross"]
    out["auc_gap"] = pa["truth_auc"] - pa["auc"]
    out["ece_vs_truth"] = pa["ece_vs_truth"]
    out.update(_decomposition(scored, data.truth, s))
    fixed = backtest(
        data.history, lambda: CrossExecModel(learner=FIXED, random_state=seed), s, truth=data.truth
    )
    out["fixed"] = fixed["pooled"]["share_of_oracle_priority"]
    truth = data.truth[["case_id", "as_of_date", *PROB_COLUMNS]]
    ceiling = backtest(data.history, lambda: TruthFitted(truth), s, truth=data.truth)
    out["ceiling"] = ceiling["pooled"]["share_of_oracle_model"]
    out["today_true_rung"] = _today_true_rung(data.history, data.truth, s)
    if learners:
        for name in LEARNERS:
            r = backtest(
                data.history,
                lambda name=name: CrossExecModel(learner=name, random_state=seed),
                s,
                truth=data.truth,
            )
            out[f"L:{name}"] = r["pooled"]["share_of_oracle_priority"]
    t0 = time.perf_counter()
    CrossExecModel(random_state=seed).fit(data.history)
    out["fit_s"] = time.perf_counter() - t0
    return out


COLUMNS = (
    ("ceiling", "ceiling"),
    ("today_true_rung", "oldest idle*"),
    ("p_cross", "p_cross"),
    ("p_cross_rules", "p_cross rules"),
    ("auto_gain_list", "gain list**"),
    ("picks_true_rung", "picks@true rung"),
    ("true_p_cross", "true p_cross***"),
    ("p_cross_rules_no_floors", "p_x rules nofl"),
    ("list_no_floors", "list no floors"),
    ("fixed", "fixed s_lin0.2"),
    ("auto", "chosen (auto)"),
)

#: Issue 15's targets: (share of the oracle the list must reach, or None) per history size.
SHARE_TARGET = {20000: 0.75, 6000: 0.68}


def print_table(frame: pd.DataFrame, n: int) -> None:
    """Variants side by side: mean +- sd over seeds of each policy's share of the oracle."""
    extra = [(c, c.removeprefix("L:")) for c in frame.columns if c.startswith("L:")]
    cols = list(COLUMNS) + extra + [("auc_gap", "AUC gap"), ("ece_vs_truth", "ECE truth")]
    seeds = frame.groupby("variant")["seed"].nunique()
    print(
        f"== {n:,} historical rows, {seeds.min()}-{seeds.max()} seeds; share of the oracle at "
        "10% capacity, mean +- sd =="
    )
    print(f"{'variant':<20}" + "".join(f"{label:>17}" for _, label in cols))
    for variant, g in frame.groupby("variant", sort=False):
        cells = [f"{g[c].mean():.3f} +- {g[c].std(ddof=1):.3f}" for c, _ in cols]
        print(f"{variant:<20}" + "".join(f"{c:>17}" for c in cells))
        diff = g["auto"] - g["fixed"]
        print(
            f"{'':<20}chosen - fixed {diff.mean():+.3f} +- {diff.std(ddof=1):.3f}; chosen "
            f"(per fit: 3 windows/final): {'; '.join(sorted(set(g['chosen'])))}; fit "
            f"{g['fit_s'].mean():.1f} s (max {g['fit_s'].max():.1f}), back-test "
            f"{g['backtest_s'].mean():.1f} s"
        )
    print("  * oldest idle first, each case given its true best rung (today's practice)")
    print(
        "  ** the chosen model's best allowed gain alone, each case sent to its best rung: the\n"
        "     same estimates as the priority list without its cheapest-rung rule, floors and\n"
        "     vulnerability boost (the gap between the two is the product's rules, not the model)\n"
        "  p_cross rules: P(resolve | suggested rung) ranked through the same rules and floors as\n"
        "     the priority list (like for like); picks@true rung: the priority list's cases, each\n"
        "     given its true best rung (the choice of cases alone); p_x rules nofl and list no\n"
        "     floors: the same two lists with the floors and the vulnerability boost off\n"
        "  *** ranking by the true P(resolve | best rung), each case at its true best rung: how\n"
        "     close any p_cross list comes to the oracle in this world, so how much room a gain\n"
        "     ranking has to beat it\n"
    )


def print_targets(frame: pd.DataFrame, n: int) -> None:
    """Each of issue 15's targets per variant: the mean over seeds, and the seeds that miss.

    "Above ranking by its own P(resolve | cross)" is judged like for like (``p_cross rules``:
    the same cheapest-rung rule, floors and boost; docs/design/model.md says why); the raw
    ``p_cross`` list, which obeys neither, is printed beside it.
    """
    target = SHARE_TARGET.get(n)
    print(f"== targets at {n:,} rows (mean over seeds; seeds that miss in brackets) ==")
    for variant, g in frame.groupby("variant", sort=False):
        k = len(g)
        parts = []
        if target is not None:
            miss = int((g["auto"] < target).sum())
            ok = "met" if g["auto"].mean() >= target else "MISSED"
            parts.append(f"list {g['auto'].mean():.3f} >= {target}: {ok} [{miss}/{k}]")
        d = g["auto"] - g["p_cross_rules"]
        ok = "met" if d.mean() > 0 else "MISSED"
        behind = int((d <= 0).sum())
        parts.append(f"above p_cross like for like {d.mean():+.3f}: {ok} [{behind}/{k}]")
        parts.append(f"(raw p_cross {(g['auto'] - g['p_cross']).mean():+.3f})")
        if n >= 20000:
            limits = (("auc_gap", 0.025, "AUC gap"), ("ece_vs_truth", 0.015, "ECE"))
            for col, limit, label in limits:
                ok = "met" if g[col].mean() <= limit else "MISSED"
                over = int((g[col] > limit).sum())
                parts.append(f"{label} {g[col].mean():.3f} <= {limit}: {ok} [{over}/{k}]")
            ok = "met" if g["fit_s"].max() < 60 else "MISSED"
            parts.append(f"fit {g['fit_s'].max():.1f} s < 60: {ok}")
        print(f"  {variant:<19}" + "; ".join(parts))
    print()


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
    # The learner alone: its log-odds from ready-made design rows (transforms, derived
    # features and the baseline excluded), in the same 100k-row chunks as predict_rungs.
    # Shown, not the target.
    bare = 0.0
    for i in range(0, n_rows, 100_000):
        chunk = model.design_matrix(cases.iloc[i : i + 100_000])
        z = model._blocks(chunk)
        trees = model._tree_inputs(chunk, np.zeros(len(chunk)))
        t0 = time.perf_counter()
        _learner_logits(model.learner_, model.parts_, z, model.n_inter_, trees)
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
        ("the learner only", "bare_rows_per_s"),
    ):
        print(f"  {label:<31}{t[key]:>10,.0f} cases/s  {t[key] / est:>5.0%} of the estimator")
    print(
        f"  score_cases keeps {t['ratio_median']:.0%} of the estimator's throughput (median "
        f"of the rounds' ratios, range {t['ratio_min']:.0%}-{t['ratio_max']:.0%}; best round "
        f"against best round {t['ratio_best']:.0%}; target >= 70%),\n"
        f"  at {t['score_rows_per_s']:,.0f} cases/s (target >= 30,000)\n"
        "  estimator = CrossExecModel.predict_rungs on the same case rows: its own transforms\n"
        "  (derived features, splines, one-hot), the regression and the boosted baseline.\n"
        "  the learner only = its log-odds from ready-made design rows, shown for reference.\n"
        "   score_cases adds the rung choice, flags, fingerprints, guidance,\n"
        "  the ranking with its floors and tie rule, and the reasons for the top 2,000 cases."
    )


#: Seeds when ``--seeds`` is not given: a window of a small history is noisier (the list's
#: sd over seeds is about 0.02 at 20,000 rows and 0.03-0.10 at 6,000), so more seeds there.
DEFAULT_SEEDS = {20000: list(range(1, 9)), 6000: list(range(1, 16))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[20000, 6000])
    ap.add_argument("--seeds", type=int, nargs="+", help="default: 1-8 at 20,000 rows, 1-15 below")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS))
    ap.add_argument("--learners", action="store_true", help="also every learner as it is")
    ap.add_argument("--score-rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=7, help="timing rounds of the scoring table")
    ap.add_argument("--csv", help="also write the per-seed rows to this CSV")
    args = ap.parse_args()
    for n in args.sizes:
        rows = []
        seeds = args.seeds or DEFAULT_SEEDS.get(n, DEFAULT_SEEDS[20000 if n >= 10000 else 6000])
        for variant in args.variants:
            for seed in seeds:
                rows.append(one_world(variant, n, seed, args.learners))
                print(
                    f"  [{variant} seed {seed}: auto {rows[-1]['auto']:.3f} fixed "
                    f"{rows[-1]['fixed']:.3f} chose {rows[-1]['chosen']}]",
                    flush=True,
                )
        frame = pd.DataFrame(rows)
        if args.csv:
            frame.to_csv(args.csv.replace(".csv", f"_{n}.csv"), index=False)
        print_table(frame, n)
        print_targets(frame, n)
    if args.score_rows:
        print_throughput(throughput(args.score_rows, (args.seeds or [1])[0], args.rounds))


if __name__ == "__main__":
    main()
