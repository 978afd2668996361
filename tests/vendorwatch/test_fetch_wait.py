"""``fetch_promptly``: unconsumed records hold fetches back briefly, and a fetch's wait follows the buffer."""

from __future__ import annotations

from typing import Any

from vendorwatch.brokers import FETCH_WAIT_BUSY_MS, FETCH_WAIT_IDLE_MS, PREFETCH_BACKOFF_S, fetch_promptly


class FakeFetcher:
    """The members of aiokafka's Fetcher that fetch_promptly uses."""

    def __init__(self) -> None:
        self._records: dict[str, Any] = {}
        self._prefetch_backoff = 0.1
        self._fetch_max_wait_ms = 1500
        self.planned: list[tuple[Any, int]] = []

    def _get_actions_per_node(self, assignment: Any) -> str:
        self.planned.append((assignment, self._fetch_max_wait_ms))
        return "actions"


def test_a_request_waits_briefly_while_records_are_buffered_and_long_when_none_are() -> None:
    fetcher = FakeFetcher()
    fetch_promptly(fetcher)
    assert fetcher._prefetch_backoff == PREFETCH_BACKOFF_S
    assert fetcher._get_actions_per_node("idle") == "actions"
    fetcher._records["tp-0"] = object()  # records of a partition not yet taken: left out of the request
    fetcher._get_actions_per_node("busy")
    fetcher._records.clear()
    fetcher._get_actions_per_node("drained")
    assert fetcher.planned == [("idle", FETCH_WAIT_IDLE_MS), ("busy", FETCH_WAIT_BUSY_MS),
                               ("drained", FETCH_WAIT_IDLE_MS)]
