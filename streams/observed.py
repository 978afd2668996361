"""A Faust GlobalTable that tells an observer about every entry change, local or from its changelog."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import faust

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

    def on_key_set(self, key: Any, value: Any) -> None:
        super().on_key_set(key, value)
        self.observer(key, value)

    def on_key_del(self, key: Any) -> None:
        super().on_key_del(key)
        self.observer(key, None)

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        events = list(batch)
        super().apply_changelog_batch(events)
        # Read back what the store now holds: within a batch the last write of a key wins.
        for key in {self._to_key(event.key) for event in events}:
            self.observer(key, self.data.get(key))

    async def on_recovery_completed(self, active_tps: Any, standby_tps: Any) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        self.on_rebuild(list(self.data.items()))
