"""The response cache for read queries: off by default (``[cache] enabled = false``), a short TTL when on.

A hit answers a query without executing it. Entries are keyed by the operation's text, its operation name, its
variables and the principal (two API keys never share an answer), and live ``[cache] ttl_s`` seconds (default 2).
Only complete answers are kept: an answer with an error, or with a failing source's partial error, is not.

Each entry remembers which sources its execution read (every upstream call and every event catalogue read notes its
source in a context variable, :func:`note_read`), so that :meth:`ResponseCache.invalidate_source` drops exactly the
answers that depended on that source. ``Runtime.invalidate_source(name)`` calls it, and is called:

- after every write the gateway sends to a source (``UpstreamClient.on_write``, wired by the app), and
- by the inbound events path when a source delivers an event (``runtime.invalidate_source(source)``).

A read that was running while its source was invalidated is not stored (it may have seen the state before the
write), so a write is never followed by an older answer from the cache.

The cache lives in one process: with several workers or replicas each has its own, which the short TTL bounds.
Answers that read the event log (``inboundEvents``) are never kept (:func:`note_uncacheable`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

#: The sources the running request has read from; None outside a request that the cache may keep.
_READS: ContextVar[set[str] | None] = ContextVar("hookgate_response_cache_reads", default=None)

CacheKey = tuple[str, str, str | None, bytes]


def note_read(source: str) -> None:
    """Record that the running request read ``source`` (a no-op unless the response cache is watching)."""
    reads = _READS.get()
    if reads is not None:
        reads.add(source)


#: Noted instead of a source by a read whose answer must never be kept (no source name starts with a NUL).
_UNCACHEABLE = "\x00uncacheable"


def note_uncacheable() -> None:
    """Say that the running request's answer must not be kept: ``inboundEvents`` reads the event log, which grows with
    every delivery to any replica, so a kept page would hide new events (invalidation on append reaches only this
    process)."""
    note_read(_UNCACHEABLE)


@dataclass(slots=True)
class _Entry:
    data: Any
    sources: frozenset[str]
    expires: float


class ResponseCache:
    """Answers by (principal, operation text, operation name, variables), for ``ttl_s`` seconds, at most
    ``max_entries`` (least recently used first out)."""

    def __init__(self, ttl_s: float = 2.0, max_entries: int = 1000, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self._by_source: dict[str, set[CacheKey]] = {}
        self._epoch = 0  # counts invalidations
        self._invalidated_at: dict[str, int] = {}  # source -> epoch of its last invalidation
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(principal: str, query: str, operation_name: str | None, variables: Mapping[str, Any] | None) -> CacheKey:
        """The entry key; raises TypeError for variables that are not JSON (such a request is not cached)."""
        return (principal, query, operation_name, orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS))

    @property
    def epoch(self) -> int:
        return self._epoch

    def get(self, key: CacheKey) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.expires <= self._clock():
            self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry.data

    def put(self, key: CacheKey, data: Any, sources: frozenset[str], *, since_epoch: int) -> bool:
        """Keep ``data``, unless one of its sources was invalidated after ``since_epoch`` (the read began)."""
        if any(self._invalidated_at.get(source, -1) > since_epoch for source in sources):
            return False
        self._drop(key)
        self._entries[key] = _Entry(data, sources, self._clock() + self.ttl_s)
        for source in sources:
            self._by_source.setdefault(source, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))
        return True

    def invalidate_source(self, source: str) -> None:
        """Forget every answer that read ``source``; reads of it that are running now will not be kept."""
        self._epoch += 1
        self._invalidated_at[source] = self._epoch
        for key in self._by_source.pop(source, set()):
            self._drop(key)

    def clear(self) -> None:
        self._entries.clear()
        self._by_source.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: CacheKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for source in entry.sources:
            keys = self._by_source.get(source)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_source[source]


class ResponseCaching(SchemaExtension):
    """Serves read queries from ``runtime.response_cache``; in the schema only when the cache is enabled."""

    def on_execute(self) -> Iterator[None]:
        ec = self.execution_context
        context = ec.context
        runtime = getattr(context, "runtime", None)
        cache: ResponseCache | None = getattr(runtime, "response_cache", None)
        principal = getattr(context, "principal", None)
        if (
            cache is None
            or principal is None
            or ec.result is not None  # refused before execution (ScopeGuard)
            or ec.operation_type is not OperationType.QUERY
            or not ec.query
        ):
            yield
            return
        try:
            key = cache.key(principal.name, ec.query, ec.operation_name, ec.variables)
        except TypeError:
            yield
            return
        data = cache.get(key)
        if data is not None:
            ec.result = GraphQLExecutionResult(data=data, errors=None)
            yield
            return
        since = cache.epoch
        reads: set[str] = set()
        token = _READS.set(reads)
        try:
            yield
        finally:
            _READS.reset(token)
        result = ec.result
        if (
            isinstance(result, GraphQLExecutionResult)
            and not result.errors
            and result.data is not None
            and not getattr(context, "partial_errors", None)
            and _UNCACHEABLE not in reads
        ):
            cache.put(key, result.data, frozenset(reads), since_epoch=since)
