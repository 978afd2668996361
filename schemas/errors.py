"""The one exception tree of vendorwatch.

Every error the project raises on purpose derives from ``VendorwatchError``::

    VendorwatchError
    ├── ConfigError              a bad setting; names the setting; stops start-up
    ├── InvalidArgument          a query parameter or command option that cannot be understood; names it
    ├── InvalidEvent             bad input; carries a readable reason; goes to the dead-letter topic
    │   ├── NotACloudEvent       not JSON, not an object, or a missing/invalid envelope attribute
    │   ├── UnknownEventType     a CloudEvent whose ``type`` this contract does not define
    │   └── InvalidEventData     ``data`` that does not match the type's model
    └── DeliveryError            an alert could not be delivered to a receiver
        ├── RetryableDelivery    try again later; ``retry_after`` (seconds) when the receiver said so
        └── PermanentDelivery    retrying cannot help (4xx other than 408/429, unsafe target)

It lives in ``schemas`` because that package imports nothing else of the project, so every other
package can extend or catch these without import cycles.
"""

from __future__ import annotations


class VendorwatchError(Exception):
    """Root of every error vendorwatch raises on purpose."""


class ConfigError(VendorwatchError):
    """A setting is missing or invalid; ``setting`` names it (e.g. ``VENDORWATCH_WEBHOOK_SECRET``)."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class InvalidArgument(VendorwatchError):
    """A query parameter or command-line option is malformed; ``name`` names it (``as_of``, ``--from``)."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


class InvalidEvent(VendorwatchError):
    """An input record failed validation; ``reason`` is what a producer needs to fix it."""

    def __init__(self, reason: str, *, event_type: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_type = event_type

    @property
    def kind(self) -> str:
        """A short, bounded label for metrics and dead-letter headers."""
        return "invalid"


class NotACloudEvent(InvalidEvent):
    @property
    def kind(self) -> str:
        return "envelope"


class UnknownEventType(InvalidEvent):
    @property
    def kind(self) -> str:
        return "unknown_type"


class InvalidEventData(InvalidEvent):
    @property
    def kind(self) -> str:
        return "data"


class DeliveryError(VendorwatchError):
    """Delivering one alert to one receiver failed."""


class RetryableDelivery(DeliveryError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDelivery(DeliveryError):
    pass
