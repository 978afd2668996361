"""CloudEvents from CSV: one row per event, columns named after the fields (docs/producers.md lists them).

Every row has the envelope columns ``type``, ``id``, ``source`` and optionally ``time`` and ``subject``,
then the ``data`` fields of its type by name. One file may mix types: a row uses the columns of its own
type, and a non-empty cell in a column that is not a field of the row's type is an error (a typo such as
``anual_value_usd`` must not vanish silently). Empty cells are absent fields.

- lists (``aliases``, ``competitors``, ``data_classes``): items separated by ``;``
- numbers: written as in JSON (``150000000``, ``12.5``); a cell that is not a number is passed on as
  text so that validation names the field and what it got
- ownership interests: ``interest_type``, ``share_exact``, ``share_minimum``, ``share_maximum``,
  ``interest_start_date``, ``interest_end_date`` are parallel ``;``-separated lists, one position per
  interest (``shareholding;boardMember`` with ``share_exact`` ``49;``); the statement's ``source``
  object is ``statement_source_type``, ``statement_source_url``, ``statement_source_description``
  (the CloudEvent's own ``source`` is the ``source`` column)

A row becomes a CloudEvent JSON object; judging it is the codec's job, exactly as for NDJSON.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from schemas import registry

ENVELOPE = ("type", "id", "source", "time", "subject")
LIST_SEPARATOR = ";"


class Kind(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    LIST = "list"
    INTEREST = "interest"  # one ;-separated position per interest of an ownership statement
    STATEMENT_SOURCE = "statement_source"  # a field of the statement's source object


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: Kind


def _columns(text: str = "", number: str = "", lists: str = "", **special: str) -> tuple[Column, ...]:
    out = [Column(n, Kind.TEXT) for n in text.split()]
    out += [Column(n, Kind.NUMBER) for n in number.split()]
    out += [Column(n, Kind.LIST) for n in lists.split()]
    out += [Column(n, Kind(kind)) for kind, names in special.items() for n in names.split()]
    return tuple(out)


_CONTRACT = "contract_id lab_id vendor_id"
COLUMNS: Mapping[str, tuple[Column, ...]] = {
    registry.ORG_DECLARED: _columns("org_id name kind parent_id", lists="aliases"),
    registry.COMPETITORS_DECLARED: _columns("lab_id", lists="competitors"),
    registry.OWNERSHIP_STATED: _columns(
        "subject_id interested_party_id status effective_date statement_date",
        interest="interest_type share_exact share_minimum share_maximum interest_start_date interest_end_date",
        statement_source="statement_source_type statement_source_url statement_source_description",
    ),
    registry.CONTRACT_SIGNED: _columns(f"{_CONTRACT} sensitivity start_date end_date", "annual_value_usd",
                                       "data_classes"),
    registry.CONTRACT_AMENDED: _columns(f"{_CONTRACT} sensitivity start_date end_date", "annual_value_usd",
                                        "data_classes"),
    registry.CONTRACT_TERMINATED: _columns(f"{_CONTRACT} end_date"),
    registry.DATA_SHARED: _columns(f"{_CONTRACT} data_class sensitivity", "records bytes"),
}
_INTEREST_FIELDS = {"interest_type": ("type",), "share_exact": ("share", "exact"),
                    "share_minimum": ("share", "minimum"), "share_maximum": ("share", "maximum"),
                    "interest_start_date": ("start_date",), "interest_end_date": ("end_date",)}
_INTEGER = re.compile(r"^-?\d+$")


class RowError(ValueError):
    """A row that cannot even be shaped into an event (the reason names the column)."""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    event: dict[str, Any] | None
    error: str | None = None


def read_rows(lines: Iterable[str]) -> Iterator[Row]:
    """One ``Row`` per CSV record after the header; ``line`` is the record's last physical line."""
    reader = csv.DictReader(lines, strict=True)
    try:
        for cells in reader:
            try:
                yield Row(reader.line_num, row_to_event(cells))
            except RowError as error:
                yield Row(reader.line_num, None, str(error))
    except csv.Error as error:
        yield Row(reader.line_num, None, f"not CSV: {error}")


def row_to_event(cells: Mapping[str | None, Any]) -> dict[str, Any]:
    """A CloudEvent JSON object for one row (not yet validated)."""
    if None in cells:
        raise RowError("more cells than header columns")
    values = {name: value.strip() for name, value in cells.items() if isinstance(name, str) and value and value.strip()}
    event: dict[str, Any] = {"specversion": "1.0", **{n: values.pop(n) for n in ENVELOPE if n in values}}
    columns = COLUMNS.get(event.get("type", ""))
    if columns is not None:
        event["data"] = _data(columns, values)
    elif values:
        raise RowError("'type' must name an input event type to read the other columns")
    return event


def _data(columns: tuple[Column, ...], values: dict[str, str]) -> dict[str, Any]:
    by_name = {c.name: c for c in columns}
    foreign = sorted(set(values) - set(by_name))
    if foreign:
        raise RowError(f"not a column of this type: {', '.join(foreign)}")
    data: dict[str, Any] = {}
    for name, value in values.items():
        kind = by_name[name].kind
        if kind is Kind.TEXT:
            data[name] = value
        elif kind is Kind.NUMBER:
            data[name] = _number(value)
        elif kind is Kind.LIST:
            data[name] = _split(value)
        elif kind is Kind.STATEMENT_SOURCE:
            data.setdefault("source", {})[name.removeprefix("statement_source_")] = value
    interests = _interests({n: v for n, v in values.items() if by_name[n].kind is Kind.INTEREST})
    if interests:
        data["interests"] = interests
    return data


def _interests(values: dict[str, str]) -> list[dict[str, Any]]:
    if not values:
        return []
    positions = {name: value.split(LIST_SEPARATOR) for name, value in values.items()}
    count = len(positions.get("interest_type", []))
    uneven = sorted(n for n, items in positions.items() if len(items) != count)
    if uneven:
        raise RowError(f"{', '.join(uneven)}: need one ';'-separated position per interest_type ({count})")
    interests: list[dict[str, Any]] = [{} for _ in range(count)]
    for name, items in positions.items():
        path = _INTEREST_FIELDS[name]
        for interest, item in zip(interests, items, strict=True):
            if item.strip():
                value = _number(item.strip()) if path[0] == "share" else item.strip()
                _put(interest, path, value)
    return interests


def _put(target: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = value


def _number(text: str) -> int | float | str:
    if _INTEGER.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    # "nan" and "inf" parse as floats but are not JSON numbers: pass the text on to be refused.
    return number if number == number and abs(number) != float("inf") else text


def _split(text: str) -> list[str]:
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def header_for(event_type: str) -> list[str]:
    """The full header for a file of one type (docs and tests write CSV with it)."""
    return [*ENVELOPE, *(c.name for c in COLUMNS[event_type])]
