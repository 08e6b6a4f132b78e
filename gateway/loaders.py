"""Per-request aiodataloader loaders: every by-key read in one request is batched and deduplicated.

Loaders bind to the running event loop and cache for their whole life, so they are built per request (in the
context), never at import. Batch functions keep the loader contract: one result per key, in key order, ``None`` for
a missing key, and an exception *instance* for keys whose fetch failed, so one failing source fails only its keys.

They are also the request's one way to read a source (:meth:`Loaders.reader` for a read that is no by-key load), and
note each source they read in the request's :class:`~gateway.cache.Reads`: the response cache keeps an answer only
until a source it read changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

from aiodataloader import DataLoader

from gateway.cache import Reads
from gateway.capabilities import require
from gateway.domain.ports import DeliveryLogs, EventCatalogue, WebhookRegistry, Workflow
from gateway.domain.records import (
    DeliveryStatusRecord,
    EventTypeRecord,
    WebhookRecord,
    WorkflowActionRecord,
    WorkflowRequestRecord,
)

if TYPE_CHECKING:
    from gateway.runtime import Runtime

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
P = TypeVar("P")


#: What a batch function answers for one key: the value, None when missing, or the exception that failed that key.
Slot: TypeAlias = V | Exception | None


class Loader(DataLoader[K, V | None]):
    """A typed DataLoader over a batch function; failures become per-key exception instances.

    ``batch`` answers one :data:`Slot` per key. An exception in a slot rejects that key's load alone (aiodataloader
    sets it on the key's future); an exception *raised* by ``batch`` rejects every key of the batch.
    """

    def __init__(self, batch: Callable[[list[K]], Awaitable[Sequence[Slot[V]]]], max_batch_size: int | None = None):
        super().__init__(max_batch_size=max_batch_size)
        self._batch = batch

    async def batch_load_fn(self, keys: list[K]) -> list[V | None]:
        # aiodataloader's annotation leaves out the exception slots it handles: it rejects a key's future when its
        # slot holds an exception instance. Hence the casts.
        try:
            return cast(list[V | None], list(await self._batch(keys)))
        except Exception as exc:
            return cast(list[V | None], [exc] * len(keys))

    async def load_typed(self, key: K) -> V | None:
        return await self.load(key)


class Loaders:
    """The request's loaders, made lazily per source on first use; each use notes its source in ``reads``."""

    def __init__(self, runtime: Runtime, reads: Reads) -> None:
        self._runtime = runtime
        self._reads = reads
        self._loaders: dict[tuple[str, str], Loader[Any, Any]] = {}
        self._catalogues: dict[str, list[EventTypeRecord]] = {}

    def _get(self, kind: str, source: str, make: Callable[[], Loader[Any, Any]]) -> Loader[Any, Any]:
        self._reads.note(source)
        loader = self._loaders.get((kind, source))
        if loader is None:
            loader = self._loaders[(kind, source)] = make()
        return loader

    def reader(self, source: str, port: type[P]) -> P:
        """``source`` as the capability ``port`` (CAPABILITY_UNSUPPORTED if it lacks it), for a read that is no by-key
        load (a filtered list, a delivery log); noted like the loaders' reads."""
        port_of_source = require(self._runtime.source(source), port)
        self._reads.note(source)
        return port_of_source

    def webhooks(self, source: str) -> Loader[str, WebhookRecord]:
        adapter = self._runtime.source(source)
        registry = require(adapter, WebhookRegistry)

        async def batch(ids: list[str]) -> Sequence[WebhookRecord | None]:
            return await registry.get_webhooks(ids)

        return self._get("webhooks", source, lambda: Loader(batch))

    async def event_types(self, source: str) -> list[EventTypeRecord]:
        """The source's catalogue: from the cross-request cache, fetched at most once per request otherwise."""
        adapter = self._runtime.source(source)
        catalogue = require(adapter, EventCatalogue)

        async def batch(keys: list[str]) -> Sequence[list[EventTypeRecord]]:
            value = await self._runtime.catalogues.get(source, catalogue.event_types)
            return [value for _ in keys]

        loader: Loader[str, list[EventTypeRecord]] = self._get("event_types", source, lambda: Loader(batch))
        value = self._catalogues[source] = await loader.load_typed(source) or []
        return value

    def known_event_types(self, source: str) -> list[EventTypeRecord] | None:
        """The catalogue if it is at hand: loaded by this request, or fresh in the cross-request cache. No I/O.

        What a request sees first it keeps for its whole life, so that its items agree with one another.
        """
        self._reads.note(source)
        value = self._catalogues.get(source)
        if value is None:
            value = self._runtime.catalogues.peek(source)
            if value is not None:
                self._catalogues[source] = value
        return value

    def delivery_statuses(self, source: str) -> Loader[str, list[DeliveryStatusRecord]]:
        adapter = self._runtime.source(source)
        logs = require(adapter, DeliveryLogs)

        async def batch(ids: list[str]) -> Sequence[list[DeliveryStatusRecord] | None]:
            # No batch endpoint: one call per distinct id, concurrently; the source's own slot limit bounds them.
            results = await asyncio.gather(*(logs.delivery_statuses(i) for i in ids), return_exceptions=True)
            return [cast(Any, r) for r in results]

        return self._get("delivery_statuses", source, lambda: Loader(batch))

    def requests(self, source: str) -> Loader[int, WorkflowRequestRecord]:
        workflow = require(self._runtime.source(source), Workflow)
        return self._get("requests", source, lambda: Loader(workflow.get_requests))

    def actions(self, source: str) -> Loader[tuple[int, int], WorkflowActionRecord]:
        workflow = require(self._runtime.source(source), Workflow)
        return self._get("actions", source, lambda: Loader(workflow.get_actions))

    def clear_source(self, source: str) -> None:
        """Forget what this request loaded from ``source`` (after a write to it)."""
        for key in [k for k in self._loaders if k[1] == source]:
            del self._loaders[key]
        self._catalogues.pop(source, None)
