"""Fewest backend calls, counted by the sandbox: per scenario, per batch, and nothing that is not selected."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx

from gateway.config import sandbox_sources
from gateway.domain.records import WebhookRecord
from schema.ids import encode_id
from tests.support.gateway import GatewayFactory
from tests.support.populate import UIPATH_AUTH, add_dixa_subscriptions, add_uipath_webhooks
from tests.support.sandbox import Sandbox

DASHBOARD = (
    "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } "
    "deliveryStatuses { event lastDelivery { success } } } } }"
)
UIPATH_LIST = "GET /odata/Webhooks"
UIPATH_CATALOGUE = "GET /odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes()"
DIXA_LIST = "GET /v1/webhooks"
DIXA_STATUSES = "GET /v1/webhooks/{webhookSubscriptionId}/delivery-status"
AUCO_COMPANY = "GET /v1.5/ext/company"


def calls(sandbox: Sandbox) -> dict[str, dict[str, int]]:
    return {target: routes for target, routes in sandbox.calls().items() if routes}


async def test_warm_dashboard_makes_one_call_per_source_plus_one_per_dixa_subscription(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    add_dixa_subscriptions(sandbox, 2)  # three subscriptions with the seed one
    gateway = await gateway_in_process()
    sandbox.clear_calls()
    await gateway.ok(DASHBOARD)
    assert calls(sandbox)["uipath"] == {UIPATH_LIST: 1, UIPATH_CATALOGUE: 1}, "cold: the catalogue once"

    sandbox.clear_calls()
    data = await gateway.ok(DASHBOARD)
    # Warm: one list call per source; Dixa has no batch read, so 1 list + 3 delivery statuses (one per subscription).
    assert calls(sandbox) == {
        "uipath": {UIPATH_LIST: 1},
        "dixa": {DIXA_LIST: 1, DIXA_STATUSES: 3},
        "auco": {AUCO_COMPANY: 1},
    }
    nodes = data["webhooks"]["nodes"]
    uipath_4 = next(n for n in nodes if n["id"] == encode_id("Webhook", "uipath", 4))
    assert [t["name"] for t in uipath_4["eventTypes"]] == [
        "process.created",
        "process.updated",
        "process.deleted",
        "job.started",
        "queue.created",
    ], "joined from the catalogue, in catalogue order"
    assert sum(1 for n in nodes if n["deliveryStatuses"] is not None) == 3


async def test_nothing_is_fetched_that_the_query_does_not_select(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process()
    sandbox.clear_calls()
    await gateway.ok("{ webhooks { nodes { id url events } } }")
    assert calls(sandbox) == {"uipath": {UIPATH_LIST: 1}, "dixa": {DIXA_LIST: 1}, "auco": {AUCO_COMPANY: 1}}


async def test_sources_query_makes_no_backend_call(gateway_in_process: GatewayFactory, sandbox: Sandbox) -> None:
    gateway = await gateway_in_process()
    sandbox.clear_calls()
    await gateway.ok("{ sources { name provider capabilities sandbox circuit } }")
    assert calls(sandbox) == {}


async def test_nodes_over_50_uipath_ids_is_one_call(gateway_in_process: GatewayFactory, sandbox: Sandbox) -> None:
    ids = ["4", "10", *add_uipath_webhooks(sandbox, 48)]
    gateway = await gateway_in_process()
    sandbox.clear_calls()
    data = await gateway.ok(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Webhook { url events } } }",
        {"ids": [encode_id("Webhook", "uipath", i) for i in ids]},
    )
    assert calls(sandbox) == {"uipath": {UIPATH_LIST: 1}}
    assert [n["id"] for n in data["nodes"]] == [encode_id("Webhook", "uipath", i) for i in ids]


async def test_ids_beyond_max_batch_are_one_call_per_chunk(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    ids = ["4", "10", *add_uipath_webhooks(sandbox, 48)]
    sources = sandbox_sources(sandbox.url)
    sources["uipath"]["max_batch"] = 20
    gateway = await gateway_in_process(sources=sources)
    sandbox.clear_calls()
    data = await gateway.ok(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [encode_id("Webhook", "uipath", i) for i in ids]}
    )
    assert calls(sandbox) == {"uipath": {UIPATH_LIST: 3}}, "50 ids in chunks of 20: 3 calls"
    assert None not in data["nodes"]


async def test_by_id_reads_of_one_request_reach_the_adapter_as_one_batch(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    [extra] = add_uipath_webhooks(sandbox, 1)
    gateway = await gateway_in_process()
    adapter: Any = gateway.services.adapters["uipath"]
    batches: list[list[str]] = []
    original = adapter.get_webhooks

    async def recording(ids: Sequence[str]) -> list[WebhookRecord | None]:
        batches.append(list(ids))
        result: list[WebhookRecord | None] = await original(ids)
        return result

    adapter.get_webhooks = recording
    ids = {key: encode_id("Webhook", "uipath", key) for key in ("4", "10", extra)}
    sandbox.clear_calls()
    await gateway.ok(
        "query($a: ID!, $b: ID!, $c: ID!) { x: webhook(id: $a) { url } y: webhook(id: $b) { url } "
        "nodes(ids: [$c, $a, $b]) { id } node(id: $a) { id } }",
        {"a": ids["4"], "b": ids["10"], "c": ids[extra]},
    )
    assert batches == [["4", "10", extra]], "deduplicated, in the order first asked"
    assert calls(sandbox) == {"uipath": {UIPATH_LIST: 1}}


async def test_delivery_statuses_of_one_subscription_are_fetched_once_per_request(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process()
    [dixa] = [h for h in (await gateway.ok("{ webhooks(provider: DIXA) { nodes { id } } }"))["webhooks"]["nodes"]]
    sandbox.clear_calls()
    await gateway.ok(
        "query($id: ID!) { a: webhook(id: $id) { deliveryStatuses { event } } "
        "b: webhook(id: $id) { s1: deliveryStatuses { event } s2: deliveryStatuses { event } } "
        "webhooks(provider: DIXA) { nodes { deliveryStatuses { event } } } }",
        {"id": dixa["id"]},
    )
    assert calls(sandbox)["dixa"] == {
        DIXA_LIST: 1,
        "GET /v1/webhooks/{webhookSubscriptionId}": 1,
        DIXA_STATUSES: 1,
    }


async def test_event_catalogue_is_cached_across_requests_and_invalidated_by_writes(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process()
    query = '{ eventTypes(source: "uipath") { name } webhooks(provider: UIPATH) { nodes { eventTypes { name } } } }'
    await gateway.ok(query)
    sandbox.clear_calls()
    await gateway.ok(query)
    await gateway.ok(query)
    assert calls(sandbox) == {"uipath": {UIPATH_LIST: 2}}, "no catalogue call while it is cached"

    sandbox.clear_calls()
    created = await gateway.ok(
        'mutation { createWebhook(input: {source: "uipath", url: "https://hooks.example.com/new", '
        'events: ["job.started"]}) { webhook { eventTypes { name } } } }'
    )
    assert created["createWebhook"]["webhook"]["eventTypes"] == [{"name": "job.started"}]
    # The write made the cached catalogue stale: the payload's eventTypes read it again, once.
    assert calls(sandbox) == {"uipath": {"POST /odata/Webhooks": 1, UIPATH_CATALOGUE: 1}}
    sandbox.clear_calls()
    await gateway.ok(query)
    assert calls(sandbox) == {"uipath": {UIPATH_LIST: 1}}


async def _best_of(runs: int, work: Any) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        best = min(best, time.perf_counter() - started)
    return best


async def test_sources_are_fetched_concurrently(gateway_in_process: GatewayFactory, sandbox: Sandbox) -> None:
    """With every backend at 200 ms, a query across three sources takes about one backend call, not three."""
    gateway = await gateway_in_process()
    query = "{ webhooks { nodes { id source eventTypes { name } } } }"
    await gateway.ok(query)  # warm: catalogue cached, connections open
    for target in ("uipath", "dixa", "auco"):
        sandbox.fault(target, latency_ms=200)
    async with httpx.AsyncClient(base_url=sandbox.url, headers=UIPATH_AUTH) as client:
        direct = await _best_of(2, lambda: client.get("/uipath/odata/Webhooks"))
    across = await _best_of(2, lambda: gateway.ok(query))
    assert direct >= 0.2
    assert across < 1.5 * direct, f"three sources took {across:.3f} s, one direct call {direct:.3f} s"


async def test_dixa_delivery_statuses_are_fetched_concurrently(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    add_dixa_subscriptions(sandbox, 3)
    gateway = await gateway_in_process()
    query = "{ webhooks(provider: DIXA) { nodes { deliveryStatuses { event } } } }"
    await gateway.ok(query)
    sandbox.fault("dixa", latency_ms=200)
    async with httpx.AsyncClient(base_url=sandbox.url, headers={"Authorization": "sandbox-dixa-key"}) as client:
        direct = await _best_of(2, lambda: client.get("/dixa/v1/webhooks"))
    statuses = await _best_of(2, lambda: gateway.ok(query))
    # The list, then the four subscriptions' statuses side by side: two rounds, not five.
    assert statuses < 1.5 * 2 * direct, f"took {statuses:.3f} s, one direct call {direct:.3f} s"


async def test_concurrent_requests_share_one_catalogue_fetch(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process()
    sandbox.clear_calls()
    await asyncio.gather(*(gateway.ok('{ eventTypes(source: "uipath") { name } }') for _ in range(5)))
    assert calls(sandbox) == {"uipath": {UIPATH_CATALOGUE: 1}}
