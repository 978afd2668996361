"""The alert path's own producer: re-evaluation requests and alerts are sent without linger or queue.

Faust's producer sends through a buffer that one task drains in order, and it used to linger so that the
many changelog writes of a busy moment left in one request; each of the alert path's two hops through
Kafka (input agent -> ``evaluations`` -> evaluator -> ``vendorwatch.alerts``) then waited for both. The
records of those hops are few, so they go straight to a producer of their own with no linger. (The
shipment lane's changelog writes now have their own producer too, ``streams.bulk``, and Faust's no
longer lingers.) Their acks are tracked in the worker's pending writes like every other send
(``streams.durability``), and the partitioner is aiokafka's default, Faust's too, so a vendor's requests
reach the partition its tables are on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings


class ExpressProducer:
    """Started on first use; ``stop`` flushes and closes it (the app calls it before shutting down)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def send(self, topic: str, key: bytes, value: bytes,
                   headers: Sequence[tuple[str, bytes]] | None = None,
                   partition: int | None = None) -> asyncio.Future[Any]:
        """Queue one record (to ``partition``, or the key's); the returned future resolves when the broker
        has acknowledged it."""
        producer = self._producer or await self._start()
        future: asyncio.Future[Any] = await producer.send(topic, value=value, key=key, partition=partition,
                                                          headers=list(headers) if headers else None)
        return future

    async def partitions(self, topic: str) -> list[int]:
        """The partitions of ``topic``, from the producer's metadata (fetched once, then kept current)."""
        producer = self._producer or await self._start()
        return sorted(await producer.partitions_for(topic))

    async def stop(self) -> None:
        async with self._starting:
            if self._producer is not None:
                await self._producer.stop()  # sends what is queued first
                self._producer = None

    async def _start(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                producer = AIOKafkaProducer(**client_options(self._settings), acks="all", enable_idempotence=True,
                                            linger_ms=0)
                await producer.start()
                self._producer = producer
            return self._producer
