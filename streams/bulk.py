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

Since the fifteenth round the writes skip Faust's per-message path (a ``FutureMessage``, its buffer, a
task's ``send``, a future and an acknowledgement callback per write, about a fifth of the worker's thread at
volume; docs/performance.md): each write is encoded as Faust would encode it and appended straight to an
aiokafka batch, one open batch per changelog partition, which goes to the producer as soon as it is made
and keeps taking writes until the producer's sender takes it (its linger) or it is full. Every write in a
batch shares the batch's acknowledgement (``ChangelogBatches``), tracked like any other write; once the
batch is acknowledged its last offset is recorded as Faust records a sent write's (``_on_changelog_sent``:
the offset RocksDB keeps, so a restart reads only the changelog's tail). What the broker stores is the
same: the same keys and values, in the same order per partition, without headers, timestamped when
written. The hooks are aiokafka's batch API (``create_batch``, ``send_batch``) and Faust's
``Topic.prepare_key``/``prepare_value``, ``Table._on_changelog_sent`` and its producer's ``_producer``
(faust-streaming 0.15.3, aiokafka 0.14.0); recheck them on an upgrade (tests/streams/test_bulk_broker.py
checks the bytes and their order on a real broker).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, NamedTuple

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
        self._batches = ChangelogBatches(lambda: self._producer._producer)

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
            await self._batches.submitted()
            if self._producer.state == "running":
                await self._producer.stop()

    def _route(self, table: Any) -> None:
        topic = table.changelog_topic
        topic._get_producer = self._get_producer  # Topic.publish_message sends through it

        def send_changelog(partition: int | None, key: Any, value: Any, key_serializer: Any = None,
                           value_serializer: Any = None) -> Any:
            key_serializer = key_serializer if key_serializer is not None else table.key_serializer
            value_serializer = value_serializer if value_serializer is not None else table.value_serializer
            if not self._batches.ready():  # Faust's own path, whose buffer waits for the producer's start
                future = topic.as_future_message(
                    key=key, value=value, partition=partition, key_serializer=key_serializer,
                    value_serializer=value_serializer, callback=table._on_changelog_sent, eager_partitioning=True)
                self._producer.send_soon(future)
                return future
            # Encoded and partitioned as Topic.as_future_message does it (the bytes on the broker are the same).
            name = topic.get_topic_name()
            headers = topic.prepare_headers(None)
            key_bytes, headers = topic.prepare_key(key, key_serializer, None, headers)
            value_bytes, headers = topic.prepare_value(value, value_serializer, None, headers)
            if partition is None:
                partition = table.app.producer.key_partition(name, key_bytes).partition
            return self._batches.append(table, name, partition, key_bytes, value_bytes,
                                        list(headers.items()) if headers else [])

        table.send_changelog = send_changelog

    async def _get_producer(self) -> Any:
        # Faust also asks for it when it declares the changelog topic, as a table starts.
        await self.start()
        return self._producer


class _Partition(NamedTuple):
    partition: int


class BatchWrite(asyncio.Future[Any]):
    """The acknowledgement of every write appended to one batch: the last write's ``RecordMetadata``.
    Faust's ``Table.on_key_set`` reads where a write went from ``message.partition``."""

    def __init__(self, partition: int) -> None:
        super().__init__()
        self.message = _Partition(partition)


class _Open:
    __slots__ = ("builder", "table", "write")

    def __init__(self, builder: Any, table: Any, write: BatchWrite) -> None:
        self.builder = builder
        self.table = table
        self.write = write


class ChangelogBatches:
    """Table writes appended to aiokafka batches (``AIOKafkaProducer.create_batch``), one open batch per
    changelog partition; each batch is handed to the producer (``send_batch``) in the order the batches
    were opened, by one task, so a partition's writes reach the broker in the order they were made.

    ``producer`` returns the running aiokafka producer, or ``None`` before it has started.
    """

    def __init__(self, producer: Callable[[], Any]) -> None:
        self._producer = producer
        self._open: dict[tuple[str, int], _Open] = {}
        self._queue: deque[tuple[str, int, _Open]] = deque()
        self._submitting: asyncio.Task[None] | None = None

    def ready(self) -> bool:
        return self._producer() is not None

    def append(self, table: Any, topic: str, partition: int, key: bytes | None, value: bytes | None,
               headers: list[tuple[str, bytes]]) -> BatchWrite:
        """Append one write; its acknowledgement is its batch's."""
        batch = self._open.get((topic, partition))
        if batch is None or batch.builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
            # None open, or it is full or taken by the producer's sender: a new one (which takes its first
            # write whatever its size; the broker's own limit then decides).
            batch = self._start(table, topic, partition)
            if batch.builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                raise RuntimeError(f"an empty batch refused a write to {topic}[{partition}]")
        return batch.write

    async def submitted(self) -> None:
        """Return once every batch opened so far is in the producer's hands (before it stops)."""
        while self._submitting is not None and not self._submitting.done():
            await asyncio.shield(self._submitting)

    def _start(self, table: Any, topic: str, partition: int) -> _Open:
        batch = self._open[(topic, partition)] = _Open(self._producer().create_batch(), table, BatchWrite(partition))
        self._queue.append((topic, partition, batch))
        if self._submitting is None or self._submitting.done():
            self._submitting = asyncio.ensure_future(self._submit())
        return batch

    async def _submit(self) -> None:
        while self._queue:
            topic, partition, batch = self._queue.popleft()
            try:
                # Waits only while this partition's previous batch lingers (aiokafka queues one per partition).
                delivery = await self._producer().send_batch(batch.builder, topic, partition=partition)
            except asyncio.CancelledError:
                self._fail(batch, ConnectionError("the worker stopped before the batch was sent"))
                while self._queue:
                    self._fail(self._queue.popleft()[2], ConnectionError("the worker stopped"))
                raise
            except Exception as error:  # the writes' owners hear of it (streams/durability.py)
                self._fail(batch, error)
                continue
            delivery.add_done_callback(partial(self._delivered, topic, partition, batch))

    def _fail(self, batch: _Open, error: BaseException) -> None:
        batch.builder.close()  # no write is appended to a batch that will not be sent
        if not batch.write.done():
            batch.write.set_exception(error)

    def _delivered(self, topic: str, partition: int, batch: _Open, delivery: asyncio.Future[Any]) -> None:
        if self._open.get((topic, partition)) is batch:
            del self._open[(topic, partition)]
        if batch.write.done():
            return
        if delivery.cancelled():
            batch.write.set_exception(ConnectionError(f"the batch to {topic}[{partition}] was cancelled"))
            return
        if (error := delivery.exception()) is not None:
            batch.write.set_exception(error)
            return
        sent = delivery.result()  # the batch's first offset
        last = sent._replace(offset=sent.offset + batch.builder.record_count() - 1) if sent is not None else None
        batch.write.set_result(last)
        if last is not None:
            batch.table._on_changelog_sent(batch.write)  # the offset a RocksDB store keeps, as Faust does
