"""How far a worker's copy of a global table has read its changelog, and waiting for an offset."""

from __future__ import annotations

import asyncio

from streams.read_through import ReadThrough


async def test_reach_returns_at_once_for_an_offset_already_read() -> None:
    read = ReadThrough()
    read.advance(5)
    assert await read.reach(5, timeout=0.01) and await read.reach(-1, timeout=0.01)


async def test_reach_waits_until_the_copy_reads_the_offset() -> None:
    read = ReadThrough()
    waiting = asyncio.create_task(read.reach(3, timeout=5))
    await asyncio.sleep(0.01)
    read.advance(2)
    await asyncio.sleep(0.01)
    assert not waiting.done(), "offset 2 is not 3"
    read.advance(4)
    assert await asyncio.wait_for(waiting, 1) is True


async def test_reach_gives_up_after_its_timeout_and_the_offset_never_goes_back() -> None:
    read = ReadThrough()
    read.advance(10)
    read.advance(4)
    assert read.offset == 10
    assert await read.reach(11, timeout=0.05) is False
