"""WorkflowGen through the gateway (real server, real GraphQL client, the simulator): the `requests` and `actions`
lists, WorkflowGen's own ids, writes whose answer comes in another shape (never a false error, never a duplicate),
and the documented completeAction and file inputs."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from schema.types import request_id
from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error
from tests.support.sandbox import Sandbox

GRAPHQL = "POST /wfgen/graphql"


def gid(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def options(sandbox: Sandbox, **values: str) -> None:
    httpx.post(
        f"{sandbox.url}/_control/options", json={f"workflowgen.{k}": v for k, v in values.items()}
    ).raise_for_status()


CREATE = """mutation($input: CreateRequestInput!) {
  createRequest(input: $input) { clientMutationId request { number status } warnings { code message } }
}"""


async def create(gateway: Gateway, **input: Any) -> dict[str, Any]:
    result = data(await gql(gateway, CREATE, {"input": {"processName": "EXPENSE_CLAIM", **input}}))
    payload: dict[str, Any] = result["createRequest"]
    return payload


# -- lists ----------------------------------------------------------------------------------------------------------


REQUESTS = """query($status: [RequestStatus!], $since: DateTime, $first: Int, $after: String, $requester: String) {
  requests(status: $status, createdSince: $since, first: $first, after: $after, requester: $requester) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { id number status processName }
  }
}"""


async def test_requests_are_listed_and_paged(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    for _ in range(4):
        await create(shared_gateway)
    first = data(await gql(shared_gateway, REQUESTS, {"first": 2}))["requests"]
    assert [n["number"] for n in first["nodes"]] == [1, 2]
    assert first["totalCount"] == 5
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["nodes"][0]["id"] == request_id("workflowgen", 1)
    after = first["pageInfo"]["endCursor"]
    second = data(await gql(shared_gateway, REQUESTS, {"first": 2, "after": after}))["requests"]
    assert [n["number"] for n in second["nodes"]] == [3, 4]
    assert second["pageInfo"]["hasPreviousPage"] is True
    by_jdoe = data(await gql(shared_gateway, REQUESTS, {"requester": "jdoe"}))["requests"]
    assert [n["number"] for n in by_jdoe["nodes"]] == [1]
    recent = data(await gql(shared_gateway, REQUESTS, {"since": "2024-06-01T00:00:00Z"}))["requests"]
    assert recent["totalCount"] == 4
    nothing = data(await gql(shared_gateway, REQUESTS, {"status": []}))["requests"]
    assert nothing == {"totalCount": 0, "pageInfo": {"hasNextPage": False, "hasPreviousPage": False,
                                                     "endCursor": None}, "nodes": []}  # fmt: skip


MY_ACTIONS = """query($assignee: String, $process: String) {
  actions(status: [OPEN], assignee: $assignee, processName: $process) {
    totalCount nodes { requestNumber number status assignee { userName } request { number } }
  }
}"""


async def test_my_open_actions(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    await create(shared_gateway)
    await create(shared_gateway)
    assign = """mutation { assignAction(input: {requestNumber: 2, number: 1, assigneeUserName: "jdoe"}) {
      action { number } } }"""
    data(await gql(shared_gateway, assign))
    mine = data(await gql(shared_gateway, MY_ACTIONS, {"assignee": "me"}))["actions"]
    assert [(a["requestNumber"], a["assignee"]["userName"]) for a in mine["nodes"]] == [
        (1, "wfgen_admin"),
        (3, "wfgen_admin"),
    ]
    assert mine["nodes"][0]["request"] == {"number": 1}
    of_process = data(await gql(shared_gateway, MY_ACTIONS, {"process": "EXPENSE_CLAIM"}))["actions"]
    assert of_process["totalCount"] == 3
    assert data(await gql(shared_gateway, MY_ACTIONS, {"process": "NONE"}))["actions"]["totalCount"] == 0


async def test_list_arguments_are_checked_before_any_upstream_call(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    error = only_error(await gql(shared_gateway, '{ actions(assignee: "") { totalCount } }'))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "assignee")
    error = only_error(await gql(shared_gateway, '{ requests(after: "nope") { totalCount } }'))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "after")
    error = only_error(await gql(shared_gateway, "{ requests(first: 501) { totalCount } }"))
    assert error["extensions"]["field"] == "first"
    assert sandbox.total_calls("workflowgen") == 0


async def test_the_lists_pass_the_cost_limit_with_their_defaults(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    query = """{ requests { nodes { number actions { number assignee { userName } } dataset { name textValue } } }
                 actions { nodes { number request { number } } } }"""
    result = data(await gql(shared_gateway, query))
    assert result["requests"]["nodes"][0]["number"] == 1


# -- WorkflowGen's own ids ------------------------------------------------------------------------------------------


async def test_workflowgen_ids_are_accepted(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    query = """query($r: ID, $a: ID, $n: ID!, $m: ID!) {
      request(id: $r) { number } action(id: $a) { requestNumber number }
      node(id: $n) { ... on WorkflowRequest { number } } other: node(id: $m) { ... on WorkflowAction { number } }
    }"""
    for request, action in [
        ("Request:1", "Action:1---1"),
        (gid("Request:1"), gid("Action:1---1")),
        (gid("Request:1").rstrip("="), gid("Action:1---1").rstrip("=")),
    ]:
        result = data(await gql(shared_gateway, query, {"r": request, "a": action, "n": request, "m": action}))
        assert result == {
            "request": {"number": 1},
            "action": {"requestNumber": 1, "number": 1},
            "node": {"number": 1},
            "other": {"number": 1},
        }, request


# -- answers in other shapes ----------------------------------------------------------------------------------------


async def test_the_documented_flat_answer_gives_the_new_request(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    for key in ("exact", "pascal", "bare"):
        options(sandbox, answer_shape="flat", answer_key=key)
        payload = await create(shared_gateway, clientMutationId=key)
        assert payload["warnings"] == []
        assert payload["request"]["status"] == "OPEN"
        assert payload["clientMutationId"] == key


async def test_an_unreadable_answer_is_a_done_write_with_a_warning_and_no_duplicate(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    options(sandbox, answer_shape="empty")
    result = await gql(shared_gateway, CREATE, {"input": {"processName": "EXPENSE_CLAIM", "clientMutationId": "e"}})
    assert result.errors is None  # not an error: a client would retry and launch a second request
    payload = data(result)["createRequest"]
    assert payload["request"] is None
    assert payload["clientMutationId"] == "e"
    assert payload["warnings"] == [
        {
            "code": "ANSWER_INCOMPLETE",
            "message": "createRequest was done, but WorkflowGen sent an answer it could not read",
        }
    ]
    assert sandbox.state("workflowgen").requests.keys() == {1, 2}
    # An action write the caller named still reads its action back; the unreadable answer is still said.
    complete = """mutation { completeAction(input: {requestNumber: 2, number: 1}) {
      action { status } warnings { code } } }"""
    assert data(await gql(shared_gateway, complete))["completeAction"] == {
        "action": {"status": "CLOSED"},
        "warnings": [{"code": "ANSWER_INCOMPLETE"}],
    }


# -- documented inputs ----------------------------------------------------------------------------------------------


COMPLETE = """mutation($input: CompleteActionInput!) {
  completeAction(input: $input) { action { requestNumber number name status } warnings { code } }
}"""


async def test_complete_action_by_activity_name_with_process_id_and_test_flag(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    number = (await create(shared_gateway, isTest=True))["request"]["number"]
    refused = only_error(
        await gql(
            shared_gateway, COMPLETE, {"input": {"requestNumber": number, "activityName": "APPROVAL", "isTest": False}}
        )
    )
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert "test request" in refused["message"]
    bad_id = only_error(await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": number, "number": 1,
                                                                        "processId": "nope"}}))  # fmt: skip
    assert bad_id["extensions"]["field"] == "processId"
    done = data(
        await gql(
            shared_gateway,
            COMPLETE,
            {
                "input": {
                    "requestNumber": number,
                    "activityName": "APPROVAL",
                    "processId": "Process:1",
                    "isTest": True,
                }
            },
        )
    )
    assert done["completeAction"]["action"] == {
        "requestNumber": number,
        "number": 1,
        "name": "APPROVAL",
        "status": "CLOSED",
    }


async def test_a_files_updated_at_goes_to_workflowgen_and_comes_back(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    file = {"name": "a.txt", "content": base64.b64encode(b"hi").decode(), "updatedAt": "2024-02-01T09:00:00Z"}
    number = (await create(shared_gateway, parameters=[{"name": "RECEIPT", "fileValue": file}]))["request"]["number"]
    query = "query($n: Int) { request(number: $n) { dataset { name fileValue { size updatedAt } } } }"
    result = data(await gql(shared_gateway, query, {"n": number}))
    [receipt] = [d for d in result["request"]["dataset"] if d["name"] == "RECEIPT"]
    assert receipt["fileValue"] == {"size": 2, "updatedAt": "2024-02-01T09:00:00+00:00"}
