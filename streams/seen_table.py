"""The shipment path's seen chunks as a Faust table, with the in-memory index of every identity they hold.

``streams.seen`` has the chunks' format and the verdicts (pure); this module keeps the index in step with
the table (local writes, changelog batches, recovery) and lets chunks expire (``SHIPMENT_DEDUP_RETENTION_S``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Container, Iterable, Iterator
from typing import Any

import faust
import msgspec

from streams.current import as_current
from streams.seen import (
    PARTITION_SHIFT,
    WRITTEN_AT,
    ChunkToWrite,
    Shards,
    chunk_partition,
    chunk_topic_partition,
    index_chunk,
    unindex_chunk,
    written_at,
)


class _PartitionWrite:
    """Stands in for the current event of a table write Faust files under ``partition`` of ``topic`` (the
    shipment topic: Faust checks that its partitions match the table's), as ``as_current`` needs one."""

    __slots__ = ("__weakref__", "partition", "topic")

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition

    @property
    def message(self) -> _PartitionWrite:
        return self


class ChunkedSeenTable(faust.Table[str, bytes]):
    """A Faust table of identity chunks with an index of every identity it holds and where it was seen.

    The index is one dict per partition of the shipment topic (``shard``). A repeat of an event is keyed
    like it (``source`` + ``id`` name one event, whose vendor is its key), so it lands in the same partition
    and is found in that partition's shard. One dict for every partition stalled the worker's event loop
    whenever it grew: CPython rebuilds a dict's whole table then, 94 ms at 1.4M identities, about doubling
    with each growth (docs/performance.md, ninth and eleventh rounds); a shard grows at an eighth of that
    size with the default eight partitions, at no cost per identity.

    Values are the chunks' JSON bytes (``value_type=bytes``: the raw codec), encoded and decoded with msgspec:
    Faust's JSON codec was a visible share of the shipment path, and decoding every chunk is most of
    what a restart on a kept disk does before it is ready. Write chunks with ``write``.
    """

    shards: Shards
    written: Written
    """Per partition, (write time, key) of each chunk, oldest first: what ``expire`` walks. Kept only when
    chunks expire: at a trickle a chunk can hold a single identity, and this would double its cost."""
    expires: bool
    """Whether chunks expire (``SHIPMENT_DEDUP_RETENTION_S`` set): only then are write times kept."""

    def __init__(self, *args: Any, expires: bool = False, **kwargs: Any) -> None:
        self.shards = {}
        self.written = {}
        self.expires = expires
        super().__init__(*args, value_type=bytes, **kwargs)  # the raw codec: values are JSON bytes

    def shard(self, partition: int) -> dict[str, int]:
        """The index of the identities seen in ``partition``'s records."""
        shard = self.shards.get(partition)
        if shard is None:
            shard = self.shards[partition] = {}
        return shard

    @property
    def identities(self) -> int:
        """How many identities the index holds, over every partition (the memory it takes grows with it)."""
        return sum(len(shard) for shard in self.shards.values())

    def write(self, key: str, chunk: ChunkToWrite, indexed: Iterable[tuple[int, list[str]]]) -> None:
        """The only way to write a chunk, with what the index learns from it (not decoded again):
        (position, identities) of each record it holds whose identities the index does not hold yet
        (``claim_identities`` put the others in already)."""
        now = time.time()
        self[key] = msgspec.json.encode({WRITTEN_AT: int(now), **chunk})
        self._note_written(key, now)
        for at, identities in indexed:
            self.shard(at >> PARTITION_SHIFT).update(dict.fromkeys(identities, at))

    def expire(self, before: float, partitions: Container[int]) -> Iterator[int]:
        """Delete the chunks of ``partitions`` (this worker's active ones: a standby copy is its owner's to
        change) written before ``before``, a tombstone each, and take their identities out of the index;
        yields how many identities each chunk took out, so the caller can yield to the event loop between
        chunks (one chunk decodes up to ``CHUNK_MAX_BYTES`` of ids)."""
        for partition, chunks in list(self.written.items()):
            while partition in partitions and chunks and chunks[0][0] < before:
                _, key = chunks.popleft()
                raw = self.data.get(key)
                if raw is None:  # deleted already (expired before a restart, or by another owner)
                    continue
                chunk = msgspec.json.decode(raw)
                if written_at(chunk, 0.0) >= before:  # written again since (a replay): that write's turn comes
                    continue
                dropped = unindex_chunk(self.shards, key, chunk)
                write = _PartitionWrite(*chunk_topic_partition(key))  # held while the delete files its tombstone
                as_current(write)
                del self[key]
                yield dropped

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        events = list(batch)
        super().apply_changelog_batch(events)
        now = time.time()
        for event in events:
            if event.message.value is not None:
                key = self._to_key(event.key)
                chunk = msgspec.json.decode(event.message.value)
                index_chunk(self.shards, key, chunk)
                self._note_written(key, written_at(chunk, now))

    def _note_written(self, key: str, at: float) -> None:
        """Remember when the chunk under ``key`` was written, for ``expire``: only when chunks expire."""
        if self.expires:
            self.written.setdefault(chunk_partition(key), deque()).append((at, key))

    async def on_recovery_completed(self, active_tps: Any, standby_tps: Any) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        # The store has just dropped the chunks of partitions this worker no longer owns.
        self.shards, self.written = rebuild(self.data.items(), time.time(), with_times=self.expires)


Written = dict[int, deque[tuple[float, str]]]
"""Per partition, (write time, key) of each chunk, oldest first."""


def rebuild(stored: Iterable[tuple[str, bytes]], now: float, *, with_times: bool) -> tuple[Shards, Written]:
    """The index of every stored chunk and, ``with_times``, their write times in order (``now`` for a chunk
    written before times were kept: it then stays a whole window from this restart on)."""
    shards: Shards = {}
    times: dict[int, list[tuple[float, str]]] = {}
    for key, raw in stored:
        chunk = msgspec.json.decode(raw)
        index_chunk(shards, key, chunk)
        if with_times:
            times.setdefault(chunk_partition(key), []).append((written_at(chunk, now), key))
    return shards, {partition: deque(sorted(chunks)) for partition, chunks in times.items()}
