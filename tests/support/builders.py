"""Small constructors for the event models, so tests read like the story they tell."""

from __future__ import annotations

from datetime import date

from schemas.events import (
    ContractAmended,
    ContractSigned,
    ContractTerminated,
    Interest,
    InterestType,
    OrgDeclared,
    OrgKind,
    OwnershipStated,
    OwnershipStatus,
    Sensitivity,
    Share,
)
from streams.graph import Graph, Orgs, apply_statement


def org(org_id: str, parent_id: str | None = None, kind: OrgKind = OrgKind.OTHER) -> OrgDeclared:
    return OrgDeclared(org_id=org_id, name=org_id.title(), kind=kind, parent_id=parent_id)


def orgs(*declared: OrgDeclared) -> Orgs:
    return Orgs({o.org_id: o for o in declared})


def share(exact: float | None = None, minimum: float | None = None, maximum: float | None = None) -> Share:
    return Share(exact=exact, minimum=minimum, maximum=maximum)


def shareholding(value: float | Share, *, start: date | None = None, end: date | None = None) -> Interest:
    amount = value if isinstance(value, Share) else share(value)
    return Interest(type=InterestType.SHAREHOLDING, share=amount, start_date=start, end_date=end)


def voting(value: float | Share) -> Interest:
    amount = value if isinstance(value, Share) else share(value)
    return Interest(type=InterestType.VOTING_RIGHTS, share=amount)


def role(kind: InterestType, *, start: date | None = None, end: date | None = None) -> Interest:
    return Interest(type=kind, start_date=start, end_date=end)


def appoints(value: float) -> Interest:
    """A right to appoint ``value`` percent of the board."""
    return Interest(type=InterestType.APPOINTMENT_OF_BOARD, share=share(value))


def stated(
    subject_id: str,
    party_id: str,
    *interests: Interest,
    status: OwnershipStatus = OwnershipStatus.COMPLETED,
    stated_on: date | None = None,
    effective: date | None = None,
) -> OwnershipStated:
    return OwnershipStated(subject_id=subject_id, interested_party_id=party_id, status=status, interests=interests,
                           statement_date=stated_on, effective_date=effective)


def closed(subject_id: str, party_id: str) -> OwnershipStated:
    return OwnershipStated(subject_id=subject_id, interested_party_id=party_id, status=OwnershipStatus.CLOSED)


def graph(*statements: OwnershipStated) -> Graph:
    """The graph after applying ``statements`` in order, as the ownership agent would."""
    holders: dict[str, dict[str, OwnershipStated]] = {}
    for statement in statements:
        holders[statement.subject_id] = apply_statement(holders.get(statement.subject_id, {}), statement)
    return Graph(holders)


def signed(
    contract_id: str,
    lab_id: str = "google",
    vendor_id: str = "scale-ai",
    value: float = 1_000_000,
    sensitivity: Sensitivity = Sensitivity.CONFIDENTIAL,
    data_classes: tuple[str, ...] = ("training_data",),
    start: date | None = None,
    end: date | None = None,
) -> ContractSigned:
    return ContractSigned(
        contract_id=contract_id, lab_id=lab_id, vendor_id=vendor_id, annual_value_usd=value,
        data_classes=data_classes, sensitivity=sensitivity, start_date=start, end_date=end,
    )


def amended(
    contract_id: str, lab_id: str = "google", vendor_id: str = "scale-ai", **changes: object
) -> ContractAmended:
    ids = {"contract_id": contract_id, "lab_id": lab_id, "vendor_id": vendor_id}
    return ContractAmended.model_validate({**ids, **changes})


def terminated(contract_id: str, lab_id: str = "google", vendor_id: str = "scale-ai",
               end: date | None = None) -> ContractTerminated:
    return ContractTerminated(contract_id=contract_id, lab_id=lab_id, vendor_id=vendor_id, end_date=end)
