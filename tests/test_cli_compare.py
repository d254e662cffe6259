"""`crossexec compare`: two model folders judged on the randomised rows of a history."""

from __future__ import annotations

import json

import pandas as pd

from crossexec_ml.cli import main
from crossexec_ml.data import make_cases, write_table


def test_compare_two_models_on_a_later_history(tmp_path, capsys):
    train = make_cases(n_history=800, n_current=10, seed=3).history
    small = train.sample(300, random_state=0)
    later = make_cases(n_history=800, n_current=10, pilot_share=0.5, seed=4).history
    write_table(train, tmp_path / "train.csv")
    write_table(small, tmp_path / "small.csv")
    write_table(later, tmp_path / "later.csv")
    for name in ("train", "small"):
        assert (
            main(
                [
                    "train",
                    "--cases",
                    str(tmp_path / f"{name}.csv"),
                    "--out",
                    str(tmp_path / name),
                    "--quiet",
                ]
            )
            == 0
        )
    out = tmp_path / "cmp.json"
    code = main(
        [
            "compare",
            "--models",
            str(tmp_path / "train"),
            str(tmp_path / "small"),
            "--cases",
            str(tmp_path / "later.csv"),
            "--json",
            str(out),
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["n_randomised"] == int(later["assignment_randomised"].fillna(False).sum())
    assert payload["verdict"] in {"better", "no_evidence", "worse"}
    assert "resolution rate if its list were followed" in printed


def test_compare_without_randomised_rows_gives_the_observational_evidence(tmp_path, capsys):
    hist = make_cases(n_history=600, n_current=10, pilot_share=0.0, seed=5).history
    write_table(hist, tmp_path / "h.csv")
    assert (
        main(["train", "--cases", str(tmp_path / "h.csv"), "--out", str(tmp_path / "m"), "--quiet"])
        == 0
    )
    capsys.readouterr()
    code = main(
        [
            "compare",
            "--models",
            str(tmp_path / "m"),
            str(tmp_path / "m"),
            "--cases",
            str(tmp_path / "h.csv"),
            "--json",
            str(tmp_path / "x.json"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "no randomised case" in captured.out
    assert "whose rung a person chose" in captured.out
    # Judged on its own training rows: the operator is warned.
    assert f"{len(hist)} of {len(hist)} row(s) are dated on or before" in captured.err
    payload = json.loads((tmp_path / "x.json").read_text(encoding="utf-8"))
    assert payload["verdict"] == "no_randomised"
    assert payload["observed"]["n_rows"] == len(hist)
    assert payload["observed"]["difference"] == 0


def test_compare_refuses_a_history_without_outcomes(tmp_path, capsys):
    hist = make_cases(n_history=600, n_current=10, pilot_share=0.0, seed=5).history
    write_table(hist, tmp_path / "h.csv")
    write_table(hist.assign(resolved_180d=pd.NA), tmp_path / "open.csv")
    assert (
        main(["train", "--cases", str(tmp_path / "h.csv"), "--out", str(tmp_path / "m"), "--quiet"])
        == 0
    )
    code = main(
        [
            "compare",
            "--models",
            str(tmp_path / "m"),
            str(tmp_path / "m"),
            "--cases",
            str(tmp_path / "open.csv"),
            "--json",
            str(tmp_path / "x.json"),
        ]
    )
    assert code == 1
    assert "no case with a cross-execution rung taken" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
