"""data/sample/ is exactly the generator's default output, and it passes validation."""

from __future__ import annotations

import pandas as pd

from crossexec_ml.cli import main
from crossexec_ml.data import SAMPLE_DIR, SYNTHETIC_FILES, load_sample, make_cases
from crossexec_ml.model import stalled_cohort


def test_sample_is_the_generator_default(tmp_path):
    assert main(["generate", "--out", str(tmp_path)]) == 0
    stale = "data/sample/{} is stale: run `make sample` and commit the result"
    for name in SYNTHETIC_FILES:
        if name == "truth.csv":
            # The true probabilities go through exp(); their last printed digit differs between
            # CPUs' vector maths, so the truth is compared to 1e-12 and the rest byte for byte.
            new = pd.read_csv(tmp_path / name, encoding="utf-8-sig")
            pd.testing.assert_frame_equal(
                new, pd.read_csv(SAMPLE_DIR / name, encoding="utf-8-sig"), rtol=1e-12
            )
            continue
        assert (tmp_path / name).read_bytes() == (SAMPLE_DIR / name).read_bytes(), stale.format(
            name
        )


def test_sample_reads_back_as_generated():
    sample = load_sample()
    data = make_cases()
    pd.testing.assert_frame_equal(sample["history"], data.history)
    current = sample["current"]
    pd.testing.assert_frame_equal(current[data.current.columns], data.current)
    # read_cases adds the absent treatment/outcome columns, empty
    assert current.drop(columns=data.current.columns).isna().all().all()
    pd.testing.assert_frame_equal(sample["handlers"], data.handlers)
    pd.testing.assert_frame_equal(sample["truth"], data.truth, check_exact=False, rtol=1e-12)
    assert stalled_cohort(sample["current"]).all()


def test_cli_validates_the_sample(capsys):
    assert main(["validate", str(SAMPLE_DIR / "history.csv")]) == 0
    out = capsys.readouterr().out
    assert "6000 rows" in out and "valid: no problems found" in out
    assert main(["validate", "--kind", "handlers", str(SAMPLE_DIR / "handlers.csv")]) == 0
