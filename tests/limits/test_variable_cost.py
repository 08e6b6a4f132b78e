"""List variables count in the cost like list literals (issue 10, High 4).

Validation sees no variables, so a list passed as a variable was costed as 10 items: one read request with 30,000 ids
made 300 UiPath calls. The cost is estimated again with the variables' lengths once they are known, before any
resolver runs; the refusal is the cost limit's usual request error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from gql import Client
from gql.graphql_request import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from schema.ids import encode_id
from tests.support.answers import codes, errors, post, upstream_total
from tests.support.gateway import Gateway, asgi_client
from tests.support.sandbox import Sandbox

MANY = 30_000
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"


def refused_for_cost(body: dict[str, Any], maximum: int = 20000) -> dict[str, Any]:
    """The cost limit's refusal, before execution; its extensions."""
    assert body.get("data") is None, body
    assert codes(body) == ["BAD_USER_INPUT"], errors(body)
    [error] = errors(body)
    assert f"exceeds the limit of {maximum} (limits.max_cost)" in error["message"]
    assert error["extensions"]["limit"] == "max_cost"
    extensions: dict[str, Any] = error["extensions"]
    return extensions


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[Any]:
    async with asgi_client(sandbox.url) as (client, _):
        yield client


@pytest.mark.parametrize(
    ("type_name", "source", "count"),
    # As many ids as a 1 MiB body holds: 300 UiPath calls, or 200 WorkflowGen calls, made before.
    [("Webhook", "uipath", MANY), ("WorkflowRequest", "workflowgen", 20_000)],
    ids=["uipath", "workflowgen"],
)
async def test_tens_of_thousands_of_ids_in_a_variable_are_refused_before_any_upstream_call(
    client: Any, sandbox: Sandbox, type_name: str, source: str, count: int
) -> None:
    ids = [encode_id(type_name, source, number) for number in range(1, count + 1)]
    sandbox.clear_calls()
    _, body = await post(client, NODES, {"ids": ids})
    assert refused_for_cost(body)["cost"] > count
    assert upstream_total(sandbox.calls()) == 0


async def test_a_list_variable_costs_what_the_same_list_written_in_the_document_costs(sandbox: Sandbox) -> None:
    """Each id costs what one item costs, whichever way it is passed: the same verdicts either side of the limit."""
    async with asgi_client(sandbox.url, limits={"max_cost": 50}) as (client, _):
        for count, allowed in ((20, True), (30, False)):
            ids = [encode_id("Webhook", "uipath", number) for number in range(1, count + 1)]
            literal = "{ nodes(ids: [" + ", ".join(f'"{i}"' for i in ids) + "]) { id } }"
            for query, variables in ((literal, {}), (NODES, {"ids": ids})):
                _, body = await post(client, query, variables)
                if allowed:
                    assert codes(body) == [], body
                    assert len(body["data"]["nodes"]) == count
                else:
                    refused_for_cost(body, maximum=50)


async def test_a_list_variable_spread_through_fragments_counts_at_every_spread(client: Any, sandbox: Sandbox) -> None:
    query = """
    query($ids: [ID!]!) { ...Twice }
    fragment Twice on Query { a: nodes(ids: $ids) { id } b: nodes(ids: $ids) { id } }
    """
    ids = [encode_id("Webhook", "uipath", number) for number in range(1, 6_001)]  # 12,001 per spread
    sandbox.clear_calls()
    _, body = await post(client, query, {"ids": ids})
    assert refused_for_cost(body)["cost"] == 2 * (1 + 2 * 6_000)
    assert upstream_total(sandbox.calls()) == 0


async def test_a_list_inside_an_input_object_variable_counts(client: Any, sandbox: Sandbox) -> None:
    """``startFlows(input: $input)``: the items of a list nested in an input object count too (a write, here)."""
    items = [{"channelId": "w", "targetUserMasterId": "u"}] * 21_000  # what a 1 MiB body holds
    mutation = "mutation($input: StartFlowsInput!) { startFlows(input: $input) { result } }"
    sandbox.clear_calls()
    _, body = await post(client, mutation, {"input": {"botId": "bot", "items": items}})
    refused_for_cost(body)
    _, body = await post(
        client,
        'mutation($items: [StartFlowItemInput!]!) { startFlows(input: {botId: "bot", items: $items}) { result } }',
        {"items": items},
    )
    refused_for_cost(body)
    assert upstream_total(sandbox.calls()) == 0


async def test_thirty_thousand_event_types_in_a_subscription_variable_are_refused(gateway: Gateway) -> None:
    """``events(types: $types)`` over graphql-transport-ws, against a served gateway: refused before it starts."""
    transport = WebsocketsTransport(
        url=gateway.url.replace("http://", "ws://", 1) + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        connect_timeout=5,
        ack_timeout=5,
    )
    request = GraphQLRequest(
        "subscription($types: [String!]) { events(types: $types) { type } }",
        variable_values={"types": [f"type.{number}" for number in range(MANY)]},
    )
    async with asyncio.timeout(20), Client(transport=transport, fetch_schema_from_transport=False) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(request):
                pass
    assert refused.value.errors is not None
    refused_for_cost({"data": None, "errors": refused.value.errors})
