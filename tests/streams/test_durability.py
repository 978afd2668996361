"""PendingWrites: a batch is durable only when every tracked send is acknowledged."""

from __future__ import annotations

import asyncio

import pytest

from streams.durability import PendingWrites, track_writes


async def test_settled_waits_for_every_tracked_send() -> None:
    pending = PendingWrites()
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    pending.track(first)
    pending.track(second)
    waiter = asyncio.create_task(pending.settled())
    first.set_result("offset 1")
    await asyncio.sleep(0)
    assert not waiter.done() and len(pending) == 1
    second.set_result("offset 2")
    await asyncio.wait_for(waiter, 1)
    assert len(pending) == 0


async def test_a_failed_send_is_raised_even_when_it_failed_before_anyone_waited() -> None:
    pending = PendingWrites()
    failed = asyncio.get_running_loop().create_future()
    pending.track(failed)
    failed.set_exception(TimeoutError("no leader for vendorwatch.ownership-changelog[0]"))
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError, match="no leader"):
        await pending.settled()


async def test_an_already_acknowledged_send_is_not_waited_for() -> None:
    pending = PendingWrites()
    done = asyncio.get_running_loop().create_future()
    done.set_result("offset 7")
    assert pending.track(done) is done
    await asyncio.wait_for(pending.settled(), 1)


async def test_table_changelog_sends_are_tracked() -> None:
    loop = asyncio.get_running_loop()

    class Table:
        def __init__(self) -> None:
            self.sent: list[asyncio.Future[str]] = []

        def send_changelog(self, partition: int | None, key: str, value: object) -> asyncio.Future[str]:
            future: asyncio.Future[str] = loop.create_future()
            self.sent.append(future)
            return future

    pending = PendingWrites()
    table = Table()
    track_writes([table], pending)
    table.send_changelog(None, "scale-ai", {"meta": 49})
    assert len(pending) == 1
    table.sent[0].set_result("offset 3")
    await asyncio.wait_for(pending.settled(), 1)


async def test_own_settles_on_the_calling_tasks_writes_alone() -> None:
    pending = PendingWrites()
    loop = asyncio.get_running_loop()
    others: asyncio.Future[str] = loop.create_future()
    mine: asyncio.Future[str] = loop.create_future()

    async def shipment_agent() -> None:
        pending.track(others)

    async def ownership_agent() -> None:
        pending.track(mine)
        await pending.settled(own=True)

    await asyncio.create_task(shipment_agent())
    agent = asyncio.create_task(ownership_agent())
    await asyncio.sleep(0)
    assert not agent.done()
    mine.set_result("offset 4")
    await asyncio.wait_for(agent, 1)  # done, although the shipment agent's write is not
    everything = asyncio.create_task(pending.settled())
    await asyncio.sleep(0)
    assert not everything.done()
    others.set_result("offset 9")
    await asyncio.wait_for(everything, 1)


async def test_a_task_hands_its_writes_to_another_that_waits_for_them_alone() -> None:
    # The shipment lane applies its next batch while a task of its own waits for the last one's writes.
    pending = PendingWrites()
    loop = asyncio.get_running_loop()
    mine, later = loop.create_future(), loop.create_future()

    async def agent() -> list[asyncio.Future[object]]:
        pending.track(mine)
        return pending.owned()

    writes = await asyncio.create_task(agent())
    assert writes == [mine] and pending.owned() == [], "owned by the task that wrote"
    pending.track(later)  # a write made after the hand-over is not waited for
    waiter = asyncio.create_task(pending.acknowledged(writes))
    await asyncio.sleep(0)
    assert not waiter.done()
    mine.set_result("offset 3")
    await asyncio.wait_for(waiter, 1)
    later.set_exception(TimeoutError("no leader"))
    await asyncio.sleep(0)
    with pytest.raises(TimeoutError, match="no leader"):  # any failure ends the worker, as settled says
        await pending.acknowledged([])


async def test_a_write_shared_by_two_tasks_is_owned_by_both() -> None:
    # A batch's acknowledgement covers every write appended to it (streams/bulk.py), whoever made them.
    pending = PendingWrites()
    shared = asyncio.get_running_loop().create_future()

    async def write() -> list[asyncio.Future[None]]:
        pending.track(shared)
        return pending.owned()

    first, second = await asyncio.gather(asyncio.create_task(write()), asyncio.create_task(write()))
    assert first == second == [shared] and len(pending) == 1
    shared.set_result(None)
    await asyncio.wait_for(pending.settled(), 1)
    assert len(pending) == 0
