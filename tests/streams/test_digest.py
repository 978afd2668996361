"""The shipment digest (``streams.digest``): it accepts only what the worker's own path accepts whole, and a
digest process that dies loses nothing."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter

from schemas import registry as names
from schemas.batch import BATCH_CONTENT_TYPE, decode_many
from schemas.cloudevents import STRUCTURED_CONTENT_TYPE, event_identity
from schemas.errors import InvalidEvent
from schemas.shipment_codec import accepted_whole
from streams.digest import Digest, Digester, digest_record, digest_records
from streams.lane import LaneRecord
from streams.shipments import lab_sums

TOPIC = names.TOPIC_DATA_SHARES
BATCH = (("content-type", BATCH_CONTENT_TYPE.encode()),)
STRUCTURED = (("content-type", STRUCTURED_CONTENT_TYPE.encode()),)


def shipment(n: int, vendor: str = "scale-ai", lab: str = "google", source: str = "urn:test:digest",
             records: Any = 10, data_class: str = "training_data") -> dict[str, Any]:
    return {"specversion": "1.0", "id": f"ship-{n}", "source": source, "type": names.DATA_SHARED,
            "time": "2025-06-12T10:00:00Z", "datacontenttype": "application/json",
            "data": {"lab_id": lab, "vendor_id": vendor, "contract_id": "c-1", "records": records, "bytes": 2048,
                     "data_class": data_class, "sensitivity": "restricted"}}


def test_a_valid_batch_record_is_digested_into_its_mark_identities_and_sums_per_lab() -> None:
    events = [shipment(0), shipment(1, lab="openai", data_class="roadmap"), shipment(2, records=5)]
    digest = digest_record(json.dumps(events).encode(), BATCH, b"scale-ai", TOPIC)
    assert digest == Digest(
        "scale-ai", b'{"urn:test:digest":["ship-0","ship-1","ship-2"]}',
        [event_identity("urn:test:digest", f"ship-{n}") for n in range(3)],
        {"google": (2, 15, 4096, ["training_data"]), "openai": (1, 10, 2048, ["roadmap"])})


@pytest.mark.parametrize(("events", "headers", "key", "topic"), [
    ([shipment(0), shipment(1, records="many")], BATCH, b"scale-ai", TOPIC),  # an invalid event
    ([shipment(0), shipment(1, vendor="surge")], BATCH, b"scale-ai", TOPIC),  # an event to re-key
    ([shipment(0), shipment(1)], BATCH, b"surge", TOPIC),  # the record's key is not its vendor
    ([shipment(0), shipment(1)], BATCH, None, TOPIC),
    ([shipment(0), shipment(1, source="urn:other")], BATCH, b"scale-ai", TOPIC),  # two sources
    ([shipment(0), shipment(0, records=3)], BATCH, b"scale-ai", TOPIC),  # an id twice
    ([shipment(0)], BATCH, b"scale-ai", names.TOPIC_CONTRACTS),  # on another topic
    ([shipment(0)], (("ce_specversion", b"1.0"),), b"scale-ai", TOPIC),  # binary mode: headers matter
])
def test_anything_the_worker_would_not_accept_whole_is_left_to_the_worker(events, headers, key, topic) -> None:
    assert digest_record(json.dumps(events).encode(), headers, key, topic) is None


def test_a_single_structured_event_is_digested() -> None:
    digest = digest_record(json.dumps(shipment(4)).encode(), STRUCTURED, b"scale-ai", TOPIC)
    assert digest is not None and msgspec.json.decode(digest.mark) == {"urn:test:digest": ["ship-4"]}


_events = st.lists(st.builds(
    shipment, st.integers(0, 4), st.sampled_from(["scale-ai", "surge"]), st.sampled_from(["google", "openai"]),
    st.sampled_from(["urn:a", "urn:b"]), st.one_of(st.integers(0, 50), st.just(-1), st.just("3")),
    st.sampled_from(["training_data", "roadmap", ""])), min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(events=_events, key=st.sampled_from([b"scale-ai", b"surge", b"\xff"]), batch=st.booleans())
def test_a_digest_is_what_the_worker_would_apply_and_is_made_whenever_it_can_be(events, key, batch) -> None:
    value = json.dumps(events if batch else events[0]).encode()
    headers = BATCH if batch else STRUCTURED
    digest = digest_record(value, headers, key, TOPIC)
    try:
        accepted = accepted_whole(decode_many(value, list(headers), names.DATA_SHARED), TOPIC, key.decode(
            "utf-8", "replace"))
    except InvalidEvent:
        accepted = None
    if accepted is None:  # the worker's own path has something to dead-letter or re-key
        assert digest is None
        return
    identities = [event_identity(e.source, e.id) for e in accepted]
    if len({e.source for e in accepted}) > 1 or len(set(identities)) < len(identities):
        assert digest is None  # judged event by event in the worker
        return
    mark = {accepted[0].source: [e.id for e in accepted]}  # what the worker's own path marks for the record
    assert digest == Digest(accepted[0].key, msgspec.json.encode(mark), identities, lab_sums(e.data for e in accepted))


def records(count: int, vendor: str = "scale-ai") -> list[LaneRecord]:
    values = [json.dumps([shipment(10 * n + i, vendor=vendor) for i in range(3)]).encode() for n in range(count)]
    values[1] = b"[not json"  # left to the worker
    return [LaneRecord(TOPIC, 0, n, vendor.encode(), value, list(BATCH), 0.0) for n, value in enumerate(values)]


def expected(batch: list[LaneRecord]) -> list[Digest | None]:
    return digest_records(TOPIC, [(r.value, r.headers, r.key) for r in batch])


def failures() -> Counter:
    return Counter("digest_failures", "test", registry=CollectorRegistry())


async def test_a_digest_process_digests_what_is_submitted_as_the_worker_would() -> None:
    digester = Digester(1, failures())
    await digester.start()
    try:
        batch = records(5)
        digester.submit(TOPIC, batch[:2])
        digester.submit(TOPIC, batch[2:])
        assert all(r.digest[0].answer is not None for r in batch), "sent to the process"
        got = await digester.digests(batch)
        assert got == expected(batch) and got[0] is not None and got[1] is None
    finally:
        digester.stop()


async def test_every_digest_process_is_started_before_the_first_batch() -> None:
    # Spawned one by one under load, the later ones cost the lane a start-up each (and their memory
    # landed in the benchmark's figure for the tables).
    digester = Digester(2, failures())
    try:
        pids = await digester.start()
        assert len(digester.pids) == 2 and sorted(pids) == sorted(digester.pids)
        assert await digester.start() == [], "started once"
    finally:
        digester.stop()


async def test_a_digest_process_that_dies_costs_only_time() -> None:
    counter = failures()
    digester = Digester(1, counter)
    await digester.start()
    try:
        (child,) = digester.pids
        os.kill(child, signal.SIGKILL)
        batch = records(4)
        digester.submit(TOPIC, batch)  # to the dead process, or to none: digested here either way
        assert await digester.digests(batch) == expected(batch)
        assert counter._value.get() == 1
        for _ in range(100):  # bounded: 10 s for the replacement to start
            if digester.pids and child not in digester.pids:
                break
            await asyncio.sleep(0.1)
        assert digester.pids and child not in digester.pids, "another process took over"
        later = records(3, vendor="surge")
        digester.submit(TOPIC, later)
        assert later[0].digest[0].answer is not None
        assert await digester.digests(later) == expected(later)
    finally:
        digester.stop()


async def test_a_digest_process_started_as_the_worker_stops_does_not_outlive_it() -> None:
    digester = Digester(1, failures())
    await digester.start()
    (child,) = digester.pids
    os.kill(child, signal.SIGKILL)
    for _ in range(500):  # bounded: 5 s for the pool to notice and start another
        if not digester.pids:
            break
        await asyncio.sleep(0.01)
    digester.stop()  # while the replacement is starting
    for _ in range(100):  # bounded: 10 s
        if not [p for p in multiprocessing.active_children() if p.name == "vendorwatch-digest"]:
            return
        await asyncio.sleep(0.1)
    pytest.fail("a digest process outlived its stopped pool")


async def test_without_processes_the_worker_digests_its_records_itself() -> None:
    digester = Digester(0, failures())
    await digester.start()
    batch = records(3)
    digester.submit(TOPIC, batch)
    assert batch[0].digest[0].answer is None
    assert await digester.digests(batch) == expected(batch)
    unsubmitted = records(2)
    assert await digester.digests(unsubmitted) == expected(unsubmitted)


async def test_records_queued_when_the_process_is_stopped_are_digested_by_the_worker() -> None:
    counter = failures()
    digester = Digester(1, counter)
    await digester.start()
    batches = [records(50) for _ in range(4)]
    for batch in batches:
        digester.submit(TOPIC, batch)
    digester.stop()  # as the worker stops: queued digests are cancelled
    for batch in batches:
        assert await digester.digests(batch) == expected(batch)
    assert counter._value.get() == 0, "stopping is not a failure"


def test_a_digest_process_ends_with_the_worker_that_started_it() -> None:
    # A worker can end without stopping it: SIGKILL, an OOM kill, os._exit after a failed write.
    script = ("import asyncio, sys\n"
              "from prometheus_client import CollectorRegistry, Counter\n"
              "from streams.digest import Digester\n"
              "d = Digester(1, Counter('f', 'f', registry=CollectorRegistry()))\n"
              "asyncio.run(d.start())\n"
              "print(*d.pids, flush=True)\n"
              "import time; time.sleep(60)\n")
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout is not None
        child = int(worker.stdout.readline())
        os.kill(child, 0)  # running
    finally:
        worker.kill()
        worker.wait()
    for _ in range(100):  # bounded: 10 s
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child, signal.SIGKILL)
    pytest.fail("the digest process outlived its worker")
