"""World requests on both sides: the input agents send them, the evaluator reads and expands them.

A change to a global table (organisations, competitor sets, ownership) goes to every evaluations partition
(``streams.requests`` says why). The sending side names the changelog offsets this worker had written; the
evaluating side waits until its copy of the tables has read another worker's offsets, then works out which
of the partition's vendors each change reaches, with that copy.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streams.app import Worker
from streams.changes import reached_by
from streams.observed import written_offset
from streams.requests import Reach, Request, WorldChange, encode_world_request, reads_needed
from streams.state import vendors_by_lab
from streams.world_cache import COMPETITORS, ORGS, OWNERSHIP

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 10.0
"""How long the evaluator waits for its copy of a global table to read another worker's write."""
CHANGES_PER_REQUEST = 100
"""A bulk load's batch of changes is split so that each request stays far below the broker's record limit."""

ChangeKey = tuple[str, str, str | None]


class WorldRequests:
    def __init__(self, worker: Worker) -> None:
        self._worker = worker
        self._topic: str = worker.topics.evaluations.get_topic_name()
        self._tables: dict[str, Any] = {ORGS: worker.tables.orgs, COMPETITORS: worker.tables.competitors,
                                        OWNERSHIP: worker.tables.ownership}
        self._partitions: dict[str, int] = {}  # vendor -> its evaluations partition (a hash, so kept)
        # An ownership change's reach depends on the world only: worked out once for the requests of all
        # partitions (they arrive in different batches), until the world changes.
        self._ownership_reach: dict[ChangeKey, set[str]] = {}
        self._reach_version = -1

    async def send(self, changes: list[WorldChange]) -> list[tuple[int, bytes]]:
        """To every partition; call once the batch's writes are acknowledged, so the offsets are on the broker.
        Returns each request sent, with its partition."""
        written = self._written()
        express = self._worker.express
        sent = []
        for partition in await express.partitions(self._topic):
            for first in range(0, len(changes), CHANGES_PER_REQUEST):
                request = encode_world_request(changes[first:first + CHANGES_PER_REQUEST], partition, written,
                                               self._worker.instance)
                self._worker.pending.track(await express.send(self._topic, b"", request, partition=partition))
                sent.append((partition, request))
        return sent

    async def read(self, requests: list[Request]) -> None:
        """Return once this worker's copy has read the other workers' writes ``requests`` name. A copy that
        cannot catch up (its reader stalled) delays evaluation by the timeout, then the evaluator goes on
        with what it has, and says so."""
        loop = asyncio.get_running_loop()
        for name, offset in reads_needed(requests, self._worker.instance).items():
            read_through = self._tables[name].read_through
            started = loop.time()
            reached = await read_through.reach(offset, READ_TIMEOUT_S)
            self._worker.metrics.world_read_wait.labels(name).observe(loop.time() - started)
            if not reached:
                self._worker.metrics.world_read_timeouts.labels(name).inc()
                log.warning("evaluating with the %s table read to offset %d, not %d, after %.0f s", name,
                            read_through.offset, offset, READ_TIMEOUT_S)

    def reach(self) -> Reach:
        """For one batch of requests: the world as it is now, each change's reach worked out once, the
        contracts indexed by lab only if a change asks."""
        cache = self._worker.cache
        world = cache.world()
        if self._reach_version != cache.version:
            self._ownership_reach.clear()
            self._reach_version = cache.version
        in_batch: dict[ChangeKey, set[str]] = {}
        by_lab: list[dict[str, set[str]]] = []

        def contracted(org_id: str) -> set[str]:
            if not by_lab:
                by_lab.append(vendors_by_lab(self._worker.tables.contracts.items()))
            return by_lab[0].get(org_id, set())

        def reach(change: WorldChange, partition: int) -> set[str]:
            key = (change.table, change.key, change.party)
            reached = self._ownership_reach if change.table == OWNERSHIP else in_batch
            if key not in reached:
                reached[key] = reached_by(change, world.orgs, world.graph, contracted)
            return {vendor_id for vendor_id in reached[key] if self.partition_of(vendor_id) == partition}

        return reach

    def _written(self) -> dict[str, int]:
        # This worker's latest write to each global table. Each table has one writing agent, which has
        # awaited its writes by now; a send still in flight or failed is left out.
        written = {}
        for name, table in self._tables.items():
            sent = table.last_sent
            offset = written_offset(sent) if sent is not None and sent.done() else None
            if offset is not None:
                written[name] = offset
        return written

    def partition_of(self, vendor_id: str) -> int:
        """The evaluations partition of ``vendor_id``'s requests (the producer's partitioner, as Faust's)."""
        partition = self._partitions.get(vendor_id)
        if partition is None:
            producer: Any = self._worker.app.producer
            partition = producer.key_partition(self._topic, vendor_id.encode()).partition
            self._partitions[vendor_id] = partition
        return partition
