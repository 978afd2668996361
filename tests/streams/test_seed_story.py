"""The seed story, end to end through the pure functions: Meta takes 49% of Scale AI, Google leaves.

01-before: labs, vendors, investors, a CEO; contracts of five labs with Scale AI. No conflict yet.
02-meta-takes-49-percent: Meta buys 49% of Scale AI and hires its CEO, who stays on Scale's board.
03-google-leaves-scale: Google terminates its (restricted-data) contract with Scale AI.
"""

from __future__ import annotations

import pytest

from schemas.alert import AlertStatus, Severity, Transition
from tests.support.fold import Fold, story_files

BEFORE, META_TAKES_49, GOOGLE_LEAVES = story_files()


@pytest.fixture
def fold() -> Fold:
    return Fold()


def summary(alerts) -> set[tuple[str, str, str, str, str]]:
    return {(a.lab_id, a.vendor_id, a.competitor_id, a.transition.value, a.severity.value) for a in alerts}


def test_the_story_has_three_chapters() -> None:
    assert [p.name for p in story_files()] == [
        "01-before.ndjson", "02-meta-takes-49-percent.ndjson", "03-google-leaves-scale.ndjson",
    ]


def test_nothing_fires_before_meta_invests(fold: Fold) -> None:
    assert fold.feed_file(BEFORE) == []
    # Every lab with a contract at Scale AI sees it in its exposure view, with no conflict.
    for lab in ("google", "microsoft", "openai", "xai", "meta"):
        assert fold.view(lab)["scale-ai"].conflicts == ()


def test_meta_stake_alerts_every_other_lab_at_scale(fold: Fold) -> None:
    fold.feed_file(BEFORE)
    alerts = fold.feed_file(META_TAKES_49)
    assert summary(alerts) == {
        # 49% is high; Google's restricted data steps it up to critical.
        ("google", "scale-ai", "meta", "opened", "critical"),
        ("microsoft", "scale-ai", "meta", "opened", "high"),
        ("openai", "scale-ai", "meta", "opened", "high"),
        ("xai", "scale-ai", "meta", "opened", "high"),
    }
    assert all(a.status is AlertStatus.FIRING and not a.provisional for a in alerts)


def test_google_alert_names_the_stake_and_the_restricted_data(fold: Fold) -> None:
    fold.feed_file(BEFORE)
    [google] = [a for a in fold.feed_file(META_TAKES_49) if a.lab_id == "google"]
    assert google.influence.economic_share == 49
    assert google.exposure.sensitivity == "restricted"
    assert google.exposure.annual_value_usd == 200_000_000
    assert any("49%" in reason for reason in google.reasons)
    assert any("restricted" in reason for reason in google.reasons)
    assert google.evidence[0].id == "seed-029"  # Meta's stake opened it
    assert "meta" in google.summary and "scale-ai" in google.summary


def test_google_conflict_after_chapter_two_counts_the_person_link(fold: Fold) -> None:
    fold.feed_file(BEFORE)
    fold.feed_file(META_TAKES_49)
    [conflict] = fold.view("google")["scale-ai"].conflicts
    assert conflict.competitor_id == "meta"
    assert conflict.severity is Severity.CRITICAL
    reasons = " / ".join(conflict.reasons)
    assert "49%" in reasons
    assert "person link: alexandr-wang" in reasons
    assert "restricted" in reasons


def test_meta_is_not_alerted_about_its_own_stake(fold: Fold) -> None:
    fold.feed_file(BEFORE)
    alerts = fold.feed_file(META_TAKES_49)
    assert [a for a in alerts if a.lab_id == "meta"] == []
    assert fold.view("meta")["scale-ai"].conflicts == ()


def test_investors_raise_nothing(fold: Fold) -> None:
    # Accel (12%) and Index (5-10% and a board seat) are nobody's competitor.
    alerts = [*fold.feed_file(BEFORE), *fold.feed_file(META_TAKES_49), *fold.feed_file(GOOGLE_LEAVES)]
    assert {a.competitor_id for a in alerts} == {"meta"}


def test_google_leaving_resolves_its_alert_with_the_same_id(fold: Fold) -> None:
    fold.feed_file(BEFORE)
    opened = {a.lab_id: a for a in fold.feed_file(META_TAKES_49)}
    [resolved] = fold.feed_file(GOOGLE_LEAVES)
    assert (resolved.lab_id, resolved.vendor_id, resolved.competitor_id) == ("google", "scale-ai", "meta")
    assert resolved.transition is Transition.RESOLVED
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.alert_id == opened["google"].alert_id
    assert resolved.sequence == opened["google"].sequence + 1
    assert resolved.previous_severity is Severity.CRITICAL
    assert resolved.evidence[0].id == "seed-035"
    # The other labs' conflicts stay open; Google's Scale AI entry is gone, its new vendors are clean.
    for lab in ("microsoft", "openai", "xai"):
        state = fold.state_of(lab, "scale-ai", "meta")
        assert state is not None and state.status is AlertStatus.FIRING
    view = fold.view("google")
    assert set(view) == {"turing", "labelbox", "handshake"}
    assert all(entry.conflicts == () for entry in view.values())


def test_replaying_the_story_changes_nothing(fold: Fold) -> None:
    for path in story_files():
        fold.feed_file(path)
    tables = (fold.alert_states, fold.contracts, fold.ownership, fold.exposure)
    before = repr(tables)
    for path in story_files():
        assert fold.feed_file(path) == []
    assert repr(tables) == before
    assert len(fold.alerts) == 5
