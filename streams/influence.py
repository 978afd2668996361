"""Effective influence of a competitor's group over a vendor, as a pure function over the graph.

This version reads direct relationships (the group's own statements about the vendor) and people who
sit at both. It is shaped to grow into chains of holdings: every figure is built from ``InfluencePath``s,
so a multi-step path adds itself the same way a one-step path does.
"""

from __future__ import annotations

from datetime import date

from schemas.alert import Influence, InfluencePath, PathStep, PersonLink
from schemas.events import Interest, InterestType, OwnershipStated, OwnershipStatus
from streams.graph import Graph, Orgs, live_interests

BOARD_ROLES = frozenset({InterestType.BOARD_MEMBER, InterestType.BOARD_CHAIR})
PERSON_ROLES = BOARD_ROLES | {InterestType.SENIOR_MANAGING_OFFICIAL}
MAJORITY = 50.0


def effective_influence(
    vendor_id: str, competitor_id: str, graph: Graph, orgs: Orgs, as_of: date | None = None
) -> Influence | None:
    """How ``competitor_id``'s group reaches ``vendor_id``; ``None`` when it does not at all."""
    group = orgs.group_of(competitor_id)
    paths: list[InfluencePath] = []
    economic_low = voting_low = 0.0
    board_seats = 0
    appointment_rights = board_majority = other_control = False
    for statement in graph.statements(vendor_id):
        if orgs.group_of(statement.interested_party_id) != group:
            continue
        interests = live_interests(statement, as_of)
        if not interests:
            continue
        paths.append(_direct_path(statement, interests))
        economic_low += (_share(interests, InterestType.SHAREHOLDING) or (0.0, 0.0))[0]
        voting_low += (_share(interests, InterestType.VOTING_RIGHTS) or (0.0, 0.0))[0]
        kinds = {i.type for i in interests}
        # One party holds one seat, whether it is stated as member, chair or both.
        board_seats += 1 if kinds & BOARD_ROLES else 0
        appointment = [i for i in interests if i.type is InterestType.APPOINTMENT_OF_BOARD]
        appointment_rights |= bool(appointment)
        board_majority |= any(i.share is not None and i.share.high > MAJORITY for i in appointment)
        other_control |= InterestType.OTHER_INFLUENCE_OR_CONTROL in kinds
    people = person_links(vendor_id, group, graph, orgs, as_of)
    if not paths and not people:
        return None
    return Influence(
        economic_share=_capped(sum(p.economic_share for p in paths)),
        economic_share_low=_capped(economic_low),
        voting_share=_capped(sum(p.voting_share for p in paths)),
        voting_share_low=_capped(voting_low),
        board_seats=board_seats,
        board_majority=board_majority,
        appointment_rights=appointment_rights,
        other_control=other_control,
        people=people,
        paths=tuple(paths),
        provisional=any(s.provisional for p in paths for s in p.steps) or any(p.provisional for p in people),
    )


def person_links(
    vendor_id: str, group: str, graph: Graph, orgs: Orgs, as_of: date | None
) -> tuple[PersonLink, ...]:
    """People who hold a board seat or senior post at the vendor and at a member of ``group``."""
    links = []
    for statement in graph.statements(vendor_id):
        person = statement.interested_party_id
        vendor_roles = _roles(statement, as_of)
        if not vendor_roles or orgs.group_of(person) == group:
            continue
        for entity in sorted(graph.subjects_held_by(person)):
            if entity == vendor_id or orgs.group_of(entity) != group:
                continue
            other = graph.holders_of[entity][person]
            competitor_roles = _roles(other, as_of)
            if competitor_roles:
                links.append(PersonLink(
                    person_id=person,
                    vendor_roles=vendor_roles,
                    competitor_entity_id=entity,
                    competitor_roles=competitor_roles,
                    provisional=_provisional(statement) or _provisional(other),
                ))
    return tuple(links)


def _roles(statement: OwnershipStated, as_of: date | None) -> tuple[InterestType, ...]:
    return tuple(sorted({i.type for i in live_interests(statement, as_of)} & PERSON_ROLES))


def _direct_path(statement: OwnershipStated, interests: tuple[Interest, ...]) -> InfluencePath:
    economic = _share(interests, InterestType.SHAREHOLDING)
    voting = _share(interests, InterestType.VOTING_RIGHTS)
    step = PathStep(
        holder_id=statement.interested_party_id,
        subject_id=statement.subject_id,
        interests=tuple(i.type for i in interests),
        share_low=economic[0] if economic else None,
        share_high=economic[1] if economic else None,
        provisional=_provisional(statement),
    )
    return InfluencePath(
        steps=(step,),
        economic_share=economic[1] if economic else 0.0,
        voting_share=voting[1] if voting else 0.0,
    )


def _share(interests: tuple[Interest, ...], kind: InterestType) -> tuple[float, float] | None:
    """(best case, worst case) of the interests of one kind in one statement."""
    shares = [i.share for i in interests if i.type is kind and i.share is not None]
    if not shares:
        return None
    return _capped(sum(s.low for s in shares)), _capped(sum(s.high for s in shares))


def _provisional(statement: OwnershipStated) -> bool:
    return statement.status is OwnershipStatus.ANNOUNCED


def _capped(value: float) -> float:
    return round(min(value, 100.0), 6)
