"""Topics the worker creates: the fact topics are kept, since replay and as-of fold their history."""

from __future__ import annotations

from schemas.registry import FACT_TOPICS, TOPIC_ALERTS, TOPIC_DATA_SHARES
from streams.admin import required_topics
from vendorwatch.settings import load_settings


def test_fact_topics_are_created_with_unlimited_retention_and_shipments_with_the_brokers() -> None:
    topics = required_topics(load_settings({}))
    assert {topic: topics[topic] for topic in FACT_TOPICS} == {topic: {"retention.ms": "-1"} for topic in FACT_TOPICS}
    assert topics[TOPIC_DATA_SHARES] == {} and topics[TOPIC_ALERTS] == {}
