"""The WorkflowGen simulator's web-form action (sandbox/workflowgen/forms.py): ``PURCHASE_REQUEST``'s first action
``FILL_FORM`` is a web form, so completing it needs ``FORM_DATA``; the dataset's fields are mapped to process data
of the same names, and a dataset with a DTD (entities, external or not) is refused, never expanded."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.app import create_sandbox_app

HOOK = "/workflowgen/wfgen/hooks/sandbox-wfgen-token"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_sandbox_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        yield client


async def _hook(client: httpx.AsyncClient, operation: str, data: dict[str, Any]) -> httpx.Response:
    return await client.post(HOOK, json={"operation": operation, "args": {"input": data}})


async def _form_request(client: httpx.AsyncClient) -> int:
    answer = await _hook(client, "createRequest", {"processName": "PURCHASE_REQUEST"})
    assert answer.status_code == 200, answer.text
    return int(answer.json()["createRequest"]["number"])


def _form_data(xml: bytes) -> dict[str, Any]:
    content = base64.b64encode(xml).decode()
    return {"name": "FORM_DATA", "fileValue": {"name": "FORM_DATA.xml", "contentType": "text/xml", "content": content}}


async def _complete(client: httpx.AsyncClient, number: int, *parameters: dict[str, Any]) -> httpx.Response:
    return await _hook(client, "completeAction", {"requestNumber": number, "number": 1, "parameters": list(parameters)})


async def test_the_forms_fields_become_process_data(client: httpx.AsyncClient) -> None:
    number = await _form_request(client)
    xml = (
        b"<NewDataSet><Table1><REQUEST_AMOUNT>99.5</REQUEST_AMOUNT><REQUEST_REASON>a &amp; b</REQUEST_REASON>"
        b"<REQUEST_DATE>2024-03-01T00:00:00</REQUEST_DATE><OTHER>x</OTHER></Table1></NewDataSet>"
    )
    answer = await _complete(client, number, _form_data(xml))
    assert answer.status_code == 200, answer.text
    read = await client.post(
        "/workflowgen/wfgen/graphql",
        auth=("wfgen_admin", "sandbox"),
        json={
            "query": f"{{ request(number: {number}) {{ dataset {{ items {{ name textValue numericValue "
            "dateTimeValue } } } }"
        },
    )
    items = {d["name"]: d for d in read.json()["data"]["request"]["dataset"]["items"]}
    assert items["REQUEST_AMOUNT"]["numericValue"] == 99.5
    assert items["REQUEST_REASON"]["textValue"] == "a & b"
    assert items["REQUEST_DATE"]["dateTimeValue"].startswith("2024-03-01T00:00:00")


async def test_a_web_form_action_needs_form_data(client: httpx.AsyncClient) -> None:
    number = await _form_request(client)
    answer = await _complete(client, number)
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'FORM_DATA' is required" in error["message"]


@pytest.mark.parametrize(
    "xml",
    [
        # Entity expansion ("billion laughs"), an external entity, and a bare DOCTYPE: all refused before any use.
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<NewDataSet><Table1><REQUEST_REASON>&b;</REQUEST_REASON></Table1></NewDataSet>",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<NewDataSet><Table1><REQUEST_REASON>&x;</REQUEST_REASON></Table1></NewDataSet>",
        b"<!DOCTYPE NewDataSet><NewDataSet><Table1><REQUEST_REASON>x</REQUEST_REASON></Table1></NewDataSet>",
        b"<NewDataSet><Table1><REQUEST_REASON>unclosed</Table1></NewDataSet>",
        b"<NewDataSet/>",
    ],
    ids=["entity-expansion", "external-entity", "doctype", "malformed", "no-row"],
)
async def test_a_dataset_that_is_no_plain_dataset_is_refused(client: httpx.AsyncClient, xml: bytes) -> None:
    number = await _form_request(client)
    answer = await _complete(client, number, _form_data(xml))
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "FORM_DATA" in error["message"]
    assert "root:" not in error["message"]  # nothing of a file on this machine
