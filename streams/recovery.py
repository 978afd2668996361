"""Faust's table recovery, with the stream partitions resumed only once they are positioned.

After a rebalance faust-streaming's ``Recovery.on_recovery_completed`` resumed the stream partitions and
*then* awaited ``consumer.perform_seek()``, which asks the broker for the committed offset of every assigned
partition one at a time (a few hundred milliseconds after a restart). Meanwhile the fetcher already handed
the resumed partitions' records to the agents' queues. Once the seek returned, Faust

- reset each partition's read offset to its committed offset, although the consumer's position was already
  past the records handed out, and
- resumed flow control, which clears every agent queue (``clear_on_resume``): the records still queued
  were dropped, never processed nor acknowledged.

The next record of such a partition then arrived more than one offset after the read offset, which Faust's
consumer takes for a gap (offsets a compacted or transactional topic never delivers) and marks as
processed, so the next commit skipped the dropped records. The worker crash test lost evaluation requests
that way: a vendor's opening, evaluated by nobody, committed as done. Where the gap was not recorded, the
partition's commits stopped at the hole instead (the stalls the watchdog ends).

Here the stream partitions stay paused, in Faust and in aiokafka (``fetching``), until the seek is done
and the queues are cleared; they are resumed last. No record reaches an agent before its partition is
positioned at the committed offset, and nothing of theirs is queued when the queues are cleared. The rest
is Faust's method unchanged (faust-streaming 0.15.3).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka import TopicPartition
from faust.tables import TableManager
from faust.tables.recovery import Recovery


class SeekFirstRecovery(Recovery):
    async def on_recovery_completed(self, generation_id: int = 0) -> None:
        consumer = self.app.consumer
        self.log.info("Restore complete!")
        await self.app.on_rebalance_complete.send()
        self._set_recovery_ended()
        callbacks = [
            asyncio.ensure_future(table.on_recovery_completed(self.actives_for_table[table],
                                                              self.standbys_for_table[table]))
            for table in self.tables.values()
        ]
        if callbacks:
            await asyncio.wait(callbacks)
        if self._rebalanced_since(generation_id):
            return
        assignment = consumer.assignment()
        streams = {tp for tp in assignment if not self._is_changelog_tp(tp)}
        if assignment:
            self.log.info("Seek stream partitions to committed offsets.")
            await fetching(consumer, streams, paused=True)
            await self._wait(consumer.perform_seek(), timeout=self.app.conf.broker_request_timeout)
            await rewind_uncommitted(consumer, streams, self.app.conf.consumer_auto_offset_reset)
            if self._rebalanced_since(generation_id):
                return  # the next recovery positions and resumes the new assignment
        self.completed.set()
        # Clears the agents' queues: before any stream partition is resumed, so there is nothing to drop.
        self.app.flow_control.resume()
        consumer.resume_flow()
        consumer.resume_partitions(streams)
        await fetching(consumer, streams, paused=False)
        await cast(Any, self.app)._fetcher.maybe_start()
        self.tables.on_actives_ready()
        if not self.app.assignor.assigned_standbys():
            self.tables.on_standbys_ready()
        self.app.on_rebalance_end()
        self.log.info("Worker ready")

    def _rebalanced_since(self, generation_id: int) -> bool:
        if self.app.consumer_generation_id == generation_id:
            return False
        self.log.warning(f"Recovery rebalancing again app id {self.app.consumer_generation_id} "
                         f"param {generation_id}")
        return True


async def fetching(consumer: Any, tps: set[Any], *, paused: bool) -> None:
    """Pause or resume ``tps`` in the aiokafka consumer itself, in its thread.

    Faust's own pause only leaves a partition out of the set it passes to each fetch; a fetch in flight
    when that set became empty (all changelogs paused, no stream partition resumed yet) returned every
    partition's records, and Faust dropped those of partitions it had not resumed, after aiokafka had
    moved past them. Paused in aiokafka, a partition's records are neither fetched nor consumed.
    """
    thread = consumer._thread

    async def apply() -> None:
        client = thread._ensure_consumer()
        assigned = client.assignment()
        partitions = [tp for tp in (TopicPartition(t.topic, t.partition) for t in tps) if tp in assigned]
        if paused:
            client.pause(*partitions)
        else:
            client.resume(*partitions)

    await thread.call_thread(apply)


async def rewind_uncommitted(consumer: Any, tps: set[Any], reset: str) -> None:
    """Position the partitions ``perform_seek`` left alone: aiokafka seeks only to a committed offset above 0.

    A partition committed at 0, or never, kept the position its fetches had reached, and a fetch during
    recovery can consume records Faust then drops (a fetch in flight while Faust's set of partitions to
    fetch was empty returned every partition's). Nothing of such a partition was delivered and nothing
    could be committed past the hole: the partition stalled until the watchdog restarted the worker.
    """
    read = consumer._read_offset  # what perform_seek found committed: 0 or None for these
    uncommitted = {tp for tp in tps if not read.get(tp)}
    if not uncommitted:
        return
    thread = consumer._thread

    async def apply() -> None:
        client = thread._ensure_consumer()
        assigned = client.assignment()
        for tp in (TopicPartition(t.topic, t.partition) for t in uncommitted):
            if tp not in assigned:
                continue
            if read.get(tp) == 0:
                client.seek(tp, 0)
            elif reset == "earliest":
                await client.seek_to_beginning(tp)
            else:
                await client.seek_to_end(tp)

    await thread.call_thread(apply)


class SeekFirstTableManager(TableManager):
    """The app's table manager (``faust.App(..., TableManager=...)``): Faust's, with ``SeekFirstRecovery``."""

    @property
    def recovery(self) -> Recovery:
        if self._recovery is None:
            self._recovery = SeekFirstRecovery(self.app, self, beacon=self.beacon, loop=self.loop)
        return self._recovery
