"""The producer SDK: publish contract events to Kafka, validated, keyed and encoded as EVENTS.md says.

    from schemas import ContractSigned
    from vendorwatch.publisher import Publisher

    async with Publisher("localhost:9092") as publisher:
        delivery = await publisher.publish(
            ContractSigned(contract_id="google-scale-2024", lab_id="google", vendor_id="scale-ai",
                           annual_value_usd=150_000_000),
            id="procurement-4711", source="urn:acme:procurement",
        )
        print(delivery.topic, delivery.partition, delivery.offset)

Every event is encoded in structured mode and decoded again with the worker's own codec before it is
sent, so what the broker acknowledges is exactly what the worker will accept (a model built with
``model_construct`` skips validation; this does not). ``send_many`` checks every event before sending
any, sends them in order and returns when the broker has acknowledged all of them (``acks=all``,
idempotent producer: a retried send is not written twice).

Errors: ``schemas.errors.InvalidEvent`` for an event that would be rejected (nothing of the call is sent);
``PublishError`` (a ``VendorwatchError``) when the broker did not acknowledge; records of the call may
then have been written, and sending the same events again is safe because ``source`` + ``id`` make the
repeats duplicates that change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import BaseModel

from schemas.cloudevents import STRUCTURED_CONTENT_TYPE, CloudEvent, decode_structured, encode_structured, new_event
from schemas.errors import InvalidEvent, VendorwatchError
from schemas.registry import INPUT_TYPES, SPECS
from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings

_TYPE_OF_MODEL = {spec.model: event_type for event_type, spec in SPECS.items() if event_type in INPUT_TYPES}
_HEADERS = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]


class PublishError(VendorwatchError):
    """The broker did not acknowledge; sending the same events again is safe (they are duplicates)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The broker's acknowledgement of one event: where it was written."""

    id: str
    source: str
    type: str
    key: str
    topic: str
    partition: int
    offset: int

    def to_json(self) -> dict[str, str | int]:
        return {"id": self.id, "source": self.source, "type": self.type, "key": self.key,
                "topic": self.topic, "partition": self.partition, "offset": self.offset}


@dataclass(frozen=True, slots=True)
class Record:
    """One event ready to send: topic, key and value exactly as they will be written."""

    event: CloudEvent
    topic: str
    key: bytes
    value: bytes


def prepare(event: CloudEvent) -> Record:
    """Encode ``event`` and check that the worker's codec accepts the bytes; raises ``InvalidEvent``."""
    if event.type not in INPUT_TYPES:
        raise InvalidEvent(f"{event.type!r} is not an input event type", event_type=event.type)
    value = encode_structured(event)
    checked = decode_structured(value)
    return Record(checked, checked.spec.topic, checked.key.encode(), value)


ProducerFactory = Callable[..., Any]


class Publisher:
    """An async context manager over an idempotent aiokafka producer (``acks=all``)."""

    def __init__(
        self, bootstrap_servers: str, *, client_id: str = "vendorwatch-publisher",
        producer_factory: ProducerFactory = AIOKafkaProducer, **producer_options: Any,
    ) -> None:
        self._factory = producer_factory
        self._options = {"bootstrap_servers": bootstrap_servers, "client_id": client_id, "acks": "all",
                         "enable_idempotence": True, "linger_ms": 5, **producer_options}
        self._producer: Any = None

    @classmethod
    def from_settings(cls, settings: Settings, role: str = "publish", **kwargs: Any) -> Publisher:
        security = {k: v for k, v in client_options(settings).items() if k != "bootstrap_servers"}
        return cls(settings.kafka_bootstrap, client_id=f"{settings.app_id}-{role}", **{**security, **kwargs})

    async def __aenter__(self) -> Self:
        producer = self._factory(**self._options)
        try:
            await producer.start()
        except KafkaError as exc:
            await producer.stop()
            raise PublishError(f"cannot reach the Kafka broker: {exc}") from exc
        self._producer = producer
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def publish(
        self, data: BaseModel, *, id: str, source: str, time: datetime | None = None, subject: str | None = None
    ) -> Delivery:
        """Build the CloudEvent for ``data`` (its type follows from the model) and send it."""
        event_type = _TYPE_OF_MODEL.get(type(data))
        if event_type is None:
            raise InvalidEvent(f"{type(data).__name__} is not the data of an input event type")
        return await self.send(new_event(id=id, source=source, type=event_type, data=data, time=time, subject=subject))

    async def send(self, event: CloudEvent) -> Delivery:
        (delivery,) = await self.send_many([event])
        return delivery

    async def send_many(self, events: Iterable[CloudEvent]) -> list[Delivery]:
        """Validate all, then send in order; returns one ``Delivery`` per event, in the same order."""
        return await self.send_records([prepare(event) for event in events])

    async def send_records(self, records: Sequence[Record]) -> list[Delivery]:
        """Send records made by ``prepare``, waiting for every acknowledgement."""
        if self._producer is None:
            raise RuntimeError("use 'async with Publisher(...)' before sending")
        try:
            # Queue all first and then wait: the producer batches them, and ordering per partition holds.
            pending = [
                await self._producer.send(r.topic, value=r.value, key=r.key, headers=_HEADERS) for r in records
            ]
            acks = [await future for future in pending]
        except KafkaError as exc:
            raise PublishError(f"the broker did not acknowledge: {exc}") from exc
        return [_delivery(r, ack) for r, ack in zip(records, acks, strict=True)]


def _delivery(record: Record, ack: Any) -> Delivery:
    event = record.event
    return Delivery(event.id, event.source, event.type, record.key.decode(), ack.topic, ack.partition, ack.offset)
