"""Organisations, corporate groups and the ownership graph, as plain data (no Faust).

The stream agents keep the raw statements in tables; these views answer the questions the influence
function asks: who holds what in a subject, what a party holds, which group an organisation belongs to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from schemas.events import Interest, OrgDeclared, OwnershipStated, OwnershipStatus

MAX_PARENT_DEPTH = 64


@dataclass(frozen=True)
class Orgs:
    """Declared organisations by id; undeclared ids are their own group."""

    by_id: Mapping[str, OrgDeclared] = field(default_factory=dict)
    children: Mapping[str, Collection[str]] | None = None
    """parent -> the orgs that declare it as ``parent_id``. Pass it when it is kept alongside (the world
    cache does); otherwise it is derived once, on first use."""

    @cached_property
    def _children(self) -> Mapping[str, Collection[str]]:
        if self.children is not None:
            return self.children
        index: dict[str, set[str]] = {}
        for org_id, org in self.by_id.items():
            if org.parent_id is not None:
                index.setdefault(org.parent_id, set()).add(org_id)
        return index

    def group_of(self, org_id: str) -> str:
        """The top of ``org_id``'s parent chain: a subsidiary counts as its parent's group.

        A parent cycle (a data error) stops at the smallest id on the cycle, so every member of the
        cycle agrees on one group.
        """
        seen: list[str] = []
        current = org_id
        while current not in seen and len(seen) < MAX_PARENT_DEPTH:
            seen.append(current)
            org = self.by_id.get(current)
            if org is None or org.parent_id is None:
                return current
            current = org.parent_id
        if current in seen:
            return min(seen[seen.index(current):])
        return current

    def descendants(self, org_id: str) -> set[str]:
        """``org_id`` and every organisation whose parent chain passes through it (within
        ``MAX_PARENT_DEPTH`` steps). Walks down the children index: the cost is the subtree's, not the
        number of organisations declared (a bulk load declares thousands, one at a time)."""
        found = {org_id}
        level = [org_id]
        for _ in range(MAX_PARENT_DEPTH):
            level = [child for parent in level for child in self._children.get(parent, ()) if child not in found]
            if not level:
                break
            found.update(level)
        return found

    def same_group(self, a: str, b: str) -> bool:
        return a == b or self.group_of(a) == self.group_of(b)

    def name_of(self, org_id: str) -> str:
        org = self.by_id.get(org_id)
        return org.name if org else org_id


@dataclass(frozen=True)
class Graph:
    """Live ownership statements: subject -> interested party -> statement.

    ``held_by`` is the reverse index (party -> subjects it has a statement about). Pass it when it is
    kept alongside the statements (the worker does); otherwise it is derived once, on first use.
    """

    holders_of: Mapping[str, Mapping[str, OwnershipStated]] = field(default_factory=dict)
    held_by: Mapping[str, Collection[str]] | None = None

    @cached_property
    def _reverse(self) -> Mapping[str, Collection[str]]:
        if self.held_by is not None:
            return self.held_by
        index: dict[str, set[str]] = {}
        for subject, parties in self.holders_of.items():
            for party in parties:
                index.setdefault(party, set()).add(subject)
        return index

    def subjects_held_by(self, party: str) -> set[str]:
        """Subjects ``party`` has a live statement about (holdings, seats, posts)."""
        return set(self._reverse.get(party, ()))

    def holdings(self) -> dict[str, set[str]]:
        """The whole reverse index: interested party -> subjects it has a statement about."""
        return {party: set(subjects) for party, subjects in self._reverse.items()}

    def statements(self, subject_id: str) -> Iterator[OwnershipStated]:
        yield from self.holders_of.get(subject_id, {}).values()

    def downstream(self, org_ids: set[str]) -> set[str]:
        """Every subject reachable from ``org_ids`` through holdings, the orgs themselves included.

        A change to who holds X changes the influence over X and over everything X holds.
        """
        reached = set(org_ids)
        frontier = list(org_ids)
        while frontier:
            for subject in self._reverse.get(frontier.pop(), ()):
                if subject not in reached:
                    reached.add(subject)
                    frontier.append(subject)
        return reached


def live_interests(statement: OwnershipStated, as_of: date | None) -> tuple[Interest, ...]:
    """Interests in force on ``as_of`` (all of them when unknown); none once the statement is closed."""
    if statement.status is OwnershipStatus.CLOSED:
        return ()
    return tuple(i for i in statement.interests if in_force(i.start_date, i.end_date, as_of))


def in_force(start: date | None, end: date | None, as_of: date | None) -> bool:
    """Whether a period from ``start`` to ``end`` (both inclusive, either open) covers ``as_of``
    (always, when the day is unknown). Interests and contracts share this rule."""
    if as_of is None:
        return True
    if start is not None and start > as_of:
        return False
    return end is None or end >= as_of


def apply_statement(
    holders_of: Mapping[str, OwnershipStated], statement: OwnershipStated
) -> dict[str, OwnershipStated]:
    """The subject's holders after ``statement``: it replaces the earlier one; ``closed`` removes it."""
    updated = dict(holders_of)
    if statement.status is OwnershipStatus.CLOSED:
        updated.pop(statement.interested_party_id, None)
    else:
        updated[statement.interested_party_id] = statement
    return updated
