"""Silences on their own: validation, the time window, matching, expiry, the topic encoding and the book."""

from __future__ import annotations

import logging

import pytest

from alerts.silences import Silence, SilenceBook, decode, encode, expire, new_silence

T0 = 1_700_000_000.0
LABELS = {"alert_id": "ep-1", "lab_id": "google", "vendor_id": "scale-ai", "competitor_id": "meta",
          "severity": "high", "transition": "opened", "status": "firing"}


def test_new_silence_refuses_unknown_labels_no_matcher_and_no_duration() -> None:
    with pytest.raises(ValueError, match="unknown label 'lab'"):
        new_silence({"lab": "google"}, T0, 60)
    with pytest.raises(ValueError, match="at least one matcher"):
        new_silence({}, T0, 60)
    with pytest.raises(ValueError, match="more than zero"):
        new_silence({"lab_id": "google"}, T0, 0)


def test_new_silences_get_distinct_ids_and_the_window_asked_for() -> None:
    one = new_silence({"lab_id": "google"}, T0, 7200, "maintenance", "ops")
    two = new_silence({"lab_id": "google"}, T0, 7200)
    assert one.id != two.id
    assert (one.starts_at, one.ends_at, one.comment, one.created_by) == (T0, T0 + 7200, "maintenance", "ops")


def test_a_silence_holds_only_inside_its_window_start_inclusive_end_exclusive() -> None:
    silence = new_silence({"lab_id": "google"}, T0, 60)
    assert not silence.silences(LABELS, T0 - 0.001)
    assert silence.silences(LABELS, T0)
    assert silence.silences(LABELS, T0 + 59.9)
    assert not silence.silences(LABELS, T0 + 60)
    assert [silence.state(t) for t in (T0 - 1, T0, T0 + 60)] == ["pending", "active", "expired"]


def test_every_matcher_must_hold_and_a_list_matches_any_of_its_values() -> None:
    both = new_silence({"lab_id": "google", "severity": ("high", "critical")}, T0, 60)
    assert both.silences(LABELS, T0)
    assert both.silences({**LABELS, "severity": "critical"}, T0)
    assert not both.silences({**LABELS, "severity": "medium"}, T0)
    assert not both.silences({**LABELS, "lab_id": "openai"}, T0)
    assert not both.silences({k: v for k, v in LABELS.items() if k != "severity"}, T0)


def test_expire_ends_an_active_silence_now_and_leaves_an_expired_one_alone() -> None:
    silence = new_silence({"lab_id": "google"}, T0, 60)
    ended = expire(silence, T0 + 10)
    assert ended.ends_at == T0 + 10 and ended.starts_at == T0 and not ended.silences(LABELS, T0 + 10)
    assert expire(ended, T0 + 20) == ended


def test_expiring_a_pending_silence_means_it_never_holds() -> None:
    later = new_silence({"lab_id": "google"}, T0 + 3600, 60)
    ended = expire(later, T0)
    assert ended.starts_at == ended.ends_at == T0
    assert not any(ended.silences(LABELS, t) for t in (T0, T0 + 3600, T0 + 3630))


def test_the_topic_encoding_round_trips_lists_as_tuples() -> None:
    silence = new_silence({"lab_id": "google", "severity": ("high", "critical")}, T0, 60, "why", "who")
    assert decode(encode(silence)) == silence


def test_the_book_keeps_the_latest_version_forgets_tombstones_and_skips_garbage(caplog) -> None:
    book = SilenceBook()
    silence = new_silence({"lab_id": "google"}, T0, 60)
    key = silence.id.encode()
    book.apply(key, encode(silence))
    assert book.silencing(LABELS, T0) == silence
    book.apply(key, encode(expire(silence, T0 + 1)))  # `vendorwatch alerts silence expire` rewrites it
    assert book.silencing(LABELS, T0 + 2) is None and len(book.silences) == 1
    book.apply(key, None)
    assert book.silences == {}
    with caplog.at_level(logging.WARNING):
        book.apply(b"junk", b"{not json")
        book.apply(None, encode(silence))
    assert book.silences == {} and "unreadable silence" in caplog.text


def test_the_book_answers_with_a_silence_that_matches() -> None:
    other = Silence("a", {"lab_id": "openai"}, T0, T0 + 60)
    ours = Silence("b", {"vendor_id": "scale-ai"}, T0, T0 + 60)
    book = SilenceBook({"a": other, "b": ours})
    assert book.silencing(LABELS, T0) == ours
    assert book.silencing({**LABELS, "vendor_id": "surge"}, T0) is None
