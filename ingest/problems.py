"""Judge one decoded JSON value as a CloudEvent: the event, or every problem with a JSON pointer.

The codec (``schemas.cloudevents.from_attributes``) stays the only judge of what is valid: this module
only finds *where* the problems are, so a producer fixing ``/data/annual_value_usd`` does not have to
parse a sentence. When the codec rejects something the pointer pass did not locate, its reason is
reported against the whole event (pointer ``""``), so acceptance here is exactly acceptance by the worker.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from schemas.cloudevents import CloudEvent, from_attributes
from schemas.errors import InvalidEvent
from schemas.registry import INPUT_TYPES, SPECS

_REQUIRED = ("specversion", "id", "source", "type")
_OPTIONAL_STRINGS = ("subject", "dataschema")
_KNOWN = frozenset({*_REQUIRED, *_OPTIONAL_STRINGS, "time", "datacontenttype", "data"})
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an event: where (RFC 6901 pointer into the event), a stable code, and why."""

    pointer: str
    code: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"pointer": self.pointer, "code": self.code, "detail": self.detail}

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.detail}"


def judge(value: object, *, input_only: bool = True) -> CloudEvent | list[Problem]:
    """The validated event, or a non-empty list of problems. Never raises for any JSON value."""
    if not isinstance(value, dict):
        return [Problem("", "type", f"expected a CloudEvent JSON object, got {_json_type(value)}")]
    problems = envelope_problems(value, input_only=input_only)
    event_type = value.get("type")
    if isinstance(event_type, str) and event_type in SPECS and isinstance(value.get("data"), dict):
        problems += data_problems(value)
    if problems:
        return problems
    try:
        return from_attributes(value)
    except InvalidEvent as error:
        return [Problem("", error.kind, error.reason)]


def judge_bytes(raw: bytes | str) -> CloudEvent | list[Problem]:
    """``judge`` for one encoded event, e.g. one NDJSON line."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [Problem("", "json", f"not JSON: {exc}")]
    return judge(value)


def envelope_problems(obj: Mapping[str, Any], *, input_only: bool = True) -> list[Problem]:
    """Every envelope attribute that is missing or malformed, each with its pointer."""
    problems = [
        Problem(f"/{name}", "missing" if name not in obj else "string_type",
                f"required: a non-empty string{'' if name not in obj else ', got ' + _json_type(obj[name])}")
        for name in _REQUIRED
        if not isinstance(obj.get(name), str) or not obj[name]
    ]
    if isinstance(obj.get("specversion"), str) and obj["specversion"] and obj["specversion"] != "1.0":
        problems.append(Problem("/specversion", "const", f"expected '1.0', got {_short(obj['specversion'])}"))
    problems += _type_problems(obj.get("type"), input_only=input_only)
    problems += _optional_problems(obj)
    extensions = [_extension_problem(name, value) for name, value in obj.items() if name not in _KNOWN]
    return problems + [p for p in extensions if p is not None]


def _type_problems(event_type: object, *, input_only: bool) -> list[Problem]:
    if not isinstance(event_type, str) or not event_type:
        return []
    allowed = INPUT_TYPES if input_only else frozenset(SPECS)
    if event_type not in allowed:
        return [Problem("/type", "unknown_type", f"one of {', '.join(sorted(allowed))}; got {_short(event_type)}")]
    return []


def _optional_problems(obj: Mapping[str, Any]) -> list[Problem]:
    problems = [
        Problem(f"/{name}", "string_type", f"a string, got {_json_type(obj[name])}")
        for name in _OPTIONAL_STRINGS
        if obj.get(name) is not None and not isinstance(obj[name], str)
    ]
    content_type = obj.get("datacontenttype")
    if content_type is not None and not str(content_type).startswith("application/json"):
        problems.append(Problem("/datacontenttype", "content_type", f"application/json, got {_short(content_type)}"))
    time_problem = _time_problem(obj.get("time"))
    if time_problem:
        problems.append(time_problem)
    if obj.get("data") is None:
        problems.append(Problem("/data", "missing", "required: the event's payload, a JSON object"))
    elif not isinstance(obj["data"], dict):
        problems.append(Problem("/data", "dict_type", f"a JSON object, got {_json_type(obj['data'])}"))
    return problems


def _time_problem(value: object) -> Problem | None:
    if value is None:
        return None
    if not isinstance(value, str):
        return Problem("/time", "string_type", f"an RFC 3339 timestamp string, got {_json_type(value)}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return Problem("/time", "datetime", f"an RFC 3339 timestamp such as 2025-06-12T14:00:00Z, got {_short(value)}")
    if parsed.tzinfo is None:
        return Problem("/time", "timezone", f"a timestamp with a UTC offset ('Z' or +hh:mm), got {_short(value)}")
    return None


def _extension_problem(name: str, value: object) -> Problem | None:
    pointer = "/" + _escape(name)
    if not _EXTENSION_NAME.match(name):
        return Problem(pointer, "extension_name", "an extension attribute name: 1-20 lowercase letters or digits")
    if isinstance(value, bool) or not isinstance(value, str | int):
        return Problem(pointer, "extension_type", f"an extension value: string or integer, got {_json_type(value)}")
    return None


def data_problems(obj: Mapping[str, Any]) -> list[Problem]:
    """Problems of ``data`` against its type's model, pointing into ``/data``: ``type`` must be known."""
    spec = SPECS[obj["type"]]
    try:
        # Same strict JSON-mode validation as the codec, so "12" or true for a number is refused here too.
        spec.model.model_validate_json(json.dumps(obj["data"]), strict=True)
    except ValidationError as exc:
        return [
            Problem(pointer(("data", *err["loc"])), err["type"], _detail(err["msg"], err.get("input"), err["type"]))
            for err in exc.errors(include_url=False)
        ]
    return []


def pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901: ``("data", "interests", 0)`` -> ``/data/interests/0``."""
    return "".join("/" + _escape(str(part)) for part in path)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _detail(message: str, got: object, code: str) -> str:
    if code == "missing" or isinstance(got, dict):
        return message
    return f"{message} (got {_short(got)})"


def _json_type(value: object) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _short(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
