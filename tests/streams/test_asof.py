"""Parsing the moment of an as-of query or a replay bound."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.errors import InvalidArgument
from streams.asof import parse_moment


def test_a_timestamp_with_an_offset_is_converted_to_utc() -> None:
    assert parse_moment("2025-06-15T12:00:00+02:00", "as_of") == datetime(2025, 6, 15, 10, tzinfo=UTC)
    assert parse_moment("2025-06-12T14:00:00Z", "as_of") == datetime(2025, 6, 12, 14, tzinfo=UTC)


def test_a_date_means_the_end_of_that_day_in_utc() -> None:
    moment = parse_moment("2025-06-18", "as_of")
    assert moment.date().isoformat() == "2025-06-18"
    assert moment > datetime(2025, 6, 18, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize("text", ["yesterday", "2025-13-01", "2025-06-15T25:00Z", "", "1750000000"])
def test_a_malformed_moment_names_the_parameter_and_the_expected_forms(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_moment(text, "as_of")
    assert caught.value.name == "as_of"
    assert "RFC 3339" in caught.value.problem and "2025-06-15" in caught.value.problem


def test_a_timestamp_without_an_offset_is_refused_not_guessed() -> None:
    with pytest.raises(InvalidArgument, match="--from: a timestamp needs a UTC offset"):
        parse_moment("2025-06-15T12:00:00", "--from")


def test_a_date_that_starts_a_window_means_its_first_moment() -> None:
    assert parse_moment("2025-06-12", "--from", day_start=True) == datetime(2025, 6, 12, tzinfo=UTC)
