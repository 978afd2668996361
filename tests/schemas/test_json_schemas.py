"""The committed JSON Schemas in ``schemas/json/`` are exactly what the models export (the drift test)."""

from __future__ import annotations

import json

import pytest

from schemas.export import JSON_DIR, render_all
from schemas.registry import SPECS
from tests.support.fold import story_files

REGENERATE = "regenerate them with `vendorwatch schemas export` (or `python -m schemas.export`) and commit the result"


def test_one_schema_file_per_event_type() -> None:
    committed = {path.name for path in JSON_DIR.glob("*.json")}
    rendered = set(render_all())
    assert rendered == {f"{event_type}.json" for event_type in SPECS}
    assert committed == rendered, (
        f"schemas/json/ has {sorted(committed - rendered)} extra and {sorted(rendered - committed)} missing: "
        f"{REGENERATE}"
    )


@pytest.mark.parametrize("name", sorted(render_all()))
def test_committed_schema_matches_the_models(name: str) -> None:
    path = JSON_DIR / name
    assert path.exists(), f"schemas/json/{name} is missing: {REGENERATE}"
    assert path.read_text(encoding="utf-8") == render_all()[name], (
        f"schemas/json/{name} is out of date with the pydantic models: {REGENERATE}"
    )


def test_schemas_describe_the_record_key() -> None:
    for event_type, spec in SPECS.items():
        schema = json.loads(render_all()[f"{event_type}.json"])
        assert schema["title"] == event_type
        assert spec.key_field in schema["properties"]
        assert spec.key_field in schema["required"]


def seed_events() -> list[dict]:
    return [json.loads(line) for path in story_files() for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("event", seed_events(), ids=lambda e: e["id"])
def test_seed_story_data_validates_against_the_exported_schema(event: dict) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((JSON_DIR / f"{event['type']}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(event["data"])
