"""The ownership graph as weighted edges, read upward from a vendor (pure; no Faust).

``Edges`` turns live statements into ``Edge``s once per evaluation: interests in force, announced deals
that have not expired, shares below the minimum per edge dropped. Everything here walks *up* from a
subject through its holders (``Graph.statements``), never over the whole graph, so its cost follows the
vendor's ownership tree, not the size of the graph.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from schemas.alert import PathStep
from schemas.events import Interest, InterestType, OwnershipStated, OwnershipStatus
from streams.graph import Graph, live_interests

Range = tuple[float, float]
"""(best case, worst case) of a share, in percent."""

LOW, HIGH = 0, 1
"""Index into a ``Range``: the best-case figures use ``LOW``, severity uses ``HIGH``."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How far the walk goes (settings ``influence_max_depth``, ``influence_min_edge_share``,
    ``announced_horizon_days``)."""

    max_depth: int = 8
    """Most edges on one chain from a holder down to the vendor."""
    min_edge_share: float = 0.0
    """A share (economic or voting, worst case) below this, in percent, is ignored on every edge."""
    announced_horizon_days: int = 365
    """An announced deal stated longer ago than this (before ``as_of``) has expired and is ignored."""


@dataclass(frozen=True, slots=True)
class Edge:
    """One live statement, reduced to what the walk needs: ``holder`` has interests in ``subject``."""

    holder: str
    subject: str
    kinds: tuple[InterestType, ...]
    economic: Range | None
    votes: Range | None
    appointment: Range | None
    provisional: bool

    def step(self) -> PathStep:
        return PathStep(
            holder_id=self.holder,
            subject_id=self.subject,
            interests=self.kinds,
            share_low=self.economic[LOW] if self.economic else None,
            share_high=self.economic[HIGH] if self.economic else None,
            voting_share_low=self.votes[LOW] if self.votes else None,
            voting_share_high=self.votes[HIGH] if self.votes else None,
            provisional=self.provisional,
        )


@dataclass
class Edges:
    """Live edges into each subject, parsed on first use and kept for the rest of one evaluation."""

    graph: Graph
    as_of: date | None = None
    limits: Limits = field(default_factory=Limits)
    _cache: dict[str, tuple[Edge, ...]] = field(default_factory=dict)

    def into(self, subject: str) -> tuple[Edge, ...]:
        """The subject's holders' live edges, sorted by holder so that every walk is deterministic."""
        cached = self._cache.get(subject)
        if cached is None:
            parsed = (self._edge(s) for s in self.graph.statements(subject))
            cached = tuple(sorted((e for e in parsed if e is not None), key=lambda e: e.holder))
            self._cache[subject] = cached
        return cached

    def _edge(self, statement: OwnershipStated) -> Edge | None:
        if self._expired(statement):
            return None
        interests = live_interests(statement, self.as_of)
        economic = self._share(interests, InterestType.SHAREHOLDING)
        votes = self._share(interests, InterestType.VOTING_RIGHTS)
        dropped = {kind for kind, kept in ((InterestType.SHAREHOLDING, economic), (InterestType.VOTING_RIGHTS, votes))
                   if kept is None}
        kinds = tuple(dict.fromkeys(i.type for i in interests if i.type not in dropped))
        if not kinds:
            return None
        return Edge(
            holder=statement.interested_party_id,
            subject=statement.subject_id,
            kinds=kinds,
            economic=economic,
            votes=votes,
            appointment=_sum_shares(interests, InterestType.APPOINTMENT_OF_BOARD),
            provisional=statement.status is OwnershipStatus.ANNOUNCED,
        )

    def _share(self, interests: tuple[Interest, ...], kind: InterestType) -> Range | None:
        found = _sum_shares(interests, kind)
        if found is None or found[HIGH] < self.limits.min_edge_share:
            return None
        return found

    def _expired(self, statement: OwnershipStated) -> bool:
        if statement.status is not OwnershipStatus.ANNOUNCED or self.as_of is None:
            return False
        stated_on = statement.statement_date or statement.effective_date
        if stated_on is None:
            return False
        return stated_on < self.as_of - timedelta(days=self.limits.announced_horizon_days)


def _sum_shares(interests: tuple[Interest, ...], kind: InterestType) -> Range | None:
    shares = [i.share for i in interests if i.type is kind and i.share is not None]
    if not shares:
        return None
    return min(sum(s.low for s in shares), 100.0), min(sum(s.high for s in shares), 100.0)


@dataclass(frozen=True, slots=True)
class Region:
    """Everything within ``depth`` edges above some start nodes, with the edges between them."""

    distance: dict[str, int]
    below: dict[str, set[str]]
    """holder -> the subjects it holds inside the region (the walk's reverse index, built as it goes)."""


def upward_region(starts: set[str], edges: Edges, depth: int) -> Region:
    """Breadth first from ``starts`` through holders, at most ``depth`` edges up."""
    distance = dict.fromkeys(starts, 0)
    below: dict[str, set[str]] = {}
    frontier = sorted(starts)
    for level in range(1, depth + 1):
        upper: list[str] = []
        for node in frontier:
            for edge in edges.into(node):
                below.setdefault(edge.holder, set()).add(node)
                if edge.holder not in distance:
                    distance[edge.holder] = level
                    upper.append(edge.holder)
        frontier = upper
    return Region(distance, below)


def reaching(region: Region, targets: set[str]) -> set[str]:
    """Nodes of ``region`` with a chain of holders up to one of ``targets`` (the targets included)."""
    found = targets & region.distance.keys()
    frontier = list(found)
    while frontier:
        for subject in region.below.get(frontier.pop(), ()):
            if subject not in found:
                found.add(subject)
                frontier.append(subject)
    return found


Chain = tuple[Edge, ...]
"""Edges from a top holder down to the vendor."""


def economic_chains(vendor_id: str, stops: Callable[[str], bool], relevant: set[str], edges: Edges,
                    depth: int) -> Iterator[Chain]:
    """Every simple chain of shareholdings from a stop node down to ``vendor_id``.

    A chain ends at the first node (going up) for which ``stops`` holds: what is above it is already
    counted in it. Only nodes in ``relevant`` (those that reach a stop node) are walked through.
    """
    yield from _chains(vendor_id, (), {vendor_id}, stops, relevant, edges, depth)


def _chains(node: str, trail: Chain, visited: set[str], stops: Callable[[str], bool], relevant: set[str],
            edges: Edges, depth: int) -> Iterator[Chain]:
    for edge in edges.into(node):
        holder = edge.holder
        if holder in visited or edge.economic is None or edge.economic[HIGH] <= 0:
            continue
        chain = (edge, *trail)
        if stops(holder):
            yield chain
        elif len(chain) < depth and holder in relevant:
            visited.add(holder)
            yield from _chains(holder, chain, visited, stops, relevant, edges, depth)
            visited.discard(holder)


def chain_share(chain: Chain, case: int) -> float:
    """The economic share (percent) a chain carries: the product of its steps' shares."""
    product = 1.0
    for edge in chain:
        assert edge.economic is not None
        product *= edge.economic[case] / 100.0
    return product * 100.0
