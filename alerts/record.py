"""The durable state of one delivery (one alert transition to one receiver), and its pure transitions.

A ``Delivery`` is written to the dispatcher's compacted state topic (``<dispatcher_group>-deliveries``,
key ``<receiver>/<webhook-id>``, plus ``@<offset>`` for a redelivery) before the alert's offset is
committed and after every attempt, so a dispatcher killed at any moment restarts with every pending
attempt and its due time. Transitions are plain functions ``(delivery, result, now) -> delivery``,
tested without Kafka or HTTP.

Statuses::

    pending ──► delivered
       │  ├───► failed       permanent answer (4xx, 410, unsafe target), or receiver disabled
       │  ├───► expired      the next attempt would fall past the horizon
       │  ├───► silenced     a silence matched before an attempt
       │  └───► superseded   a later transition of the same alert replaced it (PagerDuty, Alertmanager)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Status = Literal["pending", "delivered", "failed", "expired", "silenced", "superseded"]
FINAL: frozenset[str] = frozenset({"delivered", "failed", "expired", "silenced", "superseded"})
MAX_ATTEMPTS_KEPT = 30  # a long outage must not grow one state record without bound


@dataclass(frozen=True, slots=True)
class Attempt:
    at: float
    result: str  # ok | retryable | permanent
    detail: str  # status code or error class; never a URL or a secret
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Source:
    """Where the alert record came from, for dead-letter headers."""

    topic: str
    partition: int
    offset: int
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    receiver: str
    webhook_id: str
    labels: dict[str, str]
    body: str = field(repr=False)
    source: Source
    created_at: float
    due_at: float
    deadline: float
    status: Status = "pending"
    attempts: tuple[Attempt, ...] = ()
    failures: int = 0
    reason: str = ""
    redelivery: int = 0

    @property
    def key(self) -> str:
        """The state topic key. A redelivery gets its own (by the offset of the record asking for it), so
        ``vendorwatch alerts show`` keeps the first delivery's attempts next to the redelivery's."""
        base = delivery_key(self.receiver, self.webhook_id)
        return f"{base}@{self.source.offset}" if self.redelivery else base

    @property
    def alert_id(self) -> str:
        return self.labels.get("alert_id", self.webhook_id)

    @property
    def sequence(self) -> int:
        return int(self.labels.get("sequence", "0"))

    @property
    def final(self) -> bool:
        return self.status in FINAL


def delivery_key(receiver: str, webhook_id: str) -> str:
    return f"{receiver}/{webhook_id}"


def attempted(d: Delivery, attempt: Attempt) -> Delivery:
    return replace(d, attempts=(*d.attempts, attempt)[-MAX_ATTEMPTS_KEPT:])


def delivered(d: Delivery, attempt: Attempt) -> Delivery:
    return replace(attempted(d, attempt), status="delivered", reason="")


def failed(d: Delivery, attempt: Attempt | None, reason: str) -> Delivery:
    base = d if attempt is None else attempted(d, attempt)
    return replace(base, status="failed", reason=reason)


def retry_or_expire(d: Delivery, attempt: Attempt, reason: str, next_due: float) -> Delivery:
    """Schedule the next attempt at ``next_due``, or expire when it would fall past the horizon."""
    base = replace(attempted(d, attempt), failures=d.failures + 1, reason=reason)
    if next_due > d.deadline:
        return replace(base, status="expired")
    return replace(base, due_at=next_due)


def closed(d: Delivery, status: Status, reason: str) -> Delivery:
    return replace(d, status=status, reason=reason)


def encode(d: Delivery) -> bytes:
    return json.dumps(asdict(d), separators=(",", ":"), sort_keys=True).encode()


def decode(value: bytes) -> Delivery:
    raw: dict[str, Any] = json.loads(value)
    raw["source"] = Source(**raw["source"])
    raw["attempts"] = tuple(Attempt(**a) for a in raw.get("attempts", ()))
    return Delivery(**raw)
