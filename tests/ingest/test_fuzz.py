"""Mutated events into the decoder and the ingest endpoint: accepted and round-tripping, or refused with a reason.

Mutations start from the seed story (real, valid events) so that most inputs are *nearly* valid, which is
where validators break; raw bytes cover the rest. atheris drives the same property coverage-guided in a
subprocess (``fuzz_codec.py``), since it owns the process it runs in.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.app import Limits, create_app
from ingest.problems import judge
from schemas.cloudevents import CloudEvent, decode_structured, encode_structured
from schemas.errors import InvalidEvent
from tests.ingest.conftest import SEED, FakeSink, auth, grants

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=8,
)
interesting = st.sampled_from([
    "", "1.0", "0.3", "vendorwatch.alert.v1", "vendorwatch.org.declared.v1", "Scale-AI", "-1", "1e400", "2025-13-01",
    "2025-06-12T14:00:00", "2025-06-12T14:00:00Z", "application/xml", "closed", "shareholding", {"exact": 101},
    {"minimum": 60, "maximum": 40}, [], {}, -1, 0, 100.5, True, None,
])


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated_events(draw):
    event = copy.deepcopy(draw(st.sampled_from(SEED)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(event))))
        if not path:
            continue
        parent = event
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "insert"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "insert" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = copy.deepcopy(draw(interesting | json_values))
        else:
            # A copy: the sampled dicts and lists are shared between examples and must never be mutated.
            parent[path[-1]] = copy.deepcopy(draw(interesting | json_values))
    return event


def assert_round_trips(event: CloudEvent) -> None:
    again = decode_structured(encode_structured(event))
    assert again.to_json() == event.to_json()
    assert again.key == event.key


@settings(max_examples=400, deadline=None)
@given(mutated_events())
def test_the_decoder_accepts_and_round_trips_or_refuses_with_a_reason(value):
    try:
        event = decode_structured(json.dumps(value))
    except InvalidEvent as error:
        assert error.reason
    else:
        assert_round_trips(event)
    verdict = judge(value)
    if isinstance(verdict, CloudEvent):
        assert_round_trips(verdict)
    else:
        assert verdict and all(p.detail for p in verdict)
        assert all(p.pointer == "" or p.pointer.startswith("/") for p in verdict)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_the_decoder_never_raises_anything_else_on_bytes(raw):
    try:
        assert_round_trips(decode_structured(raw))
    except InvalidEvent as error:
        assert error.reason


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(mutated_events(), st.lists(mutated_events(), min_size=1, max_size=3)))
async def test_the_endpoint_accepts_and_round_trips_or_refuses_with_a_reason(body):
    sink = FakeSink()
    batch = isinstance(body, list)
    content_type = "application/cloudevents-batch+json" if batch else "application/cloudevents+json"
    async with TestClient(TestServer(create_app(grants(), sink, Limits()))) as client:
        response = await client.post("/v1/events", data=json.dumps(body),
                                     headers={"Content-Type": content_type, **auth()})
        answer = await response.json()
    assert response.status in {202, 400, 403, 422}, answer
    if response.status == 202:
        sent = body if batch else [body]
        assert [r.event.id for r in sink.records] == [e["id"] for e in sent]
        for record in sink.records:
            assert_round_trips(decode_structured(record.value))
    else:
        assert sink.records == [], "a refused request writes nothing"
        assert answer["detail"]
        if response.status == 422:
            assert all(e["errors"] for e in answer["events"])


@pytest.mark.timeout(300)
def test_atheris_finds_nothing_in_the_codec():
    script = Path(__file__).with_name("fuzz_codec.py")
    result = subprocess.run([sys.executable, str(script), "-runs=8000", "-max_len=2048", "-seed=7"],
                            capture_output=True, text=True, timeout=280, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
