"""Shared fixtures. Broker tests use the real Kafka at VENDORWATCH_KAFKA_BOOTSTRAP (``deploy/local/kafka.sh``)."""

from __future__ import annotations

import os

import pytest

from vendorwatch.local import broker_answers
from vendorwatch.settings import Settings, load_settings


@pytest.fixture(scope="session")
def broker_settings() -> Settings:
    bootstrap = os.environ.get("VENDORWATCH_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    if not broker_answers(bootstrap):
        message = f"no Kafka broker at {bootstrap}: start one with 'bash deploy/local/kafka.sh start'"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return load_settings({"VENDORWATCH_KAFKA_BOOTSTRAP": bootstrap})
