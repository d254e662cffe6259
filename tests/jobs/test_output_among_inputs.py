"""An output the next run would read as cases is refused (``refuse_output_among_inputs``)."""

from __future__ import annotations

import pytest

from crossexec_ml.errors import InputError
from crossexec_ml.jobs import refuse_output_among_inputs


@pytest.mark.parametrize(
    ("out", "pattern", "refused"),
    [
        ("exp/x.parquet", "exp/*.parquet", True),  # the list matches the glob
        ("exp/scored", "exp/*.parquet", False),  # a parts folder below: '*' stays in exp/
        ("exp/scored", "exp/**/*.parquet", True),  # ... unless the glob is recursive
        ("exp/a/b/x.parquet", "exp/**/*.parquet", True),
        ("exp/x.csv", "exp/*.parquet", False),
        ("exp/x.csv", "exp/*", True),
        ("other/x.parquet", "exp/*.parquet", False),
        ("exp-2/x.parquet", "exp-?/*.parquet", True),
    ],
)
def test_a_glob_input_refuses_an_output_it_would_list(tmp_path, monkeypatch, out, pattern, refused):
    monkeypatch.chdir(tmp_path)
    if refused:
        with pytest.raises(InputError, match="matches the input pattern .*nothing was written"):
            refuse_output_among_inputs(out, pattern)
    else:
        refuse_output_among_inputs(out, pattern)


def test_a_folder_input_refuses_any_output_inside_it(tmp_path):
    folder = tmp_path / "export"
    (folder / "sub").mkdir(parents=True)
    for out in (folder / "x.parquet", folder / "sub" / "scored", folder / "list.csv"):
        with pytest.raises(InputError, match="inside the input folder"):
            refuse_output_among_inputs(out, folder)
    # Relative spelling of the same place, and a symlink into it, are the same place.
    (tmp_path / "link").symlink_to(folder)
    with pytest.raises(InputError, match="inside the input folder"):
        refuse_output_among_inputs(tmp_path / "link" / "x.parquet", folder)
    refuse_output_among_inputs(tmp_path / "x.parquet", folder)
    refuse_output_among_inputs(tmp_path / "export-2" / "x.parquet", folder)
    # One output file (score_to_file): a CSV is not listed by a folder input, a Parquet is.
    refuse_output_among_inputs(folder / "list.csv", folder, folder=False)
    with pytest.raises(InputError, match="inside the input folder"):
        refuse_output_among_inputs(folder / "list.parquet", folder, folder=False)
    # Below a '.' or '_' folder of the input nothing is read, so nothing is refused.
    refuse_output_among_inputs(folder / "_scored", folder)
    # A single file or a list of files reads nothing else.
    refuse_output_among_inputs(tmp_path / "x.parquet", [folder / "a.parquet"])


def test_a_glob_through_a_symlinked_wildcard_folder_refuses_the_list(tmp_path, monkeypatch):
    """``exp/*/*.parquet`` with ``exp/a`` a link to ``real``: a list written in ``real`` is
    listed by the next run as ``exp/a/list.parquet``."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exp").mkdir()
    (tmp_path / "real").mkdir()
    (tmp_path / "exp" / "a").symlink_to(tmp_path / "real")
    with pytest.raises(InputError, match="through exp/a"):
        refuse_output_among_inputs("real/list.parquet", "exp/*/*.parquet", folder=False)
    refuse_output_among_inputs("real/list.csv", "exp/*/*.parquet", folder=False)
    refuse_output_among_inputs("elsewhere/list.parquet", "exp/*/*.parquet", folder=False)
