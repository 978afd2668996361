"""A watchdog for a worker that stops making progress.

Under rapid SIGKILL-and-restart cycles a Faust stream was seen to stop taking records from a partition
that still had some (its committed offset frozen below the high-water mark, the process otherwise
healthy), so alerts stopped. One cause, Faust resuming the stream partitions before seeking them (a hole
its consumer could not commit past), is fixed in ``streams/recovery.py``; the watchdog stays for any other.
A worker in that state cannot heal itself; a supervisor can. The watchdog
finds such partitions, reports them (metric, log, ``/livez``) from half of ``STALL_TIMEOUT_S`` and, past it, ends the
process so systemd or Kubernetes restart it: processing is at-least-once and alert ids are stable, so
resuming from the committed offsets loses and duplicates nothing.

``StallTracker`` decides (plain data in, plain data out); ``register_watchdog`` is the glue.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Gauge

from streams.app import Worker
from streams.durability import EXIT_CODE
from streams.web import readiness

log = logging.getLogger(__name__)

CHECK_INTERVAL_S = 5.0


@dataclass
class StallTracker:
    """Partitions with records beyond their committed offset whose committed offset has not moved."""

    timeout_s: float
    _since: dict[str, tuple[int, float]] = field(default_factory=dict)

    def observe(self, now: float, progress: Mapping[str, tuple[int | None, int | None]]) -> dict[str, float]:
        """``progress``: partition -> (committed offset, high-water mark), None where unknown.

        Returns the partitions stalled for at least ``timeout_s``, with the seconds they have been.
        """
        stalled: dict[str, float] = {}
        for key in list(self._since):
            if key not in progress:
                del self._since[key]
        for key, (committed, highwater) in progress.items():
            position = committed or 0
            if highwater is None or position >= highwater:
                self._since.pop(key, None)  # caught up (or nothing known yet): not stalled
                continue
            previous = self._since.get(key)
            if previous is None or previous[0] != position:
                self._since[key] = (position, now)  # behind, but moving (or newly behind)
                continue
            waited = now - previous[1]
            if waited >= self.timeout_s:
                stalled[key] = waited
        return stalled

    def reset(self) -> None:
        self._since.clear()


def register_watchdog(worker: Worker, watched_topics: frozenset[str]) -> None:
    app, settings = worker.app, worker.settings
    if settings.stall_timeout_s == 0:
        return
    # Reported (metric, /livez, a warning) from half the timeout; the process ends at the timeout.
    tracker = StallTracker(settings.stall_timeout_s / 2)
    gauge = Gauge("vendorwatch_stalled_partitions",
                  "Partitions with records left whose committed offset has not moved for half of STALL_TIMEOUT_S.",
                  registry=worker.registry)

    async def check() -> None:
        if readiness(app) != "ok":
            tracker.reset()  # a rebalance or a recovery moves positions on purpose
            return
        stalled = tracker.observe(time.monotonic(), _progress(app.consumer, watched_topics))
        worker.stalled.clear()
        worker.stalled.update({tp: round(seconds, 1) for tp, seconds in stalled.items()})
        gauge.set(len(stalled))
        if stalled:
            log.warning("no progress for %.0fs on %s, which have records left", max(stalled.values()),
                        sorted(worker.stalled))
        if stalled and max(stalled.values()) >= settings.stall_timeout_s:
            log.critical("no progress on %s for %.0fs with records left: exiting so a supervisor restarts "
                         "this worker from its committed offsets", sorted(worker.stalled),
                         max(stalled.values()))
            logging.shutdown()
            os._exit(EXIT_CODE)  # a wedged event loop may never finish a graceful stop

    app.timer(interval=CHECK_INTERVAL_S)(check)


def _progress(consumer: Any, topics: frozenset[str]) -> dict[str, tuple[int | None, int | None]]:
    committed: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {})
    progress: dict[str, tuple[int | None, int | None]] = {}
    for tp in consumer.assignment():
        if tp.topic in topics:
            progress[f"{tp.topic}[{tp.partition}]"] = (committed.get(tp), consumer.highwater(tp))
    return progress
