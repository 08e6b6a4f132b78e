"""DRUID's event catalogue: none documented. Standard Webhooks deliveries name their sender's types, which are
recorded as given."""

from __future__ import annotations

CATALOGUE: tuple[tuple[str, str], ...] = ()
