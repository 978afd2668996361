"""Running totals of data shipped to each vendor, per lab (pure).

A vendor's entry maps each lab id to its totals, plus ``_applied`` (never a lab id: ids start with a
letter or digit): per source partition, the offset of the last record whose shipments the entry
includes. It is written in the same table write as the totals, so after a crash the agent can tell a
replayed record it already counted from one whose totals were lost, without waiting for the broker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol


class Shipment(Protocol):
    """What the totals need of a shipment: ``schemas.events.DataShared`` or the stream's decoded form
    (``schemas.shipment_codec.ShipmentData``)."""

    @property
    def lab_id(self) -> str: ...
    @property
    def vendor_id(self) -> str: ...
    @property
    def records(self) -> int: ...
    @property
    def bytes(self) -> int: ...
    @property
    def data_class(self) -> str: ...


def add_shipment(totals: Mapping[str, Any] | None, shipment: Shipment) -> dict[str, Any]:
    """Per lab: shipments, records and bytes, and the data classes seen, after one more shipment."""
    return add_shipments(totals, (shipment,))


def add_shipments(totals: Mapping[str, Any] | None, shipments: Iterable[Shipment]) -> dict[str, Any]:
    """``add_shipment`` for many shipments to one vendor at once: the totals are copied once, not per shipment."""
    updated = dict(totals or {})
    touched: dict[str, dict[str, Any]] = {}
    classes: dict[str, set[str]] = {}
    for shipment in shipments:
        lab = touched.get(shipment.lab_id)
        if lab is None:
            lab = dict(updated.get(shipment.lab_id) or {"shipments": 0, "records": 0, "bytes": 0, "data_classes": []})
            touched[shipment.lab_id] = lab
            classes[shipment.lab_id] = set(lab["data_classes"])
        lab["shipments"] += 1
        lab["records"] += shipment.records
        lab["bytes"] += shipment.bytes
        classes[shipment.lab_id].add(shipment.data_class)
    for lab_id, lab in touched.items():
        lab["data_classes"] = sorted(classes[lab_id])
        updated[lab_id] = lab
    return updated


APPLIED = "_applied"


def applied_offset(totals: Mapping[str, Any] | None, partition: int) -> int:
    """The offset of the last record of ``partition`` counted in ``totals``; -1 when none was."""
    offset: int = ((totals or {}).get(APPLIED) or {}).get(str(partition), -1)
    return offset


def record_applied(totals: Mapping[str, Any], offsets: Mapping[int, int]) -> dict[str, Any]:
    """``totals`` that also say the records up to ``offsets`` (partition -> offset) are counted."""
    applied = dict(totals.get(APPLIED) or {})
    for partition, offset in offsets.items():
        applied[str(partition)] = max(offset, applied.get(str(partition), -1))
    return {**totals, APPLIED: applied}


def lab_totals(totals: Mapping[str, Any] | None) -> dict[str, Any]:
    """The per-lab part of an entry."""
    return {lab: t for lab, t in (totals or {}).items() if lab != APPLIED}
