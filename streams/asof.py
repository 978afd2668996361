"""A lab's exposure view, live or as of a moment, and the moment's parsing (pure).

``lab_exposure`` shapes what ``GET /v1/labs/{lab_id}/exposure`` answers from the exposure table (live) or
from a ``Timeline`` folded up to ``?as_of=`` (``streams/timeline.py``); both answers have one shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from schemas.api import LabExposure, VendorExposure
from schemas.errors import InvalidArgument

MOMENT_HELP = "an RFC 3339 timestamp with a UTC offset (2025-06-15T12:00:00Z) or a date (2025-06-15)"


def lab_exposure(lab_id: str, vendors: Mapping[str, Any] | None, as_of: datetime | None = None) -> LabExposure:
    """The lab's view, vendors sorted by value at stake (largest first)."""
    entries = sorted((VendorExposure.model_validate(v) for v in (vendors or {}).values()),
                     key=lambda v: (-v.annual_value_usd, v.vendor_id))
    return LabExposure(
        lab_id=lab_id,
        annual_value_usd=sum(v.annual_value_usd for v in entries),
        conflicted_value_usd=sum(v.annual_value_usd for v in entries if v.conflicts),
        vendors=tuple(entries),
        as_of=as_of,
    )


def parse_moment(text: str, name: str, *, day_start: bool = False) -> datetime:
    """``text`` as an aware UTC datetime; raises ``InvalidArgument`` naming ``name`` when it is not one.

    A bare date means the end of that day (UTC): "as of 2025-06-18" includes what happened on the 18th;
    with ``day_start`` (the start of a window, ``--from``) it means the day's first moment.
    A timestamp without an offset is refused rather than guessed: a server's or a laptop's zone would
    silently move the answer by hours around an event such as Meta's stake (14:00Z).
    """
    value = text.strip()
    if len(value) == len("2025-06-15"):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise InvalidArgument(name, f"expected {MOMENT_HELP}, got {text!r}") from None
        return datetime.combine(day, time.min if day_start else time.max, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(name, f"expected {MOMENT_HELP}, got {text!r}") from None
    if moment.tzinfo is None:
        raise InvalidArgument(name, f"a timestamp needs a UTC offset ('Z' or +hh:mm), got {text!r}")
    return moment.astimezone(UTC)
