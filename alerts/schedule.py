"""When the next attempt of a delivery is due: the Standard Webhooks / Svix retry schedule, as pure functions.

The first attempt is immediate; after failure ``n`` the next comes ``delays[n-1]`` later (the last delay
repeats), stretched or shrunk by up to ``jitter`` (a fraction) so the retries of many alerts that failed
together in one receiver outage do not come back in one burst. A ``Retry-After`` from the receiver is
honoured when it asks for longer, never shorter, so ``Retry-After: 0`` cannot make us spin.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from schemas.errors import ConfigError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "": 1.0}
_DELAY = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")


class Jitter(Protocol):
    """The part of ``random.Random`` the schedule needs; tests pass a seeded ``random.Random``."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True, slots=True)
class Schedule:
    delays: tuple[float, ...]
    jitter: float = 0.2

    def delay(self, failures: int, rng: Jitter) -> float:
        """Seconds to wait after the ``failures``-th failed attempt (counting from 1)."""
        if failures < 1:
            raise ValueError("failures counts from 1")
        base = self.delays[min(failures, len(self.delays)) - 1]
        return base * rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)

    def next_due(self, failures: int, now: float, retry_after: float | None, rng: Jitter) -> float:
        delay = self.delay(failures, rng)
        return now + (delay if retry_after is None else max(delay, retry_after))


def parse_delays(text: str, setting: str = "VENDORWATCH_RETRY_SCHEDULE") -> tuple[float, ...]:
    """``"5s,5m,30m,2h"`` -> ``(5.0, 300.0, 1800.0, 7200.0)``; a bare number is seconds."""
    delays: list[float] = []
    for item in (part.strip() for part in text.split(",")):
        found = _DELAY.match(item)
        if found is None:
            raise ConfigError(setting, f"cannot read delay {item!r}: expected e.g. 5s, 5m, 2h")
        delay = float(found.group(1)) * _UNITS[found.group(2) or ""]
        if delay <= 0:
            raise ConfigError(setting, f"delay {item!r} must be above zero")
        delays.append(delay)
    return tuple(delays)


def attempt_times(schedule: Schedule, horizon_s: float, rng: Jitter, start: float = 0.0) -> Sequence[float]:
    """Every attempt time of a delivery that always fails, from ``start`` until the horizon (for docs, tests)."""
    times = [start]
    while True:
        due = schedule.next_due(len(times), times[-1], None, rng)
        if due > start + horizon_s:
            return times
        times.append(due)
