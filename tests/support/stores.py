"""Redis for the tests: a client, or the test skipped (failed under ``HOOKGATE_REQUIRE_REDIS=1``, as in CI) when
the server named by ``HOOKGATE_TEST_REDIS`` is unreachable."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.store import Store

OpenInstance = Callable[[], Awaitable[Store]]


async def redis_or_skip(url: str) -> aioredis.Redis:
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
