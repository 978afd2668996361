"""Which vendors a change must re-evaluate (pure; the agents and the test fold both call these)."""

from __future__ import annotations

from schemas.events import OrgDeclared, OwnershipStated
from streams.graph import Graph, Orgs, live_interests
from streams.influence import PERSON_ROLES


def after_org_declared(orgs: Orgs, graph: Graph, declared: OrgDeclared, own_vendors: set[str]) -> set[str]:
    """A new parent moves the org and its subsidiaries between groups: everything they hold, and every
    vendor the org itself contracts with (``own_vendors``, from its exposure view), may now be judged
    differently. ``orgs`` is the state before the declaration."""
    after = Orgs({**orgs.by_id, declared.org_id: declared})
    members = orgs.descendants(declared.org_id) | after.descendants(declared.org_id)
    return graph.downstream(members) | own_vendors


def after_statement(graph: Graph, statement: OwnershipStated) -> set[str]:
    """The subject and all it holds, and, for a person, every organisation where they hold a seat or a
    post: a board member of Scale taking a post at Meta changes Meta's reach into Scale. ``graph`` is the
    state after the statement."""
    party = statement.interested_party_id
    seats = {
        subject for subject in graph.subjects_held_by(party)
        if {i.type for i in live_interests(graph.holders_of[subject][party], None)} & PERSON_ROLES
    }
    return graph.downstream({statement.subject_id} | seats)
