"""Soak: two workers under a steady shipment stream, one of them SIGKILLed and restarted every cycle.

Run by hand, not in the default run (pyproject's ``-m 'not soak'``)::

    VENDORWATCH_KAFKA_BOOTSTRAP=127.0.0.1:9092 VENDORWATCH_SOAK_S=600 .venv/bin/pytest -m soak -s tests/soak

Bounded: ``VENDORWATCH_SOAK_S`` (default 600) fixes the number of cycles up front, and the traffic goes to
the loopback broker only. Each cycle publishes shipments at a fixed pace and one takeover that must raise an
alert, then SIGKILLs one worker (alternately) and starts it again on its own data directory: a crash with
no final commit, its partitions taken over, then given back. What must hold at the end: every vendor's
totals exact (nothing lost, nothing counted twice), every takeover's alert delivered, every process alive.
Each process's resident memory (with its children, the digest processes: ``bench.worker.rss_bytes``)
before each kill is printed as a figure (``-s``), not asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections import Counter
from collections.abc import Iterable

import pytest
from aiokafka import AIOKafkaProducer

from bench.kafka_io import produce
from bench.latency import takeover, world
from bench.worker import rss_bytes
from schemas.registry import TOPIC_DATA_SHARES
from streams.admin import changelog_topic
from streams.shipments import lab_totals
from tests.e2e.test_two_workers_broker import both_hold_partitions, until
from tests.streams.test_lane_broker import BATCH, PER_RECORD
from tests.streams.test_shipment_batches_broker import read_all, shipment
from vendorwatch.local import Stack, free_port, new_secret, running_stack
from vendorwatch.sink import Delivery, webhook_sink

SOAK_S = float(os.environ.get("VENDORWATCH_SOAK_S", "600"))
CYCLE_S = 30.0
CYCLES = max(2, int(SOAK_S // CYCLE_S))
RECORDS_PER_S = 20  # x PER_RECORD shipments: 1,000 shipments/s
VENDORS = 40

pytestmark = [pytest.mark.soak, pytest.mark.broker, pytest.mark.timeout(int(CYCLES * CYCLE_S * 3) + 900)]


async def test_workers_killed_and_restarted_every_cycle_lose_and_double_nothing(broker_settings, tmp_path) -> None:
    run = secrets.token_hex(4)
    vendors = [f"soak-{run}-{i}" for i in range(VENDORS)]
    expected: Counter[str] = Counter()
    secret = new_secret()
    async with webhook_sink(secret) as sink, \
            running_stack(broker_settings, tmp_path, sink.url, secret, extra={"session_timeout_s": 6.0}) as stack:
        await produce(stack.settings, world(f"soak{run}", CYCLES))
        second_port = free_port()
        stack.spawn_worker("worker-b", second_port)
        await until(lambda: both_hold_partitions([stack.api, f"http://127.0.0.1:{second_port}"]), 120,
                    "both workers hold partitions")
        producer = AIOKafkaProducer(bootstrap_servers=broker_settings.kafka_bootstrap, acks="all", linger_ms=5)
        await producer.start()
        serial = 0
        try:
            for cycle in range(CYCLES):
                for _ in range(int(CYCLE_S)):  # a second's records, then the rest of the second
                    started = asyncio.get_running_loop().time()
                    sends = []
                    for _ in range(RECORDS_PER_S):
                        vendor = vendors[(serial // PER_RECORD) % VENDORS]
                        events = [shipment(run, serial + i, vendor, 1) for i in range(PER_RECORD)]
                        serial += PER_RECORD
                        expected[vendor] += PER_RECORD
                        sends.append(await producer.send(TOPIC_DATA_SHARES, json.dumps(events).encode(),
                                                         key=vendor.encode(), headers=BATCH))
                    await asyncio.gather(*sends)
                    await asyncio.sleep(max(0.0, 1.0 - (asyncio.get_running_loop().time() - started)))
                await produce(stack.settings, [takeover(f"soak{run}", cycle)])
                rss = ", ".join(f"{name} {rss_bytes(p.pid) / 2**20:.0f}" for name, p in sorted(stack.processes.items()))
                print(f"soak cycle {cycle + 1}/{CYCLES}: {serial:,} shipments, RSS MB {rss}")
                _restart(stack, "worker" if cycle % 2 == 0 else "worker-b", second_port)
        finally:
            await producer.stop()
        await stack.wait_quiet(timeout=300)
        takeovers = {f"soak{run}-takeover-{k}" for k in range(CYCLES)}
        await until(lambda: _alerted(sink.unique().values(), takeovers), 120, "every takeover's alert delivered")
        assert all(p.poll() is None for p in stack.processes.values()), "no process died on its own"
        changelog = await read_all(broker_settings, changelog_topic(stack.settings, "shipments"))

    latest = {r.key.decode(): json.loads(r.value) for r in changelog if r.key.decode() in expected}
    counted = {vendor: lab_totals(latest.get(vendor))[f"lab-{run}"]["shipments"] for vendor in vendors}
    assert counted == dict(expected), "each shipment counted exactly once"
    assert sum(counted.values()) == CYCLES * int(CYCLE_S) * RECORDS_PER_S * PER_RECORD


def _restart(stack: Stack, name: str, second_port: int) -> None:
    """SIGKILL ``name`` (no shutdown, no final commit), then start it again on its own data directory."""
    stack.kill(name)
    if name == "worker":
        stack.spawn("worker")
    else:
        stack.spawn_worker(name, second_port)


async def _alerted(deliveries: Iterable[Delivery], takeovers: set[str]) -> bool:
    named = {e.get("id") for d in deliveries for e in d.body.get("data", {}).get("evidence", [])}
    return takeovers <= named
