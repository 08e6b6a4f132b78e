"""API keys the auth tests configure, and readers of GraphQL answers (as JSON bodies)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx

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


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    """POST one operation and return ``(status, body)``."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}}, **kw)
    return response.status_code, response.json()


Post = Callable[..., Any]
