"""Delivering one alert to one webhook receiver: sign, POST, classify the answer, retry with backoff.

``deliver`` is the one I/O boundary (an ``httpx.AsyncClient``; tests pass ``httpx.MockTransport``).
Everything it decides raises from the project's exception tree::

    DeliveryError
    ├── RetryableDelivery   408, 429, 5xx, timeouts, connection errors; ``retry_after`` from the receiver
    └── PermanentDelivery   3xx (redirects are not followed), every other 4xx, unsafe target
        └── ReceiverGone    410: the receiver asks never to be sent more; the dispatcher disables it

Every attempt of one alert carries the same ``webhook-id`` (the alert CloudEvent's ``id``) so a receiver
can drop repeats, and a fresh ``webhook-timestamp`` and signature, because receivers refuse old timestamps.
Error messages name the receiver kind and status, never the URL (it may carry a token) or a secret.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Literal, Protocol

import anyio.lowlevel
import httpx

from alerts.signing import webhook_headers
from schemas.errors import DeliveryError, PermanentDelivery, RetryableDelivery

Clock = Callable[[], float]
"""Unix time in seconds; injected so tests control the timestamp, the horizon and Retry-After dates."""
Sleep = Callable[[float], Awaitable[None]]
Preflight = Callable[[], Awaitable[None]]
AttemptResult = Literal["ok", "retryable", "permanent"]
AttemptObserver = Callable[[AttemptResult, float], None]
Outcome = Literal["delivered", "failed", "expired"]

_RETRYABLE_4XX = frozenset({408, 429})
_MAX_RETRY_AFTER_S = 7 * 86400.0  # beyond any horizon; only keeps absurd values finite


class ReceiverGone(PermanentDelivery):
    """410 Gone: the receiver was removed on purpose; retrying or sending it more alerts cannot help."""


class Jitter(Protocol):
    """The part of ``random.Random`` backoff needs; tests pass a seeded ``random.Random``."""

    def uniform(self, a: float, b: float) -> float: ...


@dataclass(frozen=True, slots=True)
class Target:
    """One receiver. ``url`` and ``secrets`` stay out of ``repr`` so they never reach a log line."""

    url: str = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)
    kind: str = "webhook"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    timeout_s: float = 15.0
    initial_s: float = 1.0
    max_s: float = 300.0
    horizon_s: float = 3600.0


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """How one alert's delivery to one receiver ended."""

    outcome: Outcome
    attempts: int
    error: DeliveryError | None = None

    @property
    def reason(self) -> str:
        return "delivered" if self.error is None else str(self.error)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), _MAX_RETRY_AFTER_S)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, moment.timestamp() - now), _MAX_RETRY_AFTER_S)


def classify(status: int, retry_after: str | None, now: float, kind: str = "webhook") -> None:
    """Return for 2xx; otherwise raise the ``DeliveryError`` the status calls for."""
    if 200 <= status < 300:
        return
    if status in _RETRYABLE_4XX or status >= 500:
        raise RetryableDelivery(
            f"{kind} receiver answered {status}", retry_after=parse_retry_after(retry_after, now)
        )
    if 300 <= status < 400:
        raise PermanentDelivery(f"{kind} receiver answered {status}: redirects are not followed, fix the URL")
    if status == 410:
        raise ReceiverGone(f"{kind} receiver answered 410: it is gone and asks not to be sent more")
    raise PermanentDelivery(f"{kind} receiver answered {status}")


async def warm_up() -> None:
    """Load now what httpx loads on its first request: httpcore's locks take anyio's asyncio backend, ~25-30
    ms of imports on this machine, which the first alert after a start waited for in its POST
    (docs/performance.md, item 20). anyio is httpx's own dependency."""
    await anyio.lowlevel.checkpoint()


async def deliver(
    client: httpx.AsyncClient,
    target: Target,
    body: bytes,
    msg_id: str,
    now: Clock,
    *,
    timeout_s: float = 15.0,
) -> None:
    """POST one signed attempt; return on 2xx, raise ``RetryableDelivery`` or ``PermanentDelivery``."""
    headers = webhook_headers(target.secrets, msg_id, int(now()), body)
    await post(client, target.url, body, headers, now, kind=target.kind, timeout_s=timeout_s)


async def post(
    client: httpx.AsyncClient,
    url: str,
    content: bytes,
    headers: dict[str, str],
    now: Clock,
    *,
    kind: str,
    timeout_s: float,
) -> None:
    """POST ``content`` once; return on 2xx, raise the ``DeliveryError`` the answer calls for."""
    request = client.build_request("POST", url, content=content, headers=headers, timeout=timeout_s)
    try:
        # httpx timeouts bound each read; the outer one bounds the whole attempt (a slow-drip receiver).
        async with asyncio.timeout(timeout_s):
            response = await client.send(request, follow_redirects=False, stream=True)
            await response.aclose()  # the body is never read: a receiver cannot make us buffer it
    except (TimeoutError, httpx.TimeoutException):
        raise RetryableDelivery(f"{kind} receiver timed out after {timeout_s:g}s") from None
    except httpx.UnsupportedProtocol:
        raise PermanentDelivery(f"{kind} receiver URL has an unsupported scheme") from None
    except httpx.TransportError as exc:
        # The class name is enough to act on; messages of transport errors can embed the URL.
        raise RetryableDelivery(f"{kind} receiver unreachable ({type(exc).__name__})") from None
    classify(response.status_code, response.headers.get("retry-after"), now(), kind)


def backoff(attempt: int, initial: float, maximum: float, rng: Jitter) -> float:
    """Delay before retry ``attempt`` (1 = first retry): full jitter below ``initial * 2**(attempt-1)``.

    Full jitter spreads the retries of many alerts that failed together (one receiver outage), so they
    do not come back in one burst.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    ceiling = min(maximum, initial * 2.0 ** min(attempt - 1, 64))
    return rng.uniform(0.0, ceiling)


async def deliver_with_retries(
    client: httpx.AsyncClient,
    target: Target,
    body: bytes,
    msg_id: str,
    policy: RetryPolicy,
    *,
    now: Clock,
    sleep: Sleep,
    rng: Jitter,
    preflight: Preflight | None = None,
    observe: AttemptObserver | None = None,
) -> DeliveryReport:
    """Attempt until delivered, a permanent failure, or the next try would fall past ``horizon_s``."""
    deadline = now() + policy.horizon_s
    attempt = 0
    while True:
        attempt += 1
        try:
            await _attempt(client, target, body, msg_id, policy, now, preflight, observe)
        except PermanentDelivery as exc:
            return DeliveryReport("failed", attempt, exc)
        except RetryableDelivery as exc:
            delay = next_delay(attempt, exc.retry_after, policy, rng)
            if now() + delay > deadline:
                return DeliveryReport("expired", attempt, exc)
            await sleep(delay)
        else:
            return DeliveryReport("delivered", attempt)


def next_delay(attempt: int, retry_after: float | None, policy: RetryPolicy, rng: Jitter) -> float:
    """Our backoff, or longer when the receiver asked; never shorter, so ``Retry-After: 0`` cannot spin."""
    delay = backoff(attempt, policy.initial_s, policy.max_s, rng)
    return delay if retry_after is None else max(delay, retry_after)


async def _attempt(
    client: httpx.AsyncClient,
    target: Target,
    body: bytes,
    msg_id: str,
    policy: RetryPolicy,
    now: Clock,
    preflight: Preflight | None,
    observe: AttemptObserver | None,
) -> None:
    started = time.perf_counter()

    def record(result: AttemptResult) -> None:
        if observe is not None:
            observe(result, time.perf_counter() - started)

    try:
        if preflight is not None:
            await preflight()
        await deliver(client, target, body, msg_id, now, timeout_s=policy.timeout_s)
    except RetryableDelivery:
        record("retryable")
        raise
    except PermanentDelivery:
        record("permanent")
        raise
    record("ok")
