"""Signing is checked against the reference Standard Webhooks library, not against itself."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from alerts.signing import secret_key, sign, webhook_headers

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
OTHER = "whsec_" + base64.b64encode(b"o" * 32).decode()


def test_matches_published_vector() -> None:
    # The example from the Standard Webhooks / Svix documentation.
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


@pytest.mark.parametrize(
    ("msg_id", "body"),
    [
        ("alert-1", b'{"a":1}'),
        ("evt.with.dots", b"{}"),
        ("unicode", '{"summary":"Meta holds 49% of Scale AI — überprüfen"}'.encode()),
        ("empty-body", b""),
    ],
)
def test_reference_library_verifies(msg_id: str, body: bytes) -> None:
    headers = webhook_headers(SECRET, msg_id, int(time.time()), body)
    Webhook(SECRET).verify(body, headers, json_parse=False)
    assert headers["webhook-id"] == msg_id
    assert headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("tamper", "field"),
    [
        (lambda h, b: (h | {"webhook-id": "other"}, b), "id"),
        (lambda h, b: (h | {"webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b), "timestamp"),
        (lambda h, b: (h, b + b" "), "body"),
    ],
)
def test_any_change_breaks_the_signature(tamper, field: str) -> None:
    body = b'{"alert_id":"x"}'
    headers, body2 = tamper(webhook_headers(SECRET, "alert-1", int(time.time()), body), body)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body2, headers)


def test_wrong_secret_fails() -> None:
    body = b"{}"
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER).verify(body, webhook_headers(SECRET, "a", int(time.time()), body))


def test_rotation_signs_with_every_secret() -> None:
    body = b'{"x":1}'
    headers = webhook_headers([SECRET, OTHER], "a", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET, OTHER):
        Webhook(secret).verify(body, headers)


@pytest.mark.parametrize("bad", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not*base64!"])
def test_bad_secret_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        secret_key(bad)
    assert bad.removeprefix("whsec_") not in str(info.value) or bad == "whsec_"


def test_no_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        webhook_headers([], "a", 1, b"")
