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
    one-partition changelog at start anyway.

    The worker reads its own writes back from the changelog too, a moment later. Applied as they come, the
    echo of an earlier write replaced a newer value of the key, so the copy went back in time until the
    newer write's echo arrived: an evaluation meanwhile resolved an alert that was then opened again
    (CI, with rocksdb:// tables). ``OwnWrites`` keeps a record that this worker's own later write of the
    key supersedes from being applied.
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
        self.own_writes = OwnWrites(self._apply_held)

    def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
        sent = super().send_changelog(*args, **kwargs)
        self.last_sent = sent
        return sent

    def on_key_set(self, key: Any, value: Any) -> None:
        super().on_key_set(key, value)  # sends the changelog record: last_sent is this write's
        self._wrote(key)
        self.observer(key, value)

    def on_key_del(self, key: Any) -> None:
        super().on_key_del(key)
        self._wrote(key)
        self.observer(key, None)

    def _wrote(self, key: Any) -> None:
        if self.last_sent is not None:
            self.own_writes.wrote(key, self.last_sent)

    def apply_changelog_batch(self, batch: Iterable[Any]) -> None:
        events = list(batch)
        admitted = [e for e in events if self.own_writes.admit(self._to_key(e.key), e.message.offset, e)]
        super().apply_changelog_batch(admitted)
        if events:
            self.read_through.advance(max(event.message.offset for event in events))
        # Read back what the store now holds: within a batch the last write of a key wins.
        for key in {self._to_key(event.key) for event in admitted}:
            self.observer(key, self.data.get(key))

    def _apply_held(self, key: Any, event: Any) -> None:
        super().apply_changelog_batch([event])
        self.observer(key, self.data.get(key))

    async def on_recovery_completed(self, active_tps: Any, standby_tps: Any) -> None:
        await super().on_recovery_completed(active_tps, standby_tps)
        self.on_rebuild(list(self.data.items()))


class OwnWrites:
    """This worker's latest write of each key until the changelog gives it back, and the records of that
    key read meanwhile, so that the changelog's order decides which value the copy holds.

    A record older than the key's own write (a lower offset) is skipped: the store already holds the newer
    value. While the own write is unacknowledged its offset is unknown; a record read then is held and
    decided when the acknowledgement names the offset (another worker's write can land after it).
    """

    def __init__(self, apply: Callable[[Any, Any], None]) -> None:
        self._apply = apply
        self._own: dict[Any, asyncio.Future[Any]] = {}
        self._held: dict[Any, tuple[int, Any]] = {}

    def __len__(self) -> int:
        return len(self._own)

    def wrote(self, key: Any, sent: asyncio.Future[Any]) -> None:
        self._own[key] = sent
        sent.add_done_callback(lambda done: self._settled(key, done))

    def admit(self, key: Any, offset: int, record: Any) -> bool:
        """Whether the changelog ``record`` of ``key`` at ``offset`` is to be applied now."""
        own = self._own.get(key)
        if own is None:
            return True
        if not own.done():
            self._held[key] = (offset, record)  # records come in offset order: the latest is kept
            return False
        own_offset = written_offset(own)
        if own_offset is None or offset >= own_offset:  # the echo itself, or another worker's later write
            del self._own[key]
            return True
        return False

    def _settled(self, key: Any, sent: asyncio.Future[Any]) -> None:
        if self._own.get(key) is not sent:
            return  # a newer own write of the key decides what was held
        held = self._held.pop(key, None)
        if held is not None and self.admit(key, held[0], held[1]):
            self._apply(key, held[1])


def written_offset(sent: asyncio.Future[Any]) -> int | None:
    """The changelog offset an acknowledged send was written at; ``None`` if it failed (never written)."""
    if sent.cancelled() or sent.exception() is not None:
        return None
    offset: int = sent.result().offset
    return offset
