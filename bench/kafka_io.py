"""Broker I/O the benchmark shares: produce a data set, read and set consumer positions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.dataset import Record
from streams.admin import topic_partitions
from vendorwatch.settings import Settings

Offsets = dict[TopicPartition, int]
IN_FLIGHT = 2000
"""Sends awaited together: enough to fill the producer's batches, bounded so memory stays flat."""


async def produce(settings: Settings, records: Iterable[Record], *, rate: float | None = None) -> int:
    """Publish ``records`` with broker acknowledgement; ``rate`` (events per second) paces them. Returns events."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5,
                                max_batch_size=1 << 20, max_request_size=8 << 20)
    await producer.start()
    events = 0
    started = time.monotonic()
    try:
        pending = []
        for record in records:
            pending.append(await producer.send(record.topic, record.value, key=record.key,
                                               headers=list(record.headers)))
            events += record.events
            if len(pending) >= IN_FLIGHT:
                await asyncio.gather(*pending)
                pending.clear()
            if rate is not None:
                ahead = events / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.gather(*pending)
                    pending.clear()
                    await asyncio.sleep(ahead)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return events


async def end_offsets(settings: Settings, topics: list[str]) -> Offsets:
    partitions = await topic_partitions(settings, topics)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def commit_positions(settings: Settings, group_id: str, positions: Offsets) -> None:
    """Set ``group_id``'s committed offsets, so its first consumer starts exactly there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(positions))
        await consumer.commit(dict(positions))
    finally:
        await consumer.stop()
