"""Champion/challenger benchmark: does `compare` prefer the truly better list? (on demand)

For each seed, a champion is trained on a full generated history and a deliberately weaker
challenger on the same rows with their outcomes shuffled (``--challenger shuffled``: a list
that knows nothing) or on a small slice of them (``--challenger small``); both are compared
on the randomised rows of a *later*, independently generated history (half of its rows
randomised, as a pilot would give) with :func:`crossexec_ml.evaluate.compare_models`, which
uses no truth. The truth then says which
list is really better (the mean true probability of resolution under each list's rungs), and
the benchmark prints, per seed, both values, the verdict and whether it points the right way,
then the share of seeds where the comparison prefers the truly better model. The same is
printed for the observational evidence (the later history's non-randomised rows, judged by
held-out log-loss and a DR list value with estimated propensities): ``obs_*`` columns.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compare_models.py [--seeds 0 1 2 3 4 5]
        [--history 6000] [--challenger shuffled|small] [--small 600] [--later 6000]
        [--pilot-share 0.5]

Target (issue "Learning from its own decisions"): the better model is preferred in most seeds.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from crossexec_ml.data import make_cases
from crossexec_ml.evaluate import compare_models, list_rungs
from crossexec_ml.model import CrossExecModel
from crossexec_ml.settings import PROB_COLUMNS


def _true_value(later, truth, rungs) -> float:
    """Mean true probability of resolution if every later row got its list's rung."""
    key = ["case_id", "as_of_date"]
    p = later[key].merge(truth, on=key, how="left")[list(PROB_COLUMNS)].to_numpy()
    return float(p[np.arange(len(p)), rungs].mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    ap.add_argument("--history", type=int, default=6000)
    ap.add_argument("--challenger", choices=["shuffled", "small"], default="shuffled")
    ap.add_argument("--small", type=int, default=600)
    ap.add_argument("--later", type=int, default=6000)
    ap.add_argument("--pilot-share", type=float, default=0.5)
    args = ap.parse_args()

    rows = []
    for seed in args.seeds:
        t0 = time.perf_counter()
        train = make_cases(n_history=args.history, n_current=10, seed=100 + seed).history
        later_data = make_cases(
            n_history=args.later, n_current=10, pilot_share=args.pilot_share, seed=200 + seed
        )
        later, truth = later_data.history.reset_index(drop=True), later_data.truth
        champion = CrossExecModel().fit(train)
        if args.challenger == "small":
            weak = train.sample(args.small, random_state=seed)
        else:
            shuffled = np.random.default_rng(seed).permutation(train["resolved_180d"].to_numpy())
            weak = train.assign(resolved_180d=shuffled)
        challenger = CrossExecModel().fit(weak)
        result = compare_models(later, champion.predict_rungs, challenger.predict_rungs)
        true = {
            name: _true_value(later, truth, list_rungs(later, m.predict_rungs))
            for name, m in (("champion", champion), ("challenger", challenger))
        }
        truly_better = "challenger" if true["challenger"] > true["champion"] else "champion"
        said = {"better": "challenger", "worse": "champion"}.get(result.verdict, "")
        sign = "challenger" if result.difference > 0 else "champion"
        seen = result.observed
        obs_said = {"better": "challenger", "worse": "champion"}.get(seen.verdict, "")
        obs_sign = "challenger" if seen.difference > 0 else "champion"
        rows.append(
            {
                "seed": seed,
                "n_randomised": result.n_randomised,
                "dr_champion": result.value["champion"],
                "dr_challenger": result.value["challenger"],
                "true_champion": true["champion"],
                "true_challenger": true["challenger"],
                "verdict": result.verdict,
                "points_right_way": sign == truly_better,
                "verdict_right": said == truly_better,
                "obs_rows": seen.n_rows,
                "obs_logloss_diff": seen.log_loss_difference,
                "obs_verdict": seen.verdict,
                "obs_value_verdict": seen.value_verdict,
                "obs_points_right_way": obs_sign == truly_better,
                "obs_verdict_right": obs_said == truly_better,
                "seconds": time.perf_counter() - t0,
            }
        )
        print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False, header=len(rows) == 1))
    table = pd.DataFrame(rows)
    print()
    print(
        f"seeds: {len(table)}; difference points to the truly better model in "
        f"{table['points_right_way'].mean():.0%}; a decided verdict (better/worse) that is "
        f"right in {table['verdict_right'].mean():.0%}; 'no evidence' in "
        f"{(table['verdict'] == 'no_evidence').mean():.0%}; a wrong decided verdict in "
        f"{((table['verdict'] != 'no_evidence') & ~table['verdict_right']).mean():.0%}"
    )
    decided = table["obs_verdict"].isin(["better", "worse"])
    champion_better = table["true_champion"] > table["true_challenger"]
    loss_right = ((table["obs_logloss_diff"] > 0) == champion_better).mean()
    print(
        f"observational rows: difference points to the truly better model in "
        f"{table['obs_points_right_way'].mean():.0%}; decided and right in "
        f"{table['obs_verdict_right'].mean():.0%}; decided and wrong in "
        f"{(decided & ~table['obs_verdict_right']).mean():.0%}; log-loss lower for the truly "
        f"better model in {loss_right:.0%}"
    )


if __name__ == "__main__":
    main()
