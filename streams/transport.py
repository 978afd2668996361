"""Faust's aiokafka transport with a fetch wait that suits a worker of several topics.

faust-streaming 0.15.3 hard-codes ``fetch_max_wait_ms=1500`` for the worker's consumer. aiokafka sends one
fetch request per broker at a time, each for the partitions that have nothing buffered. Once the busy
partitions' records are buffered, the next request asks only for the quiet topics' partitions (orgs,
evaluations, ...), and the broker parks it for up to the full wait because they have no data; the busy
partitions, drained in the meantime, cannot be fetched again until it returns. The shipment stream then
arrived in bursts with gaps of up to a second and a half (docs/performance.md, third round). A short
wait bounds that gap; the price is an empty fetch every ``FETCH_MAX_WAIT_MS`` when every topic is idle
(100 ms: 3% of a core for the consumer thread of an idle worker here, against 13% at 20 ms, and no
difference in shipment throughput that single runs could tell apart).
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

FETCH_MAX_WAIT_MS = 100
"""Longest a fetch waits at the broker for data; also the longest a busy partition waits behind an idle one."""


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its fetcher; Faust offers no setting for it.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """Set as ``app.transport`` before anything asks the app for it (topics do, when declared)."""

    Consumer = _Consumer

