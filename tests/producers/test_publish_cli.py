"""``vendorwatch publish`` / ``schemas check`` logic (vendorwatch.publish.run) without Kafka: --dry-run."""

from __future__ import annotations

import io
import json

from tests.ingest.conftest import SEED
from tests.producers.test_csv_events import to_csv
from vendorwatch.publish import judge_ndjson, run, validate_lines
from vendorwatch.settings import load_settings

SETTINGS = load_settings({})


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_ndjson_and_csv_of_the_same_events_are_equally_valid(tmp_path):
    ndjson, table = tmp_path / "story.ndjson", tmp_path / "story.csv"
    ndjson.write_text("\n".join(json.dumps(e) for e in SEED) + "\n")
    table.write_text("".join(to_csv(SEED)))
    for path in (ndjson, table):
        err = io.StringIO()
        assert run(SETTINGS, [str(path)], dry_run=True, err=err) == 0
        assert err.getvalue().splitlines()[-1] == f"{len(SEED)} valid, 0 rejected"


def test_rejected_lines_are_reported_with_pointers_and_fail_the_run(tmp_path):
    bad = dict(SEED[0], data={**SEED[0]["data"], "kind": "bank"})
    path = tmp_path / "mixed.ndjson"
    path.write_text(json.dumps(SEED[0]) + "\n\nnot json\n" + json.dumps(bad) + "\n")
    err = io.StringIO()
    assert run(SETTINGS, [str(path)], dry_run=True, err=err) == 1
    lines = err.getvalue().splitlines()
    assert lines[0].startswith(f"{path}:3: rejected: /: not JSON")
    assert lines[1].startswith(f"{path}:4: rejected: /data/kind: Input should be")
    assert lines[-1] == "1 valid, 2 rejected"


def test_format_flag_overrides_the_extension(tmp_path):
    path = tmp_path / "events.txt"
    path.write_text("".join(to_csv(SEED[:3])))
    assert run(SETTINGS, [str(path)], fmt="csv", dry_run=True, err=io.StringIO()) == 0
    assert run(SETTINGS, [str(path)], dry_run=True, err=io.StringIO()) == 1, "read as NDJSON it is not valid"


def test_a_missing_file_is_exit_2(tmp_path):
    err = io.StringIO()
    assert run(SETTINGS, [str(tmp_path / "nope.ndjson")], dry_run=True, err=err) == 2
    assert "nope.ndjson" in err.getvalue()


def test_large_files_show_a_progress_bar_with_rate_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setattr("vendorwatch.publish.PROGRESS_MIN_BYTES", 1)
    path = tmp_path / "story.ndjson"
    path.write_text("\n".join(json.dumps(e) for e in SEED * 20) + "\n")
    tty, pipe = Tty(), io.StringIO()
    assert run(SETTINGS, [str(path)], dry_run=True, err=tty) == 0
    assert "events/s" in tty.getvalue() and f"{len(SEED) * 20:,} events" in tty.getvalue()
    assert run(SETTINGS, [str(path)], dry_run=True, err=pipe) == 0
    assert "events/s" not in pipe.getvalue(), "no bar when standard error is not a terminal"


def test_validate_lines_keeps_its_old_shape():
    accepted, rejected = validate_lines([json.dumps(SEED[0]).encode(), b"", b"{}"])
    assert [a.line for a in accepted] == [1] and [r.line for r in rejected] == [3]
    assert "/id" in rejected[0].reason
    assert [type(j).__name__ for j in judge_ndjson([b"{}"])] == ["Rejected"]
