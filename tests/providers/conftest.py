"""Adapters built from sandbox settings, closed after each test; a recorder of the URLs an adapter sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol
from urllib.parse import unquote

import httpx
import pytest

from gateway.config import sandbox_sources
from gateway.providers.base import Adapter
from gateway.providers.registry import build_adapter
from tests.conftest import Sandbox, sandbox_settings


class MakeAdapter(Protocol):
    def __call__(
        self,
        kind: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        extras: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Any: ...


@pytest.fixture
async def make_adapter(sandbox: Sandbox) -> AsyncIterator[MakeAdapter]:
    """``make_adapter("uipath", retries=0)``: the sandbox source of that kind with ``changes`` to its config.

    Goes through ``build_adapter`` as the app does. ``None`` in ``changes`` removes a key (e.g. ``token=None``).
    """
    made: list[Adapter] = []

    def make(
        kind: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        extras: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Any:
        sources = sandbox_sources(sandbox.url)
        source = sources[kind]
        for key, value in changes.items():
            if value is None:
                source.pop(key, None)
            else:
                source[key] = value
        settings = sandbox_settings(sandbox.url, sources=sources)
        adapter = build_adapter(kind, settings.sources[kind], transport=transport, **(extras or {}))
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()


def record_urls(adapter: Adapter) -> list[str]:
    """Every URL ``adapter`` sends from now on, percent-decoded, in order."""
    sent: list[str] = []

    async def hook(request: httpx.Request) -> None:
        sent.append(f"{request.method} {unquote(str(request.url))}")

    adapter.http.http.event_hooks["request"].append(hook)
    return sent
