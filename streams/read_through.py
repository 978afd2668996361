"""How far a worker's copy of a global table has read the table's changelog, and waiting for an offset.

A world request (``streams.requests``) leaves once the writes that caused it are on the broker, but every
worker evaluates it with its own copy of the global tables (organisations, competitor sets, ownership),
which reads the changelogs as they come. The request names the offsets its writer had written; an
evaluator on another worker waits until its copy has read them, so it sees the change that asked for it.
"""

from __future__ import annotations

import asyncio


class ReadThrough:
    """The highest changelog offset applied (-1 before any), with waiters woken as it grows."""

    def __init__(self) -> None:
        self.offset = -1
        self._grew = asyncio.Event()

    def advance(self, offset: int) -> None:
        if offset > self.offset:
            self.offset = offset
            self._grew.set()

    async def reach(self, offset: int, timeout: float) -> bool:
        """Return once ``offset`` is applied (``True``) or after ``timeout`` seconds (``False``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.offset < offset:
            left = deadline - loop.time()
            if left <= 0:
                return False
            self._grew.clear()
            try:
                await asyncio.wait_for(self._grew.wait(), left)
            except TimeoutError:
                return self.offset >= offset
        return True
