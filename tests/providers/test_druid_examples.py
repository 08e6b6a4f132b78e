"""DRUID's example corpus (``examples/druid``), replayed two ways: each request as is against the sandbox over real
HTTP (documented status, ABP envelope), and each example answer through the adapter, served by a transport that
answers it as DRUID would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.errors import HookgateError
from gateway.providers.druid.adapter import AUTHENTICATE_PATH, DruidAdapter
from tests.support.adapters import MakeAdapter
from tests.support.examples import at, corpus, named, shape_errors
from tests.support.sandbox import Sandbox

CORPUS = corpus("druid")
SCHEMAS: dict[str, Any] = CORPUS["schemas"]
FLOW = {"channelId": "web", "targetUserMasterId": "user-1"}
OK = {"result": {}, "targetUrl": None, "success": True, "error": None, "unAuthorizedRequest": False, "__abp": True}


@pytest.mark.parametrize("exchange", named(CORPUS["exchanges"]))
async def test_each_example_request_gets_the_documented_status_and_shape(
    sandbox: Sandbox, exchange: dict[str, Any]
) -> None:
    request = exchange["request"]
    headers = {"Authorization": "Bearer sandbox-druid-token"} if request.get("auth") == "token" else {}
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/druid", headers=headers) as client:
        response = await client.request(request["method"], request["path"], json=request.get("body"))
    assert response.status_code in exchange["status"], response.text
    if "schema" not in exchange:
        return
    body = response.json()
    assert shape_errors(body, exchange["schema"], SCHEMAS) == []
    for path, expected in exchange.get("equals", {}).items():
        assert at(body, path) == expected, path
    for path in exchange.get("has", ()):
        assert at(body, path)
    if exchange.get("error_is_text"):
        # [doc] the reason is a string naming what is wrong, never the password sent.
        assert isinstance(body["error"], str)
        assert body["error"]
        assert "wrong" not in body["error"]


@pytest.mark.parametrize("example", named(CORPUS["answers"]))
async def test_each_example_answer_parses(make_adapter: MakeAdapter, example: dict[str, Any]) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.url.path.endswith(AUTHENTICATE_PATH):
            if example["call"] == "login":
                return httpx.Response(example["status"], json=example["body"])
            return httpx.Response(404, json={**OK, "success": False, "error": "no login expected"})
        if example["call"] == "start":
            return httpx.Response(example["status"], json=example["body"])
        return httpx.Response(200, json=OK)

    token = "sandbox-druid-token" if example["call"] == "start" else None
    adapter: DruidAdapter = make_adapter("druid", transport=httpx.MockTransport(answer), token=token, retries=0)
    reason = example.get("reason")
    if reason is None:
        result = await adapter.start_flow("bot-1", FLOW)
        if example["call"] == "login":
            access = example["body"]["result"]["accessToken"]
            assert sent[-1].headers["authorization"] == f"Bearer {access}"
        else:
            assert result == example["body"]["result"]
        return
    with pytest.raises(HookgateError) as caught:
        await adapter.start_flow("bot-1", FLOW)
    # The user sees DRUID's reason, not only the status.
    assert reason in caught.value.message
    assert caught.value.code in ("UPSTREAM_ERROR", "UPSTREAM_UNAUTHENTICATED", "UNAUTHENTICATED")
