"""Running totals of data shipped to each vendor, per lab (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.events import DataShared


def add_shipment(totals: Mapping[str, Any] | None, shipment: DataShared) -> dict[str, Any]:
    """Per lab: shipments, records and bytes, and the data classes seen, after one more shipment."""
    updated = dict(totals or {})
    lab = dict(updated.get(shipment.lab_id) or {"shipments": 0, "records": 0, "bytes": 0, "data_classes": []})
    lab["shipments"] += 1
    lab["records"] += shipment.records
    lab["bytes"] += shipment.bytes
    lab["data_classes"] = sorted({*lab["data_classes"], shipment.data_class})
    updated[shipment.lab_id] = lab
    return updated
