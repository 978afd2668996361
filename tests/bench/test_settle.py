"""The pause between the benchmark's phases: /proc/stat read right, and the wait ends as it says."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from bench.settle import busy_share, cpu_times, settle

STAT = """cpu  100 5 20 800 40 3 2 0 7 0
cpu0 50 2 10 400 20 1 1 0 3 0
intr 12345 0 0
"""


def _stat(busy: int, idle: int) -> str:
    return f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0\n"


def _readings(*shares: float, step: int = 1000) -> Callable[[], str]:
    """A reader giving a first reading, then one per share: ``share`` of ``step`` ticks busy."""
    def readings() -> Iterator[str]:
        busy = idle = 0
        yield _stat(busy, idle)
        for share in shares:
            busy, idle = busy + round(step * share), idle + round(step * (1 - share))
            yield _stat(busy, idle)
    it = readings()
    return lambda: next(it)


def test_busy_is_everything_but_idle_and_iowait_and_guest_time_is_not_counted_twice():
    assert cpu_times(STAT) == (100 + 5 + 20 + 3 + 2, 100 + 5 + 20 + 800 + 40 + 3 + 2)


def test_a_stat_without_the_aggregate_line_is_refused():
    with pytest.raises(ValueError, match="cpu line"):
        cpu_times("cpu0 1 2 3 4 5 6 7 8\n")


def test_the_share_busy_between_two_readings():
    assert busy_share((100, 1000), (400, 2000)) == pytest.approx(0.3)
    assert busy_share((100, 1000), (100, 1000)) == 0.0


async def test_it_waits_for_quiet_samples_in_a_row():
    # busy, quiet, busy (the streak starts again), then three quiet: done after six samples
    reader = _readings(0.9, 0.1, 0.8, 0.1, 0.2, 0.05, 0.9)
    settled = await settle(read=reader, sample_s=0, limit_s=60)
    assert settled.quiet and settled.busy_share == pytest.approx(0.05)
    assert reader() == _stat(3050, 3950)  # the seventh sample was never taken


async def test_a_machine_that_stays_busy_is_given_up_on_at_the_limit():
    settled = await settle(read=_readings(*[0.9] * 1000), sample_s=0.001, limit_s=0.05)
    assert not settled.quiet and settled.busy_share == pytest.approx(0.9)


async def test_without_proc_stat_it_only_syncs():
    def missing() -> str:
        raise FileNotFoundError("/proc/stat")
    settled = await settle(read=missing, sample_s=0, limit_s=60)
    assert not settled.quiet and settled.busy_share == 0.0
