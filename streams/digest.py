"""The shipment lane's records digested in a process of their own: decoding and validating off the worker's thread.

Everything a worker does runs on one Python thread (the GIL), and on the shipment stream most of it was
per-event work on records that are almost always valid: decoding and validating each event (msgspec),
checking its ids, and folding it into per-lab sums (docs/performance.md, sixth round). None of that needs
the worker's state, so while the lane is behind it runs in a process of its own, on the machine's other
core, while the worker applies the batches before (a lane that keeps up digests its few records itself:
the hand-over costs more than their decoding). What comes back per record is a ``Digest``: the record's
source and ids, the duplicate-detection identities, and its shipments summed per lab; the worker then
judges duplicates, adds the sums to the vendor's totals and writes its tables, as before.

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
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, NamedTuple

from schemas.batch import MAX_BATCH_EVENTS, is_batch
from schemas.cloudevents import event_identity
from schemas.shipment_codec import FastShipment, accepted_whole, decode_shipments
from streams.shipments import LabSums, lab_sums

log = logging.getLogger(__name__)


class Digest(NamedTuple):
    """One record whose events are all valid and new to each other (a tuple: it crosses a pipe)."""

    vendor_id: str
    source: str
    ids: list[str]
    """The events' ids, in order."""
    identities: list[str]
    """``event_identity(source, id)`` of each, in the same order."""
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
    prefix = event_identity(source, "")
    identities = [prefix + id_ for id_ in ids]
    if len(set(identities)) != len(identities):  # an id twice in one record: judged event by event
        return None
    return Digest(vendor_id, source, ids, identities, lab_sums(e.data for e in events))


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


PARENT_CHECK_S = 0.5
"""How often the digest process checks that the worker that started it is still there."""


def _in_digest_process() -> None:
    # Ctrl-C reaches the whole process group: the worker stops this process when it shuts down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker that ends without stopping it (SIGKILL, an OOM kill, os._exit) must not leave it behind,
    # and it would not notice by itself: a multiprocessing queue's child holds both ends of its pipe.
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _ready() -> int:
    return os.getpid()


class Parcel:
    """The digests of the records one ``submit`` sent, shared by those records (``LaneRecord.digest``)."""

    __slots__ = ("future", "records", "topic")

    def __init__(self, future: Future[list[Digest | None]] | None, topic: str, records: list[RawRecord]) -> None:
        self.future = future
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
        self._pool: ProcessPoolExecutor | None = None

    async def start(self) -> list[int]:
        """Start every process, and wait until one answers (the pids that did), so the first batch does not
        wait for imports. The pool spawns a process for each call no idle one can take: one call each, sent
        together, starts them all now, not one by one under load (a start-up the lane would wait for, and
        memory the benchmark would count as the tables')."""
        if not self.processes or self._pool is not None:
            return []
        pool = self._pool = self._new_pool()
        return list(await asyncio.gather(*(asyncio.wrap_future(pool.submit(_ready)) for _ in range(self.processes))))

    def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, topic: str, records: Iterable[Any]) -> None:
        """Give each lane record (``streams.lane.LaneRecord``) a parcel with its digest on the way."""
        batch = list(records)
        raw = [(r.value, r.headers, r.key) for r in batch]
        parcel = Parcel(self._submit(topic, raw), topic, raw)
        for index, record in enumerate(batch):
            record.digest = (parcel, index)

    def _submit(self, topic: str, raw: list[RawRecord]) -> Future[list[Digest | None]] | None:
        if self._pool is None:
            return None
        try:
            return self._pool.submit(digest_records, topic, raw)
        except RuntimeError as error:  # the process died (a broken pool): start another, once
            self._failed(error)
        if self._pool is None:
            return None
        try:
            return self._pool.submit(digest_records, topic, raw)
        except RuntimeError:  # digested in the worker's thread when the batch is applied
            return None

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
        if parcel.future is not None:
            try:
                return await asyncio.wrap_future(parcel.future)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():  # this task is being cancelled, not the digest
                    raise
                # stop() cancelled the digest (the worker is stopping): digested here, as before a start
            except Exception as error:  # the process died: the records are still here
                self._failed(error)
        return digest_records(parcel.topic, parcel.records)

    def _failed(self, error: Exception) -> None:
        log.warning("shipment digest process failed (%s: %s); the worker digests those records itself",
                    type(error).__name__, error)
        self._failures.inc()
        pool = self._pool
        if pool is not None and getattr(pool, "_broken", False):  # not when stopped: stop() set it to None
            pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn: the worker has threads (Faust's consumer thread), and forking a threaded process is unsafe.
        return ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_in_digest_process)
