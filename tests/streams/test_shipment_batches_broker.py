"""Batch records on the shipment topic, through a real worker: each event applied once, a bad one dead-lettered
alone with its index, a duplicate (in another record) skipped, also in a record the digest process passed
whole, an event keyed to another vendor re-keyed."""

from __future__ import annotations

import json
import secrets

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.batch import BATCH_CONTENT_TYPE
from schemas.registry import DATA_SHARED, TOPIC_DATA_SHARES, TOPIC_DEADLETTER
from streams import deadletter as dl
from streams.admin import changelog_topic, topic_partitions
from streams.intake import BATCH_INDEX
from streams.shipments import lab_totals
from vendorwatch.local import new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]
BATCH = [("content-type", BATCH_CONTENT_TYPE.encode())]


def shipment(run: str, n: int, vendor: str, records: int | str = 10) -> dict:
    return {"specversion": "1.0", "id": f"sb-{run}-{n}", "source": "urn:test:batches", "type": DATA_SHARED,
            "data": {"lab_id": f"lab-{run}", "vendor_id": vendor, "contract_id": f"c-{run}", "records": records,
                     "bytes": 100, "data_class": "training_data", "sensitivity": "internal"}}


async def read_all(settings, topic, starts=None):
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(settings, [topic])
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, (starts or {}).get(tp, 0))
        ends = await consumer.end_offsets(partitions)
        records = []
        for _ in range(200):  # bounded: the topic is small and complete when we read it
            if all([await consumer.position(tp) >= ends[tp] for tp in partitions]):
                break
            for batch in (await consumer.getmany(timeout_ms=2000)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def test_batch_records_apply_each_event_once(broker_settings, tmp_path):
    run = secrets.token_hex(4)
    vendor, other = f"vendor-{run}", f"other-{run}"
    dl_consumer = AIOKafkaConsumer(bootstrap_servers=broker_settings.kafka_bootstrap)
    await dl_consumer.start()
    try:
        dl_partitions = await topic_partitions(broker_settings, [TOPIC_DEADLETTER])
        dl_starts = await dl_consumer.end_offsets(dl_partitions)
    finally:
        await dl_consumer.stop()
    bad = shipment(run, 2, vendor, records="many")
    records = [
        ([shipment(run, 1, vendor, 1), bad, shipment(run, 3, vendor, 3)], BATCH),
        (shipment(run, 4, vendor, 4), []),
        ([shipment(run, 1, vendor, 1), shipment(run, 5, vendor, 5), shipment(run, 6, other, 6)], BATCH),
        ([shipment(run, 7, vendor, 7)], []),  # an array without the batch content type: not an event
        # Every event valid (digested in the worker's digest process), one a repeat of another record's.
        ([shipment(run, 8, vendor, 8), shipment(run, 4, vendor, 4)], BATCH),
    ]
    secret = new_secret()
    async with webhook_sink(secret) as sink, running_stack(broker_settings, tmp_path, sink.url, secret) as stack:
        producer = AIOKafkaProducer(bootstrap_servers=broker_settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            sent = [await producer.send_and_wait(TOPIC_DATA_SHARES, json.dumps(value).encode(), key=vendor.encode(),
                                                 headers=headers) for value, headers in records]
        finally:
            await producer.stop()
        await stack.wait_quiet()
        changelog = await read_all(broker_settings, changelog_topic(stack.settings, "shipments"))
        dead = await read_all(broker_settings, TOPIC_DEADLETTER, dl_starts)

    latest = {r.key.decode(): json.loads(r.value) for r in changelog}
    assert lab_totals(latest[vendor]) == {f"lab-{run}": {"shipments": 5, "records": 1 + 3 + 4 + 5 + 8, "bytes": 500,
                                                         "data_classes": ["training_data"]}}
    assert lab_totals(latest[other])[f"lab-{run}"]["records"] == 6, "the event keyed to another vendor was re-keyed"

    ours = [r for r in dead if dict(r.headers).get(dl.SOURCE_TOPIC) == TOPIC_DATA_SHARES.encode()
            and r.key == vendor.encode()]
    by_offset = {int(dict(r.headers)[dl.SOURCE_OFFSET]): r for r in ours}
    item = by_offset[sent[0].offset]
    assert json.loads(item.value) == bad
    assert dict(item.headers)[BATCH_INDEX] == b"1"
    assert dict(item.headers)[dl.REASON].decode().startswith("data.records: Input should be a valid integer")
    whole = by_offset[sent[3].offset]
    assert whole.value == json.dumps(records[3][0]).encode() and BATCH_INDEX not in dict(whole.headers)
    assert len(ours) == 2
