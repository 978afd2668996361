"""The dispatcher against a real Kafka broker and a real verifying webhook receiver.

Other tests write to ``vendorwatch.alerts`` too, so every assertion is about ids this test produced;
each test uses its own dispatcher group so it reads the topic from the start on its own.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from alerts.dispatcher import TOPIC_ALERTS_DEADLETTER, Dispatcher, ensure_topics
from schemas import Alert, Exposure, Influence, encode_structured, new_event
from schemas.registry import TOPIC_ALERTS, TOPIC_DEADLETTER
from tests.support.webhook_sink import WebhookSink, webhook_sink
from vendorwatch.settings import Settings, load_settings

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

BOOTSTRAP = os.environ.get("VENDORWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
SECRET = "whsec_" + base64.b64encode(b"broker-test-secret-32-bytes-long").decode()


@pytest.fixture(scope="module", autouse=True)
def broker() -> None:
    host, _, port = BOOTSTRAP.split(",")[0].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        pytest.skip(f"no Kafka broker at {BOOTSTRAP} (bash deploy/local/kafka.sh start)")


def settings_for(sink: WebhookSink, group: str) -> Settings:
    return load_settings(
        {
            "VENDORWATCH_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "VENDORWATCH_WEBHOOK_URL": sink.url,
            "VENDORWATCH_WEBHOOK_SECRET": SECRET,
            "VENDORWATCH_ALLOW_INSECURE_HOSTS": "127.0.0.1",
            "VENDORWATCH_DISPATCHER_GROUP": group,
            "VENDORWATCH_RETRY_SCHEDULE": "0.05s,0.2s",
            "VENDORWATCH_RETRY_HORIZON_S": "30",
            "VENDORWATCH_DELIVERY_TIMEOUT_S": "5",
        }
    )


def alert_event(run: str, n: int, lab: str):
    alert = Alert(
        alert_id=f"{run}-{n}",
        sequence=1,
        status="firing",
        transition="opened",
        severity="critical",
        lab_id=lab,
        vendor_id="scale-ai",
        competitor_id="meta",
        influence=Influence(economic_share=49.0, voting_share=49.0),
        exposure=Exposure(annual_value_usd=1e6, data_classes=("training_data",), sensitivity="restricted"),
        summary=f"Meta holds 49% of Scale AI, a vendor of {lab}.",
    )
    return new_event(id=f"{run}-evt-{n}", source="vendorwatch/test", type="vendorwatch.alert.v1", data=alert)


async def end_offsets(topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not tps:
            await consumer._client.force_metadata_update()
            tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return await consumer.end_offsets(tps)
    finally:
        await consumer.stop()


async def read_from(offsets: dict[TopicPartition, int], want, timeout: float = 20.0) -> list:
    """Records written after ``offsets`` for which ``want(record)`` holds, until one is found or timeout."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    found: list = []
    try:
        consumer.assign(list(offsets))
        for tp, offset in offsets.items():
            consumer.seek(tp, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not found and loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [r for records in batch.values() for r in records if want(r)]
        return found
    finally:
        await consumer.stop()


async def produce(events, extra: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(TOPIC_ALERTS, encode_structured(event), key=event.key.encode())
        if extra is not None:
            await producer.send_and_wait(TOPIC_ALERTS, extra, key=b"google")
    finally:
        await producer.stop()


async def run_until(dispatcher: Dispatcher, wait) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        await wait
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def test_delivers_each_alert_once_verified_retrying_failures_and_dead_lettering_garbage() -> None:
    run = f"t{uuid.uuid4().hex[:12]}"
    group = f"vendorwatch-test-{run}"
    labs = ("google", "openai", "anthropic", "xai")
    events = [alert_event(run, n, lab) for n, lab in enumerate(labs)]
    ids = {e.id for e in events}
    flaky = events[1].id
    garbage = f"not a cloudevent {run}".encode()

    async with webhook_sink(SECRET) as sink:
        settings = settings_for(sink, group)
        await ensure_topics(settings, [TOPIC_ALERTS, TOPIC_ALERTS_DEADLETTER, TOPIC_DEADLETTER])
        deadletter_start = await end_offsets(TOPIC_DEADLETTER)
        sink.fail(flaky, 2)

        await produce(events, extra=garbage)

        registry = CollectorRegistry()
        await run_until(Dispatcher(settings, registry), sink.wait_for(ids, timeout=60))

        ours = [d for d in sink.deliveries if d.webhook_id in ids]
        assert sorted(d.webhook_id for d in ours) == sorted(ids)  # each exactly once, no duplicates
        for delivery in ours:
            assert delivery.body["id"] == delivery.webhook_id
            assert delivery.body["type"] == "vendorwatch.alert.v1"
            assert delivery.body["data"]["alert_id"].startswith(run)
        assert sink.attempts[flaky] == 3  # two 503s, then delivered under the same webhook-id
        assert next(d for d in ours if d.webhook_id == flaky).attempt == 3

        (dead,) = await read_from(deadletter_start, lambda r: r.value == garbage)
        headers = {k: v.decode() for k, v in dead.headers}
        assert headers["vw-source-topic"] == TOPIC_ALERTS
        assert "not JSON" in headers["vw-reason"]

        # Offsets were committed: the same group, started again, delivers only newer alerts. The new ones
        # share the old ones' keys (so partitions); partition order means an uncommitted old alert would
        # arrive before its new neighbour.
        delivered_before = len(sink.deliveries)
        later = [alert_event(f"{run}-later", n, lab) for n, lab in enumerate(labs)]
        await produce(later)
        await run_until(
            Dispatcher(settings, CollectorRegistry()), sink.wait_for({e.id for e in later}, timeout=60)
        )
        assert [d for d in sink.deliveries[delivered_before:] if d.webhook_id in ids] == []
