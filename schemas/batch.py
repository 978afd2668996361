"""Decoding many events at once: CloudEvents batch records and a fast path for one known type.

A *batch record* is one Kafka record whose value is a JSON array of structured-mode CloudEvents and
whose ``content-type`` header is ``application/cloudevents-batch+json`` (the CloudEvents JSON batch
format, as the HTTP binding carries it). High-volume producers ship many events in one record, so the
stream processor pays its per-record cost once per batch instead of once per event.

The fast path validates a whole record value in one pydantic-core call (JSON bytes straight into the
type's model, strict, as ``decode_structured`` does). It only ever *accepts*: anything it does not
accept (extension attributes, another content type, a bad field) is decoded again by the reference
codec (``schemas.cloudevents``), which either accepts it too or gives the reason a producer can act on.
So the two paths cannot disagree on what is valid, only on how fast they get there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, TypeAdapter, ValidationError, create_model

from schemas import registry as names
from schemas.cloudevents import CloudEvent, decode_record, from_attributes, parse_time_cached, time_ok
from schemas.errors import InvalidEvent, NotACloudEvent
from schemas.registry import SPECS, EventSpec
from schemas.shipment_codec import FastShipment, decode_shipments

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
MAX_BATCH_EVENTS = 10_000
"""More events than this in one record is a producer bug, not a batch: the whole record is rejected."""

_Text = Annotated[str, StringConstraints(min_length=1)]


class FastEnvelope(BaseModel):
    """A CloudEvent accepted by the fast path, as validated: no copy into a ``CloudEvent`` per event.

    It answers what the stream needs of an event (``source``, ``id``, ``key``, ``data``, ``type``);
    ``event()`` builds the full ``CloudEvent`` when one is needed (re-keying, a dead-letter reason).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    source: str
    type: str
    data: BaseModel
    time: str | None = None
    subject: str | None = None

    @property
    def key(self) -> str:
        return SPECS[self.type].key_of(self.data)

    @property
    def spec(self) -> EventSpec:
        return SPECS[self.type]

    def event(self) -> CloudEvent:
        return CloudEvent(id=self.id, source=self.source, type=self.type, data=self.data,
                          time=parse_time_cached(self.time), subject=self.subject)


@dataclass(frozen=True, slots=True)
class Rejected:
    """One event of a record that failed validation: its own bytes, its place in the batch, the reason."""

    raw: bytes
    index: int | None
    error: InvalidEvent


Incoming = CloudEvent | FastEnvelope | FastShipment
Decoded = CloudEvent | FastEnvelope | FastShipment | Rejected


def is_batch(headers: dict[str, bytes]) -> bool:
    """``headers`` with lower-case names. Only the header makes a batch: an array without it stays invalid."""
    content_type = headers.get("content-type", b"").split(b";")[0].strip().lower()
    return content_type == BATCH_CONTENT_TYPE.encode()


def decode_many(value: bytes | None, headers: list[tuple[str, bytes]], event_type: str) -> list[Decoded]:
    """Every event in one record (a batch record, or a single event in either mode), each decoded or rejected.

    ``event_type`` is the type expected on the topic, the one the fast path knows; events of other
    types still decode (the caller checks which topic they belong on). Raises ``InvalidEvent`` only when
    the record as a whole is unusable (a batch that is not a JSON array of objects).
    """
    header_map = {k.lower(): v for k, v in headers}
    if is_batch(header_map):
        return _decode_batch(value, event_type)
    if "ce_specversion" in header_map:
        return [_decode_or_reject(value or b"", None, lambda: decode_record(value, headers))]
    fast = _fast_single(value, event_type)
    if fast is not None:
        return [fast]
    return [_decode_or_reject(value or b"", None, lambda: decode_record(value, headers))]


def _decode_batch(value: bytes | None, event_type: str) -> list[Decoded]:
    if not value:
        raise NotACloudEvent("empty batch record: expected a JSON array of CloudEvents")
    fast = _fast_batch(value, event_type)
    if fast is not None:
        return fast
    try:
        items = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotACloudEvent(f"batch record is not JSON: {exc}") from None
    if not isinstance(items, list) or not items:
        raise NotACloudEvent(f"a {BATCH_CONTENT_TYPE} record must be a non-empty JSON array of CloudEvents")
    if len(items) > MAX_BATCH_EVENTS:
        raise NotACloudEvent(f"batch record of {len(items)} events: at most {MAX_BATCH_EVENTS} per record")
    return [_decode_item(item, index) for index, item in enumerate(items)]


def _decode_item(item: Any, index: int) -> Decoded:
    raw = _dumps(item)
    if not isinstance(item, dict):
        return Rejected(raw, index, NotACloudEvent(f"expected a CloudEvent JSON object, got {type(item).__name__}"))
    return _decode_or_reject(raw, index, lambda: from_attributes(item))


def _dumps(item: Any) -> bytes:
    try:
        return json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate ("\ud800") is valid JSON but not UTF-8: keep it escaped
        return json.dumps(item, separators=(",", ":")).encode()


def _decode_or_reject(raw: bytes, index: int | None, decode: Any) -> Decoded:
    try:
        decoded: CloudEvent = decode()
        return decoded
    except InvalidEvent as error:
        return Rejected(raw, index, error)


def _fast_single(value: bytes | None, event_type: str) -> FastEnvelope | FastShipment | None:
    if not value:
        return None
    if event_type == names.DATA_SHARED:
        shipments = decode_shipments(value, batch=False, max_events=1)
        return shipments[0] if shipments else None
    try:
        envelope: FastEnvelope = _envelope(event_type).validate_json(value, strict=True)
    except ValidationError:
        return None
    return envelope if time_ok(envelope.time) else None


def _fast_batch(value: bytes, event_type: str) -> list[Decoded] | None:
    if event_type == names.DATA_SHARED:
        shipments = decode_shipments(value, batch=True, max_events=MAX_BATCH_EVENTS)
        return None if shipments is None else list[Decoded](shipments)
    try:
        envelopes = _envelopes(event_type).validate_json(value, strict=True)
    except ValidationError:
        return None
    if not envelopes or len(envelopes) > MAX_BATCH_EVENTS:
        return None
    if not all(time_ok(envelope.time) for envelope in envelopes):
        return None
    decoded: list[Decoded] = envelopes
    return decoded


@cache
def _envelope_model(event_type: str) -> type[BaseModel]:
    """The envelope of one type with no extension attributes: what most producers send."""
    spec = SPECS[event_type]
    fields: dict[str, Any] = {
        "specversion": (Literal["1.0"], ...),
        "id": (_Text, ...),
        "source": (_Text, ...),
        "type": (Literal[event_type], ...),
        "time": (str | None, None),
        "subject": (str | None, None),
        "datacontenttype": (Literal["application/json"] | None, None),
        "dataschema": (str | None, None),
        "data": (spec.model, ...),
    }
    model: type[BaseModel] = create_model(
        f"Fast{spec.model.__name__}Envelope", __base__=FastEnvelope, **fields)
    return model


@cache
def _envelope(event_type: str) -> TypeAdapter[Any]:
    return TypeAdapter(_envelope_model(event_type))


@cache
def _envelopes(event_type: str) -> TypeAdapter[Any]:
    many: Any = list[_envelope_model(event_type)]  # type: ignore[misc]
    return TypeAdapter(many)
