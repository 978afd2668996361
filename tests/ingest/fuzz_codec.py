"""atheris harness: any bytes into the codec and the ingest judge; only InvalidEvent may come out.

Run by tests/ingest/test_fuzz.py with ``-runs=N``; by hand: ``python tests/ingest/fuzz_codec.py -max_total_time=60``.
"""

from __future__ import annotations

import json
import sys

import atheris

with atheris.instrument_imports():
    from ingest.problems import judge, judge_bytes
    from schemas.cloudevents import CloudEvent, decode_structured, encode_structured
    from schemas.errors import InvalidEvent
    from vendorwatch.local import STORY_DIR


def test_one_input(raw: bytes) -> None:
    try:
        event = decode_structured(raw)
    except InvalidEvent as error:
        assert error.reason
    else:
        again = decode_structured(encode_structured(event))
        assert again.to_json() == event.to_json()
    verdict = judge_bytes(raw)
    if isinstance(verdict, CloudEvent):
        assert judge(json.loads(encode_structured(verdict))) == verdict
    else:
        assert verdict


def seeds() -> list[bytes]:
    return [line.encode() for path in sorted(STORY_DIR.glob("*.ndjson")) for line in path.read_text().splitlines()]


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    for seed in seeds():  # the seed story first, so mutations start from valid events
        test_one_input(seed)
    atheris.Fuzz()
