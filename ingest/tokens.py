"""Bearer tokens for ingest: each a name, the SHA-256 of the token, and the event types it may publish.

Tokens are random strings (``vendorwatch ingest-token`` style: 32 bytes from ``secrets``), not passwords,
so a fast hash is enough: nobody can search a 256-bit space, and a slow hash (scrypt) would only cost
CPU on every request. Only the hash is configured, so a leaked config file does not leak a token.
Every request's token is compared with every grant in constant time, so timing reveals neither
whether a token exists nor which one matched.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from schemas.errors import ConfigError
from schemas.registry import INPUT_TYPES

SETTING = "VENDORWATCH_INGEST_TOKENS"
ALL_TYPES = "*"
_HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Grant:
    """One configured token: ``name`` is safe to log, ``digest`` is the SHA-256 of the token."""

    name: str
    digest: bytes
    types: frozenset[str]

    def allows(self, event_type: str) -> bool:
        return event_type in self.types


def hash_token(token: str) -> str:
    """The value to configure for ``token``: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits), prefixed so that secret scanners recognise it."""
    return "vwi_" + secrets.token_urlsafe(32)


def parse_grants(raw: Mapping[str, Any]) -> tuple[Grant, ...]:
    """Check the ``ingest_tokens`` setting; a bad entry raises ``ConfigError`` naming the token."""
    grants = tuple(_grant(name, entry) for name, entry in raw.items())
    digests = [g.digest for g in grants]
    if len(set(digests)) != len(digests):
        raise ConfigError(SETTING, "two tokens have the same hash")
    return grants


def _grant(name: str, entry: object) -> Grant:
    if not _NAME.match(name):
        raise ConfigError(SETTING, f"token name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
    if not isinstance(entry, Mapping) or set(entry) != {"hash", "types"}:
        raise ConfigError(SETTING, f"{name}: expected an object with exactly 'hash' and 'types'")
    digest = entry["hash"]
    if not isinstance(digest, str) or not _HASH.match(digest):
        # Never echo the value: someone may have pasted the token itself here.
        raise ConfigError(SETTING, f"{name}: 'hash' must be 'sha256:' and 64 lowercase hex digits")
    return Grant(name, bytes.fromhex(digest.removeprefix("sha256:")), _types(name, entry["types"]))


def _types(name: str, types: object) -> frozenset[str]:
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise ConfigError(SETTING, f"{name}: 'types' must be a non-empty list of event types or '*'")
    if ALL_TYPES in types:
        return INPUT_TYPES
    unknown = sorted(set(types) - INPUT_TYPES)
    if unknown:
        raise ConfigError(SETTING, f"{name}: not input event types: {', '.join(unknown)}")
    return frozenset(types)


def authenticate(grants: Sequence[Grant], token: str) -> Grant | None:
    """The grant whose hash matches ``token``, comparing against all of them in constant time."""
    presented = hashlib.sha256(token.encode()).digest()
    found = None
    for grant in grants:
        # No early exit: every request costs the same whether or not, and where, it matches.
        if hmac.compare_digest(presented, grant.digest):
            found = grant
    return found
