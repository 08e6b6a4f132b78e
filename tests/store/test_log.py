"""The inbound event log, against both stores: order, cursors, dedupe, filters, retention, concurrency."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.store import InvalidCursor, NewEvent, Store
from tests.support.stores import OpenInstance


def event(n: int = 0, *, source: str = "uipath-main", provider: str = "uipath", type: str = "job.completed",
          provider_event_id: str | None = None) -> NewEvent:  # fmt: skip
    return NewEvent(
        source=source,
        provider=provider,
        type=type,
        provider_event_id=provider_event_id,
        payload={"n": n, "nested": {"list": [1, 2.5, None, "é"]}},
        received_at=datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC) + timedelta(seconds=n),
    )


async def test_empty_log_has_no_cursor_and_no_events(store: Store) -> None:
    assert await store.last_cursor() is None
    assert await store.read() == []
    assert await store.count() == 0
    assert await store.get("1") is None


async def test_appended_events_read_back_in_order_with_increasing_cursors(store: Store) -> None:
    appended = [(await store.append(event(n))).event for n in range(5)]

    cursors = [e.cursor for e in appended]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == 5
    assert len({e.id for e in appended}) == 5
    assert await store.read() == appended
    assert await store.read(after=cursors[1]) == appended[2:]
    assert await store.read(after=cursors[1], limit=2) == appended[2:4]
    assert await store.read(limit=0) == []
    assert await store.last_cursor() == cursors[-1]
    assert await store.read(after=cursors[-1]) == []
    assert await store.count() == 5


async def test_event_fields_round_trip(store: Store) -> None:
    occurred = datetime(2024, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    naive_received = datetime(2025, 1, 1, 12, 0, 0, 500)
    new = NewEvent(
        source="dixa-eu",
        provider="dixa",
        type="ConversationCreated",
        provider_event_id="evt-1",
        occurred_at=occurred,
        payload=[{"a": 1}, "two"],
        received_at=naive_received,
    )

    stored = (await store.append(new)).event

    assert (stored.source, stored.provider, stored.type, stored.provider_event_id) == (
        "dixa-eu",
        "dixa",
        "ConversationCreated",
        "evt-1",
    )
    assert stored.payload == [{"a": 1}, "two"]
    assert stored.occurred_at == occurred
    assert stored.occurred_at is not None
    assert stored.occurred_at.utcoffset() == timedelta(hours=-5)  # the offset given, not UTC
    assert stored.received_at == naive_received.replace(tzinfo=UTC)  # naive means UTC
    assert await store.get(stored.id) == stored
    assert await store.read() == [stored]


async def test_same_provider_event_id_is_stored_once(store: Store) -> None:
    first = await store.append(event(1, provider_event_id="delivery-7"))
    again = await store.append(event(2, provider_event_id="delivery-7"))

    assert not first.duplicate
    assert again.duplicate
    assert again.event == first.event  # the first event, not the second payload
    assert await store.count() == 1


async def test_dedupe_is_per_source_and_only_with_a_provider_event_id(store: Store) -> None:
    a = await store.append(event(1, source="a", provider_event_id="x"))
    b = await store.append(event(1, source="b", provider_event_id="x"))
    no_id_1 = await store.append(event(1))
    no_id_2 = await store.append(event(1))

    assert not any(r.duplicate for r in (a, b, no_id_1, no_id_2))
    assert await store.count() == 4


async def test_filters_select_by_source_provider_and_types(store: Store) -> None:
    specs = [
        ("uipath-main", "uipath", "job.completed"),
        ("dixa-eu", "dixa", "ConversationCreated"),
        ("uipath-main", "uipath", "job.faulted"),
        ("uipath-test", "uipath", "job.completed"),
        ("dixa-eu", "dixa", "ConversationClosed"),
    ]
    stored = [(await store.append(event(n, source=s, provider=p, type=t))).event for n, (s, p, t) in enumerate(specs)]

    assert await store.read(source="uipath-main") == [stored[0], stored[2]]
    assert await store.read(provider="dixa") == [stored[1], stored[4]]
    assert await store.read(types=["job.completed", "ConversationClosed"]) == [stored[0], stored[3], stored[4]]
    assert await store.read(provider="uipath", types=["job.completed"]) == [stored[0], stored[3]]
    assert await store.read(after=stored[0].cursor, source="uipath-main") == [stored[2]]
    assert await store.read(source="uipath-main", limit=1) == [stored[0]]
    assert await store.read(types=[]) == []
    assert await store.read(source="nobody") == []

    assert await store.count(source="uipath-main") == 2
    assert await store.count(provider="uipath", types=["job.completed"]) == 2
    assert await store.count(types=[]) == 0
    assert await store.count() == 5


async def test_paging_with_filters_walks_past_non_matching_events(store: Store) -> None:
    for n in range(30):
        await store.append(event(n, source="noise" if n % 3 else "signal"))

    pages: list[list[int]] = []
    after = None
    while page := await store.read(after=after, limit=4, source="signal"):
        pages.append([e.payload["n"] for e in page])
        after = page[-1].cursor

    assert pages == [[0, 3, 6, 9], [12, 15, 18, 21], [24, 27]]


async def test_foreign_cursor_and_negative_limit_are_refused(store: Store) -> None:
    await store.append(event())
    for bad in ("", "abc", "not-a-cursor", "zz" * 16, "1-0", "f" * 16):
        with pytest.raises(InvalidCursor):
            await store.read(after=bad)
    with pytest.raises(ValueError, match="limit"):
        await store.read(limit=-1)
    for bad_id in ("no-such-id", "9" * 30, "9" * 30 + "-0", "-1"):
        assert await store.get(bad_id) is None


async def test_trim_keeps_the_newest_events_and_cursors_keep_increasing(store: Store) -> None:
    stored = [(await store.append(event(n, provider_event_id=f"p{n}"))).event for n in range(6)]

    assert await store.trim(max_events=2) == 4
    assert await store.read() == stored[4:]
    assert await store.count() == 2
    assert await store.trim(max_events=2) == 0

    assert await store.trim(max_events=0) == 2
    assert await store.read() == []
    later = (await store.append(event(9))).event
    assert later.cursor > stored[-1].cursor  # never reused, even after the log emptied

    # A trimmed event's provider id is no longer remembered: a redelivery is appended anew.
    again = await store.append(event(0, provider_event_id="p0"))
    assert not again.duplicate
    assert again.event.cursor > later.cursor


async def test_trim_by_age_removes_only_older_events(store: Store) -> None:
    old = [(await store.append(event(n))).event for n in range(3)]
    await asyncio.sleep(0.5)
    young = (await store.append(event(3))).event

    assert await store.trim(max_age_s=0.25) == 3  # margins of 0.25 s both ways, for a loaded machine
    assert await store.read() == [young]
    assert [await store.get(e.id) for e in old] == [None, None, None]
    assert await store.trim() == 0


async def test_concurrent_appends_are_all_kept_in_one_strict_order(store: Store) -> None:
    results = await asyncio.gather(*(store.append(event(n)) for n in range(500)))

    assert not any(r.duplicate for r in results)
    cursors = [r.event.cursor for r in results]
    assert len(set(cursors)) == 500
    log = await store.read(limit=1000)
    assert [e.cursor for e in log] == sorted(cursors)  # strictly increasing: the set has no repeats
    assert sorted(e.payload["n"] for e in log) == list(range(500))
    assert await store.count() == 500


async def test_concurrent_redeliveries_store_one_event(open_instance: OpenInstance) -> None:
    one, two = await open_instance(), await open_instance()

    results = await asyncio.gather(
        *(s.append(event(n, provider_event_id="same")) for n in range(25) for s in (one, two))
    )

    assert sum(not r.duplicate for r in results) == 1
    assert len({r.event.cursor for r in results}) == 1
    assert await one.count() == 1


async def test_a_second_instance_sees_the_first_ones_events(open_instance: OpenInstance) -> None:
    one, two = await open_instance(), await open_instance()

    a = (await one.append(event(1))).event
    b = (await two.append(event(2))).event

    assert b.cursor > a.cursor
    assert await one.read() == [a, b]
    assert await two.read() == [a, b]


async def test_wait_for_events_wakes_on_append(open_instance: OpenInstance) -> None:
    store, other = await open_instance(), await open_instance()
    assert not await store.wait_for_events(None, 0.05)
    first = (await store.append(event(1))).event
    assert await store.wait_for_events(None, 0)
    assert not await store.wait_for_events(first.cursor, 0.05)

    waiter = asyncio.create_task(store.wait_for_events(first.cursor, 5))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    await store.append(event(2))
    assert await asyncio.wait_for(waiter, 1)

    # Appends by another instance (another process) are noticed too.
    last = await store.last_cursor()
    waiter = asyncio.create_task(store.wait_for_events(last, 5))
    await asyncio.sleep(0.05)
    await other.append(event(3))
    assert await asyncio.wait_for(waiter, 2)
