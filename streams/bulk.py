"""The shipment lane's changelog writes leave through a producer of their own.

Faust sends every table's changelog through one producer, whose buffer one task drains in order. At
shipment volume the lane queues a write per vendor and a seen chunk per partition in every batch; an
ownership statement's table write, which the alert path awaits before it sends its re-evaluation
requests, waited behind them, and so did every agent's stream while more than 100 writes were queued
(Faust's conductor waits for its producer's buffer to ebb). So the lane's tables (shipments and
shipments_seen) send through a second Faust producer, with its own buffer and connection, that lingers
(``BULK_LINGER_MS``: its writes leave in a few large requests), and Faust's own producer, which the
other tables share, does not linger (their writes are few and the alert path waits for them).

Durability is unchanged. The lane makes a batch's offsets committable only once its writes are
acknowledged, whatever producer carried them (``streams.durability.durable``); partitions move only
once every tracked write is acknowledged (``settle_before_rebalance``). Faust's commit flushes its own
producer only, which the lane's offsets never needed. The producer stops after Faust's consumer, which
finishes the lane's batch in hand first (``streams.transport``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

BULK_LINGER_MS = 5
"""How long the lane's changelog writes wait to fill a request (measured in bench/)."""


BULK_BATCH_BYTES = 256 * 1024
"""Per partition per request. Faust's 16 KiB split a batch's writes into several requests in a row."""


class BulkProducer:
    """A second Faust producer (the app's transport makes it) for the tables given to ``route``.

    It starts when a table declares its changelog topic or when the lane's task starts, whichever comes
    first, so before any write: its buffer is drained only once it runs. A producer that cannot start
    stops the worker (a failed app task or table start crashes it).
    """

    def __init__(self, app: Any, linger_ms: int = BULK_LINGER_MS) -> None:
        self._producer: Any = app.transport.create_producer(beacon=app.beacon)
        self._producer.linger_ms = linger_ms  # read when its aiokafka producer is made, on start
        self._producer.max_batch_size = BULK_BATCH_BYTES
        self._lock = asyncio.Lock()

    def route(self, tables: Iterable[Any]) -> None:
        """Send these tables' changelog writes through this producer (before ``track_writes`` wraps them)."""
        for table in tables:
            self._route(table)

    async def start(self) -> None:
        async with self._lock:
            await self._producer.maybe_start()

    async def stop(self) -> None:
        """Send what is queued, then close (the app calls it after its consumer has stopped)."""
        async with self._lock:
            if self._producer.state == "running":
                await self._producer.stop()

    def _route(self, table: Any) -> None:
        topic = table.changelog_topic
        topic._get_producer = self._get_producer  # Topic.publish_message sends through it

        def send_changelog(partition: int | None, key: Any, value: Any, key_serializer: Any = None,
                           value_serializer: Any = None) -> Any:
            # Faust's Collection.send_changelog, with this producer's buffer instead of the app's.
            future = topic.as_future_message(
                key=key, value=value, partition=partition,
                key_serializer=key_serializer if key_serializer is not None else table.key_serializer,
                value_serializer=value_serializer if value_serializer is not None else table.value_serializer,
                callback=table._on_changelog_sent, eager_partitioning=True)
            self._producer.send_soon(future)
            return future

        table.send_changelog = send_changelog

    async def _get_producer(self) -> Any:
        # Faust also asks for it when it declares the changelog topic, as a table starts.
        await self.start()
        return self._producer
