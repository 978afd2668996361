"""Knowing that a batch's writes are on the broker before the batch is acknowledged.

Faust's ``producer.flush()`` is not a barrier: its buffer gives up after 0.1 s without a send, so a
table write could still be queued when an agent went on to mark its events seen, and a SIGKILL then
left the seen mark durable and the write lost (the crash test caught an ownership statement lost that
way). Instead, every changelog write and every send an agent makes is tracked until the broker
acknowledges it, and an agent awaits them all before its batch is acknowledged.

A send that fails cannot be retried in place: ``take_batches`` (like Faust's ``take_events``) acknowledges
a batch even when the agent raises, so the offsets would be committed over the loss. The worker exits
instead, and its restart reprocesses the batch from the committed offsets (at-least-once; alert ids are stable).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

EXIT_CODE = 70  # EX_SOFTWARE: an internal error a restart cures (the watchdog exits with it too)


class PendingWrites:
    """Sends not yet acknowledged by the broker (each with the tasks that made it), and the first that failed.

    An agent's batch needs only its own writes on the broker (``settled(own=True)``): waiting for every
    write tied the alert path to the shipment stream's changelog traffic. Partitions moving need all.
    """

    def __init__(self) -> None:
        # Each send with the tasks that made it: a write appended to a shared batch (streams/bulk.py) is
        # acknowledged with the batch, and each task that made one of its writes owns it.
        self._pending: dict[asyncio.Future[Any], set[asyncio.Task[Any] | None]] = {}
        self.failure: BaseException | None = None

    def track(self, future: asyncio.Future[Any]) -> asyncio.Future[Any]:
        if future.done():
            self._done(future)
            return future
        owners = self._pending.get(future)
        if owners is None:
            self._pending[future] = {asyncio.current_task()}
            future.add_done_callback(self._done)
        else:
            owners.add(asyncio.current_task())
        return future

    def _done(self, future: asyncio.Future[Any]) -> None:
        self._pending.pop(future, None)
        if not future.cancelled() and future.exception() is not None and self.failure is None:
            self.failure = future.exception()

    async def settled(self, *, own: bool = False) -> None:
        """Return once everything tracked so far (``own``: by the calling task) is acknowledged; raise the
        first failure of any task (a failed write ends the worker whoever made it)."""
        task = asyncio.current_task() if own else None
        while waiting := [f for f, owners in self._pending.items() if not own or task in owners]:
            await asyncio.wait(waiting)
        if self.failure is not None:
            raise self.failure

    def owned(self) -> list[asyncio.Future[Any]]:
        """The calling task's writes not yet acknowledged (to await later, from another task)."""
        task = asyncio.current_task()
        return [f for f, owners in self._pending.items() if task in owners]

    async def acknowledged(self, writes: Iterable[asyncio.Future[Any]]) -> None:
        """Return once ``writes`` are acknowledged; raise the first failure of any task, as ``settled``."""
        if waiting := [f for f in writes if not f.done()]:
            await asyncio.wait(waiting)
        if self.failure is not None:
            raise self.failure

    def __len__(self) -> int:
        return len(self._pending)


def track_writes(tables: Iterable[Any], pending: PendingWrites) -> None:
    """Route each table's changelog sends through ``pending`` (Faust's Table calls ``self.send_changelog``)."""
    for table in tables:
        send = table.send_changelog

        def tracked(*args: Any, _send: Any = send, **kwargs: Any) -> Any:
            return pending.track(_send(*args, **kwargs))

        table.send_changelog = tracked


async def durable(pending: PendingWrites, writes: Iterable[asyncio.Future[Any]] | None = None) -> None:
    """Await the calling task's tracked writes (or ``writes``, from ``PendingWrites.owned``); on a failed
    write, end the process (see the module docstring)."""
    try:
        await (pending.settled(own=True) if writes is None else pending.acknowledged(writes))
    except Exception as error:  # any failed send: the batch must not be acknowledged
        log.critical("a write was not acknowledged by the broker (%s: %s): exiting so a restart "
                     "reprocesses the batch from the committed offsets", type(error).__name__, error)
        logging.shutdown()
        os._exit(EXIT_CODE)


def settle_before_rebalance(app: Any, pending: PendingWrites, timeout_s: float) -> None:
    """Before partitions move, wait until this worker's writes are on the broker.

    Faust's own flush on revocation is the 0.1 s one. A changelog write still in flight when the new
    assignment's recovery reads the changelog's high-water marks would be missing from the recovered
    table, and the key's older value would stand in memory until its next write.
    """

    async def settle(*args: Any, **kwargs: Any) -> None:
        try:
            await asyncio.wait_for(pending.settled(), timeout_s)
        except TimeoutError:
            log.warning("%d writes still unacknowledged after %.0fs as partitions move", len(pending), timeout_s)
        except Exception as error:  # a failed write: the same rule as on the agents' path
            log.critical("a write failed as partitions move (%s: %s): exiting", type(error).__name__, error)
            logging.shutdown()
            os._exit(EXIT_CODE)

    app.on_partitions_revoked.connect(settle)
