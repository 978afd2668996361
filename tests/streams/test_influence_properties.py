"""Properties of effective influence over random small graphs (hypothesis), and a brute-force oracle.

The oracle enumerates every sequence of distinct nodes as a candidate chain (itertools.permutations),
written from the rules in ``streams.influence``'s docstring without its code: groups by parent, control
as a fixed point over all nodes, a chain counts when its top is held whole and nothing below it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.alert import Influence
from schemas.events import Interest, InterestType, OwnershipStated, Share
from streams.changes import after_statement
from streams.graph import Graph, Orgs
from streams.influence import Limits, effective_influence
from tests.support.builders import graph, org, orgs, role, stated

VENDOR = "v"
COMPANIES = ("v", "a", "b", "c", "g", "h")
PEOPLE = ("p",)
COMPETITORS = ("g", "h", "a")
DEEP = Limits(max_depth=32)
EPSILON = 1e-6
FAST = settings(max_examples=200, deadline=None)


@dataclass(frozen=True)
class Link:
    subject: str
    holder: str
    shares: int | None
    votes: int | None
    board: int | None
    seat: bool

    def statement(self) -> OwnershipStated:
        interests: list[Interest] = []
        for kind, value in ((InterestType.SHAREHOLDING, self.shares), (InterestType.VOTING_RIGHTS, self.votes),
                            (InterestType.APPOINTMENT_OF_BOARD, self.board)):
            if value is not None:
                interests.append(Interest(type=kind, share=Share(exact=value)))
        if self.seat or not interests:
            interests.append(role(InterestType.BOARD_MEMBER))
        return stated(self.subject, self.holder, *interests)


@dataclass(frozen=True)
class World:
    parents: dict[str, str]
    links: tuple[Link, ...]

    def orgs(self) -> Orgs:
        return orgs(*(org(c, self.parents.get(c)) for c in COMPANIES))

    def graph(self) -> Graph:
        return graph(*(link.statement() for link in self.links))


percent = st.one_of(st.none(), st.integers(1, 80))


@st.composite
def links(draw: st.DrawFn) -> Link:
    # Biased towards the vendor and the intermediates, so that chains into the vendor are common.
    subject = draw(st.sampled_from((VENDOR, VENDOR, "a", "b", "c", *COMPANIES)))
    holder = draw(st.sampled_from(COMPANIES + PEOPLE).filter(lambda h: h != subject))
    if holder in PEOPLE:
        return Link(subject, holder, None, None, None, True)
    return Link(subject, holder, draw(percent), draw(percent), draw(percent), draw(st.booleans()))


def realistic(candidates: list[Link]) -> tuple[Link, ...]:
    """One statement per (subject, holder); a share that would take a subject past 100% is cut to fit."""
    kept: dict[tuple[str, str], Link] = {}
    for link in candidates:
        if (link.subject, link.holder) not in kept:
            kept[(link.subject, link.holder)] = fitted(link, [k for k in kept.values() if k.subject == link.subject])
    return tuple(kept.values())


def fitted(link: Link, into: list[Link]) -> Link:
    cut = {}
    for field in ("shares", "votes", "board"):
        value, room = getattr(link, field), 100 - sum(getattr(k, field) or 0 for k in into)
        cut[field] = None if value is None or room <= 0 else min(value, room)
    return replace(link, **cut)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    # Subsidiaries of g (the competitor of most checks); parents never form cycles here.
    parents = {c: "g" for c in draw(st.sets(st.sampled_from(("a", "b", "h"))))}
    return World(parents, realistic(draw(st.lists(links(), max_size=16))))


# --- the oracle -----------------------------------------------------------------------------------------


def group_of(world: World, node: str) -> str:
    return world.parents.get(node, node)


def controlled(world: World, group: str) -> set[str]:
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for node in COMPANIES:
            if node in found or group_of(world, node) == group:
                continue
            holders = [k for k in world.links if k.subject == node and (group_of(world, k.holder) == group
                                                                        or k.holder in found)]
            if sum(k.votes or 0 for k in holders) > 50 or sum(k.board or 0 for k in holders) > 50:
                found.add(node)
                changed = True
    return found


def brute_economic(world: World, competitor: str) -> float:
    group = group_of(world, competitor)
    whole = controlled(world, group) | {c for c in COMPANIES if group_of(world, c) == group}
    share_of = {(k.holder, k.subject): k.shares for k in world.links if k.shares}
    others = [c for c in COMPANIES if c != VENDOR]
    total = 0.0
    for size in range(1, len(others) + 1):
        for chain in permutations(others, size):  # chain[0] holds VENDOR, chain[-1] is the top
            below = (VENDOR, *chain[:-1])
            if chain[-1] not in whole or any(node in whole for node in chain[:-1]):
                continue
            if all((holder, subject) in share_of for holder, subject in zip(chain, below, strict=True)):
                product = 1.0
                for holder, subject in zip(chain, below, strict=True):
                    product *= share_of[(holder, subject)] / 100
                total += product * 100
    return min(total, 100.0)


def brute_voting(world: World, competitor: str) -> float:
    group = group_of(world, competitor)
    whole = controlled(world, group)
    return min(100.0, sum(k.votes or 0 for k in world.links if k.subject == VENDOR and
                          (group_of(world, k.holder) == group or k.holder in whole)))


def influence(world: World, competitor: str, g: Graph | None = None, vendor: str = VENDOR) -> Influence | None:
    return effective_influence(vendor, competitor, g or world.graph(), world.orgs(), limits=DEEP)


# --- properties ----------------------------------------------------------------------------------------


@FAST
@given(worlds())
def test_brute_force_agrees_on_economic_and_voting_share(world: World) -> None:
    for competitor in COMPETITORS:
        found = influence(world, competitor)
        economic = found.economic_share if found else 0.0
        voting = found.voting_share if found else 0.0
        assert abs(economic - brute_economic(world, competitor)) < EPSILON, competitor
        assert abs(voting - brute_voting(world, competitor)) < EPSILON, competitor


@FAST
@given(worlds())
def test_effective_share_never_exceeds_100_percent(world: World) -> None:
    for competitor in COMPETITORS:
        found = influence(world, competitor)
        if found is not None:
            # The sum of the paths, before any cap: realistic holdings never add up past 100%.
            assert sum(p.economic_share for p in found.paths) <= 100 + EPSILON
            assert found.voting_share <= 100
            assert found.economic_share_low <= found.economic_share + EPSILON


def measures(found: Influence | None) -> tuple[float, float, float, float, int, int, int]:
    if found is None:
        return (0, 0, 0, 0, 0, 0, 0)
    return (found.economic_share, found.economic_share_low, found.voting_share, found.voting_share_low,
            found.board_seats, len(found.people), int(found.appointment_rights))


@FAST
@given(worlds(), st.data())
def test_adding_an_edge_never_lowers_influence(world: World, data: st.DataObject) -> None:
    extra = data.draw(links())
    grown = World(world.parents, realistic([*world.links, extra]))
    for competitor in COMPETITORS:
        before, after = measures(influence(world, competitor)), measures(influence(grown, competitor))
        assert all(a >= b - EPSILON for a, b in zip(after, before, strict=True)), (competitor, before, after)


@FAST
@given(worlds(), st.randoms(use_true_random=False))
def test_result_is_independent_of_statement_order(world: World, rnd) -> None:
    shuffled = [link.statement() for link in world.links]
    rnd.shuffle(shuffled)
    for competitor in COMPETITORS:
        assert influence(world, competitor) == influence(world, competitor, graph(*shuffled))


@FAST
@given(worlds(), st.data())
def test_a_change_re_evaluates_every_vendor_it_affects(world: World, data: st.DataObject) -> None:
    extra = data.draw(links())
    grown = World(world.parents, realistic([*world.links, extra]))
    if grown.links == world.links:
        return
    before, after = world.graph(), grown.graph()
    touched = after_statement(after, extra.statement())
    for vendor in COMPANIES:
        for competitor in COMPETITORS:
            changed = (effective_influence(vendor, competitor, before, world.orgs(), limits=DEEP)
                       != effective_influence(vendor, competitor, after, world.orgs(), limits=DEEP))
            assert not changed or vendor in touched, (vendor, competitor)
