"""Shipment duplicate detection with a retention: chunks carry their write time, expired ones leave the index
and the table (a tombstone each), only in this worker's active partitions; settings reject a bad window."""

from __future__ import annotations

import msgspec
import pytest
from prometheus_client import CollectorRegistry

from schemas.cloudevents import event_identity
from schemas.errors import ConfigError
from schemas.registry import TOPIC_DATA_SHARES
from streams.agents import expiry_tick
from streams.app import create_app
from streams.current import as_current
from streams.seen import WRITTEN_AT, chunk_key, index_chunk, position, unindex_chunk, written_at
from streams.seen_table import rebuild
from vendorwatch.settings import load_settings

A, B = event_identity("urn:a", "e1"), event_identity("urn:a", "e2")


def test_a_chunks_write_time_is_not_read_as_an_identity_or_an_offset():
    shards: dict[int, dict[str, int]] = {}
    index_chunk(shards, chunk_key(TOPIC_DATA_SHARES, 2, 10), {WRITTEN_AT: 1_800_000_000, "10": {"urn:a": ["e1"]}})
    assert shards == {2: {A: position(2, 10)}}
    assert written_at({WRITTEN_AT: 1_800_000_000}, 5.0) == 1_800_000_000
    assert written_at({"10": {"urn:a": ["e1"]}}, 5.0) == 5.0, "a chunk from before write times: the default"


def test_unindexing_a_chunk_leaves_identities_indexed_at_another_position():
    key = chunk_key(TOPIC_DATA_SHARES, 2, 10)
    chunk = {"10": {"urn:a": ["e1", "e2"]}}
    shards: dict[int, dict[str, int]] = {}
    index_chunk(shards, key, chunk)
    shards[2][B] = position(2, 99)  # e2 came again after the chunk expired once, and was indexed there
    assert unindex_chunk(shards, key, chunk) == 1
    assert shards == {2: {B: position(2, 99)}}
    assert unindex_chunk({}, key, chunk) == 0, "a partition this worker does not index"


def test_the_expiry_tick_is_a_tenth_of_the_retention_between_a_second_and_a_minute():
    assert [expiry_tick(s) for s in (2, 300, 86_400)] == [1.0, 30.0, 60.0]


def test_expired_chunks_leave_the_index_and_the_table_in_active_partitions_only(tmp_path):
    worker = create_app(load_settings({"VENDORWATCH_DATA_DIR": str(tmp_path),
                                          "VENDORWATCH_SHIPMENT_DEDUP_RETENTION_S": "3600"}), CollectorRegistry())
    index = worker.tables.shipments_seen
    sent: list[tuple[int, str, bytes | None]] = []  # the changelog writes, as the producer would be handed them
    index.send_changelog = lambda partition, key, value, **kw: sent.append((partition, key, value)) or _At(partition)
    old, kept, standby = (chunk_key(TOPIC_DATA_SHARES, p, o) for p, o in ((0, 5), (0, 9), (1, 5)))
    for key, chunk, at, identity in ((old, {"5": {"urn:a": ["e1"]}}, position(0, 5), A),
                                     (standby, {"5": {"urn:a": ["e2"]}}, position(1, 5), B),
                                     (kept, {"9": {"urn:a": ["e3"]}}, position(0, 9), event_identity("urn:a", "e3"))):
        current = _At(at >> 40)
        as_current(current)  # as the batch step does: the chunk's first record is current
        index.write(key, chunk, [(at, [identity])])
    written = {key: when for chunks in index.written.values() for when, key in chunks}
    assert msgspec.json.decode(index.data[old])[WRITTEN_AT] == int(written[old]), "the chunk carries its time"
    index.written[0] = type(index.written[0])([(written[old], old), (written[old] + 3600, kept)])
    sent.clear()

    dropped = list(index.expire(written[old] + 1, partitions={0}))

    assert dropped == [1]
    assert old not in index.data and kept in index.data and standby in index.data
    assert index.shard(0) == {event_identity("urn:a", "e3"): position(0, 9)}
    assert index.shard(1) == {B: position(1, 5)}, "a standby partition is its owner's to expire"
    assert sent == [(0, old, None)], "a tombstone in the chunk's own changelog partition"
    assert list(index.expire(written[old] + 1, partitions={0})) == [], "each chunk expires once"


def test_a_chunk_written_again_under_its_key_waits_for_its_new_time(tmp_path):
    # A replay after a crash can start a chunk at the same first offset: the old entry must not expire it.
    worker = create_app(load_settings({"VENDORWATCH_DATA_DIR": str(tmp_path),
                                          "VENDORWATCH_SHIPMENT_DEDUP_RETENTION_S": "3600"}), CollectorRegistry())
    index = worker.tables.shipments_seen
    index.send_changelog = lambda partition, key, value, **kw: _At(partition)
    key = chunk_key(TOPIC_DATA_SHARES, 0, 5)
    current = _At(0)
    as_current(current)
    index.write(key, {"5": {"urn:a": ["e1"]}}, [(position(0, 5), [A])])
    (first, _), = index.written[0]
    index.written[0].appendleft((first - 3600, key))  # its earlier write, an hour before
    assert list(index.expire(first - 1, partitions={0})) == []
    assert key in index.data and index.shard(0) == {A: position(0, 5)}
    assert list(index.expire(first + 1, partitions={0})) == [1]


class _At:
    """A current event of ``partition`` for Faust's table writes, and a sent changelog record's future."""

    def __init__(self, partition: int) -> None:
        self.topic = TOPIC_DATA_SHARES
        self.partition = partition
        self.message = self


@pytest.mark.parametrize("value", ["-1", "forever", str(11 * 366 * 86400)])
def test_a_bad_retention_stops_start_up_naming_the_setting(value):
    with pytest.raises(ConfigError, match="VENDORWATCH_SHIPMENT_DEDUP_RETENTION_S"):
        load_settings({"VENDORWATCH_SHIPMENT_DEDUP_RETENTION_S": value})


def test_without_a_retention_no_write_times_are_kept(tmp_path):
    worker = create_app(load_settings({"VENDORWATCH_DATA_DIR": str(tmp_path)}), CollectorRegistry())
    index = worker.tables.shipments_seen
    index.send_changelog = lambda partition, key, value, **kw: _At(partition)
    current = _At(0)
    as_current(current)
    index.write(chunk_key(TOPIC_DATA_SHARES, 0, 5), {"5": {"urn:a": ["e1"]}}, [(position(0, 5), [A])])
    assert index.written == {} and index.shard(0) == {A: position(0, 5)}


def test_a_restart_rebuilds_the_index_and_the_write_times_in_order():
    # As the store returns them after recovery: keys in its own order, one chunk from before write times.
    stored = [(chunk_key(TOPIC_DATA_SHARES, 0, 9), msgspec.json.encode({WRITTEN_AT: 2_000, "9": {"urn:a": ["e2"]}})),
              (chunk_key(TOPIC_DATA_SHARES, 0, 10), msgspec.json.encode({"10": {"urn:a": ["e3"]}})),
              (chunk_key(TOPIC_DATA_SHARES, 0, 5), msgspec.json.encode({WRITTEN_AT: 1_000, "5": {"urn:a": ["e1"]}}))]
    shards, written = rebuild(stored, 5_000.0, with_times=True)
    assert shards == {0: {A: position(0, 5), B: position(0, 9), event_identity("urn:a", "e3"): position(0, 10)}}
    assert list(written[0]) == [(1_000.0, stored[2][0]), (2_000.0, stored[0][0]), (5_000.0, stored[1][0])]
    assert rebuild(stored, 5_000.0, with_times=False) == (shards, {})
