"""Idempotency records, against both stores: the four states, expiry, and one winner under concurrency."""

from __future__ import annotations

import asyncio
import contextlib

from gateway.store import IdempotencyState, IdempotencyStatus, Store
from gateway.store.base import backoff_delays, sleep_until_next_poll
from tests.support.stores import OpenInstance

DAY = 24 * 3600.0
STARTED, COMPLETED, IN_PROGRESS, MISMATCH = (
    IdempotencyStatus.STARTED,
    IdempotencyStatus.COMPLETED,
    IdempotencyStatus.IN_PROGRESS,
    IdempotencyStatus.MISMATCH,
)


async def test_first_begin_owns_the_key_and_a_repeat_replays_the_answer(store: Store) -> None:
    assert await store.idempotency_begin("key-a", "k1", "fp1", DAY) == IdempotencyState(STARTED, "fp1")
    assert await store.idempotency_begin("key-a", "k1", "fp1", DAY) == IdempotencyState(IN_PROGRESS, "fp1")

    assert await store.idempotency_complete("key-a", "k1", b'{"data": {"ok": true}}')

    replay = await store.idempotency_begin("key-a", "k1", "fp1", DAY)
    assert replay == IdempotencyState(COMPLETED, "fp1", b'{"data": {"ok": true}}')


async def test_same_key_with_another_request_is_a_mismatch(store: Store) -> None:
    await store.idempotency_begin("key-a", "k1", "fp1", DAY)
    assert (await store.idempotency_begin("key-a", "k1", "fp2", DAY)).status is MISMATCH

    await store.idempotency_complete("key-a", "k1", b"{}")
    mismatch = await store.idempotency_begin("key-a", "k1", "fp2", DAY)
    assert mismatch.status is MISMATCH
    assert mismatch.response is None  # never hand one request's answer to another


async def test_keys_are_scoped_per_principal(store: Store) -> None:
    assert (await store.idempotency_begin("key-a", "k1", "fp1", DAY)).status is STARTED
    assert (await store.idempotency_begin("key-b", "k1", "fp-other", DAY)).status is STARTED
    # Separators inside scope or key cannot make two records collide.
    assert (await store.idempotency_begin("a:b", "c", "fp", DAY)).status is STARTED
    assert (await store.idempotency_begin("a", "b:c", "fp", DAY)).status is STARTED


async def test_release_lets_a_retry_proceed_but_never_drops_an_answer(store: Store) -> None:
    await store.idempotency_begin("s", "k", "fp", DAY)
    await store.idempotency_release("s", "k")
    assert not await store.idempotency_complete("s", "k", b"late")  # no longer STARTED: nothing stored
    assert (await store.idempotency_begin("s", "k", "fp", DAY)).status is STARTED

    await store.idempotency_complete("s", "k", b"answer")
    await store.idempotency_release("s", "k")
    assert (await store.idempotency_begin("s", "k", "fp", DAY)).response == b"answer"


async def test_expired_records_behave_as_absent(store: Store) -> None:
    await store.idempotency_begin("s", "done", "fp", 0.2)
    await store.idempotency_complete("s", "done", b"old")
    # A STARTED record whose owner vanished is abandoned after its lease.
    await store.idempotency_begin("s", "abandoned", "fp", DAY, lease_s=0.2)
    await asyncio.sleep(0.35)

    assert (await store.idempotency_begin("s", "done", "fp-new", DAY)).status is STARTED
    assert (await store.idempotency_begin("s", "abandoned", "fp", DAY)).status is STARTED


async def test_completed_record_lives_ttl_from_completion(store: Store) -> None:
    await store.idempotency_begin("s", "k", "fp", 0.6)
    await asyncio.sleep(0.4)
    await store.idempotency_complete("s", "k", b"r")
    await asyncio.sleep(0.35)  # 0.75 s after begin, 0.35 s after completion
    assert (await store.idempotency_begin("s", "k", "fp", 0.6)).status is COMPLETED


async def test_twenty_concurrent_begins_yield_exactly_one_owner(open_instance: OpenInstance) -> None:
    one, two = await open_instance(), await open_instance()

    states = await asyncio.gather(*(s.idempotency_begin("s", "k", "fp", DAY) for _ in range(10) for s in (one, two)))

    assert sorted(s.status for s in states).count(STARTED) == 1
    assert {s.status for s in states} == {STARTED, IN_PROGRESS}


async def test_a_concurrent_repeat_waits_for_the_first_answer(store: Store) -> None:
    await store.idempotency_begin("s", "k", "fp", DAY)

    async def finish_later() -> None:
        await asyncio.sleep(0.1)
        await store.idempotency_complete("s", "k", b"first answer")

    finisher = asyncio.create_task(finish_later())
    state = await store.idempotency_wait("s", "k", timeout_s=2)
    await finisher

    assert state == IdempotencyState(COMPLETED, "fp", b"first answer")


async def test_waiting_ends_when_the_owner_releases_or_the_time_is_up(store: Store) -> None:
    await store.idempotency_begin("s", "k", "fp", DAY)
    assert await store.idempotency_wait("s", "k", timeout_s=0.1) == IdempotencyState(IN_PROGRESS, "fp")

    async def release_later() -> None:
        await asyncio.sleep(0.1)
        await store.idempotency_release("s", "k")

    releaser = asyncio.create_task(release_later())
    assert await store.idempotency_wait("s", "k", timeout_s=2) is None
    await releaser
    assert await store.idempotency_wait("s", "never-begun", timeout_s=1) is None


async def test_a_wait_that_runs_out_answers_in_progress_whatever_the_timing(store: Store) -> None:
    # Timeouts that end at every point of the poll cycle, including mid-sleep, must answer, never raise.
    await store.idempotency_begin("s", "k", "fp", DAY)
    for step in range(40):
        state = await store.idempotency_wait("s", "k", timeout_s=step * 0.0015)
        assert state == IdempotencyState(IN_PROGRESS, "fp")


async def test_poll_delays_survive_a_cancelled_sleep() -> None:
    delays = backoff_delays(first=0.05, cap=0.05)
    loop = asyncio.get_running_loop()
    sleeper = asyncio.create_task(sleep_until_next_poll(delays, loop.time() + 10))
    await asyncio.sleep(0.01)
    sleeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sleeper
    # The same delays go on after the cancellation, and a deadline caps the sleep.
    started = loop.time()
    await sleep_until_next_poll(delays, started + 0.001)
    assert 0.0 < next(delays) <= 0.075


async def test_state_repr_hides_the_response(store: Store) -> None:
    await store.idempotency_begin("s", "k", "fp", DAY)
    await store.idempotency_complete("s", "k", b'{"secret": "s3cr3t"}')
    state = await store.idempotency_begin("s", "k", "fp", DAY)
    assert "s3cr3t" not in repr(state)
