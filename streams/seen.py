"""Duplicate detection for the high-volume stream: source+id remembered in chunks, one table write per batch.

The other input agents mark each event in the ``seen`` table: one changelog record per event, and a
producer flush before it so a durable mark never outlives lost effects. At data-shipment volume the
writes are most of the cost of an event and most of what a restart replays, and the flush stalls every
batch for a broker round trip. So the shipment lane writes *chunks*: one or more per source partition per batch (key
``<topic>/<partition>/<first offset>``, value ``{"<offset>": {"<source>": [id, ...]}}``, each event's id
under its record's offset and its source) and records *where* each identity was seen. An event whose
identity was seen at another position is a duplicate; one seen at its own position is a replay of its
own record, counted if and only if its vendor's totals say so (``streams.shipments.applied_offset``,
written atomically with the totals). No ordering between the chunk and the totals is needed, so no flush.

A chunk covers whole records and stops growing at ``CHUNK_MAX_BYTES`` of their values, so it stays under
the broker's message size whatever the batch (a record's ids are a fraction of the record). Grouping
ids by source keeps a chunk about a third of the size of ``{source+id: offset}``, which was the bulk of
what the worker sent to the broker at shipment volume.

A chunk lives in the changelog partition of the records it covers (the batch step makes a record of that
partition current before writing), so it moves with them on a rebalance. Lookups go to an in-memory
index kept in step with the table: on each local write, on each changelog batch applied during
recovery, and rebuilt once recovery has dropped the partitions this worker no longer owns. The index
is kept per partition (``ChunkedSeenTable.shard``): an event's repeat is keyed like it, so it comes in
the same partition.

Each chunk carries the time it was written (``WRITTEN_AT``). With a retention set
(``SHIPMENT_DEDUP_RETENTION_S``), chunks older than it are deleted (a changelog tombstone) and their
identities leave the index (``ChunkedSeenTable.expire``): a repeat that comes later than that is counted
again. Replays after a crash do not depend on the chunks (the totals' offsets decide them), so any
retention keeps them right.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import faust
import msgspec

from schemas.cloudevents import event_identity
from streams.current import as_current

PARTITION_SHIFT = 40
"""A position is ``partition << 40 | offset``: one int per identity in the index."""
CHUNK_MAX_BYTES = 256 * 1024
"""A chunk takes records until their values reach this size (the broker's default limit is 1 MiB)."""

Chunk = dict[str, dict[str, list[str]]]
"""``{"<offset>": {"<source>": [id, ...]}}``, stored with ``WRITTEN_AT``."""
WRITTEN_AT = "t"
"""The key of a stored chunk's write time (Unix seconds). Never an offset (digits) nor an identity of the
first form (``source`` + the separator + ``id``); chunks written before it existed have none."""


class Verdict(Enum):
    APPLY = "apply"
    REPLAY = "replay"
    """Its own record again (after a restart) and already counted: skip, but remember it."""
    DUPLICATE = "duplicate"


def chunk_key(topic: str, partition: int, first_offset: int) -> str:
    return f"{topic}/{partition}/{first_offset}"


def position(partition: int, offset: int) -> int:
    return partition << PARTITION_SHIFT | offset


def judge(identity: str, at: int, seen: Mapping[str, int], counted: bool, batch: Container[str]) -> Verdict:
    """What to do with an event: ``at`` its record's position, ``counted`` whether its vendor's totals
    already include that record, ``batch`` the identities met earlier in this batch."""
    if identity in batch:
        return Verdict.DUPLICATE
    earlier = seen.get(identity)
    if earlier is not None and earlier != at:
        return Verdict.DUPLICATE
    return Verdict.REPLAY if counted else Verdict.APPLY


class Identified(Protocol):
    """What judging needs of an event (``schemas.shipment_codec.FastShipment``, ``schemas.batch.FastEnvelope``)."""

    @property
    def source(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def data(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class RecordVerdict:
    """``judge`` for every event of one record."""

    fresh: list[Any]
    """The ``data`` of the events to count (``Verdict.APPLY``), in order."""
    ids: dict[str, list[str]]
    """The ids to remember at the record's position, by source: the counted and the replayed."""
    duplicates: int


def judge_record(items: Sequence[Identified], at: int, seen: Mapping[str, int], counted: bool,
                 batch: set[str]) -> RecordVerdict:
    """``judge`` each event of a record at ``at``, adding their identities to ``batch``.

    The common case at volume (one source, every identity new to the index, to this batch and within the
    record) is decided with set operations over the whole record instead of per event: the per-event
    bookkeeping in Python had become a fifth of the worker's CPU. Anything else is judged event by event.
    """
    source = items[0].source if items else ""
    ids = [item.id for item in items]
    prefix = event_identity(source, "")
    identities = {prefix + id_ for id_ in ids}
    if (len(identities) == len(ids) and all(item.source == source for item in items)
            and batch.isdisjoint(identities) and seen.keys().isdisjoint(identities)):
        batch.update(identities)
        return RecordVerdict([] if counted else [item.data for item in items], {source: ids} if ids else {}, 0)
    return _judge_each(items, at, seen, counted, batch)


def claim_identities(identities: list[str], at: int, seen: dict[str, int], batch: set[str]) -> bool:
    """``judge_record``'s common case for a record already digested (``streams.digest.Digest``: one source,
    no identity twice): ``True`` when every identity is new to the index and to the identities judged
    event by event in this batch (``batch``), and then they are indexed at ``at`` at once (looked up and
    added while their slots are in the CPU's cache; ``unclaim`` takes them back if the record is not
    applied). ``False``: judge the record's events one by one."""
    if (not batch or batch.isdisjoint(identities)) and seen.keys().isdisjoint(identities):
        seen.update(dict.fromkeys(identities, at))
        return True
    return False


def unclaim(identities: Iterable[str], at: int, seen: dict[str, int]) -> None:
    """Take back what ``claim_identities`` indexed at ``at``."""
    for identity in identities:
        if seen.get(identity) == at:
            del seen[identity]


def _judge_each(items: Sequence[Identified], at: int, seen: Mapping[str, int], counted: bool,
                batch: set[str]) -> RecordVerdict:
    fresh: list[Any] = []
    by_source: dict[str, list[str]] = {}
    duplicates = 0
    for item in items:
        identity = event_identity(item.source, item.id)
        verdict = judge(identity, at, seen, counted, batch)
        batch.add(identity)
        if verdict is Verdict.DUPLICATE:
            duplicates += 1
            continue
        by_source.setdefault(item.source, []).append(item.id)
        if verdict is Verdict.APPLY:
            fresh.append(item.data)
    return RecordVerdict(fresh, by_source, duplicates)


Shards = dict[int, dict[str, int]]
"""The index: per partition of the shipment topic, each identity and the position it was seen at."""


def chunk_topic_partition(key: Any) -> tuple[str, int]:
    """The shipment topic and partition a chunk's key names (``chunk_key``)."""
    topic, partition, _ = (key.decode() if isinstance(key, bytes) else str(key)).rsplit("/", 2)
    return topic, int(partition)


def chunk_partition(key: Any) -> int:
    return chunk_topic_partition(key)[1]


def _positions(partition: int, chunk: Mapping[str, Any]) -> Iterator[tuple[int, list[str]]]:
    """(position, identities) of each record a chunk holds; also reads the first form, ``{source+id: offset}``."""
    base = partition << PARTITION_SHIFT
    for offset_or_identity, value in chunk.items():
        if offset_or_identity == WRITTEN_AT:
            continue
        if isinstance(value, int):  # the first form, {identity: offset}
            yield base | value, [offset_or_identity]
            continue
        at = base | int(offset_or_identity)
        for source, ids in value.items():
            prefix = event_identity(source, "")
            yield at, [prefix + id_ for id_ in ids]


def index_chunk(shards: Shards, key: Any, chunk: Mapping[str, Any]) -> None:
    """Put every identity a chunk holds in its partition's shard, at its record's position. A dict built per
    record and source in one call: a restart indexes every chunk."""
    partition = chunk_partition(key)
    shard = shards.setdefault(partition, {})
    for at, identities in _positions(partition, chunk):
        shard.update(dict.fromkeys(identities, at))


def unindex_chunk(shards: Shards, key: Any, chunk: Mapping[str, Any]) -> int:
    """Take a chunk's identities out of the index where they are still at its records' positions (a repeat
    applied after the chunk expired is indexed at its own); returns how many left."""
    partition = chunk_partition(key)
    shard = shards.get(partition)
    if shard is None:
        return 0
    dropped = 0
    for at, identities in _positions(partition, chunk):
        for identity in identities:
            if shard.get(identity) == at:
                del shard[identity]
                dropped += 1
    return dropped


def written_at(chunk: Mapping[str, Any], default: float) -> float:
    """When a stored chunk was written; ``default`` for a chunk from before write times were kept."""
    value = chunk.get(WRITTEN_AT)
    return float(value) if isinstance(value, int | float) else default


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
    written: dict[int, deque[tuple[float, str]]]
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

    def write(self, key: str, chunk: Chunk, indexed: Iterable[tuple[int, list[str]]]) -> None:
        """The only way to write a chunk, with what the index learns from it (not decoded again):
        (position, identities) of each record it holds whose identities the index does not hold yet
        (``claim_identities`` put the others in already)."""
        now = time.time()
        self[key] = msgspec.json.encode({WRITTEN_AT: int(now), **chunk})
        if self.expires:
            self._written(chunk_partition(key)).append((now, key))
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

    def _written(self, partition: int) -> deque[tuple[float, str]]:
        chunks = self.written.get(partition)
        if chunks is None:
            chunks = self.written[partition] = deque()
        return chunks

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        events = list(batch)
        super().apply_changelog_batch(events)
        now = time.time()
        for event in events:
            if event.message.value is not None:
                key = self._to_key(event.key)
                chunk = msgspec.json.decode(event.message.value)
                index_chunk(self.shards, key, chunk)
                if self.expires:
                    self._written(chunk_partition(key)).append((written_at(chunk, now), key))

    async def on_recovery_completed(self, active_tps: Any, standby_tps: Any) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        # The store has just dropped the chunks of partitions this worker no longer owns.
        self.shards, now = {}, time.time()
        written: dict[int, list[tuple[float, str]]] = {}
        for key, raw in self.data.items():
            chunk = msgspec.json.decode(raw)
            index_chunk(self.shards, key, chunk)
            if self.expires:
                written.setdefault(chunk_partition(key), []).append((written_at(chunk, now), key))
        self.written = {partition: deque(sorted(chunks)) for partition, chunks in written.items()}
