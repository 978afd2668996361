"""Contracts per vendor and each lab's exposure there (``streams.contracts``)."""

from __future__ import annotations

from datetime import date

import pytest

from schemas.errors import InvalidEventData
from schemas.events import Sensitivity
from streams.contracts import ContractState, apply_contract_event, lab_exposures, labs_of
from tests.support.builders import amended, signed, terminated


def fold(*events) -> dict[str, ContractState]:
    contracts: dict[str, ContractState] = {}
    for event in events:
        contracts = apply_contract_event(contracts, event)
    return contracts


def test_sign_records_the_contract() -> None:
    contracts = fold(signed("g-1", value=200, sensitivity=Sensitivity.RESTRICTED))
    assert contracts["g-1"].annual_value_usd == 200
    assert contracts["g-1"].sensitivity is Sensitivity.RESTRICTED
    assert contracts["g-1"].active(None)


def test_amendment_replaces_only_what_it_names() -> None:
    contracts = fold(
        signed("g-1", value=200, sensitivity=Sensitivity.CONFIDENTIAL, data_classes=("training_data",)),
        amended("g-1", annual_value_usd=300),
    )
    assert contracts["g-1"].annual_value_usd == 300
    assert contracts["g-1"].sensitivity is Sensitivity.CONFIDENTIAL
    assert contracts["g-1"].data_classes == ("training_data",)


def test_amendment_can_raise_sensitivity_and_add_classes() -> None:
    contracts = fold(signed("g-1"), amended("g-1", sensitivity="restricted", data_classes=["roadmap"]))
    assert contracts["g-1"].sensitivity is Sensitivity.RESTRICTED
    assert contracts["g-1"].data_classes == ("roadmap",)


def test_termination_keeps_the_contract_but_ends_it() -> None:
    contracts = fold(signed("g-1"), terminated("g-1", end=date(2025, 6, 18)))
    assert contracts["g-1"].terminated
    assert contracts["g-1"].end_date == date(2025, 6, 18)
    assert not contracts["g-1"].active(None)


def test_apply_does_not_mutate_its_input() -> None:
    before = fold(signed("g-1"))
    apply_contract_event(before, terminated("g-1"))
    assert not before["g-1"].terminated


@pytest.mark.parametrize(
    ("history", "event", "field"),
    [
        pytest.param((), amended("g-1", annual_value_usd=1), "data.contract_id", id="amend-unknown"),
        pytest.param((), terminated("g-1"), "data.contract_id", id="terminate-unknown"),
        pytest.param((signed("g-1"), terminated("g-1")), amended("g-1", annual_value_usd=1), "data.contract_id",
                     id="amend-terminated"),
        pytest.param((signed("g-1"), terminated("g-1")), terminated("g-1"), "data.contract_id",
                     id="terminate-twice"),
        pytest.param((signed("g-1", lab_id="google"),), amended("g-1", lab_id="meta", annual_value_usd=1),
                     "data.lab_id", id="amend-other-labs-contract"),
        pytest.param((signed("g-1", lab_id="google"),), terminated("g-1", lab_id="meta"), "data.lab_id",
                     id="terminate-other-labs-contract"),
        pytest.param((signed("g-1", lab_id="google"),), signed("g-1", lab_id="meta"), "data.lab_id",
                     id="resign-for-other-lab"),
        pytest.param((signed("g-1"), terminated("g-1")), signed("g-1"), "data.contract_id",
                     id="resign-terminated-needs-new-id"),
        pytest.param((signed("g-1"),), amended("g-1", sensitivity=None), "data.sensitivity",
                     id="amend-sensitivity-to-null"),
        pytest.param((signed("g-1"),), amended("g-1", annual_value_usd=None), "data.annual_value_usd",
                     id="amend-value-to-null"),
    ],
)
def test_impossible_changes_are_rejected(history, event, field: str) -> None:
    contracts = fold(*history)
    with pytest.raises(InvalidEventData) as caught:
        apply_contract_event(contracts, event)
    assert caught.value.reason.startswith(field)


@pytest.mark.parametrize(
    ("start", "end", "as_of", "active"),
    [
        pytest.param(None, None, date(2025, 1, 1), True, id="open-ended"),
        pytest.param(date(2025, 2, 1), None, date(2025, 1, 31), False, id="not-started"),
        pytest.param(date(2025, 2, 1), None, date(2025, 2, 1), True, id="start-day"),
        pytest.param(None, date(2025, 6, 18), date(2025, 6, 18), True, id="end-day"),
        pytest.param(None, date(2025, 6, 18), date(2025, 6, 19), False, id="ended"),
        pytest.param(date(2030, 1, 1), None, None, True, id="unknown-day"),
    ],
)
def test_active_by_dates(start: date | None, end: date | None, as_of: date | None, active: bool) -> None:
    contract = fold(signed("g-1", start=start, end=end))["g-1"]
    assert contract.active(as_of) is active


def test_lab_exposures_sum_per_lab_and_take_the_highest_sensitivity() -> None:
    contracts = fold(
        signed("g-1", lab_id="google", value=100, sensitivity=Sensitivity.INTERNAL, data_classes=("training_data",)),
        signed("g-2", lab_id="google", value=50, sensitivity=Sensitivity.RESTRICTED, data_classes=("roadmap",)),
        signed("g-3", lab_id="google", value=1_000, sensitivity=Sensitivity.PUBLIC, data_classes=("prototypes",)),
        signed("m-1", lab_id="meta", value=30, sensitivity=Sensitivity.CONFIDENTIAL),
        terminated("g-3", lab_id="google"),
    )
    exposures = lab_exposures(contracts, None)
    assert set(exposures) == {"google", "meta"}
    google = exposures["google"]
    assert google.annual_value_usd == 150
    assert google.sensitivity is Sensitivity.RESTRICTED
    assert google.data_classes == ("roadmap", "training_data")
    assert google.contract_ids == ("g-1", "g-2")
    assert exposures["meta"].annual_value_usd == 30


def test_a_lab_with_only_ended_contracts_has_no_exposure_but_is_remembered() -> None:
    contracts = fold(signed("g-1"), terminated("g-1"))
    assert lab_exposures(contracts, None) == {}
    assert labs_of(contracts) == {"google"}
