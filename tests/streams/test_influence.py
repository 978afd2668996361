"""Effective influence of a competitor's group over a vendor (``streams.influence``)."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.events import Interest, InterestType, OwnershipStatus
from streams.influence import effective_influence
from tests.support.builders import closed, graph, org, orgs, role, share, shareholding, stated, voting

BOARD = InterestType.BOARD_MEMBER
CHAIR = InterestType.BOARD_CHAIR
OFFICIAL = InterestType.SENIOR_MANAGING_OFFICIAL

WORLD = orgs(org("meta"), org("meta-ventures", "meta"), org("alphabet"), org("google", "alphabet"))


def test_direct_shareholding() -> None:
    influence = effective_influence("scale-ai", "meta", graph(stated("scale-ai", "meta", shareholding(49))), WORLD)
    assert influence is not None
    assert (influence.economic_share, influence.economic_share_low) == (49, 49)
    assert influence.voting_share == 0
    assert not influence.provisional
    [path] = influence.paths
    assert [(s.holder_id, s.subject_id) for s in path.steps] == [("meta", "scale-ai")]


def test_no_relationship_is_none() -> None:
    g = graph(stated("scale-ai", "accel", shareholding(12)))
    assert effective_influence("scale-ai", "meta", g, WORLD) is None


def test_group_members_add_up() -> None:
    # Meta Ventures is a subsidiary of Meta, so its 20% is Meta's too.
    g = graph(stated("scale-ai", "meta", shareholding(30)), stated("scale-ai", "meta-ventures", shareholding(20)))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None
    assert influence.economic_share == 50
    assert {p.steps[0].holder_id for p in influence.paths} == {"meta", "meta-ventures"}


def test_a_subsidiary_named_as_competitor_counts_its_whole_group() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(30)), stated("scale-ai", "meta-ventures", shareholding(20)))
    influence = effective_influence("scale-ai", "meta-ventures", g, WORLD)
    assert influence is not None and influence.economic_share == 50


def test_shares_are_capped_at_100() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(80)), stated("scale-ai", "meta-ventures", shareholding(70)))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None and influence.economic_share == 100


def test_closed_statement_removes_the_influence() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(49)), closed("scale-ai", "meta"))
    assert effective_influence("scale-ai", "meta", g, WORLD) is None


def test_announced_deal_is_provisional() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(49), status=OwnershipStatus.ANNOUNCED))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None
    assert influence.provisional
    assert influence.paths[0].steps[0].provisional
    assert influence.economic_share == 49


def test_range_uses_worst_case_for_share_and_best_case_for_low() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(share(minimum=20, maximum=55))))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None
    assert influence.economic_share == 55
    assert influence.economic_share_low == 20


@pytest.mark.parametrize(
    ("bounds", "low", "high"),
    [
        pytest.param({"minimum": 30}, 30, 100, id="only-minimum-worst-case-is-100"),
        pytest.param({"maximum": 9}, 0, 9, id="only-maximum-best-case-is-0"),
    ],
)
def test_open_ranges(bounds: dict[str, float], low: float, high: float) -> None:
    g = graph(stated("scale-ai", "meta", shareholding(share(**bounds))))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None
    assert (influence.economic_share_low, influence.economic_share) == (low, high)


def test_voting_share_is_separate_from_economic_share() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(10), voting(51)))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None
    assert (influence.economic_share, influence.voting_share) == (10, 51)


@pytest.mark.parametrize(
    ("interests", "seats", "rights", "majority", "other"),
    [
        pytest.param((role(BOARD),), 1, False, False, False, id="board-member"),
        pytest.param((role(BOARD), role(CHAIR)), 1, False, False, False, id="member-and-chair-is-one-seat"),
        pytest.param((role(InterestType.APPOINTMENT_OF_BOARD),), 0, True, False, False, id="appointment-right"),
        pytest.param(
            (Interest(type=InterestType.APPOINTMENT_OF_BOARD, share=share(60)),),
            0, True, True, False, id="appoints-majority-of-board",
        ),
        pytest.param((role(InterestType.OTHER_INFLUENCE_OR_CONTROL),), 0, False, False, True, id="other-control"),
    ],
)
def test_board_and_control_rights(interests, seats: int, rights: bool, majority: bool, other: bool) -> None:
    influence = effective_influence("scale-ai", "meta", graph(stated("scale-ai", "meta", *interests)), WORLD)
    assert influence is not None
    assert (influence.board_seats, influence.appointment_rights, influence.board_majority,
            influence.other_control) == (seats, rights, majority, other)
    assert influence.economic_share == 0


def test_person_link_board_member_of_vendor_and_official_of_competitor() -> None:
    g = graph(stated("scale-ai", "alexandr-wang", role(BOARD)), stated("meta", "alexandr-wang", role(OFFICIAL)))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None
    [link] = influence.people
    assert (link.person_id, link.competitor_entity_id) == ("alexandr-wang", "meta")
    assert link.vendor_roles == (BOARD,)
    assert link.competitor_roles == (OFFICIAL,)
    assert influence.paths == () and influence.economic_share == 0


def test_person_link_through_a_competitor_subsidiary() -> None:
    g = graph(stated("scale-ai", "pat", role(OFFICIAL)), stated("meta-ventures", "pat", role(BOARD)))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None
    assert [link.competitor_entity_id for link in influence.people] == ["meta-ventures"]


@pytest.mark.parametrize(
    "statements",
    [
        pytest.param(
            (stated("scale-ai", "pat", shareholding(1)), stated("meta", "pat", role(OFFICIAL))),
            id="shareholder-not-a-post-at-vendor",
        ),
        pytest.param(
            (stated("scale-ai", "pat", role(BOARD)), stated("meta", "pat", shareholding(1))),
            id="shareholder-not-a-post-at-competitor",
        ),
        pytest.param(
            (stated("scale-ai", "pat", role(BOARD)), stated("openai", "pat", role(BOARD))),
            id="post-at-someone-else",
        ),
        pytest.param(
            (stated("scale-ai", "pat", role(BOARD)), stated("meta", "pat", role(OFFICIAL)), closed("meta", "pat")),
            id="left-the-competitor",
        ),
    ],
)
def test_no_person_link(statements) -> None:
    assert effective_influence("scale-ai", "meta", graph(*statements), WORLD) is None


def test_person_link_is_provisional_when_either_post_is_announced() -> None:
    g = graph(
        stated("scale-ai", "pat", role(BOARD)),
        stated("meta", "pat", role(OFFICIAL), status=OwnershipStatus.ANNOUNCED),
    )
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None and influence.provisional
    assert influence.people[0].provisional


def test_interests_not_yet_in_force_do_not_count() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(49, start=date(2025, 6, 12))))
    assert effective_influence("scale-ai", "meta", g, WORLD, as_of=date(2025, 6, 11)) is None
    later = effective_influence("scale-ai", "meta", g, WORLD, as_of=date(2025, 6, 12))
    assert later is not None and later.economic_share == 49


def test_parent_cycle_terminates() -> None:
    cyclic = orgs(org("meta", "meta-holdings"), org("meta-holdings", "meta"))
    g = graph(stated("scale-ai", "meta-holdings", shareholding(30)))
    influence = effective_influence("scale-ai", "meta", g, cyclic)
    assert influence is not None and influence.economic_share == 30


def test_chain_of_holdings_multiplies_through() -> None:
    g = graph(stated("holdco", "meta", shareholding(50)), stated("scale-ai", "holdco", shareholding(60)))
    influence = effective_influence("scale-ai", "meta", g, WORLD)
    assert influence is not None and influence.economic_share == 30
