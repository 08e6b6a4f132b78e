"""The base class of every adapter: one configured source over its :class:`~gateway.providers.http.UpstreamClient`.

It implements the domain's :class:`~gateway.domain.ports.Source` port; each kind's subclass implements the capability
Protocols of ``gateway/domain/ports.py`` it declares in ``capabilities`` (checked when its kit registers). Resolvers
never see this class: they hold sources as the port and reach capabilities through ``gateway.capabilities.require``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import httpx

from gateway.domain.records import Capability, CircuitState, ProbeResult
from gateway.errors import CircuitOpen, HookgateError, NotFound, UpstreamTimeout, UpstreamUnavailable
from gateway.providers.http import UpstreamClient, UpstreamObserver
from gateway.providers.source import SourceBase


class Adapter:
    """One source. Subclasses set ``kind`` and ``capabilities`` and build ``self.http`` in ``__init__``."""

    kind: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self, name: str, config: SourceBase, http: UpstreamClient) -> None:
        self.name = name
        self.config = config
        self.http = http

    @classmethod
    def create(
        cls,
        name: str,
        config: Any,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: UpstreamObserver | None = None,
        on_write: Callable[[str], None] | None = None,
        **extras: Any,
    ) -> Adapter:
        """Build the adapter and its upstream client from the kind's config model. ``transport`` replaces the
        network (tests); ``observer`` and ``on_write`` go to the client as they are (the runtime's metrics, and its
        cache invalidation after a write); ``extras`` are collaborators some kinds take (Auco's ``lock``) and others
        ignore."""
        raise NotImplementedError

    @property
    def sandbox(self) -> bool:
        return self.config.sandbox

    @property
    def circuit(self) -> CircuitState:
        return self.http.breaker.state

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    async def probe(self) -> ProbeResult:
        """Reachable and authenticated? One cheap read. Subclasses override when they have a better one."""
        raise NotImplementedError

    async def probe_by(self, read: Callable[[], Awaitable[object]]) -> ProbeResult:
        """Run ``read`` (one cheap authenticated call) and describe the outcome; never raises for a failed call.

        Any HTTP answer means reachable; only a success proves the credentials. ``detail`` is the error's own message,
        which by the error tree's rule names the source and never a secret or a URL.
        """
        try:
            await read()
        except HookgateError as exc:
            return probe_failure(exc)
        return ProbeResult(reachable=True, authenticated=True, detail="ok")

    async def aclose(self) -> None:
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def probe_failure(exc: HookgateError) -> ProbeResult:
    """What a probe's failed call says: unreachable (no answer), not found (a 404: the host answers, the configured
    path is wrong), or reachable but not authenticated. ``detail`` is the error's own message (no secret, no URL)."""
    if isinstance(exc, NotFound) or exc.details.get("status") == 404:
        return ProbeResult(
            reachable=True,
            authenticated=False,
            not_found=True,
            detail=f"not found at this path: check base_url ({exc.message})",
        )
    unreachable = isinstance(exc, UpstreamTimeout | UpstreamUnavailable | CircuitOpen)
    return ProbeResult(reachable=not unreachable, authenticated=False, detail=exc.message)
