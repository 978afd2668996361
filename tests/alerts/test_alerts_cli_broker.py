"""``vendorwatch alerts`` run as an operator runs it (a subprocess) against a real broker and dispatcher.

Covers: list and show, redeliver to one receiver under the same webhook-id, a silence dropping a
transition (dropped, not held: expiring it lets later transitions through and never sends the silenced
one), and a receiver disabled by 410 staying disabled across a dispatcher restart until enabled.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
from prometheus_client import CollectorRegistry

from alerts.dispatcher import Dispatcher
from alerts.receiver_state import read_receiver_states
from alerts.store import ensure_delivery_topics, read_deliveries
from schemas import Alert, Exposure, Influence, new_event
from schemas.registry import TOPIC_ALERTS
from streams.admin import start_group_at_end
from tests.support.alerts import publish_alerts
from tests.support.receiver import LoopbackReceiver
from vendorwatch.local import new_secret
from vendorwatch.settings import Settings, load_settings
from vendorwatch.sink import webhook_sink

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]


def transition(run: str, seq: int, name: str, status: str, severity: str, episode: str = "ep"):
    alert = Alert(alert_id=f"{run}-{episode}", sequence=seq, status=status, transition=name, severity=severity,
                  lab_id="google", vendor_id=f"v-{run}", competitor_id="meta",
                  influence=Influence(economic_share=30.0), exposure=Exposure(annual_value_usd=1e6),
                  summary=f"Meta holds 30% of v-{run}.")
    return new_event(id=f"{run}-{episode}.{seq}", source="vendorwatch/test", type="vendorwatch.alert.v1",
                     data=alert)


async def vendorwatch(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vendorwatch.cli", *argv, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def eventually(check: Callable[[], Awaitable[object]], timeout: float = 30.0) -> object:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.2)


class Dispatching:
    """An in-process dispatcher of the test's group, stopped on exit."""

    def __init__(self, settings: Settings) -> None:
        self.registry = CollectorRegistry()
        self.dispatcher = Dispatcher(settings, self.registry)
        self.stop = asyncio.Event()

    async def __aenter__(self) -> Dispatcher:
        self.task = asyncio.create_task(self.dispatcher.run(self.stop))
        return self.dispatcher

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 30)

    def disabled(self, receiver: str) -> float | None:
        return self.registry.get_sample_value("vendorwatch_alert_receiver_disabled", {"receiver": receiver})


def environment(run: str, sink_url: str, secret: str, bootstrap: str, **extra: str) -> dict[str, str]:
    return {"VENDORWATCH_KAFKA_BOOTSTRAP": bootstrap, "VENDORWATCH_WEBHOOK_URL": sink_url,
            "VENDORWATCH_WEBHOOK_SECRET": secret, "VENDORWATCH_ALLOW_INSECURE_HOSTS": "127.0.0.1",
            "VENDORWATCH_DISPATCHER_GROUP": f"vw-cli-{run}", "VENDORWATCH_SILENCES_TOPIC": f"vw-cli-silences-{run}",
            "VENDORWATCH_RETRY_SCHEDULE": "0.2s", "VENDORWATCH_LOG_LEVEL": "WARNING", **extra}


async def prepared(env: dict[str, str]) -> tuple[Settings, dict[str, str]]:
    settings = load_settings(env)
    await ensure_delivery_topics(settings)
    await start_group_at_end(settings, settings.dispatcher_group, [TOPIC_ALERTS])
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("VENDORWATCH_")}
    return settings, {**inherited, **env}


async def delivery_status(settings: Settings, webhook_id: str) -> str | None:
    return next((d.status for d in await read_deliveries(settings) if d.webhook_id == webhook_id), None)


async def test_list_show_redeliver_and_a_silence_that_drops_then_lets_through(broker_settings) -> None:
    run = f"cli{uuid.uuid4().hex[:10]}"
    secret = new_secret()
    opened = transition(run, 1, "opened", "firing", "high")
    escalated = transition(run, 2, "escalated", "firing", "critical")
    resolved = transition(run, 3, "resolved", "resolved", "critical")
    async with webhook_sink(secret) as sink:
        settings, env = await prepared(environment(run, sink.url, secret, broker_settings.kafka_bootstrap))
        async with Dispatching(settings) as dispatcher:
            await publish_alerts(settings.kafka_bootstrap, opened)
            await sink.wait_for({opened.id})

            rc, out, _ = await vendorwatch(env, "alerts", "list", "--vendor", f"v-{run}", "--json")
            assert rc == 0 and [(a["alert_id"], a["transition"]) for a in json.loads(out)] == [(f"{run}-ep", "opened")]
            rc, out, _ = await vendorwatch(env, "alerts", "list", "--vendor", f"v-{run}")
            assert rc == 0 and f"{run}-ep" in out and "high" in out

            await eventually(lambda: _is(delivery_status(settings, opened.id), "delivered"))
            rc, out, _ = await vendorwatch(env, "alerts", "show", f"{run}-ep", "--json")
            shown = json.loads(out)
            assert [t["id"] for t in shown["transitions"]] == [opened.id]
            assert [(d["receiver"], d["status"], len(d["attempts"])) for d in shown["deliveries"]] == [
                ("default", "delivered", 1)]

            rc, _, err = await vendorwatch(env, "alerts", "redeliver", f"{run}-ep", "--receiver", "nobody")
            assert rc == 2 and "no receiver named 'nobody'" in err
            rc, out, _ = await vendorwatch(env, "alerts", "redeliver", f"{run}-ep", "--receiver", "default")
            assert rc == 0 and opened.id in out
            # again, under the same webhook-id (exactly twice: on a fresh broker the dispatcher once routed the
            # first record while still loading its partitions' deliveries, and then sent it twice)
            await eventually(lambda: _true(sink.attempts[opened.id] == 2))
            assert len(sink.unique()) == 1
            await eventually(lambda: _is(_delivered(settings, opened.id), 2))
            rc, out, _ = await vendorwatch(env, "alerts", "show", f"{run}-ep")
            assert f"default <- {opened.id}: delivered" in out
            assert f"default <- {opened.id} (redelivery): delivered" in out

            rc, out, err = await vendorwatch(env, "alerts", "silence", "add", "--match", f"vendor_id=v-{run}",
                                             "--match", "lab_id=google", "--for", "1h", "--comment", "maintenance")
            assert rc == 0, err
            silence_id = out.strip()
            await eventually(lambda: _true(silence_id in dispatcher.silences.silences))
            await publish_alerts(settings.kafka_bootstrap, escalated)
            await eventually(lambda: _is(delivery_status(settings, escalated.id), "silenced"))
            rc, out, _ = await vendorwatch(env, "alerts", "show", f"{run}-ep")
            assert f"default <- {escalated.id}: silenced" in out and silence_id in out
            rc, out, _ = await vendorwatch(env, "alerts", "list", "--vendor", f"v-{run}", "--json")
            assert [a["severity"] for a in json.loads(out)] == ["critical"]  # the log has it; delivery dropped it
            rc, out, _ = await vendorwatch(env, "alerts", "silence", "list", "--json")
            assert [(s["id"], s["state"]) for s in json.loads(out)] == [(silence_id, "active")]

            rc, _, err = await vendorwatch(env, "alerts", "silence", "expire", silence_id)
            assert rc == 0 and "expired" in err
            await eventually(lambda: _true(dispatcher.silences.silences[silence_id].state(time.time()) == "expired"))
            await publish_alerts(settings.kafka_bootstrap, resolved)
            await sink.wait_for({resolved.id})
            await asyncio.sleep(1.0)
            rc, out, _ = await vendorwatch(env, "alerts", "list", "--vendor", f"v-{run}", "--json")
            assert json.loads(out) == []
            rc, out, _ = await vendorwatch(env, "alerts", "silence", "list")
            assert silence_id not in out
            rc, out, _ = await vendorwatch(env, "alerts", "silence", "list", "--all")
            assert silence_id in out and "expired" in out

    assert escalated.id not in sink.unique(), "a silenced transition is dropped, not held until the silence ends"
    assert sorted(sink.unique()) == sorted([opened.id, resolved.id])


async def test_a_receiver_gone_with_410_stays_disabled_across_a_restart_until_enabled(broker_settings,
                                                                                      tmp_path) -> None:
    run = f"gone{uuid.uuid4().hex[:10]}"
    secret = new_secret()
    alerts = [transition(run, 1, "opened", "firing", "high", episode=f"ep{n}") for n in range(3)]
    async with webhook_sink(secret) as sink, LoopbackReceiver(status=410) as gone:
        routing = tmp_path / "routing.toml"
        routing.write_text(f'[receivers.gone]\nkind = "webhook"\nurl = "{gone.url}"\nsecrets = ["{secret}"]\n'
                           '[[routes]]\nreceiver = "gone"\n')
        settings, env = await prepared(environment(run, sink.url, secret, broker_settings.kafka_bootstrap,
                                                   VENDORWATCH_ROUTING_FILE=str(routing)))
        first = Dispatching(settings)
        async with first:
            await publish_alerts(settings.kafka_bootstrap, alerts[0])
            await sink.wait_for({alerts[0].id})
            await eventually(lambda: _true(first.disabled("gone") == 1))
        assert (await read_receiver_states(settings)).disabled("gone") is not None

        second = Dispatching(settings)  # a restart: the disabled state is read back from the topic
        async with second:
            await eventually(lambda: _true(second.disabled("gone") == 1))
            await publish_alerts(settings.kafka_bootstrap, alerts[1])
            await sink.wait_for({alerts[1].id})
            await eventually(lambda: _is(_status_for(settings, "gone", alerts[1].id), "failed"))
            assert gone.ids == [alerts[0].id], "a disabled receiver is not sent anything"
            rc, out, _ = await vendorwatch(env, "alerts", "receiver", "list", "--json")
            states = {r["name"]: r["disabled"] for r in json.loads(out)}
            assert states == {"default": False, "gone": True}

            gone.status = 204  # the receiver was fixed
            rc, _, err = await vendorwatch(env, "alerts", "receiver", "enable", "gone")
            assert rc == 0 and "enabled" in err
            await eventually(lambda: _true(second.disabled("gone") == 0))
            await publish_alerts(settings.kafka_bootstrap, alerts[2])
            await sink.wait_for({alerts[2].id})
            await eventually(lambda: _true(alerts[2].id in gone.ids))
    assert gone.ids == [alerts[0].id, alerts[2].id]


async def _status_for(settings: Settings, receiver: str, webhook_id: str) -> str | None:
    found = [d.status for d in await read_deliveries(settings) if (d.receiver, d.webhook_id) == (receiver, webhook_id)]
    return found[0] if found else None


async def _delivered(settings: Settings, webhook_id: str) -> int:
    return sum(d.webhook_id == webhook_id and d.status == "delivered" for d in await read_deliveries(settings))


async def _is(value: Awaitable[object], wanted: object) -> bool:
    return await value == wanted


async def _true(value: bool) -> bool:
    return value
