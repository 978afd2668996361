"""The alert (type ``vendorwatch.alert.v1``): one lifecycle transition of one (lab, vendor, competitor) conflict."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import InterestType, Sensitivity
from schemas.types import Id, NonEmptyStr, Percent, UsdAmount


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return SEVERITY_ORDER.index(self)

    def step_up(self) -> Severity:
        return SEVERITY_ORDER[min(self.rank + 1, len(SEVERITY_ORDER) - 1)]


SEVERITY_ORDER: tuple[Severity, ...] = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Transition(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    RESOLVED = "resolved"


class PathStep(Frozen):
    """One edge of a chain: ``holder`` has ``interests`` in ``subject``.

    ``share_*`` is the economic share (shareholding), ``voting_share_*`` the votes, best and worst case.
    """

    holder_id: Id
    subject_id: Id
    interests: tuple[InterestType, ...]
    share_low: Percent | None = None
    share_high: Percent | None = None
    provisional: bool = False
    voting_share_low: Percent | None = None
    voting_share_high: Percent | None = None


class InfluencePath(Frozen):
    """How one of the competitor's group members reaches the vendor, edge by edge (top holder first).

    ``economic_share`` is the product of the steps' worst-case shares. A path stops at the first entity the
    group holds whole: a member of the group or an entity it controls (see ``Influence.control``).
    ``voting_share`` is set on one-step paths only: votes pass through control, not through minority stakes.
    """

    steps: tuple[PathStep, ...]
    economic_share: Percent = 0.0
    voting_share: Percent = 0.0


class PersonLink(Frozen):
    """A person holding a board seat or senior post at the vendor and at the competitor's group."""

    person_id: Id
    vendor_roles: tuple[InterestType, ...]
    competitor_entity_id: Id
    competitor_roles: tuple[InterestType, ...]
    provisional: bool = False


class ControlLink(Frozen):
    """An entity the competitor's group controls (> 50% of the votes or of the board appointments), so what
    it holds counts as the group's, whole (the CFIUS view). ``steps`` are the statements that give control."""

    entity_id: Id
    steps: tuple[PathStep, ...]
    voting_share: Percent = 0.0
    board_appointment_share: Percent = 0.0
    provisional: bool = False


class Influence(Frozen):
    """How a competitor reaches a vendor. Shares are percent, worst case first (``*_low`` is the best case)."""

    economic_share: Percent = 0.0
    economic_share_low: Percent = 0.0
    voting_share: Percent = 0.0
    voting_share_low: Percent = 0.0
    board_seats: int = Field(default=0, ge=0)
    board_majority: bool = False
    appointment_rights: bool = False
    other_control: bool = False
    people: tuple[PersonLink, ...] = ()
    paths: tuple[InfluencePath, ...] = ()
    provisional: bool = False
    group_member: bool = False
    """The vendor itself belongs to the competitor's group (a declared ``parent_id`` chain): control."""
    control: tuple[ControlLink, ...] = ()
    """Intermediate entities the group controls that its paths pass through or its people sit at."""


class Exposure(Frozen):
    """What a lab has at stake with a vendor across its active contracts."""

    annual_value_usd: UsdAmount = 0.0
    data_classes: tuple[NonEmptyStr, ...] = ()
    sensitivity: Sensitivity | None = None
    contract_ids: tuple[Id, ...] = ()


class Evidence(Frozen):
    """The CloudEvent (``source`` + ``id``) that caused this transition."""

    source: NonEmptyStr
    id: NonEmptyStr
    type: NonEmptyStr


class Alert(Frozen):
    alert_id: NonEmptyStr
    sequence: int = Field(ge=1, description="1 for opened, then +1 per transition of this episode")
    status: AlertStatus
    transition: Transition
    severity: Severity
    previous_severity: Severity | None = None
    lab_id: Id
    vendor_id: Id
    competitor_id: Id
    provisional: bool = False
    reasons: tuple[NonEmptyStr, ...] = ()
    influence: Influence
    exposure: Exposure
    evidence: tuple[Evidence, ...] = ()
    summary: NonEmptyStr
