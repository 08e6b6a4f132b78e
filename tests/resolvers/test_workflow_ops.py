"""WorkflowGen mutations end to end: the real server, a real GraphQL client, the WorkflowGen simulator.

Every error path checks the code, the field or cause it names, and that the simulator's state did not change (and,
for the gateway's own validation, that no write went upstream at all).
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from gateway.config import sandbox_sources
from schema.types import action_id, request_id
from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error, wfg_snapshot, writes
from tests.support.sandbox import Sandbox

REQUEST = """id number processName status
  dataset { name textValue numericValue dateTimeValue fileValue { name contentType size description } }
  actions { id number name status assignee { userName } }"""
ACTION = "id number requestNumber name status closedAt assignee { id userName } request { number status }"

CREATE = f"""mutation($input: CreateRequestInput!) {{
  createRequest(input: $input) {{
    clientMutationId onBehalfOf {{ id userName }} onBehalfOfUserName request {{ {REQUEST} }}
  }}
}}"""
UPDATE = f"""mutation($input: UpdateRequestDatasetInput!) {{
  updateRequestDataset(input: $input) {{ clientMutationId request {{ {REQUEST} }} }}
}}"""
CANCEL_REQUEST = f"""mutation($input: CancelRequestInput!) {{
  cancelRequest(input: $input) {{ clientMutationId onBehalfOfUserName request {{ {REQUEST} }} }}
}}"""


def action_mutation(name: str, input_type: str) -> str:
    return f"""mutation($input: {input_type}!) {{
  {name}(input: $input) {{ clientMutationId onBehalfOf {{ id userName }} onBehalfOfUserName action {{ {ACTION} }} }}
}}"""


COMPLETE = action_mutation("completeAction", "CompleteActionInput")
CANCEL_ACTION = action_mutation("cancelAction", "CancelActionInput")
ASSIGN = action_mutation("assignAction", "AssignActionInput")
UNASSIGN = action_mutation("cancelActionAssignment", "CancelActionAssignmentInput")

PDF = b"%PDF-1.4 a receipt"
ALL_KINDS = [
    {"name": "AMOUNT", "numericValue": 42.5},
    {"name": "REASON", "textValue": "Taxi"},
    {"name": "DUE", "dateTimeValue": "2024-03-01T12:00:00+00:00"},
    {
        "name": "RECEIPT",
        "fileValue": {
            "name": "taxi.pdf",
            "contentType": "application/pdf",
            "content": base64.b64encode(PDF).decode(),
            "description": "Taxi receipt",
        },
    },
]
JDOE_ID = base64.b64encode(b"User:2").decode()  # WorkflowGen's own id of jdoe, as WorkflowUser.id shows it


def dataset(request: dict[str, Any]) -> dict[str, Any]:
    return {d["name"]: d for d in request["dataset"]}


# -- createRequest --------------------------------------------------------------------------------------------------


async def test_create_request_with_all_four_kinds_of_parameter(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    result = await gql(
        shared_gateway,
        CREATE,
        {"input": {"processName": "EXPENSE_CLAIM", "parameters": ALL_KINDS, "clientMutationId": "c1"}},
    )
    payload = data(result)["createRequest"]
    assert payload["clientMutationId"] == "c1"
    assert payload["onBehalfOf"] is None
    request = payload["request"]
    assert request["id"] == request_id("workflowgen", 2)
    assert (request["number"], request["processName"], request["status"]) == (2, "EXPENSE_CLAIM", "OPEN")
    values = dataset(request)
    assert values["AMOUNT"]["numericValue"] == 42.5
    assert values["REASON"]["textValue"] == "Taxi"
    assert values["DUE"]["dateTimeValue"].startswith("2024-03-01T12:00:00")
    assert values["RECEIPT"]["fileValue"] == {
        "name": "taxi.pdf",
        "contentType": "application/pdf",
        "size": len(PDF),
        "description": "Taxi receipt",
    }
    assert [(a["name"], a["status"], a["assignee"]["userName"]) for a in request["actions"]] == [
        ("APPROVAL", "OPEN", "wfgen_admin")
    ]
    stored = sandbox.state("workflowgen").requests[2]
    assert stored.dataset["RECEIPT"].value.content == PDF
    assert writes(sandbox, "workflowgen") == {"POST /wfgen/hooks/{token}": 1}


@pytest.mark.parametrize(
    "delegation",
    [{"onBehalfOfUserName": "jdoe"}, {"onBehalfOf": JDOE_ID}],
    ids=["by-user-name", "by-id"],
)
async def test_create_request_on_behalf_of_another_user(
    shared_gateway: Gateway, sandbox: Sandbox, delegation: dict[str, str]
) -> None:
    result = await gql(shared_gateway, CREATE, {"input": {"processName": "EXPENSE_CLAIM", **delegation}})
    payload = data(result)["createRequest"]
    assert payload["onBehalfOfUserName"] == "jdoe"
    assert payload["onBehalfOf"] == {"id": JDOE_ID, "userName": "jdoe"}
    assert sandbox.state("workflowgen").requests[2].requester_id == 2


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        (
            [{"name": "REASON", "textValue": "x"}, {"name": "AMOUNT", "numericValue": 1, "textValue": "1"}],
            "parameters[1]",
        ),
        ([{"name": "REASON"}], "parameters[0]"),
        ([{"name": "REASON", "textValue": "a"}, {"name": "REASON", "textValue": "b"}], "parameters[1]"),
        (
            [{"name": "RECEIPT", "fileValue": {"name": "a.pdf", "content": "QQ==", "url": "file:///tmp/a.pdf"}}],
            "parameters[0].fileValue",
        ),
        ([{"name": "RECEIPT", "fileValue": {"name": "a.pdf"}}], "parameters[0].fileValue"),
        (
            [{"name": "RECEIPT", "fileValue": {"name": "a.pdf", "content": "not base64!"}}],
            "parameters[0].fileValue.content",
        ),
        (
            [{"name": "RECEIPT", "fileValue": {"name": "a.pdf", "url": "https://x/a.pdf"}}],
            "parameters[0].fileValue.url",
        ),
    ],
    ids=["two-values", "no-value", "twice", "content-and-url", "neither-content-nor-url", "bad-base64", "not-file-url"],
)
async def test_bad_parameters_are_refused_before_any_call(
    shared_gateway: Gateway, sandbox: Sandbox, parameters: list[dict[str, Any]], field: str
) -> None:
    before = wfg_snapshot(sandbox)
    sandbox.clear_calls()
    result = await gql(shared_gateway, CREATE, {"input": {"processName": "EXPENSE_CLAIM", "parameters": parameters}})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert field in error["message"]
    assert sandbox.total_calls("workflowgen") == 0
    assert wfg_snapshot(sandbox) == before


@pytest.mark.parametrize(
    ("input", "code", "cause"),
    [
        ({"processName": "NO_SUCH_PROCESS"}, "NOT_FOUND", "NO_SUCH_PROCESS"),
        (
            {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "COLOUR", "textValue": "red"}]},
            "BAD_USER_INPUT",
            "COLOUR",
        ),
        (
            {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "AMOUNT", "textValue": "12"}]},
            "BAD_USER_INPUT",
            "AMOUNT",
        ),
        ({"processName": "EXPENSE_CLAIM", "onBehalfOfUserName": "nobody"}, "NOT_FOUND", "nobody"),
    ],
    ids=["unknown-process", "unknown-parameter", "wrong-type", "unknown-delegate"],
)
async def test_workflowgen_refusals_are_coded_and_name_the_cause(
    shared_gateway: Gateway, sandbox: Sandbox, input: dict[str, Any], code: str, cause: str
) -> None:
    before = wfg_snapshot(sandbox)
    result = await gql(shared_gateway, CREATE, {"input": input})
    assert result.data is None
    error = only_error(result)
    assert error["extensions"]["code"] == code
    assert (error["extensions"]["source"], error["extensions"]["provider"]) == ("workflowgen", "WORKFLOWGEN")
    assert cause in error["message"]
    assert wfg_snapshot(sandbox) == before


async def test_delegation_id_that_is_not_a_user_id_is_refused_before_any_call(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    sandbox.clear_calls()
    result = await gql(shared_gateway, CREATE, {"input": {"processName": "EXPENSE_CLAIM", "onBehalfOf": "nope"}})
    error = only_error(result)
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "onBehalfOf")
    assert sandbox.total_calls("workflowgen") == 0


# -- updateRequestDataset, cancelRequest ----------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["number", "id"])
async def test_update_request_dataset_by_number_or_id(shared_gateway: Gateway, sandbox: Sandbox, address: str) -> None:
    target = {"number": 1} if address == "number" else {"id": request_id("workflowgen", 1)}
    parameters = [{"name": "REASON", "textValue": "Team dinner"}, {"name": "AMOUNT", "numericValue": 99}]
    result = await gql(shared_gateway, UPDATE, {"input": {**target, "parameters": parameters, "clientMutationId": "u"}})
    payload = data(result)["updateRequestDataset"]
    assert payload["clientMutationId"] == "u"
    values = dataset(payload["request"])
    assert (values["REASON"]["textValue"], values["AMOUNT"]["numericValue"]) == ("Team dinner", 99.0)
    assert sandbox.state("workflowgen").requests[1].dataset["REASON"].value == "Team dinner"


@pytest.mark.parametrize(
    ("query", "input", "field"),
    [
        (UPDATE, {"number": 1, "parameters": [], "onBehalfOfUserName": "jdoe"}, "onBehalfOfUserName"),
        (UPDATE, {"number": 1, "parameters": [], "onBehalfOf": JDOE_ID}, "onBehalfOf"),
        (UNASSIGN, {"requestNumber": 1, "number": 1, "onBehalfOfUserName": "jdoe"}, "onBehalfOfUserName"),
        (UNASSIGN, {"requestNumber": 1, "number": 1, "onBehalfOf": JDOE_ID}, "onBehalfOf"),
    ],
    ids=["update-by-name", "update-by-id", "unassign-by-name", "unassign-by-id"],
)
async def test_delegation_where_workflowgen_has_none_is_refused_naming_the_field(
    shared_gateway: Gateway, sandbox: Sandbox, query: str, input: dict[str, Any], field: str
) -> None:
    before = wfg_snapshot(sandbox)
    sandbox.clear_calls()
    result = await gql(shared_gateway, query, {"input": input})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"'{field}'" in error["message"]
    assert sandbox.total_calls("workflowgen") == 0
    assert wfg_snapshot(sandbox) == before


async def test_cancel_request_closes_it_and_a_second_cancel_is_refused(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    gid = request_id("workflowgen", 1)
    result = await gql(
        shared_gateway, CANCEL_REQUEST, {"input": {"id": gid, "notifyParticipant": True, "clientMutationId": "x"}}
    )
    payload = data(result)["cancelRequest"]
    assert payload["clientMutationId"] == "x"
    assert payload["request"]["status"] == "CLOSED"
    assert [a["status"] for a in payload["request"]["actions"]] == ["CLOSED"]
    before = wfg_snapshot(sandbox)
    again = await gql(shared_gateway, CANCEL_REQUEST, {"input": {"number": 1}})
    error = only_error(again)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not open" in error["message"]
    assert wfg_snapshot(sandbox) == before


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"number": 1, "id": request_id("workflowgen", 1)}, "id"),
        ({}, "number"),
        ({"id": action_id("workflowgen", 1, 1)}, "id"),
        ({"id": "garbage"}, "id"),
    ],
    ids=["both", "neither", "wrong-type", "not-an-id"],
)
async def test_request_address_errors_make_no_call(
    shared_gateway: Gateway, sandbox: Sandbox, input: dict[str, Any], field: str
) -> None:
    sandbox.clear_calls()
    error = only_error(await gql(shared_gateway, CANCEL_REQUEST, {"input": input}))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field)
    assert sandbox.total_calls("workflowgen") == 0


# -- actions --------------------------------------------------------------------------------------------------------


async def test_complete_action_answers_with_the_action_closed(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    variables = {
        "input": {
            "requestNumber": 1,
            "number": 1,
            "parameters": [{"name": "REASON", "textValue": "Approved"}],
            "clientMutationId": "done",
        }
    }
    payload = data(await gql(shared_gateway, COMPLETE, variables))["completeAction"]
    assert payload["clientMutationId"] == "done"
    action = payload["action"]
    assert (action["id"], action["status"], action["requestNumber"]) == (action_id("workflowgen", 1, 1), "CLOSED", 1)
    assert action["closedAt"] is not None
    assert action["request"] == {"number": 1, "status": "CLOSED"}
    stored = sandbox.state("workflowgen").requests[1]
    assert stored.dataset["REASON"].value == "Approved"
    assert stored.actions[0].sub_status == "CLOSED_COMPLETED"


async def test_completing_a_closed_action_is_refused_and_changes_nothing(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    data(await gql(shared_gateway, COMPLETE, {"input": {"id": action_id("workflowgen", 1, 1)}}))
    before = wfg_snapshot(sandbox)
    error = only_error(await gql(shared_gateway, COMPLETE, {"input": {"id": action_id("workflowgen", 1, 1)}}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "is not open" in error["message"]
    assert wfg_snapshot(sandbox) == before


async def test_complete_action_on_behalf_of_someone_without_rights_is_forbidden(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    before = wfg_snapshot(sandbox)
    result = await gql(
        shared_gateway, COMPLETE, {"input": {"requestNumber": 1, "number": 1, "onBehalfOfUserName": "jdoe"}}
    )
    error = only_error(result)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "jdoe" in error["message"]
    assert wfg_snapshot(sandbox) == before


async def test_impersonated_user_without_rights_is_forbidden(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.options(**{"workflowgen.impersonate_username": "jdoe"})
    before = wfg_snapshot(sandbox)
    error = only_error(await gql(shared_gateway, CANCEL_ACTION, {"input": {"requestNumber": 1, "number": 1}}))
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert wfg_snapshot(sandbox) == before


async def test_cancel_action_through_its_exception_transition(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    variables = {
        "input": {
            "requestNumber": 1,
            "number": 1,
            "type": "ERROR",
            "exception": {"message": "Budget frozen", "source": "finance"},
        }
    }
    payload = data(await gql(shared_gateway, CANCEL_ACTION, variables))["cancelAction"]
    assert payload["action"]["status"] == "CLOSED"
    stored = sandbox.state("workflowgen").requests[1].actions[0]
    assert stored.sub_status == "CLOSED_ABORTED"
    assert stored.exception == {"message": "Budget frozen", "source": "finance"}


async def test_assign_action_by_user_name_then_by_id_then_unassign(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    by_name = data(
        await gql(shared_gateway, ASSIGN, {"input": {"requestNumber": 1, "number": 1, "assigneeUserName": "jdoe"}})
    )
    assert by_name["assignAction"]["action"]["assignee"] == {"id": JDOE_ID, "userName": "jdoe"}
    admin_id = base64.b64encode(b"User:1").decode()
    variables = {"input": {"id": action_id("workflowgen", 1, 1), "assigneeId": admin_id, "clientMutationId": "a"}}
    by_id = data(await gql(shared_gateway, ASSIGN, variables))["assignAction"]
    assert by_id["clientMutationId"] == "a"
    assert by_id["action"]["assignee"]["userName"] == "wfgen_admin"
    unassigned = data(await gql(shared_gateway, UNASSIGN, {"input": {"requestNumber": 1, "number": 1}}))
    assert unassigned["cancelActionAssignment"]["action"]["assignee"] is None
    assert sandbox.state("workflowgen").requests[1].actions[0].assignee_id is None
    before = wfg_snapshot(sandbox)
    again = only_error(await gql(shared_gateway, UNASSIGN, {"input": {"requestNumber": 1, "number": 1}}))
    assert again["extensions"]["code"] == "BAD_USER_INPUT"
    assert "not assigned" in again["message"]
    assert wfg_snapshot(sandbox) == before


@pytest.mark.parametrize(
    ("input", "field"),
    [
        ({"requestNumber": 1, "number": 1}, "assigneeUserName"),
        ({"requestNumber": 1, "number": 1, "assigneeUserName": "jdoe", "assigneeId": JDOE_ID}, "assigneeId"),
        ({"requestNumber": 1, "number": 1, "assigneeId": "not-a-user"}, "assigneeId"),
        ({"requestNumber": 1, "assigneeUserName": "jdoe"}, "number"),
        ({"id": request_id("workflowgen", 1), "assigneeUserName": "jdoe"}, "id"),
    ],
    ids=["no-assignee", "both-assignees", "bad-assignee-id", "half-address", "request-id-for-action"],
)
async def test_assign_action_input_errors_make_no_call(
    shared_gateway: Gateway, sandbox: Sandbox, input: dict[str, Any], field: str
) -> None:
    sandbox.clear_calls()
    error = only_error(await gql(shared_gateway, ASSIGN, {"input": input}))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field)
    assert sandbox.total_calls("workflowgen") == 0


async def test_assign_to_an_unknown_user_is_not_found(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    before = wfg_snapshot(sandbox)
    error = only_error(
        await gql(shared_gateway, ASSIGN, {"input": {"requestNumber": 1, "number": 1, "assigneeUserName": "x"}})
    )
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert wfg_snapshot(sandbox) == before


async def test_unknown_action_is_not_found(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    before = wfg_snapshot(sandbox)
    error = only_error(await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": 1, "number": 7}}))
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "action 7" in error["message"]
    assert wfg_snapshot(sandbox) == before


async def test_a_failed_read_back_still_reports_the_write(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    """The write succeeded: the payload says so (ids and numbers), and the read's failure is reported beside it."""
    from sandbox import workflowgen

    original = workflowgen.QueryRoot.action

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("read broke")

    workflowgen.QueryRoot.action = failing  # type: ignore[method-assign]
    try:
        result = await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": 1, "number": 1}})
    finally:
        workflowgen.QueryRoot.action = original  # type: ignore[method-assign]
    assert result.data is not None
    action = result.data["completeAction"]["action"]
    assert (action["id"], action["number"], action["status"]) == (action_id("workflowgen", 1, 1), 1, None)
    error = only_error(result)
    assert error["path"] == ["completeAction", "action"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR"
    assert "write succeeded" in error["message"]
    assert sandbox.state("workflowgen").requests[1].actions[0].status == "CLOSED"


async def test_a_read_back_refused_for_its_key_still_reports_the_write(gateway_factory: Any, sandbox: Sandbox) -> None:
    """WorkflowGen refuses to show the new request to the gateway's GraphQL user: that key's FORBIDDEN is reported
    at the payload's field, beside the write's identity, and the write is not retried."""
    sources = sandbox_sources(sandbox.url)
    sources["workflowgen"]["impersonate_username"] = "jdoe"  # reads as jdoe; the hook still writes as wfgen_admin
    gateway = gateway_factory(sources=sources)

    result = await gql(gateway, CREATE, {"input": {"processName": "EXPENSE_CLAIM"}})

    assert result.data is not None
    request = result.data["createRequest"]["request"]
    assert (request["id"], request["number"], request["status"]) == (request_id("workflowgen", 2), 2, None)
    error = only_error(result)
    assert error["path"] == ["createRequest", "request"]
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert "write succeeded" in error["message"]
    assert writes(sandbox, "workflowgen") == {"POST /wfgen/hooks/{token}": 1}
    assert 2 in sandbox.state("workflowgen").requests
