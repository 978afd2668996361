"""Settings, built once at start-up and passed down; nothing else in the project reads ``os.environ``.

Values come from the environment (prefix ``VENDORWATCH_``) and, when ``VENDORWATCH_CONFIG_FILE`` names one,
from a TOML file whose keys are the setting names without the prefix (environment wins).
"""

from __future__ import annotations

import base64
import binascii
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, Json, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from schemas.errors import ConfigError

ENV_PREFIX = "VENDORWATCH_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid")

    kafka_bootstrap: str = "localhost:9092"
    # TLS and SASL to the brokers (vendorwatch/brokers.py turns them into Faust credentials and aiokafka
    # options). Files are checked at start-up; SASL needs a mechanism, a username and a password.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    app_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = "vendorwatch"
    topic_partitions: Annotated[int, Field(ge=1, le=1024)] = 8
    topic_replication: Annotated[int, Field(ge=1, le=16)] = 1
    data_dir: Path = Path(".vendorwatch")
    # Faust table storage: memory:// rebuilds every table from its changelog at start; rocksdb:// (rocksdict)
    # keeps them under data_dir, so a restarted worker only replays what it missed.
    table_store: Literal["memory://", "rocksdb://"] = "memory://"
    session_timeout_s: Annotated[float, Field(ge=6, le=300)] = 10.0

    influence_max_depth: Annotated[int, Field(ge=1, le=32)] = 8
    influence_min_edge_share: Annotated[float, Field(ge=0, le=100)] = 0.0
    announced_horizon_days: Annotated[int, Field(ge=1, le=3650)] = 365
    hysteresis_margin: Annotated[float, Field(ge=0, le=10)] = 1.0

    # --- ingest (issue 7) ---
    # Bearer tokens of `vendorwatch ingest`: name -> {"hash": "sha256:<hex>", "types": [event types or "*"]},
    # JSON in the environment or a TOML table in the config file. Only hashes are stored; ingest/tokens.py
    # checks each entry at start-up. Empty: every request is refused with 401.
    ingest_tokens: Json[dict[str, Any]] | dict[str, Any] = Field(default_factory=dict)
    ingest_port: Annotated[int, Field(ge=0, le=65535)] = 6068
    # Largest request body accepted (413 above it), and the most events in one batch.
    ingest_max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    ingest_max_batch: Annotated[int, Field(ge=1, le=10_000)] = 1000
    # How long a request waits for the broker's acknowledgement of its events before answering 503.
    ingest_publish_timeout_s: Annotated[float, Field(gt=0, le=300)] = 30.0
    # --- end ingest ---

    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=0, le=65535)] = 6066
    dispatcher_http_port: Annotated[int, Field(ge=0, le=65535)] = 6067
    log_level: Annotated[str, Field(pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")] = "INFO"
    # --- scale-out (issue 5) ---
    # The URL other workers use to reach this one's HTTP API: a query for a lab whose partition another
    # worker owns is proxied there. Default: http://<http_host>:<http_port> (the host name when
    # http_host is a wildcard such as 0.0.0.0). Set it to the pod's stable DNS name under Kubernetes.
    advertised_url: str | None = None
    # Warm copies of other workers' table partitions: a takeover then needs no changelog replay.
    standby_replicas: Annotated[int, Field(ge=0, le=3)] = 0
    # A partition with records left whose committed offset has not moved for this long ends the worker
    # (exit 70) so its supervisor restarts it (streams/watchdog.py); 0: never.
    stall_timeout_s: Annotated[float, Field(ge=0, le=3600)] = 120.0
    # Processes that decode and validate the shipment stream's records beside the worker's own thread
    # (streams/digest.py); 0: the worker does it itself (one core). Two, not one: a fetch's records go to
    # whichever is free, so the worker waits less when one of them is off the CPU (docs/performance.md,
    # ninth round).
    shipment_digest_processes: Annotated[int, Field(ge=0, le=8)] = 2
    # How long a shipment's source+id is remembered to recognise a repeat (streams/seen_table.py); 0: for ever,
    # as the event contract says. The worker's memory grows with every shipment kept
    # (vendorwatch_dedup_index_identities): a window of days bounds it, and a repeat that comes later
    # than the window is counted again.
    shipment_dedup_retention_s: Annotated[float, Field(ge=0, le=10 * 366 * 86400)] = 0.0
    # --- end scale-out ---

    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    allow_insecure_hosts: Annotated[tuple[str, ...], NoDecode] = ()
    delivery_timeout_s: Annotated[float, Field(gt=0, le=300)] = 15.0
    # 28 h: room for the whole default schedule (5s, 5m, 30m, 2h, 5h, 10h, 10h ...), as Svix keeps trying.
    retry_horizon_s: Annotated[float, Field(gt=0, le=7 * 86400)] = 28 * 3600.0
    dispatcher_group: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = "vendorwatch-dispatcher"
    # --- delivery (issue 3) ---
    # Receivers and routes beyond the default webhook (alerts/routing.py documents the TOML format).
    routing_file: Path | None = None
    # Delays between attempts after the immediate first one (units ms, s, m, h, d); the last repeats
    # until the horizon. Default: the Standard Webhooks / Svix schedule. Parsed by alerts/schedule.py.
    retry_schedule: Annotated[
        str, Field(pattern=r"^\s*\d+(\.\d+)?(ms|s|m|h|d)?(\s*,\s*\d+(\.\d+)?(ms|s|m|h|d)?)*\s*$")
    ] = "5s,5m,30m,2h,5h,10h"
    retry_jitter: Annotated[float, Field(ge=0, le=0.5)] = 0.2
    silences_topic: Annotated[str, Field(pattern=r"^[a-zA-Z0-9._-]{1,249}$")] = "vendorwatch.silences"
    # --- end delivery ---

    @field_validator("allow_insecure_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(h.strip().lower() for h in value.split(",") if h.strip())
        return value

    @field_validator("kafka_bootstrap")
    @classmethod
    def _bootstrap_hosts(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port...], got {value!r}")
        return value

    @field_validator("stall_timeout_s")
    @classmethod
    def _stall_timeout(cls, value: float) -> float:
        if 0 < value < 10:
            raise ValueError("0 (never) or at least 10 seconds: commits and rebalances take seconds")
        return value

    @field_validator("advertised_url")
    @classmethod
    def _advertised_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.port is None:
            raise ValueError(f"expected http(s)://host:port, got {value!r}")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"expected an http(s) URL, got {value!r}")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value()
        if not raw.startswith("whsec_"):
            raise ValueError("must start with 'whsec_' (Standard Webhooks secret)")
        try:
            key = base64.b64decode(raw.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("the part after 'whsec_' must be base64") from None
        if not 24 <= len(key) <= 64:
            raise ValueError("the key must be 24 to 64 bytes once base64-decoded")
        return value

    @field_validator("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _broker_security(self) -> Self:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        tls = self.kafka_security_protocol.endswith("SSL")
        sasl_fields: dict[str, object] = {"kafka_sasl_mechanism": self.kafka_sasl_mechanism,
                       "kafka_sasl_username": self.kafka_sasl_username,
                       "kafka_sasl_password": self.kafka_sasl_password}
        tls_fields: dict[str, object] = {"kafka_ssl_cafile": self.kafka_ssl_cafile,
                                         "kafka_ssl_certfile": self.kafka_ssl_certfile,
                                         "kafka_ssl_keyfile": self.kafka_ssl_keyfile}
        for name, value in sasl_fields.items():
            if sasl and not value:
                raise ValueError(f"{name}: required with kafka_security_protocol {self.kafka_security_protocol}")
            if not sasl and value:
                raise ValueError(f"{name}: only used with kafka_security_protocol SASL_PLAINTEXT or SASL_SSL")
        for name, value in tls_fields.items():
            if not tls and value:
                raise ValueError(f"{name}: only used with kafka_security_protocol SSL or SASL_SSL")
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("kafka_ssl_keyfile: a client certificate needs kafka_ssl_certfile and kafka_ssl_keyfile")
        return self

    @model_validator(mode="after")
    def _webhook_pair(self) -> Self:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("webhook_secret: required when webhook_url is set")
        if self.webhook_url:
            parts = urlsplit(self.webhook_url)
            if parts.scheme != "https" and (parts.hostname or "").lower() not in self.allow_insecure_hosts:
                raise ValueError(
                    f"webhook_url: plain http to {parts.hostname!r} needs the host in allow_insecure_hosts"
                )
        return self


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from ``environ`` (default: the process environment) and the optional config file.

    Raises ``ConfigError`` naming the first bad setting as its environment variable.
    """
    env = dict(os.environ if environ is None else environ)
    file_values = _read_config_file(env.get(f"{ENV_PREFIX}CONFIG_FILE"))
    env_values = {
        key.removeprefix(ENV_PREFIX).lower(): value
        for key, value in env.items()
        if key.startswith(ENV_PREFIX) and key != f"{ENV_PREFIX}CONFIG_FILE"
    }
    known = set(Settings.model_fields)
    for name in (*env_values, *file_values):
        if name not in known:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()}", "unknown setting")
    values = {**file_values, **env_values, **overrides}
    try:
        # _env_prefix is consumed by pydantic-settings; values are passed explicitly so the
        # environment is read exactly once, here.
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise _config_error(exc) from None


def _read_config_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE", f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{ENV_PREFIX}CONFIG_FILE", f"{path} is not valid TOML: {exc}") from None
    return {str(k).lower(): v for k, v in data.items()}


def _config_error(exc: ValidationError) -> ConfigError:
    err = exc.errors(include_url=False)[0]
    field = str(err["loc"][0]) if err["loc"] else ""
    message = err["msg"].removeprefix("Value error, ")
    if not field and ":" in message:
        field, _, message = message.partition(": ")
    return ConfigError(f"{ENV_PREFIX}{field.upper()}", message)
