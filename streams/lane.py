"""The shipment lane: the high-volume topic's records fetched by a loop of their own, applied a batch at a time.

Faust hands every record to its agent one by one: its drain loop runs ``wait_first`` per record (two new
tasks), then the conductor, the agent's queue and its stream, for every topic the worker reads. The
hand-over cost about what the limit's whole loop costs per event, and worse, it queued the shipment
records behind every other topic's: the drain loop fetched again only once it had delivered each of
those, behind their agents' queues and Faust's producer buffer (docs/performance.md, third and fourth
rounds). The lane's partitions are fetched by a loop of their own beside Faust's drain loop, on the same
consumer (``streams.transport``), and their records go to one task a batch at a time. Everything else
stays Faust's: the consumer and its group membership, partition assignment, the tables with their
changelogs, recovery, and the offset commits.

The rules that keep at-least-once:

- A partition's offset becomes committable (``committable``) only once every record up to it has been
  applied and the batch's table writes are acknowledged by the broker (``applied``, called after
  ``streams.durability.durable``). Faust's consumer commits it with its own offsets. The task applies the
  next batch while the last one's writes are on their way (``settling``), and waits for them before it
  applies another: at most one batch is unacknowledged.
- When partitions are revoked, the lane stops (``close``): records not yet taken by the task are dropped
  (they were never committable; the partition's next owner, or this worker after the rebalance, reads
  them again from the committed offset) and the batch in hand is finished first, and acknowledged with the
  one before it, so their writes and offsets are in before Faust commits and hands the partitions over.
  ``open`` starts it again with the new assignment; what a fetch returns after the flow stopped or the
  generation changed is dropped.
- Back-pressure: while ``full``, the lane's fetch loop stops fetching (the records stay on the broker).

Records queued while the task is busy or others wait are sent to the digest process (``streams.digest``),
so their decoding runs on the other core while the batches before them are applied; a lane that keeps up
digests its records itself.

The records carry what Faust's tables and ``streams.intake`` read of an event (``message.topic``,
``.partition``, ``.offset``, ``.key``, ``.value``, ``.headers``), so the batch step is the same code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import Any

from faust.types import TP

from streams.digest import Digester


class LaneRecord:
    """One Kafka record of the lane, standing in for a Faust event (it is its own ``message``)."""

    __slots__ = ("__weakref__", "digest", "headers", "key", "offset", "partition", "timestamp", "topic", "value")

    def __init__(self, topic: str, partition: int, offset: int, key: bytes | None, value: bytes | None,
                 headers: Any, timestamp: float) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.digest: Any = None
        """Where its digest is on the way (``streams.digest.Digester.submit``), once queued."""

    @property
    def message(self) -> LaneRecord:
        # Faust's tables (the changelog partition of a write) and streams.intake read ``event.message``.
        return self

    def __repr__(self) -> str:
        return f"LaneRecord({self.topic}[{self.partition}]@{self.offset})"


def lane_records(topic: str, partition: int, records: Iterable[Any]) -> list[LaneRecord]:
    """aiokafka's ``ConsumerRecord``s of one partition as lane records (timestamps in seconds, as Faust's)."""
    return [LaneRecord(topic, partition, r.offset, r.key, r.value, r.headers or [], r.timestamp / 1000.0)
            for r in records]


class Lane:
    """Records of one topic between the consumer and the task that applies them (see the module docstring)."""

    def __init__(self, topic: str, batch_max: int, capacity: int, digester: Digester | None = None) -> None:
        if batch_max < 1 or capacity < batch_max:
            raise ValueError(f"lane of {topic}: need 1 <= batch_max ({batch_max}) <= capacity ({capacity})")
        self.topic = topic
        self.batch_max = batch_max
        self.capacity = capacity
        self.digester = digester
        self._buffer: deque[LaneRecord] = deque()
        self._arrived = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._open = True
        self._in_hand: asyncio.Future[None] | None = None
        self._settling: asyncio.Future[None] | None = None
        self._committable: dict[TP, int] = {}

    # The consumer's side (streams.transport).

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def full(self) -> bool:
        return len(self._buffer) >= self.capacity

    async def wait_room(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._room.wait(), timeout)

    def put(self, records: list[LaneRecord]) -> bool:
        """Queue one partition's records, in offset order; refused (``False``) while the lane is closed."""
        if not self._open or not records:
            return False
        if self.digester is not None and (self._buffer or self._in_hand is not None):
            # Behind: digested elsewhere while the batches before them are applied. A lane that keeps up
            # digests in its own thread: a few records' decoding costs less than the hand-over to another
            # process and back (threads woken, the event loop woken from another thread).
            self.digester.submit(self.topic, records)
        self._buffer.extend(records)
        self._arrived.set()
        if self.full():
            self._room.clear()
        return True

    def committable(self, tp: TP) -> int | None:
        """The offset that may be committed for ``tp`` (the next one to read), ``None`` before any."""
        return self._committable.get(tp)

    def committable_offsets(self) -> dict[TP, int]:
        return dict(self._committable)

    async def close(self) -> None:
        """Partitions are moving: drop what the task has not taken, wait for the batch in hand."""
        self._open = False
        self._buffer.clear()
        self._arrived.clear()
        self._room.set()
        if self._in_hand is not None:
            await asyncio.shield(self._in_hand)
        if self._settling is not None:  # the batches applied so far, committable once acknowledged
            await asyncio.shield(self._settling)

    def open(self, assigned: Iterable[TP]) -> None:
        """A new assignment: forget what was committable for partitions no longer held."""
        held = set(assigned)
        self._committable = {tp: offset for tp, offset in self._committable.items() if tp in held}
        self._open = True

    # The task's side (streams.agents).

    async def batches(self) -> AsyncIterator[list[LaneRecord]]:
        """Up to ``batch_max`` records at a time, as soon as there are any: a busy lane's batches fill up
        while the previous one is applied, so no window is needed to make them large."""
        while True:
            await self._arrived.wait()
            batch = [self._buffer.popleft() for _ in range(min(self.batch_max, len(self._buffer)))]
            if not self._buffer:
                self._arrived.clear()
            if not self.full():
                self._room.set()
            if not batch:
                continue
            self._in_hand = asyncio.get_running_loop().create_future()
            try:
                yield batch
            finally:
                self._in_hand.set_result(None)
                self._in_hand = None

    def settling(self, done: asyncio.Future[None]) -> None:
        """``done`` completes once every batch applied so far is acknowledged and ``applied``: closing waits for
        it, so the offsets Faust commits as partitions move include them."""
        self._settling = done

    def applied(self, batch: list[LaneRecord]) -> None:
        """``batch`` is applied and its writes acknowledged: its offsets may be committed."""
        for record in batch:
            tp = TP(record.topic, record.partition)
            if record.offset >= self._committable.get(tp, -1):
                self._committable[tp] = record.offset + 1
