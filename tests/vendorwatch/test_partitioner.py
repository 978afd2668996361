"""``vendorwatch.brokers.partition_for``: Kafka's default partitioner, the key's hash remembered."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from streams.app import create_app
from vendorwatch.brokers import partition_for
from vendorwatch.settings import Settings


@given(key=st.binary(max_size=64), count=st.integers(1, 64))
def test_a_key_goes_where_the_default_partitioner_sends_it(key: bytes, count: int) -> None:
    partitions = list(range(count))
    expected = DefaultPartitioner()(key, partitions, partitions)
    assert partition_for(key, partitions, partitions) == expected
    assert partition_for(key, partitions, partitions) == expected, "the remembered hash"


def test_known_keys_land_where_the_java_client_puts_them() -> None:
    # Kafka's Utils.murmur2 test vectors, as partitions of 2**31 - 1 ... (the positive hash) mod 8.
    for key, java_hash in ((b"21", -973932308), (b"foobar", -790332482), (b"a-little-bit-long-string", -985981536)):
        assert partition_for(key, list(range(8)), []) == (java_hash & 0x7FFFFFFF) % 8


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    assert partition_for(None, [0, 1, 2], [2]) == 2


def test_the_worker_partitions_its_writes_with_it(tmp_path) -> None:
    worker = create_app(Settings(data_dir=tmp_path))
    assert worker.app.conf.producer_partitioner is partition_for
