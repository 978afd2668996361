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
index kept in step with the table (``streams.seen_table.ChunkedSeenTable``): on each local write, on each
changelog batch applied during recovery, and rebuilt once recovery has dropped the partitions this worker
no longer owns. The index is kept per partition (``ChunkedSeenTable.shard``): an event's repeat is keyed
like it, so it comes in the same partition.

Each chunk carries the time it was written (``WRITTEN_AT``). With a retention set
(``SHIPMENT_DEDUP_RETENTION_S``), chunks older than it are deleted (a changelog tombstone) and their
identities leave the index (``ChunkedSeenTable.expire``): a repeat that comes later than that is counted
again. Replays after a crash do not depend on the chunks (the totals' offsets decide them), so any
retention keeps them right.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import msgspec

from schemas.cloudevents import event_identities, event_identity

PARTITION_SHIFT = 40
"""A position is ``partition << 40 | offset``: one int per identity in the index."""
CHUNK_MAX_BYTES = 256 * 1024
"""A chunk takes records until their values reach this size (the broker's default limit is 1 MiB)."""

Chunk = dict[str, dict[str, list[str]]]
"""``{"<offset>": {"<source>": [id, ...]}}``, stored with ``WRITTEN_AT``."""
Mark = dict[str, list[str]] | msgspec.Raw
"""One record's part of a chunk being written: ``{"<source>": [id, ...]}``, or the same already encoded as
JSON (``streams.digest.Digest.mark``: the worker then never builds the ids)."""
ChunkToWrite = dict[str, Mark]
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
            yield at, event_identities(source, ids)


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
