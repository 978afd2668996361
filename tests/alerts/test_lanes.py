"""A receiver's lane on its own: due order, the in-flight bound, one attempt per alert for stateful receivers,
rescheduling, recovering from an attempt that could not be recorded, and revoked partitions."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from alerts import lanes
from alerts import record as rec
from alerts.lanes import Lane
from alerts.record import Attempt, Delivery, Source


def delivery(n: int, *, alert: str | None = None, due: float | None = None, partition: int = 0) -> Delivery:
    now = time.time()
    labels = {"alert_id": alert or f"ep-{n}", "sequence": "1"}
    return Delivery("r", f"evt-{n}", labels, "{}", Source("vendorwatch.alerts", partition, n), created_at=now,
                    due_at=now if due is None else due, deadline=now + 600)


OK = Attempt(0.0, "ok", "delivered")


class Recorder:
    """An attempt function that records what it was given and can be held open."""

    def __init__(self, *, hold: bool = False) -> None:
        self.seen: list[str] = []
        self.running = 0
        self.most = 0
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def __call__(self, d: Delivery) -> Delivery:
        self.seen.append(d.webhook_id)
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1
        return rec.delivered(d, OK)


async def until(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


async def running(lane: Lane):
    return asyncio.create_task(lane.run())


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_attempts_in_due_order_and_not_before_due() -> None:
    attempt = Recorder()
    lane = Lane("r", "webhook", attempt, max_in_flight=1, now=time.time)
    now = time.time()
    lane.add(delivery(1, due=now + 0.15))
    lane.add(delivery(2, due=now + 0.05))
    lane.add(delivery(3, due=now))
    task = await running(lane)
    try:
        await asyncio.sleep(0.02)
        assert attempt.seen == ["evt-3"]  # the others are not due yet
        await until(lambda: len(attempt.seen) == 3)
        assert attempt.seen == ["evt-3", "evt-2", "evt-1"]
        await until(lambda: not lane.pending)  # delivered: final, forgotten
    finally:
        await stop(task)


async def test_never_more_than_max_in_flight() -> None:
    attempt = Recorder(hold=True)
    lane = Lane("r", "webhook", attempt, max_in_flight=2, now=time.time)
    for n in range(6):
        lane.add(delivery(n))
    task = await running(lane)
    try:
        await until(lambda: lane.in_flight == 2)
        await asyncio.sleep(0.05)
        assert lane.in_flight == 2 and len(attempt.seen) == 2
        attempt.release.set()
        await until(lambda: len(attempt.seen) == 6 and not lane.pending)
        assert attempt.most == 2
    finally:
        await stop(task)


async def test_a_stateful_receiver_gets_one_attempt_per_alert_at_a_time() -> None:
    attempt = Recorder(hold=True)
    lane = Lane("r", "pagerduty", attempt, max_in_flight=8, now=time.time)
    lane.add(delivery(1, alert="ep-a"))
    lane.add(delivery(2, alert="ep-a"))  # the resolve must not overtake the trigger
    lane.add(delivery(3, alert="ep-b"))
    task = await running(lane)
    try:
        await until(lambda: lane.in_flight == 2)
        await asyncio.sleep(0.05)
        assert sorted(attempt.seen) == ["evt-1", "evt-3"]
        attempt.release.set()
        await until(lambda: attempt.seen[-1] == "evt-2" and not lane.pending)
    finally:
        await stop(task)


async def test_a_webhook_lane_runs_transitions_of_one_alert_side_by_side() -> None:
    attempt = Recorder(hold=True)
    lane = Lane("r", "webhook", attempt, max_in_flight=8, now=time.time)
    lane.add(delivery(1, alert="ep-a"))
    lane.add(delivery(2, alert="ep-a"))  # receivers order by webhook-id/sequence themselves
    task = await running(lane)
    try:
        await until(lambda: lane.in_flight == 2)
        attempt.release.set()
    finally:
        await stop(task)


async def test_a_pending_result_is_rescheduled_at_its_due_time() -> None:
    calls: list[float] = []

    async def fail_once(d: Delivery) -> Delivery:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return rec.retry_or_expire(d, Attempt(0, "retryable", "503"), "503", time.time() + 0.1)
        return rec.delivered(d, OK)

    lane = Lane("r", "webhook", fail_once, max_in_flight=1, now=time.time)
    lane.add(delivery(1))
    task = await running(lane)
    try:
        await until(lambda: len(calls) == 2 and not lane.pending)
        assert calls[1] - calls[0] >= 0.09
    finally:
        await stop(task)


async def test_an_attempt_that_could_not_be_recorded_is_tried_again(monkeypatch, caplog) -> None:
    monkeypatch.setattr(lanes, "_RETRY_AFTER_CRASH_S", 0.05)
    calls = 0

    async def broker_away_once(d: Delivery) -> Delivery:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("state topic unreachable")
        return rec.delivered(d, OK)

    lane = Lane("r", "webhook", broker_away_once, max_in_flight=1, now=time.time)
    lane.add(delivery(1))
    task = await running(lane)
    try:
        await until(lambda: calls == 2 and not lane.pending)
    finally:
        await stop(task)
    assert "could not be recorded" in caplog.text


async def test_revoked_partitions_are_dropped_and_their_attempts_cancelled() -> None:
    attempt = Recorder(hold=True)
    lane = Lane("r", "webhook", attempt, max_in_flight=4, now=time.time)
    lane.add(delivery(1, partition=0))
    lane.add(delivery(2, partition=1))
    lane.add(delivery(3, partition=1, due=time.time() + 60))
    task = await running(lane)
    try:
        await until(lambda: lane.in_flight == 2)
        lane.drop_partitions([1])
        await until(lambda: lane.in_flight == 1)
        assert [d.webhook_id for d in lane.pending.values()] == ["evt-1"]
        attempt.release.set()
        await until(lambda: not lane.pending)
    finally:
        await stop(task)


@pytest.mark.parametrize("kind", ["webhook", "slack"])
async def test_a_stale_heap_entry_is_not_attempted_twice(kind: str) -> None:
    attempt = Recorder()
    lane = Lane("r", kind, attempt, max_in_flight=1, now=time.time)
    first = delivery(1, due=time.time() + 0.05)
    lane.add(first)
    lane.add(replace(first, due_at=time.time()))  # rescheduled before it ran: the older entry is stale
    task = await running(lane)
    try:
        await until(lambda: not lane.pending)
        await asyncio.sleep(0.1)
        assert attempt.seen == ["evt-1"]
    finally:
        await stop(task)
