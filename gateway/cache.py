"""The response cache for read queries: off by default (``[cache] enabled = false``), a short TTL when on.

A hit answers a query without executing it. Entries are keyed by the operation's text, its operation name, its
variables and the principal (two API keys never share an answer), and live ``[cache] ttl_s`` seconds (default 2).
Only complete answers are kept: an answer with an error, or with a failing source's partial error, is not.

Each entry remembers which sources its execution read, so that :meth:`ResponseCache.invalidate_source` drops exactly
the answers that depended on that source. Every request's context holds one :class:`Reads`: the request's loaders
(``gateway/loaders.py``) note in it each source they read from, the event catalogue path included; nothing below the
loaders (no provider, no HTTP client) knows of requests. ``Runtime.invalidate_source(name)`` drops the answers, and is
called:

- after every write the gateway sends to a source (``UpstreamClient.on_write``, given to each client by the runtime),
  and
- by the inbound events path when a source delivers an event (``runtime.invalidate_source(source)``).

A read that was running while its source was invalidated is not stored (it may have seen the state before the
write), so a write is never followed by an older answer from the cache.

The cache lives in one process: with several workers or replicas each has its own, which the short TTL bounds.
Answers that read the event log (``inboundEvents``) are never kept (:meth:`Reads.uncacheable`). The Strawberry
extension that serves and fills the cache is ``gateway.extensions.ResponseCaching``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

CacheKey = tuple[str, str, str | None, bytes]


class Reads:
    """What one request read: the sources its answer depends on, and whether the answer may be kept at all.

    One per request, in its context (``ctx.reads``), explicit rather than ambient: the request's loaders note each
    source they read from, and a resolver whose answer must never be kept says so.
    """

    __slots__ = ("keepable", "sources")

    def __init__(self) -> None:
        self.sources: set[str] = set()
        self.keepable = True

    def note(self, source: str) -> None:
        """The answer depends on ``source``."""
        self.sources.add(source)

    def uncacheable(self) -> None:
        """The answer must not be kept: ``inboundEvents`` reads the event log, which grows with every delivery to any
        replica, so a kept page would hide new events (invalidation on append reaches only this process)."""
        self.keepable = False


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
