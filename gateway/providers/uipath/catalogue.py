"""UiPath's event catalogue: none listed here. Orchestrator answers its own (``GetEventTypes``), which the adapter
reads, so a tenant's newer event types appear without a change to the gateway."""

from __future__ import annotations

CATALOGUE: tuple[tuple[str, str], ...] = ()
