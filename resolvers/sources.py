"""The ``sources`` query: what is configured, what each can do, and its circuit state. No upstream call."""

from __future__ import annotations

from gateway.context import Info
from schema.enums import Provider
from schema.types import Source


def sources(info: Info) -> list[Source]:
    return [
        Source(
            name=adapter.name,
            provider=Provider(adapter.kind),
            capabilities=sorted(adapter.capabilities, key=lambda c: c.value),
            sandbox=adapter.sandbox,
            circuit=adapter.circuit,
        )
        for adapter in info.context.services.adapters.values()
    ]
