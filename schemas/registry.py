"""Which event types exist, their payload models, topics and partitioning keys (EVENTS.md)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass

from pydantic import BaseModel

from schemas.alert import Alert
from schemas.events import (
    CompetitorsDeclared,
    ContractAmended,
    ContractSigned,
    ContractTerminated,
    DataShared,
    OrgDeclared,
    OwnershipStated,
)

TOPIC_ORGS = "vendorwatch.orgs"
TOPIC_OWNERSHIP = "vendorwatch.ownership"
TOPIC_CONTRACTS = "vendorwatch.contracts"
TOPIC_DATA_SHARES = "vendorwatch.data-shares"
TOPIC_ALERTS = "vendorwatch.alerts"
TOPIC_DEADLETTER = "vendorwatch.deadletter"

INPUT_TOPICS = (TOPIC_ORGS, TOPIC_OWNERSHIP, TOPIC_CONTRACTS, TOPIC_DATA_SHARES)
FACT_TOPICS = (TOPIC_ORGS, TOPIC_OWNERSHIP, TOPIC_CONTRACTS)
"""The low-volume input topics whose history replay and as-of queries fold (all but data shipments), in an
order that also breaks ties in event time: an org is declared before it is owned or contracted."""

ORG_DECLARED = "vendorwatch.org.declared.v1"
COMPETITORS_DECLARED = "vendorwatch.competitors.declared.v1"
OWNERSHIP_STATED = "vendorwatch.ownership.stated.v1"
CONTRACT_SIGNED = "vendorwatch.contract.signed.v1"
CONTRACT_AMENDED = "vendorwatch.contract.amended.v1"
CONTRACT_TERMINATED = "vendorwatch.contract.terminated.v1"
DATA_SHARED = "vendorwatch.data.shared.v1"
ALERT = "vendorwatch.alert.v1"


@dataclass(frozen=True, slots=True)
class EventSpec:
    type: str
    model: builtins.type[BaseModel]
    topic: str
    key_field: str

    def key_of(self, data: BaseModel) -> str:
        """The Kafka record key EVENTS.md names for this type, derived from ``data``."""
        value = getattr(data, self.key_field)
        assert isinstance(value, str)
        return value


SPECS: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (
        EventSpec(ORG_DECLARED, OrgDeclared, TOPIC_ORGS, "org_id"),
        EventSpec(COMPETITORS_DECLARED, CompetitorsDeclared, TOPIC_ORGS, "lab_id"),
        EventSpec(OWNERSHIP_STATED, OwnershipStated, TOPIC_OWNERSHIP, "subject_id"),
        EventSpec(CONTRACT_SIGNED, ContractSigned, TOPIC_CONTRACTS, "vendor_id"),
        EventSpec(CONTRACT_AMENDED, ContractAmended, TOPIC_CONTRACTS, "vendor_id"),
        EventSpec(CONTRACT_TERMINATED, ContractTerminated, TOPIC_CONTRACTS, "vendor_id"),
        EventSpec(DATA_SHARED, DataShared, TOPIC_DATA_SHARES, "vendor_id"),
        EventSpec(ALERT, Alert, TOPIC_ALERTS, "lab_id"),
    )
}

INPUT_TYPES = frozenset(t for t, s in SPECS.items() if s.topic in INPUT_TOPICS)
