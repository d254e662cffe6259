"""``validate_file`` on a large CSV, batch by batch, against the whole file at once.

The same hostile tables, written as CSV, validated whole and in batches of a few rows: every
problem (row, column, masked value, fix, order), the count and the summary must be the same,
duplicates across batches included.
"""

from __future__ import annotations

import pandas as pd
import pytest

from crossexec_ml.data import validate_file
from crossexec_ml.data._batch_check import _validate_csv_in_batches
from tests.data.test_vectorised_validation import hostile_frame


def _compare(path, batch_rows, **kw):
    whole = validate_file(path, **kw)
    batched = _validate_csv_in_batches(
        path,
        kind=kw.get("kind", "cases"),
        allow_personal_columns=kw.get("allow_personal_columns"),
        batch_rows=batch_rows,
    )
    assert [str(p) for p in batched.problems] == [str(p) for p in whole.problems]
    assert batched.n_problems == whole.n_problems
    # Case ids written two ways are looked for within a batch only (the module's note).
    lookalike = "differ only in full-width"
    assert [line for line in batched.summary().splitlines() if lookalike not in line] == [
        line for line in whole.summary().splitlines() if lookalike not in line
    ]
    return whole


@pytest.mark.parametrize("seed", range(2))
def test_hostile_csv_in_batches_gives_the_same_problems(tmp_path, seed):
    frame = hostile_frame(seed)
    # Rows repeated far from their first copy: duplicates across batches.
    frame = pd.concat([frame, frame.iloc[[1, 2, 40]], frame.iloc[[2]]], ignore_index=True)
    path = tmp_path / "hostile.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    assert _compare(path, batch_rows=25).n_problems > 200  # more than one batch lists


def test_valid_csv_in_batches_is_valid_with_the_same_summary(tmp_path):
    from tests.conftest import case_rows

    frame = pd.concat([case_rows()] * 10, ignore_index=True)
    frame["case_id"] = [f"(2024)湘0103执{i}号" for i in range(len(frame))]
    path = tmp_path / "ok.csv"
    frame.to_csv(path, index=False, encoding="gbk")
    whole = _compare(path, batch_rows=4)
    assert whole.ok
    assert validate_file(path, batch_over_mb=0).ok  # the switch in validate_file
    # The same rows again, far from their first copies and one twice: duplicates across
    # batches, each naming the first row with its key, as the whole file does.
    frame = pd.concat([frame, frame.iloc[[1, 9, 1]]], ignore_index=True)
    frame.to_csv(path, index=False, encoding="gbk")
    whole = _compare(path, batch_rows=4)
    assert [p.expected.split(" has")[0] for p in whole.problems] == [
        "duplicate: row 3",
        "duplicate: row 11",
        "duplicate: row 3",
    ]
