"""Locks and the token cache, against both stores, through two instances as two replicas would use them."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.store import LockTimeout, Store
from tests.support.stores import OpenInstance


async def test_locked_read_modify_writes_lose_no_update(open_instance: OpenInstance) -> None:
    one, two = await open_instance(), await open_instance()
    await one.token_set("counter", "0", 60)

    async def increment(store: Store) -> None:
        async with store.lock("company:42:webhooks", ttl_s=10, wait_s=10):
            value = int(await store.token_get("counter") or "0")
            await asyncio.sleep(0.002)  # without the lock, other increments would read the same value here
            await store.token_set("counter", str(value + 1), 60)

    await asyncio.gather(*(increment(s) for _ in range(10) for s in (one, two)))

    assert await two.token_get("counter") == "20"


async def test_a_held_lock_times_out_other_replicas(open_instance: OpenInstance) -> None:
    one, two = await open_instance(), await open_instance()

    async with one.lock("L", ttl_s=10, wait_s=1):
        with pytest.raises(LockTimeout):
            async with two.lock("L", ttl_s=10, wait_s=0.1):
                pytest.fail("acquired a held lock")
        with pytest.raises(LockTimeout):
            async with one.lock("L", ttl_s=10, wait_s=0):
                pytest.fail("acquired a held lock")
        async with two.lock("other name", ttl_s=10, wait_s=0):
            pass

    async with two.lock("L", ttl_s=10, wait_s=0):
        pass


async def test_an_expired_lock_can_be_taken_and_its_late_release_is_reported(
    open_instance: OpenInstance, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = await open_instance(), await open_instance()
    caplog.set_level(logging.WARNING, logger="gateway.store")

    # The crashed-holder case: expiry frees the lock for the other replica.
    async with one.lock("L", ttl_s=0.2, wait_s=0), two.lock("L", ttl_s=10, wait_s=2):
        pass

    assert "expired before release" in caplog.text


async def test_a_lock_is_released_when_its_holder_fails_or_its_waiter_is_cancelled(
    open_instance: OpenInstance,
) -> None:
    one, two = await open_instance(), await open_instance()
    with pytest.raises(RuntimeError):
        async with one.lock("L", ttl_s=10, wait_s=0):
            raise RuntimeError("upstream failed")

    async with one.lock("L", ttl_s=10, wait_s=0):
        waiters = [asyncio.create_task(s.lock("L", ttl_s=10, wait_s=10).__aenter__()) for s in (one, two)]
        await asyncio.sleep(0.05)
        for waiter in waiters:
            waiter.cancel()
        for waiter in waiters:
            with pytest.raises(asyncio.CancelledError):
                await waiter

    async with two.lock("L", ttl_s=10, wait_s=0.5):
        pass


async def test_tokens_are_cached_replaced_deleted_and_expire(open_instance: OpenInstance) -> None:
    one, two = await open_instance(), await open_instance()

    assert await one.token_get("druid:bot-1") is None
    await one.token_set("druid:bot-1", "tok-1", 60)
    assert await two.token_get("druid:bot-1") == "tok-1"
    await two.token_set("druid:bot-1", "tok-2", 60)
    assert await one.token_get("druid:bot-1") == "tok-2"
    await one.token_delete("druid:bot-1")
    assert await two.token_get("druid:bot-1") is None

    await one.token_set("short", "tok-3", 0.3)
    assert await one.token_get("short") == "tok-3"
    await asyncio.sleep(0.4)
    assert await one.token_get("short") is None


async def test_store_repr_shows_no_secret(store: Store) -> None:
    await store.token_set("k", "very-secret-token", 60)
    assert "very-secret-token" not in repr(store)
