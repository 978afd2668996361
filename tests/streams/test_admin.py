"""Topics the worker creates: the fact topics are kept, since replay and as-of fold their history."""

from __future__ import annotations

import secrets

import pytest

from schemas.registry import FACT_TOPICS, TOPIC_ALERTS, TOPIC_DATA_SHARES
from streams.admin import ensure_topics, internal_topic, required_topics, topic_partitions
from vendorwatch.settings import load_settings


def test_fact_topics_are_created_with_unlimited_retention_and_shipments_with_the_brokers() -> None:
    topics = required_topics(load_settings({}))
    assert {topic: topics[topic] for topic in FACT_TOPICS} == {topic: {"retention.ms": "-1"} for topic in FACT_TOPICS}
    assert topics[TOPIC_DATA_SHARES] == {} and topics[TOPIC_ALERTS] == {}


@pytest.mark.broker
async def test_topics_a_new_app_id_needs_are_described_as_soon_as_ensure_topics_returns(broker_settings) -> None:
    # The race this guards: CreateTopics answered, the broker's metadata not yet updated, and the next
    # describe (start_group_at_end in vendorwatch.local) failed with "topics not found".
    settings = broker_settings.model_copy(update={"app_id": f"admin-{secrets.token_hex(4)}"})
    created = await ensure_topics(settings)
    internal = [internal_topic(settings, "evaluations"), internal_topic(settings, "exposure-updates")]
    assert set(internal) <= set(created)
    partitions = await topic_partitions(settings, internal)
    assert {tp.topic for tp in partitions} == set(internal)
    assert len(partitions) == 2 * settings.topic_partitions
