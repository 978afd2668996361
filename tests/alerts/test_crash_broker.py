"""SIGKILL the dispatcher at random moments while alerts are delivered to a receiver failing first attempts.

Every alert must reach the receiver at least once; deduplicating on ``webhook-id`` the receiver counts
exactly the set sent. Prints: sent, delivered (unique), duplicates, lost.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import uuid

import pytest
from aiokafka import AIOKafkaProducer

from alerts.store import ensure_delivery_topics
from schemas import Alert, Exposure, Influence, encode_structured, new_event
from schemas.registry import TOPIC_ALERTS
from streams.admin import start_group_at_end
from vendorwatch.local import free_port, new_secret
from vendorwatch.settings import load_settings
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]
ALERTS = 60
KILLS = 6


def alert_event(run: str, n: int):
    alert = Alert(alert_id=f"{run}-{n}", sequence=1, status="firing", transition="opened", severity="high",
                  lab_id=("google", "openai", "xai", "microsoft")[n % 4], vendor_id="scale-ai", competitor_id="meta",
                  influence=Influence(economic_share=30.0), exposure=Exposure(annual_value_usd=1e6),
                  summary="Meta holds 30% of Scale AI.")
    return new_event(id=f"{run}-evt-{n}", source="vendorwatch/test", type="vendorwatch.alert.v1", data=alert)


def spawn(env: dict[str, str], log) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "vendorwatch.cli", "dispatcher"], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


async def test_sigkilled_dispatcher_loses_no_alert(broker_settings, tmp_path) -> None:
    run = f"c{uuid.uuid4().hex[:10]}"
    rng = random.Random(run)  # noqa: S311 - test schedule, not security
    secret = new_secret()
    async with webhook_sink(secret, fail_first=2) as sink:
        env_settings = {
            "VENDORWATCH_KAFKA_BOOTSTRAP": broker_settings.kafka_bootstrap,
            "VENDORWATCH_WEBHOOK_URL": sink.url, "VENDORWATCH_WEBHOOK_SECRET": secret,
            "VENDORWATCH_ALLOW_INSECURE_HOSTS": "127.0.0.1", "VENDORWATCH_DISPATCHER_GROUP": f"vw-crash-{run}",
            "VENDORWATCH_RETRY_SCHEDULE": "0.3s,1s", "VENDORWATCH_RETRY_HORIZON_S": "120",
            "VENDORWATCH_SILENCES_TOPIC": f"vw-crash-silences-{run}",
            "VENDORWATCH_DISPATCHER_HTTP_PORT": str(free_port()),
        }
        settings = load_settings(env_settings)
        await ensure_delivery_topics(settings)
        await start_group_at_end(settings, settings.dispatcher_group, [TOPIC_ALERTS])
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("VENDORWATCH_")}, **env_settings}
        events = [alert_event(run, n) for n in range(ALERTS)]
        ids = {e.id for e in events}
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
        await producer.start()
        log = (tmp_path / "dispatcher.log").open("ab")
        process = spawn(env, log)
        try:
            for kill in range(KILLS):
                # publish a slice, then kill at a random moment while its retries are under way
                for event in events[kill * ALERTS // KILLS:(kill + 1) * ALERTS // KILLS]:
                    await producer.send_and_wait(TOPIC_ALERTS, encode_structured(event), key=event.key.encode())
                await asyncio.sleep(rng.uniform(0.5, 4.0))
                process.kill()
                process.wait()
                process = spawn(env, log)
            await sink.wait_for(ids, timeout=120)
        finally:
            await producer.stop()
            process.terminate()
            process.wait(timeout=20)
    ours = [d for d in sink.deliveries if d.webhook_id in ids]
    unique = {d.webhook_id for d in ours}
    lost = ids - unique
    print(f"\ncrash test: sent={len(ids)} delivered={len(unique)} duplicates={len(ours) - len(unique)} "
          f"lost={len(lost)} dispatcher SIGKILLs={KILLS} attempts seen={sum(sink.attempts[i] for i in ids)}")
    assert lost == set()
    assert unique == ids
