"""vendorwatch replay without Kafka: its window, its consumer group's name, its report of the seed story."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.errors import InvalidArgument
from streams.timeline import fold
from tests.streams.test_timeline import SEED, facts
from vendorwatch.cli import _parser
from vendorwatch.replay_report import Window, default_group, render, report_of, window_of
from vendorwatch.settings import load_settings

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_from_after_to_is_refused_naming_the_option() -> None:
    with pytest.raises(InvalidArgument) as caught:
        window_of("2025-07-01", "2025-06-01", NOW)
    assert caught.value.name == "--from"
    assert "after --to 2025-06-01" in str(caught.value)


def replay_command(*argv: str) -> int:
    """``vendorwatch replay ARGV`` through the CLI's parser, with default settings (not this environment's)."""
    args = _parser().parse_args(["replay", *argv])
    result: int = args.run(load_settings({}), args)
    return result


def test_the_command_exits_2_with_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert replay_command("--from", "2025-07-01", "--to", "2025-06-01") == 2
    assert "vendorwatch replay: --from: 2025-07-01 is after --to 2025-06-01" in capsys.readouterr().err
    assert replay_command("--to", "soon") == 2
    assert "vendorwatch replay: --to: expected an RFC 3339 timestamp" in capsys.readouterr().err


def test_dates_bound_whole_days_and_to_defaults_to_now() -> None:
    window = window_of("2025-06-12", "2025-06-12", NOW)
    assert window.start == datetime(2025, 6, 12, tzinfo=UTC)
    assert window.end.date() == window.start.date() and window.end > datetime(2025, 6, 12, 23, 59, 59, tzinfo=UTC)
    assert window_of(None, None, NOW) == Window(None, NOW)


def test_the_default_group_is_not_the_workers_and_names_the_window() -> None:
    window = window_of("2025-06-01", "2025-06-15T12:00:00Z", NOW)
    assert default_group("vendorwatch", window) == "vendorwatch-replay-20250601T000000Z-20250615T120000Z"
    assert default_group("vendorwatch", Window(None, NOW)) == "vendorwatch-replay-start-20260101T000000Z"


def test_the_report_lists_the_windows_transitions_and_the_exposure_at_its_end() -> None:
    window = window_of("2025-06-13", "2025-06-19", NOW)
    all_facts = facts(SEED)
    report = report_of(fold(all_facts, window.end), all_facts, window, "g", labs=["google"])
    # Meta's stake (06-12) is before the window: folded, not reported; Google's exit (06-18) is in it.
    assert [(t.alert.lab_id, t.alert.transition.value) for t in report.transitions] == [("google", "resolved")]
    assert report.after_window == 0 and report.applied == len(SEED)
    [google] = report.labs
    assert google.vendors == () and google.as_of == window.end
    text = "\n".join(render(report))
    assert "google / scale-ai / meta" in text and "resolved" in text
    assert "google: $0 at stake, $0 in conflict" in text


def test_the_report_between_stake_and_termination_shows_the_conflict() -> None:
    window = window_of(None, "2025-06-15", NOW)
    all_facts = facts(SEED)
    report = report_of(fold(all_facts, window.end), all_facts, window, "g")
    assert report.after_window == 4  # the three contracts signed on 06-16 and the termination
    google = next(lab for lab in report.labs if lab.lab_id == "google")
    assert [(c.competitor_id, c.severity.value) for c in google.vendors[0].conflicts] == [("meta", "critical")]
    assert "    scale-ai: $200,000,000 (restricted); conflicts: meta critical" in render(report)


def test_choosing_labs_narrows_the_transitions_too() -> None:
    window = window_of(None, "2025-06-15", NOW)
    all_facts = facts(SEED)
    report = report_of(fold(all_facts, window.end), all_facts, window, "g", labs=["microsoft"])
    assert [(t.alert.lab_id, t.alert.transition.value) for t in report.transitions] == [("microsoft", "opened")]
    assert [lab.lab_id for lab in report.labs] == ["microsoft"]


def test_a_fact_topic_that_deletes_records_is_warned_about() -> None:
    window = window_of(None, "2025-06-15", NOW)
    all_facts = facts(SEED)
    report = report_of(fold(all_facts, window.end), all_facts, window, "g",
                       retention={"vendorwatch.ownership": 604_800_000}, truncated=("vendorwatch.ownership[3]@12",))
    lines = render(report)
    assert ("warning: vendorwatch.ownership deletes records after 7 days (retention.ms=604800000); "
            "set retention.ms=-1 to keep the history") in lines
    assert "warning: history cut by retention at vendorwatch.ownership[3]@12" in lines
