"""Export the JSON Schema of every event type's ``data`` to ``schemas/json/`` (``python -m schemas.export``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from schemas.registry import SPECS

JSON_DIR = Path(__file__).parent / "json"


def render_all() -> dict[str, str]:
    """File name -> JSON text, one per event type: the schema of the CloudEvent's ``data``."""
    out = {}
    for event_type, spec in sorted(SPECS.items()):
        schema = spec.model.model_json_schema(mode="validation")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"https://vendorwatch.dev/schemas/{event_type}.json",
            "title": event_type,
            "description": f"The `data` of a CloudEvent of type {event_type} on topic {spec.topic} "
            f"(record key: {spec.key_field}).",
            **{k: v for k, v in schema.items() if k not in {"title", "description"}},
        }
        out[f"{event_type}.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return out


def write_all(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_all().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else JSON_DIR):
        sys.stdout.write(f"{path}\n")
