"""The contract in code matches the shared contract and reads every column right."""

from __future__ import annotations

import pandas as pd
import pytest

from crossexec_ml import data
from crossexec_ml.data import cases_contract, handlers_contract
from crossexec_ml.settings import RUNGS
from tests.conftest import REPO, SHARED_CONTRACT


@pytest.mark.parametrize("name", ["cases_schema.csv", "handlers_schema.csv"])
def test_package_copy_equals_shared_contract(name):
    if not SHARED_CONTRACT.exists():
        pytest.skip(f"{SHARED_CONTRACT} not present (outside the workplace)")
    shipped = (REPO / "crossexec_ml" / "data" / "contract" / name).read_bytes()
    assert shipped == (SHARED_CONTRACT / name).read_bytes(), (
        f"crossexec_ml/data/contract/{name} differs from shared/contract/{name}: copy it over "
        "and check the code still follows it"
    )


def test_cases_contract_shape():
    c = cases_contract()
    raw = pd.read_csv(REPO / "crossexec_ml" / "data" / "contract" / "cases_schema.csv")
    assert c.names == list(raw["name"])
    assert len(c.names) == 56
    assert c.required == list(raw.loc[raw["required"] == "yes", "name"])
    assert len(c.required) == 11
    assert c.columns["case_id"].label_zh == "案号"
    assert c.name_for_label("评估基准日") == "as_of_date"


def test_allowed_values_and_ranges_parsed():
    c = cases_contract().columns
    assert c["ladder_stage"].categories == ("original", "intra_team", "inter_team", "higher_court")
    assert c["cross_mode"].categories[0] == "none"
    assert c["n_handlers_so_far"].minimum == 1
    assert c["amount_outstanding"].minimum == 0
    assert c["case_id"].categories is None and c["case_id"].minimum is None


def test_roles_cover_treatment_and_outcomes():
    c = cases_contract()
    assert c.by_role("treatment") == [
        "cross_mode",
        "cross_date",
        "assignment_randomised",
        "assignment_propensity",
    ]
    assert set(c.by_role("outcome")) == {
        "outcome_date",
        "resolved_180d",
        "amount_recovered_180d",
        "closure_mode_180d",
        "new_petition_180d",
    }


def test_handlers_contract():
    h = handlers_contract()
    assert h.names == ["handler_id", "team_id", "court_id", "open_slots", "is_leader"]
    assert h.columns["open_slots"].minimum == 0


def test_version_tracks_content():
    assert len(cases_contract().version) == 12
    assert cases_contract().version != handlers_contract().version


def test_every_cross_mode_maps_to_a_rung():
    modes = cases_contract().columns["cross_mode"].categories
    assert set(data.CROSS_MODE_TO_RUNG) == set(modes)
    assert set(data.CROSS_MODE_TO_RUNG.values()) == set(RUNGS)
