"""A Faust GlobalTable that tells an observer about every entry change, local or from its changelog, and
knows how far it has read its changelog (``ReadThrough``) and where its own latest write went."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

import faust

from streams.read_through import ReadThrough

Observer = Callable[[str, Any], None]


class ObservedGlobalTable(faust.GlobalTable):
    """Calls ``observer(key, value_or_None)`` after each change, and ``on_rebuild(items)`` after recovery.

    Always kept in memory, whatever TABLE_STORE says: global tables are small and rebuilt from their
    one-partition changelog at start anyway, and on RocksDB the worker re-applied its own earlier writes
    from that changelog over newer ones, so the cache went back in time (an alert opened, then resolved).
    """

    def _new_store(self) -> Any:
        return self._new_store_by_url("memory://")

    observer: Observer
    on_rebuild: Callable[[Iterable[tuple[str, Any]]], None]
    read_through: ReadThrough
    """The offset up to which this worker's copy has read the changelog (its one partition)."""
    last_sent: asyncio.Future[Any] | None = None
    """The changelog send of this worker's latest write (its result names the offset)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_through = ReadThrough()

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        sent = super().send_changelog(*args, **kwargs)
        self.last_sent = sent
        return sent

    def on_key_set(self, key: Any, value: Any) -> None:
        super().on_key_set(key, value)
        self.observer(key, value)

    def on_key_del(self, key: Any) -> None:
        super().on_key_del(key)
        self.observer(key, None)

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        events = list(batch)
        super().apply_changelog_batch(events)
        if events:
            self.read_through.advance(max(event.message.offset for event in events))
        # Read back what the store now holds: within a batch the last write of a key wins.
        for key in {self._to_key(event.key) for event in events}:
            self.observer(key, self.data.get(key))

    async def on_recovery_completed(self, active_tps: Any, standby_tps: Any) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        self.on_rebuild(list(self.data.items()))
