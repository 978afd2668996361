"""As-of and replay logic without Kafka: the seed story folded in event-time order, asked about moments."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from schemas.cloudevents import CloudEvent
from schemas.registry import TOPIC_CONTRACTS, TOPIC_ORGS, TOPIC_OWNERSHIP
from streams.timeline import Fact, fact_of, fold
from tests.support.builders import shareholding, signed, stated, terminated
from tests.support.fold import Fold, story_events, story_files

SEED = [e for path in story_files() for e in story_events(path)]
TOPIC_OF = {"org": TOPIC_ORGS, "competitors": TOPIC_ORGS, "ownership": TOPIC_OWNERSHIP, "contract": TOPIC_CONTRACTS}

BEFORE_META = datetime(2025, 6, 12, 13, 59, tzinfo=UTC)
AFTER_STAKE = datetime(2025, 6, 15, tzinfo=UTC)  # between Meta's 49% (06-12 14:00Z) and the termination (06-18 17:00Z)
AFTER_TERMINATION = datetime(2025, 6, 19, tzinfo=UTC)
AFTER_NEW_CONTRACTS = datetime(2025, 6, 21, tzinfo=UTC)  # Turing, Labelbox, Handshake start on 06-20


def facts(events: list[CloudEvent]) -> list[Fact]:
    """Each event as if read from its topic, in the order given (offsets follow the list)."""
    return [fact_of(e, TOPIC_OF[e.type.split(".")[1]], 0, offset, 0) for offset, e in enumerate(events)]


def event(data: object, id_: str, at: datetime | None) -> CloudEvent:
    kinds = {"ContractSigned": "contract.signed", "ContractTerminated": "contract.terminated",
             "OwnershipStated": "ownership.stated"}
    type_ = f"vendorwatch.{kinds[type(data).__name__]}.v1"
    return CloudEvent(id=id_, source="urn:test:timeline", type=type_, data=data, time=at)  # type: ignore[arg-type]


def scale_of(exposure) -> list:
    return [v for v in exposure.vendors if v.vendor_id == "scale-ai"]


def test_before_metas_stake_google_has_scale_without_conflict() -> None:
    timeline = fold(facts(SEED), BEFORE_META)
    [scale] = scale_of(timeline.exposure_at("google", BEFORE_META))
    assert scale.conflicts == ()
    assert scale.annual_value_usd == 200_000_000


def test_between_stake_and_termination_googles_scale_exposure_is_in_conflict_with_meta() -> None:
    exposure = fold(facts(SEED), AFTER_STAKE).exposure_at("google", AFTER_STAKE)
    assert exposure.as_of == AFTER_STAKE
    [scale] = scale_of(exposure)
    [conflict] = scale.conflicts
    assert (conflict.competitor_id, conflict.severity.value) == ("meta", "critical")
    assert any("49% economic share" in r for r in conflict.reasons), conflict.reasons
    assert any("person link: alexandr-wang" in r for r in conflict.reasons), conflict.reasons
    assert exposure.conflicted_value_usd == 200_000_000
    # The other labs' view of Scale at that moment: Meta reaches it, so each is in conflict too.
    microsoft = fold(facts(SEED), AFTER_STAKE).exposure_at("microsoft", AFTER_STAKE)
    assert [c.competitor_id for c in microsoft.vendors[0].conflicts] == ["meta"]


def test_the_conflict_carries_the_alert_id_the_worker_raised() -> None:
    live = Fold()
    live.feed(SEED)
    raised = {a.alert_id for a in live.alerts if a.lab_id == "google" and a.vendor_id == "scale-ai"}
    [scale] = scale_of(fold(facts(SEED), AFTER_STAKE).exposure_at("google", AFTER_STAKE))
    assert {c.alert_id for c in scale.conflicts} == raised


def test_after_the_termination_googles_scale_exposure_is_gone() -> None:
    timeline = fold(facts(SEED), AFTER_TERMINATION)
    exposure = timeline.exposure_at("google", AFTER_TERMINATION)
    assert scale_of(exposure) == []
    # Turing, Labelbox and Handshake were signed on 06-16 but only start on 06-20.
    assert exposure.vendors == ()
    later = fold(facts(SEED), AFTER_NEW_CONTRACTS).exposure_at("google", AFTER_NEW_CONTRACTS)
    assert [v.vendor_id for v in later.vendors] == ["turing", "labelbox", "handshake"]
    assert later.conflicted_value_usd == 0


def test_publication_order_does_not_matter_event_time_does() -> None:
    shuffled = list(SEED)
    random.Random(7).shuffle(shuffled)  # noqa: S311 - a reproducible shuffle
    for moment in (BEFORE_META, AFTER_STAKE, AFTER_TERMINATION):
        in_order = fold(facts(SEED), moment).exposure_at("google", moment)
        assert fold(facts(shuffled), moment).exposure_at("google", moment) == in_order


def test_a_fact_after_the_moment_is_not_known_then() -> None:
    stake = next(e for e in SEED if e.id == "seed-029")
    timeline = fold(facts(SEED), datetime(2025, 6, 12, 14, 0, tzinfo=UTC))
    assert stake.identity in timeline.seen
    earlier = fold(facts(SEED), datetime(2025, 6, 12, 13, 59, 59, tzinfo=UTC))
    assert stake.identity not in earlier.seen
    assert earlier.last_at == datetime(2024, 12, 10, 12, tzinfo=UTC)


def test_replay_records_the_transitions_in_event_time_without_publishing_them() -> None:
    timeline = fold(facts(SEED), AFTER_NEW_CONTRACTS)
    google = [(t.at, t.alert.transition.value, t.alert.severity.value) for t in timeline.transitions
              if t.alert.lab_id == "google"]
    assert google == [
        (datetime(2025, 6, 12, 14, tzinfo=UTC), "opened", "critical"),
        (datetime(2025, 6, 18, 17, tzinfo=UTC), "resolved", "critical"),
    ]
    assert {t.alert.lab_id for t in timeline.transitions} == {"google", "microsoft", "openai", "xai"}


def test_dates_inside_the_data_count_on_the_day_asked_about() -> None:
    # Terminated with an end date in the future: still in force until then, whatever day it was announced.
    facts_ = facts([
        event(signed("c1", value=10), "1", datetime(2025, 1, 1, tzinfo=UTC)),
        event(terminated("c1"), "2", datetime(2025, 3, 1, tzinfo=UTC)),
    ])
    assert fold(facts_, datetime(2025, 2, 1, tzinfo=UTC)).exposure_at("google", datetime(2025, 2, 1, tzinfo=UTC)) \
        .annual_value_usd == 10
    gone = datetime(2025, 3, 2, tzinfo=UTC)
    assert fold(facts_, gone).exposure_at("google", gone).vendors == ()


def test_a_contract_that_starts_later_is_exposure_only_from_its_start() -> None:
    from datetime import date

    facts_ = facts([event(signed("c1", value=10, start=date(2025, 5, 1)), "1", datetime(2025, 1, 1, tzinfo=UTC))])
    timeline = fold(facts_, datetime(2025, 12, 31, tzinfo=UTC))
    assert timeline.exposure_at("google", datetime(2025, 4, 30, tzinfo=UTC)).vendors == ()
    assert timeline.exposure_at("google", datetime(2025, 5, 1, tzinfo=UTC)).annual_value_usd == 10


def test_duplicates_and_impossible_changes_are_skipped_as_the_worker_does() -> None:
    first = event(signed("c1", value=10), "1", datetime(2025, 1, 1, tzinfo=UTC))
    again = event(signed("c1", value=99), "1", datetime(2025, 1, 2, tzinfo=UTC))  # same source + id
    orphan = event(terminated("nope"), "3", datetime(2025, 1, 3, tzinfo=UTC))
    timeline = fold(facts([first, again, orphan]), datetime(2025, 2, 1, tzinfo=UTC))
    assert (timeline.applied, timeline.duplicates, timeline.rejected) == (1, 1, 1)
    assert timeline.exposure_at("google", datetime(2025, 2, 1, tzinfo=UTC)).annual_value_usd == 10


def test_an_event_without_time_is_placed_at_its_record_timestamp() -> None:
    stake = event(stated("scale-ai", "meta", shareholding(49)), "1", None)
    fact = fact_of(stake, TOPIC_OWNERSHIP, 3, 42, 1_750_000_000_000)
    assert fact.at == datetime(2025, 6, 15, 15, 6, 40, tzinfo=UTC)
    assert fact.position == (1, 3, 42)


def test_focusing_on_one_lab_gives_the_same_view_as_folding_everything() -> None:
    for moment in (AFTER_STAKE, AFTER_TERMINATION):
        everything = fold(facts(SEED), moment).exposure_at("microsoft", moment)
        assert fold(facts(SEED), moment, labs={"microsoft"}).exposure_at("microsoft", moment) == everything


@pytest.mark.parametrize("lab", ["openai", "xai", "meta"])
def test_as_of_the_end_of_the_story_matches_the_live_fold(lab: str) -> None:
    live = Fold()
    live.feed(SEED)
    end = datetime(2025, 7, 1, tzinfo=UTC)  # tests/support/fold.py evaluates as of 2025-07-01
    view = {v.vendor_id: v for v in fold(facts(SEED), end).exposure_at(lab, end).vendors}
    expected = live.view(lab)
    assert set(view) == set(expected)
    for vendor_id, entry in view.items():
        assert entry.conflicts == expected[vendor_id].conflicts
        assert entry.annual_value_usd == expected[vendor_id].annual_value_usd
