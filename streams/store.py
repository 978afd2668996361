"""Table storage: RocksDB (through rocksdict) that files each key under the partition its changelog uses.

faust-streaming's RocksDB store puts a written key in the database of the *current event's* partition.
Tables created with ``use_partitioner`` (every vendorwatch table keyed by vendor or lab) send the change to
the changelog partition of the key's hash instead, and the evaluator writes outside any event; the stock
store then fails (``assert event is not None``), or files the key where a rebalance would drop the wrong
database. Here the key goes to the database of its changelog partition (Kafka's default partitioner:
murmur2 of the key bytes), the same one recovery fills from that partition.
"""

from __future__ import annotations

from typing import Any

import faust
from aiokafka.partitioner import murmur2
from faust.stores.rocksdb import Store as FaustRocksDBStore
from faust.streams import current_event


def key_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java client and aiokafka alike) sends ``key`` to."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class RocksDBStore(FaustRocksDBStore):
    def _set(self, key: bytes, value: bytes | None) -> None:
        partition = self._partition_for(key)
        self._key_index[key] = partition
        self._db_for_partition(partition).put(key, value)

    def _partition_for(self, key: bytes) -> int:
        event = current_event()
        if self.table.use_partitioner or event is None:
            return key_partition(key, self.table.partitions or self.app.conf.topic_partitions)
        return int(event.message.partition)


class StoreByUrl:
    """Mixed into the table classes: ``rocksdb://`` builds ``RocksDBStore``, anything else Faust's own."""

    def _new_store_by_url(self, url: Any) -> Any:
        if str(url).startswith("rocksdb:"):
            table: Any = self
            return RocksDBStore(url, table.app, table, table_name=table.name, key_type=table.key_type,
                                key_serializer=table.key_serializer, value_serializer=table.value_serializer,
                                value_type=table.value_type, loop=table.loop, options=table.options)
        return super()._new_store_by_url(url)  # type: ignore[misc]


class Table(StoreByUrl, faust.Table[Any, Any]):
    """The app's ``Table`` class (``faust.App(..., Table=Table)``)."""
