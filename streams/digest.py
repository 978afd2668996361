"""The shipment lane's records digested in a process of their own: decoding and validating off the worker's thread.

Everything a worker does runs on one Python thread (the GIL), and on the shipment stream most of it was
per-event work on records that are almost always valid: decoding and validating each event (msgspec),
checking its ids, and folding it into per-lab sums (docs/performance.md, sixth round). None of that needs
the worker's state, so while the lane is behind it runs in a process of its own, on the machine's other
core, while the worker applies the batches before (a lane that keeps up digests its few records itself:
the hand-over costs more than their decoding). What comes back per record is a ``Digest``: the
duplicate-detection identities, the record's seen mark already encoded, and its shipments summed per lab;
the worker then judges duplicates, adds the sums to the vendor's totals and writes its tables, as before.

``digest_record`` is pure and accepts only what the worker's own fast path accepts (``schemas.batch``,
``streams.intake``): every event valid, on its topic, keyed like the record, from one source, no id
twice. For anything else it answers ``None`` and the worker takes the record through ``Intake.accept_many``
itself, which dead-letters, re-keys or judges event by event. So the digest process never decides
anything the worker would decide differently, and it holds no state: a record dropped at a rebalance
needs nothing undone, and a digest process that dies costs only time (the worker digests that batch in
its own thread and starts another process).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import msgspec

from schemas.batch import MAX_BATCH_EVENTS, is_batch
from schemas.cloudevents import event_identities
from schemas.shipment_codec import FastShipment, accepted_whole, decode_shipments
from streams.digest_pool import CallFailed, DigestPool, ProcessGone
from streams.shipments import LabSums, lab_sums

log = logging.getLogger(__name__)


class Digest(NamedTuple):
    """One record whose events are all valid and new to each other (a tuple: it crosses a pipe)."""

    vendor_id: str
    mark: bytes
    """``{"<source>": [id, ...]}`` of its events as JSON: what the record's seen chunk holds for it. Encoded
    here, because unpickling a string per id in the worker and encoding the ids again into the chunk cost
    the worker's thread ~0.17 µs per event (docs/performance.md, item 19)."""
    identities: list[str]
    """``event_identity(source, id)`` of each event, in order."""
    labs: LabSums
    """The record's shipments summed per lab (``streams.shipments.lab_sums``)."""


RawRecord = tuple[bytes | None, Any, bytes | None]
"""What the digest process is sent of a record: its value, headers and key."""


def digest_record(value: bytes | None, headers: Any, key: bytes | None, topic: str) -> Digest | None:
    """The record's ``Digest``, or ``None`` when the worker must take it through the per-event path."""
    decoded = _decode(value, {str(name).lower(): bytes(raw) for name, raw in headers or ()})
    vendor_id = key.decode("utf-8", "replace") if key is not None else None
    events = accepted_whole(decoded or [], topic, vendor_id)  # the worker's own check of a whole record
    if events is None or vendor_id is None:
        return None
    source = events[0].source
    if not all(e.source == source for e in events):
        return None
    ids = [e.id for e in events]
    identities = event_identities(source, ids)
    if len(set(identities)) != len(identities):  # an id twice in one record: judged event by event
        return None
    return Digest(vendor_id, _encode_mark({source: ids}), identities, lab_sums(e.data for e in events))


_encode_mark = msgspec.json.Encoder().encode


def _decode(value: bytes | None, headers: dict[str, bytes]) -> list[FastShipment] | None:
    # As schemas.batch.decode_many's fast path: a batch record, or a structured single event.
    if not value:
        return None
    if is_batch(headers):
        return decode_shipments(value, batch=True, max_events=MAX_BATCH_EVENTS)
    if "ce_specversion" in headers:  # binary mode: the reference codec reads the headers
        return None
    return decode_shipments(value, batch=False, max_events=1)


def digest_records(topic: str, records: Sequence[RawRecord]) -> list[Digest | None]:
    """The digest process's entry point: one call per partition per fetch."""
    return [digest_record(value, headers, key, topic) for value, headers, key in records]


class Parcel:
    """The digests of the records one ``submit`` sent, shared by those records (``LaneRecord.digest``)."""

    __slots__ = ("answer", "records", "topic")

    def __init__(self, answer: asyncio.Future[list[Digest | None]] | None, topic: str,
                 records: list[RawRecord]) -> None:
        self.answer = answer
        self.topic = topic
        self.records = records


class Digester:
    """Sends the lane's records to a digest process as they are queued (while the lane is behind,
    ``streams.lane``); ``digests`` collects the answers, or digests what was not sent.

    ``processes=0`` digests in the worker's own thread when the batch is applied (the same results,
    without the second core).
    """

    def __init__(self, processes: int, failures: Any) -> None:
        self.processes = processes
        self._failures = failures  # a prometheus Counter: fetches digested here because the process failed
        self._pool: DigestPool | None = None

    @property
    def pids(self) -> list[int]:
        """The digest processes running now."""
        return self._pool.pids if self._pool is not None else []

    async def start(self) -> list[int]:
        """Start every process, and wait until each answers (the pids that did), so the first batch does
        not wait for imports, and no process starts under load (a start-up the lane would wait for, and
        memory the benchmark would count as the tables')."""
        if not self.processes or self._pool is not None:
            return []
        self._pool = DigestPool(self.processes, digest_records)
        return await self._pool.start()

    def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()

    def submit(self, topic: str, records: Iterable[Any]) -> None:
        """Give each lane record (``streams.lane.LaneRecord``) a parcel with its digest on the way."""
        batch = list(records)
        raw = [(r.value, r.headers, r.key) for r in batch]
        answer = None
        if self._pool is not None:
            answer = self._pool.call(topic, raw)
            if answer is None:  # every process has ended; the pool is starting others
                self._failures.inc()
        parcel = Parcel(answer, topic, raw)
        for index, record in enumerate(batch):
            record.digest = (parcel, index)

    async def digests(self, records: Sequence[Any]) -> list[Digest | None]:
        """Each record's digest, in order (``None`` for the per-event path)."""
        answers: dict[int, list[Digest | None]] = {}
        result: list[Digest | None] = []
        for record in records:
            if record.digest is None:  # not sent (the lane kept up, or no process): digested here
                result.append(digest_record(record.value, record.headers, record.key, record.topic))
                continue
            parcel, index = record.digest
            answer = answers.get(id(parcel))
            if answer is None:
                answer = answers[id(parcel)] = await self._answer(parcel)
            result.append(answer[index])
        return result

    async def _answer(self, parcel: Parcel) -> list[Digest | None]:
        if parcel.answer is not None:
            try:
                return await parcel.answer
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # this task is being cancelled, not the digest
                    raise
                # stop() cancelled the digest (the worker is stopping): digested here, as before a start
            except (ProcessGone, CallFailed) as error:  # the records are still here
                log.warning("shipment digest process failed (%s: %s); the worker digests those records itself",
                            type(error).__name__, error)
                self._failures.inc()
        return digest_records(parcel.topic, parcel.records)
