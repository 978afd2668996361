"""A repeat sent right behind its original (so both arrive in one batch) changes nothing."""

from __future__ import annotations

import json
import secrets

import pytest
from aiokafka import AIOKafkaProducer

from schemas.registry import TOPIC_CONTRACTS
from vendorwatch.local import new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]


def signed(run: str, value: int) -> bytes:
    return json.dumps({"specversion": "1.0", "id": f"dup-{run}", "source": "urn:test:duplicates",
                       "type": "vendorwatch.contract.signed.v1",
                       "data": {"contract_id": f"c-{run}", "lab_id": f"lab-{run}", "vendor_id": f"vendor-{run}",
                                "annual_value_usd": value, "sensitivity": "internal"}}).encode()


async def test_a_repeat_in_the_same_batch_as_its_original_is_skipped(broker_settings, tmp_path):
    run = secrets.token_hex(4)
    secret = new_secret()
    async with webhook_sink(secret) as sink, running_stack(broker_settings, tmp_path, sink.url, secret) as stack:
        producer = AIOKafkaProducer(bootstrap_servers=broker_settings.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            key = f"vendor-{run}".encode()
            first = await producer.send(TOPIC_CONTRACTS, signed(run, 1000), key=key)
            repeat = await producer.send(TOPIC_CONTRACTS, signed(run, 99), key=key)
            await first
            await repeat
        finally:
            await producer.stop()
        await stack.wait_quiet()
        exposure = await stack.exposure(f"lab-{run}")
    assert [e["annual_value_usd"] for e in exposure["vendors"]] == [1000]
