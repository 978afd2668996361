"""Which re-evaluation requests the sending input agent evaluates itself, and which the evaluator then
skips (``streams.evaluator``)."""

from __future__ import annotations

from aiokafka import TopicPartition

from streams.evaluator import EarlyLedger, evaluable_here

TOPIC = "vendorwatch.internal.evaluations"
SENT = [(0, b"scale-ai"), (1, b"surge"), (2, b"mercor"), (1, b"world-1")]


def test_only_the_requests_of_partitions_this_worker_owns() -> None:
    actives = {TopicPartition(TOPIC, 1), TopicPartition(TOPIC, 2)}
    assert evaluable_here(SENT, TOPIC, actives, moving=False) == [(1, b"surge"), (2, b"mercor"), (1, b"world-1")]


def test_the_same_partition_numbers_of_other_topics_do_not_count() -> None:
    actives = {TopicPartition("vendorwatch.contracts.v1", 0), TopicPartition("vendorwatch.ownership.v1", 1)}
    assert evaluable_here(SENT, TOPIC, actives, moving=False) == []


def test_none_while_partitions_move_or_tables_recover() -> None:
    actives = {TopicPartition(TOPIC, p) for p in range(3)}
    assert evaluable_here(SENT, TOPIC, actives, moving=True) == []
    assert evaluable_here(SENT, TOPIC, actives, moving=False) == SENT


def test_nothing_sent_nothing_evaluated() -> None:
    assert evaluable_here([], TOPIC, {TopicPartition(TOPIC, 0)}, moving=False) == []


def test_a_request_evaluated_early_is_skipped_once_when_it_arrives() -> None:
    ledger = EarlyLedger()
    ledger.note(1, b"surge", generation=4)
    assert ledger.claim(1, b"surge", generation=4)
    assert not ledger.claim(1, b"surge", generation=4), "a second copy (a replay) is evaluated"
    assert len(ledger) == 0


def test_requests_not_evaluated_early_here_are_evaluated() -> None:
    ledger = EarlyLedger()
    ledger.note(1, b"surge", generation=4)
    assert not ledger.claim(2, b"surge", generation=4), "another partition"
    assert not ledger.claim(1, b"mercor", generation=4), "another request"
    assert ledger.claim(1, b"surge", generation=4)


def test_after_a_rebalance_an_early_evaluation_no_longer_counts() -> None:
    # The partition may have been another worker's in between, and its state recovered from there.
    ledger = EarlyLedger()
    ledger.note(1, b"surge", generation=4)
    assert not ledger.claim(1, b"surge", generation=5)
    assert len(ledger) == 0


def test_the_ledger_forgets_its_oldest_past_its_size() -> None:
    ledger = EarlyLedger(size=2)
    for request in (b"a", b"b", b"c"):
        ledger.note(0, request, generation=1)
    assert len(ledger) == 2
    assert not ledger.claim(0, b"a", generation=1), "forgotten: evaluated again, which changes nothing"
    assert ledger.claim(0, b"b", generation=1) and ledger.claim(0, b"c", generation=1)


def test_a_forgotten_request_is_evaluated_when_it_arrives() -> None:
    # The early evaluation failed: the evaluator takes the request as if it had not been tried.
    ledger = EarlyLedger()
    ledger.note(1, b"surge", generation=4)
    ledger.forget(1, b"surge")
    assert not ledger.claim(1, b"surge", generation=4)
