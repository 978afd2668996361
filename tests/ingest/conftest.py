"""Ingest tests without Kafka: the app gets a fake ``EventSink`` that records what would be written."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ingest.app import Limits, create_app
from ingest.tokens import Grant, hash_token, parse_grants
from schemas.registry import CONTRACT_AMENDED, CONTRACT_SIGNED, CONTRACT_TERMINATED
from vendorwatch.local import STORY_DIR, free_port
from vendorwatch.publisher import Delivery, Record

ALL_TOKEN = "vwi_test-all-types"
CONTRACTS_TOKEN = "vwi_test-contracts-only"
SEED = [json.loads(line) for path in sorted(STORY_DIR.glob("*.ndjson")) for line in path.read_text().splitlines()]


def seed_of(event_type: str) -> dict:
    return json.loads(json.dumps(next(e for e in SEED if e["type"] == event_type)))


@dataclass
class FakeSink:
    """Records what would be written; ``fail`` makes it raise like an unreachable broker."""

    records: list[Record] = field(default_factory=list)
    fail: BaseException | None = None
    delay: float = 0.0

    async def send_records(self, records: Sequence[Record]) -> list[Delivery]:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        deliveries = []
        for record in records:
            self.records.append(record)
            e = record.event
            deliveries.append(Delivery(e.id, e.source, e.type, record.key.decode(), record.topic, 0,
                                       len(self.records) - 1))
        return deliveries


def grants() -> tuple[Grant, ...]:
    return parse_grants({
        "everything": {"hash": hash_token(ALL_TOKEN), "types": ["*"]},
        "procurement": {"hash": hash_token(CONTRACTS_TOKEN),
                        "types": [CONTRACT_SIGNED, CONTRACT_AMENDED, CONTRACT_TERMINATED]},
    })


def auth(token: str = ALL_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def sink() -> FakeSink:
    return FakeSink()


@pytest.fixture
def limits() -> Limits:
    return Limits(max_body_bytes=64 * 1024, max_batch=20, publish_timeout_s=1.0)


@pytest.fixture
async def client(sink, limits):
    async with TestClient(TestServer(create_app(grants(), sink, limits))) as test_client:
        yield test_client


@dataclass
class ServedApp:
    url: str
    sink: FakeSink


@pytest.fixture(scope="module")
def served_app():
    """The app on a real loopback port in a background thread, for clients that are not asyncio (schemathesis)."""
    sink, port, ready = FakeSink(), free_port(), threading.Event()
    loop = asyncio.new_event_loop()

    async def start() -> web.AppRunner:
        runner = web.AppRunner(create_app(grants(), sink, Limits(max_body_bytes=256 * 1024, max_batch=50)))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    def serve() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    yield ServedApp(f"http://127.0.0.1:{port}", sink)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
