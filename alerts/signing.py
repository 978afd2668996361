"""Standard Webhooks v1 signing (https://www.standardwebhooks.com), as pure functions.

Time and message id are arguments, so a signature is reproducible in tests; receivers verify with any
Standard Webhooks library. Several secrets give several space-separated signatures, which is how a
secret is rotated without a gap: sign with old and new until every receiver has the new one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of every secret, not a secret
SIGNATURE_VERSION = "v1"


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret; the message never echoes the secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret must start with 'whsec_'")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except binascii.Error:
        raise ValueError("the part of a webhook secret after 'whsec_' must be base64") from None
    if not key:
        raise ValueError("a webhook secret must not be empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``."""
    signed = b".".join((msg_id.encode(), str(timestamp).encode(), body))
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def webhook_headers(secret: str | Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery attempt; ``secret`` may be several secrets during a rotation."""
    secrets = (secret,) if isinstance(secret, str) else tuple(secret)
    if not secrets:
        raise ValueError("at least one webhook secret is needed to sign")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(s, msg_id, timestamp, body) for s in secrets),
        "content-type": "application/json",
    }
