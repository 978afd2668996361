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


LabSum = tuple[int, int, int, list[str]]
"""One lab's part of some shipments: shipments, records, bytes, and the data classes seen (sorted)."""
LabSums = dict[str, LabSum]


def lab_sums(shipments: Iterable[Shipment]) -> LabSums:
    """Shipments summed per lab: what they add to a vendor's totals (``add_lab_sums``)."""
    sums: dict[str, list[Any]] = {}
    for shipment in shipments:
        lab = sums.get(shipment.lab_id)
        if lab is None:
            lab = sums[shipment.lab_id] = [0, 0, 0, set()]
        lab[0] += 1
        lab[1] += shipment.records
        lab[2] += shipment.bytes
        lab[3].add(shipment.data_class)
    return {lab_id: (n, records, size, sorted(classes)) for lab_id, (n, records, size, classes) in sums.items()}


def add_shipments(totals: Mapping[str, Any] | None, shipments: Iterable[Shipment]) -> dict[str, Any]:
    """``add_shipment`` for many shipments to one vendor at once: the totals are copied once, not per shipment."""
    return add_lab_sums(totals, (lab_sums(shipments),))


def add_lab_sums(totals: Mapping[str, Any] | None, parts: Iterable[LabSums]) -> dict[str, Any]:
    """A vendor's totals after more shipments, given as sums per lab (several records' at once)."""
    updated = dict(totals or {})
    touched: dict[str, dict[str, Any]] = {}
    classes: dict[str, set[str]] = {}
    for part in parts:
        for lab_id, (n, records, size, data_classes) in part.items():
            lab = touched.get(lab_id)
            if lab is None:
                lab = dict(updated.get(lab_id) or {"shipments": 0, "records": 0, "bytes": 0, "data_classes": []})
                touched[lab_id] = lab
                classes[lab_id] = set(lab["data_classes"])
            lab["shipments"] += n
            lab["records"] += records
            lab["bytes"] += size
            classes[lab_id].update(data_classes)
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
