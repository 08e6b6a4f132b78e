"""The WorkflowGen simulator: incoming webhook operations, the GraphQL read API, and the sandbox switches."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from sandbox import workflowgen
from sandbox.app import create_sandbox_app
from sandbox.control import Control

TOKEN = "sandbox-wfgen-token"
HOOK = f"/workflowgen/wfgen/hooks/{TOKEN}"
GRAPHQL = "/workflowgen/wfgen/graphql"
ADMIN = ("wfgen_admin", "sandbox")


def gid(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_sandbox_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        yield client


async def hook(client: httpx.AsyncClient, operation: str, data: dict[str, Any]) -> httpx.Response:
    return await client.post(HOOK, json={"operation": operation, "args": {"input": data}})


async def ok(client: httpx.AsyncClient, operation: str, data: dict[str, Any]) -> dict[str, Any]:
    response = await hook(client, operation, data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [operation]
    payload: dict[str, Any] = body[operation]
    return payload


async def refused(client: httpx.AsyncClient, operation: str, data: dict[str, Any], code: str) -> str:
    """Assert the operation fails with ``code``; return the message."""
    response = await hook(client, operation, data)
    assert response.status_code == 400, response.text
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code, error
    message: str = error["message"]
    return message


async def gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, *, user: str | None = None
) -> dict[str, Any]:
    headers = {"x-wfgen-impersonate-username": user} if user else {}
    response = await client.post(GRAPHQL, json={"query": query, "variables": variables}, auth=ADMIN, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


REQUEST_FIELDS = """
  id number status subStatus openedAt closedAt description
  process { id name version } requester { id userName }
  actions { totalCount items { id number name status subStatus closedAt assignee { userName } } }
  dataset { items { name textValue numericValue dateTimeValue fileValue { name contentType size description } } }
"""


async def read_request(client: httpx.AsyncClient, number: int) -> dict[str, Any]:
    body = await gql(client, f"query($n: Int) {{ request(number: $n) {{ {REQUEST_FIELDS} }} }}", {"n": number})
    assert "errors" not in body, body
    request: dict[str, Any] = body["data"]["request"]
    return request


def dataset(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in request["dataset"]["items"]}


# -- the hook token ----------------------------------------------------------------------------------------------


async def test_wrong_hook_token_is_refused_without_echoing_it(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/workflowgen/wfgen/hooks/not-the-token-x9", json={"operation": "createRequest", "args": {"input": {}}}
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "not-the-token-x9" not in response.text


async def test_call_counts_use_the_route_template_so_the_token_never_shows(client: httpx.AsyncClient) -> None:
    await hook(client, "createRequest", {"processName": "EXPENSE_CLAIM"})
    await hook(client, "createRequest", {"processName": "EXPENSE_CLAIM"})
    await gql(client, "{ viewer { userName } }")
    calls = (await client.get("/_control/calls")).json()
    assert calls["workflowgen"] == {"POST /wfgen/hooks/{token}": 2, "POST /wfgen/graphql": 1}
    assert TOKEN not in str(calls)


# -- seed --------------------------------------------------------------------------------------------------------


async def test_seed_has_open_request_1_with_approval_assigned_to_admin(client: httpx.AsyncClient) -> None:
    request = await read_request(client, 1)
    assert request["id"] == gid("Request:1")
    assert request["status"] == "OPEN"
    assert request["process"] == {"id": gid("Process:1"), "name": "EXPENSE_CLAIM", "version": 1}
    assert request["requester"] == {"id": gid("User:2"), "userName": "jdoe"}
    (action,) = request["actions"]["items"]
    assert action["id"] == gid("Action:1---1")
    assert (action["name"], action["status"], action["assignee"]) == ("APPROVAL", "OPEN", {"userName": "wfgen_admin"})
    data = dataset(request)
    assert set(data) == {"AMOUNT", "REASON", "DUE", "RECEIPT"}
    assert data["AMOUNT"]["numericValue"] == 125.5
    assert data["REASON"]["textValue"] == "Client lunch"
    assert data["DUE"]["dateTimeValue"] == "2024-01-31T00:00:00.000Z"
    assert data["RECEIPT"]["fileValue"]["name"] == "receipt.pdf"


# -- createRequest -----------------------------------------------------------------------------------------------


async def test_create_request_opens_a_request_with_its_dataset_and_first_action(client: httpx.AsyncClient) -> None:
    payload = await ok(
        client,
        "createRequest",
        {
            "processName": "EXPENSE_CLAIM",
            "clientMutationId": "cm-1",
            "parameters": [
                {"name": "AMOUNT", "numericValue": 42},
                {"name": "REASON", "textValue": "Taxi"},
                {"name": "DUE", "dateTimeValue": "2024-03-01T12:00:00+02:00"},
            ],
        },
    )
    assert payload["clientMutationId"] == "cm-1"
    assert payload["request"]["id"] == gid("Request:2")
    assert payload["request"]["number"] == 2
    assert payload["request"]["status"] == "OPEN"
    assert (payload["onBehalfOf"], payload["onBehalfOfUserName"]) == (None, None)

    request = await read_request(client, 2)
    assert request["requester"]["userName"] == "wfgen_admin"
    data = dataset(request)
    assert data["AMOUNT"]["numericValue"] == 42.0
    assert data["REASON"]["textValue"] == "Taxi"
    assert data["DUE"]["dateTimeValue"] == "2024-03-01T10:00:00.000Z"
    assert data["RECEIPT"]["fileValue"] is None
    (action,) = request["actions"]["items"]
    assert (action["number"], action["name"], action["status"]) == (1, "APPROVAL", "OPEN")
    assert action["assignee"] == {"userName": "wfgen_admin"}


async def test_create_request_on_behalf_of_a_user_makes_them_the_requester(client: httpx.AsyncClient) -> None:
    payload = await ok(client, "createRequest", {"processName": "EXPENSE_CLAIM", "onBehalfOf": gid("User:2")})
    assert (payload["onBehalfOf"], payload["onBehalfOfUserName"]) == (gid("User:2"), "jdoe")
    assert (await read_request(client, 2))["requester"]["userName"] == "jdoe"
    by_name = await ok(client, "createRequest", {"processName": "EXPENSE_CLAIM", "onBehalfOfUserName": "jdoe"})
    assert by_name["onBehalfOf"] == gid("User:2")


async def test_create_request_with_explicit_version_uses_it(client: httpx.AsyncClient) -> None:
    await ok(client, "createRequest", {"processName": "EXPENSE_CLAIM", "processVersion": 1, "isTest": True})
    assert (await read_request(client, 2))["process"]["version"] == 1


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        ({"processName": "NO_SUCH_PROCESS"}, "NOT_FOUND", "NO_SUCH_PROCESS"),
        ({"processName": "EXPENSE_CLAIM", "processVersion": 9}, "NOT_FOUND", "version 9"),
        ({}, "BAD_USER_INPUT", "processName"),
        ({"processName": "EXPENSE_CLAIM", "isTest": "yes"}, "BAD_USER_INPUT", "isTest"),
        ({"processName": "EXPENSE_CLAIM", "onBehalfOfUserName": "ghost"}, "NOT_FOUND", "ghost"),
        ({"processName": "EXPENSE_CLAIM", "onBehalfOf": gid("Request:1")}, "BAD_USER_INPUT", "onBehalfOf"),
        ({"processName": "EXPENSE_CLAIM", "colour": "red"}, "BAD_USER_INPUT", "colour"),
    ],
)
async def test_create_request_refusals_name_the_culprit(
    client: httpx.AsyncClient, data: dict[str, Any], code: str, named: str
) -> None:
    assert named in await refused(client, "createRequest", data, code)


@pytest.mark.parametrize(
    ("parameter", "named"),
    [
        ({"name": "COLOUR", "textValue": "red"}, "COLOUR"),
        ({"name": "AMOUNT", "textValue": "12"}, "AMOUNT"),
        ({"name": "REASON", "numericValue": 3}, "REASON"),
        ({"name": "AMOUNT", "numericValue": 1, "textValue": "1"}, "exactly one"),
        ({"name": "AMOUNT"}, "exactly one"),
        ({"name": "AMOUNT", "numericValue": True}, "AMOUNT"),
        ({"name": "DUE", "dateTimeValue": "next tuesday"}, "DUE"),
        ({"name": "RECEIPT", "fileValue": {"name": "a.pdf", "content": "%%%"}}, "base64"),
        ({"name": "RECEIPT", "fileValue": {"name": "a.pdf", "content": "aGk=", "url": "file:///x"}}, "exactly one"),
        ({"name": "RECEIPT", "fileValue": {"name": "a.pdf", "url": "https://example.com/a.pdf"}}, "file://"),
        ({"name": "RECEIPT", "fileValue": {"content": "aGk="}}, "fileValue.name"),
        ({"name": "AMOUNT", "numericValue": 1, "unit": "EUR"}, "unit"),
    ],
)
async def test_a_parameter_that_fits_no_process_data_is_an_error_never_a_drop(
    client: httpx.AsyncClient, parameter: dict[str, Any], named: str
) -> None:
    message = await refused(
        client, "createRequest", {"processName": "EXPENSE_CLAIM", "parameters": [parameter]}, "BAD_USER_INPUT"
    )
    assert named in message
    assert (await gql(client, "{ request(number: 2) { id } }"))["data"]["request"] is None


async def test_a_parameter_given_twice_is_refused(client: httpx.AsyncClient) -> None:
    parameters = [{"name": "REASON", "textValue": "a"}, {"name": "REASON", "textValue": "b"}]
    message = await refused(
        client, "createRequest", {"processName": "EXPENSE_CLAIM", "parameters": parameters}, "BAD_USER_INPUT"
    )
    assert "REASON" in message


async def test_file_parameters_keep_name_type_size_and_description(client: httpx.AsyncClient) -> None:
    content = base64.b64encode(b"hello receipt").decode()
    file_value = {"name": "r.txt", "contentType": "text/plain", "content": content, "description": "scan"}
    await ok(
        client,
        "createRequest",
        {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "RECEIPT", "fileValue": file_value}]},
    )
    stored = dataset(await read_request(client, 2))["RECEIPT"]["fileValue"]
    assert stored == {"name": "r.txt", "contentType": "text/plain", "size": 13, "description": "scan"}

    by_url = {"name": "big.pdf", "url": "file:///shared/big.pdf", "size": 2048}
    await ok(
        client,
        "updateRequestDataset",
        {"number": 2, "parameters": [{"name": "RECEIPT", "fileValue": by_url}]},
    )
    assert dataset(await read_request(client, 2))["RECEIPT"]["fileValue"]["size"] == 2048


# -- updateRequestDataset ----------------------------------------------------------------------------------------


async def test_update_request_dataset_changes_only_the_given_data(client: httpx.AsyncClient) -> None:
    payload = await ok(
        client,
        "updateRequestDataset",
        {"id": gid("Request:1"), "clientMutationId": "u1", "parameters": [{"name": "AMOUNT", "numericValue": 99.9}]},
    )
    assert payload == {"clientMutationId": "u1", "request": payload["request"]}
    assert payload["request"]["number"] == 1
    data = dataset(await read_request(client, 1))
    assert data["AMOUNT"]["numericValue"] == 99.9
    assert data["REASON"]["textValue"] == "Client lunch"


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        ({"number": 1, "onBehalfOfUserName": "jdoe", "parameters": []}, "BAD_USER_INPUT", "delegation"),
        ({"number": 1}, "BAD_USER_INPUT", "parameters"),
        ({"parameters": []}, "BAD_USER_INPUT", "number or id"),
        ({"number": 77, "parameters": []}, "NOT_FOUND", "request 77"),
        ({"number": 1, "id": gid("Request:2"), "parameters": []}, "BAD_USER_INPUT", "different"),
        ({"id": "not-an-id", "parameters": []}, "BAD_USER_INPUT", "not-an-id"),
    ],
)
async def test_update_request_dataset_refusals(
    client: httpx.AsyncClient, data: dict[str, Any], code: str, named: str
) -> None:
    assert named in await refused(client, "updateRequestDataset", data, code)


# -- cancelRequest -----------------------------------------------------------------------------------------------


async def test_cancel_request_closes_the_request_and_its_open_actions(client: httpx.AsyncClient) -> None:
    payload = await ok(client, "cancelRequest", {"number": 1, "notifyParticipant": False, "clientMutationId": "c"})
    assert payload["clientMutationId"] == "c"
    assert payload["request"]["status"] == "CLOSED"
    assert payload["request"]["closedAt"] is not None
    request = await read_request(client, 1)
    assert (request["status"], request["subStatus"]) == ("CLOSED", "CLOSED_CANCELLED")
    assert request["actions"]["items"][0]["status"] == "CLOSED"
    assert "not open" in await refused(client, "cancelRequest", {"number": 1}, "BAD_USER_INPUT")


async def test_the_requester_may_cancel_their_request_on_their_own_behalf(client: httpx.AsyncClient) -> None:
    payload = await ok(client, "cancelRequest", {"number": 1, "onBehalfOfUserName": "jdoe"})
    assert payload["onBehalfOfUserName"] == "jdoe"


async def test_cancelling_someone_elses_request_is_a_security_error(client: httpx.AsyncClient) -> None:
    await ok(client, "createRequest", {"processName": "EXPENSE_CLAIM"})  # requested by wfgen_admin
    message = await refused(client, "cancelRequest", {"number": 2, "onBehalfOfUserName": "jdoe"}, "FORBIDDEN")
    assert "jdoe" in message
    assert (await read_request(client, 2))["status"] == "OPEN"


# -- completeAction ----------------------------------------------------------------------------------------------


async def test_completing_approval_closes_the_action_and_the_request(client: httpx.AsyncClient) -> None:
    payload = await ok(
        client,
        "completeAction",
        {
            "requestNumber": 1,
            "number": 1,
            "clientMutationId": "done",
            "parameters": [{"name": "REASON", "textValue": "Approved"}],
        },
    )
    action = payload["action"]
    assert (action["id"], action["number"], action["requestNumber"]) == (gid("Action:1---1"), 1, 1)
    assert action["status"] == "CLOSED"
    assert action["closedAt"] is not None
    assert payload["clientMutationId"] == "done"
    request = await read_request(client, 1)
    assert (request["status"], request["subStatus"]) == ("CLOSED", "CLOSED_COMPLETED")
    assert request["closedAt"] == action["closedAt"]
    assert dataset(request)["REASON"]["textValue"] == "Approved"
    assert "not open" in await refused(client, "completeAction", {"id": gid("Action:1---1")}, "BAD_USER_INPUT")


async def test_closed_at_follows_the_sandbox_clock(client: httpx.AsyncClient) -> None:
    ten_days = 10 * 86400
    await client.post("/_control/clock", json={"advance_s": ten_days})
    payload = await ok(client, "completeAction", {"id": gid("Action:1---1")})
    closed_at = datetime.fromisoformat(payload["action"]["closedAt"]).timestamp()
    assert abs(closed_at - (time.time() + ten_days)) < 60


async def test_a_delegated_user_completing_anothers_action_gets_a_security_error(client: httpx.AsyncClient) -> None:
    message = await refused(
        client, "completeAction", {"requestNumber": 1, "number": 1, "onBehalfOf": gid("User:2")}, "FORBIDDEN"
    )
    assert "jdoe" in message
    assert (await read_request(client, 1))["status"] == "OPEN"


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        ({"requestNumber": 1, "number": 5}, "NOT_FOUND", "action 5"),
        ({"requestNumber": 8, "number": 1}, "NOT_FOUND", "request 8"),
        ({"id": gid("Action:1---9")}, "NOT_FOUND", "action 9"),
        ({"requestNumber": 1}, "BAD_USER_INPUT", "go together"),
        ({}, "BAD_USER_INPUT", "required"),
        ({"id": gid("Action:1---1"), "requestNumber": 2, "number": 1}, "BAD_USER_INPUT", "different"),
        ({"id": gid("Request:1")}, "BAD_USER_INPUT", "Action id"),
        ({"id": gid("Action:1---1"), "parameters": [{"name": "NOPE", "textValue": "x"}]}, "BAD_USER_INPUT", "NOPE"),
    ],
)
async def test_complete_action_refusals(client: httpx.AsyncClient, data: dict[str, Any], code: str, named: str) -> None:
    assert named in await refused(client, "completeAction", data, code)


# -- cancelAction ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "sub_status"), [("CANCEL", "CLOSED_CANCELLED"), ("ERROR", "CLOSED_ABORTED")])
async def test_cancel_action_follows_its_cancel_or_exception_transition(
    client: httpx.AsyncClient, kind: str, sub_status: str
) -> None:
    payload = await ok(
        client,
        "cancelAction",
        {"id": gid("Action:1---1"), "type": kind, "exception": {"message": "Stopped", "source": "ERP"}},
    )
    assert payload["action"]["status"] == "CLOSED"
    request = await read_request(client, 1)
    assert request["actions"]["items"][0]["subStatus"] == sub_status
    assert request["subStatus"] == sub_status


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        ({"id": gid("Action:1---1"), "type": "ABORT"}, "BAD_USER_INPUT", "ABORT"),
        ({"id": gid("Action:1---1"), "exception": "boom"}, "BAD_USER_INPUT", "exception"),
        ({"id": gid("Action:1---1"), "onBehalfOfUserName": "jdoe"}, "FORBIDDEN", "jdoe"),
        ({"requestNumber": 3, "number": 1}, "NOT_FOUND", "request 3"),
    ],
)
async def test_cancel_action_refusals(client: httpx.AsyncClient, data: dict[str, Any], code: str, named: str) -> None:
    assert named in await refused(client, "cancelAction", data, code)


async def test_cancelling_a_closed_action_is_refused(client: httpx.AsyncClient) -> None:
    await ok(client, "completeAction", {"id": gid("Action:1---1")})
    assert "not open" in await refused(client, "cancelAction", {"id": gid("Action:1---1")}, "BAD_USER_INPUT")


# -- assignAction and cancelActionAssignment ---------------------------------------------------------------------


async def test_an_action_assigned_to_jdoe_can_be_completed_on_jdoes_behalf(client: httpx.AsyncClient) -> None:
    payload = await ok(client, "assignAction", {"requestNumber": 1, "number": 1, "assigneeUserName": "jdoe"})
    assert payload["action"]["assignee"] == {"id": gid("User:2"), "userName": "jdoe"}
    done = await ok(client, "completeAction", {"requestNumber": 1, "number": 1, "onBehalfOfUserName": "jdoe"})
    assert done["action"]["status"] == "CLOSED"
    assert done["onBehalfOfUserName"] == "jdoe"


async def test_assign_action_by_assignee_id(client: httpx.AsyncClient) -> None:
    payload = await ok(client, "assignAction", {"id": gid("Action:1---1"), "assigneeId": gid("User:2")})
    assert payload["action"]["assignee"]["userName"] == "jdoe"


@pytest.mark.parametrize(
    ("data", "code", "named"),
    [
        ({"id": gid("Action:1---1"), "assigneeUserName": "ghost"}, "NOT_FOUND", "ghost"),
        ({"id": gid("Action:1---1")}, "BAD_USER_INPUT", "assigneeUserName or assigneeId"),
        (
            {"id": gid("Action:1---1"), "assigneeUserName": "jdoe", "assigneeId": gid("User:1")},
            "BAD_USER_INPUT",
            "different users",
        ),
        ({"id": gid("Action:1---1"), "assigneeUserName": "jdoe", "onBehalfOfUserName": "jdoe"}, "FORBIDDEN", "jdoe"),
    ],
)
async def test_assign_action_refusals(client: httpx.AsyncClient, data: dict[str, Any], code: str, named: str) -> None:
    assert named in await refused(client, "assignAction", data, code)


async def test_cancel_action_assignment_leaves_the_action_unassigned(client: httpx.AsyncClient) -> None:
    payload = await ok(client, "cancelActionAssignment", {"id": gid("Action:1---1"), "clientMutationId": "x"})
    assert payload == {"action": payload["action"], "clientMutationId": "x"}
    assert payload["action"]["assignee"] is None
    assert (await read_request(client, 1))["actions"]["items"][0]["assignee"] is None
    message = await refused(client, "cancelActionAssignment", {"id": gid("Action:1---1")}, "BAD_USER_INPUT")
    assert "not assigned" in message


async def test_cancel_action_assignment_refuses_delegation(client: httpx.AsyncClient) -> None:
    data = {"id": gid("Action:1---1"), "onBehalfOf": gid("User:1")}
    assert "delegation" in await refused(client, "cancelActionAssignment", data, "BAD_USER_INPUT")


# -- the envelope and the application user -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"operation": "deleteEverything", "args": {"input": {}}}, "deleteEverything"),
        ({"operation": "createRequest"}, "args"),
        ({"operation": "createRequest", "args": {"processName": "EXPENSE_CLAIM"}}, "args"),
        ({"operation": "createRequest", "args": {"input": []}}, "input"),
        ([1, 2], "operation"),
    ],
)
async def test_a_malformed_envelope_is_refused(client: httpx.AsyncClient, body: Any, named: str) -> None:
    response = await client.post(HOOK, json=body)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert named in error["message"]


async def test_a_body_that_is_not_json_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(HOOK, content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_ordinary_impersonate_user_gets_security_errors(client: httpx.AsyncClient) -> None:
    await client.post("/_control/options", json={"workflowgen.impersonate_username": "jdoe"})
    await refused(client, "completeAction", {"id": gid("Action:1---1")}, "FORBIDDEN")
    # jdoe still may launch requests, and becomes their requester.
    await ok(client, "createRequest", {"processName": "EXPENSE_CLAIM"})
    assert (await read_request(client, 2))["requester"]["userName"] == "jdoe"


# -- GraphQL reads -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", [None, ("wfgen_admin", "wrong"), ("jdoe", "sandbox")])
async def test_graphql_without_the_right_basic_credentials_is_401(
    client: httpx.AsyncClient, auth: tuple[str, str] | None
) -> None:
    query = {"query": "{ viewer { userName } }"}
    response = await (client.post(GRAPHQL, json=query) if auth is None else client.post(GRAPHQL, json=query, auth=auth))
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def alias_errors(body: dict[str, Any]) -> dict[str, str]:
    """The ``extensions.code`` of each error, by the alias its ``path`` names."""
    return {error["path"][0]: error["extensions"]["code"] for error in body.get("errors", [])}


async def test_aliased_batch_answers_each_alias_on_its_own(client: httpx.AsyncClient) -> None:
    body = await gql(
        client,
        "{ r1: request(number: 1) { number status } r2: request(number: 7) { number }"
        " a1: action(requestNumber: 1, number: 1) { number } a2: action(requestNumber: 1, number: 4) { number }"
        " a3: action(requestNumber: 9, number: 1) { number } }",
    )
    assert body["data"] == {
        "r1": {"number": 1, "status": "OPEN"},
        "r2": None,
        "a1": {"number": 1},
        "a2": None,
        "a3": None,
    }
    assert alias_errors(body) == {"r2": "NOT_FOUND", "a2": "NOT_FOUND", "a3": "NOT_FOUND"}
    assert [e["message"] for e in body["errors"]] == [
        "request 7 does not exist",
        "action 4 of request 1 does not exist",
        "request 9 does not exist",
    ]


async def test_request_and_action_by_global_id(client: httpx.AsyncClient) -> None:
    query = """query($r: ID, $a: ID) {
      request(id: $r) { number }
      action(id: $a) { number name requestNumber request { id } assignee { id userName } }
      byNumbers: action(requestNumber: 1, number: 1) { id }
      missing: action(requestNumber: 1, number: 4) { id }
    }"""
    body = await gql(client, query, {"r": gid("Request:1"), "a": gid("Action:1---1")})
    data = body["data"]
    assert data["request"] == {"number": 1}
    assert data["action"] == {
        "number": 1,
        "name": "APPROVAL",
        "requestNumber": 1,
        "request": {"id": gid("Request:1")},
        "assignee": {"id": gid("User:1"), "userName": "wfgen_admin"},
    }
    assert data["byNumbers"] == {"id": gid("Action:1---1")}
    assert data["missing"] is None
    assert alias_errors(body) == {"missing": "NOT_FOUND"}


async def test_a_malformed_global_id_is_a_field_error_beside_other_data(client: httpx.AsyncClient) -> None:
    body = await gql(client, '{ bad: request(id: "Zm9v") { number } good: request(number: 1) { number } }')
    assert body["data"] == {"bad": None, "good": {"number": 1}}
    (error,) = body["errors"]
    assert error["path"] == ["bad"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_requests_pages_and_filters(client: httpx.AsyncClient) -> None:
    for _ in range(4):
        await ok(client, "createRequest", {"processName": "EXPENSE_CLAIM"})
    await ok(client, "completeAction", {"requestNumber": 2, "number": 1})
    query = """query($page: PageInput, $filter: RequestFilterInput) {
      requests(page: $page, filter: $filter) { totalCount hasNextPage items { number status } }
    }"""
    first = (await gql(client, query, {"page": {"number": 1, "size": 2}}))["data"]["requests"]
    assert first == {
        "totalCount": 5,
        "hasNextPage": True,
        "items": [{"number": 1, "status": "OPEN"}, {"number": 2, "status": "CLOSED"}],
    }
    last = (await gql(client, query, {"page": {"number": 3, "size": 2}}))["data"]["requests"]
    assert (last["hasNextPage"], [i["number"] for i in last["items"]]) == (False, [5])
    open_only = (await gql(client, query, {"filter": {"status": "OPEN", "processName": "EXPENSE_CLAIM"}}))["data"]
    assert [i["number"] for i in open_only["requests"]["items"]] == [1, 3, 4, 5]
    other = (await gql(client, query, {"filter": {"processName": "LEAVE"}}))["data"]["requests"]
    assert other == {"totalCount": 0, "hasNextPage": False, "items": []}


async def test_a_bad_page_size_is_an_error(client: httpx.AsyncClient) -> None:
    body = await gql(client, "{ requests(page: {size: 0}) { totalCount } }")
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_an_impersonated_ordinary_user_sees_only_their_requests(client: httpx.AsyncClient) -> None:
    await ok(client, "createRequest", {"processName": "EXPENSE_CLAIM"})  # wfgen_admin's, assigned to wfgen_admin
    query = (
        "{ viewer { userName } requests { totalCount items { number } } r2: request(number: 2) { number }"
        " a2: action(requestNumber: 2, number: 1) { number } }"
    )
    body = await gql(client, query, user="jdoe")
    assert body["data"] == {
        "viewer": {"userName": "jdoe"},
        "requests": {"totalCount": 1, "items": [{"number": 1}]},
        "r2": None,
        "a2": None,
    }
    assert alias_errors(body) == {"r2": "FORBIDDEN", "a2": "FORBIDDEN"}


async def test_an_unknown_impersonated_user_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        GRAPHQL, json={"query": "{ viewer { id } }"}, auth=ADMIN, headers={"x-wfgen-impersonate-username": "ghost"}
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [{"query": "{ nope }"}, {"query": "{ request(number: 1) { "}, {}, {"query": "mutation { x }"}],
)
async def test_a_document_that_cannot_run_is_a_400(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post(GRAPHQL, json=body, auth=ADMIN)
    assert response.status_code == 400
    assert response.json()["errors"]
    assert "data" not in response.json()


# -- switches ----------------------------------------------------------------------------------------------------


async def test_reset_restores_the_seed(client: httpx.AsyncClient) -> None:
    await ok(client, "createRequest", {"processName": "EXPENSE_CLAIM"})
    await ok(client, "completeAction", {"id": gid("Action:1---1")})
    assert (await client.post("/_control/reset")).status_code == 204
    body = await gql(client, "{ r1: request(number: 1) { status } r2: request(number: 2) { number } }")
    assert body["data"] == {"r1": {"status": "OPEN"}, "r2": None}
    assert (await client.get("/_control/calls")).json()["workflowgen"] == {"POST /wfgen/graphql": 1}


async def test_an_injected_fault_answers_the_graphql_style_error_body(client: httpx.AsyncClient) -> None:
    await client.post("/_control/faults", json={"target": "workflowgen", "status": 503})
    response = await hook(client, "createRequest", {"processName": "EXPENSE_CLAIM"})
    assert response.status_code == 503
    assert response.json() == workflowgen.error_body(503)
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


async def test_state_changes_are_announced_to_listeners() -> None:
    app = workflowgen.create_app(Control())
    events: list[tuple[str, dict[str, Any]]] = []
    app.state.workflowgen.subscribe(lambda event, data: events.append((event, data)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wfg") as client:
        response = await client.post(
            f"/wfgen/hooks/{TOKEN}",
            json={"operation": "completeAction", "args": {"input": {"requestNumber": 1, "number": 1}}},
        )
    assert response.status_code == 200
    assert [event for event, _ in events] == ["action.closed", "request.closed"]
    assert events[0][1] == {"requestNumber": 1, "actionNumber": 1, "subStatus": "CLOSED_COMPLETED"}
