"""The state store's contract: the :class:`Store` Protocol, its records, and what both implementations share.

The gateway is stateless per request; everything that must outlive a request lives behind :class:`Store`:

- the **inbound event log** (``append``, ``read``, ``get``, ``count``, ``last_cursor``, ``trim``,
  ``wait_for_events``);
- **idempotency records** for mutations (``idempotency_begin`` / ``_complete`` / ``_release`` / ``_wait``);
- the **upstream token cache** (``token_get`` / ``token_set`` / ``token_delete``);
- **verification keys** per source (``verification_keys`` / ``verification_keys_set`` / ``verification_key_delete``):
  the keys a provider hands out per subscription (Dixa's ``secretKey``), learned by the adapter, read by ``/hooks``;
- **locks** shared by every process using the same store (``lock``);
- ``ping`` for ``/readyz`` and ``aclose``.

Two implementations keep the same contract (the suite in ``tests/store`` runs against both):
:class:`~gateway.store.sqlite.SqliteStore` (one node, a WAL file) and :class:`~gateway.store.redis.RedisStore`
(replicas). :func:`gateway.store.open_store` picks one from the ``store`` URL.

Cursors are opaque strings. Within one store they are strictly increasing in append order *and* compare in that
order with plain string comparison (``a < b`` means ``a`` was appended first), so a consumer may merge or dedupe by
cursor without asking the store. Reading after a cursor never misses an event appended later: an event becomes
visible to readers only once every event with a smaller cursor is visible too.

Errors: a cursor the store did not make raises :class:`InvalidCursor` (a ``ValueError``); a lock not acquired in
time raises :class:`LockTimeout` (a ``TimeoutError``); an unreachable or failing backend raises
:class:`StoreUnavailable`. Payloads that orjson cannot encode raise ``TypeError`` in the caller.

Secrets: token values, verification keys and idempotent responses are never logged, and no store's ``repr`` shows
them (nor a password from its URL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, Protocol

import orjson

JSON = Any

log = logging.getLogger("gateway.store")


# --------------------------------------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Base of the store's own errors."""


class StoreUnavailable(StoreError):
    """The backend could not be reached or failed; the operation may or may not have happened (for appends: it
    did not get acknowledged, so the delivery must not be acknowledged either)."""


class InvalidCursor(StoreError, ValueError):
    """A cursor this store did not produce (malformed, or from another kind of store)."""


class LockTimeout(StoreError, TimeoutError):
    """``lock()`` could not acquire the lock within ``wait_s``."""

    def __init__(self, name: str, wait_s: float) -> None:
        super().__init__(f"lock {name!r} not acquired within {wait_s:g} s")
        self.name = name
        self.wait_s = wait_s


# -------------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class RawPayload:
    """A delivery's body kept as the bytes the provider sent, for what the gateway cannot hold as Python values
    without loss or encode again: integers beyond 64 bits (orjson would read them as floats), nesting beyond
    orjson's 254 levels, strings orjson refuses. ``json`` says a JSON parser read it whole (so it may be served as
    it is); when false (nesting or numbers beyond every parser's limits) it is opaque bytes.

    Stores keep it verbatim and give it back as a ``RawPayload``; see :func:`encode_payload`."""

    data: bytes
    json: bool = True

    def __repr__(self) -> str:
        return f"RawPayload(<{len(self.data)} bytes>, json={self.json})"


# A stored payload is orjson's encoding of the value (it starts with a JSON character), or one of these markers
# followed by a RawPayload's bytes: a NUL byte never begins JSON, so old and new rows read back unambiguously.
_RAW_JSON: Final = b"\x00j"
_RAW_OPAQUE: Final = b"\x00x"


def encode_payload(payload: JSON) -> bytes:
    """What a store writes for ``NewEvent.payload``: orjson's encoding, or a :class:`RawPayload` kept verbatim.
    Raises ``TypeError`` for a value orjson cannot encode."""
    if isinstance(payload, RawPayload):
        return (_RAW_JSON if payload.json else _RAW_OPAQUE) + payload.data
    return orjson.dumps(payload)


def decode_payload(stored: bytes) -> JSON:
    """The inverse of :func:`encode_payload`."""
    if stored[:1] == b"\x00":
        return RawPayload(bytes(stored[2:]), json=stored[:2] == _RAW_JSON)
    return orjson.loads(stored)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An inbound delivery, as the ``/hooks`` endpoint hands it to :meth:`Store.append`.

    Datetimes should be timezone-aware; a naive one is taken to be UTC. ``payload`` is anything orjson encodes, or
    a :class:`RawPayload` (the body's own bytes, kept verbatim).
    """

    source: str
    provider: str
    type: str
    payload: JSON
    provider_event_id: str | None = None
    occurred_at: datetime | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvent:
    """An event of the log. ``cursor`` orders it (see the module docstring); ``id`` is the store's own identifier
    (SQLite: the row id in decimal; Redis: the stream entry id), stable for the event's life and accepted by
    :meth:`Store.get`."""

    id: str
    cursor: str
    source: str
    provider: str
    type: str
    payload: JSON
    provider_event_id: str | None
    occurred_at: datetime | None
    received_at: datetime


@dataclass(frozen=True, slots=True)
class AppendResult:
    """``duplicate`` is true when ``event`` is the earlier event with the same ``(source, provider_event_id)``."""

    event: StoredEvent
    duplicate: bool


class IdempotencyStatus(StrEnum):
    STARTED = "STARTED"
    """The caller now owns the key: it must call ``idempotency_complete`` or ``idempotency_release``."""
    COMPLETED = "COMPLETED"
    """A first request with this key and fingerprint finished: replay ``response``."""
    IN_PROGRESS = "IN_PROGRESS"
    """Another caller owns the key and has not finished: wait (``idempotency_wait``) or answer a conflict."""
    MISMATCH = "MISMATCH"
    """The key was used for a different request (another fingerprint): a client error."""


@dataclass(frozen=True, slots=True)
class IdempotencyState:
    """What ``idempotency_begin`` found. ``fingerprint`` is the stored record's (for STARTED: the caller's own);
    ``response`` is set for COMPLETED only."""

    status: IdempotencyStatus
    fingerprint: str
    response: bytes | None = None

    def __repr__(self) -> str:
        # A stored response may hold data the client alone should see: show its size only.
        size = "None" if self.response is None else f"<{len(self.response)} bytes>"
        return f"IdempotencyState(status={self.status.value}, fingerprint={self.fingerprint!r}, response={size})"


# ----------------------------------------------------------------------------------------------------- the port


class Store(Protocol):
    """Everything the gateway keeps between requests. Safe to share by every coroutine of a process, and every
    process given the same URL sees the same state (SQLite: processes on one machine sharing the file)."""

    # -- the inbound event log

    async def append(self, event: NewEvent) -> AppendResult:
        """Append one event; when it returns, the event is durable (see the implementation for how durable).

        With ``provider_event_id`` set, a second append of the same ``(source, provider_event_id)`` adds nothing
        and returns the first stored event with ``duplicate=True`` (for as long as that event is retained).
        Concurrent appends are all kept, each with its own cursor, strictly increasing in commit order. If this
        raises (or the caller is cancelled), the event may or may not be stored: the caller must not acknowledge
        the delivery, and the provider's redelivery is then deduplicated by its id.
        """
        ...

    async def get(self, event_id: str) -> StoredEvent | None:
        """The event with this ``StoredEvent.id``, or ``None`` (unknown, malformed, or trimmed)."""
        ...

    async def read(
        self,
        after: str | None = None,
        limit: int = 100,
        *,
        source: str | None = None,
        provider: str | None = None,
        types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        """Up to ``limit`` events with a cursor greater than ``after`` (from the start when ``None``), oldest first,
        that match every filter given. Filters compare exactly (callers normalise case); ``types`` matches any of
        its names, and an empty ``types`` matches nothing. Raises :class:`InvalidCursor` for a foreign cursor and
        ``ValueError`` for a negative ``limit``."""
        ...

    async def count(
        self, *, source: str | None = None, provider: str | None = None, types: Sequence[str] | None = None
    ) -> int:
        """How many retained events match the filters (as in :meth:`read`); for ``totalCount``."""
        ...

    async def last_cursor(self) -> str | None:
        """The cursor of the newest retained event, or ``None`` when the log is empty. ``read(after=last)`` then
        returns exactly the events appended since."""
        ...

    async def trim(self, *, max_age_s: float | None = None, max_events: int | None = None) -> int:
        """Retention: remove events appended more than ``max_age_s`` ago, and all but the newest ``max_events``.
        Returns how many were removed. Cursors of later events are unaffected. Also drops expired idempotency
        records, tokens and locks where the backend does not expire them itself."""
        ...

    async def wait_for_events(self, after: str | None, timeout_s: float) -> bool:
        """Wait until the log holds an event after ``after`` (any event when ``None``), at most ``timeout_s``.
        True if there is one. Events appended by other processes are noticed too (SQLite: within a short poll
        interval). Meant for one tailing task per process that fans out to subscribers."""
        ...

    # -- idempotency records

    async def idempotency_begin(
        self, scope: str, key: str, fingerprint: str, ttl_s: float, *, lease_s: float | None = None
    ) -> IdempotencyState:
        """Claim ``(scope, key)`` atomically across processes, or report who has it.

        ``scope`` separates principals (the same key from two API keys is two records); ``fingerprint`` identifies
        the request (a hash of operation and variables). Returns STARTED when the caller now owns the key; else the
        stored record's state: COMPLETED (same fingerprint, with the response), IN_PROGRESS (same fingerprint, not
        finished), MISMATCH (another fingerprint, whatever the state). A completed record lives ``ttl_s`` from
        completion. A STARTED record that is neither completed nor released (its owner crashed) is abandoned after
        ``lease_s`` (default: ``ttl_s``) and may then be claimed again. Expired records behave as absent.
        """
        ...

    async def idempotency_complete(self, scope: str, key: str, response: bytes) -> bool:
        """Store the answer of the caller's STARTED record; it is then replayed for ``ttl_s``. False (and nothing
        stored) if the record is no longer STARTED (released, or abandoned and expired)."""
        ...

    async def idempotency_release(self, scope: str, key: str) -> None:
        """Give up a STARTED record (a failure that changed nothing upstream) so that a retry may proceed.
        Completed records are left alone."""
        ...

    async def idempotency_wait(self, scope: str, key: str, timeout_s: float) -> IdempotencyState | None:
        """Poll until the record is COMPLETED (returned) or gone (released or expired: ``None``, call
        ``idempotency_begin`` again), for at most ``timeout_s``; then the last state seen (IN_PROGRESS)."""
        ...

    # -- upstream token cache

    async def token_get(self, key: str) -> str | None:
        """The cached value, or ``None`` when absent or expired."""
        ...

    async def token_set(self, key: str, value: str, ttl_s: float) -> None:
        """Cache a secret for ``ttl_s`` seconds (replacing any value). Never logged."""
        ...

    async def token_delete(self, key: str) -> None:
        """Forget a value (an upstream refused it)."""
        ...

    # -- verification keys of inbound deliveries

    async def verification_keys(self, source: str) -> list[str]:
        """Every key stored for ``source`` (any order; empty when none). Secrets: never logged or returned by a
        query."""
        ...

    async def verification_keys_set(self, source: str, keys: Mapping[str, str], *, replace: bool = False) -> None:
        """Store ``keys`` (key id, e.g. a subscription id -> key) for ``source``, replacing the value of an id
        already stored; with ``replace``, the source's other ids are dropped (a full list was read)."""
        ...

    async def verification_key_delete(self, source: str, key_id: str) -> None:
        """Forget one key of ``source`` (its subscription was deleted)."""
        ...

    # -- locks

    def lock(self, name: str, ttl_s: float, wait_s: float) -> AbstractAsyncContextManager[None]:
        """Mutual exclusion across every process using this store, for a read-modify-write of shared upstream state.

        Waits up to ``wait_s`` (0: one attempt) and then raises :class:`LockTimeout`. The lock expires ``ttl_s``
        after acquisition even if still held, so that a crashed holder cannot block others forever: keep the body
        well inside ``ttl_s`` (a body that outlives it is logged as a warning at release). Coroutines of one
        process queue on an in-process lock first, so only one of them polls the backend per name.
        """
        ...

    # -- lifecycle

    async def ping(self) -> bool:
        """True when the backend answers (for ``/readyz``); never raises for an unreachable backend."""
        ...

    async def aclose(self) -> None:
        """Finish pending appends, then release connections. Idempotent."""
        ...


# ------------------------------------------------------------------------------------------ shared by both stores


def to_utc_aware(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so that stored values always carry an offset."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def check_filters(limit: int | None = None, types: Sequence[str] | None = None) -> None:
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    if isinstance(types, str):
        # A bare string is a sequence of characters: almost certainly a caller's mistake.
        raise TypeError("types must be a sequence of names, not a string")


def backoff_delays(first: float = 0.005, cap: float = 0.05) -> Iterator[float]:
    """Sleep lengths that grow to ``cap``, with jitter, for polling a shared resource without stampeding it.

    A plain iterator of numbers rather than an async generator that sleeps: a generator cancelled by a timeout
    mid-sleep is closed for good, and the next poll would end in ``StopAsyncIteration``.
    """
    delay = first
    while True:
        # Jitter keeps several pollers of one name from waking in lockstep.
        yield delay * (0.5 + random.random())
        delay = min(cap, delay * 2)


async def sleep_until_next_poll(delays: Iterator[float], deadline: float) -> None:
    """Sleep for the next of ``delays``, but never past ``deadline`` (a ``loop.time()`` value)."""
    remaining = deadline - asyncio.get_running_loop().time()
    await asyncio.sleep(max(0.0, min(next(delays), remaining)))


class _LocalLocks:
    """One asyncio.Lock per name, dropped when nobody holds or waits for it (names are unbounded, e.g. one per
    company)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, name: str, wait_s: float) -> AsyncIterator[None]:
        lock, users = self._locks.get(name, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[name] = (lock, users + 1)
        try:
            try:
                async with asyncio.timeout(max(wait_s, 0.0)):
                    await lock.acquire()
            except TimeoutError:
                raise LockTimeout(name, wait_s) from None
            try:
                yield
            finally:
                lock.release()
        finally:
            _, users = self._locks[name]
            if users <= 1:
                del self._locks[name]
            else:
                self._locks[name] = (lock, users - 1)


class StoreBase:
    """What both implementations share: the lock protocol around two primitives, and polling helpers.

    Subclasses implement ``_try_lock`` (one atomic attempt: True if ``owner`` now holds ``name``), ``_unlock``
    (compare-and-delete: True if ``owner`` still held it) and ``_idempotency_peek``.
    """

    def __init__(self) -> None:
        self._local_locks = _LocalLocks()
        # Strong references to fire-and-forget clean-ups: the loop keeps only weak ones.
        self._background: set[asyncio.Task[Any]] = set()

    async def _try_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        raise NotImplementedError

    async def _unlock(self, name: str, owner: str) -> bool:
        raise NotImplementedError

    async def _idempotency_peek(self, scope: str, key: str) -> IdempotencyState | None:
        raise NotImplementedError

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def lock(self, name: str, ttl_s: float, wait_s: float) -> AbstractAsyncContextManager[None]:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be > 0")
        return self._lock(name, ttl_s, wait_s)

    @asynccontextmanager
    async def _lock(self, name: str, ttl_s: float, wait_s: float) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(wait_s, 0.0)
        async with self._local_locks.hold(name, wait_s):
            owner = secrets.token_hex(16)
            await self._acquire_shared(name, owner, ttl_s, wait_s, deadline)
            try:
                yield
            finally:
                # Shielded: a cancelled holder must still free the lock rather than leave it for ttl_s.
                release = asyncio.ensure_future(self._unlock(name, owner))
                release.add_done_callback(_warn_if_lost(name, ttl_s))
                # A failed release is logged by the callback and must not turn a finished body into a failure:
                # the lock expires by itself after ttl_s.
                with contextlib.suppress(StoreError):
                    await asyncio.shield(release)

    async def _acquire_shared(self, name: str, owner: str, ttl_s: float, wait_s: float, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        delays = backoff_delays()
        while True:
            attempt = asyncio.ensure_future(self._try_lock(name, owner, ttl_s))
            try:
                acquired = await asyncio.shield(attempt)
            except asyncio.CancelledError:
                # The attempt runs on; if it wins, free the lock instead of leaving it held until ttl_s.
                attempt.add_done_callback(self._release_if_won(name, owner))
                raise
            if acquired:
                return
            if loop.time() >= deadline:
                raise LockTimeout(name, wait_s)
            await sleep_until_next_poll(delays, deadline)

    def _release_if_won(self, name: str, owner: str) -> Callable[[asyncio.Future[bool]], None]:
        def done(attempt: asyncio.Future[bool]) -> None:
            if not attempt.cancelled() and attempt.exception() is None and attempt.result():
                self._spawn(self._unlock(name, owner))

        return done

    async def idempotency_wait(self, scope: str, key: str, timeout_s: float) -> IdempotencyState | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0.0)
        delays = backoff_delays(first=0.01, cap=0.2)
        while True:
            state = await self._idempotency_peek(scope, key)
            if state is None or state.status is not IdempotencyStatus.IN_PROGRESS:
                return state
            if loop.time() >= deadline:
                return state
            await sleep_until_next_poll(delays, deadline)


def _warn_if_lost(name: str, ttl_s: float) -> Callable[[asyncio.Future[bool]], None]:
    def done(release: asyncio.Future[bool]) -> None:
        if release.cancelled():
            return
        exc = release.exception()
        if exc is not None:
            log.warning("releasing lock %r failed (it expires by itself): %r", name, exc)
        elif not release.result():
            log.warning("lock %r expired before release: its holder ran longer than ttl_s=%gs", name, ttl_s)

    return done
