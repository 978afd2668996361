"""Reading whole topics: following a small compacted topic as a live view, or reading a topic once to its end.

Silences and receiver states are small compacted topics every dispatcher reads in full (no consumer
group: each process needs all of it, not a share). The command line reads ``vendorwatch.alerts`` and the
delivery state topic the same way, from the beginning to the end offsets taken when it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer

from streams.admin import topic_partitions
from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings


class KafkaRecord(Protocol):
    """The parts of aiokafka's ``ConsumerRecord`` readers use."""

    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Any: ...


Apply = Callable[[KafkaRecord], None]
"""Called with each record, in offset order per partition."""


def by_key(apply: Callable[[bytes | None, bytes | None], None]) -> Apply:
    """Adapts a ``(key, value)`` reducer, as compacted-topic views are, to ``Apply``."""
    return lambda record: apply(record.key, record.value)


async def follow_topic(settings: Settings, topic: str, apply: Apply, loaded: asyncio.Event) -> None:
    """Apply every record of ``topic`` from the start, set ``loaded`` once at its end, then keep following."""
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await topic_partitions(settings, [topic])
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while True:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    apply(record)
            if not loaded.is_set() and await _at_end(consumer, ends):
                loaded.set()
    finally:
        with contextlib.suppress(Exception):
            await consumer.stop()


async def read_topic(settings: Settings, topic: str, apply: Apply, timeout_s: float = 60.0) -> None:
    """Apply every record ``topic`` holds now; raises ``TimeoutError`` when the broker does not answer."""
    loaded = asyncio.Event()
    task = asyncio.create_task(follow_topic(settings, topic, apply, loaded))
    waiter = asyncio.create_task(loaded.wait())
    try:
        # Wait on the follower too, so its error (an unknown topic) surfaces instead of a timeout.
        done, _ = await asyncio.wait({task, waiter}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
        if not loaded.is_set():
            raise TimeoutError(f"could not read {topic} within {timeout_s:g}s")
    finally:
        for pending in (task, waiter):
            pending.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)


async def _at_end(consumer: AIOKafkaConsumer, ends: Mapping[Any, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True
