"""The SDK Publisher without Kafka: a fake producer stands in for aiokafka's."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from schemas import ContractSigned, OrgDeclared, OrgKind
from schemas.cloudevents import decode_structured, new_event
from schemas.errors import InvalidEvent
from vendorwatch.publisher import Publisher


class FakeProducer:
    def __init__(self, **options):
        self.options, self.sent, self.started = options, [], False

    async def start(self):
        self.started = True

    async def stop(self):
        self.started = False

    async def send(self, topic, value, key, headers):
        self.sent.append((topic, key, value, headers))
        future = asyncio.get_running_loop().create_future()
        future.set_result(SimpleNamespace(topic=topic, partition=3, offset=len(self.sent) - 1))
        return future


def publisher() -> tuple[Publisher, list[FakeProducer]]:
    made: list[FakeProducer] = []

    def factory(**options):
        made.append(FakeProducer(**options))
        return made[-1]

    return Publisher("localhost:9092", producer_factory=factory), made


SIGNED = ContractSigned(contract_id="g-s", lab_id="google", vendor_id="scale-ai", annual_value_usd=1e8)


async def test_publish_keys_encodes_and_confirms_delivery():
    pub, made = publisher()
    async with pub:
        delivery = await pub.publish(SIGNED, id="p-1", source="urn:test")
    (producer,) = made
    assert producer.options["acks"] == "all" and producer.options["enable_idempotence"] is True
    ((topic, key, value, headers),) = producer.sent
    assert (topic, key) == ("vendorwatch.contracts", b"scale-ai")
    assert ("content-type", b"application/cloudevents+json") in headers
    assert decode_structured(value).data == SIGNED
    assert (delivery.topic, delivery.partition, delivery.offset, delivery.key) == (topic, 3, 0, "scale-ai")
    assert (delivery.id, delivery.type) == ("p-1", "vendorwatch.contract.signed.v1")
    assert not producer.started, "the context manager stops the producer"


async def test_an_unvalidated_model_is_refused_before_anything_is_sent():
    pub, made = publisher()
    sneaky = OrgDeclared.model_construct(org_id="Not A Slug", name="x", kind=OrgKind.LAB)
    good = new_event(id="o-1", source="urn:test", type="vendorwatch.org.declared.v1",
                     data=OrgDeclared(org_id="acme", name="Acme", kind="vendor"))
    async with pub:
        with pytest.raises(InvalidEvent, match="org_id"):
            await pub.send_many([good, new_event(id="o-2", source="urn:test", type="vendorwatch.org.declared.v1",
                                                 data=sneaky)])
    assert made[0].sent == [], "all or nothing: the valid event was not sent either"


async def test_send_many_keeps_order_and_returns_one_delivery_each():
    pub, _ = publisher()
    events = [new_event(id=f"c-{i}", source="urn:test", type="vendorwatch.contract.signed.v1", data=SIGNED)
              for i in range(5)]
    async with pub:
        deliveries = await pub.send_many(events)
    assert [d.id for d in deliveries] == [e.id for e in events]
    assert [d.offset for d in deliveries] == list(range(5))


async def test_a_model_that_is_not_input_data_is_refused():
    pub, _ = publisher()
    async with pub:
        with pytest.raises(InvalidEvent):
            await pub.publish(object(), id="x", source="urn:t")


async def test_sending_outside_the_context_is_a_usage_error():
    pub, _ = publisher()
    with pytest.raises(RuntimeError):
        await pub.publish(SIGNED, id="x", source="urn:t")
