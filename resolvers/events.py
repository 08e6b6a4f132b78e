"""Inbound events: the durable log as a connection, ``node(id:)`` for one event, and the live ``events`` subscription.

Cursors are the store's own cursors (opaque strings that order events), so a cursor from ``inboundEvents`` can be
given to ``events(after:)`` and the other way round.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Sequence
from typing import Any

import orjson
import strawberry

from gateway.context import Info, path_of
from gateway.errors import BadUserInput, HookgateError, InternalError, UpstreamUnavailable
from gateway.events.broker import FellBehind, SubscriberDropped
from gateway.graphql_ws.hub import LiveHub
from gateway.store import InvalidCursor, RawPayload, Store, StoredEvent, StoreError
from resolvers.loading import check_first
from schema.connections import Connection
from schema.enums import Provider
from schema.ids import encode_id
from schema.types import InboundEvent

log = logging.getLogger("hookgate.events")

DEFAULT_FIRST = 100
REPLAY_PAGE = 500


def to_inbound_event(event: StoredEvent, info: Info | None = None) -> InboundEvent:
    """The GraphQL view of a stored event. A payload kept as raw bytes (gateway.store.RawPayload) is served as those
    bytes when they are JSON (exact integers, nesting as sent); bytes beyond every parser's limits are served as their
    text, a string, with an ``UPSTREAM_UNAVAILABLE`` partial error (``reason: PAYLOAD_UNREADABLE``) when ``info`` is
    given."""
    return InboundEvent(
        id=strawberry.ID(encode_id("InboundEvent", event.source, event.id)),
        cursor=event.cursor,
        source=event.source,
        provider=Provider(event.provider),
        type=event.type,
        provider_event_id=event.provider_event_id,
        received_at=event.received_at,
        occurred_at=event.occurred_at,
        payload=_served_payload(event, info),
    )


def _served_payload(event: StoredEvent, info: Info | None) -> Any:
    payload = event.payload
    if not isinstance(payload, RawPayload):
        return payload
    if payload.json:
        # Embedded as it is by orjson, which encodes every answer: exact, and never re-encoded.
        return orjson.Fragment(payload.data)
    if info is not None:
        info.context.add_partial(
            UpstreamUnavailable(
                f"the payload of event {event.id} of source '{event.source}' nests deeper (or holds larger numbers) "
                "than the gateway reads: it is served as its raw text",
                source=event.source,
                provider=event.provider,
                reason="PAYLOAD_UNREADABLE",
            ),
            path_of(info),
        )
    return payload.data.decode("utf-8", "replace")


def _store(info: Info) -> Store:
    store: Store | None = info.context.runtime.store
    if store is None:
        raise UpstreamUnavailable("the event log is not open")
    return store


def _check_source(info: Info, source: str | None) -> None:
    if source is not None:
        info.context.runtime.source(source)  # BAD_USER_INPUT naming the unknown source


def _unavailable(exc: StoreError) -> UpstreamUnavailable:
    return UpstreamUnavailable("the event log is unavailable; retry later")


async def load_event(info: Info, native: str) -> InboundEvent | None:
    """The event behind an ``InboundEvent`` global id (its native part is the store's event id), or null."""
    try:
        event = await _store(info).get(native)
    except StoreError as exc:
        raise _unavailable(exc) from exc
    return None if event is None else to_inbound_event(event, info)


async def inbound_events(
    info: Info,
    source: str | None = None,
    provider: Provider | None = None,
    type: str | None = None,
    first: int | None = DEFAULT_FIRST,
    after: str | None = None,
) -> Connection[InboundEvent]:
    """The log, oldest first, from ``after``; ``first`` is capped by ``limits.max_first`` (default 100). Never served
    from the response cache: the log grows with every delivery, on any replica."""
    info.context.reads.uncacheable()
    _check_source(info, source)
    limit = check_first(info, first)
    limit = DEFAULT_FIRST if limit is None else limit
    store = _store(info)
    types = None if type is None else [type]
    kind = None if provider is None else provider.value
    try:
        # One more than asked tells whether another page follows, without a second query.
        page = await store.read(after=after, limit=limit + 1, source=source, provider=kind, types=types)
        total = await store.count(source=source, provider=kind, types=types)
    except InvalidCursor:
        raise BadUserInput(f"after: '{(after or '')[:80]}' is not a cursor of the event log", field="after") from None
    except StoreError as exc:
        raise _unavailable(exc) from exc
    items = [(event.cursor, to_inbound_event(event, info)) for event in page[:limit]]
    return Connection.build(items, has_next=len(page) > limit, has_previous=after is not None, total=total)


async def events(
    info: Info,
    source: str | None = None,
    provider: Provider | None = None,
    types: list[str] | None = None,
    after: str | None = None,
) -> AsyncGenerator[InboundEvent, None]:
    """Live events; with ``after``, first every retained event that followed it, in order, then live ones.

    The seam: catch up from the log without holding a live queue (a long replay must not overflow it), then
    subscribe, replay again from where the catch-up ended (only what arrived meanwhile), then take live events,
    skipping any cursor already sent. Subscribing before that last read is what leaves no gap: the broker hands this
    subscriber every event after its own read position, and that read position is at or before the log's end seen by
    the last replay.

    Over graphql-transport-ws the live part is shared (gateway/graphql_ws/hub.py): the subscription, whose context
    names its WebSocket operation, joins the group of identical live subscriptions in the runtime's live hub instead
    of holding a broker queue, at the same point of the seam, and the group executes each event once and sends its
    frames. The replay stays this subscription's own.

    A subscriber that falls behind is closed with RATE_LIMITED and ``resumeAfter`` (the last cursor sent).
    """
    feed = info.context.live_feed
    if feed is not None:
        # A shared group's own execution: its events come from the group's broker subscription, already filtered.
        async for event in feed:
            yield to_inbound_event(event, info)
        return
    _check_source(info, source)
    runtime = info.context.runtime
    store = _store(info)
    if runtime.broker is None:
        raise UpstreamUnavailable("live events are not available: the event broker is not open")
    kind = None if provider is None else provider.value
    filters: dict[str, str | Sequence[str] | None] = {"source": source, "provider": kind, "types": types}
    slot = info.context.ws_operation
    last = after
    # hookgate_subscribers: one per client subscription (a shared group's own execution above is none).
    runtime.metrics.subscriber_connected()
    try:
        if after is not None:
            async for event in _replay(store, after, source, kind, types):
                yield to_inbound_event(event, info)
                last = event.cursor
        if slot is not None:
            hub: LiveHub = runtime.live
            async with hub.join(info, slot, source=source, provider=kind, types=types) as member:
                if last is None:
                    last = await store.last_cursor()
                else:
                    async for event in _replay(store, last, source, kind, types):
                        yield to_inbound_event(event, info)
                        last = event.cursor
                try:
                    await member.run(last)  # the group sends from here on; returns when the broker closes
                finally:
                    last = member.sent
            return
        async with runtime.broker.subscribe(source=source, provider=kind, types=types) as live:
            if last is None:
                # "From now": the log's end, read after subscribing, so everything later reaches us live.
                last = await store.last_cursor()
            else:
                async for event in _replay(store, last, source, kind, types):
                    yield to_inbound_event(event, info)
                    last = event.cursor
            async for event in live:
                if last is not None and event.cursor <= last:
                    continue  # already replayed
                yield to_inbound_event(event, info)
                last = event.cursor
    except SubscriberDropped:
        raise FellBehind(
            f"the subscription fell behind by more than {runtime.settings.events.subscriber_queue} events and was "
            "closed; subscribe again with after: resumeAfter to replay what it missed",
            resumeAfter=last,
        ) from None
    except InvalidCursor:
        raise BadUserInput(f"after: '{(after or '')[:80]}' is not a cursor of the event log", field="after") from None
    except StoreError as exc:
        raise _unavailable(exc) from exc
    except HookgateError:
        raise
    except Exception as exc:
        # Strawberry does not run the error-masking extension per streamed result: mask here.
        log.exception("events subscription failed", extra={"request_id": info.context.request_id, "filters": filters})
        raise InternalError("internal error") from exc
    finally:
        runtime.metrics.subscriber_disconnected()


async def _replay(
    store: Store, after: str, source: str | None, provider: str | None, types: list[str] | None
) -> AsyncGenerator[StoredEvent, None]:
    """Every retained event after ``after`` that matches, in order, page by page until the log's end."""
    cursor = after
    while True:
        page = await store.read(after=cursor, limit=REPLAY_PAGE, source=source, provider=provider, types=types)
        for event in page:
            yield event
        if len(page) < REPLAY_PAGE:
            return
        cursor = page[-1].cursor
