"""Which entities a competitor's group controls (pure; no Faust).

Control is the CFIUS/DCSA view: the group controls an entity when its members and the entities it
already controls together hold more than half of the entity's votes (``votingRights``) or of the right
to appoint its board (``appointmentOfBoard``). Shares alone (``shareholding`` with no ``votingRights``
stated) give no control: BODS states votes separately where they exist, and a 60% holding of a holding
company is then 60% of what it holds, not all of it. What a controlled entity holds counts as the
group's, whole.

The controlled set is the least fixed point, so a cycle (A controls B controls A) controls nothing
unless the group's own votes start it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from schemas.alert import ControlLink
from streams.paths import HIGH, Edge, Edges, Region

MAJORITY = 50.0

Holds = Callable[[str], bool]
"""Whether a node is held whole by the group: a member, or an entity it controls."""


def controlled_entities(region: Region, is_member: Holds, edges: Edges, case: int) -> set[str]:
    """The nodes of ``region`` the group controls (members excluded: they are the group)."""
    controlled: set[str] = set()

    def holds(node: str) -> bool:
        return is_member(node) or node in controlled

    queue = deque(sorted(n for n in region.distance if not is_member(n)))
    while queue:
        node = queue.popleft()
        if node in controlled or not _has_control(node, holds, edges, case):
            continue
        controlled.add(node)
        # Only what the newly controlled node holds can change its status.
        queue.extend(s for s in sorted(region.below.get(node, ())) if not holds(s))
    return controlled


def _has_control(node: str, holds: Holds, edges: Edges, case: int) -> bool:
    votes, board = _group_stakes(edges.into(node), holds, case)
    return votes > MAJORITY or board > MAJORITY


def _group_stakes(into: Iterable[Edge], holds: Holds, case: int) -> tuple[float, float]:
    """(votes, board appointments) the group holds in one node, in percent."""
    votes = board = 0.0
    for edge in into:
        if holds(edge.holder):
            votes += edge.votes[case] if edge.votes else 0.0
            board += edge.appointment[case] if edge.appointment else 0.0
    return min(votes, 100.0), min(board, 100.0)


def control_links(entities: Iterable[str], holds: Holds, controlled: set[str], edges: Edges) -> tuple[ControlLink, ...]:
    """How the group controls each of ``entities`` and, in turn, each controlled entity that gives it."""
    links: dict[str, ControlLink] = {}
    pending = [e for e in entities if e in controlled]
    while pending:
        entity = pending.pop()
        if entity in links:
            continue
        giving = [e for e in edges.into(entity) if holds(e.holder) and (e.votes or e.appointment)]
        votes, board = _group_stakes(giving, holds, HIGH)
        links[entity] = ControlLink(
            entity_id=entity,
            steps=tuple(e.step() for e in giving),
            voting_share=round(votes, 6),
            board_appointment_share=round(board, 6),
            provisional=any(e.provisional for e in giving),
        )
        pending.extend(e.holder for e in giving if e.holder in controlled)
    return tuple(links[e] for e in sorted(links))
