"""The one composition root: :func:`open_runtime` builds, from settings, everything the gateway keeps for its life
(the store, the broker, one adapter per source with its pooled HTTP client, the caches, a metrics registry, the live
subscription hub, the API keys) and closes it all again. The result is a frozen, typed :class:`Runtime`.

The app's lifespan, ``hookgate check``, the tests and the bench build through it, so that a test gets an isolated
gateway by entering one context manager; no module holds process-wide state of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeVar, cast

import httpx

from gateway.auth import KeyRing
from gateway.cache import ResponseCache
from gateway.capabilities import check
from gateway.config import Settings
from gateway.domain.ports import Source
from gateway.domain.records import Capability, EventTypeRecord
from gateway.errors import BadUserInput
from gateway.events.broker import Broker, open_broker
from gateway.graphql_ws.hub import LiveHub
from gateway.observability.metrics import Metrics
from gateway.observability.redaction import install_redaction, secret_values
from gateway.providers.http import UpstreamObserver
from gateway.providers.registry import build_adapter
from gateway.store import Store, open_store

V = TypeVar("V")
log = logging.getLogger("hookgate")


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


@dataclass(frozen=True, eq=False)
class Runtime:
    """Everything long-lived, opened by :func:`open_runtime`; read by every request's context (``ctx.runtime``)."""

    settings: Settings
    store: Store
    broker: Broker
    #: One adapter per configured source, in configuration order.
    adapters: Mapping[str, Source]
    #: Event catalogues across requests.
    catalogues: TTLCache
    #: Answers of read queries (``[cache] enabled``); None when off.
    response_cache: ResponseCache | None
    #: This runtime's Prometheus registry and recorders.
    metrics: Metrics
    #: Live ``events`` subscriptions, one execution per event for identical ones.
    live: LiveHub
    #: Told of every upstream call; given to every source's HTTP client.
    observer: UpstreamObserver
    keyring: KeyRing
    started_at: float

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


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    keyring: KeyRing | None = None,
    metrics_dir: str | None = None,
) -> AsyncIterator[Runtime]:
    """Open everything ``settings`` describe; close it all on exit (adapters, then the broker, then the store).

    ``transports``: per source name, an HTTP transport to use instead of the network (tests, the bench).
    ``keyring``: the API keys, when the caller built them already (the app's middleware needs them before start).
    ``metrics_dir``: the multi-process metrics directory of ``hookgate serve --workers N``.
    """
    # Before any client exists: httpx logs request URLs, and a WorkflowGen hook URL carries its token.
    install_redaction(secret_values(settings))
    adapters: dict[str, Source] = {}
    metrics = Metrics(
        sources=list(settings.sources),
        circuits=lambda: [(name, a.kind, a.circuit.value) for name, a in list(adapters.items())],
        multiprocess_dir=metrics_dir,
    )
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(metrics.worker_stopped)  # last
        store = await open_store(settings.store)
        stack.push_async_callback(_quietly, store.aclose)
        broker = await open_broker(settings, store)
        stack.push_async_callback(_quietly, broker.aclose)  # before the store: its tailer reads the log
        cache = settings.cache
        runtime = Runtime(
            settings=settings,
            store=store,
            broker=broker,
            adapters=MappingProxyType(adapters),
            catalogues=TTLCache(),
            response_cache=ResponseCache(ttl_s=cache.ttl_s, max_entries=cache.max_entries) if cache.enabled else None,
            metrics=metrics,
            live=LiveHub(broker),
            observer=metrics,
            keyring=keyring or KeyRing(settings),
            started_at=time.time(),
        )
        for name, config in settings.sources.items():
            # Collaborators every adapter is offered; a kind takes the ones it needs (Auco's cross-replica lock).
            # Dixa's verification_keys: the store, where learned per-subscription secret keys are kept for /hooks.
            extras: dict[str, Any] = {
                "lock": lambda lock_name: store.lock(lock_name, ttl_s=30.0, wait_s=30.0),
                "verification_keys": store,
            }
            adapter = build_adapter(
                name,
                config,
                transport=(transports or {}).get(name),
                observer=runtime.observer,
                # A write to a source makes what is cached about it across requests stale (catalogue, answers).
                on_write=runtime.invalidate_source,
                **extras,
            )
            stack.push_async_callback(_quietly, adapter.aclose)
            adapters[name] = adapter
        yield runtime


async def _quietly(close: Callable[[], Awaitable[None]]) -> None:
    with contextlib.suppress(Exception):
        await close()
