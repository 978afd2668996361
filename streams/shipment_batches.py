"""The shipment lane's batch step: decode, judge duplicates, one table write per vendor, seen chunks.

Faust's per-event path (and a changelog record per table write) is what limits a plain table agent to a
few thousand events per second; here a batch of records costs one write per vendor it touches and a
seen chunk per source partition (more when its records are large), and records may themselves carry
many events (``schemas.batch``).

At-least-once is kept and replays are not double counted: the records' offsets are committed only after
the batch is processed and its writes acknowledged (``streams.lane``), and a record redelivered after a
crash is recognised by the offsets its vendor's totals carry (``streams.seen`` explains why no ordering
between the totals and the seen chunks is needed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from schemas import registry as names
from schemas.batch import Incoming
from schemas.cloudevents import event_identities
from streams.app import Worker
from streams.current import as_current
from streams.digest import Digest
from streams.intake import Intake
from streams.seen import (
    CHUNK_MAX_BYTES,
    ChunkToWrite,
    Mark,
    chunk_key,
    claim_identities,
    judge_record,
    position,
    unclaim,
)
from streams.shipments import LabSums, Shipment, add_lab_sums, applied_offset, lab_sums, record_applied

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal"
YIELD_EVERY = 500
"""Events decoded, or applied, between two yields to the event loop (a few milliseconds), so a large batch
never holds up the alert path for long: it shares the worker's one thread."""

@dataclass
class _Chunk:
    first: Any
    """Its first record (a ``streams.lane.LaneRecord``): the chunk is written in that record's partition,
    keyed by its offset."""
    value: ChunkToWrite = field(default_factory=dict)
    indexed: list[tuple[int, list[str]]] = field(default_factory=list)
    """(position, identities) of each record it covers that the index does not hold yet: what it learns
    when the chunk is written."""
    size: int = 0


@dataclass
class _Marks:
    """This batch's seen chunks, each covering whole records of one source partition."""

    current: dict[int, _Chunk] = field(default_factory=dict)
    chunks: list[_Chunk] = field(default_factory=list)

    def add(self, event: Any, mark: Mark, unindexed: list[str] | None) -> None:
        """``unindexed``: the record's identities, when the index does not hold them yet (``None`` when
        ``claim_identities`` put them in)."""
        message = event.message
        size = len(message.value or b"")
        chunk = self.current.get(message.partition)
        if chunk is None or chunk.size + size > CHUNK_MAX_BYTES:
            chunk = self.current[message.partition] = _Chunk(event)
            self.chunks.append(chunk)
        chunk.value[str(message.offset)] = mark
        if unindexed is not None:
            chunk.indexed.append((position(message.partition, message.offset), unindexed))
        chunk.size += size


Records = list[tuple[Any, list[Incoming] | Digest]]
"""A vendor's records in this batch, each with its accepted events (all keyed to that vendor), or with its
digest when every event was valid (``streams.digest``)."""


async def apply_shipment_batch(worker: Worker, intake: Intake, events: Sequence[Any]) -> None:
    topic = worker.topics.data_shares.get_topic_name()
    marks = _Marks()
    in_batch: dict[int, set[str]] = {}
    applied = duplicates = since_yield = 0
    for vendor_id, records in (await _accept(worker, intake, events)).items():
        counted, dropped = await _apply_vendor(worker, intake, vendor_id, records, marks, in_batch, topic)
        applied += counted
        duplicates += dropped
        since_yield += counted + dropped
        if since_yield >= YIELD_EVERY:
            since_yield = 0
            await asyncio.sleep(0)
    for chunk in marks.chunks:
        as_current(chunk.first)
        message = chunk.first.message
        worker.tables.shipments_seen.write(chunk_key(topic, message.partition, message.offset), chunk.value,
                                           chunk.indexed)
    if duplicates:
        worker.metrics.events_duplicate.labels(topic).inc(duplicates)
    if applied:
        worker.metrics.events_consumed.labels(topic, names.DATA_SHARED).inc(applied)


async def _accept(worker: Worker, intake: Intake, events: Sequence[Any]) -> dict[str, Records]:
    """The accepted events of each record, grouped by vendor: a record's accepted events are all keyed
    to the record's key (``accept_many`` re-keys the others), so grouping is per record, not per event.
    A digested record is all accepted; the others go through ``Intake.accept_many`` here."""
    grouped: dict[str, Records] = {}
    since_yield = 0
    for event, digest in zip(events, await worker.digester.digests(events), strict=True):
        if digest is not None:
            grouped.setdefault(digest.vendor_id, []).append((event, digest))
            continue
        decoded = await intake.accept_many(event, names.DATA_SHARED)
        if decoded:
            grouped.setdefault(decoded[0].key, []).append((event, decoded))
        since_yield += len(decoded)
        if since_yield >= YIELD_EVERY:
            since_yield = 0
            await asyncio.sleep(0)
    return grouped


async def _apply_vendor(worker: Worker, intake: Intake, vendor_id: str, records: Records, marks: _Marks,
                        in_batch: dict[int, set[str]], topic: str) -> tuple[int, int]:
    """Judge the vendor's events, add the new ones to its totals in one write; returns (applied, duplicates).
    ``in_batch``: per partition, the identities judged event by event earlier in this batch."""
    table, index = worker.tables.shipments, worker.tables.shipments_seen
    started = time.perf_counter()
    totals = table.get(vendor_id)
    fresh: list[Shipment] = []
    sums: list[LabSums] = []
    applied = 0
    offsets: dict[int, int] = {}
    duplicates = 0
    to_mark: list[tuple[Any, Mark, list[str] | None]] = []
    claimed: list[tuple[list[str], int, dict[str, int]]] = []
    for event, items in records:
        message = event.message
        counted = applied_offset(totals, message.partition) >= message.offset
        at = position(message.partition, message.offset)
        seen, batch = index.shard(message.partition), in_batch.setdefault(message.partition, set())
        if isinstance(items, Digest):
            if claim_identities(items.identities, at, seen, batch):
                claimed.append((items.identities, at, seen))
                to_mark.append((event, msgspec.Raw(items.mark), None))
                if not counted:
                    sums.append(items.labs)
                    applied += len(items.identities)
                    offsets[message.partition] = max(message.offset, offsets.get(message.partition, -1))
                continue
            items = await intake.accept_many(event, names.DATA_SHARED)  # a duplicate: judged event by event
        verdict = judge_record(items, at, seen, counted, batch)
        if verdict.ids:
            to_mark.append((event, verdict.ids, [identity for source, ids in verdict.ids.items()
                                                 for identity in event_identities(source, ids)]))
        duplicates += verdict.duplicates
        if verdict.fresh:
            fresh.extend(verdict.fresh)
            applied += len(verdict.fresh)
            offsets[message.partition] = max(message.offset, offsets.get(message.partition, -1))
    if applied:
        try:
            table[vendor_id] = record_applied(add_lab_sums(totals, [*sums, lab_sums(fresh)]), offsets)
        except Exception as error:  # a bug must not stop the stream nor lose the events
            log.exception("failed to apply %d shipments to %s", applied, vendor_id)
            for identities, at, seen in claimed:  # not applied: a record sent again must count
                unclaim(identities, at, seen)
            for message in {id(e.message): e.message for e, _ in records}.values():
                await intake.deadletter(message, f"internal error: {type(error).__name__}: {error}", INTERNAL_ERROR)
            return 0, duplicates
        # One observation per vendor per batch: the time to apply that vendor's shipments.
        worker.metrics.processing_seconds.labels(topic).observe(time.perf_counter() - started)
    for event, mark, unindexed in to_mark:  # only once applied: a dead-lettered event can be sent again
        marks.add(event, mark, unindexed)
    return applied, duplicates
