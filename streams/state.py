"""Conversions between table values (plain JSON) and the models the pure functions take."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from alerts.lifecycle import AlertState
from schemas.events import OrgDeclared, OwnershipStated
from streams.contracts import ContractState
from streams.evaluate import World
from streams.graph import Graph, Orgs

Json = dict[str, Any]


def dump(model: Any) -> Json:
    result: Json = model.model_dump(mode="json", exclude_none=True)
    return result


def world_from_tables(orgs: Mapping[str, Json], competitors: Mapping[str, list[str]],
                      ownership: Mapping[str, Mapping[str, Json]]) -> World:
    return World(
        orgs=Orgs({k: OrgDeclared.model_validate(v) for k, v in orgs.items()}),
        graph=Graph({
            subject: {party: OwnershipStated.model_validate(s) for party, s in holders.items()}
            for subject, holders in ownership.items()
        }),
        competitors={lab: tuple(c) for lab, c in competitors.items()},
    )


def contracts_from_table(raw: Mapping[str, Json] | None) -> dict[str, ContractState]:
    return {cid: ContractState.model_validate(c) for cid, c in (raw or {}).items()}


def states_from_table(raw: Mapping[str, Json] | None) -> dict[str, AlertState]:
    return {key: AlertState.from_json(s) for key, s in (raw or {}).items()}


def holders_from_table(raw: Mapping[str, Json] | None) -> dict[str, OwnershipStated]:
    return {party: OwnershipStated.model_validate(s) for party, s in (raw or {}).items()}


def vendors_by_lab(contracts: Iterable[tuple[str, Mapping[str, Json]]]) -> dict[str, set[str]]:
    """Per lab, the vendors it ever contracted with, from contracts table items (vendor -> contracts)."""
    index: dict[str, set[str]] = {}
    for vendor_id, raw in contracts:
        for contract in raw.values():
            index.setdefault(contract["lab_id"], set()).add(vendor_id)
    return index
