"""Silences: operator-set, time-bounded label matchers that hold deliveries back, as Alertmanager's do.

A silence lives in the compacted topic ``settings.silences_topic`` (key = silence id, value = JSON;
expiring one rewrites it with ``ends_at`` = now), so every dispatcher sees the same silences and a
restart keeps them. ``vendorwatch alerts silence`` writes them; the dispatcher follows the topic
(``follow_silences``) and consults ``SilenceBook.silencing`` before each delivery attempt. A silenced
delivery is recorded as ``silenced`` (visible in ``vendorwatch alerts show``), not dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from alerts.routing import MATCH_LABELS, matches
from streams.admin import topic_partitions
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: dict[str, str | tuple[str, ...]]
    starts_at: float
    ends_at: float
    comment: str = ""
    created_by: str = ""

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def silences(self, labels: Mapping[str, str], now: float) -> bool:
        return self.active(now) and matches(self.matchers, labels)


def new_silence(matchers: Mapping[str, str | tuple[str, ...]], starts_at: float, duration_s: float,
                comment: str = "", created_by: str = "") -> Silence:
    unknown = sorted(set(matchers) - set(MATCH_LABELS))
    if unknown:
        raise ValueError(f"unknown label {unknown[0]!r}; silence on {', '.join(MATCH_LABELS)}")
    if not matchers:
        raise ValueError("a silence needs at least one matcher: it would silence everything")
    if duration_s <= 0:
        raise ValueError("a silence must last more than zero seconds")
    return Silence(uuid.uuid4().hex[:12], dict(matchers), starts_at, starts_at + duration_s, comment, created_by)


def encode(silence: Silence) -> bytes:
    return json.dumps(asdict(silence), separators=(",", ":")).encode()


def decode(value: bytes) -> Silence:
    raw = json.loads(value)
    raw["matchers"] = {k: v if isinstance(v, str) else tuple(v) for k, v in raw["matchers"].items()}
    return Silence(**raw)


@dataclass
class SilenceBook:
    """The silences known to this process, latest version of each id wins."""

    silences: dict[str, Silence] = field(default_factory=dict)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self.silences.pop(key.decode(), None)
            return
        try:
            silence = decode(value)
        except (ValueError, TypeError, KeyError):
            log.warning("ignoring an unreadable silence record %r", key)
            return
        self.silences[silence.id] = silence

    def silencing(self, labels: Mapping[str, str], now: float) -> Silence | None:
        return next((s for s in self.silences.values() if s.silences(labels, now)), None)


async def follow_silences(settings: Settings, book: SilenceBook, loaded: asyncio.Event) -> None:
    """Read the silences topic from the start, set ``loaded`` once at its end, then keep following it."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await topic_partitions(settings, [settings.silences_topic])
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    book.apply(record.key, record.value)
            if not loaded.is_set() and await _at_end(consumer, ends):
                loaded.set()
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


async def _at_end(consumer: AIOKafkaConsumer, ends: Mapping[Any, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


async def write_silence(settings: Settings, silence: Silence) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.silences_topic, encode(silence), key=silence.id.encode())
    finally:
        await producer.stop()


async def read_silences(settings: Settings) -> SilenceBook:
    """Every silence in the topic now (for the command line)."""
    book = SilenceBook()
    loaded = asyncio.Event()
    task = asyncio.create_task(follow_silences(settings, book, loaded))
    try:
        await asyncio.wait_for(loaded.wait(), timeout=30)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return book
