"""Fixtures shared by every layer's tests: the sandbox over real HTTP, and settings pointing at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.config import Settings, sandbox_sources
from sandbox.app import create_sandbox_app
from sandbox.control import Control
from sandbox.server import ThreadedServer


@dataclass
class Sandbox:
    """The running sandbox: its URL, its switches, and a plain client for ``/_control``."""

    url: str
    control: Control
    app: Any = None

    def state(self, target: str) -> Any:
        """A simulator's in-memory state (``app.state.<target>`` of its app), to check what a test changed."""
        for route in self.app.routes:
            if getattr(route, "path", None) == f"/{target}":
                return getattr(route.app.app.state, target)  # Mount → SimulatorMiddleware → the simulator
        raise KeyError(target)

    def calls(self) -> dict[str, dict[str, int]]:
        return httpx.get(f"{self.url}/_control/calls").raise_for_status().json()  # type: ignore[no-any-return]

    def total_calls(self, target: str) -> int:
        return sum(self.calls()[target].values())

    def clear_calls(self) -> None:
        httpx.delete(f"{self.url}/_control/calls").raise_for_status()

    def fault(self, target: str, **fault: Any) -> None:
        httpx.post(f"{self.url}/_control/faults", json={"target": target, **fault}).raise_for_status()

    def clear_faults(self) -> None:
        httpx.delete(f"{self.url}/_control/faults").raise_for_status()

    def options(self, **options: Any) -> None:
        httpx.post(f"{self.url}/_control/options", json=options).raise_for_status()

    def advance_clock(self, seconds: float) -> None:
        httpx.post(f"{self.url}/_control/clock", json={"advance_s": seconds}).raise_for_status()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    control = Control()
    app = create_sandbox_app(control)
    with ThreadedServer(app) as server:
        yield Sandbox(url=server.url, control=control, app=app)


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    """The session's sandbox, put back to its seed state (no faults, no calls counted) for this test."""
    httpx.post(f"{sandbox_server.url}/_control/reset").raise_for_status()
    return sandbox_server


def sandbox_settings(sandbox_url: str, **overrides: Any) -> Settings:
    data: dict[str, Any] = {"sources": sandbox_sources(sandbox_url), "store": "sqlite:///:memory:"}
    data.update(overrides)
    return Settings.model_validate(data)


@pytest.fixture
def settings(sandbox: Sandbox) -> Settings:
    return sandbox_settings(sandbox.url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("HOOKGATE_TEST_REDIS", "redis://127.0.0.1:6379/15")


# -- the gateway, in process and over HTTP --------------------------------------------------------------------------


@dataclass
class Gateway:
    """A running gateway: its URL, and its app (whose lifespan opened :attr:`runtime`)."""

    url: str
    app: Any

    @property
    def runtime(self) -> Any:
        """The runtime the app's lifespan opened (a :class:`gateway.runtime.Runtime`)."""
        from gateway.app import runtime_of

        return runtime_of(self.app)

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.graphql_url, json={"query": query, "variables": variables or {}}, timeout=30, **kwargs)


@pytest.fixture
def gateway_factory(sandbox: Sandbox, tmp_path: Any) -> Iterator[Any]:
    """Start gateways over the sandbox; each is stopped when the test ends. Keyword overrides go to Settings."""
    from gateway.app import create_app

    servers: list[ThreadedServer] = []

    def start(**overrides: Any) -> Gateway:
        overrides.setdefault("store", f"sqlite:///{tmp_path}/hookgate-{len(servers)}.db")
        app = create_app(sandbox_settings(sandbox.url, **overrides))
        server = ThreadedServer(app).start()
        servers.append(server)
        return Gateway(url=server.url, app=app)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def gateway(gateway_factory: Any) -> Gateway:
    """A gateway over the sandbox with default settings and a fresh SQLite store."""
    return gateway_factory()  # type: ignore[no-any-return]
