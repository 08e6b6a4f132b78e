"""The Auco simulator answers as Auco's company API does (providers.md §5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sandbox.app import create_sandbox_app

COMPANY = "/auco/v1.5/ext/company"
READ = {"Authorization": "puk_sandbox"}
WRITE = {"Authorization": "prk_sandbox"}
UNAUTHENTICATED = {"message": "Invalid or missing authentication"}
DEFAULT = {
    "id": "default",
    "description": "Webhook principal",
    "url": "https://miempresa.com/webhooks/auco",
    "header": {"key": "X-Auco-Token", "value": "sandbox-auco-token"},
}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_sandbox_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


async def company(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(COMPANY, headers=READ)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def put(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.put(COMPANY, json=body, headers=WRITE)


# --- auth -----------------------------------------------------------------------------------------------------------


async def test_public_key_reads_the_documented_company(client: httpx.AsyncClient) -> None:
    body = await company(client)
    assert set(body) == {"id", "name", "webhooks", "uxOptions", "image", "webhook", "webhookHeader"}
    assert (body["id"], body["name"]) == ("61ba073970df523d9d232a27", "Auco")
    assert [hook["id"] for hook in body["webhooks"]] == ["default", "Billing"]
    assert body["webhooks"][0] == DEFAULT
    assert (body["webhook"], body["webhookHeader"]) == ("", {})


async def test_private_key_may_read_too(client: httpx.AsyncClient) -> None:
    response = await client.get(COMPANY, headers=WRITE)
    assert response.status_code == 200
    assert response.json() == await company(client)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "puk_other"}, {"Authorization": "Bearer puk_sandbox"}, {"Authorization": "sandbox"}],
)
async def test_read_without_a_valid_key_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get(COMPANY, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


@pytest.mark.parametrize("headers", [{}, READ, {"Authorization": "Bearer prk_sandbox"}])
async def test_write_without_the_private_key_is_401_and_changes_nothing(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.put(COMPANY, json={"webhooks": [DEFAULT]}, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert len((await company(client))["webhooks"]) == 2


# --- PUT --------------------------------------------------------------------------------------------------------


async def test_put_replaces_the_whole_webhook_list_and_answers_the_company(client: httpx.AsyncClient) -> None:
    sales = {
        "id": "Sales",
        "description": "Sales team",
        "url": "https://sales.example.com/auco",
        "header": DEFAULT["header"],
    }
    response = await put(client, {"webhooks": [DEFAULT, sales]})
    assert response.status_code == 200
    assert response.json() == await company(client)
    assert [hook["id"] for hook in response.json()["webhooks"]] == ["default", "Sales"]


async def test_put_with_only_default_drops_the_others(client: httpx.AsyncClient) -> None:
    response = await put(client, {"webhooks": [DEFAULT]})
    assert response.json()["webhooks"] == [DEFAULT]


async def test_webhook_without_header_reads_back_with_an_empty_header(client: httpx.AsyncClient) -> None:
    bare = {"id": "default", "description": "No auth", "url": "https://bare.example.com/"}
    response = await put(client, {"webhooks": [bare]})
    assert response.json()["webhooks"] == [{**bare, "header": {}}]


@pytest.mark.parametrize(
    "webhooks",
    [
        [],
        [{"id": "Billing", "description": "Billing", "url": "https://b.example.com/"}],
        [{"id": "Default", "description": "Case matters", "url": "https://b.example.com/"}],
    ],
)
async def test_list_without_default_is_refused_with_the_documented_message(
    client: httpx.AsyncClient, webhooks: list[dict[str, Any]]
) -> None:
    response = await put(client, {"webhooks": webhooks})
    assert response.status_code == 400
    assert response.json() == {"message": "Missing the 'default' webhook"}


@pytest.mark.parametrize(
    ("item", "named"),
    [
        ({"description": "no id", "url": "https://x.example.com/"}, "'id'"),
        ({"id": "", "description": "empty id", "url": "https://x.example.com/"}, "'id'"),
        ({"id": "Ops", "url": "https://x.example.com/"}, "'description'"),
        ({"id": "Ops", "description": " ", "url": "https://x.example.com/"}, "'description'"),
        ({"id": "Ops", "description": "Ops", "header": {"key": "X-Token"}}, "'value'"),
        ({"id": "Ops", "description": "Ops", "url": 5}, "'url'"),
        ({"id": "default", "description": "again"}, "Duplicate"),
    ],
)
async def test_invalid_webhook_item_is_refused_naming_what_is_wrong(
    client: httpx.AsyncClient, item: dict[str, Any], named: str
) -> None:
    response = await put(client, {"webhooks": [DEFAULT, item]})
    assert response.status_code == 400
    assert set(response.json()) == {"message"}
    assert named in response.json()["message"]


async def test_refused_put_changes_nothing(client: httpx.AsyncClient) -> None:
    before = await company(client)
    response = await put(client, {"name": "Renamed", "webhooks": [{"id": "Billing", "description": "x"}]})
    assert response.status_code == 400
    assert await company(client) == before


@pytest.mark.parametrize("body", [[DEFAULT], "webhooks", {"webhooks": {"id": "default"}}])
async def test_body_of_the_wrong_shape_is_400(client: httpx.AsyncClient, body: Any) -> None:
    response = await put(client, body)
    assert response.status_code == 400
    assert set(response.json()) == {"message"}


async def test_put_without_webhooks_keeps_the_list_and_merges_ux_options(client: httpx.AsyncClient) -> None:
    response = await put(client, {"name": "Mi Empresa", "uxOptions": {"primaryColor": "#123"}})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Mi Empresa"
    assert body["uxOptions"] == {"primaryColor": "#123", "alternateColor": "#A557F2"}
    assert [hook["id"] for hook in body["webhooks"]] == ["default", "Billing"]


@pytest.mark.parametrize(
    "ux_options",
    [{"primaryColor": "#fff"}, {"primaryColor": "#FFFFFF"}, {"alternateColor": "blue"}, {"primaryColor": 3}],
)
async def test_white_or_malformed_colours_are_refused(client: httpx.AsyncClient, ux_options: dict[str, Any]) -> None:
    response = await put(client, {"uxOptions": ux_options})
    assert response.status_code == 400
    assert (await company(client))["uxOptions"] == {"primaryColor": "#021C30", "alternateColor": "#A557F2"}


async def test_unknown_path_answers_an_auco_error_body(client: httpx.AsyncClient) -> None:
    response = await client.get("/auco/v1.5/ext/company/webhooks", headers=READ)
    assert response.status_code == 404
    assert set(response.json()) == {"message"}


# --- switches -----------------------------------------------------------------------------------------------------


async def test_injected_401_fault_answers_the_documented_body(client: httpx.AsyncClient) -> None:
    await client.post("/_control/faults", json={"target": "auco", "status": 401})
    response = await client.get(COMPANY, headers=READ)
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED


async def test_fault_rate_fails_only_some_requests(client: httpx.AsyncClient) -> None:
    await client.post("/_control/faults", json={"target": "auco", "status": 502, "rate": 0.5})
    statuses = {(await client.get(COMPANY, headers=READ)).status_code for _ in range(30)}
    assert statuses == {200, 502}


async def test_calls_are_counted_per_method_and_route(client: httpx.AsyncClient) -> None:
    await company(client)
    await company(client)
    await put(client, {"webhooks": [DEFAULT]})
    calls = (await client.get("/_control/calls")).json()["auco"]
    assert calls == {"GET /v1.5/ext/company": 2, "PUT /v1.5/ext/company": 1}


async def test_reset_restores_the_seed_company(client: httpx.AsyncClient) -> None:
    await put(client, {"name": "Changed", "webhooks": [DEFAULT]})
    assert (await client.post("/_control/reset")).status_code == 204
    body = await company(client)
    assert body["name"] == "Auco"
    assert [hook["id"] for hook in body["webhooks"]] == ["default", "Billing"]
