"""Which re-evaluation requests the sending input agent evaluates itself (``streams.evaluator``)."""

from __future__ import annotations

from aiokafka import TopicPartition

from streams.evaluator import evaluable_here

TOPIC = "vendorwatch.internal.evaluations"
SENT = [(0, b"scale-ai"), (1, b"surge"), (2, b"mercor"), (1, b"world-1")]


def test_only_the_requests_of_partitions_this_worker_owns() -> None:
    actives = {TopicPartition(TOPIC, 1), TopicPartition(TOPIC, 2)}
    assert evaluable_here(SENT, TOPIC, actives, moving=False) == [b"surge", b"mercor", b"world-1"]


def test_the_same_partition_numbers_of_other_topics_do_not_count() -> None:
    actives = {TopicPartition("vendorwatch.contracts.v1", 0), TopicPartition("vendorwatch.ownership.v1", 1)}
    assert evaluable_here(SENT, TOPIC, actives, moving=False) == []


def test_none_while_partitions_move_or_tables_recover() -> None:
    actives = {TopicPartition(TOPIC, p) for p in range(3)}
    assert evaluable_here(SENT, TOPIC, actives, moving=True) == []
    assert evaluable_here(SENT, TOPIC, actives, moving=False) == [r for _, r in SENT]


def test_nothing_sent_nothing_evaluated() -> None:
    assert evaluable_here([], TOPIC, {TopicPartition(TOPIC, 0)}, moving=False) == []
