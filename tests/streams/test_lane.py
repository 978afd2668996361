"""The shipment lane's bookkeeping, without a broker: batches, back-pressure, committable offsets, closing."""

from __future__ import annotations

import asyncio
import weakref

import pytest
from faust.types import TP

from streams.lane import Lane, LaneRecord, lane_records

TOPIC = "vendorwatch.data-shares"


def records(partition: int, offsets: range) -> list[LaneRecord]:
    return [LaneRecord(TOPIC, partition, o, b"v", b"{}", [], 0.0) for o in offsets]


async def next_batch(batches: object) -> list[LaneRecord]:
    return await asyncio.wait_for(anext(batches), 1)  # type: ignore[call-overload]


def test_a_lane_needs_room_for_one_batch() -> None:
    with pytest.raises(ValueError, match="batch_max"):
        Lane(TOPIC, batch_max=10, capacity=5)
    with pytest.raises(ValueError, match="batch_max"):
        Lane(TOPIC, batch_max=0, capacity=5)


def test_records_stand_in_for_faust_events() -> None:
    class Kafka:  # aiokafka's ConsumerRecord, as much of it as the lane reads
        offset, key, value, headers, timestamp = 7, b"vendor-1", b"{}", None, 1_700_000_000_123

    record = lane_records(TOPIC, 3, [Kafka()])[0]
    assert record.message is record  # what Faust's tables and streams.intake read
    assert (record.topic, record.partition, record.offset, record.key) == (TOPIC, 3, 7, b"vendor-1")
    assert record.headers == [] and record.timestamp == pytest.approx(1_700_000_000.123)
    assert weakref.ref(record)() is record  # Faust keeps the current event as a weak reference


async def test_batches_keep_arrival_order_and_never_exceed_batch_max() -> None:
    lane = Lane(TOPIC, batch_max=3, capacity=10)
    assert lane.put(records(0, range(0, 4))) and lane.put(records(1, range(10, 12)))
    batches = lane.batches()
    first = await next_batch(batches)
    second = await next_batch(batches)
    assert [(r.partition, r.offset) for r in first] == [(0, 0), (0, 1), (0, 2)]
    assert [(r.partition, r.offset) for r in second] == [(0, 3), (1, 10), (1, 11)]
    waiting = asyncio.ensure_future(next_batch(batches))
    await asyncio.sleep(0.01)
    assert not waiting.done(), "an empty lane waits for records"
    lane.put(records(2, range(5, 6)))
    assert [r.offset for r in await waiting] == [5]


async def test_a_full_lane_has_no_room_until_the_task_takes_a_batch() -> None:
    lane = Lane(TOPIC, batch_max=4, capacity=6)
    lane.put(records(0, range(0, 6)))
    assert lane.full() and lane.buffered == 6
    waited = asyncio.ensure_future(lane.wait_room(5))
    await asyncio.sleep(0.01)
    assert not waited.done()
    await next_batch(lane.batches())
    await asyncio.wait_for(waited, 1)
    assert not lane.full() and lane.buffered == 2


async def test_offsets_become_committable_only_once_applied() -> None:
    lane = Lane(TOPIC, batch_max=10, capacity=20)
    lane.put(records(0, range(100, 105)) + records(1, range(7, 9)))
    batches = lane.batches()
    batch = await next_batch(batches)
    assert lane.committable(TP(TOPIC, 0)) is None and lane.committable_offsets() == {}
    lane.applied(batch)
    # The next offset to read, as Kafka stores a committed offset; a TP of Faust's finds it.
    assert lane.committable_offsets() == {TP(TOPIC, 0): 105, TP(TOPIC, 1): 9}
    lane.applied(batch[:2])  # never goes back
    assert lane.committable(TP(TOPIC, 0)) == 105


async def test_closing_drops_what_was_not_taken_and_waits_for_the_batch_in_hand() -> None:
    lane = Lane(TOPIC, batch_max=2, capacity=10)
    lane.put(records(0, range(0, 5)))
    batches = lane.batches()
    in_hand = await next_batch(batches)
    closing = asyncio.ensure_future(lane.close())
    await asyncio.sleep(0.01)
    assert not closing.done(), "the batch in hand is finished before partitions move"
    assert lane.buffered == 0, "records not taken are dropped: they are read again from the committed offset"
    assert not lane.put(records(0, range(5, 6))), "a closed lane refuses records"
    lane.applied(in_hand)
    nothing = asyncio.ensure_future(next_batch(batches))  # the task asks for its next batch
    await asyncio.wait_for(closing, 1)
    assert lane.committable_offsets() == {TP(TOPIC, 0): 2}

    lane.open([TP(TOPIC, 1)])  # partition 0 went to another worker
    assert lane.committable_offsets() == {}
    assert lane.put(records(1, range(0, 1)))
    assert [r.offset for r in await nothing] == [0]


async def test_closing_an_idle_lane_returns_at_once() -> None:
    lane = Lane(TOPIC, batch_max=2, capacity=4)
    await asyncio.wait_for(lane.close(), 1)


async def test_closing_waits_until_the_batches_applied_so_far_are_acknowledged() -> None:
    # The task applies a batch while the previous one's writes are on their way (streams.agents).
    lane = Lane(TOPIC, batch_max=2, capacity=10)
    lane.put(records(0, range(0, 4)))
    batches = lane.batches()
    first = await next_batch(batches)
    acknowledged = asyncio.get_running_loop().create_future()

    async def committable() -> None:
        await acknowledged
        lane.applied(first)

    lane.settling(asyncio.ensure_future(committable()))
    second = asyncio.ensure_future(next_batch(batches))  # the batch in hand is released: a new one taken
    await second
    closing = asyncio.ensure_future(lane.close())
    nothing = asyncio.ensure_future(next_batch(batches))  # the second batch applied, the task asks again
    await asyncio.sleep(0.01)
    assert not closing.done(), "the first batch's writes are not acknowledged yet"
    acknowledged.set_result(None)
    await asyncio.wait_for(closing, 1)
    assert lane.committable_offsets() == {TP(TOPIC, 0): 2}, "committed as partitions move"
    nothing.cancel()


async def test_records_go_to_the_digest_process_only_while_the_lane_is_behind() -> None:
    class Digester:
        def __init__(self) -> None:
            self.sent: list[list[int]] = []

        def submit(self, topic: str, records: list[LaneRecord]) -> None:
            self.sent.append([r.offset for r in records])

    digester = Digester()
    lane = Lane(TOPIC, batch_max=2, capacity=10, digester=digester)  # type: ignore[arg-type]
    batches = lane.batches()
    lane.put(records(0, range(0, 1)))  # keeping up: digested by the task itself
    first = await next_batch(batches)
    lane.put(records(0, range(1, 2)))  # a batch in hand: behind
    lane.put(records(0, range(2, 3)))  # records waiting: behind
    assert digester.sent == [[1], [2]]
    lane.applied(first)
    assert [r.offset for r in await next_batch(batches)] == [1, 2]
