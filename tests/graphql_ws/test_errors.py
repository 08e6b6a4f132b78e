"""Errors over graphql-transport-ws, through the real server with a raw WebSocket client: a query, a mutation or a
subscription carries the same shaped errors as over HTTP (per-source partial errors included), and one operation's
errors never leak into another operation of the same connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

WEBHOOKS = "{ webhooks { nodes { source } } }"


@contextlib.asynccontextmanager
async def connect(gateway: Gateway) -> AsyncIterator[ClientConnection]:
    url = gateway.url.replace("http://", "ws://", 1) + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps({"type": "connection_init", "payload": {}}).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        yield ws


async def run(ws: ClientConnection, op_id: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one operation and return its first ``next`` or ``error`` message."""
    payload = {"query": query, "variables": variables or {}}
    await ws.send(orjson.dumps({"id": op_id, "type": "subscribe", "payload": payload}).decode())
    async with asyncio.timeout(20):
        while True:
            message: dict[str, Any] = orjson.loads(await ws.recv())
            if message.get("id") == op_id and message["type"] in ("next", "error"):
                return message


async def test_query_over_websocket_carries_the_failing_sources_error_as_http_does(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    sandbox.fault("dixa", status=503)
    over_http = gateway.post(WEBHOOKS).json()
    async with connect(gateway) as ws:
        message = await run(ws, "q1", WEBHOOKS)
    assert message["type"] == "next"
    payload = message["payload"]
    assert {n["source"] for n in payload["data"]["webhooks"]["nodes"]} == {"uipath", "auco"}
    [error] = payload["errors"]
    assert error["path"] == ["webhooks"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR"
    assert error["extensions"]["source"] == "dixa"
    assert error["extensions"]["status"] == 503
    assert payload["errors"] == over_http["errors"]
    assert payload["data"] == over_http["data"]


async def test_operations_of_one_connection_keep_their_own_errors(gateway: Gateway, sandbox: Sandbox) -> None:
    async with connect(gateway) as ws:
        sandbox.fault("dixa", status=503)
        failing = await run(ws, "q1", WEBHOOKS)
        assert [e["extensions"]["source"] for e in failing["payload"]["errors"]] == ["dixa"]
        sandbox.clear_faults()
        healthy = await run(ws, "q2", WEBHOOKS)
        assert "errors" not in healthy["payload"]
        assert {n["source"] for n in healthy["payload"]["data"]["webhooks"]["nodes"]} == {"uipath", "dixa", "auco"}
        sandbox.fault("dixa", status=503)
        again = await run(ws, "q3", WEBHOOKS)  # the same failure, reported again: another operation
        assert [e["extensions"]["source"] for e in again["payload"]["errors"]] == ["dixa"]


async def test_mutation_over_websocket_carries_a_coded_error_naming_the_field_as_http_does(gateway: Gateway) -> None:
    mutation = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { webhook { id } } }"
    variables = {"input": {"source": "uipath"}}  # no url
    over_http = gateway.post(mutation, variables).json()
    async with connect(gateway) as ws:
        message = await run(ws, "m1", mutation, variables)
    assert message["type"] == "next"
    [error] = message["payload"]["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == over_http["errors"][0]["extensions"]["field"]
    assert message["payload"]["errors"] == over_http["errors"]


async def test_invalid_subscriptions_over_websocket_are_coded_as_over_http(gateway: Gateway) -> None:
    over_http = gateway.post("{ nope }").json()
    assert over_http["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    async with connect(gateway) as ws:
        invalid = await run(ws, "s1", "subscription { events { nope } }")
        bad_variable = await run(
            ws, "s2", "subscription($types: [String!]) { events(types: $types) { cursor } }", {"types": [1]}
        )
    for message in (invalid, bad_variable):
        assert message["type"] == "error"
        [error] = message["payload"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad_variable["payload"][0]["extensions"]["field"] == "types[0]"
