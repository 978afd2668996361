"""``take_batches`` on a real Faust stream and broker (streams/batching.py, streams/transport.py).

Every record reaches the agent once, in batches of at most ``max_``, and is committed only after its batch
is handled; an idle agent does not wake up until an event comes; the worker's consumer fetches with the
wait of ``streams.transport``.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import faust
import pytest

from streams.admin import ensure_topics, wait_caught_up
from streams.batching import take_batches
from streams.transport import Transport
from tests.support.records import publish_numbered
from vendorwatch.brokers import FETCH_WAIT_IDLE_MS, PREFETCH_BACKOFF_S
from vendorwatch.settings import Settings

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]

PARTITIONS = 2
RECORDS = 150  # per partition
MAX = 40
WITHIN_S = 0.05
IDLE_S = 1.0


class Observed:
    def __init__(self) -> None:
        self.batches: list[list[tuple[int, int]]] = []
        self.handled: list[tuple[int, int]] = []
        self.waits = 0


def worker_app(settings: Settings, group: str, topic: str, seen: Observed, datadir: Path) -> Any:
    app = faust.App(group, datadir=str(datadir), broker=f"kafka://{settings.kafka_bootstrap}", store="memory://",
                    web_enabled=False, autodiscover=False, topic_partitions=PARTITIONS, broker_commit_interval=0.2,
                    consumer_auto_offset_reset="earliest", logging_config=None)
    app.transport = Transport(app.conf.broker_consumer, app)
    source = app.topic(topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")

    @app.agent(source)
    async def batches(stream: Any) -> None:
        wait = stream.wait_for_stopped

        async def counted(*args: Any, **kwargs: Any) -> Any:
            seen.waits += 1
            return await wait(*args, **kwargs)

        stream.wait_for_stopped = counted
        async for events in take_batches(stream, MAX, WITHIN_S):
            seen.batches.append([(e.message.partition, e.message.offset) for e in events])
            await asyncio.sleep(0.01)  # records keep arriving while a batch is handled
            seen.handled.extend(seen.batches[-1])

    return app


async def test_batches_deliver_every_record_once_and_idle_agents_sleep(broker_settings: Settings,
                                                                       tmp_path: Path) -> None:
    run = secrets.token_hex(4)
    topic = group = f"batching-{run}"
    await ensure_topics(broker_settings.model_copy(update={"topic_partitions": PARTITIONS}), [topic])
    seen = Observed()
    app = worker_app(broker_settings, group, topic, seen, tmp_path)
    await app.start()
    try:
        await publish_numbered(broker_settings, topic, PARTITIONS, RECORDS)
        await wait_caught_up(broker_settings, group, [topic], timeout=60)
        # Caught up, nothing buffered: the worker's consumer parks its fetches for the idle wait.
        await asyncio.sleep(0.1)
        fetcher = app.consumer._thread._consumer._fetcher
        assert (fetcher._fetch_max_wait_ms, fetcher._prefetch_backoff) == (FETCH_WAIT_IDLE_MS, PREFETCH_BACKOFF_S)

        waits_before = seen.waits
        await asyncio.sleep(IDLE_S)
        # Faust's take_events would have woken IDLE_S / WITHIN_S (20) times by now.
        assert seen.waits - waits_before <= 1, f"an idle agent woke {seen.waits - waits_before} times"

        # One more record per partition, after the idle spell.
        await publish_numbered(broker_settings, topic, PARTITIONS, 1)
        await wait_caught_up(broker_settings, group, [topic], timeout=60)
    finally:
        await app.stop()
    expected = {(p, o) for p in range(PARTITIONS) for o in range(RECORDS + 1)}
    assert sorted(seen.handled) == sorted(expected), "a record was lost or handled twice"
    assert all(0 < len(batch) <= MAX for batch in seen.batches)
    assert len(seen.batches) < len(expected), "records were not batched"
