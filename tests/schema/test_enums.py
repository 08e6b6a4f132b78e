"""The schema's enums are its own classes, mapped to and from the domain's explicitly; the domain stays plain."""

from __future__ import annotations

import pytest

from gateway.domain import records
from schema import enums


def test_the_domain_enums_are_not_turned_into_graphql_enums() -> None:
    for domain in (records.Capability, records.CircuitState):
        assert not hasattr(domain, "__strawberry_definition__"), domain.__name__


@pytest.mark.parametrize("capability", list(records.Capability))
def test_every_capability_maps_to_the_schema_enum_of_its_name(capability: records.Capability) -> None:
    mapped = enums.capability_of(capability)
    assert type(mapped) is enums.Capability
    assert mapped.name == capability.name
    assert records.Capability(mapped.value) is capability


@pytest.mark.parametrize("state", list(records.CircuitState))
def test_every_circuit_state_maps_to_the_schema_enum_of_its_name(state: records.CircuitState) -> None:
    mapped = enums.circuit_state_of(state)
    assert type(mapped) is enums.CircuitState
    assert records.CircuitState(mapped.value) is state


def test_providers_map_from_kinds() -> None:
    assert enums.provider_of("dixa") is enums.Provider.DIXA
    with pytest.raises(ValueError, match="nope"):
        enums.provider_of("nope")
