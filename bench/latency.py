"""Alert latency: from an ownership event's publish to its alert's arrival at a webhook receiver.

A worker and a dispatcher run as processes (``vendorwatch.local.running_stack``), delivering to a
local Standard Webhooks receiver that verifies every request (``vendorwatch.sink``) and notes when
each arrived. The data-shipment stream runs at a fixed rate meanwhile. Each injected event gives a
lab's competitor 30% of a vendor the lab has a contract with: one ``opened`` alert each, whose
``evidence`` names the event, so arrival is matched to publish by event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from alerts.follow import read_topic
from alerts.store import read_deliveries
from bench.cleanup import delete_topics_of
from bench.dataset import Record, Shape, envelope, make_record, shipment_records
from bench.hops import Marks, hop_samples
from bench.kafka_io import produce
from schemas import registry as names
from streams.admin import internal_topic
from vendorwatch.local import new_secret, running_stack
from vendorwatch.settings import Settings
from vendorwatch.sink import WebhookSink

LAB, RIVAL = "lab-00", "lab-01"
WAIT_FOR_ALERTS_S = 60.0
WARM_UP_S = 3.0
PREBUILT_AFTER_S = 10.0
"""Seconds of the stream encoded beforehand beyond the last injection: the alerts arrive within them."""


class TimedSink(WebhookSink):
    """The verifying receiver, also noting when each alert arrived, by the ids of the events behind it."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.arrived: dict[str, float] = {}

    async def handle(self, request: web.Request) -> web.Response:
        at = time.time()
        response = await super().handle(request)
        if response.status == 204:
            for evidence in self.deliveries[-1].body.get("data", {}).get("evidence", []):
                self.arrived.setdefault(evidence.get("id", ""), at)
        return response


@dataclass(frozen=True)
class Latency:
    samples_ms: list[float]
    rate: float
    """Data-shipment events per second while the samples were taken."""
    missing: int
    hops: dict[str, list[float]] = field(default_factory=dict)
    """Each hop of the alert path (``bench.hops.HOPS``), its samples in ms, sorted."""
    hops_error: str | None = None
    """Why the hops could not be read back (the end-to-end samples stand without them)."""


def world(prefix: str, vendors: int) -> list[Record]:
    """Two labs, one the other's competitor, and a contract of the first with each vendor."""
    events: list[Record] = []
    for lab in (LAB, RIVAL):
        events.append(make_record(names.TOPIC_ORGS, lab, [envelope(f"{prefix}-org-{lab}", names.ORG_DECLARED,
                                                               {"org_id": lab, "name": lab, "kind": "lab"})]))
    events.append(make_record(names.TOPIC_ORGS, LAB, [envelope(f"{prefix}-rivals", names.COMPETITORS_DECLARED,
                                                           {"lab_id": LAB, "competitors": [RIVAL]})]))
    for k in range(vendors):
        vendor = f"{prefix}-target-{k:04d}"
        contract = {"contract_id": f"{prefix}-c-{k}", "lab_id": LAB, "vendor_id": vendor, "annual_value_usd": 250_000,
                    "data_classes": ["training_data"], "sensitivity": "confidential"}
        events.append(make_record(names.TOPIC_CONTRACTS, vendor,
                                  [envelope(f"{prefix}-contract-{k}", names.CONTRACT_SIGNED, contract)]))
    return events


def takeover(prefix: str, k: int) -> Record:
    vendor = f"{prefix}-target-{k:04d}"
    return make_record(names.TOPIC_OWNERSHIP, vendor, [envelope(f"{prefix}-takeover-{k}", names.OWNERSHIP_STATED, {
        "subject_id": vendor, "interested_party_id": RIVAL, "status": "completed",
        "interests": [{"type": "shareholding", "share": {"exact": 30}}]})])


async def alert_latency(base: Settings, workdir: Path, *, rate: float, injections: int, spacing_s: float,
                        per_record: int) -> Latency:
    prefix = f"lat{int(time.time())}"
    secret = new_secret()
    sink = TimedSink(secret)
    url = await sink.start()
    app_id = f"bench-latency-{int(time.time())}-{secrets.token_hex(3)}"
    try:
        async with running_stack(base, workdir, url, secret, app_id=app_id) as stack:
            settings = stack.settings
            await produce(settings, world(prefix, injections))
            await stack.wait_quiet(timeout=180)
            stream_s = injections * spacing_s + WAIT_FOR_ALERTS_S
            shape = Shape(events=max(1, int(rate * stream_s)), per_record=per_record, prefix=f"{prefix}-s")
            stream = asyncio.ensure_future(produce(settings, _prebuilt(shape, rate, injections * spacing_s), rate=rate))
            try:
                await asyncio.sleep(WARM_UP_S)  # the stream at its rate before the first sample
                published = await _inject(settings, prefix, injections, spacing_s)
                await _wait_for(sink, published, WAIT_FOR_ALERTS_S)
            finally:
                stream.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await stream
            marks, hops_error = await _marks(settings.model_copy(update={"dispatcher_group": stack.dispatcher_group}))
    finally:
        await sink.stop()
        await delete_topics_of(base, app_id)  # the stack has stopped: its topics and its dispatcher's
    samples = [(sink.arrived[i] - t) * 1000 for i, t in published.items() if i in sink.arrived]
    hops = hop_samples(published, sink.arrived, marks) if marks is not None else {}
    return Latency(sorted(samples), rate, len(published) - len(samples), hops, hops_error)


async def _marks(settings: Settings) -> tuple[Marks | None, str | None]:
    # Read once the samples are taken: the reads are not part of what is timed. ``settings`` as the
    # stack's processes have them (its dispatcher's group names the deliveries' topic). The hops explain
    # the latency figures; a broker that cannot be read back now does not cost the run its figures.
    marks = Marks()
    try:
        await read_topic(settings, internal_topic(settings, "evaluations"), marks.request)
        await read_topic(settings, names.TOPIC_ALERTS, marks.alert)
        marks.deliveries(await read_deliveries(settings))
    except (KafkaError, LookupError, TimeoutError) as error:
        return None, f"{type(error).__name__}: {error}"
    return marks, None


def _prebuilt(shape: Shape, rate: float, injecting_s: float) -> Iterator[Record]:
    """The stream's records; those sent while alerts are timed are encoded beforehand.

    Producers run on other machines in a deployment; here the generator shares the two cores, and the
    event loop that notes each webhook's arrival, with the worker. Encoding ~10 µs per event (14% of a
    core at 13,500 events/s) while timing would measure the benchmark as much as the worker.
    """
    records = shipment_records(shape)
    ahead = math.ceil(rate * (WARM_UP_S + injecting_s + PREBUILT_AFTER_S) / shape.per_record)
    return itertools.chain(list(itertools.islice(records, ahead)), records)


async def _inject(settings: Settings, prefix: str, injections: int, spacing_s: float) -> dict[str, float]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    published: dict[str, float] = {}
    try:
        for k in range(injections):
            record = takeover(prefix, k)
            published[f"{prefix}-takeover-{k}"] = time.time()
            await producer.send_and_wait(record.topic, record.value, key=record.key, headers=list(record.headers))
            await asyncio.sleep(spacing_s)
    finally:
        await producer.stop()
    return published


async def _wait_for(sink: TimedSink, published: dict[str, Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    # Polled: the sink is vendorwatch's own receiver, with no hook to wait on.
    while not published.keys() <= sink.arrived.keys() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted ``samples`` (0 when there are none)."""
    if not samples:
        return 0.0
    rank = max(1, min(len(samples), math.ceil(p / 100 * len(samples))))
    return samples[rank - 1]
