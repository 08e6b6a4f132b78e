"""Two gateway processes over the real Redis: a delivery received by one reaches a live subscriber on the other.

Both run ``python -m gateway serve`` with ``store = "redis://...?prefix=<unique>"``. Their tailers' idle poll is set
to 60 s, so within this test's timeouts only Redis pub/sub can carry the wake-up from one replica to the other.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.events import ServerProcess, dixa_delivery, event_stream, take, uipath_delivery, write_config
from tests.support.sandbox import Sandbox

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _deliver(server: ServerProcess, source: str, delivery: tuple[bytes, dict[str, str]]) -> str:
    response = httpx.post(f"{server.url}/hooks/{source}", content=delivery[0], headers=delivery[1], timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["cursor"])


async def test_delivery_to_one_replica_reaches_a_live_subscriber_on_the_other(
    tmp_path: Path, sandbox: Sandbox, servers: list[ServerProcess], redis_url: str, redis_prefix: str
) -> None:
    separator = "&" if "?" in redis_url else "?"
    store = f"{redis_url}{separator}prefix={redis_prefix}"
    config = write_config(
        tmp_path / "gateway.toml", store=store, sandbox_url=sandbox.url, extra="[events]\ntail_poll_s = 60\n"
    )
    a = ServerProcess(config, tmp_path / "a.log")
    b = ServerProcess(config, tmp_path / "b.log")
    servers += [a, b]
    a.spawn(), b.spawn()
    a.wait_ready(), b.wait_ready()

    first = _deliver(a, "uipath", uipath_delivery("before"))
    async with event_stream(b.url, {"after": first}) as events:
        # A probe through B itself: once it is seen, B's subscription has finished its replay and is live.
        probe = _deliver(b, "dixa", dixa_delivery("probe"))
        assert [e["cursor"] for e in await take(events, 1)] == [probe]
        await asyncio.sleep(0.2)
        cursors = [await asyncio.to_thread(_deliver, a, "uipath", uipath_delivery(f"live-{i}")) for i in range(3)]
        # With B's idle poll at 60 s, only A's pub/sub message can wake B's tailer within this timeout.
        received = await take(events, 3, timeout_s=10)
    assert [e["providerEventId"] for e in received] == ["live-0", "live-1", "live-2"]
    assert [e["cursor"] for e in received] == cursors
    # Both replicas read the same log.
    async with httpx.AsyncClient() as client:
        for server in (a, b):
            answer = await client.post(f"{server.url}/graphql", json={"query": "{ inboundEvents { totalCount } }"})
            assert answer.json()["data"]["inboundEvents"]["totalCount"] == 5
