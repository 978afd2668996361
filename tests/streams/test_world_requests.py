"""Both sides of a world request, with the worker's parts it touches replaced by small fakes."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from schemas.alert import Evidence
from streams import world_requests
from streams.durability import PendingWrites
from streams.metrics import build_worker_metrics
from streams.read_through import ReadThrough
from streams.requests import WorldChange, decode, encode_world_request
from streams.state import dump
from streams.world_cache import OWNERSHIP, WorldCache
from streams.world_requests import WorldRequests
from tests.support.builders import shareholding, stated

TOPIC = "vw-evaluations"
PARTITION_OF = {"scale-ai": 0, "turing": 1, "holdco": 2}


class FakeExpress:
    def __init__(self) -> None:
        self.sent: list[tuple[int, dict[str, Any]]] = []

    async def partitions(self, topic: str) -> list[int]:
        return [0, 1, 2]

    async def send(self, topic: str, key: bytes, value: bytes, partition: int) -> asyncio.Future[Any]:
        self.sent.append((partition, json.loads(value)))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def global_table(last_offset: int | None = None) -> SimpleNamespace:
    table = SimpleNamespace(read_through=ReadThrough(), last_sent=None)
    if last_offset is not None:
        table.last_sent = asyncio.get_running_loop().create_future()
        table.last_sent.set_result(SimpleNamespace(offset=last_offset))
    return table


def fake_worker(registry: CollectorRegistry, ownership_written: int | None = None) -> Any:
    producer = SimpleNamespace(key_partition=lambda topic, key: SimpleNamespace(partition=PARTITION_OF[key.decode()]))
    return SimpleNamespace(
        topics=SimpleNamespace(evaluations=SimpleNamespace(get_topic_name=lambda: TOPIC)),
        tables=SimpleNamespace(orgs=global_table(), competitors=global_table(),
                               ownership=global_table(ownership_written), contracts={}),
        instance="worker-a", express=FakeExpress(), pending=PendingWrites(), cache=WorldCache(),
        metrics=build_worker_metrics(registry), app=SimpleNamespace(producer=producer))


def change(key: str, party: str) -> WorldChange:
    return WorldChange(OWNERSHIP, key, Evidence(source="urn:test", id=f"{key}-{party}", type="t"), None, party)


async def test_a_batch_of_changes_goes_to_every_partition_in_bounded_requests() -> None:
    worker = fake_worker(CollectorRegistry(), ownership_written=41)
    await WorldRequests(worker).send([change(f"org-{i}", "meta") for i in range(150)])
    assert [(p, len(r["world"])) for p, r in worker.express.sent] == [(0, 100), (0, 50), (1, 100), (1, 50),
                                                                      (2, 100), (2, 50)]
    assert {(r["partition"], r["writer"], json.dumps(r["written"])) for p, r in worker.express.sent} == {
        (p, "worker-a", '{"ownership": 41}') for p in (0, 1, 2)}


def waited(registry: CollectorRegistry, table: str) -> tuple[float | None, float | None]:
    labels = {"table": table}
    return (registry.get_sample_value("vendorwatch_world_read_wait_seconds_count", labels),
            registry.get_sample_value("vendorwatch_world_read_wait_seconds_sum", labels))


async def test_the_evaluator_waits_for_another_workers_write_and_counts_a_wait_in_vain(monkeypatch) -> None:
    registry = CollectorRegistry()
    worker = fake_worker(registry)
    requests = WorldRequests(worker)
    theirs = [encode_world_request([change("holdco", "meta")], 0, {"ownership": 5}, "worker-b")]
    ownership = worker.tables.ownership.read_through
    ownership.advance(3)
    reading = asyncio.ensure_future(requests.read(decode(theirs)))
    await asyncio.sleep(0.02)
    assert not reading.done(), "offset 5 is not read yet"
    ownership.advance(5)
    await asyncio.wait_for(reading, 1)
    count, total = waited(registry, "ownership")
    assert count == 1 and total is not None and total >= 0.02, "the wait is observed"
    await requests.read(decode([encode_world_request([change("holdco", "meta")], 0, {"ownership": 99}, "worker-a")]))
    assert registry.get_sample_value("vendorwatch_world_read_timeouts_total", {"table": "ownership"}) == 0, \
        "its own writes are in its copy already"
    assert waited(registry, "ownership")[0] == 1, "nothing to wait for: nothing observed"
    assert waited(registry, "orgs") == (0, 0), "every table's series exists before its first wait"

    monkeypatch.setattr(world_requests, "READ_TIMEOUT_S", 0.05)
    await requests.read(decode([encode_world_request([change("holdco", "meta")], 0, {"ownership": 6}, "worker-b")]))
    assert registry.get_sample_value("vendorwatch_world_read_timeouts_total", {"table": "ownership"}) == 1
    count, total = waited(registry, "ownership")
    assert count == 2 and total is not None and total >= 0.07, "a wait in vain is observed too, at the timeout"


@pytest.mark.parametrize("partition, vendors", [(0, {"scale-ai"}), (1, {"turing"}), (2, {"holdco"})])
async def test_a_change_reaches_its_partitions_vendors_with_the_world_as_it_is_now(partition, vendors) -> None:
    worker = fake_worker(CollectorRegistry())
    requests = WorldRequests(worker)
    worker.cache.apply(OWNERSHIP, "scale-ai", {"holdco": dump(stated("scale-ai", "holdco", shareholding(30)))})
    assert requests.reach()(change("holdco", "meta"), partition) == vendors - {"turing"}
    # Turing's stake arrives from another worker's changelog: the next batch's reach has it.
    worker.cache.apply(OWNERSHIP, "turing", {"holdco": dump(stated("turing", "holdco", shareholding(10)))})
    assert requests.reach()(change("holdco", "meta"), partition) == vendors
