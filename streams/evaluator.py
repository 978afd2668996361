"""Evaluating vendors: the evaluator agent's step, and the input agents' early evaluation.

An input agent that changed a table asks for re-evaluation through the evaluations topic, keyed by vendor
(``streams.requests``). When this worker owns the partition a request goes to, the input agent also
evaluates it at once, before the request comes back round through Kafka: the alert leaves a hop sooner.
The request is still sent: it is what guarantees the evaluation if the partition moves to another worker
in between. When it arrives at the worker that evaluated it early, in the same consumer generation, the
evaluator skips it (``EarlyLedger``); anywhere else it is evaluated, and evaluating a vendor again with
nothing new changes nothing (``alerts.lifecycle.step`` gives no transition for an unchanged assessment).
Skipping is safe under a crash: the input event that caused the request is acknowledged only once the
early evaluation's writes are on the broker, so a crash before that replays the event and its requests.

Evaluations read a vendor's alert state, wait for the alerts' acknowledgements, then write the state: two
tasks evaluating the same vendor at once would both open the alert. One lock serialises them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Container, Iterable
from datetime import UTC, datetime
from typing import Any

from schemas import registry as names
from schemas.cloudevents import encode_structured, new_event
from streams.app import Worker, settled_partitions
from streams.evaluate import Trigger, evaluate_vendor
from streams.requests import Request, coalesce, decode
from streams.state import contracts_from_table, dump, states_from_table
from streams.world_requests import WorldRequests

log = logging.getLogger(__name__)

ALERT_SOURCE = "urn:vendorwatch:detector"
CONTENT_TYPE = [("content-type", b"application/cloudevents+json")]


def evaluable_here(sent: Iterable[tuple[int, bytes]], owned: Container[int]) -> list[tuple[int, bytes]]:
    """The requests of ``sent`` (partition, request) that this worker evaluates itself: those of the
    evaluations partitions it owns (``streams.app.settled_partitions``: none while partitions move)."""
    return [(partition, request) for partition, request in sent if partition in owned]


EARLY_LEDGER_SIZE = 10_000
"""Requests evaluated early and not yet seen arriving; past this the oldest are forgotten (and evaluated
again when they arrive). Only requests whose partition moves away before they arrive are never seen."""

Outcome = asyncio.Future[bool]
"""An early evaluation's end: ``True`` once its writes are sent, ``False`` if it failed."""


def _key(partition: int, request: bytes) -> tuple[int, bytes]:
    # A digest, not the request: a world request of a bulk load carries up to 100 changes.
    return partition, hashlib.blake2b(request, digest_size=16).digest()


class EarlyLedger:
    """The requests this worker evaluated early, to skip when they arrive (bookkeeping only, bounded)."""

    def __init__(self, size: int = EARLY_LEDGER_SIZE) -> None:
        self._size = size
        self._noted: dict[tuple[int, bytes], tuple[int, Outcome]] = {}  # (partition, digest) -> generation

    def note(self, partition: int, request: bytes, generation: int, outcome: Outcome) -> None:
        key = _key(partition, request)
        self._noted.pop(key, None)
        self._noted[key] = (generation, outcome)
        while len(self._noted) > self._size:
            del self._noted[next(iter(self._noted))]

    def claim(self, partition: int, request: bytes, generation: int) -> Outcome | None:
        """The outcome of the early evaluation of the request arriving now, if there was one in this
        generation (then forgotten: a second copy is evaluated)."""
        generation_and_outcome = self._noted.pop(_key(partition, request), None)
        if generation_and_outcome is None or generation_and_outcome[0] != generation:
            return None
        return generation_and_outcome[1]

    def __len__(self) -> int:
        return len(self._noted)


async def still_to_evaluate(arrived: Iterable[tuple[int, bytes]], ledger: EarlyLedger,
                            generation: int) -> list[bytes]:
    """The requests of ``arrived`` (partition, request) not evaluated early in ``generation``; a request
    whose early evaluation is still running waits for its end, and is kept if that evaluation failed."""
    left = []
    for partition, request in arrived:
        outcome = ledger.claim(partition, request, generation)
        if outcome is None or not await outcome:
            left.append(request)
    return left


class Evaluator:
    def __init__(self, worker: Worker, world_requests: WorldRequests) -> None:
        self._worker = worker
        self._world_requests = world_requests
        self._alerts_topic: str = worker.topics.alerts.get_topic_name()
        self._topic: str = worker.topics.evaluations.get_topic_name()
        self._lock = asyncio.Lock()
        self._ledger = EarlyLedger()

    async def early(self, sent: Iterable[tuple[int, bytes]]) -> None:
        """Evaluate the requests just sent that this worker owns, without waiting for them to come back."""
        app: Any = self._worker.app
        if not (requests := evaluable_here(sent, settled_partitions(app, self._topic))):
            return
        self._worker.metrics.early_evaluations.inc(len(requests))
        # Noted before evaluating: a copy that arrives meanwhile waits for this outcome instead of being
        # evaluated twice at once.
        outcome: Outcome = asyncio.get_running_loop().create_future()
        for partition, request in requests:
            self._ledger.note(partition, request, app.consumer_generation_id, outcome)
        evaluated = False
        try:
            await self.requests(decode(request for _, request in requests))
            evaluated = True
        except Exception:  # an evaluation's bug must not cost the input agent its batch: the evaluator retries
            log.exception("early evaluation failed; the evaluator evaluates these requests when they arrive")
        finally:
            outcome.set_result(evaluated)  # cancelled (the worker stopping) counts as failed

    async def arrived(self, events: Iterable[Any]) -> list[Request]:
        """The requests of ``events`` (from the evaluations topic) still to evaluate: all but those this
        worker evaluated early in the current consumer generation (once that evaluation has ended well)."""
        arrived = [(e.message.partition, e.message.value) for e in events]
        return decode(await still_to_evaluate(arrived, self._ledger, self._worker.app.consumer_generation_id))

    async def requests(self, requests: list[Request]) -> None:
        """Evaluate a batch of requests, once per vendor. The caller awaits its writes before acknowledging."""
        await self._world_requests.read(requests)
        triggers = coalesce(requests, datetime.now(UTC).date(), self._world_requests.reach())
        for vendor_id, trigger in triggers.items():
            async with self._lock:
                await self._vendor(vendor_id, trigger)

    async def _vendor(self, vendor_id: str, trigger: Trigger) -> None:
        worker, tables = self._worker, self._worker.tables
        previous = states_from_table(tables.alert_state.get(vendor_id))
        result = evaluate_vendor(vendor_id, contracts_from_table(tables.contracts.get(vendor_id)),
                                 worker.cache.world(), previous, trigger, worker.policy)
        worker.metrics.evaluations.inc()
        acks = []
        for alert in result.alerts:
            cloud_event = new_event(
                id=f"{alert.alert_id}.{alert.sequence}", source=ALERT_SOURCE, type=names.ALERT, data=alert,
                time=trigger.at, subject=f"{alert.lab_id}/{alert.vendor_id}/{alert.competitor_id}",
            )
            acks.append(worker.pending.track(await worker.express.send(
                self._alerts_topic, alert.lab_id.encode(), encode_structured(cloud_event), CONTENT_TYPE)))
            worker.metrics.alert_transitions.labels(alert.transition.value, alert.severity.value).inc()
            log.info("alert %s %s: %s", alert.transition.value, alert.severity.value, alert.summary)
        # The alerts must be on the broker before the state that says they were sent: otherwise a crash in
        # between could leave the new state recovered and the transition never published. The other way
        # round, a crash re-emits the same transition with the same ids, which receivers drop.
        await asyncio.gather(*acks)
        if result.states != previous:
            tables.alert_state[vendor_id] = {k: s.to_json() for k, s in result.states.items()}
        for lab_id, view in result.exposures.items():
            update = {"lab_id": lab_id, "vendor_id": vendor_id, "entry": dump(view) if view else None}
            worker.pending.track(await worker.topics.exposure_updates.send(
                key=lab_id.encode(), value=json.dumps(update).encode()))
