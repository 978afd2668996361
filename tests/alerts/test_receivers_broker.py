"""Every receiver kind, through a real broker and a real dispatcher, to real HTTP servers on loopback.

Alertmanager is the real one from Debian's prometheus-alertmanager (deploy/local/alertmanager.sh), and
what it holds is read back through its API v2.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry

from alerts.dispatcher import Dispatcher
from alerts.store import ensure_delivery_topics
from schemas import Alert, Exposure, Influence, new_event
from schemas.registry import TOPIC_ALERTS
from streams.admin import start_group_at_end
from tests.support.alerts import publish_alerts
from tests.support.receiver import LoopbackReceiver
from vendorwatch.local import new_secret
from vendorwatch.settings import load_settings
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
AM_PORT = os.environ.get("VENDORWATCH_ALERTMANAGER_PORT", "19093")
AM = f"http://127.0.0.1:{AM_PORT}"


@pytest.fixture(scope="module")
def alertmanager() -> str:
    result = subprocess.run(["bash", str(ROOT / "deploy/local/alertmanager.sh"), "start"], capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        message = f"no Alertmanager: {result.stderr.strip()}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AM


def transition(run: str, n: int, transition: str, status: str, sequence: int):
    alert = Alert(alert_id=f"{run}-ep", sequence=sequence, status=status, transition=transition,
                  severity="critical", lab_id="google", vendor_id=f"v-{run}", competitor_id="meta",
                  influence=Influence(economic_share=49.0), exposure=Exposure(annual_value_usd=1e6),
                  summary=f"Meta holds 49% of v-{run}.")
    return new_event(id=f"{run}-evt-{n}", source="vendorwatch/test", type="vendorwatch.alert.v1", data=alert)


async def am_alerts(vendor: str) -> list[dict]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{AM}/api/v2/alerts", params={"filter": f'vendor_id="{vendor}"'})
        response.raise_for_status()
        return response.json()


async def eventually(check, timeout: float = 30.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.2)


async def test_each_receiver_kind_gets_its_format(broker_settings, alertmanager, tmp_path) -> None:
    run = f"r{uuid.uuid4().hex[:10]}"
    secret = new_secret()
    async with webhook_sink(secret) as sink, LoopbackReceiver() as slack, LoopbackReceiver() as pagerduty:
        routing = tmp_path / "routing.toml"
        routing.write_text(f"""
[receivers.chat]
kind = "slack"
url = "{slack.url}"
[receivers.oncall]
kind = "pagerduty"
url = "{pagerduty.url}"
routing_key = "rk-{run}"
[receivers.am]
kind = "alertmanager"
url = "{alertmanager}"
resend_s = 1
[[routes]]
receiver = "chat"
continue = true
[[routes]]
receiver = "oncall"
continue = true
[[routes]]
receiver = "am"
""")
        settings = load_settings({
            "VENDORWATCH_KAFKA_BOOTSTRAP": broker_settings.kafka_bootstrap,
            "VENDORWATCH_WEBHOOK_URL": sink.url, "VENDORWATCH_WEBHOOK_SECRET": secret,
            "VENDORWATCH_ALLOW_INSECURE_HOSTS": "127.0.0.1", "VENDORWATCH_ROUTING_FILE": str(routing),
            "VENDORWATCH_DISPATCHER_GROUP": f"vw-test-{run}", "VENDORWATCH_RETRY_SCHEDULE": "0.1s",
            "VENDORWATCH_SILENCES_TOPIC": f"vw-test-silences-{run}",
        })
        # only what this test publishes: the shared topic holds every earlier test's alerts
        await ensure_delivery_topics(settings)
        await start_group_at_end(settings, settings.dispatcher_group, [TOPIC_ALERTS])
        dispatcher = Dispatcher(settings, CollectorRegistry())
        stop = asyncio.Event()
        task = asyncio.create_task(dispatcher.run(stop))
        try:
            await publish_alerts(settings.kafka_bootstrap, transition(run, 1, "opened", "firing", 1))
            await sink.wait_for({f"{run}-evt-1"})
            firing = await eventually(lambda: am_alerts(f"v-{run}"))
            assert firing[0]["labels"]["alertname"] == "VendorCompetitorOverlap"
            assert firing[0]["labels"]["severity"] == "critical" and firing[0]["status"]["state"] == "active"
            # re-sent while open: Alertmanager's updatedAt moves on
            first_update = firing[0]["updatedAt"]
            await eventually(lambda: _updated_after(f"v-{run}", first_update))

            await publish_alerts(settings.kafka_bootstrap, transition(run, 2, "resolved", "resolved", 2))
            await sink.wait_for({f"{run}-evt-2"})
            await eventually(lambda: _gone(f"v-{run}"))
            await eventually(lambda: _count(pagerduty.bodies, 2))
            await eventually(lambda: _count(slack.bodies, 2))
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)

    actions = [(b["event_action"], b["dedup_key"], b["routing_key"]) for b in pagerduty.bodies]
    assert actions == [("trigger", f"{run}-ep", f"rk-{run}"), ("resolve", f"{run}-ep", f"rk-{run}")]
    assert pagerduty.bodies[0]["payload"]["severity"] == "critical"
    assert slack.bodies[0]["blocks"][0]["type"] == "header" and f"v-{run}" in json.dumps(slack.bodies[0])


async def _updated_after(vendor: str, when: str) -> bool:
    return any(a["updatedAt"] > when for a in await am_alerts(vendor))


async def _gone(vendor: str) -> bool:
    # a resolved alert (endsAt in the past) is no longer active
    return all(a["status"]["state"] != "active" for a in await am_alerts(vendor))


async def _count(items: list, n: int) -> bool:
    return len(items) >= n
