"""Replay and as-of on a real broker: the seed story published, then asked "when could we have known?".

Meta took 49% of Scale AI at 2025-06-12T14:00Z; Google terminated its Scale contract at 2025-06-18T17:00Z.
As of a moment in between, Google's Scale exposure is in conflict with Meta; as of after, it is gone.
Asked three ways: ``vendorwatch replay`` (its report), ``vendorwatch replay --serve`` and a live worker's
``?as_of=``. The replays publish no alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from schemas.registry import TOPIC_ALERTS
from streams.admin import ensure_topics, start_group_at_end, topic_partitions
from vendorwatch.local import STORY_DIR, Stack, free_port, new_secret
from vendorwatch.settings import Settings

pytestmark = [pytest.mark.broker, pytest.mark.timeout(400)]

BETWEEN = "2025-06-15T00:00:00Z"  # after Meta's stake, before Google's termination
AFTER = "2025-06-19"


def scale_conflicts(exposure: dict[str, Any]) -> list[tuple[str, str]] | None:
    """Google's conflicts at Scale AI, or ``None`` when Scale is not in its exposure at all."""
    for vendor in exposure["vendors"]:
        if vendor["vendor_id"] == "scale-ai":
            return [(c["competitor_id"], c["severity"]) for c in vendor["conflicts"]]
    return None


async def alerts_end(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    await consumer.start()
    try:
        return sum((await consumer.end_offsets(await topic_partitions(settings, [TOPIC_ALERTS]))).values())
    finally:
        await consumer.stop()


def replay(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vendorwatch.cli", "replay", *args], env=stack.env(),
                          capture_output=True, text=True, check=False, timeout=180)


@contextlib.asynccontextmanager
async def story_and_worker(base: Settings, tmp_path: Any) -> AsyncIterator[Stack]:
    """The seed story on the shared topics, then a worker of a fresh app id positioned after it: the worker
    raises nothing; its ``?as_of=`` reads the topics' history."""
    settings = base.model_copy(update={"app_id": f"vw-replay-{int(time.time())}", "http_port": free_port()})
    stack = Stack(settings, tmp_path, "http://127.0.0.1:9/unused", new_secret())
    await ensure_topics(settings)
    published = stack.publish(*sorted(STORY_DIR.glob("*.ndjson")))
    assert published.returncode == 0, published.stderr
    await start_group_at_end(settings, stack.app_id, stack.worker_topics)
    try:
        stack.spawn("worker")
        await stack.wait_ready()
        yield stack
    finally:
        stack.stop()


async def test_the_seed_story_replayed_and_asked_as_of(broker_settings: Settings, tmp_path: Any) -> None:
    async with story_and_worker(broker_settings, tmp_path) as stack:
        alerts_before = await alerts_end(broker_settings)

        between = replay(stack, "--from", "2025-06-01", "--to", BETWEEN, "--lab", "google", "--json")
        assert between.returncode == 0, between.stderr
        report = json.loads(between.stdout)
        [google] = report["labs"]
        assert scale_conflicts(google) == [("meta", "critical")]
        assert ("google", "scale-ai", "meta", "opened", "2025-06-12T14:00:00Z") in {
            (t["alert"]["lab_id"], t["alert"]["vendor_id"], t["alert"]["competitor_id"], t["alert"]["transition"],
             t["at"].replace("+00:00", "Z")) for t in report["transitions"]}
        group = report["group"]
        assert group == f"{stack.app_id}-replay-20250601T000000Z-20250615T000000Z"

        after = replay(stack, "--to", AFTER, "--lab", "google")
        assert after.returncode == 0, after.stderr
        assert "google / scale-ai / meta" in after.stdout and "resolved" in after.stdout
        assert "google: $0 at stake, $0 in conflict" in after.stdout, after.stdout

        assert await alerts_end(broker_settings) == alerts_before, "a replay publishes no alert"
        assert await committed(broker_settings, group), "the replay's own group records what it read"

        await ask_the_worker(stack)
        await ask_a_serving_replay(stack)


async def committed(settings: Settings, group: str) -> dict[Any, Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        result: dict[Any, Any] = await admin.list_consumer_group_offsets(group)
        return result
    finally:
        await admin.close()


async def ask_the_worker(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.api, timeout=60) as client:
        url = "/v1/labs/google/exposure"
        between = (await client.get(url, params={"as_of": BETWEEN})).json()
        assert scale_conflicts(between) == [("meta", "critical")], between
        assert between["as_of"] == BETWEEN and between["conflicted_value_usd"] == 200_000_000
        assert scale_conflicts((await client.get(url, params={"as_of": AFTER})).json()) is None
        bad = await client.get(url, params={"as_of": "last tuesday"})
        assert bad.status_code == 422
        assert bad.json()["error"].startswith("as_of: expected an RFC 3339 timestamp")
        live = (await client.get(url)).json()
        assert live["as_of"] is None, "without as_of: the live view, from the worker's tables"


async def ask_a_serving_replay(stack: Stack) -> None:
    port = free_port()
    env = {**stack.env(), "VENDORWATCH_HTTP_PORT": str(port)}
    log = (stack.workdir / "replay-serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "vendorwatch.cli", "replay", "--to", AFTER, "--serve"],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            await wait_healthy(client, process)
            url = "/v1/labs/google/exposure"
            at_end = (await client.get(url)).json()
            assert scale_conflicts(at_end) is None and at_end["as_of"].startswith("2025-06-19T23:59:59")
            between = (await client.get(url, params={"as_of": BETWEEN})).json()
            assert scale_conflicts(between) == [("meta", "critical")]
            later = await client.get(url, params={"as_of": "2025-07-01"})
            assert later.status_code == 422 and "after this replay's --to" in later.json()["error"]
    finally:
        process.terminate()
        assert process.wait(timeout=20) == 0


async def wait_healthy(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> None:
    for _ in range(240):  # bounded: 60 s
        assert process.poll() is None, "the replay exited before serving"
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get("/healthz")).status_code == 200:
                return
        await asyncio.sleep(0.25)
    raise TimeoutError("the replay did not serve within 60 s")
