"""WorkflowGen's batched reads through the real server, with a real GraphQL client, over the sandbox.

Every WorkflowGen lookup of one query is an alias in one GraphQL document. A key WorkflowGen refuses fails alone, with
its own error at its own path, beside the other keys' data; a document that fails as a whole fails each of its keys.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.config import sandbox_sources
from schema.types import action_id, request_id
from tests.support.client import errors, execute
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

GRAPHQL = "POST /wfgen/graphql"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on WorkflowRequest { number } } }"
UNKNOWN = 4242


async def create_request(sandbox: Sandbox, **input: Any) -> int:
    """A new EXPENSE_CLAIM request, made straight at the simulator (as wfgen_admin unless ``onBehalfOfUserName``)."""
    envelope = {"operation": "createRequest", "args": {"input": {"processName": "EXPENSE_CLAIM", **input}}}
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{sandbox.url}/workflowgen/wfgen/hooks/sandbox-wfgen-token", json=envelope)
    number: int = response.raise_for_status().json()["createRequest"]["request"]["number"]
    return number


def gateway_with(gateway_factory: Any, sandbox: Sandbox, **workflowgen: Any) -> Gateway:
    """A gateway whose workflowgen source has ``workflowgen`` changed in its configuration."""
    sources = sandbox_sources(sandbox.url)
    sources["workflowgen"].update(workflowgen)
    gateway: Gateway = gateway_factory(sources=sources)
    return gateway


def ids(*numbers: int) -> dict[str, list[str]]:
    return {"ids": [request_id("workflowgen", n) for n in numbers]}


async def test_an_unknown_request_is_null_beside_the_known_ones(gateway: Gateway, sandbox: Sandbox) -> None:
    second = await create_request(sandbox)
    sandbox.clear_calls()

    result = await execute(gateway.graphql_url, NODES, ids(1, UNKNOWN, second))

    # As for every source: an id that names nothing is null, not an error (the UiPath tests' webhook 999 likewise).
    assert result.errors is None
    assert result.data == {"nodes": [{"number": 1}, None, {"number": second}]}
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 1}


async def test_a_refused_request_fails_alone_at_its_index(gateway_factory: Any, sandbox: Sandbox) -> None:
    hidden = await create_request(sandbox)  # wfgen_admin's: jdoe may not see it
    theirs = await create_request(sandbox, onBehalfOfUserName="jdoe")
    gateway = gateway_with(gateway_factory, sandbox, impersonate_username="jdoe")
    sandbox.clear_calls()

    result = await execute(gateway.graphql_url, NODES, ids(1, UNKNOWN, hidden, theirs))

    assert result.data == {"nodes": [{"number": 1}, None, None, {"number": theirs}]}
    [error] = errors(result)
    assert error["path"] == ["nodes", 2]
    assert error["extensions"] == {"code": "FORBIDDEN", "source": "workflowgen", "provider": "WORKFLOWGEN"}
    assert f"request {hidden}" in error["message"]
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 1}


async def test_request_action_and_node_fields_fail_alone(gateway_factory: Any, sandbox: Sandbox) -> None:
    hidden = await create_request(sandbox)
    gateway = gateway_with(gateway_factory, sandbox, impersonate_username="jdoe")
    sandbox.clear_calls()

    query = """query($hidden: Int!, $action: ID!, $hiddenAction: ID!) {
      mine: request(source: "workflowgen", number: 1) { number }
      theirs: request(source: "workflowgen", number: $hidden) { number }
      act: action(source: "workflowgen", requestNumber: $hidden, number: 1) { number }
      own: node(id: $action) { ... on WorkflowAction { number requestNumber } }
      other: node(id: $hiddenAction) { id }
    }"""
    variables = {
        "hidden": hidden,
        "action": action_id("workflowgen", 1, 1),
        "hiddenAction": action_id("workflowgen", hidden, 1),
    }
    result = await execute(gateway.graphql_url, query, variables)

    assert result.data == {
        "mine": {"number": 1},
        "theirs": None,
        "act": None,
        "own": {"number": 1, "requestNumber": 1},
        "other": None,
    }
    found = {tuple(e["path"]): e["extensions"]["code"] for e in errors(result)}
    assert found == {("theirs",): "FORBIDDEN", ("act",): "FORBIDDEN", ("other",): "FORBIDDEN"}
    # One document for the requests, one for the actions: the failures cost no extra call.
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 2}


async def test_a_failed_document_fails_every_key_of_its_batch(gateway_factory: Any, sandbox: Sandbox) -> None:
    second = await create_request(sandbox)
    gateway = gateway_with(gateway_factory, sandbox, retries=0)
    sandbox.fault("workflowgen", status=503)
    sandbox.clear_calls()

    result = await execute(gateway.graphql_url, NODES, ids(1, second, UNKNOWN))

    assert result.data == {"nodes": [None, None, None]}
    # One failure of one source is reported once per request, at the first path it nulled (Context.add_partial).
    [error] = errors(result)
    assert error["path"] == ["nodes", 0]
    assert (error["extensions"]["code"], error["extensions"]["status"]) == ("UPSTREAM_ERROR", 503)
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 1}
