"""TABLE_STORE=rocksdb:// (faust-streaming's RocksDB store through rocksdict) on a real broker: the worker keeps
its tables on disk, serves the seed story's exposure, and after a SIGKILL restarts from them."""

from __future__ import annotations

import pytest

from tests.e2e.test_seed_story_broker import CHAPTERS, alerts, publish_and_settle
from vendorwatch.local import new_secret, running_stack
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(400)]


def conflicts(view: dict) -> list[tuple[str, str, str]]:
    return [(v["vendor_id"], c["competitor_id"], c["severity"]) for v in view["vendors"] for c in v["conflicts"]]


async def test_rocksdb_tables_serve_and_survive_a_kill(broker_settings, tmp_path):
    secret = new_secret()
    async with webhook_sink(secret) as sink, running_stack(
        broker_settings, tmp_path, sink.url, secret, extra={"table_store": "rocksdb://"}
    ) as stack:
        assert stack.env()["VENDORWATCH_TABLE_STORE"] == "rocksdb://"
        await publish_and_settle(stack, CHAPTERS[0], CHAPTERS[1])
        assert sorted(a["lab_id"] for a in alerts(sink)) == ["google", "microsoft", "openai", "xai"], [
            (a["lab_id"], a["transition"], a["reasons"], [e["id"] for e in a["evidence"]]) for a in alerts(sink)]
        assert conflicts(await stack.exposure("google")) == [("scale-ai", "meta", "critical")]
        stores = sorted(p.name for p in (tmp_path / "data").rglob("*.db") if p.is_dir())
        assert any(name.startswith("exposure") for name in stores), stores

        stack.kill("worker")
        stack.spawn("worker")
        await stack.wait_ready()
        assert conflicts(await stack.exposure("google")) == [("scale-ai", "meta", "critical")]
        await publish_and_settle(stack, CHAPTERS[2])
        assert conflicts(await stack.exposure("google")) == []
        assert [a["transition"] for a in alerts(sink) if a["lab_id"] == "google"] == ["opened", "resolved"]
