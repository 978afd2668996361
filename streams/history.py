"""The retained fact topics as history: read them into ``Fact``s and fold them as of a moment.

The input topics are the record of what happened and when, so an as-of answer (a worker's
``?as_of=``, ``vendorwatch replay``) is the same whichever process gives it and whatever its tables hold.
Only ``vendorwatch.orgs``, ``.ownership`` and ``.contracts`` are read: low volume, and all that exposure
and conflicts depend on (``streams/timeline.py``). The worker creates them with unlimited retention
(``streams/admin.py``); history cut by a retention limit shows in ``truncated``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import ConsumerRecord

from alerts.policy import Policy
from schemas.api import LabExposure
from schemas.cloudevents import decode_record
from schemas.errors import InvalidEvent
from schemas.registry import FACT_TOPICS
from streams.admin import topic_partitions
from streams.deadletter import header_pairs
from streams.paths import Limits
from streams.timeline import Fact, fact_of, fold
from vendorwatch.settings import Settings

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 120.0
FETCH_MAX_RECORDS = 5000


class FactLog:
    """The facts read so far and where reading stopped; ``catch_up`` reads only what was added since.

    A worker keeps one for its as-of queries: a read-through copy of the topics, the same on every
    worker, not state of its own. ``group_id`` (replay): commit the offsets read up to under that group.
    """

    def __init__(self, settings: Settings, *, group_id: str | None = None) -> None:
        self._settings = settings
        self._group_id = group_id
        self._lock = asyncio.Lock()
        self.facts: list[Fact] = []
        self.positions: dict[TopicPartition, int] = {}
        self.unreadable = 0
        """Records the worker dead-letters (not a CloudEvent, wrong topic, invalid data)."""
        self.truncated: dict[TopicPartition, int] = {}
        """Partitions whose first offsets were deleted by retention: history before them is lost."""
        self.retention: dict[str, int] | None = None
        """Fact topics that delete records (topic -> retention.ms), checked on the first read. A topic the
        broker created itself, because a producer published before any worker ran, has the broker's default."""

    async def catch_up(self, timeout: float = READ_TIMEOUT_S) -> dict[TopicPartition, int]:
        """Read every record up to the topics' ends as they are now; returns those ends."""
        async with self._lock:
            consumer = AIOKafkaConsumer(bootstrap_servers=self._settings.kafka_bootstrap, group_id=self._group_id,
                                        enable_auto_commit=False, auto_offset_reset="earliest")
            await consumer.start()
            try:
                if self.retention is None:
                    self.retention = await finite_retention(self._settings)
                    for topic, ms in sorted(self.retention.items()):
                        log.warning("%s deletes records after %s (retention.ms=%d): as-of answers and replays "
                                    "lose the history before that; see docs/replay.md", topic, _days(ms), ms)
                ends = await self._read(consumer, timeout)
                if self._group_id is not None:
                    await consumer.commit(ends)
                return ends
            finally:
                await consumer.stop()

    async def exposure_as_of(self, lab_id: str, moment: datetime, limits: Limits, policy: Policy) -> LabExposure:
        """What the lab's exposure and conflicts were at ``moment``, from everything published until now."""
        await self.catch_up()
        facts = list(self.facts)
        # The fold is CPU work; off the event loop, a worker's agents keep running meanwhile.
        return await asyncio.to_thread(_exposure, facts, lab_id, moment, limits, policy)

    async def _read(self, consumer: AIOKafkaConsumer, timeout: float) -> dict[TopicPartition, int]:
        partitions = await topic_partitions(self._settings, list(FACT_TOPICS))
        consumer.assign(partitions)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
        starts: dict[TopicPartition, int] = await consumer.beginning_offsets(partitions)
        self.truncated = {tp: start for tp, start in starts.items() if start > 0}
        pending = set()
        for tp in partitions:
            position = max(self.positions.get(tp, 0), starts[tp])
            self.positions[tp] = position
            if position < ends[tp]:
                consumer.seek(tp, position)
                pending.add(tp)
        deadline = asyncio.get_running_loop().time() + timeout
        while pending:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"reading {', '.join(FACT_TOPICS)} took more than {timeout}s")
            batch = await consumer.getmany(*pending, timeout_ms=500, max_records=FETCH_MAX_RECORDS)
            for tp, records in batch.items():
                self._add(tp, (r for r in records if r.offset < ends[tp]))
            for tp in list(pending):
                # The position, not the last offset: compaction and transaction markers leave gaps.
                self.positions[tp] = min(await consumer.position(tp), ends[tp])
                if self.positions[tp] >= ends[tp]:
                    pending.discard(tp)
        return ends

    def _add(self, tp: TopicPartition, records: Iterable[ConsumerRecord]) -> None:
        for record in records:
            try:
                event = decode_record(record.value, header_pairs(record.headers))
            except InvalidEvent:
                self.unreadable += 1
                continue
            if event.spec.topic != tp.topic:
                self.unreadable += 1
                continue
            self.facts.append(fact_of(event, tp.topic, tp.partition, record.offset, record.timestamp))


async def finite_retention(settings: Settings) -> dict[str, int]:
    """The fact topics whose records are deleted after a time: topic -> retention.ms."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": None}) for topic in FACT_TOPICS])
    finally:
        await admin.close()
    found: dict[str, int] = {}
    for response in responses:
        for error_code, _, _, topic, entries in response.resources:
            values = [int(value) for name, value, *_ in entries if name == "retention.ms" and value is not None]
            if error_code == 0 and values and values[0] >= 0:
                found[topic] = values[0]
    return found


def _days(ms: int) -> str:
    return f"{ms / 86_400_000:g} days"


def _exposure(facts: list[Fact], lab_id: str, moment: datetime, limits: Limits, policy: Policy) -> LabExposure:
    return fold(facts, moment, limits=limits, policy=policy, labs={lab_id}).exposure_at(lab_id, moment)
