"""Between measurements: what the last one left behind written out, and the machine's CPU quiet.

Each phase leaves work behind it that the next would otherwise measure as its own: the kernel writes
out the last phase's dirty pages (the broker's segments, RocksDB's files, 100-175 MB after the worker's
throughput run) about 30 s after they were written, when the next phase is running. The alert latency,
timed right after the throughput run, had its p99 about halved once they were written out first
(docs/performance.md, item 17). Every phase is settled alike, the limit's and the peer's too.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")
QUIET_SHARE = 0.25
"""The machine counts as quiet below this share of its CPUs busy (the idle broker uses a few %)."""
QUIET_SAMPLES = 3
SAMPLE_S = 0.5
LIMIT_S = 30.0
"""At most this long: a machine that stays busy (another tenant) is measured as it is, and the figures say so."""

CpuTimes = tuple[int, int]
"""(busy, total) clock ticks summed over every CPU since boot."""


@dataclass(frozen=True)
class Settled:
    seconds: float
    busy_share: float
    """The last sample's share of the CPUs busy."""
    quiet: bool
    """False when the limit ran out first, or the machine has no ``/proc/stat`` to tell."""


def cpu_times(stat: str) -> CpuTimes:
    """Busy and total ticks from ``/proc/stat``'s first line (user nice system idle iowait irq softirq steal)."""
    for line in stat.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            ticks = [int(f) for f in fields[1:9]]  # guest time is already counted in user and nice
            idle = ticks[3] + ticks[4]
            return sum(ticks) - idle, sum(ticks)
    raise ValueError("no aggregate cpu line in /proc/stat")


def busy_share(before: CpuTimes, after: CpuTimes) -> float:
    """The share of the CPUs busy between two readings (0 when no tick passed)."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def _read_stat() -> str:
    return PROC_STAT.read_text()


async def settle(*, read: Callable[[], str] = _read_stat, quiet_share: float = QUIET_SHARE,
                 quiet_samples: int = QUIET_SAMPLES, sample_s: float = SAMPLE_S, limit_s: float = LIMIT_S) -> Settled:
    """Write out dirty pages (``sync``), then wait for ``quiet_samples`` quiet samples in a row, at most ``limit_s``."""
    started = time.monotonic()
    await asyncio.to_thread(os.sync)
    try:
        previous = cpu_times(read())
    except (OSError, ValueError):
        return Settled(time.monotonic() - started, 0.0, False)
    streak, share = 0, 0.0
    while streak < quiet_samples and time.monotonic() - started < limit_s:
        await asyncio.sleep(sample_s)
        current = cpu_times(read())
        share, previous = busy_share(previous, current), current
        streak = streak + 1 if share < quiet_share else 0
    return Settled(time.monotonic() - started, share, streak >= quiet_samples)
