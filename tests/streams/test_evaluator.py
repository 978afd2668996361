"""Which re-evaluation requests the sending input agent evaluates itself, and which the evaluator then
skips (``streams.evaluator``)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from aiokafka import TopicPartition

from streams.app import settled_partitions
from streams.evaluator import EarlyLedger, evaluable_here, still_to_evaluate

TOPIC = "vendorwatch.internal.evaluations"
SENT = [(0, b"scale-ai"), (1, b"surge"), (2, b"mercor"), (1, b"world-1")]


def app(actives: set[TopicPartition], *, rebalancing: bool = False, in_recovery: bool = False) -> Any:
    # The three attributes of a Faust app that settled_partitions reads.
    return SimpleNamespace(rebalancing=rebalancing, in_recovery=in_recovery,
                           assignor=SimpleNamespace(assigned_actives=lambda: actives))


def test_only_the_requests_of_partitions_this_worker_owns() -> None:
    owned = settled_partitions(app({TopicPartition(TOPIC, 1), TopicPartition(TOPIC, 2)}), TOPIC)
    assert evaluable_here(SENT, owned) == [(1, b"surge"), (2, b"mercor"), (1, b"world-1")]


def test_the_same_partition_numbers_of_other_topics_do_not_count() -> None:
    actives = {TopicPartition("vendorwatch.contracts.v1", 0), TopicPartition("vendorwatch.ownership.v1", 1)}
    assert evaluable_here(SENT, settled_partitions(app(actives), TOPIC)) == []


def test_none_while_partitions_move_or_tables_recover() -> None:
    actives = {TopicPartition(TOPIC, p) for p in range(3)}
    assert evaluable_here(SENT, settled_partitions(app(actives, rebalancing=True), TOPIC)) == []
    assert evaluable_here(SENT, settled_partitions(app(actives, in_recovery=True), TOPIC)) == []
    assert evaluable_here(SENT, settled_partitions(app(actives), TOPIC)) == SENT


def test_nothing_sent_nothing_evaluated() -> None:
    assert evaluable_here([], {0}) == []


def ended(well: bool = True) -> asyncio.Future[bool]:
    outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    outcome.set_result(well)
    return outcome


async def test_a_request_evaluated_early_is_claimed_once_when_it_arrives() -> None:
    ledger = EarlyLedger()
    outcome = ended()
    ledger.note(1, b"surge", 4, outcome)
    assert ledger.claim(1, b"surge", generation=4) is outcome
    assert ledger.claim(1, b"surge", generation=4) is None, "a second copy (a replay) is evaluated"
    assert len(ledger) == 0


async def test_requests_not_evaluated_early_here_are_evaluated() -> None:
    ledger = EarlyLedger()
    ledger.note(1, b"surge", 4, ended())
    assert ledger.claim(2, b"surge", generation=4) is None, "another partition"
    assert ledger.claim(1, b"mercor", generation=4) is None, "another request"
    assert ledger.claim(1, b"surge", generation=4) is not None


async def test_after_a_rebalance_an_early_evaluation_no_longer_counts() -> None:
    # The partition may have been another worker's in between, and its state recovered from there.
    ledger = EarlyLedger()
    ledger.note(1, b"surge", 4, ended())
    assert ledger.claim(1, b"surge", generation=5) is None
    assert len(ledger) == 0


async def test_the_ledger_forgets_its_oldest_past_its_size() -> None:
    ledger = EarlyLedger(size=2)
    for request in (b"a", b"b", b"c"):
        ledger.note(0, request, 1, ended())
    assert len(ledger) == 2
    assert ledger.claim(0, b"a", generation=1) is None, "forgotten: evaluated again, which changes nothing"
    assert ledger.claim(0, b"b", generation=1) is not None and ledger.claim(0, b"c", generation=1) is not None


async def test_the_evaluator_takes_what_was_not_evaluated_early_or_failed_there() -> None:
    ledger = EarlyLedger()
    ledger.note(0, b"scale-ai", 7, ended(well=True))
    ledger.note(1, b"surge", 7, ended(well=False))
    arrived = [(0, b"scale-ai"), (1, b"surge"), (2, b"mercor")]
    assert await still_to_evaluate(arrived, ledger, generation=7) == [b"surge", b"mercor"]


async def test_a_request_arriving_while_its_early_evaluation_runs_waits_for_its_end() -> None:
    ledger = EarlyLedger()
    running: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    ledger.note(0, b"scale-ai", 7, running)
    waiting = asyncio.ensure_future(still_to_evaluate([(0, b"scale-ai")], ledger, generation=7))
    await asyncio.sleep(0)
    assert not waiting.done(), "not evaluated a second time alongside the first"
    running.set_result(False)  # the early evaluation failed: the evaluator takes the request
    assert await waiting == [b"scale-ai"]
