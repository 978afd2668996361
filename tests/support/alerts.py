"""Publishing alert events straight onto the alerts topic, as the worker would, for dispatcher tests."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from schemas import CloudEvent, encode_structured
from schemas.registry import TOPIC_ALERTS


async def publish_alerts(bootstrap: str, *events: CloudEvent, key: bytes = b"google") -> None:
    """Each event in structured mode, keyed like the worker keys alerts (by lab), acknowledged by all."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(TOPIC_ALERTS, encode_structured(event), key=key)
    finally:
        await producer.stop()
