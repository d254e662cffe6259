"""ScoringPolicy: a JSON-safe round trip, and a bad dict refused naming the key."""

from __future__ import annotations

import json

import pytest

from crossexec_ml.settings import (
    CohortSettings,
    FlagSettings,
    LadderSettings,
    PrioritySettings,
    ScoringPolicy,
    resolve_policy,
)

CUSTOM = ScoringPolicy(
    ladder=LadderSettings(min_gain=0.2, close_share=0.7, respect_ladder=False),
    priority=PrioritySettings(weighting="blend", capacity=12, livelihood_floor=0.3),
    cohort=CohortSettings(min_age_days=365),
    flags=FlagSettings(long_unresolved_days=1000),
)


def test_round_trip_through_json():
    data = json.loads(json.dumps(CUSTOM.to_dict()))
    assert ScoringPolicy.from_dict(data) == CUSTOM
    assert ScoringPolicy.from_dict({}) == ScoringPolicy()


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"ladder": {"min_gian": 0.1}}, "min_gian"),
        ({"ladders": {}}, "ladders"),
        ({"priority": {"capacity": "12"}}, "priority.capacity"),
        ({"ladder": {"respect_ladder": 1}}, "ladder.respect_ladder"),
        ({"priority": {"weighting": "votes"}}, "scoring_policy.priority"),
        ({"cohort": [180, 90]}, "scoring_policy.cohort"),
    ],
)
def test_bad_dict_is_refused_naming_the_key(bad, named):
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        ScoringPolicy.from_dict(bad)


def test_resolve_policy_sources():
    card = {"scoring_policy": CUSTOM.to_dict()}
    policy, record = resolve_policy(card)
    assert policy == CUSTOM and record["source"] == "card" and record["overridden"] == []
    policy, record = resolve_policy(card, capacity=3)
    assert policy.priority.capacity == 3 and policy.priority.weighting == "blend"
    assert record["source"] == "override" and record["overridden"] == ["priority.capacity"]
    policy, record = resolve_policy({})
    assert policy == ScoringPolicy() and record["source"] == "default"
    # An older card kept its ladder alone: that much is still honoured.
    policy, record = resolve_policy({"ladder_settings": {"min_gain": 0.1}})
    assert policy.ladder.min_gain == 0.1 and record["source"] == "default"
    assert "ladder_settings" in record["note"]
