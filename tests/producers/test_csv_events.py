"""CSV rows -> CloudEvents: the documented columns per type, lists, shares, and errors that name the column."""

from __future__ import annotations

import csv
import io

from ingest.problems import judge
from schemas.cloudevents import CloudEvent
from schemas.registry import SPECS
from tests.ingest.conftest import SEED
from vendorwatch.csv_events import COLUMNS, header_for, read_rows
from vendorwatch.local import STORY_DIR

DOC = (STORY_DIR.parents[2] / "docs" / "producers.md")


def to_csv(events: list[dict]) -> list[str]:
    """The seed story written as CSV with the documented columns (the inverse of the reader)."""
    header = ["type", "id", "source", "time", "subject",
              *dict.fromkeys(c.name for cols in COLUMNS.values() for c in cols)]
    out = io.StringIO()
    writer = csv.DictWriter(out, header)
    writer.writeheader()
    for event in events:
        writer.writerow(row_of(event))
    return out.getvalue().splitlines(keepends=True)


def row_of(event: dict) -> dict[str, str]:
    row = {k: event[k] for k in ("type", "id", "source", "time", "subject") if k in event}
    data = dict(event["data"])
    source = data.pop("source", {}) if event["type"] == "vendorwatch.ownership.stated.v1" else {}
    row.update({f"statement_source_{k}": v for k, v in source.items()})
    interests = data.pop("interests", []) if "interests" in data else []
    if interests:
        row["interest_type"] = ";".join(i["type"] for i in interests)
        for column, key in (("share_exact", "exact"), ("share_minimum", "minimum"), ("share_maximum", "maximum")):
            row[column] = ";".join(str(i.get("share", {}).get(key, "")) for i in interests)
        row["interest_start_date"] = ";".join(i.get("start_date", "") for i in interests)
        row["interest_end_date"] = ";".join(i.get("end_date", "") for i in interests)
    for name, value in data.items():
        row[name] = ";".join(value) if isinstance(value, list) else ("" if value is None else str(value))
    return row


def test_the_seed_story_as_csv_decodes_to_the_same_events():
    rows = list(read_rows(to_csv(SEED)))
    assert [r.error for r in rows] == [None] * len(SEED)
    for row, original in zip(rows, SEED, strict=True):
        from_csv, from_json = judge(row.event), judge(original)
        assert isinstance(from_csv, CloudEvent), from_csv
        assert from_csv.to_json() == from_json.to_json()


def test_a_bad_cell_is_reported_with_the_field_pointer():
    lines = ["type,id,source,contract_id,lab_id,vendor_id,annual_value_usd\n",
             "vendorwatch.contract.signed.v1,c-1,urn:t,c1,google,scale-ai,lots\n"]
    (row,) = read_rows(lines)
    (problem,) = judge(row.event)
    assert problem.pointer == "/data/annual_value_usd" and "valid number" in problem.detail


def test_a_cell_in_a_column_foreign_to_the_type_is_an_error():
    lines = ["type,id,source,org_id,name,kind,anual_value_usd\n",
             "vendorwatch.org.declared.v1,o-1,urn:t,acme,Acme,vendor,5\n"]
    (row,) = read_rows(lines)
    assert row.event is None and "anual_value_usd" in (row.error or "")


def test_interest_columns_need_one_position_per_interest():
    lines = ["type,id,source,subject_id,interested_party_id,status,interest_type,share_exact\n",
             "vendorwatch.ownership.stated.v1,s-1,urn:t,scale-ai,meta,completed,shareholding;boardMember,49\n"]
    (row,) = read_rows(lines)
    assert "share_exact" in (row.error or "")


def test_every_type_has_documented_columns():
    doc = DOC.read_text()
    for event_type in COLUMNS:
        assert event_type in SPECS
        assert ",".join(header_for(event_type)) in doc, f"docs/producers.md lists the header of {event_type}"

