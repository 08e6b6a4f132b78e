"""With the response cache on, ``inboundEvents`` is never stale: a delivery to this gateway, or an event another
replica appended to the shared log, shows in the next query."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from gateway.store import NewEvent
from tests.support.events import receiver_settings, uipath_delivery
from tests.support.gateway import Gateway, in_process

QUERY = "{ inboundEvents(first: 10) { totalCount nodes { providerEventId } } }"


@pytest.fixture
async def cached_gateway() -> AsyncIterator[Gateway]:
    async with in_process(receiver_settings(cache={"enabled": True, "ttl_s": 60})) as gateway:
        yield gateway


async def ids(gw: Gateway) -> list[str]:
    answer = await gw.graphql(QUERY)
    assert "errors" not in answer, answer
    return [node["providerEventId"] for node in answer["data"]["inboundEvents"]["nodes"]]


async def test_a_delivery_shows_in_the_next_query(cached_gateway: Gateway) -> None:
    assert cached_gateway.services.response_cache is not None
    assert await ids(cached_gateway) == []
    await cached_gateway.deliver("uipath", *uipath_delivery("cache-1"))
    assert await ids(cached_gateway) == ["cache-1"]
    await cached_gateway.deliver("dixa", b"{}", {})  # refused: changes nothing
    await cached_gateway.deliver("uipath", *uipath_delivery("cache-2"))
    assert await ids(cached_gateway) == ["cache-1", "cache-2"]


async def test_an_event_another_replica_appended_shows_too(cached_gateway: Gateway) -> None:
    assert await ids(cached_gateway) == []
    # What a second replica on the same store does: append to the shared log, invalidating only its own cache.
    await cached_gateway.services.store.append(
        NewEvent(source="uipath", provider="uipath", type="job.completed", payload={}, provider_event_id="elsewhere")
    )
    assert await ids(cached_gateway) == ["elsewhere"]
