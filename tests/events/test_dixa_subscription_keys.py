"""Deliveries signed with a Dixa subscription's own secretKey, through a served gateway over the sandbox.

The gateway learns each subscription's key from Dixa (create answers and lists), keeps it in the store, and accepts a
delivery to ``/hooks/{source}`` signed with any of them, the key used as its UTF-8 bytes (CONTRACT.md, second round).
Here the source has no ``webhook_secret_key``, so only a learned key can make a delivery pass.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from gateway.config import sandbox_sources
from sandbox.deliveries import sign_dixa_subscription
from tests.support.client import execute
from tests.support.events import until
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

CREATE = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { providerId createdBy updatedBy } } }"
LIST = "{ webhooks(provider: DIXA) { nodes { providerId hasSecret createdBy } } }"
EVENTS = 'query { inboundEvents(source: "dixa") { totalCount nodes { type } } }'


def _without_configured_key(sandbox: Sandbox) -> dict[str, Any]:
    sources = sandbox_sources(sandbox.url)
    sources["dixa"].pop("webhook_secret_key")
    return sources


def _delivery(event_id: str) -> bytes:
    return orjson.dumps({"event_id": event_id, "event_fqn": "CONVERSATION_CREATED", "event_version": "1", "data": {}})


def _post(gateway: Gateway, body: bytes, key: str) -> httpx.Response:
    headers = {"X-DIXA-SIGNATURE": sign_dixa_subscription(key, body, int(time.time() * 1000))}
    return httpx.post(f"{gateway.url}/hooks/dixa", content=body, headers=headers)


async def _count_is(gateway: Gateway, count: int) -> bool:
    return await _count(gateway) >= count


async def _count(gateway: Gateway) -> int:
    data = (await execute(gateway.graphql_url, EVENTS)).data
    assert data is not None
    return int(data["inboundEvents"]["totalCount"])


async def test_a_delivery_signed_with_a_created_subscriptions_own_key_is_accepted(
    gateway_factory: Any, sandbox: Sandbox
) -> None:
    gateway: Gateway = gateway_factory(sources=_without_configured_key(sandbox), webhooks={"allow_private_urls": True})
    result = await execute(
        gateway.graphql_url,
        CREATE,
        {"i": {"source": "dixa", "url": f"{gateway.url}/hooks/dixa", "name": "Gateway",
               "events": ["ConversationCreated"], "authorization": {"none": True}}},
    )  # fmt: skip
    assert result.errors is None, result.errors
    assert result.data is not None
    created = result.data["createWebhook"]["webhook"]
    assert created["createdBy"]
    assert created["createdBy"] == created["updatedBy"]
    # The sandbox signs each subscription's deliveries with its own key: the gateway must know it.
    async with httpx.AsyncClient() as client:
        emitted = await client.post(
            f"{sandbox.url}/_control/emit", json={"target": "dixa", "event": "ConversationCreated", "data": {}}
        )
        assert emitted.status_code == 202
    await until(lambda: _count_is(gateway, 1), timeout_s=10)
    async with httpx.AsyncClient() as client:
        outcomes = (await client.get(f"{sandbox.url}/_control/deliveries")).json()["deliveries"]
    mine = [d for d in outcomes if d["url"] == f"{gateway.url}/hooks/dixa"]
    assert [(d["state"], d["status"]) for d in mine] == [("delivered", 200)]
    # The key is never returned by any query, nor in an error.
    async with httpx.AsyncClient() as client:
        answer = await client.get(
            f"{sandbox.url}/dixa/v1/webhooks/{created['providerId']}", headers={"Authorization": "sandbox-dixa-key"}
        )
        raw = answer.json()["data"]["secretKey"]
        listed = (await client.post(gateway.graphql_url, json={"query": LIST})).text
    assert raw not in listed
    assert raw not in str(result.errors)


async def test_keys_come_from_a_list_and_a_wrong_key_is_still_refused(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(sources=_without_configured_key(sandbox))
    listed = await execute(gateway.graphql_url, LIST)
    assert listed.errors is None, listed.errors
    # The seed subscription's own key, learned from the list, as UTF-8 bytes (it is not hex).
    assert _post(gateway, _delivery("e1"), "sandbox").status_code == 200
    assert _post(gateway, _delivery("e2"), "not-a-subscription-key").status_code == 401
    assert await _count(gateway) == 1


def _create_at_dixa(sandbox: Sandbox, name: str) -> str:
    """A subscription made straight at (simulated) Dixa, as in its web app: Hookgate never saw it. Its secretKey."""
    answer = httpx.post(
        f"{sandbox.url}/dixa/v1/webhooks",
        json={"name": name, "url": "https://example.com/elsewhere"},
        headers={"Authorization": "sandbox-dixa-key"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["data"]["secretKey"])


async def test_a_key_matching_nothing_stored_refreshes_the_keys_from_dixa_once_per_interval(
    gateway_factory: Any, sandbox: Sandbox
) -> None:
    """A subscription created outside Hookgate signs with a key the store does not hold: the receiver has the adapter
    read Dixa's list again before refusing, and does so at most once per 30 s however many deliveries fail."""
    gateway: Gateway = gateway_factory(sources=_without_configured_key(sandbox))
    outside = _create_at_dixa(sandbox, "Made in Dixa")
    sandbox.clear_calls()
    assert _post(gateway, _delivery("o1"), outside).status_code == 200
    assert sandbox.total_calls("dixa") == 1  # one list, learning every subscription's key
    assert _post(gateway, _delivery("o2"), outside).status_code == 200
    assert sandbox.total_calls("dixa") == 1  # now stored: no call
    # Forged deliveries within the interval are refused without asking Dixa again...
    for n in range(5):
        assert _post(gateway, _delivery(f"f{n}"), "forged-key").status_code == 401
    assert sandbox.total_calls("dixa") == 1
    # ...and so is a second outside subscription, until the interval has passed.
    later = _create_at_dixa(sandbox, "Made in Dixa later")
    sandbox.clear_calls()
    assert _post(gateway, _delivery("o3"), later).status_code == 401
    assert sandbox.total_calls("dixa") == 0
    assert await _count(gateway) == 2
