"""Fixtures for the store suite: every test that takes ``open_instance`` or ``store`` runs once per implementation.

``open_instance()`` opens another store on the *same* backing state (one SQLite file in ``tmp_path``, or one Redis
key prefix), as a second gateway replica would; every instance is closed, and the test's Redis keys deleted, at the
end of the test. Redis comes from ``HOOKGATE_TEST_REDIS``; when it is unreachable the Redis half is skipped, or fails
when ``HOOKGATE_REQUIRE_REDIS=1`` (as in CI).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.store import Store, open_store

OpenInstance = Callable[[], Awaitable[Store]]


async def _redis_or_skip(url: str) -> aioredis.Redis:
    client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        reason = f"Redis at HOOKGATE_TEST_REDIS is unreachable ({type(exc).__name__})"
        if os.environ.get("HOOKGATE_REQUIRE_REDIS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return client


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_instance(store_kind: str, tmp_path: Path, redis_url: str) -> AsyncIterator[OpenInstance]:
    opened: list[Store] = []
    admin: aioredis.Redis | None = None
    prefix = ""
    if store_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"  # tmp_path is absolute, so this has the four slashes
    else:
        admin = await _redis_or_skip(redis_url)
        prefix = f"hookgate-test:{uuid.uuid4().hex}:"
        separator = "&" if "?" in redis_url else "?"
        url = f"{redis_url}{separator}prefix={prefix}"

    async def open_one() -> Store:
        store = await open_store(url)
        opened.append(store)
        return store

    try:
        yield open_one
    finally:
        for store in opened:
            await store.aclose()
        if admin is not None:
            keys = [key async for key in admin.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await admin.delete(*keys)
            await admin.aclose()


@pytest.fixture
async def store(open_instance: OpenInstance) -> Store:
    return await open_instance()
