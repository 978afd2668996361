"""The stream agents' fold, in memory and without Faust: events in, alert transitions out.

It calls the same pure functions as ``streams/agents.py``, picks the vendors to re-evaluate the same
way and keeps its tables as the same plain JSON (through ``streams.state``), so a story can be checked end
to end without a broker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from alerts.lifecycle import AlertState
from schemas.alert import Alert, Evidence
from schemas.api import VendorExposure
from schemas.cloudevents import CloudEvent, decode_structured
from schemas.events import (
    CompetitorsDeclared,
    ContractAmended,
    ContractSigned,
    ContractTerminated,
    DataShared,
    OrgDeclared,
    OwnershipStated,
)
from streams.changes import after_org_declared, after_statement
from streams.contracts import apply_contract_event
from streams.evaluate import Trigger, World, evaluate_vendor
from streams.graph import apply_statement
from streams.shipments import add_shipment
from streams.state import Json, contracts_from_table, dump, holders_from_table, states_from_table, world_from_tables

SEED_DIR = Path(__file__).resolve().parents[2] / "vendorwatch" / "stories" / "seed"
PROCESSING_DAY = date(2025, 7, 1)
"""The agent evaluates as of the day it runs; a fixed day after the story keeps tests deterministic."""


def story_files(directory: Path = SEED_DIR) -> list[Path]:
    return sorted(directory.glob("*.ndjson"))


def story_events(path: Path) -> list[CloudEvent]:
    return [decode_structured(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Fold:
    as_of: date | None = PROCESSING_DAY
    orgs: dict[str, Json] = field(default_factory=dict)
    competitors: dict[str, list[str]] = field(default_factory=dict)
    ownership: dict[str, dict[str, Json]] = field(default_factory=dict)
    contracts: dict[str, dict[str, Json]] = field(default_factory=dict)
    shipments: dict[str, dict[str, Any]] = field(default_factory=dict)
    alert_states: dict[str, dict[str, Json]] = field(default_factory=dict)
    """vendor -> ``lab|competitor`` -> lifecycle state."""
    exposure: dict[str, dict[str, Json]] = field(default_factory=dict)
    """lab -> vendor -> the lab's exposure view entry."""
    seen: set[str] = field(default_factory=set)
    alerts: list[Alert] = field(default_factory=list)

    def world(self) -> World:
        return world_from_tables(self.orgs, self.competitors, self.ownership)

    def feed(self, events: Iterable[CloudEvent]) -> list[Alert]:
        """Apply each event (skipping duplicates by source + id); the alert transitions they caused."""
        produced: list[Alert] = []
        for event in events:
            produced.extend(self.apply(event))
        return produced

    def feed_file(self, path: Path) -> list[Alert]:
        return self.feed(story_events(path))

    def apply(self, event: CloudEvent) -> list[Alert]:
        if event.identity in self.seen:
            return []
        vendors = self._apply(event.data)
        self.seen.add(event.identity)
        trigger = Trigger(evidence=(Evidence(source=event.source, id=event.id, type=event.type),), at=event.time,
                          as_of=self.as_of)
        produced: list[Alert] = []
        for vendor_id in sorted(vendors):
            produced.extend(self.evaluate(vendor_id, trigger))
        self.alerts.extend(produced)
        return produced

    def evaluate(self, vendor_id: str, trigger: Trigger) -> list[Alert]:
        result = evaluate_vendor(vendor_id, contracts_from_table(self.contracts.get(vendor_id)), self.world(),
                                 states_from_table(self.alert_states.get(vendor_id)), trigger)
        self.alert_states[vendor_id] = {key: state.to_json() for key, state in result.states.items()}
        for lab_id, view in result.exposures.items():
            vendors = self.exposure.setdefault(lab_id, {})
            if view is None:
                vendors.pop(vendor_id, None)
            else:
                vendors[vendor_id] = dump(view)
        return result.alerts

    def _apply(self, data: object) -> set[str]:
        """Update the tables; the vendors to re-evaluate (chosen as ``streams/agents.py`` does)."""
        if isinstance(data, CompetitorsDeclared):
            self.competitors[data.lab_id] = list(data.competitors)
            return set(self.exposure.get(data.lab_id, {}))
        if isinstance(data, OrgDeclared):
            before = self.world()
            self.orgs[data.org_id] = dump(data)
            return after_org_declared(before.orgs, before.graph, data, set(self.exposure.get(data.org_id, {})))
        if isinstance(data, OwnershipStated):
            holders = apply_statement(holders_from_table(self.ownership.get(data.subject_id)), data)
            self.ownership[data.subject_id] = {party: dump(s) for party, s in holders.items()}
            return after_statement(self.world().graph, data)
        if isinstance(data, ContractSigned | ContractAmended | ContractTerminated):
            updated = apply_contract_event(contracts_from_table(self.contracts.get(data.vendor_id)), data)
            self.contracts[data.vendor_id] = {cid: dump(c) for cid, c in updated.items()}
            return {data.vendor_id}
        if isinstance(data, DataShared):
            self.shipments[data.vendor_id] = add_shipment(self.shipments.get(data.vendor_id), data)
            return set()
        raise TypeError(f"the fold does not handle {type(data).__name__}")

    def state_of(self, lab_id: str, vendor_id: str, competitor_id: str) -> AlertState | None:
        return states_from_table(self.alert_states.get(vendor_id)).get(f"{lab_id}|{competitor_id}")

    def view(self, lab_id: str) -> dict[str, VendorExposure]:
        """The lab's exposure view (``GET /v1/labs/{lab_id}/exposure``), by vendor."""
        return {v: VendorExposure.model_validate(e) for v, e in self.exposure.get(lab_id, {}).items()}
