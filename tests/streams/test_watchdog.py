"""The watchdog's decision: which partitions have records left and a committed offset that stopped moving."""

from __future__ import annotations

import pytest

from schemas.errors import ConfigError
from streams.watchdog import StallTracker
from vendorwatch.settings import load_settings


def test_a_partition_behind_and_not_moving_is_stalled_once_the_timeout_has_passed() -> None:
    tracker = StallTracker(timeout_s=30)
    assert tracker.observe(0, {"evaluations[0]": (3, 12)}) == {}
    assert tracker.observe(29, {"evaluations[0]": (3, 12)}) == {}
    assert tracker.observe(31, {"evaluations[0]": (3, 12)}) == {"evaluations[0]": 31}


def test_progress_restarts_the_clock() -> None:
    tracker = StallTracker(timeout_s=30)
    tracker.observe(0, {"orgs[1]": (3, 12)})
    assert tracker.observe(25, {"orgs[1]": (4, 12)}) == {}, "the committed offset moved"
    assert tracker.observe(50, {"orgs[1]": (4, 14)}) == {}, "behind for 25 s only since it last moved"
    assert tracker.observe(56, {"orgs[1]": (4, 14)}) == {"orgs[1]": 31}


@pytest.mark.parametrize("caught_up", [(12, 12), (None, 0), (5, None), (0, 0)])
def test_a_caught_up_or_unknown_partition_is_never_stalled(caught_up: tuple[int | None, int | None]) -> None:
    tracker = StallTracker(timeout_s=1)
    for now in range(10):
        assert tracker.observe(now, {"contracts[2]": caught_up}) == {}


def test_a_partition_never_committed_counts_from_offset_zero() -> None:
    tracker = StallTracker(timeout_s=5)
    tracker.observe(0, {"ownership[0]": (None, 3)})
    assert tracker.observe(6, {"ownership[0]": (None, 3)}) == {"ownership[0]": 6}


def test_a_partition_revoked_is_forgotten_and_reset_clears_everything() -> None:
    tracker = StallTracker(timeout_s=5)
    tracker.observe(0, {"a[0]": (1, 2), "a[1]": (1, 2)})
    assert tracker.observe(6, {"a[1]": (1, 2)}) == {"a[1]": 6}
    assert tracker.observe(7, {"a[0]": (1, 2)}) == {}, "a[0] came back: its clock starts again"
    tracker.reset()
    assert tracker.observe(20, {"a[0]": (1, 2)}) == {}


@pytest.mark.parametrize("value", ["5", "-1"])
def test_a_stall_timeout_too_short_to_be_safe_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="VENDORWATCH_STALL_TIMEOUT_S"):
        load_settings({"VENDORWATCH_STALL_TIMEOUT_S": value})


def test_zero_turns_the_watchdog_off() -> None:
    assert load_settings({"VENDORWATCH_STALL_TIMEOUT_S": "0"}).stall_timeout_s == 0
