"""What ``vendorwatch replay`` reports (pure): its window, the transitions found in it, each lab's exposure.

The report is built from a folded ``Timeline`` and printed as text or JSON; nothing here reads Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from schemas.alert import Alert
from schemas.api import LabExposure
from schemas.errors import InvalidArgument
from streams.asof import parse_moment
from streams.timeline import Fact, Timeline


@dataclass(frozen=True)
class Window:
    start: datetime | None
    """``--from``: transitions before it are folded but not reported (``None``: from the first fact)."""
    end: datetime
    """``--to``: facts after it are not applied; the exposure shown is as of this moment."""


def window_of(start: str | None, end: str | None, now: datetime) -> Window:
    """The replay's window from ``--from``/``--to`` (dates or RFC 3339 timestamps; ``--to`` defaults to now)."""
    first = parse_moment(start, "--from", day_start=True) if start is not None else None
    last = parse_moment(end, "--to") if end is not None else now
    if first is not None and first > last:
        raise InvalidArgument("--from", f"{start} is after --to {end or 'now'}: the window would be empty")
    return Window(first, last)


def default_group(app_id: str, window: Window) -> str:
    """``<app_id>-replay-<from>-<to>``: a consumer group that is not the worker's and names its window."""
    return f"{app_id}-replay-{_stamp(window.start)}-{_stamp(window.end)}"


def _stamp(moment: datetime | None) -> str:
    return "start" if moment is None else moment.strftime("%Y%m%dT%H%M%SZ")


class ReportedAlert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime
    """The event time of the fact that raised it."""
    alert: Alert


class ReplayReport(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str
    window_start: datetime | None
    window_end: datetime
    facts_read: int
    applied: int
    after_window: int
    duplicates: int
    rejected: int
    unreadable: int
    truncated: tuple[str, ...] = ()
    """``topic[partition]@first-offset`` where retention deleted the start of the history."""
    retention: dict[str, int] = {}
    """Fact topics that delete records after a time: topic -> retention.ms (history may be cut)."""
    transitions: tuple[ReportedAlert, ...] = ()
    """What the worker would have raised within the window (for the labs chosen), in event-time order.
    None was published."""
    labs: tuple[LabExposure, ...] = ()


def report_of(timeline: Timeline, facts: list[Fact], window: Window, group: str, *, unreadable: int = 0,
              truncated: tuple[str, ...] = (), retention: dict[str, int] | None = None,
              labs: list[str] | None = None) -> ReplayReport:
    chosen = labs if labs else timeline.labs_with_contracts()
    return ReplayReport(
        group=group, window_start=window.start, window_end=window.end, facts_read=len(facts),
        applied=timeline.applied, after_window=sum(1 for f in facts if f.at > window.end),
        duplicates=timeline.duplicates, rejected=timeline.rejected, unreadable=unreadable, truncated=truncated,
        retention=retention or {},
        transitions=tuple(ReportedAlert(at=t.at, alert=t.alert) for t in timeline.transitions
                          if (window.start is None or t.at >= window.start) and (not labs or t.alert.lab_id in labs)),
        labs=tuple(timeline.exposure_at(lab, window.end) for lab in chosen),
    )


def render(report: ReplayReport) -> list[str]:
    """The report as lines for a terminal."""
    start = _iso(report.window_start) if report.window_start else "the first fact"
    lines = [
        f"replay {report.group}: {report.facts_read} facts read; {report.applied} applied up to "
        f"{_iso(report.window_end)}, {report.after_window} later, {report.duplicates} duplicates, "
        f"{report.rejected} rejected, {report.unreadable} unreadable",
        *(f"warning: {topic} deletes records after {ms / 86_400_000:g} days (retention.ms={ms}); "
          "set retention.ms=-1 to keep the history" for topic, ms in sorted(report.retention.items())),
        *(f"warning: history cut by retention at {cut}" for cut in report.truncated),
        f"transitions from {start} to {_iso(report.window_end)} (none was published):",
    ]
    lines += [f"  {_iso(t.at)}  {t.alert.transition.value:<11} {t.alert.severity.value:<8} "
              f"{t.alert.lab_id} / {t.alert.vendor_id} / {t.alert.competitor_id}  {t.alert.alert_id}"
              for t in report.transitions] or ["  none"]
    lines.append(f"exposure as of {_iso(report.window_end)}:")
    for lab in report.labs:
        lines.append(f"  {lab.lab_id}: ${lab.annual_value_usd:,.0f} at stake, ${lab.conflicted_value_usd:,.0f} "
                     "in conflict")
        for vendor in lab.vendors:
            conflicts = ", ".join(f"{c.competitor_id} {c.severity.value}" for c in vendor.conflicts) or "none"
            lines.append(f"    {vendor.vendor_id}: ${vendor.annual_value_usd:,.0f} "
                         f"({vendor.sensitivity.value if vendor.sensitivity else 'n/a'}); conflicts: {conflicts}")
    return lines


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
