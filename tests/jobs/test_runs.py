"""Finding the finished runs in a runs folder: by manifest, ordered by start time."""

import json

from crossexec_ml.jobs import list_runs, newest_run, read_run


def _run(folder, run_id, started_at, outcome="ok"):
    folder.mkdir(parents=True)
    manifest = {"run_id": run_id, "started_at": started_at, "run_date": started_at[:10]}
    manifest["outcome"] = outcome
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_runs_are_ordered_by_start_not_by_folder_name(tmp_path):
    _run(tmp_path / "b-first", "20261201T010000Z-aaaaaa", "2026-12-01T01:00:00+00:00")
    _run(tmp_path / "a-second", "20261208T010000Z-bbbbbb", "2026-12-08T01:00:00+00:00", "drift")
    runs = list_runs(tmp_path)
    assert [r.folder.name for r in runs] == ["b-first", "a-second"]
    assert newest_run(tmp_path).run_id == "20261208T010000Z-bbbbbb"
    assert newest_run(tmp_path).outcome == "drift"


def test_folders_that_are_not_finished_runs_are_left_out(tmp_path):
    _run(tmp_path / ".x.tmp-20261201T010000Z-aaaaaa-12", "r1", "2026-12-09T01:00:00+00:00")
    (tmp_path / "failed").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "no-id").mkdir()
    (tmp_path / "no-id" / "manifest.json").write_text("{}", encoding="utf-8")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    assert list_runs(tmp_path) == []
    assert newest_run(tmp_path) is None
    assert read_run(tmp_path / "broken") is None


def test_a_missing_runs_folder_has_no_runs(tmp_path):
    assert list_runs(tmp_path / "nowhere") == []
