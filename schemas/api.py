"""Response models of the worker's HTTP API (``GET /v1/labs/{lab_id}/exposure``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from schemas.alert import Severity
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
