"""Plain numbered records on a topic's partitions, for tests of Faust's stream machinery on a real broker."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings


async def publish_numbered(settings: Settings, topic: str, partitions: int, per_partition: int) -> None:
    """``per_partition`` records (values "0", "1", ...) on each of ``partitions``, acknowledged by the broker."""
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        for n in range(per_partition):
            for partition in range(partitions):
                await producer.send(topic, str(n).encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()
