"""Organisations, groups and the ownership graph (``streams.graph``)."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.events import InterestType, OwnershipStatus
from streams.graph import Orgs, apply_statement, live_interests
from tests.support.builders import closed, graph, org, orgs, role, shareholding, stated


@pytest.mark.parametrize(
    ("org_id", "group"),
    [
        pytest.param("google", "alphabet", id="subsidiary-resolves-to-parent"),
        pytest.param("deepmind", "alphabet", id="grandchild-resolves-to-top"),
        pytest.param("alphabet", "alphabet", id="top-is-its-own-group"),
        pytest.param("undeclared", "undeclared", id="undeclared-is-its-own-group"),
        pytest.param("parent-undeclared", "nobody-declared-me", id="parent-need-not-be-declared"),
    ],
)
def test_group_of(org_id: str, group: str) -> None:
    world = orgs(
        org("alphabet"), org("google", "alphabet"), org("deepmind", "google"),
        org("parent-undeclared", "nobody-declared-me"),
    )
    assert world.group_of(org_id) == group


def test_parent_cycle_terminates_and_members_agree_on_one_group() -> None:
    world = orgs(org("b", "c"), org("c", "d"), org("d", "b"), org("a", "b"))
    assert {world.group_of(x) for x in ("a", "b", "c", "d")} == {"b"}
    assert world.same_group("a", "d")


def test_deep_chain_stops_at_the_depth_limit() -> None:
    chain = [org(f"o{i}", f"o{i + 1}") for i in range(100)]
    world = orgs(*chain)
    assert world.group_of("o0").startswith("o")  # terminates instead of walking forever


def test_descendants_include_the_org_and_every_subsidiary() -> None:
    world = orgs(org("alphabet"), org("google", "alphabet"), org("deepmind", "google"), org("meta"))
    assert world.descendants("alphabet") == {"alphabet", "google", "deepmind"}
    assert world.descendants("google") == {"google", "deepmind"}
    assert world.descendants("meta") == {"meta"}


def test_descendants_terminate_on_a_parent_cycle() -> None:
    world = orgs(org("a", "b"), org("b", "a"), org("c", "a"))
    assert world.descendants("a") == {"a", "b", "c"}


def test_name_of_falls_back_to_the_id() -> None:
    world = orgs(org("meta"))
    assert world.name_of("meta") == "Meta"
    assert world.name_of("unknown") == "unknown"


def test_a_later_statement_replaces_the_earlier_and_closed_removes_it() -> None:
    first = stated("scale-ai", "meta", shareholding(10))
    second = stated("scale-ai", "meta", shareholding(49))
    holders = apply_statement({}, first)
    holders = apply_statement(holders, second)
    assert holders == {"meta": second}
    assert apply_statement(holders, closed("scale-ai", "meta")) == {}
    assert apply_statement({}, closed("scale-ai", "meta")) == {}  # closing the unknown is harmless


def test_apply_statement_does_not_mutate_its_input() -> None:
    holders = {"accel": stated("scale-ai", "accel", shareholding(12))}
    apply_statement(holders, stated("scale-ai", "meta", shareholding(49)))
    assert set(holders) == {"accel"}


LIVE_INTERESTS = {
    1.0: shareholding(1, end=date(2024, 12, 31)),
    2.0: shareholding(2),
    3.0: shareholding(3, start=date(2025, 6, 13)),
}


@pytest.mark.parametrize(
    ("as_of", "live"),
    [
        pytest.param(None, {1, 2, 3}, id="unknown-day-everything"),
        pytest.param(date(2024, 12, 31), {1, 2}, id="on-end-day-still-live"),
        pytest.param(date(2025, 1, 1), {2}, id="after-end-before-start"),
        pytest.param(date(2025, 6, 13), {2, 3}, id="on-start-day-live"),
    ],
)
def test_live_interests_respect_start_and_end_dates(as_of: date | None, live: set[float]) -> None:
    statement = stated("scale-ai", "meta", *LIVE_INTERESTS.values())
    assert {i.share.exact for i in live_interests(statement, as_of) if i.share} == live


def test_a_closed_statement_has_no_live_interests() -> None:
    statement = stated("scale-ai", "meta", shareholding(49)).model_copy(update={"status": OwnershipStatus.CLOSED})
    assert live_interests(statement, None) == ()


def test_downstream_follows_holdings_transitively() -> None:
    g = graph(
        stated("holdco", "meta", shareholding(100)),
        stated("scale-ai", "holdco", shareholding(49)),
        stated("turing", "scale-ai", shareholding(5)),
        stated("labelbox", "accel", shareholding(10)),
    )
    assert g.downstream({"meta"}) == {"meta", "holdco", "scale-ai", "turing"}
    assert g.downstream({"scale-ai"}) == {"scale-ai", "turing"}
    assert g.downstream({"nobody"}) == {"nobody"}


def test_downstream_terminates_on_cycles() -> None:
    g = graph(stated("a", "b", shareholding(10)), stated("b", "a", shareholding(10)), stated("c", "b", shareholding(1)))
    assert g.downstream({"a"}) == {"a", "b", "c"}


def test_downstream_follows_people_to_where_they_sit() -> None:
    # A person is an interested party too: what they hold a post in is downstream of them.
    g = graph(stated("scale-ai", "alexandr-wang", role(InterestType.BOARD_MEMBER)))
    assert g.downstream({"alexandr-wang"}) == {"alexandr-wang", "scale-ai"}


def test_holdings_is_the_reverse_index() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(49)), stated("meta", "alexandr-wang",
                                                                   role(InterestType.SENIOR_MANAGING_OFFICIAL)))
    assert g.holdings() == {"meta": {"scale-ai"}, "alexandr-wang": {"meta"}}


def test_closed_statement_leaves_the_graph() -> None:
    g = graph(stated("scale-ai", "meta", shareholding(49)), closed("scale-ai", "meta"))
    assert list(g.statements("scale-ai")) == []
    assert g.downstream({"meta"}) == {"meta"}


def test_orgs_default_is_empty() -> None:
    assert Orgs().group_of("x") == "x"


def test_descendants_stop_at_the_parent_depth_limit_as_group_of_does() -> None:
    from streams.graph import MAX_PARENT_DEPTH

    chain = [org(f"o{i}", f"o{i - 1}" if i else None) for i in range(MAX_PARENT_DEPTH + 5)]
    found = orgs(*chain).descendants("o0")
    assert found == {f"o{i}" for i in range(MAX_PARENT_DEPTH + 1)}


def test_descendants_from_a_given_children_index_match_the_derived_one() -> None:
    from streams.graph import Orgs

    declared = orgs(org("alphabet"), org("google", "alphabet"), org("deepmind", "google"), org("meta"))
    given = Orgs(declared.by_id, {"alphabet": {"google"}, "google": {"deepmind"}})
    for org_id in ("alphabet", "google", "deepmind", "meta", "undeclared"):
        assert given.descendants(org_id) == declared.descendants(org_id)
