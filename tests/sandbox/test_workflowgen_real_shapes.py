"""The WorkflowGen simulator serves the shapes real clients use: a production client's paged reads (``requests``,
``actions``, ``users`` with ``page`` and ``filter``), createRequest's documented flat answer, the other answer shapes a
tolerant client must read (switched by option), and the documented completeAction and file inputs."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.app import create_sandbox_app

TOKEN = "sandbox-wfgen-token"
HOOK = f"/workflowgen/wfgen/hooks/{TOKEN}"
GRAPHQL = "/workflowgen/wfgen/graphql"
ADMIN = ("wfgen_admin", "sandbox")

#: What a production WorkflowGen GraphQL client reads (issue text), as it sends it.
PRODUCTION_REQUESTS = """query($since: DateTime) {
  requests(page: {number: 1, size: 20}, filter: {createdSince: $since}) {
    totalCount hasNextPage
    items {
      id number description openedAt closedAt status requester { id }
      actions { items { id status description openedAt closedAt updatedAt limit assignee { userName } } }
      dataset(filter: {names: ["AMOUNT", "REASON"]}) { items { id name description textValue } }
    }
  }
}"""


def gid(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_sandbox_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        yield client


async def hook(client: httpx.AsyncClient, operation: str, data: dict[str, Any]) -> httpx.Response:
    return await client.post(HOOK, json={"operation": operation, "args": {"input": data}})


async def gql(client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await client.post(GRAPHQL, json={"query": query, "variables": variables}, auth=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def create(client: httpx.AsyncClient, **input: Any) -> int:
    response = await hook(client, "createRequest", {"processName": "EXPENSE_CLAIM", **input})
    assert response.status_code == 200, response.text
    number: int = response.json()["createRequest"]["number"]
    return number


async def test_the_production_clients_requests_query_is_answered(client: httpx.AsyncClient) -> None:
    data = await gql(client, PRODUCTION_REQUESTS, {"since": "2024-01-01T00:00:00Z"})
    page = data["requests"]
    assert (page["totalCount"], page["hasNextPage"]) == (1, False)
    [request] = page["items"]
    assert request["id"] == gid("Request:1")
    assert request["requester"] == {"id": gid("User:2")}
    [action] = request["actions"]["items"]
    assert action["description"] == "Approve the expense claim"
    assert action["limit"] == "2024-01-18T09:30:00.000Z"
    assert action["updatedAt"] is None  # never changed since it opened
    assert action["assignee"] == {"userName": "wfgen_admin"}
    assert [d["name"] for d in request["dataset"]["items"]] == ["AMOUNT", "REASON"]
    assert request["dataset"]["items"][1]["textValue"] == "Client lunch"


async def test_created_since_leaves_out_older_requests(client: httpx.AsyncClient) -> None:
    data = await gql(client, PRODUCTION_REQUESTS, {"since": "2024-01-16T00:00:00Z"})
    assert data["requests"]["totalCount"] == 0
    await create(client)
    data = await gql(client, PRODUCTION_REQUESTS, {"since": "2024-01-16T00:00:00Z"})
    assert [r["number"] for r in data["requests"]["items"]] == [2]


async def test_actions_and_users_are_paged_and_filtered(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await create(client)
    assigned = await hook(client, "assignAction", {"requestNumber": 2, "number": 1, "assigneeUserName": "jdoe"})
    assert assigned.status_code == 200, assigned.text
    query = """{
      mine: actions(page: {number: 1, size: 2}, filter: {status: OPEN, assigneeUserName: "wfgen_admin"}) {
        totalCount hasNextPage items { id requestNumber number updatedAt }
      }
      second: actions(page: {number: 2, size: 2}, filter: {assigneeUserName: "wfgen_admin"}) {
        totalCount hasNextPage hasPreviousPage items { requestNumber }
      }
      of2: actions(filter: {requestNumber: 2}) { totalCount items { updatedAt assignee { userName } } }
      users(page: {number: 1, size: 1}) { totalCount hasNextPage items { id userName } }
    }"""
    data = await gql(client, query)
    assert data["mine"]["totalCount"] == 3
    assert [a["requestNumber"] for a in data["mine"]["items"]] == [1, 3]
    assert data["mine"]["hasNextPage"] is True
    assert data["second"]["items"] == [{"requestNumber": 4}]
    assert (data["second"]["hasNextPage"], data["second"]["hasPreviousPage"]) == (False, True)
    [of2] = data["of2"]["items"]
    assert of2["assignee"] == {"userName": "jdoe"}
    assert of2["updatedAt"] is not None
    assert data["users"] == {
        "totalCount": 2,
        "hasNextPage": True,
        "items": [{"id": gid("User:1"), "userName": "wfgen_admin"}],
    }


async def test_create_request_answers_the_documented_flat_fields(client: httpx.AsyncClient) -> None:
    response = await hook(client, "createRequest", {"processName": "EXPENSE_CLAIM", "clientMutationId": "c1"})
    assert response.status_code == 200
    payload = response.json()["createRequest"]
    documented = ("clientMutationId", "requestId", "number", "onBehalfOf", "onBehalfOfUserName")
    assert {key: payload[key] for key in documented} == {
        "clientMutationId": "c1",
        "requestId": gid("Request:2"),
        "number": 2,
        "onBehalfOf": None,
        "onBehalfOfUserName": None,
    }


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"workflowgen.answer_shape": "flat"}, {"createRequest": {"requestId", "number", "clientMutationId"}}),
        ({"workflowgen.answer_shape": "nested"}, {"createRequest": {"request", "clientMutationId"}}),
        ({"workflowgen.answer_key": "pascal"}, {"CreateRequest": {"request", "requestId", "number"}}),
        ({"workflowgen.answer_key": "lower"}, {"createrequest": {"request", "number"}}),
        ({"workflowgen.answer_key": "bare"}, {"": {"request", "requestId", "number"}}),
    ],
)
async def test_answer_shapes_switched_by_option(
    client: httpx.AsyncClient, options: dict[str, str], expected: dict[str, set[str]]
) -> None:
    (await client.post("/_control/options", json=options)).raise_for_status()
    response = await hook(client, "createRequest", {"processName": "EXPENSE_CLAIM"})
    assert response.status_code == 200
    body = response.json()
    [(key, keys)] = expected.items()
    payload = body if key == "" else body[key]
    assert keys <= set(payload), payload
    if options.get("workflowgen.answer_shape") == "flat":
        assert "request" not in payload
    if options.get("workflowgen.answer_shape") == "nested":
        assert "requestId" not in payload
        assert "number" not in payload


async def test_an_empty_answer_still_does_the_write(client: httpx.AsyncClient) -> None:
    (await client.post("/_control/options", json={"workflowgen.answer_shape": "empty"})).raise_for_status()
    response = await hook(client, "createRequest", {"processName": "EXPENSE_CLAIM"})
    assert (response.status_code, response.content) == (200, b"")
    data = await gql(client, "{ requests { totalCount } }")
    assert data["requests"]["totalCount"] == 2


async def test_complete_action_by_activity_name_with_process_id_and_test_flag(client: httpx.AsyncClient) -> None:
    number = await create(client, isTest=True)
    refused = await hook(
        client, "completeAction", {"requestNumber": number, "activityName": "APPROVAL", "isTest": False}
    )
    assert refused.status_code == 400
    assert "is a test request" in refused.json()["errors"][0]["message"]
    wrong_process = await hook(
        client, "completeAction", {"requestNumber": number, "number": 1, "processId": gid("Process:9")}
    )
    assert wrong_process.status_code == 400
    wrong_activity = await hook(client, "completeAction", {"requestNumber": number, "number": 1, "activityName": "X"})
    assert wrong_activity.status_code == 400
    done = await hook(
        client,
        "completeAction",
        {"requestNumber": number, "activityName": "APPROVAL", "processId": gid("Process:1"), "inTest": True},
    )
    assert done.status_code == 200, done.text
    action = done.json()["completeAction"]["action"]
    assert (action["number"], action["status"]) == (1, "CLOSED")


async def test_a_files_updated_at_is_kept(client: httpx.AsyncClient) -> None:
    file = {"name": "a.txt", "content": base64.b64encode(b"hi").decode(), "updatedAt": "2024-02-01T10:00:00+01:00"}
    number = await create(client, parameters=[{"name": "RECEIPT", "fileValue": file}])
    query = "query($n: Int) { request(number: $n) { dataset { items { name fileValue { size updatedAt } } } } }"
    data = await gql(client, query, {"n": number})
    [receipt] = [d for d in data["request"]["dataset"]["items"] if d["name"] == "RECEIPT"]
    assert receipt["fileValue"] == {"size": 2, "updatedAt": "2024-02-01T09:00:00.000Z"}
