"""Re-ranking speed of the case picker on 100,000 scored cases (run on demand, prints figures).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/picker_speed.py [--rows 100000]

Target (issue "Notebooks, picker, dashboard"): re-ranking after a filter change on 100,000
cases takes well under a second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from crossexec_ml.apps import CasePicker
from crossexec_ml.data import make_cases
from crossexec_ml.jobs import score_cases
from crossexec_ml.model import CrossExecModel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    history = make_cases(n_history=6000, n_current=0, seed=1).history
    current = make_cases(n_history=0, n_current=args.rows, seed=2).current
    model = CrossExecModel().fit(history)
    t0 = time.perf_counter()
    scored = score_cases(model, current, explain_top=200)
    print(f"scored {args.rows:,} cases in {time.perf_counter() - t0:.1f} s (setup)")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        picker = CasePicker(scored, current, ledger_path=Path(tmp) / "l.sqlite")
        print(f"picker built in {time.perf_counter() - t0:.2f} s")
        changes = [
            ("court", lambda: setattr(picker.court, "value", picker.court.options[1][1])),
            (
                "hard-bone flag",
                lambda: setattr(picker.flags["flag_long_unresolved"], "value", True),
            ),
            ("weighting", lambda: setattr(picker.weighting, "value", "blend")),
            ("capacity", lambda: setattr(picker.capacity, "value", 5000)),
            (
                "all filters off",
                lambda: (
                    setattr(picker.court, "value", None),
                    setattr(picker.flags["flag_long_unresolved"], "value", False),
                ),
            ),
        ]
        for name, change in changes:
            t0 = time.perf_counter()
            change()
            print(
                f"  re-rank after {name:<16} {1000 * (time.perf_counter() - t0):7.0f} ms "
                f"({len(picker.ranked)} rows shown)"
            )


if __name__ == "__main__":
    main()
