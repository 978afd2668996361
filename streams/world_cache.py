"""Parsed, indexed views of the global tables, kept current entry by entry (no Faust here).

The evaluator needs organisations, competitor sets and the ownership graph as models, and the graph's
reverse index (who holds what). Rebuilding those from the tables on every evaluation costs O(graph);
the cache applies each changed entry instead, whether the change was written here or arrived through
a global table's changelog from another worker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from schemas.events import OrgDeclared, OwnershipStated
from streams.evaluate import World
from streams.graph import Graph, Orgs
from streams.paths import Limits

ORGS, COMPETITORS, OWNERSHIP = "orgs", "competitors", "ownership"
GLOBAL_TABLES = (ORGS, COMPETITORS, OWNERSHIP)


class WorldCache:
    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.version = 0
        """Counts the changes applied: what was worked out from the world holds while it stays the same."""
        self.orgs: dict[str, OrgDeclared] = {}
        self.children: dict[str, set[str]] = {}
        self.competitors: dict[str, tuple[str, ...]] = {}
        self.holders: dict[str, dict[str, OwnershipStated]] = {}
        self.held_by: dict[str, set[str]] = {}

    def world(self) -> World:
        """A view over the cache; read it without awaiting in between, as the evaluator does."""
        return World(orgs=Orgs(self.orgs, self.children), graph=Graph(self.holders, self.held_by),
                     competitors=self.competitors, limits=self.limits)

    def apply(self, table: str, key: str, raw: Any) -> None:
        """The table entry ``key`` is now ``raw`` (``None`` when deleted)."""
        self.version += 1
        if table == ORGS:
            self._set_org(key, None if raw is None else OrgDeclared.model_validate(raw))
        elif table == COMPETITORS:
            _put(self.competitors, key, None if raw is None else tuple(raw))
        elif table == OWNERSHIP:
            self._set_holders(key, {} if raw is None else raw)
        else:
            raise KeyError(table)

    def rebuild(self, table: str, items: Iterable[tuple[str, Any]]) -> None:
        """Replace everything cached from ``table`` (after a recovery that loaded state wholesale)."""
        self.version += 1
        if table == ORGS:
            self.orgs.clear()
            self.children.clear()
        elif table == COMPETITORS:
            self.competitors.clear()
        else:
            self.holders.clear()
            self.held_by.clear()
        for key, raw in items:
            self.apply(table, key, raw)

    def _set_org(self, org_id: str, org: OrgDeclared | None) -> None:
        previous = self.orgs.get(org_id)
        if previous is not None and previous.parent_id is not None:
            siblings = self.children.get(previous.parent_id)
            if siblings is not None:
                siblings.discard(org_id)
                if not siblings:
                    del self.children[previous.parent_id]
        _put(self.orgs, org_id, org)
        if org is not None and org.parent_id is not None:
            self.children.setdefault(org.parent_id, set()).add(org_id)

    def _set_holders(self, subject: str, raw: Mapping[str, Any]) -> None:
        for party in self.holders.pop(subject, {}):
            subjects = self.held_by.get(party)
            if subjects is not None:
                subjects.discard(subject)
                if not subjects:
                    del self.held_by[party]
        if not raw:
            return
        self.holders[subject] = {party: OwnershipStated.model_validate(s) for party, s in raw.items()}
        for party in raw:
            self.held_by.setdefault(party, set()).add(subject)


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        target.pop(key, None)
    else:
        target[key] = value
