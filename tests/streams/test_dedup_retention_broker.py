"""Through a real worker with a short retention: a repeat inside the window changes nothing; once the
original's seen chunk has expired (a tombstone on the changelog), the same event counts again."""

from __future__ import annotations

import asyncio
import json
import re
import secrets

import pytest
from aiokafka import AIOKafkaProducer

from schemas.registry import DATA_SHARED, TOPIC_DATA_SHARES
from streams.admin import changelog_topic
from streams.shipments import lab_totals
from tests.streams.test_shipment_batches_broker import read_all
from vendorwatch.local import new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]
RETENTION_S = 8.0


def shipment(run: str, records: int) -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"ret-{run}", "source": "urn:test:retention", "type": DATA_SHARED,
                       "data": {"lab_id": f"lab-{run}", "vendor_id": f"vendor-{run}", "contract_id": f"c-{run}",
                                "records": records, "bytes": 10, "data_class": "training_data",
                                "sensitivity": "internal"}}).encode()


def expired(metrics: str) -> float:
    found = re.search(r"^vendorwatch_dedup_expired_total (\S+)$", metrics, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_a_repeat_counts_again_only_once_its_original_has_expired(broker_settings, tmp_path, store):
    run = secrets.token_hex(4)
    key, secret = f"vendor-{run}".encode(), new_secret()
    async with (webhook_sink(secret) as sink,
                running_stack(broker_settings, tmp_path, sink.url, secret,
                              extra={"shipment_dedup_retention_s": RETENTION_S, "table_store": store}) as stack):
        producer = AIOKafkaProducer(bootstrap_servers=broker_settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(TOPIC_DATA_SHARES, shipment(run, 5), key=key)
            await producer.send_and_wait(TOPIC_DATA_SHARES, shipment(run, 5), key=key)  # well inside the window
            await stack.wait_quiet()
            for _ in range(60):  # bounded: the expiry runs every second once the window has passed
                if expired(await stack.metrics()) >= 1:
                    break
                await asyncio.sleep(0.5)
            await producer.send_and_wait(TOPIC_DATA_SHARES, shipment(run, 5), key=key)  # after it
            await stack.wait_quiet()
        finally:
            await producer.stop()
        metrics = await stack.metrics()
        totals = await read_all(broker_settings, changelog_topic(stack.settings, "shipments"))
        chunks = await read_all(broker_settings, changelog_topic(stack.settings, "shipments-seen"))

    latest = {r.key.decode(): json.loads(r.value) for r in totals}
    assert lab_totals(latest[f"vendor-{run}"])[f"lab-{run}"]["shipments"] == 2, "once inside the window, once after"
    assert expired(metrics) >= 1
    assert any(r.value is None for r in chunks), "the expired chunk's tombstone"
    assert re.search(r"^vendorwatch_events_duplicate_total\{topic=\"vendorwatch.data-shares\"\} 1.0$", metrics,
                     re.MULTILINE)
