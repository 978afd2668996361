"""Malformed records land in the dead-letter topic with reasons; valid events around them are processed."""

from __future__ import annotations

import json
import secrets

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.registry import TOPIC_CONTRACTS, TOPIC_DEADLETTER, TOPIC_ORGS
from streams import deadletter as dl
from streams.admin import topic_partitions
from vendorwatch.local import new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]


def contract(run: str, n: int, **data_overrides) -> dict:
    data = {"contract_id": f"c{n}-{run}", "lab_id": f"lab-{run}", "vendor_id": f"vendor-{run}",
            "annual_value_usd": 1000 * n, "sensitivity": "confidential", **data_overrides}
    return {"specversion": "1.0", "id": f"dl-{run}-{n}", "source": "urn:test:deadletter",
            "type": "vendorwatch.contract.signed.v1", "data": data}


def encode(obj) -> bytes:
    return json.dumps(obj).encode()


async def end_offsets(settings, topic):
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        partitions = await topic_partitions(settings, [topic])
        return partitions, await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def read_from(settings, starts: dict[TopicPartition, int]):
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(starts))
        for tp, offset in starts.items():
            consumer.seek(tp, offset)
        batches = await consumer.getmany(timeout_ms=3000)
        return [record for records in batches.values() for record in records]
    finally:
        await consumer.stop()


async def test_bad_records_are_dead_lettered_and_good_ones_processed(broker_settings, tmp_path):
    run = secrets.token_hex(4)
    vendor = f"vendor-{run}"
    _, dl_starts = await end_offsets(broker_settings, TOPIC_DEADLETTER)
    bad = {
        "not json": (TOPIC_CONTRACTS, b"\x00this is not json{", []),
        "unknown type": (TOPIC_CONTRACTS, encode({**contract(run, 90), "type": "vendorwatch.contract.sold.v1"}), []),
        "wrong field type": (TOPIC_CONTRACTS, encode(contract(run, 91, annual_value_usd="lots")), []),
        "missing field": (TOPIC_CONTRACTS, encode({**contract(run, 92), "data": {"contract_id": "x"}}), []),
        "wrong topic": (TOPIC_ORGS, encode(contract(run, 93)), []),
        "binary, bad data": (TOPIC_CONTRACTS, encode({"contract_id": "y"}), [
            ("ce_specversion", b"1.0"), ("ce_id", f"dl-{run}-94".encode()), ("ce_source", b"urn:test"),
            ("ce_type", b"vendorwatch.contract.signed.v1"), ("content-type", b"application/json")]),
    }
    good_binary_data = contract(run, 3)["data"]
    good = [
        (TOPIC_CONTRACTS, encode(contract(run, 1)), []),
        (TOPIC_CONTRACTS, encode(contract(run, 2)), []),
        (TOPIC_CONTRACTS, encode(good_binary_data), [
            ("ce_specversion", b"1.0"), ("ce_id", f"dl-{run}-3".encode()), ("ce_source", b"urn:test:binary"),
            ("ce_type", b"vendorwatch.contract.signed.v1"), ("content-type", b"application/json")]),
    ]
    secret = new_secret()
    async with webhook_sink(secret) as sink, running_stack(broker_settings, tmp_path, sink.url, secret) as stack:
        producer = AIOKafkaProducer(bootstrap_servers=broker_settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            sent = {}
            # Bad records interleaved with good ones, all on the vendor's partition.
            sequence = [good[0], *list(bad.values())[:3], good[1], *list(bad.values())[3:], good[2]]
            names = {id(v): k for k, v in bad.items()}
            for item in sequence:
                topic, value, headers = item
                meta = await producer.send_and_wait(topic, value, key=vendor.encode(), headers=headers)
                if id(item) in names:
                    sent[names[id(item)]] = meta
            # A repeat of a good event (same source and id) changes nothing.
            await producer.send_and_wait(TOPIC_CONTRACTS, encode({**contract(run, 1),
                                         "data": {**contract(run, 1)["data"], "annual_value_usd": 99}}),
                                         key=vendor.encode())
        finally:
            await producer.stop()
        await stack.wait_quiet()
        exposure = await stack.exposure(f"lab-{run}")
        records = await read_from(broker_settings, dl_starts)

    entries = exposure["vendors"]
    assert [e["vendor_id"] for e in entries] == [vendor]
    assert entries[0]["contract_ids"] == [f"c1-{run}", f"c2-{run}", f"c3-{run}"]
    assert entries[0]["annual_value_usd"] == 6000, "the duplicate's different value was not applied"

    by_origin = {}
    for record in records:
        headers = dict(record.headers)
        key = (headers[dl.SOURCE_TOPIC].decode(), int(headers[dl.SOURCE_PARTITION]), int(headers[dl.SOURCE_OFFSET]))
        by_origin[key] = (record, headers)
    expected_reason = {
        "not json": "not JSON",
        "unknown type": "unknown event type 'vendorwatch.contract.sold.v1'",
        "wrong field type": "data.annual_value_usd",
        "missing field": "data.lab_id: Field required",
        "wrong topic": "belong on topic vendorwatch.contracts",
        "binary, bad data": "data.lab_id: Field required",
    }
    for name, meta in sent.items():
        record, headers = by_origin[(meta.topic, meta.partition, meta.offset)]
        assert record.value == bad[name][1], f"{name}: original bytes kept"
        assert expected_reason[name] in headers[dl.REASON].decode(), (name, headers[dl.REASON])
