"""One lane per receiver: its pending deliveries in due order, attempted with a bounded number in flight.

Lanes never wait on each other, so a receiver that times out every attempt fills only its own slots and
a healthy receiver's alerts go out at once (the "slow receiver" measurement in the tests shows it).
For receivers that keep one state per alert (PagerDuty, Alertmanager), two transitions of one alert are
never in flight together, so a ``resolve`` cannot overtake the ``trigger`` it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace

from alerts.delivery import Clock
from alerts.record import Delivery

log = logging.getLogger(__name__)

AttemptFn = Callable[[Delivery], Awaitable[Delivery]]
STATEFUL_KINDS = frozenset({"pagerduty", "alertmanager"})
_RETRY_AFTER_CRASH_S = 1.0


class Lane:
    def __init__(self, name: str, kind: str, attempt: AttemptFn, *, max_in_flight: int, now: Clock) -> None:
        self.name = name
        self.serial_per_alert = kind in STATEFUL_KINDS
        self.pending: dict[str, Delivery] = {}
        self._attempt = attempt
        self._slots = max_in_flight
        self._now = now
        self._heap: list[tuple[float, int, str]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._busy_alerts: set[str] = set()

    def add(self, delivery: Delivery) -> None:
        self.pending[delivery.key] = delivery
        heapq.heappush(self._heap, (delivery.due_at, next(self._order), delivery.key))
        self._wake.set()

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        """Forget the deliveries of revoked partitions; their next owner loads them from the state topic."""
        gone = set(partitions)
        for key, delivery in list(self.pending.items()):
            if delivery.source.partition in gone:
                del self.pending[key]
                task = self._in_flight.pop(key, None)
                if task is not None:
                    task.cancel()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def run(self) -> None:
        try:
            while True:
                self._start(await self._next())
        finally:
            for task in self._in_flight.values():
                task.cancel()
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def _next(self) -> Delivery:
        while True:
            self._wake.clear()
            ready, wait_s = self._ready()
            if ready is not None:
                return ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait_s)

    def _ready(self) -> tuple[Delivery | None, float | None]:
        """The next due delivery if a slot is free, else how long to sleep (None: until woken)."""
        if len(self._in_flight) >= self._slots:
            return None, None
        deferred: list[tuple[float, int, str]] = []
        try:
            while self._heap:
                due, order, key = self._heap[0]
                current = self.pending.get(key)
                if current is None or current.due_at != due or key in self._in_flight:
                    heapq.heappop(self._heap)  # stale: finished, rescheduled, or already running
                    continue
                if due > self._now():
                    return None, due - self._now()
                heapq.heappop(self._heap)
                if self.serial_per_alert and current.alert_id in self._busy_alerts:
                    deferred.append((due, order, key))  # comes back when that alert's attempt ends
                    continue
                return current, 0.0
            return None, None
        finally:
            for item in deferred:
                heapq.heappush(self._heap, item)

    def _start(self, delivery: Delivery) -> None:
        self._busy_alerts.add(delivery.alert_id)
        task = asyncio.create_task(self._run_one(delivery), name=f"deliver-{self.name}")
        self._in_flight[delivery.key] = task

    async def _run_one(self, delivery: Delivery) -> None:
        try:
            updated = await self._attempt(delivery)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The attempt's state could not be saved (broker away): try again soon; the receiver may see
            # the alert twice under one webhook-id, which is what that id is for.
            log.exception("delivery to %s could not be recorded; retrying", self.name)
            updated = replace(delivery, due_at=self._now() + _RETRY_AFTER_CRASH_S)
        finally:
            self._in_flight.pop(delivery.key, None)
            self._busy_alerts.discard(delivery.alert_id)
            self._wake.set()
        if delivery.key not in self.pending:
            return  # revoked meanwhile
        if updated.final:
            del self.pending[delivery.key]
        else:
            self.add(updated)
