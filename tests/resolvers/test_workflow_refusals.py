"""WorkflowGen's refusals carry a machine-readable ``reason`` and the input ``field`` at fault.

WorkflowGen answers a refused operation with a message and a code only; a client cannot switch on a message. Each
case runs through the real server against the WorkflowGen simulator, and nothing changes upstream.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from sandbox.workflowgen.model import User
from schema.types import action_id, request_id
from tests.resolvers.test_workflow_ops import ASSIGN, CANCEL_ACTION, CANCEL_REQUEST, COMPLETE, CREATE, UNASSIGN, UPDATE
from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error, wfg_snapshot
from tests.support.sandbox import Sandbox


def close_request_one(sandbox: Sandbox) -> None:
    """Request 1 and its action, closed as WorkflowGen closes them when the action completes."""
    state = sandbox.state("workflowgen")
    state.complete_action(state.action(1, 1), state.user_by_name("wfgen_admin"), [])


CLOSED = [
    (COMPLETE, {"id": action_id("workflowgen", 1, 1)}, "ACTION_NOT_OPEN", "id"),
    (COMPLETE, {"requestNumber": 1, "number": 1}, "ACTION_NOT_OPEN", "number"),
    (CANCEL_ACTION, {"requestNumber": 1, "number": 1}, "ACTION_NOT_OPEN", "number"),
    (ASSIGN, {"id": action_id("workflowgen", 1, 1), "assigneeUserName": "jdoe"}, "ACTION_NOT_OPEN", "id"),
    (CANCEL_REQUEST, {"number": 1}, "REQUEST_NOT_OPEN", "number"),
    (
        UPDATE,
        {"id": request_id("workflowgen", 1), "parameters": [{"name": "REASON", "textValue": "late"}]},
        "REQUEST_NOT_OPEN",
        "id",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "input", "reason", "field"),
    CLOSED,
    ids=["complete-by-id", "complete-by-number", "cancel-action", "assign", "cancel-request", "update-dataset"],
)
async def test_an_operation_on_a_closed_request_or_action_says_so(
    shared_gateway: Gateway, sandbox: Sandbox, mutation: str, input: dict[str, Any], reason: str, field: str
) -> None:
    close_request_one(sandbox)
    before = wfg_snapshot(sandbox)
    error = only_error(await gql(shared_gateway, mutation, {"input": input}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (error["extensions"]["reason"], error["extensions"]["field"]) == (reason, field)
    assert (error["extensions"]["source"], error["extensions"]["provider"]) == ("workflowgen", "WORKFLOWGEN")
    assert "is not open" in error["message"]
    assert wfg_snapshot(sandbox) == before


@pytest.mark.parametrize(
    ("input", "code", "reason", "field"),
    [
        (
            {
                "processName": "EXPENSE_CLAIM",
                "parameters": [{"name": "REASON", "textValue": "Taxi"}, {"name": "COLOUR", "textValue": "red"}],
            },
            "BAD_USER_INPUT",
            "UNKNOWN_PARAMETER",
            "parameters[1]",
        ),
        (
            {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "AMOUNT", "textValue": "12"}]},
            "BAD_USER_INPUT",
            "PARAMETER_TYPE_MISMATCH",
            "parameters[0]",
        ),
        ({"processName": "NO_SUCH_PROCESS"}, "NOT_FOUND", "PROCESS_NOT_FOUND", "processName"),
        (
            {"processName": "EXPENSE_CLAIM", "processVersion": 9},
            "NOT_FOUND",
            "PROCESS_VERSION_NOT_FOUND",
            "processVersion",
        ),
        (
            {"processName": "EXPENSE_CLAIM", "onBehalfOfUserName": "nobody"},
            "NOT_FOUND",
            "USER_NOT_FOUND",
            "onBehalfOfUserName",
        ),
    ],
    ids=["unknown-parameter", "wrong-type", "unknown-process", "unknown-version", "unknown-delegate"],
)
async def test_a_refused_launch_names_the_reason_and_the_field(
    shared_gateway: Gateway, sandbox: Sandbox, input: dict[str, Any], code: str, reason: str, field: str
) -> None:
    before = wfg_snapshot(sandbox)
    error = only_error(await gql(shared_gateway, CREATE, {"input": input}))
    assert (error["extensions"]["code"], error["extensions"]["reason"]) == (code, reason)
    assert error["extensions"]["field"] == field
    assert wfg_snapshot(sandbox) == before


async def test_assigning_to_someone_who_is_not_a_participant_names_the_assignee(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    sandbox.state("workflowgen").users[3] = User(3, "outsider")
    before = wfg_snapshot(sandbox)
    input = {"requestNumber": 1, "number": 1, "assigneeUserName": "outsider"}
    error = only_error(await gql(shared_gateway, ASSIGN, {"input": input}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (error["extensions"]["reason"], error["extensions"]["field"]) == ("NOT_A_PARTICIPANT", "assigneeUserName")
    unknown = only_error(await gql(shared_gateway, ASSIGN, {"input": {**input, "assigneeUserName": "nobody"}}))
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    assert (unknown["extensions"]["reason"], unknown["extensions"]["field"]) == ("USER_NOT_FOUND", "assigneeUserName")
    assert wfg_snapshot(sandbox) == before


async def test_unassigning_an_unassigned_action_and_a_missing_transition_say_so(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    data(await gql(shared_gateway, UNASSIGN, {"input": {"requestNumber": 1, "number": 1}}))
    again = only_error(await gql(shared_gateway, UNASSIGN, {"input": {"id": action_id("workflowgen", 1, 1)}}))
    assert (again["extensions"]["reason"], again["extensions"]["field"]) == ("ACTION_NOT_ASSIGNED", "id")
    action = sandbox.state("workflowgen").action(1, 1)
    action.definition = dataclasses.replace(action.definition, cancel_transition=False)
    before = wfg_snapshot(sandbox)
    error = only_error(await gql(shared_gateway, CANCEL_ACTION, {"input": {"requestNumber": 1, "number": 1}}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (error["extensions"]["reason"], error["extensions"]["field"]) == ("NO_CANCEL_TRANSITION", "type")
    assert wfg_snapshot(sandbox) == before


async def test_an_unknown_action_names_the_address(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    missing_action = only_error(await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": 1, "number": 7}}))
    assert missing_action["extensions"]["code"] == "NOT_FOUND"
    assert (missing_action["extensions"]["reason"], missing_action["extensions"]["field"]) == (
        "ACTION_NOT_FOUND",
        "number",
    )
    missing_request = only_error(await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": 9, "number": 1}}))
    assert (missing_request["extensions"]["reason"], missing_request["extensions"]["field"]) == (
        "REQUEST_NOT_FOUND",
        "requestNumber",
    )
