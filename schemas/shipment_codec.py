"""The data-shipment stream's decoder: msgspec structs mirroring ``DataShared`` and its CloudEvent envelope.

At shipment volume, strict pydantic validation was a third of the worker's main thread (about 8 µs per
event; docs/performance.md). msgspec decodes and checks the same JSON in about 1.5 µs. It keeps the
fast path's rule (``schemas.batch``): it only ever *accepts*. Its structs are at least as strict as the
pydantic models (unknown members forbidden, no coercion: ``1.0`` is not an int, ``"3"`` not a number),
and what they refuse is decoded again by the reference codec, which accepts it or gives the reason. The
two checks msgspec would make slowly (the id pattern, RFC 3339 times) are made once per distinct value
of a record instead of once per event. The structs hold only strings and numbers, so they are kept
out of the cyclic garbage collector (``gc=False``), which otherwise walked every decoded event. A
hypothesis test (tests/schemas/test_batch.py) checks that the paths agree.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, cast

import msgspec

from schemas import registry as names
from schemas.cloudevents import CloudEvent, parse_time_cached, time_ok
from schemas.events import DataShared
from schemas.registry import SPECS, EventSpec
from schemas.types import ID_PATTERN

_Text = Annotated[str, msgspec.Meta(min_length=1)]
_NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
_Count = Annotated[int, msgspec.Meta(ge=0)]
_ID = re.compile(ID_PATTERN)
KNOWN_IDS_MAX = 200_000
"""Ids already checked against the pattern; a lab ships to the same vendors under the same contracts."""
_known_ids: set[str] = set()


class ShipmentData(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """``DataShared``'s fields; the ids' pattern is checked after decoding (``_ids_ok``)."""

    lab_id: str
    vendor_id: str
    contract_id: str
    records: _Count
    bytes: _Count
    data_class: _NonEmpty
    sensitivity: Literal["public", "internal", "confidential", "restricted"]


class FastShipment(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """One ``vendorwatch.data.shared.v1`` CloudEvent without extension attributes, as decoded.

    It answers what the stream needs of an event (``source``, ``id``, ``key``, ``data``); ``event()`` builds
    the reference ``CloudEvent`` when one is needed (re-keying, a dead-letter reason).
    """

    specversion: Literal["1.0"]
    id: _Text
    source: _Text
    type: Literal["vendorwatch.data.shared.v1"]
    data: ShipmentData
    time: str | None = None
    subject: str | None = None
    datacontenttype: Literal["application/json"] | None = None
    dataschema: str | None = None

    @property
    def key(self) -> str:
        return self.data.vendor_id

    @property
    def spec(self) -> EventSpec:
        return SPECS[names.DATA_SHARED]

    def event(self) -> CloudEvent:
        data = DataShared.model_validate(msgspec.structs.asdict(self.data))
        return CloudEvent(id=self.id, source=self.source, type=self.type, data=data,
                          time=parse_time_cached(self.time), subject=self.subject)


_one = msgspec.json.Decoder(FastShipment)
_many = msgspec.json.Decoder(list[FastShipment])


def decode_shipments(value: bytes, *, batch: bool, max_events: int) -> list[FastShipment] | None:
    """Every event of a record (a batch record or one structured event), or ``None`` if any needs the
    reference codec (which then says what is wrong, or accepts what this does not know)."""
    try:
        events = _many.decode(value) if batch else [_one.decode(value)]
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not events or len(events) > max_events:
        return None
    return events if _ids_ok(events) and all(time_ok(value) for value in {e.time for e in events}) else None


def _ids_ok(events: list[FastShipment]) -> bool:
    ids = {e.data.lab_id for e in events}
    ids.update([e.data.vendor_id for e in events])
    ids.update([e.data.contract_id for e in events])
    unknown = ids - _known_ids
    if not unknown:
        return True
    if not all(_ID.fullmatch(value) for value in unknown):
        return False
    if len(_known_ids) + len(unknown) > KNOWN_IDS_MAX:
        _known_ids.clear()
    _known_ids.update(unknown)
    return True


def accepted_whole(items: list[Any], topic: str, key: str | None) -> list[FastShipment] | None:
    """A record's decoded events when it is accepted in one check, the common case at volume: every event
    decoded by this codec, on ``topic``, keyed ``key`` (the record's). ``None``: the per-event checks decide
    (``streams.intake``)."""
    if not items or not all(isinstance(item, FastShipment) for item in items):
        return None
    shipments = cast(list[FastShipment], items)
    if shipments[0].spec.topic != topic or not all(item.data.vendor_id == key for item in shipments):
        return None
    return shipments
