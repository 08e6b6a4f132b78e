"""The sandbox over real HTTP, and settings pointing at it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from gateway.config import Settings, sandbox_sources
from sandbox.control import Control


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


def sandbox_settings(sandbox_url: str, **overrides: Any) -> Settings:
    data: dict[str, Any] = {"sources": sandbox_sources(sandbox_url), "store": "sqlite:///:memory:"}
    data.update(overrides)
    return Settings.model_validate(data)


def sources(sandbox_url: str, *, every: dict[str, Any] | None = None, **per_source: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's five sources, with ``every`` applied to each and ``per_source`` changes on top."""
    configured = sandbox_sources(sandbox_url)
    for name, source in configured.items():
        source.update(every or {})
        source.update(per_source.get(name, {}))
    return configured
