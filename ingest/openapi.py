"""The OpenAPI 3.1 document of the ingest API, served at ``/openapi.json``.

The ``data`` schemas are the exported JSON Schemas (``schemas/json/<type>.json``, ``schemas.export``), each
embedded as a component: their ``$defs`` become sibling components and their ``$ref``s are rewritten to
match, and their ``$id`` is dropped because inside this document it would re-base every reference.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from schemas.export import render_all
from schemas.registry import INPUT_TYPES, SPECS

if TYPE_CHECKING:
    from ingest.app import Limits

REF = "#/components/schemas/"
# Python's fromisoformat (the codec) accepts more than RFC 3339 and a little less (lowercase 't'/'z'):
# this is the intersection, so anything the document calls valid, the server accepts.
TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"


def build_document(limits: Limits) -> dict[str, Any]:
    schemas = {**_data_components(), **_envelopes(), **_shared(limits)}
    return {
        "openapi": "3.1.0",
        "info": {"title": "vendorwatch ingest", "version": "1",
                 "description": "Publish vendorwatch CloudEvents (EVENTS.md) over HTTP. One request is all or "
                 "nothing: every event is authorised and validated before any is written."},
        "paths": {"/v1/events": {"post": _post_events(limits)}, "/healthz": {"get": _healthz()},
                  "/openapi.json": {"get": _openapi()}},
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _data_components() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in render_all().items():
        event_type = name.removesuffix(".json")
        if event_type not in INPUT_TYPES:
            continue
        schema = json.loads(text)
        prefix = f"{event_type}."
        for def_name, definition in schema.pop("$defs", {}).items():
            out[prefix + def_name] = _rebase(definition, prefix)
        exported_as = schema.pop("$id")
        schema.pop("$schema")
        schema["description"] += f" Exported as {exported_as} (schemas/json/{name})."
        out[prefix + "data"] = _rebase(schema, prefix)
    return out


def _rebase(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        return {k: (REF + prefix + v.removeprefix("#/$defs/") if k == "$ref" else _rebase(v, prefix))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(item, prefix) for item in node]
    return node


def _envelopes() -> dict[str, Any]:
    envelopes = {event_type: _envelope(event_type) for event_type in sorted(INPUT_TYPES)}
    envelopes["CloudEvent"] = {"oneOf": [{"$ref": REF + t} for t in sorted(INPUT_TYPES)]}
    return envelopes


def _envelope(event_type: str) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "description": f"A structured-mode CloudEvent 1.0 of type {event_type} "
        f"(Kafka topic {SPECS[event_type].topic}, key data.{SPECS[event_type].key_field}).",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"}, "id": text, "source": text, "type": {"const": event_type},
            "time": {"type": ["string", "null"], "format": "date-time", "pattern": TIME_PATTERN},
            "subject": {"type": ["string", "null"]}, "dataschema": {"type": ["string", "null"]},
            "datacontenttype": {"type": ["string", "null"], "pattern": "^application/json"},
            "data": {"$ref": f"{REF}{event_type}.data"},
        },
        # Extension attributes: lowercase alphanumeric names, string or integer values (CloudEvents 1.0).
        "propertyNames": {"pattern": "^[a-z0-9]{1,20}$"},
        "additionalProperties": {"type": ["string", "integer"]},
    }


def _shared(limits: Limits) -> dict[str, Any]:
    error = {"type": "object", "required": ["pointer", "code", "detail"], "properties": {
        "pointer": {"type": "string", "description": "RFC 6901 JSON pointer into the event ('' = the event)"},
        "code": {"type": "string"}, "detail": {"type": "string"}}}
    return {
        "Batch": {"type": "array", "minItems": 1, "maxItems": limits.max_batch, "items": {"$ref": REF + "CloudEvent"}},
        "Delivery": {"type": "object", "required": ["id", "source", "type", "key", "topic", "partition", "offset"],
                     "properties": {"id": {"type": "string"}, "source": {"type": "string"}, "type": {"type": "string"},
                                    "key": {"type": "string"}, "topic": {"type": "string"},
                                    "partition": {"type": "integer"}, "offset": {"type": "integer"}}},
        "Accepted": {"type": "object", "required": ["accepted"],
                     "properties": {"accepted": {"type": "array", "items": {"$ref": REF + "Delivery"}}}},
        "EventError": error,
        "EventProblem": {"type": "object", "required": ["index"], "properties": {
            "index": {"type": "integer", "description": "position in the batch (0 for a single event)"},
            "id": {"type": ["string", "null"]}, "type": {"type": "string"},
            "errors": {"type": "array", "items": {"$ref": REF + "EventError"}}}},
        "Problem": {"type": "object", "description": "RFC 9457 problem details",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                                   "status": {"type": "integer"}, "detail": {"type": "string"},
                                   "events": {"type": "array", "items": {"$ref": REF + "EventProblem"}}}},
    }


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/problem+json": {"schema": {"$ref": REF + "Problem"}}}}
    if headers:
        response["headers"] = headers
    return response


def _post_events(limits: Limits) -> dict[str, Any]:
    single = {"schema": {"$ref": REF + "CloudEvent"}}
    return {
        "operationId": "publishEvents",
        "summary": "Publish one CloudEvent or a batch",
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {
            "application/cloudevents+json": single, "application/json": single,
            "application/cloudevents-batch+json": {"schema": {"$ref": REF + "Batch"}}}},
        "responses": {
            "202": {"description": "Every event acknowledged by Kafka (acks=all), in request order",
                    "content": {"application/json": {"schema": {"$ref": REF + "Accepted"}}}},
            "400": _problem("Not JSON, or an array without the batch content type"),
            "401": _problem("No, malformed or unknown bearer token",
                            {"WWW-Authenticate": {"schema": {"type": "string"}}}),
            "403": _problem("The token may not publish an event's type; nothing was written"),
            "413": _problem(f"Body above {limits.max_body_bytes} bytes or more than {limits.max_batch} events"),
            "415": _problem("Unsupported content type, or binary mode (ce-* headers)"),
            "422": _problem("Invalid events, each with JSON pointers to its problems; nothing was written"),
            "503": _problem("Kafka did not acknowledge in time; resending the request is safe",
                            {"Retry-After": {"schema": {"type": "string"}}}),
        },
    }


def _healthz() -> dict[str, Any]:
    ok = {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}}
    return {"operationId": "healthz", "summary": "Ready: the Kafka producer is started",
            "responses": {"200": {"description": "ready", "content": {"application/json": {"schema": ok}}}}}


def _openapi() -> dict[str, Any]:
    return {"operationId": "openapi", "summary": "This document",
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}
