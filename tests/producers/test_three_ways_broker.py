"""The same events through HTTP ingest, the SDK and the CLI (NDJSON and CSV) land identically on Apache Kafka.

Each path publishes the events under its own ``source`` (same ids), so they can be told apart; everything
written to the input topics between the offsets taken before and after publishing is read back.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import sys

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from ingest.service import serve
from ingest.tokens import hash_token
from schemas.cloudevents import decode_structured
from schemas.registry import CONTRACT_SIGNED, CONTRACT_TERMINATED, INPUT_TOPICS, OWNERSHIP_STATED
from streams.admin import ensure_topics, topic_partitions
from tests.ingest.conftest import SEED
from tests.producers.test_csv_events import to_csv
from vendorwatch.local import free_port
from vendorwatch.publisher import Publisher

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

PATHS = ("http", "sdk", "cli-ndjson", "cli-csv")
DATA_SHARED = {"specversion": "1.0", "id": "ship-1", "type": "vendorwatch.data.shared.v1",
               "time": "2025-06-13T10:00:00Z", "data": {"lab_id": "google", "vendor_id": "scale-ai",
               "contract_id": "google-scale-2024", "records": 120000, "bytes": 987654321,
               "data_class": "training_data", "sensitivity": "restricted"}}


def events_for(run: str, path: str) -> list[dict]:
    """One event of every input type (the seed story's first of each, plus a shipment), ids unique to the run."""
    firsts = {e["type"]: e for e in reversed(SEED)}
    chosen = [*firsts.values(), DATA_SHARED]
    return [{**e, "id": f"{run}-{e['id']}", "source": f"urn:vw-test:{run}:{path}"} for e in chosen]


async def offsets(settings) -> dict[TopicPartition, int]:
    partitions = await topic_partitions(settings, list(INPUT_TOPICS))
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()


async def written_between(settings, start, end) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    records = []
    try:
        wanted = {tp: end[tp] for tp in end if end[tp] > start.get(tp, 0)}
        consumer.assign(list(wanted))
        for tp in wanted:
            consumer.seek(tp, start.get(tp, 0))
        while [tp for tp in wanted if await consumer.position(tp) < wanted[tp]]:
            batch = await consumer.getmany(timeout_ms=1000)
            for r in (r for rs in batch.values() for r in rs):
                if r.offset < wanted[TopicPartition(r.topic, r.partition)]:
                    records.append(r)
    finally:
        await consumer.stop()
    return records


def cli_publish(settings, file) -> subprocess.CompletedProcess[str]:
    env = {"VENDORWATCH_KAFKA_BOOTSTRAP": settings.kafka_bootstrap, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "vendorwatch.cli", "publish", str(file)], env=env,
                          capture_output=True, text=True, check=False, timeout=120)


async def test_http_sdk_and_cli_land_identically_and_tokens_guard_types(broker_settings, tmp_path):
    run = f"three-{secrets.token_hex(4)}"
    everything, contracts_only = "vwi_" + secrets.token_urlsafe(24), "vwi_" + secrets.token_urlsafe(24)
    settings = broker_settings.model_copy(update={"ingest_tokens": {
        "everything": {"hash": hash_token(everything), "types": ["*"]},
        "procurement": {"hash": hash_token(contracts_only), "types": [CONTRACT_SIGNED, CONTRACT_TERMINATED]},
    }})
    await ensure_topics(settings)
    before = await offsets(settings)

    stop, port = asyncio.Event(), free_port()
    service = asyncio.create_task(serve(settings, stop=stop, port=port))
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            await wait_healthy(client, service)
            batch = {"Content-Type": "application/cloudevents-batch+json"}
            response = await client.post("/v1/events", json=events_for(run, "http"),
                                         headers={**batch, "Authorization": f"Bearer {everything}"})
            assert response.status_code == 202, response.text
            assert all(a["offset"] >= 0 for a in response.json()["accepted"])

            ownership = [e for e in events_for(run, "forbidden") if e["type"] == OWNERSHIP_STATED]
            refused = await client.post("/v1/events", json=ownership,
                                        headers={**batch, "Authorization": f"Bearer {contracts_only}"})
            assert refused.status_code == 403, refused.text
            anonymous = await client.post("/v1/events", json=events_for(run, "anonymous"), headers=batch)
            assert anonymous.status_code == 401
    finally:
        stop.set()
        await service

    async with Publisher.from_settings(settings) as publisher:
        deliveries = await publisher.send_many([decode_structured(json.dumps(e)) for e in events_for(run, "sdk")])
        assert len(deliveries) == len(events_for(run, "sdk"))

    ndjson, table = tmp_path / "events.ndjson", tmp_path / "events.csv"
    ndjson.write_text("".join(json.dumps(e) + "\n" for e in events_for(run, "cli-ndjson")))
    table.write_text("".join(to_csv(events_for(run, "cli-csv"))))
    for file in (ndjson, table):
        result = cli_publish(settings, file)
        assert result.returncode == 0, result.stderr
        assert result.stderr.splitlines()[-1] == f"{len(events_for(run, 'sdk'))} published, 0 rejected"

    records = await written_between(settings, before, await offsets(settings))
    landed = landed_by_path(records, run)
    assert set(landed) == set(PATHS), "nothing from the 403 or 401 requests was written"
    reference = landed["http"]
    assert len(reference) == len(events_for(run, "http"))
    for path in PATHS:
        assert landed[path] == reference, f"{path} landed differently from http"


def landed_by_path(records, run: str) -> dict[str, dict[str, tuple]]:
    """source path -> id -> (topic, key, decoded event without its source), for this run's records only."""
    out: dict[str, dict[str, tuple]] = {}
    for record in records:
        event = decode_structured(record.value)
        if not event.source.startswith(f"urn:vw-test:{run}:"):
            continue
        path = event.source.rsplit(":", 1)[1]
        body = {k: v for k, v in event.to_json().items() if k != "source"}
        out.setdefault(path, {})[event.id] = (record.topic, record.key.decode(), json.dumps(body, sort_keys=True))
        assert record.key.decode() == event.key, "keyed as EVENTS.md says"
    return out


async def wait_healthy(client: httpx.AsyncClient, service: asyncio.Task) -> None:
    for _ in range(100):
        if service.done():
            service.result()
        try:
            if (await client.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise TimeoutError("ingest did not become healthy")
