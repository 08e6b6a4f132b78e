"""File uploads over the GraphQL multipart request spec, end to end: real clients (gql over httpx and over aiohttp, and
a multipart body written by hand as the spec's examples write it) against a served gateway, the WorkflowGen
simulator behind it holding exactly the uploaded bytes.

The refusals are coded 400s that send nothing upstream: no preflight header (the CSRF rule), two of
content/url/upload, a map that leads nowhere, a file part the map names but the body lacks, a body over the cap.
"""

from __future__ import annotations

import base64
import io
import logging
import os
import uuid
from typing import Any

import httpx
import orjson
import pytest
from gql import Client, FileVar
from gql.graphql_request import GraphQLRequest
from gql.transport.aiohttp import AIOHTTPTransport
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport

from tests.support.gateway import Gateway, GatewayFactory
from tests.support.operations import writes
from tests.support.sandbox import Sandbox

CREATE = """mutation ($input: CreateRequestInput!) {
  createRequest(input: $input) {
    request { number dataset { name fileValue { name contentType size } } }
  }
}"""
PREFLIGHT = {"Apollo-Require-Preflight": "true"}
PDF = b"%PDF-1.4\n" + os.urandom(3000) + b"\n%%EOF"


def _create_with_upload(file_input: dict[str, Any] | None = None) -> dict[str, Any]:
    file_value = {"name": "receipt.pdf", "upload": None, **(file_input or {})}
    return {"input": {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "RECEIPT", "fileValue": file_value}]}}


def _stored(sandbox: Sandbox, number: int) -> Any:
    """The RECEIPT file WorkflowGen holds for request ``number``."""
    return sandbox.state("workflowgen").requests[number].dataset["RECEIPT"].value


def _receipt(payload: dict[str, Any]) -> dict[str, Any]:
    dataset = {d["name"]: d for d in payload["createRequest"]["request"]["dataset"]}
    return dataset["RECEIPT"]["fileValue"]  # type: ignore[no-any-return]


async def _gql_upload(transport: Any, variables: dict[str, Any]) -> dict[str, Any]:
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        request = GraphQLRequest(CREATE, variable_values=variables)
        result = await session.execute(request, upload_files=True)
    assert isinstance(result, dict)
    return result


def _multipart(operations: Any, files_map: Any, files: dict[str, tuple[str, bytes, str]]) -> dict[str, Any]:
    """httpx keyword arguments for a body written as the spec's examples write it: operations, map, then files."""
    return {
        "data": {
            "operations": operations if isinstance(operations, str) else orjson.dumps(operations).decode(),
            "map": files_map if isinstance(files_map, str) else orjson.dumps(files_map).decode(),
        },
        "files": files,
    }


# -- real clients ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["httpx", "aiohttp"])
async def test_gql_uploads_a_file_into_create_request(gateway: Gateway, sandbox: Sandbox, client: str) -> None:
    transport_class = HTTPXAsyncTransport if client == "httpx" else AIOHTTPTransport
    transport = transport_class(url=gateway.graphql_url, headers=PREFLIGHT, timeout=30)
    upload = FileVar(io.BytesIO(PDF), filename="scan.pdf", content_type="application/pdf")
    variables = _create_with_upload({"upload": upload})
    payload = await _gql_upload(transport, variables)
    number = payload["createRequest"]["request"]["number"]
    assert _receipt(payload) == {"name": "receipt.pdf", "contentType": "application/pdf", "size": len(PDF)}
    stored = _stored(sandbox, number)
    assert stored.content == PDF  # exactly the bytes uploaded, sent to WorkflowGen as base64 JSON
    assert (stored.name, stored.content_type, stored.size) == ("receipt.pdf", "application/pdf", len(PDF))


async def test_an_upload_through_stock_execution(gateway_factory: GatewayFactory, sandbox: Sandbox) -> None:
    stock = gateway_factory(execution={"fast": False})
    transport = HTTPXAsyncTransport(url=stock.graphql_url, headers=PREFLIGHT, timeout=30)
    upload = FileVar(io.BytesIO(PDF), filename="scan.pdf", content_type="application/pdf")
    payload = await _gql_upload(transport, _create_with_upload({"upload": upload}))
    assert _stored(sandbox, payload["createRequest"]["request"]["number"]).content == PDF


async def test_the_callers_content_type_wins_over_the_parts(gateway: Gateway, sandbox: Sandbox) -> None:
    transport = HTTPXAsyncTransport(url=gateway.graphql_url, headers={"GraphQL-Preflight": "1"}, timeout=30)
    upload = FileVar(io.BytesIO(b"a,b\n1,2\n"), filename="rows.csv", content_type="application/octet-stream")
    payload = await _gql_upload(transport, _create_with_upload({"upload": upload, "contentType": "text/csv"}))
    assert _receipt(payload)["contentType"] == "text/csv"
    assert _stored(sandbox, payload["createRequest"]["request"]["number"]).content == b"a,b\n1,2\n"


def test_a_multipart_request_written_by_hand_as_the_spec_shows(gateway: Gateway, sandbox: Sandbox) -> None:
    # The spec's "single file" example: operations with a null placeholder, map {"0": ["variables.file"]}, part "0".
    operations = {
        "query": 'mutation ($file: Upload!) { createRequest(input: {processName: "EXPENSE_CLAIM", parameters: '
        '[{name: "RECEIPT", fileValue: {name: "a.txt", upload: $file}}]}) { request { number } } }',
        "variables": {"file": None},
    }
    answer = httpx.post(
        gateway.graphql_url,
        headers={"X-Apollo-Operation-Name": "upload"},
        timeout=30,
        **_multipart(operations, {"0": ["variables.file"]}, {"0": ("a.txt", b"Alpha file content.\n", "text/plain")}),
    )
    assert answer.status_code == 200, answer.text
    number = answer.json()["data"]["createRequest"]["request"]["number"]
    stored = _stored(sandbox, number)
    assert (stored.content, stored.content_type, stored.size) == (b"Alpha file content.\n", "text/plain", 20)


def test_an_upload_where_the_schema_takes_none_is_refused_by_validation(gateway: Gateway, sandbox: Sandbox) -> None:
    # The spec's "file list" shape, on a variable the schema does not type `Upload`: refused before anything is sent.
    operations = {
        "query": 'mutation ($files: [Upload]!) { a: createRequest(input: {processName: "EXPENSE_CLAIM", '
        'parameters: [{name: "RECEIPT", fileValue: {name: "a.txt", upload: $files}}]}) { request { number } } }',
        "variables": {"files": [None]},
    }
    answer = httpx.post(
        gateway.graphql_url,
        headers=PREFLIGHT,
        timeout=30,
        **_multipart(operations, {"0": ["variables.files.0"]}, {"0": ("a.txt", b"list item", "text/plain")}),
    )
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert writes(sandbox, "workflowgen") == {}


# -- refusals -------------------------------------------------------------------------------------------------------


def _raw_upload(gateway: Gateway, headers: dict[str, str], files_map: Any = None, **files: Any) -> httpx.Response:
    operations = {
        "query": 'mutation ($file: Upload) { createRequest(input: {processName: "EXPENSE_CLAIM", parameters: '
        '[{name: "RECEIPT", fileValue: {name: "a.txt", upload: $file}}]}) { request { number } } }',
        "variables": {"file": None},
    }
    parts = files or {"0": ("a.txt", b"hello", "text/plain")}
    chosen_map = {"0": ["variables.file"]} if files_map is None else files_map
    return httpx.post(gateway.graphql_url, headers=headers, timeout=30, **_multipart(operations, chosen_map, parts))


def test_a_multipart_request_without_a_preflight_header_is_refused(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    answer = _raw_upload(gateway, {})
    assert answer.status_code == 400
    error = answer.json()["errors"][0]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "reason": "PREFLIGHT_HEADER_REQUIRED", "field": "headers"}
    assert "Apollo-Require-Preflight" in error["message"]
    assert sandbox.total_calls("workflowgen") == 0  # nothing sent upstream, not even a read
    # An empty header is no proof either.
    assert _raw_upload(gateway, {"Apollo-Require-Preflight": ""}).status_code == 400
    assert sandbox.total_calls("workflowgen") == 0


@pytest.mark.parametrize(
    ("files_map", "files", "field", "reason"),
    [
        ({"0": ["variables.nothing"]}, None, "map.0", "INVALID_MULTIPART_REQUEST"),
        ({"0": ["variables.file.deeper"]}, None, "map.0", "INVALID_MULTIPART_REQUEST"),
        ({"0": ["query"]}, None, "map.0", "INVALID_MULTIPART_REQUEST"),
        ({"0": "variables.file"}, None, "map", "INVALID_MULTIPART_REQUEST"),
        ("not json", None, "map", "INVALID_MULTIPART_REQUEST"),
        ({"1": ["variables.file"]}, None, "map.1", "FILE_PART_MISSING"),
    ],
    ids=["no-such-variable", "past-a-leaf", "not-variables", "paths-not-a-list", "map-not-json", "part-missing"],
)
def test_a_map_that_does_not_fit_is_a_coded_400(
    gateway: Gateway, sandbox: Sandbox, files_map: Any, files: Any, field: str, reason: str
) -> None:
    sandbox.clear_calls()
    answer = _raw_upload(gateway, PREFLIGHT, files_map, **(files or {}))
    assert answer.status_code == 400, answer.text
    extensions = answer.json()["errors"][0]["extensions"]
    assert extensions == {"code": "BAD_USER_INPUT", "field": field, "reason": reason}
    assert sandbox.total_calls("workflowgen") == 0


def test_operations_missing_or_batched_is_a_coded_400(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    only_map = httpx.post(
        gateway.graphql_url, headers=PREFLIGHT, data={"map": "{}"}, files={"0": ("a", b"x")}, timeout=30
    )
    assert only_map.status_code == 400
    assert only_map.json()["errors"][0]["extensions"]["field"] == "operations"
    batched = httpx.post(
        gateway.graphql_url,
        headers=PREFLIGHT,
        timeout=30,
        **_multipart([{"query": "{ sources { name } }"}], {}, {"0": ("a", b"x", "text/plain")}),
    )
    assert batched.status_code == 400
    assert "batched" in batched.json()["errors"][0]["message"]
    assert sandbox.total_calls("workflowgen") == 0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"no boundary"),
        ("multipart/form-data; boundary=xyz", b"not multipart at all"),
        ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\nx\r\n--xyz--\r\n"),
    ],
    ids=["no-boundary", "no-parts", "part-without-name"],
)
async def test_a_body_that_is_no_multipart_body_is_a_coded_400(
    any_gateway: Gateway, sandbox: Sandbox, content_type: str, body: bytes
) -> None:
    sandbox.clear_calls()
    async with any_gateway.http() as client:
        answer = await client.post("/graphql", content=body, headers={"content-type": content_type, **PREFLIGHT})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "field": "body",
        "reason": "INVALID_MULTIPART_REQUEST",
    }
    assert sandbox.total_calls("workflowgen") == 0


async def test_two_of_content_url_and_upload_is_refused_naming_the_field(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    transport = HTTPXAsyncTransport(url=gateway.graphql_url, headers=PREFLIGHT, timeout=30)
    upload = FileVar(io.BytesIO(b"bytes"), filename="a.txt", content_type="text/plain")
    variables = _create_with_upload({"upload": upload, "content": base64.b64encode(b"other").decode()})
    with pytest.raises(TransportQueryError) as raised:
        await _gql_upload(transport, variables)
    (error,) = raised.value.errors or []
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "parameters[0].fileValue"
    assert "exactly one of content (base64), url and upload" in error["message"]
    assert sandbox.total_calls("workflowgen") == 0


def test_an_upload_given_as_json_is_not_a_file(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    answer = httpx.post(
        gateway.graphql_url, json={"query": CREATE, "variables": _create_with_upload({"upload": "aGVsbG8="})}
    )
    error = answer.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == "parameters[0].fileValue.upload"
    assert sandbox.total_calls("workflowgen") == 0


def test_an_upload_over_the_body_cap_is_413(gateway_factory: GatewayFactory, sandbox: Sandbox) -> None:
    small = gateway_factory(limits={"max_body_bytes": 4096})
    sandbox.clear_calls()
    answer = _raw_upload(small, PREFLIGHT, None, **{"0": ("big.bin", os.urandom(8192), "application/octet-stream")})
    assert answer.status_code == 413
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

    # Without a Content-Length (chunked), the cap is met while the form is read: 413 too, never a 500.
    def chunks() -> Any:
        boundary = "hookgateboundary"
        operations = orjson.dumps({"query": "{ sources { name } }", "variables": {}})
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations.decode()}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{{}}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        for _ in range(4):
            yield os.urandom(4096)
        yield f"\r\n--{boundary}--\r\n".encode()

    streamed = httpx.post(
        small.graphql_url,
        content=chunks(),
        headers={**PREFLIGHT, "content-type": "multipart/form-data; boundary=hookgateboundary"},
        timeout=30,
    )
    assert streamed.status_code == 413
    assert sandbox.total_calls("workflowgen") == 0


def test_query_limits_hold_for_a_multipart_request(gateway_factory: GatewayFactory, sandbox: Sandbox) -> None:
    shallow = gateway_factory(limits={"max_depth": 1})
    sandbox.clear_calls()
    answer = _raw_upload(shallow, PREFLIGHT)  # createRequest { request { number } } is deeper than 1
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert sandbox.total_calls("workflowgen") == 0


async def test_file_contents_never_reach_the_logs(
    gateway: Gateway, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    marker = f"file-contents-{uuid.uuid4().hex}".encode()
    caplog.set_level(logging.DEBUG)
    transport = HTTPXAsyncTransport(url=gateway.graphql_url, headers=PREFLIGHT, timeout=30)
    upload = FileVar(io.BytesIO(marker), filename="a.txt", content_type="text/plain")
    await _gql_upload(transport, _create_with_upload({"upload": upload}))
    # A refused one too: its error must not quote the bytes either.
    bad = FileVar(io.BytesIO(marker), filename="a.txt", content_type="text/plain")
    with pytest.raises(TransportQueryError) as raised:
        await _gql_upload(transport, _create_with_upload({"upload": bad, "url": "file:///x"}))
    logged = caplog.text
    for form in (marker.decode(), base64.b64encode(marker).decode()):
        assert form not in logged
        assert form not in str(raised.value.errors)


async def test_an_idempotency_key_replays_the_same_upload_and_refuses_another(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    key = f"upload-{uuid.uuid4().hex}"
    transport = HTTPXAsyncTransport(url=gateway.graphql_url, headers={**PREFLIGHT, "Idempotency-Key": key}, timeout=30)
    first = await _gql_upload(transport, _create_with_upload({"upload": FileVar(io.BytesIO(PDF), filename="a.pdf")}))
    again = await _gql_upload(transport, _create_with_upload({"upload": FileVar(io.BytesIO(PDF), filename="a.pdf")}))
    assert again == first
    assert writes(sandbox, "workflowgen") == {"POST /wfgen/hooks/{token}": 1}
    other = FileVar(io.BytesIO(PDF + b"changed"), filename="a.pdf")
    with pytest.raises(TransportQueryError) as raised:
        await _gql_upload(transport, _create_with_upload({"upload": other}))
    assert raised.value.errors
    assert raised.value.errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert writes(sandbox, "workflowgen") == {"POST /wfgen/hooks/{token}": 1}


# -- the browser's rule ---------------------------------------------------------------------------------------------


def test_a_cross_origin_page_cannot_upload(gateway_factory: GatewayFactory, sandbox: Sandbox) -> None:
    allowed, evil = "https://app.example.com", "https://evil.example"
    gateway = gateway_factory(cors={"allow_origins": [allowed], "allow_credentials": True})
    sandbox.clear_calls()
    # What a page of any origin can send without asking: a form POST with cookies, no custom header. Refused.
    simple = _raw_upload(gateway, {"origin": evil, "cookie": "session=user"})
    assert simple.status_code == 400
    assert simple.json()["errors"][0]["extensions"]["reason"] == "PREFLIGHT_HEADER_REQUIRED"
    assert sandbox.total_calls("workflowgen") == 0
    # To add the header the browser must ask first, and only a listed origin is told yes.
    ask = {"access-control-request-method": "POST", "access-control-request-headers": "apollo-require-preflight"}
    refused = httpx.options(gateway.graphql_url, headers={"origin": evil, **ask})
    assert "access-control-allow-origin" not in refused.headers
    granted = httpx.options(gateway.graphql_url, headers={"origin": allowed, **ask})
    assert granted.status_code == 200
    assert "apollo-require-preflight" in granted.headers["access-control-allow-headers"].lower()
    for header in ("x-apollo-operation-name", "graphql-preflight"):
        asked = {**ask, "access-control-request-headers": header}
        assert httpx.options(gateway.graphql_url, headers={"origin": allowed, **asked}).status_code == 200


async def test_json_and_get_requests_are_unchanged(any_gateway: Gateway) -> None:
    # No preflight header needed for anything but multipart.
    async with any_gateway.http() as client:
        posted = await client.post("/graphql", json={"query": "{ sources { name } }"})
        got = await client.get("/graphql", params={"query": "{ sources { name } }"})
        form = await client.post("/graphql", data={"query": "{ sources { name } }"}, headers=PREFLIGHT)
    assert posted.status_code == got.status_code == 200
    assert posted.json() == got.json()
    assert form.status_code == 415  # a urlencoded form is still no GraphQL request
