"""The shipment lane on the real broker, across a rebalance and a SIGKILL: every shipment counted exactly once.

The lane takes the shipment topic's records out of Faust's fetches and commits their offsets itself
(streams/lane.py). Here a second worker joins while the first is busy (the first worker's lane closes,
finishes its batch, drops what it had not taken and opens on its new assignment), then the first worker
is SIGKILLed while records keep coming (the second takes its partitions from the committed offsets and
replays what was not committed). Every vendor's totals must come out exact: a record dropped without being
read again would make them short, a replay counted twice would make them long.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from schemas.batch import BATCH_CONTENT_TYPE
from schemas.registry import TOPIC_DATA_SHARES
from streams.admin import changelog_topic
from streams.shipments import lab_totals
from tests.e2e.test_two_workers_broker import both_hold_partitions, until
from tests.streams.test_shipment_batches_broker import read_all, shipment
from vendorwatch.local import free_port, new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]
BATCH = [("content-type", BATCH_CONTENT_TYPE.encode())]
VENDORS = 24
PER_RECORD = 50
RECORDS_PER_PHASE = 400


async def test_shipments_through_a_rebalance_and_a_sigkill_are_counted_once(broker_settings, tmp_path) -> None:
    run = secrets.token_hex(4)
    vendors = [f"lane-{run}-{i}" for i in range(VENDORS)]
    expected: Counter[str] = Counter()
    secret = new_secret()
    async with webhook_sink(secret) as sink, \
            running_stack(broker_settings, tmp_path, sink.url, secret, extra={"session_timeout_s": 6.0}) as stack:
        producer = AIOKafkaProducer(bootstrap_servers=broker_settings.kafka_bootstrap, acks="all", linger_ms=5)
        await producer.start()
        serial = 0

        async def publish(count: int) -> None:
            nonlocal serial
            sends = []
            for n in range(count):
                vendor = vendors[n % VENDORS]
                events = [shipment(run, serial + i, vendor, 1) for i in range(PER_RECORD)]
                serial += PER_RECORD
                expected[vendor] += PER_RECORD
                sends.append(await producer.send(TOPIC_DATA_SHARES, json.dumps(events).encode(),
                                                 key=vendor.encode(), headers=BATCH))
            for sent in sends:
                await sent

        try:
            await publish(RECORDS_PER_PHASE)
            second = f"http://127.0.0.1:{(port := free_port())}"
            stack.spawn_worker("worker-b", port)
            await publish(RECORDS_PER_PHASE)  # while the group rebalances
            await until(lambda: both_hold_partitions([stack.api, second]), 120, "both workers hold partitions")
            await publish(RECORDS_PER_PHASE)
            stack.kill("worker")  # no final commit: its uncommitted records are replayed by worker-b
            await publish(RECORDS_PER_PHASE)
        finally:
            await producer.stop()
        await stack.wait_quiet(timeout=240)
        changelog = await read_all(broker_settings, changelog_topic(stack.settings, "shipments"))
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"{second}/metrics", timeout=10)).text

    # The worker that took over applied the lane's batches, and says how large they were.
    batches = next(line for line in metrics.splitlines() if line.startswith("vendorwatch_lane_batch_records_count"))
    assert float(batches.split()[-1]) > 0
    assert "vendorwatch_lane_buffered_records " in metrics

    latest = {r.key.decode(): json.loads(r.value) for r in changelog if r.key.decode() in expected}
    counted = {vendor: lab_totals(latest.get(vendor))[f"lab-{run}"]["shipments"] for vendor in vendors}
    assert counted == dict(expected), "each shipment counted exactly once"
    assert sum(counted.values()) == 4 * RECORDS_PER_PHASE * PER_RECORD
