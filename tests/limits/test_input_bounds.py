"""Inputs that once made INTERNAL errors, over HTTP: ids with other scripts' digits or over 4,300 digits, number
literals past ``int()``'s limit, JSON nested ~255 deep. Each is BAD_USER_INPUT naming its field, with no log line
over a few KB and nothing sent upstream."""

from __future__ import annotations

import base64
import logging
from typing import Any

import orjson
import pytest

from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

NODE = "query($id: ID!) { node(id: $id) { id } }"
LONG = "1" * 5000


def gid(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def deep(levels: int) -> Any:
    return orjson.loads("[" * levels + "]" * levels)


def deep_object(levels: int) -> Any:
    return orjson.loads('{"a":' * levels + "1" + "}" * levels)


CASES = [
    # (name, query, variables, field)
    ("request id, Arabic-Indic digits", NODE, {"id": gid("WorkflowRequest:workflowgen:\u0661\u0662")}, "id"),
    ("request id, superscript", NODE, {"id": gid("WorkflowRequest:workflowgen:\u00b2")}, "id"),
    ("request id, 5000 digits", NODE, {"id": gid(f"WorkflowRequest:workflowgen:{LONG}")}, "id"),
    ("action id, 5000 digits", NODE, {"id": gid(f"WorkflowAction:workflowgen:{LONG}-1")}, "id"),
    ("event id, superscript", NODE, {"id": gid("InboundEvent:uipath:\u00b2")}, "id"),
    ("event id, 5000 digits", NODE, {"id": gid(f"InboundEvent:uipath:{LONG}")}, "id"),
    (
        "nodes",
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        {"ids": [gid("WorkflowRequest:workflowgen:\u00b2")]},
        "ids",
    ),
    (
        "request(id:), 5000 digits",
        "query($id: ID) { request(id: $id) { id } }",
        {"id": gid(f"WorkflowRequest:workflowgen:{LONG}")},
        "id",
    ),
    (
        "action(id:), superscript",
        "query($id: ID) { action(id: $id) { id } }",
        {"id": gid("WorkflowAction:workflowgen:\u00b2-1")},
        "id",
    ),
    (
        "cancelRequest id, 5000 digits",
        "mutation($id: ID) { cancelRequest(input: {id: $id}) { clientMutationId } }",
        {"id": gid(f"WorkflowRequest:workflowgen:{LONG}")},
        "id",
    ),
    (
        "assigneeId, Arabic-Indic digits",
        'mutation($u: ID) { assignAction(input: {source: "workflowgen", requestNumber: 1, number: 1, assigneeId: $u})'
        " { clientMutationId } }",
        {"u": gid("WorkflowUser:workflowgen:\u0661")},
        "assigneeId",
    ),
    ("Int literal, 5000 digits", f"{{ request(number: {LONG}) {{ id }} }}", {}, "number"),
    ("first literal, 5000 digits", f"{{ webhooks(first: {LONG}) {{ totalCount }} }}", {}, "first"),
    (
        "Float literal, 5000 digits",
        'mutation { createRequest(input: {processName: "EXPENSE_CLAIM", parameters: [{name: "AMOUNT", '
        f"numericValue: {LONG}}}]}}) {{ clientMutationId }} }}",
        {},
        "numericValue",
    ),
    (
        "JSON data nested 255 deep",
        'mutation($d: JSON!) { notifyAgentConnected(input: {source: "druid", botId: "bot-1", data: $d})'
        " { clientMutationId } }",
        {"d": deep(255)},
        "data",
    ),
    (
        "JSON object nested 255 deep inside an input variable",
        "mutation($i: ConversationSignalInput!) { notifyAttendedRobot(input: $i) { clientMutationId } }",
        {"i": {"source": "druid", "botId": "bot-1", "data": deep_object(255)}},
        "data",
    ),
    (
        "customHeaders nested 255 deep",
        'mutation($h: JSON) { createWebhook(input: {source: "dixa", url: "https://example.com/x", name: "n",'
        " customHeaders: $h}) { webhook { id } } }",
        {"h": deep_object(255)},
        "customHeaders",
    ),
]


@pytest.mark.parametrize(("query", "variables", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_is_a_coded_user_error_naming_the_field(
    gateway: Gateway,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    query: str,
    variables: dict[str, Any],
    field: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.clear_calls()
    response = gateway.post(query, variables)
    body = response.json()
    assert response.status_code == 200, body
    [error] = body["errors"]
    assert (error["extensions"]["code"], error["extensions"].get("field")) == ("BAD_USER_INPUT", field), error
    assert len(error["message"]) < 300
    assert sum(sum(routes.values()) for routes in sandbox.calls().values()) == 0
    formatter = logging.Formatter()
    sizes = [len(formatter.format(record)) for record in caplog.records]
    assert max(sizes, default=0) < 4096
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_json_inputs_of_ordinary_depth_still_pass(gateway: Gateway, sandbox: Sandbox) -> None:
    query = (
        'mutation($d: JSON!) { notifyAgentConnected(input: {source: "druid", botId: "bot-1", data: $d})'
        " { clientMutationId } }"
    )
    response = gateway.post(query, {"d": deep_object(60)})
    assert "errors" not in response.json(), response.json()
    assert sandbox.calls()["druid"].get("POST /api/Druid/{botId}/MediatelAgentConnected") == 1
