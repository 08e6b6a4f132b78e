"""Completing a web-form action (EFORMASPX) end to end: a real GraphQL client, the served gateway, the WorkflowGen
simulator's form process ``PURCHASE_REQUEST`` (its first action ``FILL_FORM`` is a web form).

``completeAction(input: {form: {fields}})`` is sent as the FILE parameter ``FORM_DATA`` holding the form's dataset
as .NET DataSet XML; the simulator maps the fields to process data as the action's OUT parameters would, and the
updated data reads back through ``request { dataset }``. The refusals name the field and send nothing.
"""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error, wfg_snapshot, writes
from tests.support.sandbox import Sandbox

COMPLETE = """mutation ($input: CompleteActionInput!) {
  completeAction(input: $input) {
    action { number name status request { number status
      dataset { name textValue numericValue dateTimeValue fileValue { name contentType size } } } }
  }
}"""
CREATE = "mutation ($p: String!) { createRequest(input: {processName: $p}) { request { number } } }"
REQUEST = """query ($n: Int!) { request(number: $n) { status
  dataset { name textValue numericValue dateTimeValue fileValue { name contentType size } } } }"""


async def _open_form_request(gateway: Gateway) -> int:
    result = await gql(gateway, CREATE, {"p": "PURCHASE_REQUEST"})
    return int(data(result)["createRequest"]["request"]["number"])


def _dataset(request: dict[str, Any]) -> dict[str, Any]:
    return {d["name"]: d for d in request["dataset"]}


async def test_completing_a_form_action_writes_the_mapped_data(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    number = await _open_form_request(shared_gateway)
    reason = 'Chairs & desks <for "B" wing> ]]> café'
    fields = [
        {"name": "REQUEST_AMOUNT", "value": "1250.5"},
        {"name": "REQUEST_REASON", "value": reason},
        {"name": "REQUEST_DATE", "value": "2024-03-01T09:00:00Z"},
        {"name": "APPROVER_NOTE", "value": "kept in the form only"},
    ]
    result = await gql(
        shared_gateway, COMPLETE, {"input": {"requestNumber": number, "number": 1, "form": {"fields": fields}}}
    )
    action = data(result)["completeAction"]["action"]
    assert (action["name"], action["status"], action["request"]["status"]) == ("FILL_FORM", "CLOSED", "CLOSED")
    dataset = _dataset(action["request"])
    assert dataset["REQUEST_AMOUNT"]["numericValue"] == 1250.5
    assert dataset["REQUEST_REASON"]["textValue"] == reason
    assert dataset["REQUEST_DATE"]["dateTimeValue"].startswith("2024-03-01T09:00:00")
    form_file = dataset["FORM_DATA"]["fileValue"]
    assert (form_file["name"], form_file["contentType"]) == ("FORM_DATA.xml", "text/xml")
    # A second read, fresh, says the same.
    again = data(await gql(shared_gateway, REQUEST, {"n": number}))["request"]
    assert _dataset(again)["REQUEST_AMOUNT"]["numericValue"] == 1250.5
    # What WorkflowGen holds is the DataSet XML, escaped, with every field (mapped or not) in Table1's one row.
    stored = sandbox.state("workflowgen").requests[number].dataset["FORM_DATA"].value
    assert stored.size == len(stored.content) == form_file["size"]
    root = ET.fromstring(stored.content)  # noqa: S314 - our own bytes, read back
    assert root.tag == "NewDataSet"
    (row,) = list(root)
    assert row.tag == "Table1"
    assert {child.tag: child.text for child in row} == {f["name"]: f["value"] for f in fields}


async def test_a_form_and_parameters_go_together_and_a_null_value_is_left_out(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    number = await _open_form_request(shared_gateway)
    form = {"table": "Form", "fields": [{"name": "REQUEST_REASON", "value": None}, {"name": "REQUEST_AMOUNT"}]}
    parameters = [{"name": "REQUEST_REASON", "textValue": "given as a parameter"}]
    variables = {"input": {"requestNumber": number, "number": 1, "form": form, "parameters": parameters}}
    dataset = _dataset(data(await gql(shared_gateway, COMPLETE, variables))["completeAction"]["action"]["request"])
    assert dataset["REQUEST_REASON"]["textValue"] == "given as a parameter"
    assert dataset["REQUEST_AMOUNT"]["numericValue"] is None
    stored = sandbox.state("workflowgen").requests[number].dataset["FORM_DATA"].value
    assert ET.fromstring(stored.content)[0].tag == "Form"  # noqa: S314
    assert len(ET.fromstring(stored.content)[0]) == 0  # noqa: S314 - both values null: no element


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"fields": [{"name": "1ST_FIELD", "value": "x"}]}, "form.fields[0].name"),
        ({"fields": [{"name": "A", "value": "x"}, {"name": "REQUEST AMOUNT", "value": "x"}]}, "form.fields[1].name"),
        ({"fields": [{"name": "<x>", "value": "x"}]}, "form.fields[0].name"),
        ({"fields": [{"name": "ns:FIELD", "value": "x"}]}, "form.fields[0].name"),
        ({"fields": [{"name": "A", "value": "x"}, {"name": "A", "value": "y"}]}, "form.fields[1].name"),
        ({"fields": [{"name": "A", "value": "bell \u0007"}]}, "form.fields[0].value"),
        ({"fields": []}, "form.fields"),
        ({"table": "Table 1", "fields": [{"name": "A", "value": "x"}]}, "form.table"),
    ],
    ids=["digit-first", "space", "markup", "prefixed", "twice", "control-character", "no-fields", "bad-table"],
)
async def test_a_bad_form_is_refused_naming_the_field(
    shared_gateway: Gateway, sandbox: Sandbox, form: dict[str, Any], field: str
) -> None:
    number = await _open_form_request(shared_gateway)
    before = wfg_snapshot(sandbox)
    sandbox.clear_calls()
    result = await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": number, "number": 1, "form": form}})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert sandbox.total_calls("workflowgen") == 0
    assert wfg_snapshot(sandbox) == before


async def test_form_and_a_form_data_parameter_together_are_refused(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    number = await _open_form_request(shared_gateway)
    sandbox.clear_calls()
    file_value = {"name": "FORM_DATA.xml", "content": base64.b64encode(b"<NewDataSet/>").decode()}
    variables = {
        "input": {
            "requestNumber": number,
            "number": 1,
            "form": {"fields": [{"name": "REQUEST_REASON", "value": "x"}]},
            "parameters": [{"name": "FORM_DATA", "fileValue": file_value}],
        }
    }
    error = only_error(await gql(shared_gateway, COMPLETE, variables))
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "form", "reason": "FORM_GIVEN_TWICE"}
    assert sandbox.total_calls("workflowgen") == 0


async def test_a_web_form_action_completed_without_its_form_is_refused(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    number = await _open_form_request(shared_gateway)
    before = wfg_snapshot(sandbox)
    result = await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": number, "number": 1}})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (error["extensions"]["reason"], error["extensions"]["field"]) == ("FORM_REQUIRED", "form")
    assert "FORM_DATA" in error["message"]
    assert "web form" in error["message"]
    assert wfg_snapshot(sandbox) == before


async def test_a_form_for_an_action_that_is_no_web_form_is_refused_by_workflowgen(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    # EXPENSE_CLAIM has no FORM_DATA data: WorkflowGen refuses the parameter as any unknown one; the gateway points
    # the refusal at `form`, which the caller gave.
    before = wfg_snapshot(sandbox)
    form = {"fields": [{"name": "REASON", "value": "x"}]}
    error = only_error(await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": 1, "number": 1, "form": form}}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["reason"] == "UNKNOWN_PARAMETER"
    assert error["extensions"]["field"] == "form"
    assert "FORM_DATA" in error["message"]
    assert wfg_snapshot(sandbox) == before
    assert writes(sandbox, "workflowgen") == {"POST /wfgen/hooks/{token}": 1}  # sent once, refused upstream


async def test_a_form_value_the_data_cannot_take_is_refused_by_workflowgen(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    number = await _open_form_request(shared_gateway)
    before = wfg_snapshot(sandbox)
    form = {"fields": [{"name": "REQUEST_AMOUNT", "value": "a lot"}]}
    result = await gql(shared_gateway, COMPLETE, {"input": {"requestNumber": number, "number": 1, "form": form}})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "REQUEST_AMOUNT" in error["message"]
    assert wfg_snapshot(sandbox) == before
