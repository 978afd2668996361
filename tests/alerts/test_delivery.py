"""Delivery classification and the retry loop, over ``httpx.MockTransport`` and a fake clock."""

from __future__ import annotations

import base64
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from standardwebhooks import Webhook

from alerts.delivery import (
    RetryPolicy,
    Target,
    backoff,
    classify,
    deliver,
    deliver_with_retries,
    next_delay,
    parse_retry_after,
)
from schemas.errors import PermanentDelivery, RetryableDelivery

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
URL = "https://hooks.example.com/vendorwatch?token=sekrit"
TARGET = Target(URL, (SECRET,))
BODY = b'{"specversion":"1.0","id":"alert-1","type":"vendorwatch.alert.v1"}'


def seeded(seed: int = 0) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible jitter, not security


class FakeClock:
    """Starts at real time so the reference library accepts the timestamps; ``sleep`` only moves it."""

    def __init__(self) -> None:
        self.t = time.time()
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=False)


def scripted(*responses: httpx.Response | Exception) -> tuple[list[httpx.Request], Callable]:
    """A handler answering each request with the next scripted response (the last one repeats)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = responses[min(len(seen), len(responses)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, handler


# --- pure pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "initial", "maximum", "ceiling"),
    [
        (1, 1.0, 300.0, 1.0),
        (2, 1.0, 300.0, 2.0),
        (5, 1.0, 300.0, 16.0),
        (20, 1.0, 300.0, 300.0),
        (5000, 0.5, 60, 60),
    ],
)
def test_backoff_is_full_jitter_below_a_capped_exponential(attempt, initial, maximum, ceiling) -> None:
    rng = seeded(7)
    delays = [backoff(attempt, initial, maximum, rng) for _ in range(200)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) > ceiling * 0.8  # spread over the whole range, not clustered


def test_backoff_counts_from_one() -> None:
    with pytest.raises(ValueError):
        backoff(0, 1.0, 2.0, seeded())


def test_retry_after_is_a_floor_on_backoff() -> None:
    policy = RetryPolicy(initial_s=1.0, max_s=2.0)
    assert next_delay(1, 30.0, policy, seeded(1)) == 30.0
    assert next_delay(1, 0.0, policy, seeded(1)) > 0.0


NOW = datetime(2025, 6, 12, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("120", 120.0),
        (" 5 ", 5.0),
        ("0", 0.0),
        ("-5", None),
        ("soon", None),
        ("1.5", None),
        (format_datetime(datetime(2025, 6, 12, 12, 1, 30, tzinfo=UTC), usegmt=True), 90.0),
        ("Thu, 12 Jun 2025 11:00:00 GMT", 0.0),  # a date in the past: retry now
        ("9" * 40, 7 * 86400.0),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, NOW) == expected


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (200, None),
        (202, None),
        (204, None),
        (301, PermanentDelivery),
        (302, PermanentDelivery),
        (307, PermanentDelivery),
        (400, PermanentDelivery),
        (401, PermanentDelivery),
        (404, PermanentDelivery),
        (410, PermanentDelivery),
        (413, PermanentDelivery),
        (408, RetryableDelivery),
        (429, RetryableDelivery),
        (500, RetryableDelivery),
        (502, RetryableDelivery),
        (503, RetryableDelivery),
        (504, RetryableDelivery),
    ],
)
def test_classify(status: int, error: type[Exception] | None) -> None:
    if error is None:
        classify(status, None, NOW)
    else:
        with pytest.raises(error):
            classify(status, None, NOW)


def test_classify_carries_retry_after() -> None:
    with pytest.raises(RetryableDelivery) as info:
        classify(429, "7", NOW)
    assert info.value.retry_after == 7.0


# --- one attempt over MockTransport --------------------------------------------------------------


async def test_deliver_posts_a_verifiable_request() -> None:
    seen, handler = scripted(httpx.Response(204))
    async with client_for(handler) as client:
        await deliver(client, TARGET, BODY, "alert-1", time.time)
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == URL
    assert request.content == BODY
    assert request.headers["webhook-id"] == "alert-1"
    assert request.headers["content-type"] == "application/json"
    Webhook(SECRET).verify(request.content, dict(request.headers))


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(301, headers={"location": "http://169.254.169.254/"}), PermanentDelivery),
        (httpx.Response(503, headers={"retry-after": "3"}), RetryableDelivery),
        (httpx.Response(410), PermanentDelivery),
        (httpx.ConnectError("connection refused"), RetryableDelivery),
        (httpx.ReadTimeout("timed out"), RetryableDelivery),
        (httpx.RemoteProtocolError("server disconnected"), RetryableDelivery),
    ],
)
async def test_deliver_classifies(answer: httpx.Response | Exception, error: type[Exception]) -> None:
    seen, handler = scripted(answer)
    async with client_for(handler) as client:
        with pytest.raises(error) as info:
            await deliver(client, TARGET, BODY, "alert-1", time.time)
    assert len(seen) == 1  # a redirect is not followed
    assert "sekrit" not in str(info.value)
    assert SECRET not in str(info.value)


async def test_redirect_is_not_followed_even_if_the_client_would() -> None:
    seen, handler = scripted(httpx.Response(302, headers={"location": "https://elsewhere.example/"}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True) as client:
        with pytest.raises(PermanentDelivery):
            await deliver(client, TARGET, BODY, "alert-1", time.time)
    assert [str(r.url) for r in seen] == [URL]


async def test_a_slow_receiver_times_out_as_retryable() -> None:
    class Slow(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            import asyncio

            await asyncio.sleep(5)
            return httpx.Response(204)

    async with httpx.AsyncClient(transport=Slow()) as client:
        with pytest.raises(RetryableDelivery, match="timed out"):
            await deliver(client, TARGET, BODY, "alert-1", time.time, timeout_s=0.05)


def test_target_repr_hides_url_and_secret() -> None:
    assert "sekrit" not in repr(TARGET)
    assert SECRET not in repr(TARGET)


# --- the retry loop -------------------------------------------------------------------------------

POLICY = RetryPolicy(timeout_s=1.0, initial_s=1.0, max_s=8.0, horizon_s=60.0)


async def run_retries(handler, policy: RetryPolicy = POLICY, **kwargs):
    clock = FakeClock()
    observed: list[str] = []
    async with client_for(handler) as client:
        report = await deliver_with_retries(
            client,
            TARGET,
            BODY,
            "alert-1",
            policy,
            now=clock.now,
            sleep=clock.sleep,
            rng=seeded(3),
            observe=lambda result, seconds: observed.append(result),
            **kwargs,
        )
    return report, clock, observed


async def test_retries_keep_the_id_and_re_sign_each_attempt() -> None:
    seen, handler = scripted(
        httpx.Response(503, headers={"retry-after": "2"}),
        httpx.Response(500, headers={"retry-after": "2"}),
        httpx.Response(200),
    )
    report, _, observed = await run_retries(handler)
    assert (report.outcome, report.attempts, report.error) == ("delivered", 3, None)
    assert observed == ["retryable", "retryable", "ok"]
    assert {r.headers["webhook-id"] for r in seen} == {"alert-1"}
    timestamps = [r.headers["webhook-timestamp"] for r in seen]
    assert len(set(timestamps)) == 3
    assert len({r.headers["webhook-signature"] for r in seen}) == 3
    for request in seen:  # each verifies on its own timestamp (fake clock started at real time)
        Webhook(SECRET).verify(request.content, dict(request.headers))


async def test_retry_after_is_honoured() -> None:
    _, handler = scripted(httpx.Response(429, headers={"retry-after": "30"}), httpx.Response(204))
    report, clock, _ = await run_retries(handler)
    assert report.outcome == "delivered"
    assert clock.sleeps == [30.0]


@pytest.mark.parametrize("status", [410, 400, 403, 301])
async def test_permanent_failures_are_not_retried(status: int) -> None:
    seen, handler = scripted(httpx.Response(status))
    report, clock, observed = await run_retries(handler)
    assert (report.outcome, report.attempts) == ("failed", 1)
    assert isinstance(report.error, PermanentDelivery)
    assert clock.sleeps == []
    assert observed == ["permanent"]
    assert len(seen) == 1


async def test_gives_up_when_the_horizon_passes() -> None:
    seen, handler = scripted(httpx.Response(503))
    report, clock, _ = await run_retries(handler, RetryPolicy(initial_s=1.0, max_s=4.0, horizon_s=30.0))
    assert report.outcome == "expired"
    assert isinstance(report.error, RetryableDelivery)
    assert sum(clock.sleeps) <= 30.0
    assert len(seen) == report.attempts > 3
    assert all(d <= 4.0 for d in clock.sleeps)


async def test_a_retry_after_beyond_the_horizon_expires_without_waiting() -> None:
    _, handler = scripted(httpx.Response(503, headers={"retry-after": "3600"}))
    report, clock, _ = await run_retries(handler)
    assert (report.outcome, report.attempts, clock.sleeps) == ("expired", 1, [])


async def test_preflight_runs_before_every_attempt_and_can_refuse() -> None:
    seen, handler = scripted(httpx.Response(503), httpx.Response(204))
    calls = 0

    async def preflight() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise PermanentDelivery("receiver 'x' resolves to non-public address 10.0.0.1")

    report, _, observed = await run_retries(handler, preflight=preflight)
    assert (report.outcome, report.attempts, len(seen)) == ("failed", 2, 1)
    assert observed == ["retryable", "permanent"]


_FIRST_POST = """
import asyncio, sys
import httpx
from alerts.delivery import warm_up

async def main(warm):
    async def answer(reader, writer):
        await reader.readuntil(b"\\r\\n\\r\\n")
        writer.write(b"HTTP/1.1 204 No Content\\r\\ncontent-length: 0\\r\\n\\r\\n")
        await writer.drain()
        writer.close()
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    if warm:
        await warm_up()
    before = set(sys.modules)
    async with httpx.AsyncClient() as client:
        await client.post(f"http://127.0.0.1:{port}/", content=b"{}")
    server.close()
    print(",".join(sorted(m for m in set(sys.modules) - before if m.startswith("anyio"))))

asyncio.run(main(sys.argv[1] == "warm"))
"""


@pytest.mark.parametrize("warm", [True, False])
def test_warm_up_loads_what_the_first_post_would(warm: bool) -> None:
    # A fresh interpreter: this one has loaded anyio's backend long ago.
    done = subprocess.run([sys.executable, "-c", _FIRST_POST, "warm" if warm else "cold"],
                          capture_output=True, text=True, check=True, timeout=60)
    loaded = [m for m in done.stdout.strip().split(",") if m]
    if warm:
        assert loaded == [], "the first POST after warm_up imports nothing of anyio's"
    else:
        assert "anyio._backends._asyncio" in loaded, "without it, the first POST does (what warm_up is for)"
