"""The dispatcher's durable delivery state: a compacted Kafka topic co-partitioned with the alerts topic.

Partition ``p`` of ``<dispatcher_group>-deliveries`` holds the deliveries of the alerts read from
partition ``p`` of ``vendorwatch.alerts``, so the dispatcher that owns an alerts partition (the consumer
group decides) owns its state partition too, and loads it when the partition is assigned: the same
pattern as a Kafka Streams / Faust changelog, without a local store.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from alerts.follow import by_key, read_topic
from alerts.receiver_state import RECEIVERS_CONFIG, receivers_topic
from alerts.record import Delivery, decode, encode
from schemas.registry import TOPIC_ALERTS, TOPIC_DEADLETTER
from streams.admin import ALERTS_DEADLETTER, TOPIC_ALREADY_EXISTS, ensure_topics, topic_partitions
from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)

# Compacted for the latest state of each delivery; deleted after 30 days so finished deliveries do not
# pile up forever (longer than any retry horizon, long enough for ``vendorwatch alerts show``).
STATE_CONFIG = {"cleanup.policy": "compact,delete", "retention.ms": str(30 * 86400 * 1000)}


def state_topic(settings: Settings) -> str:
    return f"{settings.dispatcher_group}-deliveries"


async def ensure_delivery_topics(settings: Settings) -> None:
    """The alerts topics (as the worker makes them), the silences and receiver-state topics, and the state
    topic with as many partitions as the alerts topic has, whatever ``topic_partitions`` says now."""
    await ensure_topics(settings, [TOPIC_ALERTS, ALERTS_DEADLETTER, TOPIC_DEADLETTER])
    partitions = len(await topic_partitions(settings, [TOPIC_ALERTS]))
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = {state_topic(settings): (partitions, STATE_CONFIG),
                  settings.silences_topic: (1, {"cleanup.policy": "compact"}),
                  receivers_topic(settings): (1, RECEIVERS_CONFIG)}
        missing = [NewTopic(name, n, settings.topic_replication, topic_configs=cfg)
                   for name, (n, cfg) in wanted.items() if name not in existing]
        if missing:
            response = await admin.create_topics(missing)
            for name, code, *_ in getattr(response, "topic_errors", ()):
                if code not in (0, TOPIC_ALREADY_EXISTS):
                    raise RuntimeError(f"could not create topic {name}: Kafka error code {code}")
    finally:
        await admin.close()


class DeliveryLog:
    """Writes deliveries to their partition of the state topic; reads a partition back on assignment."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer) -> None:
        self.settings = settings
        self.topic = state_topic(settings)
        self.producer = producer

    async def save(self, deliveries: Iterable[Delivery]) -> None:
        """Durable once this returns (acks=all): every write is awaited before anything depends on it."""
        futures = [await self.producer.send(self.topic, encode(d), key=d.key.encode(),
                                            partition=d.source.partition) for d in deliveries]
        for future in futures:
            await future

    async def load(self, partitions: Iterable[int]) -> list[Delivery]:
        """The latest state of every delivery in ``partitions`` (read from the start to the current end)."""
        tps = [TopicPartition(self.topic, p) for p in partitions]
        if not tps:
            return []
        latest: dict[str, Delivery] = {}
        consumer = AIOKafkaConsumer(**client_options(self.settings), enable_auto_commit=False,
                                    isolation_level="read_uncommitted")
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            remaining = {tp for tp in tps if ends[tp] > 0}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        _apply(latest, record.key, record.value)
                remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        finally:
            await consumer.stop()
        return list(latest.values())


def _apply(latest: dict[str, Delivery], key: bytes | None, value: bytes | None) -> None:
    if key is None:
        return
    if value is None:
        latest.pop(key.decode(), None)
        return
    try:
        latest[key.decode()] = decode(value)
    except (ValueError, TypeError, KeyError):
        log.warning("ignoring an unreadable delivery state record %r", key)


async def read_deliveries(settings: Settings) -> list[Delivery]:
    """The latest state of every delivery the state topic holds now (for the command line)."""
    latest: dict[str, Delivery] = {}
    await read_topic(settings, state_topic(settings), by_key(lambda k, v: _apply(latest, k, v)))
    return list(latest.values())
