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

The consumer also feeds the shipment lane (``streams.lane``): the lane's topic is fetched by a loop of its
own, never by Faust's drain loop, and its offsets are committed with Faust's own.
The hooks are Faust's consumer methods (faust-streaming 0.15.3); recheck them on a Faust upgrade.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP
from mode import Service

from streams.lane import Lane, lane_records
from vendorwatch.brokers import fetch_promptly

LANE_FETCH_S = 1.0
"""How long one of the lane's fetches waits for records (it returns as soon as any arrive)."""
LANE_IDLE_S = 0.05
"""How long the lane's fetch loop waits before it looks again when it holds none of the lane's partitions."""


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
        # Faust's drain loop fetches every partition but the lane's: those are fetched by _feed_lane.
        lane = self.lane
        if lane is not None and active_partitions is not None:
            active_partitions = {tp for tp in active_partitions if tp.topic != lane.topic}
            if not active_partitions:
                await self.sleep(timeout)
                return {}
        return await super()._getmany(active_partitions, timeout)

    @Service.task
    async def _feed_lane(self) -> None:
        """The lane's own fetch loop, beside Faust's drain loop.

        Fed by the drain loop, the lane waited for it to deliver every other record one by one, each
        behind its agent's queue and Faust's producer buffer: the shipment records sat fetched in
        aiokafka's buffer while the lane's task idled, and the lane was fed once every ~0.8 s.
        """
        lane = self.lane
        if lane is None:
            return
        while not self.should_stop:
            if not self.flow_active:  # stopped for a rebalance: nothing is fetched until it resumes
                await self.wait(self.can_resume_flow)  # type: ignore[arg-type]
                continue
            if lane.full():
                await lane.wait_room(LANE_IDLE_S)
                continue
            # Paused partitions (recovering, not yet seeked) are not in the active set.
            partitions = {tp for tp in self._get_active_partitions() if tp.topic == lane.topic}
            if not partitions:
                await self.sleep(LANE_IDLE_S)
                continue
            generation = self.app.consumer_generation_id
            try:
                records = await self._thread.getmany(partitions, LANE_FETCH_S)
            except self.consumer_stopped_errors:
                if self.should_stop or self.app.should_stop:  # stopping: as Faust's drain loop, end quietly
                    return
                raise
            # As Faust's getmany: what a fetch returns once the flow has stopped or the generation has
            # changed (a rebalance) is dropped, and read again from the committed offsets.
            if self.flow_active and generation == self.app.consumer_generation_id:
                self._to_lane(lane, records)

    def _to_lane(self, lane: Lane, records: Any) -> None:
        now = time.monotonic()
        for tp, taken in records.items():
            if taken and lane.put(lane_records(tp.topic, tp.partition, taken)):
                self._read_offset[tp] = taken[-1].offset
                self.app.monitor.stream_inbound_time[tp] = now  # Faust's slow-processing checks read it

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

