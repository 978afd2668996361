"""Create the topics vendorwatch needs when they do not exist (EVENTS.md: the worker creates them)."""

from __future__ import annotations

import asyncio
import logging

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.registry import FACT_TOPICS, INPUT_TOPICS, TOPIC_ALERTS, TOPIC_DEADLETTER
from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)

ALERTS_DEADLETTER = "vendorwatch.alerts.deadletter"
GLOBAL_TABLES = ("orgs", "competitors", "ownership")
PARTITIONED_TABLES = ("contracts", "alert-state", "shipments", "seen", "shipments-seen", "exposure")
COMPACTED = {"cleanup.policy": "compact"}
KEPT = {"retention.ms": "-1"}
TOPIC_ALREADY_EXISTS = 36  # Kafka protocol error code
TOPICS_VISIBLE_S = 30.0
"""How long a created topic may take to appear in the broker's metadata (a moment, normally)."""


def internal_topic(settings: Settings, name: str) -> str:
    return f"{settings.app_id}-{name}"


def stream_topics(settings: Settings) -> list[str]:
    """Everything the worker's consumer group consumes and commits (changelogs are read, never committed)."""
    return [*INPUT_TOPICS, *(internal_topic(settings, n) for n in ("evaluations", "exposure-updates"))]


def changelog_topic(settings: Settings, table: str) -> str:
    return f"{settings.app_id}-{table}-changelog"


def partitions_of(settings: Settings, topic: str) -> int:
    """Global tables' changelogs have one partition (see streams/app.py); everything else the setting."""
    if topic in {changelog_topic(settings, t) for t in GLOBAL_TABLES}:
        return 1
    return settings.topic_partitions


def required_topics(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic name -> topic configs. Changelogs are created here too, before Faust starts: a changelog
    Faust creates itself is missing from its producer's metadata until the next refresh, and the
    first write to the table then fails with PartitionsMismatch."""
    plain = [*INPUT_TOPICS, TOPIC_ALERTS, TOPIC_DEADLETTER, ALERTS_DEADLETTER,
             internal_topic(settings, "evaluations"), internal_topic(settings, "exposure-updates")]
    topics: dict[str, dict[str, str]] = {name: {} for name in plain}
    for name in FACT_TOPICS:
        # The facts are the history replay and as-of queries fold (streams/history.py): low volume, kept.
        topics[name] = KEPT
    for table in (*GLOBAL_TABLES, *PARTITIONED_TABLES):
        topics[changelog_topic(settings, table)] = COMPACTED
    return topics


async def ensure_topics(settings: Settings, names: list[str] | None = None) -> list[str]:
    """Create missing topics (default: all the worker needs) with the configured partitions.

    Returns the names created. Another process creating one at the same moment is not an error.
    """
    wanted = required_topics(settings)
    if names is not None:
        wanted = {name: wanted.get(name, {}) for name in names}
    admin = AIOKafkaAdminClient(**client_options(settings), client_id=f"{settings.app_id}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t not in existing]
        if not missing:
            return []
        response = await admin.create_topics([
            NewTopic(name=t, num_partitions=partitions_of(settings, t),
                     replication_factor=settings.topic_replication, topic_configs=wanted[t])
            for t in missing
        ])
        for name, code, *_ in getattr(response, "topic_errors", ()):
            if code not in (0, TOPIC_ALREADY_EXISTS):
                raise RuntimeError(f"could not create topic {name}: Kafka error code {code}")
        await _until_visible(admin, missing)
        log.info("created topics: %s", ", ".join(missing))
        return missing
    finally:
        await admin.close()


async def _until_visible(admin: AIOKafkaAdminClient, topics: list[str]) -> None:
    """Wait until the broker describes every one of ``topics`` with a leader for each partition.

    CreateTopics answers once the controller has the topics; the broker's metadata can follow a moment
    later, and a describe or a commit in that moment fails with "unknown topic" (it did, right after a
    broker start, for the topics of a new app id).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TOPICS_VISIBLE_S
    while True:
        described = await admin.describe_topics(topics)
        ready = {t["topic"] for t in described if t["error_code"] == 0 and t["partitions"]
                 and all(p["leader"] >= 0 for p in t["partitions"])}
        if ready >= set(topics):
            return
        if loop.time() > deadline:
            raise TimeoutError(f"topics created but not visible after {TOPICS_VISIBLE_S:g}s: "
                               f"{', '.join(sorted(set(topics) - ready))}")
        await asyncio.sleep(0.1)


async def start_group_at_end(settings: Settings, group_id: str, topics: list[str]) -> None:
    """Commit ``group_id``'s offsets at the current end of ``topics``.

    A new consumer group then sees only what is published from now on, whatever older records the
    topics hold (the demo and the end-to-end tests share one broker with everything before them).
    """
    partitions = await topic_partitions(settings, topics)
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=group_id,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        await consumer.commit(dict(ends))
    finally:
        await consumer.stop()


async def group_lag(settings: Settings, group_id: str, topics: list[str]) -> int:
    """Records in ``topics`` not yet committed by ``group_id`` (a partition it never committed counts whole)."""
    partitions = await topic_partitions(settings, topics)
    admin = AIOKafkaAdminClient(**client_options(settings))
    consumer = AIOKafkaConsumer(**client_options(settings), enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group_id)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        lag = 0
        for tp in partitions:
            done = committed[tp].offset if tp in committed else starts[tp]
            lag += max(0, ends[tp] - done)
        return lag
    finally:
        await consumer.stop()
        await admin.close()


async def wait_caught_up(settings: Settings, group_id: str, topics: list[str], *, timeout: float = 60.0,
                         poll: float = 0.5) -> None:
    """Return once ``group_id`` has committed everything in ``topics`` twice in a row; raise on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    quiet = 0
    while quiet < 2:
        if loop.time() > deadline:
            raise TimeoutError(f"consumer group {group_id} did not catch up on {', '.join(topics)} in {timeout}s")
        quiet = quiet + 1 if await group_lag(settings, group_id, topics) == 0 else 0
        await asyncio.sleep(poll)


async def topic_partitions(settings: Settings, topics: list[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(**client_options(settings))
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], partition["partition"])
        for topic in described if topic["error_code"] == 0
        for partition in topic["partitions"]
    ]
    missing = set(topics) - {tp.topic for tp in partitions}
    if missing:
        raise LookupError(f"topics not found: {', '.join(sorted(missing))}")
    return sorted(partitions)
