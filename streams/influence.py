"""Effective influence of a competitor's group over a vendor, through any chain of holdings or people.

A pure function over the ownership graph, read upward from the vendor (``streams.paths``):

- **Groups.** A subsidiary (declared ``parent_id``) counts as its parent: the competitor is its whole group.
- **Control** (``streams.control``): an entity the group controls (> 50% of votes or board appointments)
  is held whole: what it holds counts as the group's.
- **Economic share**: the sum over every simple chain of shareholdings, from a member or controlled entity
  down to the vendor, of the product of the shares along it. A chain stops at the first such node going
  up, so nothing is counted twice; a cycle ends where a chain would revisit a node.
- **Voting share, board seats, appointment rights**: what the group's members and controlled entities
  hold in the vendor itself, counted separately from economic share (votes do not pass through a
  minority stake).
- **People**: a person with a board seat or senior post at the vendor and at a member or controlled entity.
- **Ranges**: severity figures take each share's worst case (``share.high``); the ``*_low`` figures are the
  same computation with every share's best case.
- **Announced deals** count and mark what they touch provisional, until their horizon passes.

Every figure is carried by ``InfluencePath``s / ``ControlLink``s / ``PersonLink``s, so a human can check it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from schemas.alert import ControlLink, Influence, InfluencePath, PersonLink
from schemas.events import InterestType
from streams.control import MAJORITY, control_links, controlled_entities
from streams.graph import Graph, Orgs
from streams.paths import HIGH, LOW, Chain, Edge, Edges, Limits, chain_share, economic_chains, reaching, upward_region

__all__ = ["BOARD_ROLES", "PERSON_ROLES", "InfluenceWalk", "Limits", "effective_influence"]

BOARD_ROLES = frozenset({InterestType.BOARD_MEMBER, InterestType.BOARD_CHAIR})
PERSON_ROLES = BOARD_ROLES | {InterestType.SENIOR_MANAGING_OFFICIAL}
DEFAULT_LIMITS = Limits()


def effective_influence(
    vendor_id: str,
    competitor_id: str,
    graph: Graph,
    orgs: Orgs,
    as_of: date | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Influence | None:
    """How ``competitor_id``'s group reaches ``vendor_id``; ``None`` when it does not at all."""
    return InfluenceWalk(graph, orgs, as_of, limits).influence(vendor_id, competitor_id)


@dataclass(frozen=True)
class Reach:
    """What a group holds whole around one vendor, in one case (best or worst)."""

    group: str
    controlled: set[str]
    chains: list[Chain]
    direct: list[Edge]
    """Edges into the vendor from the group's members and controlled entities."""
    economic: float
    voting: float
    board: float
    """Share of the vendor's board appointments the group holds, percent."""


class InfluenceWalk:
    """One evaluation's reading of the graph: edges parsed once and groups resolved once, shared by
    every competitor asked about (an evaluation asks about several)."""

    def __init__(self, graph: Graph, orgs: Orgs, as_of: date | None = None, limits: Limits = DEFAULT_LIMITS):
        self.graph = graph
        self.orgs = orgs
        self.limits = limits
        self.edges = Edges(graph, as_of, limits)
        self._groups: dict[str, str] = {}
        self._outside: dict[tuple[str, str], set[str]] = {}

    def group_of(self, org_id: str) -> str:
        group = self._groups.get(org_id)
        if group is None:
            group = self._groups[org_id] = self.orgs.group_of(org_id)
        return group

    def influence(self, vendor_id: str, competitor_id: str) -> Influence | None:
        group = self.group_of(competitor_id)
        worst, best = self.reach(vendor_id, group, HIGH), self.reach(vendor_id, group, LOW)
        people = self.person_links(vendor_id, worst)
        member = self.group_of(vendor_id) == group
        if not (worst.chains or worst.direct or people or member):
            return None
        return _assemble(worst, best, people, self._control(vendor_id, worst, people), member)

    def reach(self, vendor_id: str, group: str, case: int) -> Reach:
        region = upward_region({vendor_id}, self.edges, self.limits.max_depth)
        controlled = controlled_entities(region, self._is_member(group), self.edges, case)

        def holds(node: str) -> bool:
            return node in controlled or self.group_of(node) == group

        relevant = reaching(region, {n for n in region.distance if holds(n)})
        chains = list(economic_chains(vendor_id, holds, relevant, self.edges, self.limits.max_depth))
        direct = [e for e in self.edges.into(vendor_id) if holds(e.holder)]
        return Reach(
            group=group,
            controlled=controlled,
            chains=chains,
            direct=direct,
            economic=_percent(sum(chain_share(c, case) for c in chains)),
            voting=_percent(sum(e.votes[case] for e in direct if e.votes)),
            board=_percent(sum(e.appointment[case] for e in direct if e.appointment)),
        )

    def person_links(self, vendor_id: str, worst: Reach) -> tuple[PersonLink, ...]:
        """People with a board seat or senior post at the vendor and at an entity the group holds whole."""
        links = []
        for seat in self.edges.into(vendor_id):
            person = seat.holder
            if not _roles(seat) or self.group_of(person) == worst.group:
                continue
            for entity in sorted(self.graph.subjects_held_by(person) - {vendor_id}):
                post = self._post(person, entity)
                if post is not None and self.held_whole(entity, worst):
                    links.append(PersonLink(
                        person_id=person, vendor_roles=_roles(seat), competitor_entity_id=entity,
                        competitor_roles=_roles(post), provisional=seat.provisional or post.provisional,
                    ))
        return tuple(links)

    def held_whole(self, entity: str, worst: Reach) -> bool:
        """Whether the group holds ``entity`` whole: a member, or (worst case) controlled."""
        if self.group_of(entity) == worst.group or entity in worst.controlled:
            return True
        return entity in self._controlled_above(entity, worst.group)

    def _controlled_above(self, entity: str, group: str) -> set[str]:
        key = (entity, group)
        if key not in self._outside:
            region = upward_region({entity}, self.edges, self.limits.max_depth)
            self._outside[key] = controlled_entities(region, self._is_member(group), self.edges, HIGH)
        return self._outside[key]

    def _post(self, person: str, entity: str) -> Edge | None:
        return next((e for e in self.edges.into(entity) if e.holder == person and _roles(e)), None)

    def _is_member(self, group: str) -> Callable[[str], bool]:
        return lambda node: self.group_of(node) == group

    def _control(self, vendor_id: str, worst: Reach, people: tuple[PersonLink, ...]) -> tuple[ControlLink, ...]:
        used = {c[0].holder for c in worst.chains} | {e.holder for e in worst.direct}
        used |= {p.competitor_entity_id for p in people}
        controlled = set(worst.controlled)
        for entity in used - worst.controlled:
            controlled |= self._outside.get((entity, worst.group), set())
        return control_links(used, lambda n: n in controlled or self.group_of(n) == worst.group, controlled,
                             self.edges)


def _assemble(worst: Reach, best: Reach, people: tuple[PersonLink, ...], control: tuple[ControlLink, ...],
              member: bool) -> Influence:
    paths = _paths(worst)
    kinds = {k for e in worst.direct for k in e.kinds}
    return Influence(
        economic_share=worst.economic,
        economic_share_low=best.economic,
        voting_share=worst.voting,
        voting_share_low=best.voting,
        # One party holds one seat, whether it is stated as member, chair or both.
        board_seats=sum(1 for e in worst.direct if set(e.kinds) & BOARD_ROLES),
        board_majority=worst.board > MAJORITY,
        appointment_rights=InterestType.APPOINTMENT_OF_BOARD in kinds,
        other_control=InterestType.OTHER_INFLUENCE_OR_CONTROL in kinds,
        group_member=member,
        people=people,
        paths=paths,
        provisional=any(s.provisional for p in paths for s in p.steps) or any(p.provisional for p in people)
        or any(c.provisional for c in control),
        control=control,
    )


def _paths(worst: Reach) -> tuple[InfluencePath, ...]:
    chains = list(worst.chains)
    # Votes, seats and rights with no economic share are one-step paths of their own.
    chains += [(e,) for e in worst.direct if e.economic is None]
    return tuple(_path(c) for c in chains)


def _path(chain: Chain) -> InfluencePath:
    votes = chain[0].votes if len(chain) == 1 else None
    return InfluencePath(
        steps=tuple(e.step() for e in chain),
        economic_share=_percent(chain_share(chain, HIGH)) if chain[-1].economic else 0.0,
        voting_share=votes[HIGH] if votes else 0.0,
    )


def _roles(edge: Edge) -> tuple[InterestType, ...]:
    return tuple(sorted(set(edge.kinds) & PERSON_ROLES))


def _percent(value: float) -> float:
    return round(min(value, 100.0), 6)
