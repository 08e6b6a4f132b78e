"""What the app's lifespan opens once and every request shares: settings, adapters, store, caches, broker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from gateway.cache import ResponseCache, note_read
from gateway.capabilities import check
from gateway.config import Settings
from gateway.domain.ports import Source
from gateway.domain.records import Capability, EventTypeRecord
from gateway.errors import BadUserInput

V = TypeVar("V")


class TTLCache:
    """Event catalogues across requests: one fetch per source per ``ttl_s``, shared by concurrent callers.

    The gateway's own writes to a source call :meth:`invalidate`, so a catalogue never lags a change made here.
    """

    def __init__(self, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, list[EventTypeRecord]]] = {}
        self._inflight: dict[str, asyncio.Future[list[EventTypeRecord]]] = {}
        #: Per key, one value derived from a catalogue, with the catalogue it was made from (see :meth:`view`).
        self._views: dict[str, tuple[list[EventTypeRecord], Any]] = {}

    async def get(self, key: str, fetch: Callable[[], Awaitable[list[EventTypeRecord]]]) -> list[EventTypeRecord]:
        note_read(key)  # an answer built on this catalogue depends on its source
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self.ttl_s:
            return entry[1]
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[list[EventTypeRecord]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            self._entries[key] = (self._clock(), value)
            future.set_result(value)
            return value
        finally:
            self._inflight.pop(key, None)

    def peek(self, key: str) -> list[EventTypeRecord] | None:
        """The cached value while it is fresh, without fetching: lets a request use it without waiting."""
        note_read(key)
        entry = self._entries.get(key)
        if entry is not None and self._clock() - entry[0] < self.ttl_s:
            return entry[1]
        return None

    def view(self, key: str, value: list[EventTypeRecord], make: Callable[[list[EventTypeRecord]], V]) -> V:
        """``make(value)``, kept beside the catalogue while ``value`` is the one last viewed under ``key``: what is
        derived from a catalogue (its schema objects, ``resolvers/joins.py``) is made once per fetch, not per request.
        """
        held = self._views.get(key)
        if held is not None and held[0] is value:
            return cast(V, held[1])
        made = make(value)
        self._views[key] = (value, made)
        return made

    def invalidate(self, key: str | None = None) -> None:
        if key is None:
            self._entries.clear()
            self._views.clear()
        else:
            self._entries.pop(key, None)
            self._views.pop(key, None)


@dataclass
class Services:
    """Everything long-lived. Built by ``gateway.app.create_app``'s lifespan; read by every request's context."""

    settings: Settings
    adapters: dict[str, Source]
    store: Any = None  # gateway.store.base.Store once opened
    broker: Any = None  # gateway.events.broker.Broker once opened
    live: Any = None  # gateway.graphql_ws.hub.LiveHub over the broker, once opened
    catalogues: TTLCache = field(default_factory=TTLCache)
    started_at: float = field(default_factory=time.time)
    #: Answers of read queries (``[cache] enabled``); None when off.
    response_cache: ResponseCache | None = None

    def __post_init__(self) -> None:
        if self.response_cache is None and self.settings.cache.enabled:
            cache = self.settings.cache
            self.response_cache = ResponseCache(ttl_s=cache.ttl_s, max_entries=cache.max_entries)

    def invalidate_source(self, name: str) -> None:
        """Forget what is cached across requests about source ``name``: its event catalogue and the cached answers
        that read it. Called after every write the gateway sends to the source, and when the source delivers an
        inbound event (``POST /hooks/{source}``), since either may change what the source would answer."""
        self.catalogues.invalidate(name)
        if self.response_cache is not None:
            self.response_cache.invalidate_source(name)

    def source(self, name: str) -> Source:
        """The adapter named ``name``, or BAD_USER_INPUT naming the unknown source and the known ones."""
        adapter = self.adapters.get(name)
        if adapter is None:
            known = ", ".join(sorted(self.adapters)) or "none"
            raise BadUserInput(f"unknown source '{name}' (configured: {known})", field="source")
        return adapter

    def select(self, *, source: str | None, provider: str | None, capability: Capability | None = None) -> list[Source]:
        """Sources matching the filters, in configuration order. A named source lacking ``capability`` is an error."""
        if source is not None:
            adapter = self.source(source)
            if provider is not None and adapter.kind != provider:
                return []
            if capability is not None:
                check(adapter, capability)
            return [adapter]
        chosen = [a for a in self.adapters.values() if provider is None or a.kind == provider]
        if capability is not None:
            chosen = [a for a in chosen if a.has(capability)]
        return chosen
