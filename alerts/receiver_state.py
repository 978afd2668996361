"""Which receivers are disabled, kept in a compacted topic so a 410 Gone outlives a dispatcher restart.

A receiver answering 410 asks never to be sent more. The dispatcher writes ``{"disabled": true, ...}``
under the receiver's name to ``<dispatcher_group>-receivers`` (one partition: every dispatcher of the
group needs every receiver's state, not a share of them) before it acts on the 410, and every
dispatcher of the group follows the topic. ``vendorwatch alerts receiver enable NAME`` writes
``{"disabled": false, ...}``; running dispatchers pick it up within a second, no restart needed.

This is not in the delivery state topic because that one is partitioned like ``vendorwatch.alerts``,
and a receiver belongs to no alert partition.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field

from aiokafka import AIOKafkaProducer

from alerts.follow import by_key, read_topic
from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)

# Compacted only: the latest word on each receiver must stay for as long as the receiver exists.
RECEIVERS_CONFIG = {"cleanup.policy": "compact"}


def receivers_topic(settings: Settings) -> str:
    return f"{settings.dispatcher_group}-receivers"


@dataclass(frozen=True, slots=True)
class ReceiverState:
    receiver: str
    disabled: bool
    reason: str  # the receiver's answer as classified (kind and status), never its URL
    at: float
    by: str = "dispatcher"


def encode(state: ReceiverState) -> bytes:
    return json.dumps(asdict(state), separators=(",", ":")).encode()


def decode(value: bytes) -> ReceiverState:
    return ReceiverState(**json.loads(value))


@dataclass
class ReceiverBook:
    """The latest state of each receiver named in the topic; a receiver never named is enabled."""

    states: dict[str, ReceiverState] = field(default_factory=dict)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self.states.pop(key.decode(), None)
            return
        try:
            state = decode(value)
        except (ValueError, TypeError):
            log.warning("ignoring an unreadable receiver state record %r", key)
            return
        self.states[state.receiver] = state

    def disabled(self, receiver: str) -> ReceiverState | None:
        state = self.states.get(receiver)
        return state if state is not None and state.disabled else None


async def write_receiver_state(settings: Settings, state: ReceiverState) -> None:
    """One write with its own producer (the command line); the dispatcher writes with its own."""
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(receivers_topic(settings), encode(state), key=state.receiver.encode())
    finally:
        await producer.stop()


async def read_receiver_states(settings: Settings) -> ReceiverBook:
    book = ReceiverBook()
    await read_topic(settings, receivers_topic(settings), by_key(book.apply), timeout_s=30)
    return book
