"""TLS and SASL to the brokers, from settings: Faust credentials for the worker, options for every aiokafka client.

Built from the settings alone (validated at start-up), so the worker, the dispatcher, the publisher and the
command-line tools all reach a secured cluster the same way.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from aiokafka.helpers import create_ssl_context
from aiokafka.partitioner import DefaultPartitioner, murmur2

from vendorwatch.settings import Settings


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """A verifying TLS context (system CAs unless ``kafka_ssl_cafile``), with the client certificate if set."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None,
        certfile=str(settings.kafka_ssl_certfile) if settings.kafka_ssl_certfile else None,
        keyfile=str(settings.kafka_ssl_keyfile) if settings.kafka_ssl_keyfile else None,
    )
    return context


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and ``AIOKafkaAdminClient``."""
    options: dict[str, Any] = {"bootstrap_servers": settings.kafka_bootstrap,
                               "security_protocol": settings.kafka_security_protocol}
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.kafka_sasl_mechanism is not None:
        assert settings.kafka_sasl_password is not None  # settings require all three with SASL
        options |= {"sasl_mechanism": settings.kafka_sasl_mechanism,
                    "sasl_plain_username": settings.kafka_sasl_username,
                    "sasl_plain_password": settings.kafka_sasl_password.get_secret_value()}
    return options


def faust_credentials(settings: Settings) -> Any:
    """``broker_credentials`` for ``faust.App``: SASL (over TLS or not), TLS alone, or ``None`` for plaintext."""
    import faust  # here: the dispatcher and the tools use aiokafka alone
    from faust.types.auth import SASLMechanism

    context = ssl_context(settings)
    if settings.kafka_sasl_mechanism is not None:
        assert settings.kafka_sasl_password is not None and settings.kafka_sasl_username is not None
        return faust.SASLCredentials(username=settings.kafka_sasl_username,
                                     password=settings.kafka_sasl_password.get_secret_value(),
                                     ssl_context=context, mechanism=SASLMechanism(settings.kafka_sasl_mechanism))
    if context is not None:
        return faust.SSLCredentials(context)
    return None


FETCH_WAIT_BUSY_MS = 10
"""A fetch's wait at the broker while some partition has records buffered (and is left out of the request)."""
FETCH_WAIT_IDLE_MS = 500
"""... while none has: the request asks for every partition and returns as soon as any gets data."""
PREFETCH_BACKOFF_S = 0.005
"""How long records may sit unconsumed before the fetcher asks the broker for the other partitions again."""


def fetch_promptly(fetcher: Any) -> None:
    """Tune an aiokafka ``Fetcher`` (0.14; it has no public hook for either) so that records reach a busy
    consumer promptly.

    - It sends no fetch at all to a broker while any partition's records are buffered unconsumed, for up to
      ``prefetch_backoff`` (100 ms): on a single broker every partition waited behind one unconsumed record.
      That was most of the alert path's latency tail (docs/performance.md, third round); 5 ms here.
    - Each request's wait (read from ``_fetch_max_wait_ms`` when ``_get_actions_per_node`` builds it) follows
      the buffer: short while partitions are left out of the request, long when none are.
    """
    fetcher._prefetch_backoff = PREFETCH_BACKOFF_S
    plan = fetcher._get_actions_per_node

    def get_actions_per_node(assignment: Any) -> Any:
        fetcher._fetch_max_wait_ms = FETCH_WAIT_BUSY_MS if fetcher._records else FETCH_WAIT_IDLE_MS
        return plan(assignment)

    fetcher._get_actions_per_node = get_actions_per_node


KEY_HASHES_CACHED = 65_536
"""Distinct keys whose partition hash is remembered (vendors and labs: a few thousand in practice)."""


@lru_cache(maxsize=KEY_HASHES_CACHED)
def _key_hash(key: bytes) -> int:
    return int(murmur2(key)) & 0x7FFFFFFF


def partition_for(key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
    """aiokafka's ``DefaultPartitioner`` (Kafka's murmur2 of the key), with each key's hash remembered.

    aiokafka's murmur2 is pure Python, and Faust hashes the key of every table write it partitions: at
    shipment volume that was ~3% of the worker's main thread for a few thousand distinct keys. The
    partitions are the same as the Java client's, which producers of the input topics use.
    """
    if key is None:
        return int(DefaultPartitioner()(key, list(all_partitions), list(available)))
    return all_partitions[_key_hash(key) % len(all_partitions)]
