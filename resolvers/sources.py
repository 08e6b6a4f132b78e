"""The ``sources`` query: what is configured, what each can do, and its circuit state. No upstream call."""

from __future__ import annotations

from gateway.context import Info
from schema.enums import capability_of, circuit_state_of, provider_of
from schema.types import Source


def sources(info: Info) -> list[Source]:
    return [
        Source(
            name=adapter.name,
            provider=provider_of(adapter.kind),
            capabilities=[capability_of(c) for c in sorted(adapter.capabilities, key=lambda c: c.value)],
            sandbox=adapter.sandbox,
            circuit=circuit_state_of(adapter.circuit),
        )
        for adapter in info.context.runtime.adapters.values()
    ]
