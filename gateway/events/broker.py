"""Live fan-out of the event log to GraphQL subscribers, on one process and across replicas.

One :class:`Broker` per process (``services.broker``, opened by the app's lifespan). It owns a *tailer*: a task that
reads the log in cursor order from where it last stopped and hands every new event to the matching local
subscribers. What wakes the tailer depends on the store:

- **SQLite** (one node): an in-process broadcast. The store's group-commit writer signals every commit, so the tailer
  reads as soon as a delivery is durable; other processes sharing the file (``--workers N``) are noticed by the
  store's short poll (0.25 s).
- **Redis** (replicas): Redis pub/sub. :meth:`Broker.publish` sends the new cursor on the channel ``<prefix>events``;
  every replica's listener wakes its own tailer. A lost pub/sub message (a dropped connection) delays an event by at
  most ``[events] tail_poll_s`` (1 s) and never loses it: the tailer reads the Redis Stream, not the message.

Reading the log rather than forwarding messages is what makes every subscriber see events in cursor order, with no
gap and no duplicate, on every replica, whatever order the replicas' pub/sub messages arrive in.

Slow subscribers. Each subscriber has a bounded queue (``[events] subscriber_queue``, default 1000 events). When an
event finds it full, the subscriber is **dropped**: its queue is freed at once, and its next read raises
:class:`SubscriberDropped`. The ``events`` subscription turns that into a ``RATE_LIMITED`` error whose
``resumeAfter`` extension is the cursor of the last event the client was sent, so it can resubscribe with
``after: resumeAfter`` and replay from the durable log what it missed. Memory per subscriber is therefore bounded,
and a slow client never slows the others nor loses an event for good.

Over WebSockets, identical live subscriptions share one broker subscription and one execution per event (the live
hub, built over this broker outside this package): there the "subscriber" above is a group, and each of its members
has the same bounded queue and drop policy, counted in frames not yet written to its socket.

The broker also applies retention (``[events] retention_days`` / ``retention_max_events``) every
``trim_interval_s``: it is the one long-lived task per process that already owns the log's read side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from gateway.config import Settings
from gateway.errors import HookgateError
from gateway.store import Store, StoredEvent, StoreError, StoreUnavailable

log = logging.getLogger("hookgate.events")

READ_BATCH: Final = 500
READY_TIMEOUT_S: Final = 10.0
_RETRY_S: Final = 1.0
_YIELD_EVERY: Final = 5000  # subscriber checks between two yields to the event loop during a fan-out


class SubscriberDropped(Exception):
    """The subscriber's queue overflowed (it fell behind) and it was removed from the broker."""


class FellBehind(HookgateError):
    """RATE_LIMITED: a subscription could not keep up and was closed. ``resumeAfter`` is where to resume."""

    code = "RATE_LIMITED"


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events a subscriber wants; ``None`` matches anything, ``types`` matches any of its names."""

    source: str | None = None
    provider: str | None = None
    types: frozenset[str] | None = None

    def __call__(self, event: StoredEvent) -> bool:
        return (
            (self.source is None or event.source == self.source)
            and (self.provider is None or event.provider == self.provider)
            and (self.types is None or event.type in self.types)
        )


class Subscription:
    """One subscriber's view of the live log: iterate it for events in cursor order (see the module docstring)."""

    __slots__ = ("_items", "_waiter", "capacity", "closed", "dropped", "match")

    def __init__(self, match: EventFilter, capacity: int) -> None:
        self.match = match
        self.capacity = capacity
        self._items: deque[StoredEvent] = deque()
        # A bare future rather than an asyncio.Event: with thousands of subscribers, the cost of one wake-up is the
        # cost of the fan-out.
        self._waiter: asyncio.Future[None] | None = None
        self.dropped = False
        self.closed = False

    def offer(self, event: StoredEvent) -> bool:
        """Queue ``event``; False (and the subscriber is dropped) if the queue was full."""
        if len(self._items) >= self.capacity:
            self.dropped = True
            self._items.clear()  # the point of the policy: free the memory now, the log keeps the events
            self._wake()
            return False
        self._items.append(event)
        self._wake()
        return True

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> StoredEvent:
        while not self._items:
            if self.dropped:
                raise SubscriberDropped
            if self.closed:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._items.popleft()


class Broker:
    """The per-process hub: a tailer over the log, local subscribers, and a wake-up channel (see module docstring).

    Use :func:`open_broker`; close with :meth:`aclose` before the store is closed.
    """

    def __init__(self, store: Store, *, queue_size: int, poll_s: float = 1.0, settings: Settings | None = None) -> None:
        self.store = store
        self.queue_size = queue_size
        self.poll_s = poll_s  # the tailer reads at least this often, whatever wakes it (or fails to)
        self._settings = settings
        self._subscribers: set[Subscription] = set()
        self._cursor: str | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.dropped_total = 0

    # -- lifecycle

    def start(self) -> None:
        self._tasks.append(asyncio.get_running_loop().create_task(self._tail(), name="hookgate-events-tailer"))
        if self._settings is not None:
            events = self._settings.events
            if events.retention_days is not None or events.retention_max_events is not None:
                self._tasks.append(asyncio.get_running_loop().create_task(self._retain(), name="hookgate-retention"))

    async def aclose(self) -> None:
        """Stop the tasks and end every subscription (their iterators finish). Idempotent."""
        if self._closed:
            return
        self._closed = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for subscriber in list(self._subscribers):
            subscriber.close()
        self._subscribers.clear()

    # -- the two sides

    async def publish(self, event: StoredEvent) -> None:
        """Tell every process the log grew (call after ``Store.append`` returned). Here: wake the local tailer."""
        self._wake.set()

    @asynccontextmanager
    async def subscribe(
        self, *, source: str | None = None, provider: str | None = None, types: Sequence[str] | None = None
    ) -> AsyncIterator[Subscription]:
        """Register a subscriber for the block; it receives every matching event the tailer reads from now on.

        Waits until the tailer knows where the log ends (at most :data:`READY_TIMEOUT_S`, else
        :class:`StoreUnavailable`), so that a caller who then reads the log itself misses nothing in between.
        """
        if self._closed:
            raise StoreUnavailable("the event broker is closed")
        subscriber = Subscription(
            EventFilter(source, provider, None if types is None else frozenset(types)), self.queue_size
        )
        self._subscribers.add(subscriber)
        try:
            if not self._ready.is_set():
                try:
                    async with asyncio.timeout(READY_TIMEOUT_S):
                        await self._ready.wait()
                except TimeoutError:
                    raise StoreUnavailable("the event log is unavailable") from None
            yield subscriber
        finally:
            self._subscribers.discard(subscriber)
            subscriber.close()

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    # -- the tailer

    async def _wait(self) -> None:
        """Until there may be something new to read (or ``poll_s`` passed)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_s):
                await self._wake.wait()
        self._wake.clear()

    async def _tail(self) -> None:
        while True:
            try:
                if not self._ready.is_set():
                    self._cursor = await self.store.last_cursor()
                    self._ready.set()
                await self._wait()
                while True:
                    batch = await self.store.read(after=self._cursor, limit=READ_BATCH)
                    if not batch:
                        break
                    await self._fan_out(batch)
                    self._cursor = batch[-1].cursor
                    if len(batch) < READ_BATCH:
                        break
            except asyncio.CancelledError:
                raise
            except (StoreError, OSError) as exc:
                log.warning("event tailer: the store failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(_RETRY_S)
            except Exception:
                log.exception("event tailer failed; retrying")
                await asyncio.sleep(_RETRY_S)

    async def _fan_out(self, batch: list[StoredEvent]) -> None:
        if not self._subscribers:
            return
        subscribers = list(self._subscribers)
        offered = 0
        for event in batch:
            for subscriber in subscribers:
                if subscriber.dropped or subscriber.closed or not subscriber.match(event):
                    continue
                if not subscriber.offer(event):
                    self._subscribers.discard(subscriber)
                    self.dropped_total += 1
                    log.warning("dropped a subscriber that fell behind by %d events", subscriber.capacity)
            offered += len(subscribers)
            if offered >= _YIELD_EVERY:
                # A burst times thousands of subscribers is millions of offers: let receivers answer meanwhile.
                offered = 0
                await asyncio.sleep(0)

    # -- retention

    async def _retain(self) -> None:
        assert self._settings is not None
        events = self._settings.events
        max_age = None if events.retention_days is None else events.retention_days * 86_400
        while True:
            await asyncio.sleep(events.trim_interval_s)
            try:
                removed = await self.store.trim(max_age_s=max_age, max_events=events.retention_max_events)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event log retention failed (%s); will retry", type(exc).__name__)
                continue
            if removed:
                log.info("event log retention removed %d events", removed)


class LocalBroker(Broker):
    """:class:`Broker` for a SQLite store: the store's commit signal is the in-process broadcast, and its short poll
    notices appends by other processes sharing the file."""

    async def _wait(self) -> None:
        await self.store.wait_for_events(self._cursor, self.poll_s)
        self._wake.clear()


class RedisBroker(Broker):
    """:class:`Broker` whose wake-ups travel between replicas over Redis pub/sub (channel ``<prefix>events``)."""

    def __init__(
        self,
        store: Store,
        *,
        redis_url: str,
        channel: str,
        queue_size: int,
        poll_s: float = 1.0,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(store, queue_size=queue_size, poll_s=poll_s, settings=settings)
        import redis.asyncio as aioredis

        self.channel = channel
        # Its own small pool: a pub/sub connection is held for the process's life and must not starve the store's.
        self._redis: Any = aioredis.Redis.from_url(redis_url, socket_connect_timeout=5, health_check_interval=30)

    def start(self) -> None:
        super().start()
        self._tasks.append(asyncio.get_running_loop().create_task(self._listen(), name="hookgate-events-pubsub"))

    async def publish(self, event: StoredEvent) -> None:
        """Wake the tailers of every replica, this one included (its own message comes back through Redis too,
        but waking now saves the round trip)."""
        self._wake.set()
        await self._redis.publish(self.channel, event.cursor)

    async def _listen(self) -> None:
        from redis.exceptions import RedisError

        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                # Anything published while we were not listening is in the log: read it now.
                self._wake.set()
                async for _message in pubsub.listen():
                    self._wake.set()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("events pub/sub: %s; reconnecting", type(exc).__name__)
                await asyncio.sleep(_RETRY_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def aclose(self) -> None:
        await super().aclose()
        with contextlib.suppress(Exception):
            await self._redis.aclose()


def _redis_client_url(store_url: str) -> tuple[str, str]:
    """The redis-py URL (without the store's own ``prefix`` option) and the key prefix, as ``open_store`` reads
    them."""
    from gateway.store.redis import DEFAULT_PREFIX

    parts = urlsplit(store_url)
    prefix = DEFAULT_PREFIX
    kept = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "prefix":
            prefix = value
        else:
            kept.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(kept))), prefix


async def open_broker(settings: Settings, store: Store) -> Broker:
    """The broker for ``settings.store``: pub/sub over Redis for a Redis store, in-process otherwise. Started."""
    scheme = settings.store.split(":", 1)[0].lower()
    options: dict[str, Any] = {
        "queue_size": settings.events.subscriber_queue,
        "poll_s": settings.events.tail_poll_s,
        "settings": settings,
    }
    broker: Broker
    if scheme in ("redis", "rediss", "unix"):
        url, prefix = _redis_client_url(settings.store)
        broker = RedisBroker(store, redis_url=url, channel=f"{prefix}events", **options)
    else:
        broker = LocalBroker(store, **options)
    broker.start()
    return broker
