"""Helpers for the hardening tests: sources with per-source changes, API keys, an in-process gateway client."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager

from gateway.app import create_app, runtime_of
from gateway.config import sandbox_sources
from gateway.runtime import Runtime
from tests.conftest import sandbox_settings

#: Keys the auth tests configure, by name: (key, scopes).
KEYS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reader": ("reader-key-0123456789", ("read",)),
    "writer": ("writer-key-0123456789", ("write",)),
    "admin": ("admin-key-0123456789", ("read", "write", "admin")),
}


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def api_keys(**extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The ``[[api_keys]]`` of :data:`KEYS`, stored as SHA-256, plus ``extra`` entries by name."""
    keys = [{"name": name, "key_sha256": sha256(key), "scopes": list(scopes)} for name, (key, scopes) in KEYS.items()]
    keys.extend({"name": name, **entry} for name, entry in extra.items())
    return keys


def bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name][0]}"}


def sources(sandbox_url: str, *, every: dict[str, Any] | None = None, **per_source: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's five sources, with ``every`` applied to each and ``per_source`` changes on top."""
    configured = sandbox_sources(sandbox_url)
    for name, source in configured.items():
        source.update(every or {})
        source.update(per_source.get(name, {}))
    return configured


def errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body.get("errors") or [])


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in errors(body)]


def error_for(body: dict[str, Any], source: str) -> dict[str, Any]:
    """The one error naming ``source``."""
    [error] = [e for e in errors(body) if e.get("extensions", {}).get("source") == source]
    return error


def upstream_total(calls: dict[str, dict[str, int]]) -> int:
    return sum(sum(routes.values()) for routes in calls.values())


@asynccontextmanager
async def asgi_gateway(sandbox_url: str, **overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The gateway app in process (its lifespan run), over the sandbox at ``sandbox_url``, and a client for it."""
    overrides.setdefault("store", "sqlite:///:memory:")
    app = create_app(sandbox_settings(sandbox_url, **overrides))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test", timeout=30) as client:
            yield client, services_of(app)


def services_of(app: Any) -> Runtime:
    """The runtime of a started gateway app (:func:`gateway.app.runtime_of`)."""
    return runtime_of(app)


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    """POST one operation and return ``(status, body)``."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, **kw)
    return response.status_code, response.json()


Post = Callable[..., Any]
