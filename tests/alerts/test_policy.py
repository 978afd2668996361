"""The default severity policy of EVENTS.md, fact by fact (``alerts.policy``)."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.policy import Policy, assess
from schemas.alert import Exposure, Influence, PersonLink, Severity
from schemas.events import InterestType, Sensitivity

CONFIDENTIAL = Exposure(annual_value_usd=1_000_000, sensitivity=Sensitivity.CONFIDENTIAL)
RESTRICTED = Exposure(annual_value_usd=1_000_000, sensitivity=Sensitivity.RESTRICTED)
PERSON = PersonLink(
    person_id="alexandr-wang",
    vendor_roles=(InterestType.BOARD_MEMBER,),
    competitor_entity_id="meta",
    competitor_roles=(InterestType.SENIOR_MANAGING_OFFICIAL,),
)


def influence(**facts: Any) -> Influence:
    economic = facts.pop("economic", 0.0)
    votes = facts.pop("voting", 0.0)
    return Influence(economic_share=economic, economic_share_low=economic, voting_share=votes,
                     voting_share_low=votes, **facts)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param({"economic": 50}, Severity.CRITICAL, id="50%-critical"),
        pytest.param({"economic": 49.99}, Severity.HIGH, id="just-below-50%-high"),
        pytest.param({"economic": 25}, Severity.HIGH, id="25%-high"),
        pytest.param({"economic": 24.99}, Severity.MEDIUM, id="just-below-25%-medium"),
        pytest.param({"economic": 10}, Severity.MEDIUM, id="10%-medium"),
        pytest.param({"economic": 9.99}, Severity.LOW, id="just-below-10%-low"),
        pytest.param({"economic": 5}, Severity.LOW, id="5%-low"),
        pytest.param({"economic": 4.99}, None, id="just-below-5%-nothing"),
        pytest.param({}, None, id="nothing-at-all"),
        pytest.param({"voting": 50}, Severity.CRITICAL, id="voting-50%-critical"),
        pytest.param({"voting": 25}, Severity.HIGH, id="voting-25%-high"),
        pytest.param({"economic": 5, "voting": 30}, Severity.HIGH, id="higher-of-economic-and-voting"),
        pytest.param({"board_seats": 1}, Severity.HIGH, id="board-seat-high"),
        pytest.param({"appointment_rights": True}, Severity.HIGH, id="appointment-right-high"),
        pytest.param({"board_majority": True, "appointment_rights": True}, Severity.CRITICAL,
                     id="board-majority-critical"),
        pytest.param({"people": (PERSON,)}, Severity.HIGH, id="person-link-high"),
        pytest.param({"economic": 4, "board_seats": 1}, Severity.HIGH, id="seat-below-5%-still-high"),
        pytest.param({"economic": 30, "board_majority": True}, Severity.CRITICAL, id="highest-fact-wins"),
        pytest.param({"other_control": True}, None, id="other-control-alone-not-in-policy"),
    ],
)
def test_default_severity(facts: dict[str, Any], expected: Severity | None) -> None:
    assessment = assess(influence(**facts), CONFIDENTIAL)
    assert (assessment.severity if assessment else None) == expected


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param({"economic": 5}, Severity.MEDIUM, id="low-to-medium"),
        pytest.param({"economic": 10}, Severity.HIGH, id="medium-to-high"),
        pytest.param({"economic": 49}, Severity.CRITICAL, id="high-to-critical"),
        pytest.param({"economic": 50}, Severity.CRITICAL, id="critical-stays-critical"),
        pytest.param({"economic": 4}, None, id="nothing-stays-nothing"),
    ],
)
def test_restricted_data_steps_up_one(facts: dict[str, Any], expected: Severity | None) -> None:
    assessment = assess(influence(**facts), RESTRICTED)
    assert (assessment.severity if assessment else None) == expected


@pytest.mark.parametrize(
    "sensitivity",
    [Sensitivity.CONFIDENTIAL, Sensitivity.INTERNAL, Sensitivity.PUBLIC, None],
    ids=lambda s: str(s),
)
def test_only_restricted_steps_up(sensitivity: Sensitivity | None) -> None:
    assessment = assess(influence(economic=30), Exposure(sensitivity=sensitivity))
    assert assessment is not None and assessment.severity is Severity.HIGH


def test_step_up_can_be_switched_off() -> None:
    assessment = assess(influence(economic=30), RESTRICTED, Policy(restricted_steps_up=False))
    assert assessment is not None and assessment.severity is Severity.HIGH


def test_thresholds_are_configurable() -> None:
    strict = Policy(critical_share=20, high_share=10, medium_share=5, low_share=1)
    assessment = assess(influence(economic=20), CONFIDENTIAL, strict)
    assert assessment is not None and assessment.severity is Severity.CRITICAL
    assert assess(influence(economic=0.5), CONFIDENTIAL, strict) is None


@pytest.mark.parametrize("provisional", [True, False], ids=["announced", "completed"])
def test_provisional_is_carried(provisional: bool) -> None:
    assessment = assess(influence(economic=30, provisional=provisional), CONFIDENTIAL)
    assert assessment is not None and assessment.provisional is provisional


@pytest.mark.parametrize(
    ("facts", "exposure", "fragments"),
    [
        pytest.param({"economic": 49}, CONFIDENTIAL, ["49% economic share"], id="share"),
        pytest.param({"voting": 51}, CONFIDENTIAL, ["control", "51% voting share"], id="control-by-votes"),
        pytest.param({"board_seats": 2}, CONFIDENTIAL, ["2 board seat(s)"], id="seats"),
        pytest.param({"appointment_rights": True}, CONFIDENTIAL, ["appoint board members"], id="appointment"),
        pytest.param({"board_majority": True}, CONFIDENTIAL, ["majority of the board"], id="majority"),
        pytest.param({"people": (PERSON,)}, CONFIDENTIAL, ["person link: alexandr-wang", "meta"], id="person"),
        pytest.param({"economic": 49, "people": (PERSON,)}, RESTRICTED,
                     ["49% economic share", "person link", "restricted data", "high -> critical"],
                     id="seed-story-google"),
    ],
)
def test_reasons_name_the_facts(facts: dict[str, Any], exposure: Exposure, fragments: list[str]) -> None:
    assessment = assess(influence(**facts), exposure)
    assert assessment is not None
    text = " / ".join(assessment.reasons)
    for fragment in fragments:
        assert fragment in text


def test_reasons_keep_only_the_facts_that_reach_the_severity() -> None:
    assessment = assess(influence(economic=12, board_seats=1), CONFIDENTIAL)
    assert assessment is not None
    assert assessment.reasons == ("1 board seat(s)",)


def test_share_ranges_show_best_and_worst_case() -> None:
    ranged = Influence(economic_share=30, economic_share_low=20)
    assessment = assess(ranged, CONFIDENTIAL)
    assert assessment is not None
    assert assessment.severity is Severity.HIGH  # the worst case decides
    assert "20-30% economic share" in assessment.reasons


@pytest.mark.parametrize(
    ("share", "current", "expected"),
    [
        pytest.param(24.5, None, Severity.MEDIUM, id="new-conflict-no-margin"),
        pytest.param(24.5, Severity.HIGH, Severity.HIGH, id="high-kept-within-the-margin"),
        pytest.param(24.0, Severity.HIGH, Severity.HIGH, id="high-kept-at-threshold-minus-margin"),
        pytest.param(23.99, Severity.HIGH, Severity.MEDIUM, id="high-lost-below-the-margin"),
        pytest.param(24.5, Severity.MEDIUM, Severity.MEDIUM, id="no-margin-upwards"),
        pytest.param(25.0, Severity.MEDIUM, Severity.HIGH, id="escalates-at-the-threshold"),
        pytest.param(49.5, Severity.HIGH, Severity.HIGH, id="margin-only-for-levels-reached"),
        pytest.param(49.5, Severity.CRITICAL, Severity.CRITICAL, id="critical-kept-within-the-margin"),
        pytest.param(4.5, Severity.LOW, Severity.LOW, id="low-kept-open-within-the-margin"),
        pytest.param(3.99, Severity.LOW, None, id="resolves-below-the-margin"),
        pytest.param(4.5, None, None, id="never-opens-below-5"),
        pytest.param(9.5, Severity.CRITICAL, Severity.MEDIUM, id="a-big-drop-falls-through"),
    ],
)
def test_hysteresis(share: float, current: Severity | None, expected: Severity | None) -> None:
    assessment = assess(influence(economic=share), CONFIDENTIAL, current=current)
    assert (assessment.severity if assessment else None) == expected


def test_a_share_wobbling_around_25_percent_does_not_flap() -> None:
    current: Severity | None = None
    seen = []
    for share in (25.2, 24.8, 25.1, 24.3, 25.0, 24.9):
        assessment = assess(influence(economic=share), CONFIDENTIAL, current=current)
        current = assessment.severity if assessment else None
        seen.append(current)
    assert seen == [Severity.HIGH] * 6


@pytest.mark.parametrize(
    ("share", "current", "expected"),
    [
        pytest.param(24.5, Severity.CRITICAL, Severity.CRITICAL, id="restricted-high-kept"),
        pytest.param(49.5, Severity.CRITICAL, Severity.CRITICAL, id="restricted-stays-critical-through-high"),
        pytest.param(23.0, Severity.CRITICAL, Severity.HIGH, id="restricted-drops-below-the-margin"),
    ],
)
def test_hysteresis_with_restricted_data(share: float, current: Severity, expected: Severity) -> None:
    assessment = assess(influence(economic=share), RESTRICTED, current=current)
    assert assessment is not None and assessment.severity is expected
    if share == 49.5:
        # The share stands for "high" stepped up, not for control.
        assert not any(reason.startswith("control") for reason in assessment.reasons)


def test_hysteresis_margin_is_configurable_and_named_in_the_reasons() -> None:
    assert assess(influence(economic=24.5), CONFIDENTIAL, Policy(hysteresis_margin=0), Severity.HIGH).severity \
        is Severity.MEDIUM
    kept = assess(influence(economic=22), CONFIDENTIAL, Policy(hysteresis_margin=5), Severity.HIGH)
    assert kept is not None and kept.severity is Severity.HIGH
    assert "within 5 points of 25%" in " / ".join(kept.reasons)


def test_a_vendor_in_the_competitors_group_is_critical() -> None:
    assessment = assess(Influence(group_member=True), CONFIDENTIAL)
    assert assessment is not None and assessment.severity is Severity.CRITICAL
    assert "belongs to the competitor's group" in assessment.reasons[0]
