"""Through the real server with real clients: the sandbox closing the loop from a mutation to a subscription, and a
subscriber resuming after a disconnect (gql over graphql-transport-ws)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson

from tests.support.client import execute
from tests.support.events import ZERO_CURSOR, collect_events, uipath_delivery, until
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox
from tests.support.servers import closed_url

CREATE = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } } }"
PING = "mutation($i: PingWebhookInput!) { pingWebhook(input: $i) { type eventId } }"
EVENTS = "query($s: String) { inboundEvents(source: $s) { totalCount nodes { type providerEventId payload } } }"


async def _mutate(gateway: Gateway, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    result = await execute(gateway.graphql_url, query, variables)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def _emit(sandbox: Sandbox, target: str, event: str, data: dict[str, Any]) -> int:
    async with httpx.AsyncClient() as client:
        body = {"target": target, "event": event, "data": data}
        return (await client.post(f"{sandbox.url}/_control/emit", json=body)).status_code


async def _wait_for_events(gateway: Gateway, source: str, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        while True:
            data = (await execute(gateway.graphql_url, EVENTS, {"s": source})).data
            assert data is not None
            if data["inboundEvents"]["totalCount"] >= count:
                return data["inboundEvents"]["nodes"]  # type: ignore[no-any-return]
            await asyncio.sleep(0.05)


async def test_ping_mutation_reaches_a_subscriber_through_the_sandbox(gateway_factory: Any, sandbox: Sandbox) -> None:
    # The webhook points at the gateway itself, on loopback: allowed by configuration, as the sandbox mode does.
    gateway: Gateway = gateway_factory(webhooks={"allow_private_urls": True})
    created = await _mutate(
        gateway,
        CREATE,
        {"i": {"source": "uipath", "url": f"{gateway.url}/hooks/uipath", "secret": "sandbox-uipath-secret",
               "events": ["job.completed"]}},
    )  # fmt: skip
    ready = asyncio.Event()
    # From the start of the (empty) log, so the subscription cannot miss what the mutation causes.
    subscriber = asyncio.create_task(
        collect_events(gateway.url, 2, variables={"source": "uipath", "after": ZERO_CURSOR}, ready=ready)
    )
    await ready.wait()
    ping = await _mutate(gateway, PING, {"i": {"id": created["createWebhook"]["webhook"]["id"]}})
    assert await _emit(sandbox, "uipath", "job.completed", {"Job": {"Id": 7}}) == 202
    events = await subscriber
    assert [e["type"] for e in events] == ["ping", "job.completed"]
    assert events[0]["providerEventId"] == ping["pingWebhook"]["eventId"]
    assert events[1]["payload"]["Job"] == {"Id": 7}
    assert all(e["provider"] == "UIPATH" and e["source"] == "uipath" for e in events)


async def test_dixa_auco_and_workflowgen_deliveries_land_in_the_log(gateway_factory: Any, sandbox: Sandbox) -> None:
    # The webhooks point at the gateway itself, on loopback: allowed by configuration, as the sandbox mode does.
    gateway: Gateway = gateway_factory(webhooks={"allow_private_urls": True})
    await _mutate(
        gateway,
        CREATE,
        {"i": {"source": "dixa", "url": f"{gateway.url}/hooks/dixa", "name": "Gateway",
               "events": ["ConversationCreated"], "authorization": {"none": True}}},
    )  # fmt: skip
    await _mutate(
        gateway,
        CREATE,
        {"i": {"source": "auco", "url": f"{gateway.url}/hooks/auco", "name": "Gateway", "providerId": "gateway",
               "authorization": {"header": {"key": "X-Auco-Token", "value": "sandbox-auco-token"}}}},
    )  # fmt: skip
    sandbox.options(**{"workflowgen.notify_url": f"{gateway.url}/hooks/workflowgen"})
    assert await _emit(sandbox, "dixa", "ConversationCreated", {}) == 202
    assert await _emit(sandbox, "auco", "document.FINISH", {}) == 202
    complete = (
        'mutation { completeAction(input: {source: "workflowgen", requestNumber: 1, number: 1}) { action { status } } }'
    )
    await _mutate(gateway, complete, {})
    assert [e["type"] for e in await _wait_for_events(gateway, "dixa", 1)] == ["ConversationCreated"]
    assert [e["type"] for e in await _wait_for_events(gateway, "auco", 1)] == ["document.FINISH"]
    assert [e["type"] for e in await _wait_for_events(gateway, "workflowgen", 2)] == ["action.closed", "request.closed"]
    # The sandbox kept Dixa's record of the delivery, as Dixa's delivery-status endpoint shows it.
    async with httpx.AsyncClient() as client:
        outcomes = (await client.get(f"{sandbox.url}/_control/deliveries")).json()["deliveries"]
    local = [d for d in outcomes if d["url"].startswith(gateway.url)]
    assert {d["state"] for d in local} == {"delivered"}
    assert all(d["state"] == "skipped" for d in outcomes if not d["url"].startswith("http://127.0.0.1"))


async def test_emit_refuses_unknown_targets_and_events(sandbox: Sandbox) -> None:
    for body in (
        {"target": "druid", "event": "x"},
        {"target": "uipath", "event": "job.exploded"},
        {"target": "dixa", "event": "Nope"},
        {"target": "auco", "event": "document.SIGNED_PACKAGE"},
        {"target": "auco", "event": "document.FINISH", "data": [1]},
    ):
        async with httpx.AsyncClient() as client:
            assert (await client.post(f"{sandbox.url}/_control/emit", json=body)).status_code == 400, body


async def test_subscriber_resumes_after_a_disconnect_with_no_gap_and_no_duplicate(gateway: Gateway) -> None:
    def deliver(event_id: str) -> str:
        body, headers = uipath_delivery(event_id)
        response = httpx.post(f"{gateway.url}/hooks/uipath", content=body, headers=headers)
        assert response.status_code == 200
        return str(response.json()["cursor"])

    for i in range(3):
        deliver(f"e{i}")
    before = await collect_events(gateway.url, 3, variables={"source": "uipath", "after": ZERO_CURSOR})
    assert [e["providerEventId"] for e in before] == ["e0", "e1", "e2"]
    # Disconnected (the client closed); two events arrive meanwhile.
    deliver("e3")
    deliver("e4")
    ready = asyncio.Event()
    resumed = asyncio.create_task(
        collect_events(gateway.url, 3, variables={"source": "uipath", "after": before[-1]["cursor"]}, ready=ready)
    )
    await ready.wait()
    await asyncio.to_thread(deliver, "e5")  # during or after the replay: either way, exactly once
    after = await resumed
    assert [e["providerEventId"] for e in after] == ["e3", "e4", "e5"]
    cursors = [e["cursor"] for e in before + after]
    assert cursors == sorted(cursors)
    assert len(set(cursors)) == 6


async def test_a_failed_delivery_is_recorded_where_dixa_reports_it(sandbox: Sandbox) -> None:
    dead = f"{closed_url()}/nobody-listens"
    async with httpx.AsyncClient(base_url=sandbox.url, headers={"Authorization": "sandbox-dixa-key"}) as client:
        created = await client.post(
            "/dixa/v1/webhooks",
            json={"name": "dead", "url": dead, "events": ["ConversationClosed"], "authorization": {"_type": "NoAuth"}},
        )
        subscription = created.json()["data"]["id"]
        assert (
            await client.post("/_control/emit", json={"target": "dixa", "event": "ConversationClosed"})
        ).status_code == 202

        async def failed() -> bool:
            outcomes = (await client.get("/_control/deliveries")).json()["deliveries"]
            return any(d["url"] == dead and d["state"] == "failed" for d in outcomes)

        await until(failed)
        statuses = (await client.get(f"/dixa/v1/webhooks/{subscription}/delivery-status")).json()["data"]
        [closed] = [s for s in statuses if s["event"] == "ConversationClosed"]
        assert closed["deliveryStatus"]["_type"] == "DeliveryDetail"
        assert closed["deliveryStatus"]["success"] is False
        logs = (await client.get(f"/dixa/v1/webhooks/{subscription}/delivery-status/logs/ConversationClosed")).json()
        assert orjson.loads(logs["data"][0]["payload"])["event_fqn"] == "CONVERSATION_CLOSED"
