"""Payload models (the CloudEvent ``data``) for every input type in EVENTS.md.

Models are strict about unknown fields so that a producer's typo (``anual_value_usd``) is rejected
with a clear reason instead of being silently ignored.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.types import Id, NonEmptyStr, Percent, UsdAmount


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OrgKind(StrEnum):
    LAB = "lab"
    VENDOR = "vendor"
    INVESTOR = "investor"
    PERSON = "person"
    OTHER = "other"


class Sensitivity(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        return _SENSITIVITY_RANK[self]


_SENSITIVITY_RANK = {
    Sensitivity.PUBLIC: 0,
    Sensitivity.INTERNAL: 1,
    Sensitivity.CONFIDENTIAL: 2,
    Sensitivity.RESTRICTED: 3,
}


class OrgDeclared(Contract):
    """Full state of one organisation or person; a later declaration replaces it."""

    org_id: Id
    name: NonEmptyStr
    kind: OrgKind
    aliases: tuple[NonEmptyStr, ...] = ()
    parent_id: Id | None = None

    @model_validator(mode="after")
    def _not_own_parent(self) -> Self:
        if self.parent_id == self.org_id:
            raise ValueError("parent_id must differ from org_id")
        return self


class CompetitorsDeclared(Contract):
    """Full competitor set of one lab; a later declaration replaces it."""

    lab_id: Id
    competitors: tuple[Id, ...]


class OwnershipStatus(StrEnum):
    ANNOUNCED = "announced"
    COMPLETED = "completed"
    CLOSED = "closed"


class InterestType(StrEnum):
    SHAREHOLDING = "shareholding"
    VOTING_RIGHTS = "votingRights"
    APPOINTMENT_OF_BOARD = "appointmentOfBoard"
    BOARD_MEMBER = "boardMember"
    BOARD_CHAIR = "boardChair"
    SENIOR_MANAGING_OFFICIAL = "seniorManagingOfficial"
    OTHER_INFLUENCE_OR_CONTROL = "otherInfluenceOrControl"


class Share(Contract):
    """A percentage, exact or as a range (BODS): ``{exact}`` or ``{minimum, maximum}``."""

    exact: Percent | None = None
    minimum: Percent | None = None
    maximum: Percent | None = None

    @model_validator(mode="after")
    def _exact_or_range(self) -> Self:
        has_range = self.minimum is not None or self.maximum is not None
        if self.exact is not None and has_range:
            raise ValueError("give either exact or minimum/maximum, not both")
        if self.exact is None and not has_range:
            raise ValueError("give exact, or minimum and/or maximum")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum must not exceed maximum")
        return self

    @property
    def low(self) -> float:
        """The best case (smallest share) this statement allows."""
        if self.exact is not None:
            return self.exact
        return self.minimum if self.minimum is not None else 0.0

    @property
    def high(self) -> float:
        """The worst case (largest share) this statement allows; severity uses this."""
        if self.exact is not None:
            return self.exact
        return self.maximum if self.maximum is not None else 100.0


SHARE_INTERESTS = frozenset({InterestType.SHAREHOLDING, InterestType.VOTING_RIGHTS})


class Interest(Contract):
    type: InterestType
    share: Share | None = None
    start_date: date | None = None
    end_date: date | None = None

    @model_validator(mode="after")
    def _share_where_it_belongs(self) -> Self:
        if self.type in SHARE_INTERESTS and self.share is None:
            raise ValueError(f"an interest of type {self.type.value} needs a share")
        return self


class SourceType(StrEnum):
    SELF_DECLARATION = "selfDeclaration"
    OFFICIAL_REGISTER = "officialRegister"
    THIRD_PARTY = "thirdParty"
    PRIMARY_RESEARCH = "primaryResearch"
    VERIFIED = "verified"


class StatementSource(Contract):
    type: SourceType
    url: NonEmptyStr | None = None
    description: NonEmptyStr | None = None


class OwnershipStated(Contract):
    """The full current state of one relationship: interested party -> subject (BODS 0.4 vocabulary)."""

    subject_id: Id
    interested_party_id: Id
    status: OwnershipStatus
    interests: tuple[Interest, ...] = ()
    effective_date: date | None = None
    statement_date: date | None = Field(
        default=None,
        description="When the statement was made (BODS statementDate); the worker fills it from the "
        "CloudEvent time when absent. An announced deal expires a set time after it.",
    )
    source: StatementSource | None = None

    @model_validator(mode="after")
    def _interests_unless_closed(self) -> Self:
        if self.subject_id == self.interested_party_id:
            raise ValueError("interested_party_id must differ from subject_id")
        if self.status is not OwnershipStatus.CLOSED and not self.interests:
            raise ValueError("interests are required unless status is closed")
        return self


class ContractSigned(Contract):
    contract_id: Id
    lab_id: Id
    vendor_id: Id
    annual_value_usd: UsdAmount
    data_classes: tuple[NonEmptyStr, ...] = ()
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    start_date: date | None = None
    end_date: date | None = None


class ContractAmended(Contract):
    """Replaces the fields it names; the rest of the contract stays as it was."""

    contract_id: Id
    lab_id: Id
    vendor_id: Id
    annual_value_usd: UsdAmount | None = None
    data_classes: tuple[NonEmptyStr, ...] | None = None
    sensitivity: Sensitivity | None = None
    start_date: date | None = None
    end_date: date | None = None


class ContractTerminated(Contract):
    contract_id: Id
    lab_id: Id
    vendor_id: Id
    end_date: date | None = None


class DataShared(Contract):
    """One shipment of data to a vendor."""

    lab_id: Id
    vendor_id: Id
    contract_id: Id
    records: int = Field(ge=0)
    bytes: int = Field(ge=0)
    data_class: NonEmptyStr
    sensitivity: Sensitivity


