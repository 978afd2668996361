"""Batches of a Faust stream's events, with the window opened by a batch's first event.

faust-streaming's ``Stream.take_events(max, within)`` wakes every ``within`` seconds whether or not an event
came, and each wake-up runs mode's ``wait_first`` (new tasks, ``asyncio.wait``). With four agents on 5-10 ms
windows that polling was a third of the worker's CPU per shipment at volume, and it competed with the
shipment stream for the one thread (docs/performance.md, third round). Here an agent with nothing to do
waits on an event without a timeout; the window starts when a batch's first event arrives, so an event
still waits at most ``within`` for the ones published with it.

The rest is Faust's method (faust-streaming 0.15.3): a processor on the stream's passive drainer fills
the buffer, and a batch's events are acknowledged only after the agent is done with it, so Faust commits
their offsets only then. It uses the same stream internals as ``take_events``; recheck on a Faust upgrade.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from mode.utils.futures import notify


async def take_batches(stream: Any, max_: int, within: float) -> AsyncIterator[list[Any]]:
    """Lists of up to ``max_`` events: each one as soon as it is full, or ``within`` seconds after its first event."""
    events: list[Any] = []
    started = asyncio.Event()
    full = asyncio.Event()
    consumed = asyncio.Event()
    consuming: asyncio.Future[None] | None = None

    async def add_to_buffer(value: Any) -> Any:
        # Runs in the stream's passive drainer for every event, before the agent sees any of them.
        nonlocal consuming
        try:
            if consuming is not None:  # the agent is working on the previous batch
                try:
                    await consuming
                finally:
                    consuming = None
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_batches found no current event")
            events.append(event)
            started.set()
            if len(events) >= max_:
                full.set()
                consumed.clear()
                await stream.wait(consumed)  # never more than max_ in one batch
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the drainer must not die silently: crash the stream as Faust does
            stream.log.exception("Error adding to take buffer: %r", error)
            await stream.crash(error)
        return value

    enable_acks = stream.enable_acks
    stream.enable_acks = False  # acknowledged below, once the agent has handled the batch
    stream.add_processor(add_to_buffer)
    stream._enable_passive(aiter(stream.channel))
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(started)
            await stream.wait_for_stopped(full, timeout=within)
            if not events:
                continue
            consuming = asyncio.get_running_loop().create_future()
            try:
                yield list(events)
            finally:
                for event in events:
                    await stream.ack(event)
                events.clear()
                notify(consuming)
                started.clear()
                full.clear()
                consumed.set()
    finally:
        stream.enable_acks = enable_acks
        stream._processors.remove(add_to_buffer)
