"""A global table's copy follows the changelog's order when its own writes come back late."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from streams.observed import OwnWrites


def written(offset: int | None = None) -> asyncio.Future[Any]:
    sent: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    if offset is not None:
        sent.set_result(SimpleNamespace(offset=offset))
    return sent


async def test_the_echo_of_an_earlier_write_does_not_replace_a_newer_one() -> None:
    applied: list[tuple[str, str]] = []
    own = OwnWrites(lambda key, record: applied.append((key, record)))
    own.wrote("scale-ai", written(10))
    own.wrote("scale-ai", written(12))  # Meta's stake, written after Accel's
    assert not own.admit("scale-ai", 10, "accel only"), "its own earlier write, superseded"
    assert own.admit("turing", 11, "another key"), "keys it did not write apply as they come"
    assert own.admit("scale-ai", 12, "with meta"), "the echo of its latest write"
    assert len(own) == 0, "nothing kept once the latest write came back"
    assert applied == []


async def test_records_read_while_its_write_is_in_flight_wait_for_its_offset() -> None:
    applied: list[tuple[str, str]] = []
    own = OwnWrites(lambda key, record: applied.append((key, record)))
    older, newer = written(), written()
    own.wrote("scale-ai", older)
    assert not own.admit("scale-ai", 7, "before it")
    older.set_result(SimpleNamespace(offset=8))
    await asyncio.sleep(0)
    assert applied == [], "a record older than its write is dropped"

    own.wrote("holdco", newer)
    assert not own.admit("holdco", 20, "another worker's, after it")
    newer.set_result(SimpleNamespace(offset=19))
    await asyncio.sleep(0)
    assert applied == [("holdco", "another worker's, after it")], "the log's later write wins"


async def test_a_failed_write_supersedes_nothing() -> None:
    applied: list[tuple[str, str]] = []
    own = OwnWrites(lambda key, record: applied.append((key, record)))
    failed = written()
    own.wrote("scale-ai", failed)
    assert not own.admit("scale-ai", 3, "another worker's")
    failed.set_exception(ConnectionError("broker gone"))
    await asyncio.sleep(0)
    assert applied == [("scale-ai", "another worker's")]
