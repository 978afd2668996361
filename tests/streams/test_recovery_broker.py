"""After a (re)start, every record past the committed offsets reaches the agent (streams/recovery.py).

Faust's own recovery resumed the stream partitions before seeking them to their committed offsets, then
cleared the agents' queues: what the fetcher handed out during the seek was dropped and, taken for a gap,
committed as processed. The seek's committed-offset lookups are slow after a restart (one broker round
trip per assigned partition); here a pause after the real seek stands in for the partitions still being
looked up, so the window is wide on every run, and the agent is slow, so records wait in its queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.admin import ensure_topics, wait_caught_up
from streams.recovery import SeekFirstTableManager
from tests.support.records import publish_numbered
from vendorwatch.brokers import client_options
from vendorwatch.settings import Settings

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

PARTITIONS = 2
RECORDS = 120  # per partition
COMMITTED = 20  # per partition, before the worker starts: the records it must process are those after
SEEK_PAUSE_S = 1.0
PER_RECORD_S = 0.01
TABLE = "state"


def changelog(group: str) -> str:
    return f"{group}-{TABLE}-changelog"


async def backlog(settings: Settings, topic: str, group: str) -> None:
    """RECORDS per partition on ``topic``, ``group`` committed at COMMITTED, and an entry in the table's
    changelog (a worker with state to recover starts its fetcher before the stream partitions are seeked)."""
    await ensure_topics(settings.model_copy(update={"topic_partitions": PARTITIONS}), [topic, changelog(group)])
    producer = AIOKafkaProducer(**client_options(settings), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(changelog(group), b'"1"', key=b'"k"', partition=0)
    finally:
        await producer.stop()
    await publish_numbered(settings, topic, PARTITIONS, RECORDS)
    consumer = AIOKafkaConsumer(**client_options(settings), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.commit({tp: COMMITTED for tp in partitions})
    finally:
        await consumer.stop()


def worker_app(settings: Settings, group: str, topic: str, seen: set[tuple[int, int]], datadir: Path) -> Any:
    app = faust.App(group, datadir=str(datadir), broker=f"kafka://{settings.kafka_bootstrap}", store="memory://",
                    TableManager=SeekFirstTableManager, web_enabled=False, autodiscover=False,
                    topic_partitions=PARTITIONS, broker_commit_interval=0.2, logging_config=None)
    # A table with an entry to recover: the path a restarted worker takes.
    app.Table(TABLE, partitions=PARTITIONS)
    source = app.topic(topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    @app.agent(source)
    async def slow(stream: Any) -> None:
        async for event in stream.events():
            seen.add((event.message.partition, event.message.offset))
            await asyncio.sleep(PER_RECORD_S)

    return app


def slow_seek(app: Any, seen: set[tuple[int, int]]) -> list[int]:
    """Stretch the seek to committed offsets; returns, per seek, how many records the agent had by its end."""
    consumer = app.consumer
    seek = consumer.seek_to_committed
    handed_out: list[int] = []

    async def seek_then_pause() -> Any:
        offsets = await seek()
        # The other partitions' committed offsets, still being looked up: long enough for the fetcher to
        # hand the agent records if it may (it may not: then this waits the whole pause).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until(lambda: bool(seen)), SEEK_PAUSE_S)
        handed_out.append(len(seen))
        return offsets

    consumer.seek_to_committed = seek_then_pause
    return handed_out


async def until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.02)


async def test_records_fetched_while_partitions_are_positioned_are_not_dropped(broker_settings, tmp_path) -> None:
    run = secrets.token_hex(4)
    topic, group = f"recovery-{run}", f"recovery-{run}"
    await backlog(broker_settings, topic, group)
    seen: set[tuple[int, int]] = set()
    app = worker_app(broker_settings, group, topic, seen, tmp_path)
    handed_out = slow_seek(app, seen)
    await app.start()
    try:
        await asyncio.wait_for(until(app.tables.recovery.completed.is_set), 30)
        assert handed_out and not any(handed_out), f"records reached the agent during the seek: {handed_out}"
        # Records behind the ones fetched during the seek.
        await publish_numbered(broker_settings, topic, PARTITIONS, RECORDS)
        await wait_caught_up(broker_settings, group, [topic], timeout=60)
    finally:
        await app.stop()
    missing = {(p, o) for p in range(PARTITIONS) for o in range(COMMITTED, 2 * RECORDS)} - seen
    assert not missing, f"{len(missing)} records committed but never processed: {sorted(missing)[:10]}..."
