"""Create the topics vendorwatch needs when they do not exist (EVENTS.md: the worker creates them)."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from schemas.registry import INPUT_TOPICS, TOPIC_ALERTS, TOPIC_DEADLETTER
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)

ALERTS_DEADLETTER = "vendorwatch.alerts.deadletter"
GLOBAL_TABLES = ("orgs", "competitors", "ownership")
PARTITIONED_TABLES = ("contracts", "alert-state", "shipments", "seen", "exposure")
COMPACTED = {"cleanup.policy": "compact"}


def internal_topic(settings: Settings, name: str) -> str:
    return f"{settings.app_id}-{name}"


def changelog_topic(settings: Settings, table: str) -> str:
    return f"{settings.app_id}-{table}-changelog"


def required_topics(settings: Settings) -> dict[str, dict[str, str]]:
    """Topic name -> topic configs. Changelogs are created here too, before Faust starts: a changelog
    Faust creates itself is missing from its producer's metadata until the next refresh, and the
    first write to the table then fails with PartitionsMismatch."""
    plain = [*INPUT_TOPICS, TOPIC_ALERTS, TOPIC_DEADLETTER, ALERTS_DEADLETTER,
             internal_topic(settings, "evaluations"), internal_topic(settings, "exposure-updates")]
    topics: dict[str, dict[str, str]] = {name: {} for name in plain}
    for table in (*GLOBAL_TABLES, *PARTITIONED_TABLES):
        topics[changelog_topic(settings, table)] = COMPACTED
    return topics


async def ensure_topics(settings: Settings) -> list[str]:
    """Create missing topics with the configured partitions; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id=f"{settings.app_id}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = required_topics(settings)
        missing = [t for t in wanted if t not in existing]
        if missing:
            await admin.create_topics([
                NewTopic(name=t, num_partitions=settings.topic_partitions,
                         replication_factor=settings.topic_replication, topic_configs=wanted[t])
                for t in missing
            ])
            log.info("created topics: %s", ", ".join(missing))
        return missing
    finally:
        await admin.close()
