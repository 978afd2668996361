"""The retry schedule with an injected clock and seeded jitter."""

from __future__ import annotations

import random

import pytest

from alerts.schedule import Schedule, attempt_times, parse_delays
from schemas.errors import ConfigError

STANDARD = parse_delays("5s,5m,30m,2h,5h,10h")


class NoJitter:
    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def test_default_schedule_is_the_standard_webhooks_one() -> None:
    assert STANDARD == (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0)
    times = attempt_times(Schedule(STANDARD, jitter=0.0), horizon_s=3 * 86400, rng=NoJitter())
    # immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 10 h until the horizon
    assert times[:8] == [0, 5, 305, 2105, 9305, 27305, 63305, 99305]
    assert times[-1] <= 3 * 86400 and times[-1] + 36000 > 3 * 86400


def test_horizon_cuts_the_schedule() -> None:
    assert attempt_times(Schedule(STANDARD, jitter=0.0), horizon_s=3600, rng=NoJitter()) == [0, 5, 305, 2105]


def test_jitter_stays_within_its_fraction() -> None:
    schedule = Schedule((100.0,), jitter=0.2)
    rng = random.Random(7)  # noqa: S311 - jitter, not security
    delays = [schedule.delay(3, rng) for _ in range(500)]
    assert min(delays) >= 80 and max(delays) <= 120
    assert max(delays) - min(delays) > 20  # actually spread


def test_retry_after_is_a_floor() -> None:
    schedule = Schedule((5.0,), jitter=0.0)
    assert schedule.next_due(1, now=1000.0, retry_after=60.0, rng=NoJitter()) == 1060.0
    assert schedule.next_due(1, now=1000.0, retry_after=0.0, rng=NoJitter()) == 1005.0
    assert schedule.next_due(1, now=1000.0, retry_after=None, rng=NoJitter()) == 1005.0


@pytest.mark.parametrize("text", ["", "5x", "-1s", "0s", "5s,,5m"])
def test_bad_schedules_name_the_setting(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_delays(text)
    assert info.value.setting == "VENDORWATCH_RETRY_SCHEDULE"


def test_units() -> None:
    assert parse_delays("250ms, 2, 1m, 1h, 1d") == (0.25, 2.0, 60.0, 3600.0, 86400.0)
