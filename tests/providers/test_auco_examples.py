"""Auco's example corpus (``examples/auco``), replayed two ways: each request as is against the sandbox over real
HTTP (documented status, answer of the documented shape), and each example company through the adapter, served by a
transport that answers it as Auco would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.domain.records import WebhookFilter
from gateway.providers.auco.adapter import AucoAdapter
from gateway.providers.auco.catalogue import CATALOGUE
from tests.support.adapters import MakeAdapter
from tests.support.examples import at, corpus, named, shape_errors
from tests.support.sandbox import Sandbox

CORPUS = corpus("auco")
SCHEMAS: dict[str, Any] = CORPUS["schemas"]
KEYS = {"public": "puk_sandbox", "private": "prk_sandbox"}


@pytest.mark.parametrize("exchange", named(CORPUS["exchanges"]))
async def test_each_example_request_gets_the_documented_status_and_shape(
    sandbox: Sandbox, exchange: dict[str, Any]
) -> None:
    request = exchange["request"]
    auth = request.get("auth")
    headers = {"Authorization": KEYS[auth]} if auth is not None else {}
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/auco", headers=headers) as client:
        response = await client.request(request["method"], request["path"], json=request.get("body"))
    assert response.status_code in exchange["status"], response.text
    body = response.json()
    assert shape_errors(body, exchange["schema"], SCHEMAS) == []
    if exchange["schema"] == "Company":
        assert [e for hook in body["webhooks"] for e in shape_errors(hook, "Webhook", SCHEMAS)] == []
    for path, expected in exchange.get("equals", {}).items():
        assert at(body, path) == expected, path


@pytest.mark.parametrize("example", named(CORPUS["answers"]))
async def test_each_example_answer_parses(make_adapter: MakeAdapter, example: dict[str, Any]) -> None:
    company = example["body"]

    def answer(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path.rsplit("/", 1)[-1]) == ("GET", "company")
        return httpx.Response(200, json=company)

    adapter: AucoAdapter = make_adapter("auco", transport=httpx.MockTransport(answer))
    records = await adapter.list_webhooks(WebhookFilter())
    assert [r.provider_id for r in records] == [hook["id"] for hook in company["webhooks"]]
    for record, hook in zip(records, company["webhooks"], strict=True):
        assert (record.url, record.name) == (hook.get("url", ""), hook["description"])
        # Only default receives every notification [doc]; another, those of documents that list it.
        assert record.subscribe_to_all_events is (hook["id"] == "default")
        assert record.events == (() if hook["id"] == "default" else tuple(name for name, _ in CATALOGUE))
        assert record.authorization_type == ("HEADER" if "header" in hook else "NONE")
        assert "Bearer ..." not in repr(record)
