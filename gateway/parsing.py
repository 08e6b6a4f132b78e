"""Tolerant parsing shared by the adapters and the receivers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def parse_instant(value: Any) -> datetime | None:
    """An ISO-8601 instant as the providers write it, always timezone-aware; None when absent or unreadable.

    UiPath (.NET) writes 7 fractional digits, Dixa milliseconds with ``Z``, WorkflowGen ``.000Z``. A value without
    an offset is taken as UTC. Anything longer than 64 characters is no timestamp and is not parsed.
    """
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
