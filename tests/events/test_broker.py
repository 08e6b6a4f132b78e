"""The broker in process: order, filters, the slow-subscriber policy, retention; and the ``events`` resolver's seam."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.context import Context
from gateway.events.broker import Broker, SubscriberDropped, open_broker
from gateway.store import NewEvent, Store, open_store
from schema.schema import build_schema
from tests.support.events import receiver_settings, uipath_delivery, until
from tests.support.gateway import Gateway, in_process


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    opened = await open_store("sqlite:///:memory:")
    yield opened
    await opened.aclose()


async def _open(store: Store, **events: Any) -> Broker:
    return await open_broker(receiver_settings(events=events), store)


async def _append(
    store: Store, broker: Broker, event_id: str, *, source: str = "uipath", type: str = "job.completed"
) -> str:
    result = await store.append(
        NewEvent(source=source, provider=source, type=type, payload={"id": event_id}, provider_event_id=event_id)
    )
    await broker.publish(result.event)
    return result.event.cursor


async def test_subscribers_get_matching_events_in_cursor_order(store: Store) -> None:
    broker = await _open(store)
    try:
        async with (
            broker.subscribe() as everything,
            broker.subscribe(source="dixa") as dixa_only,
            broker.subscribe(types=["job.started"]) as started,
        ):
            cursors = [
                await _append(store, broker, "a"),
                await _append(store, broker, "b", source="dixa", type="CONVERSATION_CREATED"),
                await _append(store, broker, "c", type="job.started"),
            ]
            async with asyncio.timeout(5):
                assert [(await anext(everything)).cursor for _ in range(3)] == cursors
                assert (await anext(dixa_only)).cursor == cursors[1]
                assert (await anext(started)).cursor == cursors[2]
    finally:
        await broker.aclose()


async def test_a_slow_subscriber_is_dropped_and_its_queue_freed_without_slowing_others(store: Store) -> None:
    broker = await _open(store, subscriber_queue=3)
    try:
        async with broker.subscribe() as slow, broker.subscribe() as fast:
            received = []
            for i in range(6):
                await _append(store, broker, f"e{i}")
                async with asyncio.timeout(5):
                    received.append((await anext(fast)).provider_event_id)
            assert received == [f"e{i}" for i in range(6)]
            assert slow.dropped
            assert len(slow._items) == 0  # the policy frees the memory at once
            with pytest.raises(SubscriberDropped):
                await anext(slow)
            assert broker.subscriber_count == 1
            assert broker.dropped_total == 1
    finally:
        await broker.aclose()


async def test_closing_the_broker_ends_every_subscription(store: Store) -> None:
    broker = await _open(store)
    async with broker.subscribe() as subscription:
        await broker.aclose()
        with pytest.raises(StopAsyncIteration):
            await anext(subscription)


async def test_retention_trims_the_log_in_the_background(store: Store) -> None:
    for i in range(5):
        await store.append(NewEvent(source="uipath", provider="uipath", type="t", payload={}, provider_event_id=str(i)))
    broker = await _open(store, retention_max_events=2, trim_interval_s=0.05)
    try:

        async def trimmed() -> bool:
            return await store.count() <= 2

        await until(trimmed)
        assert [e.provider_event_id for e in await store.read()] == ["3", "4"]
    finally:
        await broker.aclose()


# ------------------------------------------------------------------------------------------ the resolver's seam

SUBSCRIPTION = """
subscription($after: String, $source: String) { events(after: $after, source: $source) { cursor providerEventId } }
"""


async def _subscribe(gw: Gateway, **variables: Any) -> Any:
    schema = build_schema(gw.services.settings)
    result = await schema.subscribe(SUBSCRIPTION, variable_values=variables, context_value=Context(runtime=gw.services))
    assert not hasattr(result, "errors") or not getattr(result, "errors", None), result
    return result


async def _next(stream: Any) -> Any:
    async with asyncio.timeout(5):
        return await anext(stream)


async def test_resume_replays_what_followed_then_goes_live_with_no_gap_or_duplicate(asgi_gateway: Gateway) -> None:
    cursors = [(await asgi_gateway.deliver("uipath", *uipath_delivery(f"e{i}"))).json()["cursor"] for i in range(4)]
    stream = await _subscribe(asgi_gateway, after=cursors[1])
    first = await _next(stream)
    assert first.data["events"] == {"cursor": cursors[2], "providerEventId": "e2"}
    # Arrives while the replay is still being consumed: must come exactly once, after e3.
    await asgi_gateway.deliver("uipath", *uipath_delivery("e4"))
    seen = [(await _next(stream)).data["events"]["providerEventId"] for _ in range(2)]
    assert seen == ["e3", "e4"]
    await asgi_gateway.deliver("uipath", *uipath_delivery("e5"))
    assert (await _next(stream)).data["events"]["providerEventId"] == "e5"
    await stream.aclose()


async def test_subscription_from_now_skips_the_past(asgi_gateway: Gateway) -> None:
    await asgi_gateway.deliver("uipath", *uipath_delivery("old"))
    stream = await _subscribe(asgi_gateway)
    pending = asyncio.ensure_future(_next(stream))
    await until(lambda: asgi_gateway.services.broker.subscriber_count > 0)
    await asgi_gateway.deliver("uipath", *uipath_delivery("new"))
    assert (await pending).data["events"]["providerEventId"] == "new"
    await stream.aclose()


async def test_a_subscriber_that_falls_behind_gets_rate_limited_with_where_to_resume() -> None:
    async with in_process(receiver_settings(events={"subscriber_queue": 2})) as gw:
        await gw.deliver("uipath", *uipath_delivery("e0"))
        stream = await _subscribe(gw, after="0" * 16)
        assert (await _next(stream)).data["events"]["providerEventId"] == "e0"  # the catch-up replay
        await gw.deliver("uipath", *uipath_delivery("e1"))
        first = await _next(stream)  # from here on the subscription holds a live queue
        assert first.data["events"]["providerEventId"] == "e1"
        # Not consuming: the broker queues two, then drops the subscriber.
        for i in range(2, 7):
            await gw.deliver("uipath", *uipath_delivery(f"e{i}"))
        await until(lambda: gw.services.broker.dropped_total > 0)
        result = await _next(stream)
        [error] = result.errors
        assert error.extensions["code"] == "RATE_LIMITED"
        assert error.extensions["resumeAfter"] == first.data["events"]["cursor"]
        # Resuming from there loses nothing.
        resumed = await _subscribe(gw, after=error.extensions["resumeAfter"])
        assert [(await _next(resumed)).data["events"]["providerEventId"] for _ in range(5)] == [
            f"e{i}" for i in range(2, 7)
        ]
        await resumed.aclose()


async def test_unknown_source_and_foreign_cursor_are_bad_user_input(asgi_gateway: Gateway) -> None:
    for variables in ({"source": "nope"}, {"after": "zz"}):
        stream = await _subscribe(asgi_gateway, **variables)
        result = await _next(stream)
        assert result.errors[0].extensions["code"] == "BAD_USER_INPUT", variables
