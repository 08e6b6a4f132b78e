"""Requests GraphQL over HTTP says must not run (issue 10, Low): several operations and no ``operationName``, and a
subscription over HTTP. Both are coded request errors, in ``application/json`` (200, ``data: null``) and in
``application/graphql-response+json`` (400, no ``data``), and nothing runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from schema.ids import encode_id
from tests.support.answers import codes, errors, upstream_total
from tests.support.gateway import asgi_client
from tests.support.sandbox import Sandbox

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
WEBHOOK = encode_id("Webhook", "uipath", 4)
#: A write declared first: running the first operation when none is named deleted a webhook.
TWO_OPERATIONS = f"""
mutation Remove {{ deleteWebhook(input: {{id: "{WEBHOOK}"}}) {{ deletedId }} }}
query Read {{ webhooks(source: "uipath") {{ totalCount }} }}
"""
SUBSCRIPTION = 'subscription { events(source: "uipath") { type } }'


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[Any]:
    async with asgi_client(sandbox.url) as (client, _):
        yield client


def request_error(response: httpx.Response, accept: str, field: str) -> dict[str, Any]:
    """A request error in the media type asked for: one BAD_USER_INPUT naming ``field``; its body."""
    body: dict[str, Any] = response.json()
    if accept == GRAPHQL_RESPONSE:
        assert response.status_code == 400, body
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in body
    else:
        assert response.status_code == 200, body
        assert response.headers["content-type"].startswith(JSON)
        assert body["data"] is None
    assert codes(body) == ["BAD_USER_INPUT"], body
    assert errors(body)[0]["extensions"]["field"] == field
    return body


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
async def test_several_operations_without_an_operation_name_run_none(
    client: Any, sandbox: Sandbox, accept: str
) -> None:
    sandbox.clear_calls()
    response = await client.post("/graphql", json={"query": TWO_OPERATIONS}, headers={"accept": accept})
    body = request_error(response, accept, "operationName")
    assert "operationName" in errors(body)[0]["message"]
    assert upstream_total(sandbox.calls()) == 0, "nothing ran: the webhook was not deleted"

    named = await client.post(
        "/graphql", json={"query": TWO_OPERATIONS, "operationName": "Read"}, headers={"accept": accept}
    )
    assert named.status_code == 200
    assert codes(named.json()) == []
    assert named.json()["data"]["webhooks"]["totalCount"] >= 1


@pytest.mark.parametrize("accept", [JSON, GRAPHQL_RESPONSE])
@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_a_subscription_over_http_is_a_coded_request_error(client: Any, method: str, accept: str) -> None:
    if method == "POST":
        response = await client.post("/graphql", json={"query": SUBSCRIPTION}, headers={"accept": accept})
    else:
        response = await client.get("/graphql", params={"query": SUBSCRIPTION}, headers={"accept": accept})
    body = request_error(response, accept, "query")
    assert "WebSocket" in errors(body)[0]["message"]
