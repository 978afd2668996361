"""Influence through chains of holdings, control, groups and people: the named cases of issue 4."""

from __future__ import annotations

from datetime import date

import pytest

from alerts.policy import assess
from schemas.alert import Exposure, Influence, Severity
from schemas.events import InterestType, OwnershipStated, OwnershipStatus, Sensitivity
from streams.influence import Limits, effective_influence
from tests.support.builders import (
    appoints,
    closed,
    graph,
    org,
    orgs,
    role,
    share,
    shareholding,
    stated,
    voting,
)

BOARD = InterestType.BOARD_MEMBER
OFFICIAL = InterestType.SENIOR_MANAGING_OFFICIAL
ANNOUNCED = OwnershipStatus.ANNOUNCED
WORLD = orgs(org("meta"), org("meta-ventures", "meta"), org("alphabet"), org("google", "alphabet"))
EXPOSURE = Exposure(annual_value_usd=1_000_000, sensitivity=Sensitivity.CONFIDENTIAL)
TODAY = date(2025, 7, 1)
DEFAULT = Limits()


def reach(*statements: OwnershipStated, competitor: str = "meta", limits: Limits = DEFAULT,
          as_of: date | None = None) -> Influence | None:
    return effective_influence("scale-ai", competitor, graph(*statements), WORLD, as_of, limits)


def severity(influence: Influence | None) -> Severity | None:
    assessment = assess(influence, EXPOSURE) if influence else None
    return assessment.severity if assessment else None


def chains(influence: Influence) -> list[list[str]]:
    return [[s.holder_id for s in p.steps] + [p.steps[-1].subject_id] for p in influence.paths]


@pytest.mark.parametrize(
    ("statements", "economic", "voting", "expected"),
    [
        pytest.param(
            (stated("holdco", "meta", shareholding(60)), stated("scale-ai", "holdco", shareholding(30))),
            18, 0, Severity.MEDIUM, id="two-level-chain-60x30-is-18-medium",
        ),
        pytest.param(
            (stated("holdco", "meta", shareholding(51), voting(51)), stated("scale-ai", "holdco", shareholding(30))),
            30, 0, Severity.HIGH, id="control-through-51%-votes-counts-the-whole-30-high",
        ),
        pytest.param(
            (stated("holdco", "meta", shareholding(51)), stated("scale-ai", "holdco", shareholding(30))),
            15.3, 0, Severity.MEDIUM, id="51%-shares-without-votes-is-no-control",
        ),
        pytest.param(
            (stated("holdco", "meta", appoints(60)), stated("scale-ai", "holdco", shareholding(30))),
            30, 0, Severity.HIGH, id="control-through-a-board-majority",
        ),
        pytest.param(
            (stated("holdco", "meta", voting(51)), stated("scale-ai", "holdco", shareholding(10), voting(30))),
            10, 30, Severity.HIGH, id="controlled-entity-votes-are-the-groups",
        ),
        pytest.param(
            (stated("holdco", "meta", shareholding(40), voting(40)),
             stated("scale-ai", "holdco", shareholding(10), voting(60))),
            4, 0, None, id="votes-do-not-pass-a-minority-stake",
        ),
        pytest.param(
            (stated("holdco", "meta-ventures", shareholding(40)), stated("scale-ai", "holdco", shareholding(50))),
            20, 0, Severity.MEDIUM, id="subsidiary-invests-on-its-parents-behalf",
        ),
        pytest.param(
            (stated("holdco", "meta", voting(30)), stated("holdco", "meta-ventures", voting(25)),
             stated("scale-ai", "holdco", shareholding(30))),
            30, 0, Severity.HIGH, id="group-members-votes-add-up-to-control",
        ),
        pytest.param(
            (stated("a", "meta", shareholding(50)), stated("b", "meta", shareholding(50)),
             stated("scale-ai", "a", shareholding(20)), stated("scale-ai", "b", shareholding(20))),
            20, 0, Severity.MEDIUM, id="diamond-paths-add-up",
        ),
        pytest.param(
            (stated("meta-ventures", "meta", shareholding(100)), stated("scale-ai", "meta-ventures", shareholding(30))),
            30, 0, Severity.HIGH, id="a-chain-stops-at-the-first-group-member",
        ),
        pytest.param(
            (stated("x", "meta", voting(60)), stated("y", "x", voting(60)), stated("scale-ai", "y", shareholding(26))),
            26, 0, Severity.HIGH, id="control-is-transitive",
        ),
        pytest.param(
            (stated("holdco", "meta", shareholding(50), voting(50)), stated("scale-ai", "holdco", shareholding(40))),
            20, 0, Severity.MEDIUM, id="fifty-percent-is-not-a-majority",
        ),
    ],
)
def test_chains(statements, economic: float, voting: float, expected: Severity | None) -> None:
    influence = reach(*statements)
    assert influence is not None
    assert influence.economic_share == pytest.approx(economic)
    assert influence.voting_share == pytest.approx(voting)
    assert severity(influence) == expected


def test_a_chain_path_names_every_step_and_its_share() -> None:
    influence = reach(stated("holdco", "meta", shareholding(60)), stated("scale-ai", "holdco", shareholding(30)))
    assert influence is not None
    [path] = influence.paths
    assert [(s.holder_id, s.subject_id, s.share_high) for s in path.steps] == [
        ("meta", "holdco", 60), ("holdco", "scale-ai", 30)]
    assert path.economic_share == pytest.approx(18)
    assert influence.control == ()


def test_control_is_shown_with_the_statements_that_give_it() -> None:
    influence = reach(stated("holdco", "meta", shareholding(51), voting(51)),
                      stated("scale-ai", "holdco", shareholding(30)))
    assert influence is not None
    assert chains(influence) == [["holdco", "scale-ai"]]
    [link] = influence.control
    assert (link.entity_id, link.voting_share) == ("holdco", 51)
    assert [(s.holder_id, s.voting_share_high) for s in link.steps] == [("meta", 51)]


def test_seats_held_by_a_controlled_entity_are_the_competitors() -> None:
    influence = reach(stated("holdco", "meta", voting(70)), stated("scale-ai", "holdco", role(BOARD), appoints(20)))
    assert influence is not None
    assert (influence.board_seats, influence.appointment_rights, influence.board_majority) == (1, True, False)
    assert severity(influence) is Severity.HIGH


def test_a_range_takes_the_worst_case_for_severity() -> None:
    influence = reach(stated("scale-ai", "meta", shareholding(share(minimum=20, maximum=30))))
    assert influence is not None
    assert (influence.economic_share_low, influence.economic_share) == (20, 30)
    assert severity(influence) is Severity.HIGH


def test_a_range_along_a_chain_multiplies_both_ends() -> None:
    influence = reach(stated("holdco", "meta", shareholding(50)),
                      stated("scale-ai", "holdco", shareholding(share(minimum=20, maximum=30))))
    assert influence is not None
    assert (influence.economic_share_low, influence.economic_share) == pytest.approx((10, 15))


def test_control_in_the_worst_case_only_shows_in_the_worst_case() -> None:
    influence = reach(stated("holdco", "meta", voting(share(minimum=40, maximum=60))),
                      stated("scale-ai", "holdco", shareholding(30)))
    assert influence is not None
    assert (influence.economic_share_low, influence.economic_share) == (0, 30)


def test_person_link_through_an_entity_the_competitor_controls() -> None:
    controlled = reach(stated("holdco", "meta", voting(60)), stated("scale-ai", "pat", role(BOARD)),
                       stated("holdco", "pat", role(OFFICIAL)))
    assert controlled is not None
    [link] = controlled.people
    assert (link.person_id, link.competitor_entity_id) == ("pat", "holdco")
    assert [c.entity_id for c in controlled.control] == ["holdco"]
    assert severity(controlled) is Severity.HIGH
    minority = reach(stated("holdco", "meta", voting(40)), stated("scale-ai", "pat", role(BOARD)),
                     stated("holdco", "pat", role(OFFICIAL)))
    assert minority is None


def test_person_link_to_the_competitor_itself() -> None:
    influence = reach(stated("scale-ai", "alexandr-wang", role(BOARD)), stated("meta", "alexandr-wang", role(OFFICIAL)))
    assert influence is not None and [p.person_id for p in influence.people] == ["alexandr-wang"]


def test_an_announced_deal_is_provisional_until_it_completes_then_closing_ends_it() -> None:
    holding = stated("scale-ai", "holdco", shareholding(30))
    announced = stated("holdco", "meta", voting(60), status=ANNOUNCED)
    first = reach(holding, announced)
    assert first is not None and first.provisional and first.economic_share == 30
    assert first.control[0].provisional
    completed = reach(holding, announced, stated("holdco", "meta", voting(60)))
    assert completed is not None and not completed.provisional and completed.economic_share == 30
    assert reach(holding, announced, closed("holdco", "meta")) is None


@pytest.mark.parametrize(
    ("dates", "as_of", "horizon", "counts"),
    [
        pytest.param({"stated_on": date(2024, 1, 1)}, TODAY, 365, False, id="stated-long-ago-expired"),
        pytest.param({"stated_on": date(2024, 7, 1)}, TODAY, 365, True, id="exactly-at-the-horizon-counts"),
        pytest.param({"stated_on": date(2024, 1, 1)}, TODAY, 600, True, id="longer-horizon-counts"),
        pytest.param({"effective": date(2024, 1, 1)}, TODAY, 365, False, id="effective-date-is-the-fallback"),
        pytest.param({"stated_on": date(2025, 6, 1), "effective": date(2024, 1, 1)}, TODAY, 365, True,
                     id="statement-date-wins-over-effective-date"),
        pytest.param({}, TODAY, 365, True, id="undated-never-expires"),
        pytest.param({"stated_on": date(2024, 1, 1)}, None, 365, True, id="no-day-no-expiry"),
    ],
)
def test_an_announced_deal_expires_after_the_horizon(dates, as_of, horizon: int, counts: bool) -> None:
    deal = stated("scale-ai", "meta", shareholding(30), status=ANNOUNCED, **dates)
    influence = reach(deal, as_of=as_of, limits=Limits(announced_horizon_days=horizon))
    assert (influence is not None) is counts


def test_a_completed_deal_never_expires() -> None:
    deal = stated("scale-ai", "meta", shareholding(30), stated_on=date(2020, 1, 1))
    assert reach(deal, as_of=TODAY) is not None


@pytest.mark.parametrize(
    ("statements", "economic"),
    [
        pytest.param((stated("a", "b", shareholding(50)), stated("b", "a", shareholding(50)),
                      stated("a", "meta", shareholding(50)), stated("scale-ai", "a", shareholding(40))),
                     20, id="ownership-cycle-above-the-vendor"),
        pytest.param((stated("scale-ai", "a", shareholding(40)), stated("a", "scale-ai", shareholding(10)),
                      stated("a", "meta", shareholding(50))),
                     20, id="cycle-through-the-vendor"),
        pytest.param((stated("a", "b", voting(60)), stated("b", "a", voting(60)), stated("a", "meta", shareholding(10)),
                      stated("scale-ai", "a", shareholding(40))),
                     4, id="a-voting-cycle-controls-nothing-by-itself"),
    ],
)
def test_cycles_terminate_with_the_right_answer(statements, economic: float) -> None:
    influence = reach(*statements)
    assert influence is not None and influence.economic_share == pytest.approx(economic)


CHAIN_OF_FOUR = (
    stated("l3", "meta", shareholding(100)),
    stated("l2", "l3", shareholding(100)),
    stated("l1", "l2", shareholding(100)),
    stated("scale-ai", "l1", shareholding(30)),
)


@pytest.mark.parametrize(("depth", "found"), [(3, False), (4, True), (8, True)])
def test_depth_limit(depth: int, found: bool) -> None:
    assert (reach(*CHAIN_OF_FOUR, limits=Limits(max_depth=depth)) is not None) is found


@pytest.mark.parametrize(("minimum", "economic"), [(0, 1.8 + 30), (5, 30), (31, None)])
def test_minimum_share_per_edge(minimum: float, economic: float | None) -> None:
    statements = (stated("holdco", "meta", shareholding(60)), stated("scale-ai", "holdco", shareholding(3)),
                  stated("scale-ai", "meta", shareholding(30)))
    influence = reach(*statements, limits=Limits(min_edge_share=minimum))
    assert (influence.economic_share if influence else None) == (pytest.approx(economic) if economic else None)


def test_a_minimum_share_keeps_the_roles_on_an_edge() -> None:
    influence = reach(stated("scale-ai", "meta", shareholding(1), role(BOARD)), limits=Limits(min_edge_share=5))
    assert influence is not None
    assert (influence.economic_share, influence.board_seats) == (0, 1)


def test_a_vendor_in_the_competitors_group_is_control() -> None:
    world = orgs(org("meta"), org("scale-ai", "meta"))
    influence = effective_influence("scale-ai", "meta", graph(), world)
    assert influence is not None and influence.group_member
    assessment = assess(influence, EXPOSURE)
    assert assessment is not None and assessment.severity is Severity.CRITICAL
