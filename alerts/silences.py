"""Silences: operator-set, time-bounded label matchers under which deliveries are dropped, as in Alertmanager.

A silence lives in the compacted topic ``settings.silences_topic`` (key = silence id, value = JSON;
expiring one rewrites it with ``ends_at`` = now), so every dispatcher sees the same silences and a
restart keeps them. ``vendorwatch alerts silence`` writes them; the dispatcher follows the topic
(``follow_silences``) and consults ``SilenceBook.silencing`` before each delivery attempt.

A silenced delivery is dropped, not held: as Alertmanager drops notifications while a silence is active,
the attempt is not made and the delivery ends as ``silenced`` (visible in ``vendorwatch alerts show``,
counted in ``vendorwatch_alert_deliveries_total{outcome="silenced"}``, not dead-lettered). Holding
would flood a receiver with stale transitions the moment a maintenance window ends. Expiring a silence
lets later transitions through; one that was silenced can be sent on purpose with
``vendorwatch alerts redeliver``. A retry already pending when a silence starts is dropped the same way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace

from aiokafka import AIOKafkaProducer

from alerts.follow import by_key, follow_topic, read_topic
from alerts.routing import MATCH_LABELS, matches
from vendorwatch.brokers import client_options
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

    def state(self, now: float) -> str:
        """``pending`` (starts later), ``active`` or ``expired``, as Alertmanager names them."""
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"


def expire(silence: Silence, now: float) -> Silence:
    """The silence ended at ``now`` (a pending one ends before it starts); an expired one is unchanged."""
    if silence.ends_at <= now:
        return silence
    return replace(silence, starts_at=min(silence.starts_at, now), ends_at=now)


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
    await follow_topic(settings, settings.silences_topic, by_key(book.apply), loaded)


async def write_silence(settings: Settings, silence: Silence) -> None:
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(settings.silences_topic, encode(silence), key=silence.id.encode())
    finally:
        await producer.stop()


async def read_silences(settings: Settings) -> SilenceBook:
    """Every silence in the topic now (for the command line)."""
    book = SilenceBook()
    await read_topic(settings, settings.silences_topic, by_key(book.apply), timeout_s=30)
    return book
