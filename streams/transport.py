"""Faust's aiokafka transport, its consumer's fetcher tuned for a worker of several topics.

faust-streaming 0.15.3 hard-codes ``fetch_max_wait_ms=1500`` for the worker's consumer. aiokafka sends one
fetch request per broker at a time, each for the partitions that have nothing buffered. Once a partition's
records are buffered, the next request leaves it out; if the partitions it asks for have no data, the
broker parks it for the full wait, and the buffered partition, drained in the meantime, cannot be fetched
again until it returns. The shipment stream arrived in bursts with gaps of up to a second and a half, and
each internal hop of the alert path (an ownership event, its re-evaluation request, the alert) could wait
out a parked fetch (docs/performance.md, third round).

So the wait follows the buffer (``vendorwatch.brokers.fetch_promptly``, also used by the dispatcher): short
while any partition has records buffered (the request leaves them out, so it must come back soon), long
when none has (the request asks for every partition, and the broker answers it as soon as any of them
gets data, so a long wait costs no latency and keeps an idle worker from fetching in a loop). The same
function shortens aiokafka's prefetch backoff, which held back every fetch while one record sat unconsumed.

The consumer also feeds the shipment lane (``streams.lane``): the lane's topic's records are taken out of
each fetch result before Faust's drain loop sees them, and its offsets are committed with Faust's own.
The hooks are Faust's consumer methods (faust-streaming 0.15.3); recheck them on a Faust upgrade.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from streams.lane import Lane, lane_records
from vendorwatch.brokers import fetch_promptly

FULL_LANE_FETCH_S = 0.01
"""While the lane is full its partitions are left out of fetches; the others are fetched with this short
timeout, so the lane's partitions are back in a fetch soon after it has room again."""


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def on_start(self) -> None:
        await super().on_start()
        consumer: Any = self._consumer  # created by on_start
        fetch_promptly(consumer._fetcher)


class _Consumer(faust_aiokafka.Consumer):
    @property
    def lane(self) -> Lane | None:
        return self.transport.lane  # type: ignore[attr-defined, no-any-return]  # ours: Transport below

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        lane = self.lane
        if lane is None:
            return await super()._getmany(active_partitions, timeout)
        if lane.full() and active_partitions is not None:
            active_partitions = {tp for tp in active_partitions if tp.topic != lane.topic}
            timeout = min(timeout, FULL_LANE_FETCH_S)
            if not active_partitions:
                await lane.wait_room(timeout)
                return {}
        generation = self.app.consumer_generation_id
        records = dict(await super()._getmany(active_partitions, timeout))
        mine = [tp for tp in records if tp.topic == lane.topic]
        # Faust's getmany drops what a fetch returns once the flow has stopped or the generation has
        # changed (a rebalance); the lane's records are dropped in the same cases, and read again from
        # the committed offsets once the new assignment is in place.
        current = self.flow_active and generation == self.app.consumer_generation_id
        now = time.monotonic()
        for tp in mine:
            taken = records.pop(tp)
            if current and taken and lane.put(lane_records(tp.topic, tp.partition, taken)):
                self._read_offset[tp] = taken[-1].offset
                self.app.monitor.stream_inbound_time[tp] = now  # Faust's slow-processing checks read it
        return records

    def _filter_tps_with_pending_acks(self, topics: Any = None) -> Iterator[TP]:
        yield from super()._filter_tps_with_pending_acks(topics)
        if self.lane is not None:
            committed = self._committed_offset
            yield from (tp for tp, offset in self.lane.committable_offsets().items()
                        if (topics is None or tp in topics or tp.topic in topics)
                        and offset > (committed.get(tp) or -1))

    def _new_offset(self, tp: TP) -> int | None:
        if self.lane is not None and tp.topic == self.lane.topic:
            return self.lane.committable(tp)
        return super()._new_offset(tp)

    async def wait_empty(self) -> None:
        # Faust calls this once the flow has stopped, as partitions are revoked and as it stops, and
        # commits right after: the lane's batch in hand is finished first, its offsets committed with the rest.
        if self.lane is not None:
            await self.lane.close()
        await super().wait_empty()

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        if self.lane is not None:
            self.lane.open(assigned)
        await super().on_partitions_assigned(assigned, generation_id)


class Transport(faust_aiokafka.Transport):
    """Set as ``app.transport`` before anything asks the app for it (topics do, when declared)."""

    Consumer = _Consumer
    lane: Lane | None = None
    """The shipment lane, set by ``streams.agents`` before the worker starts."""
