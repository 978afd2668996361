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
"""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka

from vendorwatch.brokers import fetch_promptly


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    async def on_start(self) -> None:
        await super().on_start()
        consumer: Any = self._consumer  # created by on_start
        fetch_promptly(consumer._fetcher)


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """Set as ``app.transport`` before anything asks the app for it (topics do, when declared)."""

    Consumer = _Consumer
