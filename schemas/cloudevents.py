"""CloudEvents 1.0 codec for Kafka records: structured mode and binary mode in, structured mode out.

Decoding never raises anything but ``InvalidEvent`` subclasses, each with a reason a producer can act
on; the stream agents send those to the dead-letter topic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cloudevents.v1.kafka import KafkaMessage, from_binary
from pydantic import BaseModel, ValidationError

from schemas.errors import InvalidEvent, InvalidEventData, NotACloudEvent, UnknownEventType
from schemas.registry import SPECS, EventSpec

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
_REQUIRED = ("specversion", "id", "source", "type")
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_KNOWN_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "time", "subject", "datacontenttype", "dataschema", "data"}
)


def event_identity(source: str, id_: str) -> str:
    """The duplicate-detection key of an event: ``source`` and ``id`` with a separator neither contains."""
    return f"{source}\x1f{id_}"


def event_identities(source: str, ids: Iterable[str]) -> list[str]:
    """``event_identity`` of each id from one ``source``, in order: the separator joined once, then one
    concatenation per id (at shipment volume, a record's ids at a time)."""
    prefix = event_identity(source, "")
    return [prefix + id_ for id_ in ids]


@dataclass(frozen=True, slots=True)
class CloudEvent:
    """A validated CloudEvent whose ``data`` is the pydantic model of its ``type``."""

    id: str
    source: str
    type: str
    data: BaseModel
    time: datetime | None = None
    subject: str | None = None
    extensions: Mapping[str, str] = field(default_factory=dict)

    @property
    def spec(self) -> EventSpec:
        return SPECS[self.type]

    @property
    def key(self) -> str:
        """The partitioning key EVENTS.md names for this type."""
        return self.spec.key_of(self.data)

    @property
    def identity(self) -> str:
        """``source`` + ``id``: two events with the same identity are duplicates."""
        return event_identity(self.source, self.id)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "specversion": "1.0",
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "datacontenttype": "application/json",
        }
        if self.time is not None:
            out["time"] = _rfc3339(self.time)
        if self.subject is not None:
            out["subject"] = self.subject
        out.update(self.extensions)
        out["data"] = self.data.model_dump(mode="json", exclude_none=True)
        return out


def encode_structured(event: CloudEvent) -> bytes:
    """Structured mode: the whole event as compact JSON (the record value and webhook body)."""
    return json.dumps(event.to_json(), separators=(",", ":"), ensure_ascii=False).encode()


def decode_record(value: bytes | None, headers: Iterable[tuple[str, bytes]] = ()) -> CloudEvent:
    """Decode a Kafka record in either mode; binary mode is chosen by a ``ce_specversion`` header."""
    header_map = {k.lower(): v for k, v in headers}
    if "ce_specversion" in header_map:
        return _decode_binary(value, header_map)
    return decode_structured(value)


def decode_structured(value: bytes | str | None) -> CloudEvent:
    if value is None or len(value) == 0:
        raise NotACloudEvent("empty record: expected a CloudEvent JSON object")
    try:
        obj = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotACloudEvent(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise NotACloudEvent(f"expected a CloudEvent JSON object, got {type(obj).__name__}")
    return from_attributes(obj)


def _decode_binary(value: bytes | None, headers: dict[str, bytes]) -> CloudEvent:
    try:
        event = from_binary(KafkaMessage(headers=headers, key=None, value=value or b"null"))
    except Exception as exc:  # the SDK raises assorted types for bad headers or data
        raise NotACloudEvent(f"invalid binary-mode CloudEvent: {exc}") from None
    attributes: dict[str, Any] = dict(event.get_attributes())
    attributes.pop("partitionkey", None)
    # The SDK invents a random ``id`` and the current ``time`` when their headers are missing: a
    # missing id must be rejected (duplicates could never be recognised), and no time means no time.
    for name in ("id", "time"):
        if f"ce_{name}" not in headers:
            attributes.pop(name, None)
    attributes["data"] = event.get_data()
    return from_attributes(attributes)


def from_attributes(obj: Mapping[str, Any]) -> CloudEvent:
    """Validate the envelope, then ``data`` against the model of ``type``."""
    for name in _REQUIRED:
        value = obj.get(name)
        if not isinstance(value, str) or not value:
            raise NotACloudEvent(f"attribute '{name}' is required and must be a non-empty string")
    if obj["specversion"] != "1.0":
        raise NotACloudEvent(f"specversion must be '1.0', got {obj['specversion']!r}")
    event_type = obj["type"]
    spec = SPECS.get(event_type)
    if spec is None:
        raise UnknownEventType(f"unknown event type {event_type!r}", event_type=event_type)
    content_type = obj.get("datacontenttype")
    if content_type is not None and not str(content_type).startswith("application/json"):
        raise NotACloudEvent(f"datacontenttype must be application/json, got {content_type!r}")
    data = obj.get("data")
    if data is None:
        raise InvalidEventData("attribute 'data' is required", event_type=event_type)
    if not isinstance(data, dict):
        raise InvalidEventData(f"data must be a JSON object, got {type(data).__name__}", event_type=event_type)
    try:
        # Strict JSON-mode validation: what the exported JSON Schema rejects (``"12"`` or ``true`` for a
        # number), the codec rejects too, instead of coercing it.
        model = spec.model.model_validate_json(json.dumps(data), strict=True)
    except ValidationError as exc:
        raise InvalidEventData(describe(exc, prefix="data"), event_type=event_type) from None
    return CloudEvent(
        id=obj["id"],
        source=obj["source"],
        type=event_type,
        data=model,
        time=parse_time(obj.get("time")),
        subject=_optional_str(obj, "subject"),
        extensions=_extensions(obj),
    )


def describe(exc: ValidationError, *, prefix: str) -> str:
    """One readable line per problem, with the field's path: ``data.interests.0.share: ...``."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in (prefix, *err["loc"]))
        got = err.get("input")
        shown = "" if isinstance(got, dict) or err["type"] == "missing" else f" (got {_short(got)})"
        parts.append(f"{loc}: {err['msg']}{shown}")
    return "; ".join(parts)


def _short(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise NotACloudEvent("attribute 'time' must be an RFC 3339 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise NotACloudEvent(f"attribute 'time' is not RFC 3339: {value!r}") from None
    if parsed.tzinfo is None:
        raise NotACloudEvent(f"attribute 'time' needs a UTC offset: {value!r}")
    return parsed


@lru_cache(maxsize=4096)
def parse_time_cached(value: str | None) -> datetime | None:
    # Events of one export usually share a few timestamps; parsing them once each is measurably cheaper.
    return parse_time(value)


def time_ok(value: str | None) -> bool:
    """Whether ``value`` is a valid ``time`` attribute (the fast paths leave the reason to the reference codec)."""
    try:
        parse_time_cached(value)
    except InvalidEvent:
        return False
    return True


def _optional_str(obj: Mapping[str, Any], name: str) -> str | None:
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise NotACloudEvent(f"attribute '{name}' must be a string")
    return value


def _extensions(obj: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in obj.items():
        if name in _KNOWN_ATTRIBUTES:
            continue
        if not _EXTENSION_NAME.match(name):
            raise NotACloudEvent(f"extension attribute name {name!r} must be 1-20 lowercase letters or digits")
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise NotACloudEvent(f"extension attribute {name!r} must be a string or integer")
        out[name] = str(value)
    return out


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def new_event(
    *, id: str, source: str, data: BaseModel, type: str, time: datetime | None = None, subject: str | None = None
) -> CloudEvent:
    """Build an outgoing event; raises ``InvalidEvent`` if ``type`` does not match ``data``."""
    spec = SPECS.get(type)
    if spec is None or not isinstance(data, spec.model):
        raise InvalidEvent(f"data of type {data.__class__.__name__} does not fit event type {type!r}")
    return CloudEvent(id=id, source=source, type=type, data=data, time=time, subject=subject)
