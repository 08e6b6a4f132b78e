"""Adapters built from sandbox settings (the type of the ``make_adapter`` fixture); a recorder of sent URLs."""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import unquote

import httpx

from gateway.providers.base import Adapter


class MakeAdapter(Protocol):
    def __call__(
        self,
        kind: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        extras: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Any: ...


def record_urls(adapter: Adapter) -> list[str]:
    """Every URL ``adapter`` sends from now on, percent-decoded, in order."""
    sent: list[str] = []

    async def hook(request: httpx.Request) -> None:
        sent.append(f"{request.method} {unquote(str(request.url))}")

    adapter.http.http.event_hooks["request"].append(hook)
    return sent
