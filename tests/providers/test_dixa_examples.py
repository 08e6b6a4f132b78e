"""Dixa's example corpus (``examples/dixa``), replayed two ways: each request as is against the sandbox over real
HTTP (documented status, answer of the documented shape), and each example answer through the adapter, served by a
transport that answers it as Dixa would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.domain.records import WebhookFilter
from gateway.providers.dixa.adapter import DixaAdapter
from tests.support.adapters import MakeAdapter
from tests.support.examples import at, corpus, named, shape_errors
from tests.support.sandbox import Sandbox

CORPUS = corpus("dixa")
SCHEMAS: dict[str, Any] = CORPUS["schemas"]
KEYS = {None: "sandbox-dixa-key", "wrong": "not-the-key"}
#: The subscription of the document's examples.
SUBSCRIPTION = "cb452b81-6748-40ab-af85-6559b371bc5d"


@pytest.mark.parametrize("exchange", named(CORPUS["exchanges"]))
async def test_each_example_request_gets_the_documented_status_and_shape(
    sandbox: Sandbox, exchange: dict[str, Any]
) -> None:
    request = exchange["request"]
    headers = {"Authorization": KEYS[request.get("auth")]}
    async with httpx.AsyncClient(base_url=f"{sandbox.url}/dixa", headers=headers) as client:
        response = await client.request(request["method"], request["path"], json=request.get("body"))
    assert response.status_code in exchange["status"], response.text
    if "schema" not in exchange:
        assert response.content == b""
        return
    body = response.json()
    shape = exchange.get("data")
    if shape is None:
        answer = body
        assert shape_errors(body, exchange["schema"], SCHEMAS) == []
    else:
        assert set(body) <= {"data", "meta"}
        answer = body["data"]
        items = answer if shape == "list" else [answer]
        assert isinstance(items, list)
        assert items
        assert [e for item in items for e in shape_errors(item, exchange["schema"], SCHEMAS)] == []
    for path, expected in exchange.get("equals", {}).items():
        assert at(answer, path) == expected, path


def _serving(path: str, body: Any) -> httpx.MockTransport:
    """Dixa as far as one example goes: ``body`` at ``path``, 404 ``{"message"}`` elsewhere."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(path):
            return httpx.Response(200, json=body)
        return httpx.Response(404, json={"message": "The requested resource could not be found"})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("example", named(CORPUS["answers"]))
async def test_each_example_answer_parses(make_adapter: MakeAdapter, example: dict[str, Any]) -> None:
    adapter: DixaAdapter = make_adapter("dixa", transport=_serving(example["path"], example["body"]))
    data = example["body"]["data"]
    if example["call"] in ("get", "list"):
        items = [data] if example["call"] == "get" else data
        if example["call"] == "get":
            records = await adapter.get_webhooks([data["id"]])
        else:
            records = list(await adapter.list_webhooks(WebhookFilter()))
        assert len(records) == len(items)
        for record, item in zip(records, items, strict=True):
            assert record is not None
            assert (record.provider_id, record.url, record.name) == (item["id"], item["url"], item["name"])
            assert (record.created_by, record.updated_by) == (item["createdBy"], item["updatedBy"])
            assert record.events == tuple(item.get("subscribedEvents") or ())
            assert record.created_at is not None
            assert record.has_secret is True
            assert item["secretKey"] not in repr(record)
    elif example["call"] == "statuses":
        statuses = await adapter.delivery_statuses(SUBSCRIPTION)
        assert statuses is not None
        assert [s.event for s in statuses] == [item["event"] for item in data]
        assert [s.last_delivery is not None for s in statuses] == [True, False]
    elif example["call"] == "log":
        log = await adapter.delivery_log(SUBSCRIPTION, "ConversationCreated", 10)
        assert log is not None
        assert len(log) == len(data)
        assert log[0].payload["event_fqn"] == "CONVERSATION_CREATED"
    else:
        pytest.fail(f"no check for {example['call']}")
