"""Which vendors a change must re-evaluate (pure; the agents and the test fold both call these).

Influence over a vendor is read upward from it, so a change to who holds X changes the influence over X
and over everything X holds, transitively (``Graph.downstream``), and nothing else, with one addition:
people. A person sitting at an entity whose place in a group changed (X, or anything X now controls)
links that group to every other organisation where they sit, so those are re-evaluated too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from schemas.events import OrgDeclared, OwnershipStated, OwnershipStatus
from streams.graph import Graph, Orgs, live_interests
from streams.influence import PERSON_ROLES
from streams.requests import WorldChange
from streams.world_cache import COMPETITORS, ORGS, OWNERSHIP


def after_org_declared(orgs: Orgs, graph: Graph, declared: OrgDeclared, own_vendors: set[str]) -> set[str]:
    """A new parent moves the org and its subsidiaries between groups: everything they hold, and every
    vendor the org itself contracts with (``own_vendors``, from its exposure view), may now be judged
    differently. ``orgs`` is the state before the declaration."""
    # The org's subsidiaries are the orgs whose parent chain reaches it; its own parent_id is not on
    # those chains below it, so they are the same before and after the declaration.
    return _after_org(orgs, graph, declared.org_id, own_vendors)


def _after_org(orgs: Orgs, graph: Graph, org_id: str, own_vendors: set[str]) -> set[str]:
    return affected(graph, orgs.descendants(org_id)) | own_vendors


def after_statement(graph: Graph, statement: OwnershipStated) -> set[str]:
    """The subject and all it holds, and, for a person, every organisation where they hold a seat or a
    post: a board member of Scale taking a post at Meta changes Meta's reach into Scale. ``graph`` is the
    state after the statement."""
    return _after_holding(graph, statement.subject_id, statement.interested_party_id)


def _after_holding(graph: Graph, subject: str, party: str | None) -> set[str]:
    return affected(graph, {subject} | (seats_of(graph, party) if party is not None else set()))


def reached_by(change: WorldChange, orgs: Orgs, graph: Graph, contracted: Callable[[str], set[str]]) -> set[str]:
    """What ``after_org_declared``, ``after_statement`` and a new competitor set reach, worked out by an
    evaluator from a world request (``streams.requests``) with its copy of the world, which has read the
    change and may have read later ones. ``contracted(org)``: the vendors with a contract of ``org``
    among the evaluator's own (the competitor set of a lab changes how all of them are judged)."""
    if change.table == COMPETITORS:
        return contracted(change.key)
    if change.table == ORGS:
        # The org's subsidiaries are the same before and after its declaration (after_org_declared), and
        # a later declaration moving one of them reaches on its own.
        return _after_org(orgs, graph, change.key, contracted(change.key))
    if change.table == OWNERSHIP:
        return _after_holding(graph, change.key, change.party)
    raise KeyError(change.table)


def affected(graph: Graph, changed: set[str]) -> set[str]:
    """Everything downstream of ``changed``, and every seat of the people sitting at those orgs."""
    reached = graph.downstream(changed)
    people = {party for org in reached for party in _people_at(graph, org)}
    seats = {seat for person in people for seat in seats_of(graph, person)}
    return reached | seats


def seats_of(graph: Graph, party: str) -> set[str]:
    """Organisations where ``party`` holds a board seat or a senior post."""
    return {subject for subject in graph.subjects_held_by(party) if _has_post(graph, subject, party)}


def _people_at(graph: Graph, org: str) -> list[str]:
    return [s.interested_party_id for s in graph.statements(org) if _has_post(graph, org, s.interested_party_id)]


def _has_post(graph: Graph, subject: str, party: str) -> bool:
    statement = graph.holders_of.get(subject, {}).get(party)
    return statement is not None and bool({i.type for i in live_interests(statement, None)} & PERSON_ROLES)


def expiring_between(graph: Graph, horizon_days: int, after: date, until: date) -> set[str]:
    """Vendors reached by announced deals whose horizon passed in (``after``, ``until``].

    An announced deal expires by the calendar, with no event to say so: a timer asks for these
    re-evaluations (``streams/paths.py`` drops the expired edge when they run).
    """
    horizon = timedelta(days=horizon_days)
    changed = set()
    for subject, holders in graph.holders_of.items():
        for statement in holders.values():
            stated_on = statement.statement_date or statement.effective_date
            if statement.status is OwnershipStatus.ANNOUNCED and stated_on is not None \
                    and after < stated_on + horizon + timedelta(days=1) <= until:
                changed.add(subject)
    return affected(graph, changed) if changed else set()
