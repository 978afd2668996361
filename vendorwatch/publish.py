"""Validate newline-delimited CloudEvents and publish the valid ones to their topics, keyed as EVENTS.md says."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from schemas.cloudevents import STRUCTURED_CONTENT_TYPE, CloudEvent, decode_structured
from schemas.errors import InvalidEvent
from vendorwatch.settings import Settings


@dataclass(frozen=True, slots=True)
class Accepted:
    line: int
    event: CloudEvent
    raw: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str


def validate_lines(lines: Iterable[bytes]) -> tuple[list[Accepted], list[Rejected]]:
    """Judge each non-blank line on its own: one bad line never hides the others."""
    accepted, rejected = [], []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            accepted.append(Accepted(number, decode_structured(stripped), stripped))
        except InvalidEvent as error:
            rejected.append(Rejected(number, error.reason))
    return accepted, rejected


async def publish(settings: Settings, events: list[Accepted]) -> int:
    """Publish in order, waiting for every broker acknowledgement; returns how many were acknowledged."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"{settings.app_id}-publish",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(
                item.event.spec.topic,
                value=item.raw,
                key=item.event.key.encode(),
                headers=[("content-type", STRUCTURED_CONTENT_TYPE.encode())],
            )
            for item in events
        ]
        for future in futures:
            await future
        return len(futures)
    finally:
        await producer.stop()
