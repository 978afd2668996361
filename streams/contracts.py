"""Contracts per vendor and what each lab has at stake there, as pure functions.

The contracts table keeps, per vendor, every contract by id (terminated ones too, so a late amendment
of a terminated contract is recognised and rejected rather than reviving it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict, ValidationError

from schemas.alert import Exposure
from schemas.cloudevents import describe
from schemas.errors import InvalidEventData
from schemas.events import ContractAmended, ContractSigned, ContractTerminated, Sensitivity
from schemas.types import Id, UsdAmount
from streams.graph import in_force

ContractEvent = ContractSigned | ContractAmended | ContractTerminated


class ContractState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contract_id: Id
    lab_id: Id
    vendor_id: Id
    annual_value_usd: UsdAmount
    data_classes: tuple[str, ...] = ()
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    start_date: date | None = None
    end_date: date | None = None
    terminated: bool = False

    def active(self, as_of: date | None) -> bool:
        return not self.terminated and in_force(self.start_date, self.end_date, as_of)


def apply_contract_event(
    contracts: Mapping[str, ContractState], event: ContractEvent
) -> dict[str, ContractState]:
    """The vendor's contracts after ``event``; raises ``InvalidEventData`` for an impossible change."""
    current = contracts.get(event.contract_id)
    if current is not None and current.lab_id != event.lab_id:
        raise InvalidEventData(
            f"data.lab_id: contract {event.contract_id} belongs to {current.lab_id}, not {event.lab_id}"
        )
    updated = dict(contracts)
    if isinstance(event, ContractSigned) and current is not None and current.terminated:
        raise InvalidEventData(
            f"data.contract_id: contract {event.contract_id} was terminated; a renewal needs a new contract_id"
        )
    if isinstance(event, ContractSigned):
        updated[event.contract_id] = ContractState(**event.model_dump())
        return updated
    if current is None:
        raise InvalidEventData(f"data.contract_id: no contract {event.contract_id} was signed with this vendor")
    if current.terminated:
        raise InvalidEventData(f"data.contract_id: contract {event.contract_id} is already terminated")
    if isinstance(event, ContractTerminated):
        changes: dict[str, object] = {"terminated": True}
        if event.end_date is not None:
            changes["end_date"] = event.end_date
        updated[event.contract_id] = current.model_copy(update=changes)
        return updated
    named = event.model_dump(exclude_unset=True, exclude={"contract_id", "lab_id", "vendor_id"})
    # Validate the result: an explicit null (``"sensitivity": null``) would otherwise be stored and
    # break every later evaluation of this vendor.
    try:
        updated[event.contract_id] = ContractState.model_validate({**current.model_dump(), **named})
    except ValidationError as exc:
        raise InvalidEventData(describe(exc, prefix="data")) from None
    return updated


def lab_exposures(contracts: Mapping[str, ContractState], as_of: date | None) -> dict[str, Exposure]:
    """Per lab, the sum of its active contracts with this vendor."""
    by_lab: dict[str, list[ContractState]] = {}
    for contract in contracts.values():
        if contract.active(as_of):
            by_lab.setdefault(contract.lab_id, []).append(contract)
    return {lab: _sum(items) for lab, items in by_lab.items()}


def _sum(contracts: list[ContractState]) -> Exposure:
    return Exposure(
        annual_value_usd=sum(c.annual_value_usd for c in contracts),
        data_classes=tuple(sorted({d for c in contracts for d in c.data_classes})),
        sensitivity=max((c.sensitivity for c in contracts), key=lambda s: s.rank),
        contract_ids=tuple(sorted(c.contract_id for c in contracts)),
    )


def labs_of(contracts: Mapping[str, ContractState]) -> set[str]:
    """Every lab that ever contracted with this vendor (its exposure view entry may need removing)."""
    return {c.lab_id for c in contracts.values()}
