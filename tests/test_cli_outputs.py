"""Step 2 item 4: no command writes its output over one of its own inputs.

``crossexec score --cases X.csv --out X.csv`` replaced the court's export with the scored list.
Every command that reads inputs and writes an output now refuses an output that is an input
(the same path, a symlink or a hard link to it, a file inside an input folder, a folder holding
an input), exit 1, before any work, and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from crossexec_ml.cli import main
from crossexec_ml.data import make_cases, write_synthetic
from crossexec_ml.model import CARD_FILE, MODEL_FILE

REFUSED = ("is also an input", "holds an input", "inside the input folder")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("outputs")
    write_synthetic(make_cases(n_history=1500, n_current=200, seed=21), root / "data")
    args = ["train", "--cases", str(root / "data/history.csv"), "--out", str(root / "model")]
    assert main([*args, "--quiet"]) == 0
    scored = root / "scored.parquet"
    assert main(_score(root, root / "data/current.csv", scored)) == 0
    return root


def _score(root: Path, cases: Path, out: Path) -> list[str]:
    return ["score", "--model", str(root / "model"), "--cases", str(cases), "--out", str(out)]


def _digests(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` and its SHA-256: nothing may change on a refusal."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def _refused(capsys, rc: int) -> str:
    err = capsys.readouterr().err
    assert rc == 1, err
    assert any(r in err for r in REFUSED), err
    assert "nothing was written" in err and "Traceback" not in err
    return err


@pytest.mark.parametrize("how", ["same", "spelled", "symlink", "hardlink"])
def test_score_refuses_to_overwrite_the_export(trained, tmp_path, capsys, how):
    export = tmp_path / "current.csv"
    export.write_bytes((trained / "data/current.csv").read_bytes())
    out = {
        "same": export,
        "spelled": tmp_path / "sub" / ".." / "current.csv",
        "symlink": tmp_path / "link.csv",
        "hardlink": tmp_path / "hard.csv",
    }[how]
    (tmp_path / "sub").mkdir()
    if how == "symlink":
        out.symlink_to(export)
    elif how == "hardlink":
        os.link(export, out)
    before = _digests(tmp_path)
    _refused(capsys, main(_score(trained, export, out)))
    assert _digests(tmp_path) == before
    assert out.is_symlink() == (how == "symlink")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file


def test_score_refuses_the_model_folder_and_the_ledger(trained, tmp_path, capsys):
    before = _digests(trained)
    for out in (trained / "model" / CARD_FILE, trained / "model" / MODEL_FILE):
        _refused(capsys, main(_score(trained, trained / "data/current.csv", out)))
    # A folder output is replaced whole: one holding the model or the cases is refused.
    _refused(capsys, main(_score(trained, trained / "data", trained)))
    assert _digests(trained) == before
    ledger = tmp_path / "ledger.sqlite"
    decide = ["decide", "--ledger", str(ledger), "--case", "(2024)湘0103执1号"]
    assert main([*decide, "--action", "keep", "--by", "U01", "--reason", "test"]) == 0
    kept = ledger.read_bytes()
    args = _score(trained, trained / "data/current.csv", ledger)
    _refused(capsys, main([*args, "--ledger", str(ledger)]))
    assert ledger.read_bytes() == kept


def test_score_refuses_a_partitioned_output_over_its_parts(trained, tmp_path, capsys):
    parts = tmp_path / "parts"
    parts.mkdir()
    (parts / "a.parquet").write_bytes(b"PAR1")
    before = _digests(tmp_path)
    for cases, out in ((parts, parts), (parts / "*.parquet", parts), (parts, tmp_path)):
        _refused(capsys, main(_score(trained, cases, out)))
    assert _digests(tmp_path) == before


def test_plan_refuses_to_overwrite_its_inputs(trained, capsys):
    before = _digests(trained)
    for out in (trained / "data/handlers.csv", trained / "scored.parquet"):
        args = ["plan", "--scored", str(trained / "scored.parquet")]
        args += ["--handlers", str(trained / "data/handlers.csv"), "--out", str(out)]
        _refused(capsys, main(args))
    assert _digests(trained) == before


def test_evaluate_and_fairness_refuse_to_overwrite_their_inputs(trained, tmp_path, capsys):
    history = trained / "data/history.csv"
    truth = trained / "data/truth.csv"
    link = tmp_path / "audit.json"
    link.symlink_to(history)
    before = _digests(trained)
    evaluate = ["evaluate", "--model", str(trained / "model"), "--cases", str(history)]
    _refused(capsys, main([*evaluate, "--truth", str(truth), "--json", str(truth)]))
    fairness = ["fairness", "--model", str(trained / "model"), "--cases", str(history)]
    _refused(capsys, main([*fairness, "--out", str(link), "--quiet"]))
    assert _digests(trained) == before and link.is_symlink()


def test_card_refuses_to_overwrite_the_model_or_the_audit(trained, tmp_path, capsys):
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps({"not": "read"}), encoding="utf-8")
    before = {**_digests(trained), **_digests(tmp_path)}
    model = str(trained / "model")
    _refused(capsys, main(["card", model, "--out", str(trained / "model" / CARD_FILE)]))
    _refused(capsys, main(["card", model, "--fairness", str(audit), "--out", str(audit)]))
    assert {**_digests(trained), **_digests(tmp_path)} == before


def test_ledger_export_refuses_a_hard_link_to_the_ledger(tmp_path, capsys):
    ledger = tmp_path / "ledger.sqlite"
    decide = ["decide", "--ledger", str(ledger), "--case", "(2024)湘0103执1号"]
    assert main([*decide, "--action", "keep", "--by", "U01", "--reason", "test"]) == 0
    os.link(ledger, tmp_path / "copy.csv")
    before = _digests(tmp_path)
    export = ["ledger", "export", "--ledger", str(ledger), "--out", str(tmp_path / "copy.csv")]
    _refused(capsys, main(export))
    assert _digests(tmp_path) == before
    assert main(["ledger", "verify", "--ledger", str(ledger)]) == 0


def test_an_output_beside_the_inputs_is_still_written(trained, tmp_path, capsys):
    # The check refuses overwriting, not writing near an input: a new file in the model folder
    # is fine (it replaces nothing that is read).
    out = trained / "model" / "scored-here.csv"
    assert main(_score(trained, trained / "data/current.csv", out)) == 0
    assert out.is_file()
    out.unlink()


def test_generate_refuses_a_file_as_its_folder(tmp_path, capsys):
    export = tmp_path / "current.csv"
    export.write_bytes(b"case_id\n1\n")
    rc = main(["generate", "--out", str(export), "--n-history", "50", "--n-current", "5"])
    err = capsys.readouterr().err
    assert rc == 1 and "is a file" in err and "Traceback" not in err
    assert export.read_bytes() == b"case_id\n1\n"


def test_score_and_plan_refuse_a_model_other_than_the_expected_one(trained, tmp_path, capsys):
    card = json.loads((trained / "model" / CARD_FILE).read_text())
    wrong = "f" * 64 if card["model_sha256"] != "f" * 64 else "e" * 64
    out = tmp_path / "scored.csv"
    args = _score(trained, trained / "data/current.csv", out)
    assert main([*args, "--expect-model", wrong]) == 1
    err = capsys.readouterr().err
    assert "not the approved model" in err and wrong in err and card["model_sha256"] in err
    assert not out.exists()
    assert main([*args, "--expect-model", card["model_id"]]) == 0 and out.is_file()

    plan = ["plan", "--scored", str(trained / "scored.parquet")]
    plan += ["--handlers", str(trained / "data/handlers.csv"), "--out", str(tmp_path / "p.csv")]
    assert main([*plan, "--model", str(trained / "model"), "--expect-model", wrong[:12]]) == 1
    assert "not the approved model" in capsys.readouterr().err
    assert main([*plan, "--expect-model", card["model_id"]]) == 1  # a hash needs the folder
    assert "--model MODEL_DIR" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()
    assert main([*plan, "--model", str(trained / "model"), "--expect-model", card["model_id"]]) == 0


def test_plan_names_handlers_with_implausible_slots(trained, tmp_path, capsys):
    import pandas as pd

    handlers = pd.read_csv(trained / "data/handlers.csv", dtype=str, encoding="utf-8-sig")
    handlers.loc[0, "open_slots"] = "99999999"
    path = tmp_path / "handlers.csv"
    handlers.to_csv(path, index=False)
    args = ["plan", "--scored", str(trained / "scored.parquet"), "--handlers", str(path)]
    assert main([*args, "--out", str(tmp_path / "plan.csv")]) == 0
    out = capsys.readouterr().out
    assert f"1 handler(s) have implausibly many open slots ({handlers.loc[0, 'handler_id']} " in out
