"""An authentic delivery is never refused for its shape: deep nesting and integers beyond 64 bits are acknowledged,
kept once, and served back exactly over GraphQL, on both stores."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from sandbox.deliveries import sign_uipath
from tests.support.events import UIPATH_SECRET, receiver_settings
from tests.support.gateway import Gateway, in_process
from tests.support.stores import redis_or_skip

QUERY = """
query { inboundEvents(first: 10) { totalCount nodes { providerEventId type payload } } }
"""


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def gateway(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> AsyncIterator[Gateway]:
    admin = None
    if request.param == "sqlite":
        store = f"sqlite:///{tmp_path / 'hookgate.db'}"
    else:
        admin = await redis_or_skip(redis_url)
        prefix = f"hookgate-test:{uuid.uuid4().hex}:"
        store = f"{redis_url}{'&' if '?' in redis_url else '?'}prefix={prefix}"
    try:
        async with in_process(receiver_settings(store=store)) as gateway:
            yield gateway
    finally:
        if admin is not None:
            keys = [key async for key in admin.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await admin.delete(*keys)
            await admin.aclose()


def signed(body: bytes) -> dict[str, str]:
    return {"X-UiPath-Signature": sign_uipath(UIPATH_SECRET, body), "content-type": "application/json"}


def uipath_body(event_id: str, data: str) -> bytes:
    """A UiPath delivery whose ``Data`` is the JSON text ``data``, written by hand (no encoder needed)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    head = f'{{"Type": "job.completed", "EventId": "{event_id}", "Timestamp": "{now}", "Data": '
    return (head + data + "}").encode()


def nested(levels: int) -> str:
    return '{"a": ' * levels + '"deep"' + "}" * levels


async def delivered_twice(gw: Gateway, body: bytes) -> None:
    first = await gw.deliver("uipath", body, signed(body))
    assert first.status_code == 200, first.text
    again = await gw.deliver("uipath", body, signed(body))
    assert again.status_code == 200, again.text
    assert again.json() == {"cursor": first.json()["cursor"], "duplicate": True}
    assert await gw.services.store.count() == 1


async def served(gw: Gateway) -> dict[str, Any]:
    response = await gw.client.post("/graphql", json={"query": QUERY})
    assert response.status_code == 200, response.text[:500]
    return json.loads(response.content)  # type: ignore[no-any-return]  # Python's parser: exact integers


async def test_a_delivery_nested_300_levels_is_kept_once_and_served_as_sent(gateway: Gateway) -> None:
    event_id = uuid.uuid4().hex
    body = uipath_body(event_id, nested(300))
    await delivered_twice(gateway, body)
    answer = await served(gateway)
    assert "errors" not in answer
    [node] = answer["data"]["inboundEvents"]["nodes"]
    assert (node["providerEventId"], node["type"]) == (event_id, "job.completed")
    assert node["payload"] == json.loads(body)


async def test_integers_beyond_64_bits_are_kept_once_and_served_exactly(gateway: Gateway) -> None:
    event_id = uuid.uuid4().hex
    big, small = 123456789012345678901234567890, -(2**70) - 1
    body = uipath_body(event_id, f'{{"amount": {big}, "debt": {small}, "ok": 1.5e3, "huge": 1{"0" * 400}}}')
    await delivered_twice(gateway, body)
    answer = await served(gateway)
    assert "errors" not in answer
    [node] = answer["data"]["inboundEvents"]["nodes"]
    assert node["providerEventId"] == event_id
    assert node["payload"]["Data"]["amount"] == big
    assert node["payload"]["Data"]["debt"] == small
    assert node["payload"]["Data"]["huge"] == 10**400
    assert node["payload"] == json.loads(body)


async def test_nesting_beyond_every_parser_is_kept_and_served_with_a_code(gateway: Gateway) -> None:
    body = uipath_body(uuid.uuid4().hex, nested(5000))
    await delivered_twice(gateway, body)
    answer = await served(gateway)
    [node] = answer["data"]["inboundEvents"]["nodes"]
    assert node["type"] == "unknown"  # nothing could be read to index it
    assert node["payload"] == body.decode()  # its raw text: nothing lost, nothing re-encoded
    codes = {(e["extensions"]["code"], e["extensions"].get("reason")) for e in answer["errors"]}
    assert codes == {("UPSTREAM_UNAVAILABLE", "PAYLOAD_UNREADABLE")}


async def test_ordinary_payloads_are_still_values(gateway: Gateway) -> None:
    body = uipath_body(uuid.uuid4().hex, orjson.dumps({"Job": {"Id": 7, "ids": [2**63 - 1]}}).decode())
    await delivered_twice(gateway, body)
    [stored] = await gateway.services.store.read()
    assert stored.payload["Data"] == {"Job": {"Id": 7, "ids": [2**63 - 1]}}
