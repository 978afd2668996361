"""The shipment lane's table writes leave through their own producer; the other tables' through Faust's.

On the real broker: a write to the shipment totals is queued on the lane's producer (Faust's buffer, which
the alert path's writes go through, stays empty), is tracked until acknowledged, and lands in the table's
changelog; a write to another table goes through Faust's producer as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiokafka.errors import KafkaError

from schemas.registry import TOPIC_CONTRACTS, TOPIC_DATA_SHARES
from streams.admin import changelog_topic, ensure_topics
from streams.app import Worker, create_app
from streams.current import as_current
from streams.lane import LaneRecord
from tests.streams.test_shipment_batches_broker import read_all
from vendorwatch.local import free_port
from vendorwatch.settings import Settings, load_settings

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


async def read_changelog(settings: Settings, table: str) -> dict[bytes, bytes]:
    records = await read_all(settings, changelog_topic(settings, table))
    return {r.key: r.value for r in records if r.key is not None and r.value is not None}


async def started(worker: Worker) -> Any:
    # What the running worker does first (streams.app: load_routing_metadata): a write to a table keyed
    # by vendor is partitioned with Faust's producer's metadata of its changelog.
    producer: Any = await worker.app.maybe_start_producer()
    for table in ("shipments", "contracts"):
        await producer._ensure_producer().partitions_for(changelog_topic(worker.settings, table))
    return producer


@contextlib.asynccontextmanager
async def producers(broker_settings: Settings, tmp_path: Any) -> AsyncIterator[tuple[Worker, Any]]:
    """A worker of its own app id with Faust's producer and the lane's started (and stopped after)."""
    settings = broker_settings.model_copy(update={"app_id": f"bulk-{secrets.token_hex(4)}", "data_dir": tmp_path})
    await ensure_topics(settings)
    worker = create_app(settings)
    faust_producer = await started(worker)
    await worker.bulk.start()
    try:
        yield worker, faust_producer
    finally:
        await worker.bulk.stop()
        await faust_producer.stop()


async def test_lane_writes_queue_on_their_own_producer_and_reach_the_changelog(broker_settings: Settings,
                                                                             tmp_path: Any) -> None:
    vendor = f"bulk-vendor-{secrets.token_hex(3)}"
    async with producers(broker_settings, tmp_path) as (worker, faust_producer):
        as_current(LaneRecord(TOPIC_DATA_SHARES, 0, 7, vendor.encode(), b"[]", [], 0.0))
        worker.tables.shipments[vendor] = {"lab-a": {"shipments": 3, "records": 9, "bytes": 12, "data_classes": []}}
        assert faust_producer.buffer.size == 0, "a lane write was queued behind the alert path's"
        assert len(worker.pending) == 1, "the lane write is tracked until acknowledged"
        await asyncio.wait_for(worker.pending.settled(), 30)

        as_current(LaneRecord(TOPIC_CONTRACTS, 0, 3, vendor.encode(), b"{}", [], 0.0))
        worker.tables.contracts[vendor] = {"contract-1": {"lab_id": "lab-a"}}
        assert faust_producer.buffer.size == 1, "another table's write goes through Faust's producer"
        await asyncio.wait_for(worker.pending.settled(), 30)

        shipments = await read_changelog(worker.settings, "shipments")
        contracts = await read_changelog(worker.settings, "contracts")
        assert vendor.encode() in shipments and b'"shipments":3' in shipments[vendor.encode()].replace(b" ", b"")
        assert vendor.encode() in contracts


async def test_a_lane_producer_that_cannot_start_fails_loudly(tmp_path: Any) -> None:
    # No broker behind the port. The lane's task starts the producer before its first batch, so this
    # failure ends the task and the worker (Faust crashes on a failed app task) instead of leaving the
    # lane's writes queued, unacknowledged, with the lane waiting for them.
    settings = load_settings({"VENDORWATCH_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
                              "VENDORWATCH_DATA_DIR": str(tmp_path)})
    worker = create_app(settings)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(worker.bulk.start(), 60)


async def test_lane_writes_share_batches_and_reach_the_changelog_in_the_order_made(broker_settings: Settings,
                                                                                  tmp_path: Any) -> None:
    run = secrets.token_hex(3)
    keys = [f"batched-{run}-{n}" for n in range(5)]
    async with producers(broker_settings, tmp_path) as (worker, faust_producer):
        for n in range(300):  # 300 writes to 5 keys (each key's changelog partition is its hash's)
            as_current(LaneRecord(TOPIC_DATA_SHARES, n % 2, n, b"v", b"[]", [], 0.0))
            worker.tables.shipments[keys[n % 5]] = {"lab-a": {"shipments": n, "records": n, "bytes": n,
                                                              "data_classes": []}}
        assert faust_producer.buffer.size == 0 and 1 <= len(worker.pending) <= 5, "one batch per partition"
        as_current(LaneRecord(TOPIC_DATA_SHARES, 0, 300, b"v", b"[]", [], 0.0))
        big = {"lab-a": {"shipments": 1, "records": 1, "bytes": 1, "data_classes": ["x" * 300_000]}}
        worker.tables.shipments[keys[0]] = big  # larger than a batch (BULK_BATCH_BYTES): a batch of its own
        del worker.tables.shipments[keys[2]]  # a tombstone
        await asyncio.wait_for(worker.pending.settled(), 30)
        assert not len(worker.pending)

        records = [r for r in await read_all(worker.settings, changelog_topic(worker.settings, "shipments"))
                   if r.key is not None and r.key.decode().startswith(f"batched-{run}-")]
        assert len(records) == 302
        last = {r.key.decode(): r.value for r in sorted(records, key=lambda r: (r.partition, r.offset))}
        assert last[keys[2]] is None, "the delete is the key's last record"
        assert len(last[keys[0]] or b"") > 300_000
        for n in (296, 298, 299):  # each other key's last record is the last write made to it
            assert b'"shipments":%d' % n in (last[keys[n % 5]] or b"").replace(b" ", b"")
        assert all(not r.headers for r in records), "no headers, as Faust writes a changelog record"
