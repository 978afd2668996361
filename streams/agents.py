"""Agents: glue between topics, tables and the pure functions in ``streams`` and ``alerts``.

Input agents apply an event to their table and ask for the affected vendors to be re-evaluated (and
evaluate at once the requests of partitions this worker owns); the evaluator (``streams.evaluator``, the
only writer of alert state) turns a vendor's new situation into alert transitions and exposure-view
updates. Re-evaluation requests travel through a topic keyed by vendor, so each vendor is
evaluated on the worker that owns its contracts and alert state, whichever worker saw the change. A change
to the global tables asks every partition's evaluator, which works out the vendors it reaches there
(``streams.requests`` says why).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.alert import Evidence
from schemas.cloudevents import CloudEvent
from schemas.errors import InvalidEvent
from schemas.events import (
    CompetitorsDeclared,
    ContractAmended,
    ContractSigned,
    ContractTerminated,
    OrgDeclared,
    OwnershipStated,
)
from streams.app import Worker, settled_partitions
from streams.batching import take_batches
from streams.changes import expiring_between
from streams.contracts import apply_contract_event
from streams.current import as_current
from streams.durability import durable
from streams.evaluate import count_open
from streams.evaluator import Evaluator
from streams.graph import apply_statement
from streams.intake import Intake
from streams.lag import consumer_lag
from streams.lane import Lane
from streams.metrics import conflicted_exposure
from streams.requests import WorldChange, change_of, encode_evidence, encode_request
from streams.shipment_batches import apply_shipment_batch
from streams.state import (
    contracts_from_table,
    dump,
    states_from_table,
)
from streams.world_cache import COMPETITORS, ORGS, OWNERSHIP
from streams.world_requests import WorldRequests

log = logging.getLogger(__name__)

GAUGE_REFRESH_S = 5.0
EXPIRY_CHECK_S = 3600.0
DEDUP_EXPIRY_MAX_TICK_S = 60.0
CLOCK_SOURCE = "urn:vendorwatch:clock"
EXPIRY_TYPE = "vendorwatch.announced.expired"
# Windows and batch sizes trade latency for batching: an alert waits for both windows, and a shipment batch
# holds the event loop while it is applied (docs/performance.md has the measurements).
INPUT_BATCH = 500
INPUT_WINDOW_S = 0.005
SHIPMENT_BATCH = 500
SHIPMENT_LANE_CAPACITY = 2 * SHIPMENT_BATCH
EVALUATION_BATCH = 500
EVALUATION_WINDOW_S = 0.002
INTERNAL_ERROR = "internal"


def expiry_tick(retention_s: float) -> float:
    """How often expired seen chunks are looked for: a tenth of the retention, from a second to a minute."""
    return min(DEDUP_EXPIRY_MAX_TICK_S, max(1.0, retention_s / 10))


def _register_dedup_retention(worker: Worker, shipment_topic: str) -> None:
    """With ``SHIPMENT_DEDUP_RETENTION_S`` set, forget shipments' identities once older than it
    (``ChunkedSeenTable.expire``)."""
    retention, app = worker.settings.shipment_dedup_retention_s, worker.app
    index, expired = worker.tables.shipments_seen, worker.metrics.dedup_expired
    if not retention:
        return

    async def expire_shipment_marks() -> None:
        # None while moving: the index is rebuilt once recovery ends, and partitions may be on their way elsewhere.
        if not (active := settled_partitions(app, shipment_topic)):
            return
        for dropped in index.expire(time.time() - retention, active):
            expired.inc(dropped)
            await asyncio.sleep(0)  # a chunk at a time: the alert path shares this thread
            if app.rebalancing:  # the partitions may be moving: their next owner expires the rest
                return

    app.timer(interval=expiry_tick(retention))(expire_shipment_marks)


def register_agents(worker: Worker) -> None:
    app, topics, tables, metrics = worker.app, worker.topics, worker.tables, worker.metrics
    intake = Intake(worker)
    world_requests = WorldRequests(worker)
    evaluator = Evaluator(worker, world_requests)
    # Re-evaluation requests and alerts leave through the express producer (no linger; streams/express.py).
    evaluations_topic = topics.evaluations.get_topic_name()

    async def run_input(stream: Any, apply: Any) -> None:
        # A batch at a time: events published together (Meta's stake and its new senior official) are
        # all applied before their vendors are evaluated, so one transition names them all.
        async for events in take_batches(stream, INPUT_BATCH, INPUT_WINDOW_S):
            reached: dict[str, list[CloudEvent]] = {}
            changes: list[WorldChange] = []
            applied: list[tuple[Any, CloudEvent]] = []
            accepted: set[Any] = set()
            for event in events:
                as_current(event)
                decoded = await apply_one(event, apply, accepted)
                if decoded is None:
                    continue
                applied.append((event, decoded[0]))
                if isinstance(decoded[1], WorldChange):
                    changes.append(decoded[1])
                else:
                    for vendor_id in decoded[1]:
                        reached.setdefault(vendor_id, []).append(decoded[0])
            # The requests only once the batch's table writes are on the broker: the evaluator reads the
            # tables as they are in memory, so a request sent alongside a write could be evaluated (and its
            # alert published) while the write was still in flight; a crash losing the write then had the
            # next worker evaluate the vendor without it (an escalation undone, then redone on replay).
            await durable(worker.pending)
            sent = []
            for vendor_id, causes in sorted(reached.items()):
                request = encode_request(vendor_id, causes)
                worker.pending.track(await worker.express.send(evaluations_topic, vendor_id.encode(), request))
                sent.append((world_requests.partition_of(vendor_id), request))
            if changes:
                sent += await world_requests.send(changes)
            # What this worker owns it evaluates now, a Kafka hop sooner (streams/evaluator.py).
            await evaluator.early(sent)
            # Remember source+id only once the batch's table writes and requests are all on the broker.
            # The producer sends to many partitions at once, so without this a crash could leave a "seen"
            # mark durable and the contract it guards lost: the replayed event would then be skipped.
            await durable(worker.pending)
            for event, decoded_event in applied:
                as_current(event)
                intake.mark_applied(decoded_event, event.message.topic)

    async def apply_one(event: Any, apply: Callable[[CloudEvent], set[str] | WorldChange],
                        accepted: set[Any]) -> tuple[CloudEvent, set[str] | WorldChange] | None:
        decoded = await intake.accept(event, accepted)
        if decoded is None:
            return None
        topic = event.message.topic
        started = time.perf_counter()
        try:
            outcome = apply(decoded)
        except InvalidEvent as error:
            await intake.reject(event.message, error)
            return None
        except Exception as error:  # a bug must not stop the stream nor lose the event
            log.exception("failed to apply %s/%s", decoded.source, decoded.id)
            await intake.deadletter(event.message, f"internal error: {type(error).__name__}: {error}",
                                    INTERNAL_ERROR)
            return None
        metrics.processing_seconds.labels(topic).observe(time.perf_counter() - started)
        return decoded, outcome

    def apply_org(decoded: CloudEvent) -> WorldChange:
        data = decoded.data
        if isinstance(data, CompetitorsDeclared):
            tables.competitors[data.lab_id] = list(data.competitors)
            return change_of(decoded, COMPETITORS, data.lab_id)
        assert isinstance(data, OrgDeclared)
        tables.orgs[data.org_id] = dump(data)
        return change_of(decoded, ORGS, data.org_id)

    def apply_ownership(decoded: CloudEvent) -> WorldChange:
        data = decoded.data
        assert isinstance(data, OwnershipStated)
        if data.statement_date is None and decoded.time is not None:
            # BODS statementDate: when the statement was made. An announced deal expires counted from it.
            data = data.model_copy(update={"statement_date": decoded.time.date()})
        holders = apply_statement(worker.cache.holders.get(data.subject_id, {}), data)
        tables.ownership[data.subject_id] = {party: dump(s) for party, s in holders.items()}
        return change_of(decoded, OWNERSHIP, data.subject_id, data.interested_party_id)

    def apply_contract(decoded: CloudEvent) -> set[str]:
        data = decoded.data
        assert isinstance(data, ContractSigned | ContractAmended | ContractTerminated)
        updated = apply_contract_event(contracts_from_table(tables.contracts.get(data.vendor_id)), data)
        tables.contracts[data.vendor_id] = {cid: dump(c) for cid, c in updated.items()}
        return {data.vendor_id}

    @app.agent(topics.orgs, name="orgs")
    async def orgs(stream: Any) -> None:
        await run_input(stream, apply_org)

    @app.agent(topics.ownership, name="ownership")
    async def ownership(stream: Any) -> None:
        await run_input(stream, apply_ownership)

    @app.agent(topics.contracts, name="contracts")
    async def contracts(stream: Any) -> None:
        await run_input(stream, apply_contract)

    # The high-volume stream skips Faust's per-record hand-over: its records reach this task a fetch at a
    # time through the shipment lane (streams/lane.py), and are applied a batch at a time (decoded,
    # deduplicated, folded per vendor, one table write per vendor); records may themselves carry many events.
    lane = Lane(topics.data_shares.get_topic_name(), SHIPMENT_BATCH, SHIPMENT_LANE_CAPACITY, worker.digester)
    app.transport.lane = lane  # type: ignore[attr-defined]  # streams.transport.Transport
    app.topics.add(topics.data_shares)  # subscribed as an agent's topic is; the lane takes its records
    metrics.lane_buffered.set_function(lambda: lane.buffered)  # read at scrape time
    metrics.dedup_index_identities.set_function(lambda: tables.shipments_seen.identities)
    _register_dedup_retention(worker, lane.topic)

    async def data_shares() -> None:
        await worker.bulk.start()  # the lane's changelog writes leave through it (streams/bulk.py)
        await worker.digester.start()  # its records are decoded there (streams/digest.py)
        settled: asyncio.Future[None] | None = None
        async for records in lane.batches():
            metrics.lane_batch_records.observe(len(records))
            await apply_shipment_batch(worker, intake, records)
            # Committable only once the batch's writes are on the broker (at-least-once). Waiting for them
            # right away took as long as applying the batch; the previous batch's writes had this one's
            # applying to arrive.
            if settled is not None:
                await settled
            settled = asyncio.ensure_future(committable(worker.pending.owned(), records))
            lane.settling(settled)

    async def committable(writes: list[asyncio.Future[Any]], records: list[Any]) -> None:
        await durable(worker.pending, writes)
        lane.applied(records)

    app.task(data_shares)

    @app.agent(topics.evaluations, name="evaluator")
    async def evaluator_agent(stream: Any) -> None:
        # Requests a moment apart are evaluated once per vendor. The tables written here use the
        # partitioner (not the batch's last event) to pick changelog partitions, so batching is safe.
        async for events in take_batches(stream, EVALUATION_BATCH, EVALUATION_WINDOW_S):
            if requests := await evaluator.arrived(events):
                await evaluator.requests(requests)
            # The alert state and exposure updates on the broker before the requests are acknowledged:
            # otherwise a crash could keep the request committed and lose the state that records the alert.
            await durable(worker.pending)

    async def refresh_gauges() -> None:
        # Recounted from the table rather than tracked per transition, so the gauge is right after a
        # restart or a rebalance too.
        counts = count_open({v: states_from_table(raw) for v, raw in tables.alert_state.items()})
        for severity, count in counts.items():
            metrics.open_alerts.labels(severity).set(count)
        metrics.recovering.set(1 if getattr(app, "in_recovery", False) else 0)
        metrics.set_conflicted_exposure(conflicted_exposure(tables.exposure.items()))
        metrics.set_consumer_lag(consumer_lag(app, stream_topics))

    stream_topics = [t.get_topic_name() for t in (topics.orgs, topics.ownership, topics.contracts,
                                                  topics.data_shares, topics.evaluations, topics.exposure_updates)]

    app.timer(interval=GAUGE_REFRESH_S)(refresh_gauges)

    last_expiry_check = [datetime.now(UTC).date() - timedelta(days=1)]

    async def expire_announced_deals() -> None:
        # No event announces that an announced deal lapsed: ask for the vendors it reached to be
        # re-evaluated once its horizon has passed. Each worker asks only for the vendors it owns.
        today = datetime.now(UTC).date()
        world = worker.cache.world()
        vendors = expiring_between(world.graph, world.limits.announced_horizon_days, last_expiry_check[0], today)
        last_expiry_check[0] = today
        evidence = Evidence(source=CLOCK_SOURCE, id=f"announced-expiry-{today.isoformat()}", type=EXPIRY_TYPE)
        for vendor_id in sorted(v for v in vendors if owns(v)):
            await worker.express.send(evaluations_topic, vendor_id.encode(),
                                      encode_evidence(vendor_id, [evidence], datetime.now(UTC)))

    def owns(vendor_id: str) -> bool:
        topic = topics.evaluations.get_topic_name()
        producer: Any = app.producer
        return producer.key_partition(topic, vendor_id.encode()) in app.consumer.assignment()

    app.timer(interval=EXPIRY_CHECK_S)(expire_announced_deals)

    @app.agent(topics.exposure_updates, name="exposure")
    async def exposure(stream: Any) -> None:
        async for update in stream:
            update = json.loads(update)
            vendors = dict(tables.exposure.get(update["lab_id"]) or {})
            if update["entry"] is None:
                vendors.pop(update["vendor_id"], None)
            else:
                vendors[update["vendor_id"]] = update["entry"]
            tables.exposure[update["lab_id"]] = vendors
