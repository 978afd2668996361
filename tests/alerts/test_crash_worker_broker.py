"""SIGKILL the worker at random moments, and restart the broker once, while a stream of events produces alerts.

The stream is a story in three phases per vendor (a competitor takes 30%: opened; 60%: escalated; the
holding closes: resolved), with the receiver failing the first attempt of every webhook-id. The worker
is killed mid-stream in every phase and the broker is stopped and started (same data dir) mid-stream
once. The expected transitions come from the pure fold (``tests/support/fold.py``); at the end the
receiver, deduplicating on ``webhook-id``, must hold exactly that set.

Prints: sent (expected transitions), records (alert records the worker wrote, repeats from reprocessing
included), delivered (unique), duplicates, lost, worker kills, broker restarts, processes that exited
on their own (and were restarted, as a supervisor would).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from alerts import views
from alerts.follow import read_topic
from schemas import CloudEvent, encode_structured, new_event
from schemas.registry import SPECS, TOPIC_ALERTS
from tests.support.fold import Fold
from vendorwatch.local import KAFKA_SCRIPT, Stack, broker_answers, new_secret, running_stack
from vendorwatch.settings import Settings
from vendorwatch.sink import webhook_sink

# In the default run (about two minutes). The kills land at random moments, so a regression may show in
# some runs only: the README's "Crash safety" lists what this test caught.
pytestmark = [pytest.mark.broker, pytest.mark.timeout(900)]
VENDORS = 24
LABS = ("google", "openai")
SESSION_TIMEOUT_S = 6.0  # the setting's minimum: a killed worker's partitions move on sooner
# A worker whose partitions make no progress this long (the broker outage outlasting it, or a stream
# that stops taking records, streams/watchdog.py) exits and is restarted by `settle`, as a supervisor would.
STALL_TIMEOUT_S = 20.0


class CrashStack(Stack):
    def respawn_exited(self) -> list[str]:
        """Start again what exited on its own (a broker outage can end a process), as systemd would."""
        exited = [role for role, p in self.processes.items() if p.poll() is not None]
        for role in exited:
            self.spawn(role)
        return exited


def crash_stack(base: Settings, workdir: Path, url: str, secret: str, run: str) -> Any:
    # A short consumer-group session, so each kill costs seconds, not tens of them.
    return running_stack(base, workdir, url, secret, app_id=f"vw-{run}", stack_type=CrashStack,
                         extra={"session_timeout_s": SESSION_TIMEOUT_S, "stall_timeout_s": STALL_TIMEOUT_S})


# --- the story -----------------------------------------------------------------------------------------


class Story:
    def __init__(self, run: str) -> None:
        self.run = run
        self.n = 0

    def event(self, kind: str, data: dict) -> CloudEvent:
        self.n += 1
        type_ = f"vendorwatch.{kind}.v1"
        return new_event(id=f"{self.run}-{self.n:05d}", source="vendorwatch/crash-test", type=type_,
                         data=SPECS[type_].model.model_validate(data), time=datetime.now(UTC))

    def vendor(self, i: int) -> str:
        return f"v{self.run}-{i}"

    def setup(self) -> list[CloudEvent]:
        orgs = [self.event("org.declared", {"org_id": o, "name": o, "kind": "lab"}) for o in (*LABS, "meta")]
        return orgs + [self.event("competitors.declared", {"lab_id": lab, "competitors": ["meta"]}) for lab in LABS]

    def holding(self, i: int, share: float | None) -> CloudEvent:
        data: dict = {"subject_id": self.vendor(i), "interested_party_id": "meta",
                      "status": "closed" if share is None else "completed"}
        if share is not None:
            data["interests"] = [{"type": "shareholding", "share": {"exact": share}}]
        return self.event("ownership.stated", data)

    def opened(self, i: int) -> list[CloudEvent]:
        contract = {"contract_id": f"c{self.run}-{i}", "lab_id": LABS[i % 2], "vendor_id": self.vendor(i),
                    "annual_value_usd": 1e6, "data_classes": ["evaluation_data"], "sensitivity": "internal"}
        return [self.event("org.declared", {"org_id": self.vendor(i), "name": f"Vendor {i}", "kind": "vendor"}),
                self.event("contract.signed", contract), self.holding(i, 30)]

    def phases(self) -> list[list[CloudEvent]]:
        """Each phase moves each vendor at most one transition, so the worker's batching cannot merge two."""
        opened = [e for i in range(VENDORS) for e in self.opened(i)]
        escalated = [self.holding(i, 60) for i in range(VENDORS) if i % 2 == 0]
        resolved = [self.holding(i, None) for i in range(VENDORS) if i % 3 == 0]
        return [opened, escalated, resolved]


def expected_ids(setup: list[CloudEvent], phases: list[list[CloudEvent]]) -> dict[str, tuple[str, str]]:
    """The worker's alert event ids (``alert_id.sequence``) the story must produce -> (lab, vendor)."""
    fold = Fold()
    fold.feed(setup)
    alerts = [a for phase in phases for a in fold.feed(phase)]
    return {f"{a.alert_id}.{a.sequence}": (a.lab_id, a.vendor_id) for a in alerts}


async def what_the_worker_believes(stack: CrashStack, about: dict[str, tuple[str, str]]) -> str:
    """For a failure message: the worker's own explanation of each vendor with a lost transition."""
    lines = []
    async with httpx.AsyncClient() as client:
        for lab, vendor in sorted(set(about.values())):
            with contextlib.suppress(httpx.HTTPError, ValueError):
                answer = await client.get(f"{stack.api}/v1/vendors/{vendor}/influence", params={"lab_id": lab})
                verdicts = [(c["competitor_id"], (c.get("influence") or {}).get("economic_share"), c["severities"])
                            for c in answer.json()["competitors"]]
                exposure = await client.get(f"{stack.api}/v1/labs/{lab}/exposure")
                held = [v for v in exposure.json()["vendors"] if v["vendor_id"] == vendor]
                lines.append(f"{lab}/{vendor}: influence {verdicts}; exposure view {held}")
    return "\n".join(lines)


# --- doing things to the stack ---------------------------------------------------------------------------


async def publish(settings: Settings, events: list[CloudEvent], pause: float = 0.0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for n, event in enumerate(events):
            await producer.send_and_wait(event.spec.topic, encode_structured(event), key=event.key.encode())
            if pause and n % 8 == 7:
                await asyncio.sleep(pause)  # a stream, not one burst: kills land mid-processing
    finally:
        await producer.stop()


async def kill_worker_after(stack: CrashStack, delay: float) -> None:
    await asyncio.sleep(delay)
    stack.kill("worker")
    stack.spawn("worker")


async def publish_while_killing(stack: CrashStack, events: list[CloudEvent], rng: random.Random) -> int:
    killer = asyncio.create_task(kill_worker_after(stack, rng.uniform(0.2, 1.5)))
    await publish(stack.settings, events, pause=0.1)
    await killer
    return 1


def kafka(command: str, bootstrap: str) -> None:
    """deploy/local/kafka.sh on the port of the broker under test, not on the script's default port."""
    env = {**os.environ, "VENDORWATCH_KAFKA_PORT": bootstrap.split(",")[0].rpartition(":")[2]}
    subprocess.run(["bash", str(KAFKA_SCRIPT), command], env=env, check=True, stdout=subprocess.DEVNULL, timeout=120)


@contextlib.contextmanager
def broker_back_up(bootstrap: str):
    """Whatever happens inside, the broker answers again afterwards (the rest of the suite needs it)."""
    try:
        yield
    finally:
        if not broker_answers(bootstrap):
            kafka("start", bootstrap)


async def restart_broker(stack: CrashStack, rng: random.Random) -> None:
    await asyncio.sleep(rng.uniform(0.2, 1.0))
    await asyncio.to_thread(kafka, "stop", stack.settings.kafka_bootstrap)
    await asyncio.sleep(1.0)
    await asyncio.to_thread(kafka, "start", stack.settings.kafka_bootstrap)


async def settle(stack: CrashStack, exits: list[str], timeout: float = 240.0) -> None:
    """Until the worker is ready and worker and dispatcher have consumed everything, restarting what exited
    (a process the broker outage ended, or a worker its watchdog ended) on the way."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        exits += stack.respawn_exited()
        try:
            await stack.wait_ready(timeout=90)
            await stack.wait_quiet(timeout=15)
            return
        except (RuntimeError, TimeoutError):  # exited meanwhile, or not quiet yet: look again
            continue
    raise AssertionError(f"the stack did not settle in {timeout}s; see {stack.workdir}")


async def worker_records(settings: Settings, run: str) -> list[str]:
    """The ids of every alert record on the topic about this run's vendors (repeats included)."""
    ids: list[str] = []

    def keep(record) -> None:
        found = views.read_transition(record)
        if found is not None and found.alert.vendor_id.startswith(f"v{run}-"):
            ids.append(found.event.id)

    await read_topic(settings, TOPIC_ALERTS, keep)
    return ids


async def test_sigkilled_worker_and_a_restarted_broker_lose_no_transition(broker_settings, tmp_path) -> None:
    run = f"w{uuid.uuid4().hex[:8]}"
    rng = random.Random(run)  # noqa: S311 - test schedule, not security
    story = Story(run)
    setup, phases = story.setup(), story.phases()
    expected = expected_ids(setup, phases)
    secret = new_secret()
    kills = restarts = 0
    exits: list[str] = []
    with broker_back_up(broker_settings.kafka_bootstrap):
        async with webhook_sink(secret, fail_first=1) as sink, \
                crash_stack(broker_settings, tmp_path, sink.url, secret, run) as stack:
            await publish(stack.settings, setup)
            await settle(stack, exits)
            # phase 1: opened, the worker killed twice at random moments mid-stream
            half = len(phases[0]) // 2
            kills += await publish_while_killing(stack, phases[0][:half], rng)
            kills += await publish_while_killing(stack, phases[0][half:], rng)
            await settle(stack, exits)
            # phase 2: escalated, the broker stopped and started mid-stream, then the worker killed
            await publish(stack.settings, phases[1][:3])
            await restart_broker(stack, rng)
            restarts += 1
            kills += await publish_while_killing(stack, phases[1][3:], rng)
            await settle(stack, exits)
            # phase 3: resolved, the worker killed once more
            kills += await publish_while_killing(stack, phases[2], rng)
            await settle(stack, exits)
            try:
                await sink.wait_for(set(expected), timeout=60)
            except TimeoutError:
                missing = {i: expected[i] for i in set(expected) - {d.webhook_id for d in sink.deliveries}}
                print(f"\nlost {sorted(missing)}; the worker believes:\n"
                      f"{await what_the_worker_believes(stack, missing)}")
                raise
            records = await worker_records(stack.settings, run)

    ours = list(sink.deliveries)
    unique = {d.webhook_id for d in ours}
    lost = set(expected) - unique
    print(f"\nworker crash test: sent={len(expected)} records={len(records)} delivered={len(unique)} "
          f"duplicates={len(ours) - len(unique)} lost={len(lost)} worker SIGKILLs={kills} "
          f"broker restarts={restarts} exited and restarted={exits or 'none'} "
          f"attempts seen={sum(sink.attempts[i] for i in expected)}")
    assert lost == set()
    assert unique == set(expected), f"unexpected transitions: {sorted(unique - set(expected))}"
    assert set(records) == set(expected)
