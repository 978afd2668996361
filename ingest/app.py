"""``create_app``: the ingest HTTP API. ``POST /v1/events``, ``GET /openapi.json``, ``GET /healthz``.

A request is all or nothing: every event in it is authorised and validated before any is sent, so a
batch with one bad event writes nothing (422 lists what to fix in each rejected event; the others were
fine and can be resent with the fixes). Why not per event: producers send related events together (a
lab's org, then its competitor set, then its contracts), and half a batch would leave the worker with
an amendment whose signing was refused. Once validated, the events are sent in order and the answer
waits for the broker's acknowledgement of all of them; if that fails (503), some may have been written,
and resending the whole request is safe because ``source`` + ``id`` make the repeats duplicates.

Checks, in order, each answered with an RFC 9457 problem document::

    401  no, malformed or unknown bearer token (with WWW-Authenticate)
    415  not application/cloudevents+json, application/json or application/cloudevents-batch+json
    413  body above ingest_max_body_bytes, or more than ingest_max_batch events
    400  not JSON, or the wrong shape for the content type (an object for one event, an array for a batch)
    403  the token may not publish the type of an event in the request (nothing written)
    422  an event is invalid: per event, each problem's JSON pointer, code and detail (nothing written)
    503  the broker did not acknowledge in time (resend the request)
    202  every event acknowledged: id, source, type, key, topic, partition, offset of each
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aiohttp import web

from ingest.openapi import build_document
from ingest.problems import Problem, judge
from ingest.tokens import Grant, authenticate
from schemas.errors import InvalidEvent, VendorwatchError
from schemas.registry import INPUT_TYPES
from vendorwatch.publisher import Delivery, Record, prepare

log = logging.getLogger(__name__)

SINGLE_TYPES = frozenset({"application/cloudevents+json", "application/json"})
BATCH_TYPE = "application/cloudevents-batch+json"
PROBLEM_TYPE = "application/problem+json"
PROBLEMS = "https://vendorwatch.dev/problems/"
REALM = 'Bearer realm="vendorwatch-ingest"'


class EventSink(Protocol):
    """The one boundary to Kafka (``vendorwatch.publisher.Publisher``); tests pass a fake."""

    async def send_records(self, records: Sequence[Record]) -> list[Delivery]: ...


@dataclass(frozen=True, slots=True)
class Limits:
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 1000
    publish_timeout_s: float = 30.0


class Refused(Exception):
    """Ends a request with a problem document; raised by the checks, answered by ``_problems``."""

    def __init__(self, status: int, slug: str, title: str, detail: str, *,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.headers = status, headers or {}
        self.body = {"type": PROBLEMS + slug, "title": title, "status": status, "detail": detail, **extra}


GRANTS = web.AppKey[tuple[Grant, ...]]("grants")
SINK = web.AppKey[EventSink]("sink")
LIMITS = web.AppKey[Limits]("limits")


def create_app(grants: Sequence[Grant], sink: EventSink, limits: Limits | None = None) -> web.Application:
    limits = limits or Limits()
    # client_max_size makes aiohttp itself refuse larger bodies; we turn that into our own 413.
    app = web.Application(client_max_size=limits.max_body_bytes, middlewares=[_problems])
    app[GRANTS], app[SINK], app[LIMITS] = tuple(grants), sink, limits
    document = build_document(limits)
    app.router.add_post("/v1/events", post_events)
    app.router.add_get("/openapi.json", _constant(document))
    # Served only once the Kafka producer has started (service.py), so answering at all means ready.
    app.router.add_get("/healthz", _constant({"status": "ok"}))
    return app


def _constant(body: object) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        return _json_response(body)

    return handler


async def post_events(request: web.Request) -> web.Response:
    grant = _grant_of(request)
    limits = request.app[LIMITS]
    batch = _is_batch(request)
    events = _shape(await _body(request, limits), batch=batch, limits=limits)
    _authorise(grant, events)
    records = _validated(events)
    deliveries = await _send(request.app[SINK], records, limits)
    log.info("ingest: token %s published %d events", grant.name, len(deliveries))
    return _json_response({"accepted": [d.to_json() for d in deliveries]}, status=202)


def _grant_of(request: web.Request) -> Grant:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "unauthenticated", "Authentication required",
                      "send 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": REALM})
    grants: tuple[Grant, ...] = request.app[GRANTS]
    grant = authenticate(grants, token.strip())
    if grant is None:
        raise Refused(401, "unauthenticated", "Unknown token", "the bearer token is not configured",
                      headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'})
    return grant


def _is_batch(request: web.Request) -> bool:
    if "ce-specversion" in request.headers:
        raise Refused(415, "unsupported-media-type", "Binary mode is not supported",
                      "send the whole event as JSON (structured mode), without ce-* headers")
    content_type = request.content_type.lower()
    if content_type == BATCH_TYPE:
        return True
    if content_type in SINGLE_TYPES:
        return False
    raise Refused(415, "unsupported-media-type", "Unsupported media type",
                  f"expected one of {', '.join(sorted([*SINGLE_TYPES, BATCH_TYPE]))}, got {content_type!r}")


async def _body(request: web.Request, limits: Limits) -> object:
    too_large = Refused(413, "too-large", "Request too large", f"the body may be at most {limits.max_body_bytes} bytes")
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise too_large
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise Refused(400, "malformed", "Body is not JSON", str(exc)) from None


def _no_constant(name: str) -> object:
    # json.loads accepts NaN and Infinity, which are not JSON: no other consumer could read them back.
    raise ValueError(f"{name} is not a JSON value")


def _shape(body: object, *, batch: bool, limits: Limits) -> list[object]:
    if not batch:
        if not isinstance(body, dict):
            raise Refused(400, "malformed", "Expected one CloudEvent object",
                          f"got a JSON {type(body).__name__}; a batch needs Content-Type: {BATCH_TYPE}")
        return [body]
    if not isinstance(body, list) or not body:
        raise Refused(400, "malformed", "Expected a non-empty JSON array of CloudEvents", "a batch is a JSON array")
    if len(body) > limits.max_batch:
        raise Refused(413, "too-large", "Batch too large",
                      f"{len(body)} events; a batch may have at most {limits.max_batch}")
    return body


def _authorise(grant: Grant, events: list[object]) -> None:
    """403 for a known input type this token may not publish; unknown types are left to validation (422)."""
    forbidden = [
        {"index": i, "type": event["type"]}
        for i, event in enumerate(events)
        if isinstance(event, dict) and _input_type(event.get("type")) and not grant.allows(event["type"])
    ]
    if forbidden:
        types = sorted({str(f["type"]) for f in forbidden})
        raise Refused(403, "forbidden-type", "Token may not publish this type",
                      f"token {grant.name!r} may not publish {', '.join(types)}; nothing was written",
                      events=forbidden)


def _input_type(value: object) -> bool:
    return isinstance(value, str) and value in INPUT_TYPES


def _validated(events: list[object]) -> list[Record]:
    records: list[Record] = []
    rejected: list[dict[str, Any]] = []
    for index, value in enumerate(events):
        result = _judge(value)
        if isinstance(result, Record):
            records.append(result)
        else:
            event_id = value.get("id") if isinstance(value, dict) else None
            rejected.append({"index": index, "id": event_id if isinstance(event_id, str) else None,
                             "errors": [p.to_json() for p in result]})
    if rejected:
        raise Refused(422, "invalid-events", "Invalid events; nothing was written",
                      f"{len(rejected)} of {len(events)} events rejected", events=rejected)
    return records


def _judge(value: object) -> Record | list[Problem]:
    result = judge(value)
    if isinstance(result, list):
        return result
    try:
        return prepare(result)
    except InvalidEvent as error:  # the event does not survive its own encoding: refuse, never write it
        return [Problem("", error.kind, error.reason)]


async def _send(sink: EventSink, records: list[Record], limits: Limits) -> list[Delivery]:
    try:
        async with asyncio.timeout(limits.publish_timeout_s):
            return await sink.send_records(records)
    except (TimeoutError, VendorwatchError) as error:
        log.warning("ingest: broker did not acknowledge %d events: %s", len(records), error or "timeout")
        raise Refused(503, "not-acknowledged", "Not acknowledged by Kafka",
                      "the broker did not acknowledge every event; resending the same request is safe",
                      headers={"Retry-After": "5"}) from None


def _json_response(body: object, status: int = 200, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, content_type=content_type, headers=headers)


@web.middleware
async def _problems(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                    ) -> web.StreamResponse:
    try:
        return await handler(request)
    except Refused as refused:
        return _json_response(refused.body, refused.status, PROBLEM_TYPE, refused.headers)
    except web.HTTPException as exc:
        # Routing errors (404, 405) in the same problem format as everything else.
        body = {"type": "about:blank", "title": exc.reason, "status": exc.status, "detail": exc.reason}
        return _json_response(body, exc.status, PROBLEM_TYPE, {k: v for k, v in exc.headers.items()
                                                                 if k.lower() == "allow"})
