"""Which receivers get an alert: a TOML file of receivers and routes, validated once at start-up.

In the spirit of Alertmanager's routing tree, flattened: routes are tried in order; the first that
matches takes the alert unless it says ``continue = true``; when none matched, ``default_receiver``
does. The receiver from ``VENDORWATCH_WEBHOOK_URL`` (named ``default``) gets every alert, as EVENTS.md
promises. Example::

    default_receiver = "security"

    [receivers.security]
    kind = "webhook"
    url = "https://hooks.example.com/vendorwatch"
    secrets = ["whsec_..."]            # several during a rotation: each gives one signature

    [receivers.oncall]
    kind = "pagerduty"
    routing_key = "R0UT1NGKEY..."

    [[routes]]
    receiver = "oncall"
    match = { severity = ["critical", "high"], transition = ["opened", "escalated", "resolved"] }
    continue = true

A mistake (unknown key, bad URL, missing secret, a route naming no receiver) raises ``ConfigError``
naming the entry, e.g. ``receivers.oncall.routing_key``; the message never echoes a secret.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from alerts.signing import secret_key
from schemas.errors import ConfigError
from vendorwatch.settings import Settings

ReceiverKind = Literal["webhook", "slack", "pagerduty", "alertmanager"]
MATCH_LABELS = ("lab_id", "vendor_id", "competitor_id", "severity", "transition", "status")
DEFAULT_RECEIVER = "default"
SETTING = "VENDORWATCH_ROUTING_FILE"
_NAME = r"^[a-z0-9][a-z0-9._-]{0,63}$"
PAGERDUTY_URL = "https://events.pagerduty.com/v2/enqueue"

Labels = Mapping[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReceiverConfig(_Strict):
    """One receiver. ``url`` and secrets are ``SecretStr``: a Slack or PagerDuty URL is itself a credential."""

    kind: ReceiverKind
    url: SecretStr | None = None
    secrets: tuple[SecretStr, ...] = ()
    routing_key: SecretStr | None = None
    timeout_s: Annotated[float, Field(gt=0, le=300)] | None = None
    horizon_s: Annotated[float, Field(gt=0, le=30 * 86400)] | None = None
    max_in_flight: Annotated[int, Field(ge=1, le=256)] = 8
    resend_s: Annotated[float, Field(ge=1, le=3600)] = 60.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                raise ValueError("expected an http(s) URL with a host")
        return value

    @field_validator("secrets")
    @classmethod
    def _whsec(cls, value: tuple[SecretStr, ...]) -> tuple[SecretStr, ...]:
        for secret in value:
            secret_key(secret.get_secret_value())  # raises ValueError without echoing the secret
        return value

    @model_validator(mode="after")
    def _complete(self) -> ReceiverConfig:
        if self.kind != "pagerduty" and self.url is None:
            raise ValueError(f"url: required for a {self.kind} receiver")
        if self.kind == "webhook" and not self.secrets:
            raise ValueError("secrets: a webhook receiver needs at least one whsec_ secret")
        if self.kind == "pagerduty" and self.routing_key is None:
            raise ValueError("routing_key: required for a pagerduty receiver")
        return self


class RouteConfig(_Strict):
    receiver: Annotated[str, Field(pattern=_NAME)]
    match: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)
    continue_: bool = Field(default=False, alias="continue")

    @field_validator("match")
    @classmethod
    def _known_labels(cls, value: dict[str, str | tuple[str, ...]]) -> dict[str, str | tuple[str, ...]]:
        unknown = sorted(set(value) - set(MATCH_LABELS))
        if unknown:
            raise ValueError(f"unknown label {unknown[0]!r}; match on {', '.join(MATCH_LABELS)}")
        return value


class RoutingFile(_Strict):
    default_receiver: str | None = None
    receivers: dict[Annotated[str, Field(pattern=_NAME)], ReceiverConfig] = Field(default_factory=dict)
    routes: tuple[RouteConfig, ...] = ()


@dataclass(frozen=True, slots=True)
class Receiver:
    """A validated receiver, with the knobs the dispatcher needs resolved against settings."""

    name: str
    config: ReceiverConfig
    timeout_s: float
    horizon_s: float

    @property
    def kind(self) -> ReceiverKind:
        return self.config.kind

    @property
    def url(self) -> str:
        url = self.config.url
        return url.get_secret_value() if url is not None else PAGERDUTY_URL

    def __repr__(self) -> str:  # a receiver in a log line is its name and kind, never its URL
        return f"Receiver({self.name!r}, {self.kind!r})"


@dataclass(frozen=True, slots=True)
class Routing:
    receivers: Mapping[str, Receiver]
    routes: tuple[RouteConfig, ...]
    default_receiver: str | None
    everything: tuple[str, ...] = ()
    """Receivers that get every alert whatever the routes say (the settings' default webhook)."""

    def route(self, labels: Labels) -> tuple[str, ...]:
        """The receiver names for an alert with ``labels``, in route order, each once."""
        chosen: list[str] = list(self.everything)
        matched = False
        for route in self.routes:
            if matches(route.match, labels):
                matched = True
                chosen.append(route.receiver)
                if not route.continue_:
                    break
        if not matched and self.default_receiver is not None:
            chosen.append(self.default_receiver)
        return tuple(dict.fromkeys(chosen))


def matches(matchers: Mapping[str, str | tuple[str, ...]], labels: Labels) -> bool:
    """Every matcher holds: the label equals the value, or one of the values when a list is given."""
    for name, wanted in matchers.items():
        allowed = (wanted,) if isinstance(wanted, str) else wanted
        if labels.get(name) not in allowed:
            return False
    return True


def load_routing(settings: Settings) -> Routing:
    """The routing of ``settings``: the routing file, plus the default webhook from the environment."""
    file = _read(settings.routing_file) if settings.routing_file is not None else RoutingFile()
    receivers = {name: _resolve(name, cfg, settings) for name, cfg in file.receivers.items()}
    everything: tuple[str, ...] = ()
    if settings.webhook_url:
        if DEFAULT_RECEIVER in receivers:
            raise ConfigError(f"{SETTING}: receivers.{DEFAULT_RECEIVER}",
                              "the name is taken by VENDORWATCH_WEBHOOK_URL's receiver")
        receivers[DEFAULT_RECEIVER] = _settings_receiver(settings)
        everything = (DEFAULT_RECEIVER,)
    _check_names(file, receivers)
    if not receivers:
        raise ConfigError("VENDORWATCH_WEBHOOK_URL", f"the dispatcher needs a receiver (or {SETTING})")
    return Routing(receivers, file.routes, file.default_receiver, everything)


def _settings_receiver(settings: Settings) -> Receiver:
    if settings.webhook_secret is None:  # settings validate the pair; kept for a clear message anyway
        raise ConfigError("VENDORWATCH_WEBHOOK_SECRET", "required when VENDORWATCH_WEBHOOK_URL is set")
    config = ReceiverConfig(kind="webhook", url=SecretStr(settings.webhook_url or ""),
                            secrets=(settings.webhook_secret,))
    return _resolve(DEFAULT_RECEIVER, config, settings)


def _resolve(name: str, config: ReceiverConfig, settings: Settings) -> Receiver:
    return Receiver(name, config, config.timeout_s or settings.delivery_timeout_s,
                    config.horizon_s or settings.retry_horizon_s)


def _check_names(file: RoutingFile, receivers: Mapping[str, Receiver]) -> None:
    for n, route in enumerate(file.routes):
        if route.receiver not in receivers:
            raise ConfigError(f"{SETTING}: routes[{n}].receiver", f"no receiver named {route.receiver!r}")
    if file.default_receiver is not None and file.default_receiver not in receivers:
        raise ConfigError(f"{SETTING}: default_receiver", f"no receiver named {file.default_receiver!r}")


def _read(path: Path) -> RoutingFile:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(SETTING, f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(SETTING, f"{path} is not valid TOML: {exc}") from None
    return parse_routing(data)


def parse_routing(data: Mapping[str, Any]) -> RoutingFile:
    """Validate the parsed TOML; ``ConfigError`` names the first bad entry (``receivers.x.url``)."""
    try:
        return RoutingFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if ": " in message and message.split(": ")[0].isidentifier():
            field, _, message = message.partition(": ")
            where = f"{where}.{field}"
        raise ConfigError(f"{SETTING}: {where}", message) from None
