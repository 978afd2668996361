"""Response models of the worker's HTTP API (``GET /v1/labs/{lab_id}/exposure``,
``GET /v1/vendors/{vendor_id}/influence``)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from schemas.alert import Exposure, Influence, Severity
from schemas.events import Sensitivity
from schemas.types import Id, NonEmptyStr, UsdAmount


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConflictView(Frozen):
    competitor_id: Id
    severity: Severity
    alert_id: NonEmptyStr
    provisional: bool = False
    reasons: tuple[NonEmptyStr, ...] = ()


class VendorExposure(Frozen):
    """One vendor in a lab's exposure view: what the lab has there and who else reaches it."""

    vendor_id: Id
    annual_value_usd: UsdAmount
    data_classes: tuple[NonEmptyStr, ...]
    sensitivity: Sensitivity | None
    contract_ids: tuple[Id, ...]
    conflicts: tuple[ConflictView, ...] = ()
    updated_at: datetime | None = None


class LabExposure(Frozen):
    lab_id: Id
    annual_value_usd: UsdAmount
    conflicted_value_usd: UsdAmount
    vendors: tuple[VendorExposure, ...]
    as_of: datetime | None = None
    """Set when the view is of a past moment (``?as_of=``): what the facts known up to then implied;
    ``None`` for the live view."""


class LabSeverity(Frozen):
    """The severity one lab's (lab, vendor, competitor) overlap leads to, and why (``None``: no alert)."""

    lab_id: Id
    severity: Severity | None
    reasons: tuple[NonEmptyStr, ...] = ()
    provisional: bool = False
    exposure: Exposure = Exposure()


class CompetitorInfluence(Frozen):
    """How one competitor's group reaches the vendor: who holds what, by which paths, and what follows."""

    competitor_id: Id
    group_id: Id
    holder_ids: tuple[Id, ...] = ()
    """Group members, entities the group controls and people through whom it reaches the vendor."""
    influence: Influence | None = None
    """``None`` when the group does not reach the vendor at all."""
    severities: tuple[LabSeverity, ...] = ()


class InfluenceExplanation(Frozen):
    """``GET /v1/vendors/{vendor_id}/influence`` and ``vendorwatch explain LAB VENDOR``."""

    vendor_id: Id
    as_of: date | None = None
    max_depth: int
    min_edge_share: float
    announced_horizon_days: int
    competitors: tuple[CompetitorInfluence, ...] = ()
