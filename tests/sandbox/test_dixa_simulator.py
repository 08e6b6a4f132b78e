"""The Dixa simulator answers as Dixa's webhook-subscription API does (providers.md §4)."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.app import create_sandbox_app
from sandbox.control import Control
from sandbox.dixa import DASHBOARD_ID, EVENTS

AUTH = {"Authorization": "sandbox-dixa-key"}
HOOKS = "/dixa/v1/webhooks"
DASHBOARD = f"{HOOKS}/{DASHBOARD_ID}"
SUBSCRIPTION_FIELDS = {
    "id",
    "name",
    "subscribedEvents",
    "url",
    "headers",
    "secretKey",
    "enabled",
    "createdAt",
    "createdBy",
    "updatedAt",
    "updatedBy",
    "filters",
}


@pytest.fixture
def control() -> Control:
    return Control()


@pytest.fixture
async def client(control: Control) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_sandbox_app(control))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


def new_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "CRM updates",
        "url": "https://crm.example.com/dixa",
        "events": ["ConversationCreated", "ConversationClosed"],
        "authorization": {"_type": "NoAuth"},
        "customHeaders": {},
    }
    body.update(fields)
    return body


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post(HOOKS, json=new_body(**fields), headers=AUTH)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def seconds(stamp: str) -> float:
    """Epoch seconds of a Dixa timestamp, checking its millisecond ISO form on the way."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), stamp
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def assert_message(response: httpx.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"message": message}


# --- auth -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "wrong-key"}, {"Authorization": "Bearer sandbox-dixa-key"}, {"Authorization": ""}],
)
async def test_missing_wrong_or_prefixed_key_is_401_with_the_documented_text(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    assert_message(
        await client.get(HOOKS, headers=headers), 401, "User is unauthorized to perform an underlying operation"
    )


# --- reading ----------------------------------------------------------------------------------------------------


async def test_list_answers_the_dashboard_integration_seed(client: httpx.AsyncClient) -> None:
    response = await client.get(HOOKS, headers=AUTH)
    assert response.status_code == 200
    (subscription,) = response.json()["data"]
    assert set(subscription) == SUBSCRIPTION_FIELDS
    assert subscription["id"] == DASHBOARD_ID
    assert subscription["name"] == "Dashboard Integration"
    # The seed's own key; as UTF-8 it is the sandbox source's configured key (hex "73616e64626f78").
    assert subscription["secretKey"] == "sandbox"
    assert subscription["secretKey"].encode() == bytes.fromhex("73616e64626f78")
    assert subscription["enabled"] is True
    assert subscription["headers"]["Authorization"].startswith("Bearer ")
    assert "ConversationCreated" in subscription["subscribedEvents"]


async def test_the_same_api_is_served_under_beta(client: httpx.AsyncClient) -> None:
    v1 = (await client.get(DASHBOARD, headers=AUTH)).json()
    beta = await client.get(f"/dixa/beta/webhooks/{DASHBOARD_ID}", headers=AUTH)
    assert beta.status_code == 200
    assert beta.json() == v1


async def test_get_by_id_answers_the_subscription_in_data(client: httpx.AsyncClient) -> None:
    response = await client.get(DASHBOARD, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Dashboard Integration"


async def test_unknown_id_is_404_and_a_malformed_id_is_400(client: httpx.AsyncClient) -> None:
    assert_message(
        await client.get(f"{HOOKS}/{uuid.uuid4()}", headers=AUTH), 404, "The requested resource could not be found"
    )
    assert_message(await client.get(f"{HOOKS}/not-a-uuid", headers=AUTH), 400, "Invalid value in request")


# --- create -----------------------------------------------------------------------------------------------------


async def test_create_answers_201_with_the_documented_fields_stamped_by_the_clock(
    client: httpx.AsyncClient, control: Control
) -> None:
    await client.post("/_control/clock", json={"advance_s": 3600})
    data = await create(client, customHeaders={"X-Team": "support"})
    assert set(data) == SUBSCRIPTION_FIELDS
    assert uuid.UUID(data["id"])
    assert data["subscribedEvents"] == ["ConversationCreated", "ConversationClosed"]
    assert data["headers"] == {"X-Team": "support"}  # NoAuth adds no Authorization header.
    # Every subscription has its own key [doc].
    assert len(data["secretKey"]) == 64
    assert data["secretKey"] != "sandbox"
    assert data["secretKey"] != (await create(client))["secretKey"]
    assert data["enabled"] is True
    assert data["createdAt"] == data["updatedAt"]
    assert abs(seconds(data["createdAt"]) - control.clock.now()) < 5
    assert data["createdBy"] == data["updatedBy"]
    listed = (await client.get(HOOKS, headers=AUTH)).json()["data"]
    assert [item["id"] for item in listed][:2] == [DASHBOARD_ID, data["id"]]


@pytest.mark.parametrize(
    ("authorization", "header"),
    [
        (
            {"_type": "BasicAuth", "username": "ada", "password": "p4ss"},
            "Basic " + base64.b64encode(b"ada:p4ss").decode(),
        ),
        ({"_type": "TokenAuth", "value": "tok-123"}, "Bearer tok-123"),
    ],
)
async def test_authorization_is_folded_into_the_authorization_header(
    client: httpx.AsyncClient, authorization: dict[str, str], header: str
) -> None:
    data = await create(client, authorization=authorization)
    assert data["headers"] == {"Authorization": header}
    assert "authorization" not in data


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"name": ""},
        {"url": None},
        {"url": "not a url"},
        {"authorization": {"_type": "OAuth"}},
        {"authorization": {"_type": "BasicAuth", "username": "ada"}},
        {"authorization": {"_type": "TokenAuth"}},
        {"events": ["ConversationExploded"]},
        {"events": "ConversationCreated"},
        {"customHeaders": {"X-Count": 3}},
        {"enabled": "yes"},
    ],
)
async def test_invalid_create_body_is_400_and_creates_nothing(
    client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    body = {key: value for key, value in new_body(**change).items() if value is not None}
    assert_message(await client.post(HOOKS, json=body, headers=AUTH), 400, "Invalid value in request")
    assert len((await client.get(HOOKS, headers=AUTH)).json()["data"]) == 1


async def test_a_create_with_only_name_and_url_defaults_to_no_authorization(client: httpx.AsyncClient) -> None:
    """name and url are the only required fields: what the document's example and published clients send."""
    response = await client.post(HOOKS, json={"name": "Minimal", "url": "https://example.com/hook"}, headers=AUTH)
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert (data["headers"], data["subscribedEvents"], data["enabled"]) == ({}, [], True)


async def test_body_that_is_not_a_json_object_is_400(client: httpx.AsyncClient) -> None:
    assert_message(await client.post(HOOKS, content=b"[1, 2]", headers=AUTH), 400, "Invalid value in request")
    assert_message(await client.post(HOOKS, content=b"{oops", headers=AUTH), 400, "Invalid value in request")


async def test_every_documented_event_is_accepted(client: httpx.AsyncClient) -> None:
    assert len(EVENTS) == 32
    data = await create(client, events=list(EVENTS))
    assert data["subscribedEvents"] == list(EVENTS)


# --- patch and delete -----------------------------------------------------------------------------------------------


async def test_patch_changes_only_the_named_fields_and_stamps_the_update(
    client: httpx.AsyncClient, control: Control
) -> None:
    before = (await client.get(DASHBOARD, headers=AUTH)).json()["data"]
    response = await client.patch(DASHBOARD, json={"name": "Renamed", "enabled": False}, headers=AUTH)
    assert response.status_code == 200
    after = response.json()["data"]
    assert (after["name"], after["enabled"]) == ("Renamed", False)
    for unchanged in ("url", "subscribedEvents", "headers", "secretKey", "createdAt", "createdBy"):
        assert after[unchanged] == before[unchanged]
    assert after["updatedAt"] != before["updatedAt"]
    assert abs(seconds(after["updatedAt"]) - control.clock.now()) < 5


async def test_patch_of_authorization_rewrites_the_header(client: httpx.AsyncClient) -> None:
    response = await client.patch(DASHBOARD, json={"authorization": {"_type": "NoAuth"}}, headers=AUTH)
    assert "Authorization" not in response.json()["data"]["headers"]


async def test_invalid_patch_is_400_and_changes_nothing(client: httpx.AsyncClient) -> None:
    before = (await client.get(DASHBOARD, headers=AUTH)).json()
    response = await client.patch(DASHBOARD, json={"name": "Renamed", "events": ["Nope"]}, headers=AUTH)
    assert_message(response, 400, "Invalid value in request")
    assert (await client.get(DASHBOARD, headers=AUTH)).json() == before


async def test_delete_answers_204_and_everything_of_the_subscription_is_gone(client: httpx.AsyncClient) -> None:
    response = await client.delete(DASHBOARD, headers=AUTH)
    assert response.status_code == 204
    assert response.content == b""
    gone = "The requested resource could not be found"
    assert_message(await client.get(DASHBOARD, headers=AUTH), 404, gone)
    assert_message(await client.get(f"{DASHBOARD}/delivery-status", headers=AUTH), 404, gone)
    assert_message(await client.delete(DASHBOARD, headers=AUTH), 404, gone)
    assert (await client.get(HOOKS, headers=AUTH)).json() == {"data": []}


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_every_method_on_an_unknown_subscription_is_404(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, f"{HOOKS}/{uuid.uuid4()}", json={"name": "x"}, headers=AUTH)
    assert_message(response, 404, "The requested resource could not be found")


# --- delivery status and logs -------------------------------------------------------------------------------------


async def test_seed_delivery_statuses_mix_delivery_details_and_no_recent_delivery(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{DASHBOARD}/delivery-status", headers=AUTH)
    assert response.status_code == 200
    statuses = {item["event"]: item["deliveryStatus"] for item in response.json()["data"]}
    assert statuses["ConversationRated"] == {"_type": "NoRecentDelivery"}
    assert statuses["ConversationCreated"]["_type"] == "DeliveryDetail"
    assert set(statuses["ConversationCreated"]) == {
        "_type",
        "deliveryTimestamp",
        "success",
        "responseCode",
        "responseText",
    }
    assert statuses["ConversationAssigned"]["success"] is False
    assert statuses["ConversationAssigned"]["responseCode"] == 503


async def test_a_new_subscription_has_no_recent_delivery_for_each_event(client: httpx.AsyncClient) -> None:
    data = await create(client)
    response = await client.get(f"{HOOKS}/{data['id']}/delivery-status", headers=AUTH)
    assert response.json()["data"] == [
        {"event": "ConversationCreated", "deliveryStatus": {"_type": "NoRecentDelivery"}},
        {"event": "ConversationClosed", "deliveryStatus": {"_type": "NoRecentDelivery"}},
    ]


async def test_delivery_statuses_follow_the_subscribed_events(client: httpx.AsyncClient) -> None:
    await client.patch(DASHBOARD, json={"events": ["ConversationCreated", "TypingStarted"]}, headers=AUTH)
    data = (await client.get(f"{DASHBOARD}/delivery-status", headers=AUTH)).json()["data"]
    assert [item["event"] for item in data] == ["ConversationCreated", "TypingStarted"]
    assert data[1]["deliveryStatus"] == {"_type": "NoRecentDelivery"}


async def test_logs_are_newest_first_with_the_delivered_body_as_a_json_string(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{DASHBOARD}/delivery-status/logs/ConversationCreated", headers=AUTH)
    assert response.status_code == 200
    logs = response.json()["data"]
    assert len(logs) == 2
    stamps = [entry["deliveryDetail"]["deliveryTimestamp"] for entry in logs]
    assert stamps == sorted(stamps, reverse=True)
    assert all(isinstance(entry["payload"], str) for entry in logs)
    payload = json.loads(logs[0]["payload"])
    assert payload["event_fqn"] == "CONVERSATION_CREATED"
    assert payload["event_version"] == "1"
    assert set(payload) == {"event_id", "event_fqn", "event_version", "event_timestamp", "organization", "data"}


async def test_failed_delivery_is_logged_with_its_response(client: httpx.AsyncClient) -> None:
    logs = (await client.get(f"{DASHBOARD}/delivery-status/logs/ConversationAssigned", headers=AUTH)).json()["data"]
    assert logs[0]["deliveryDetail"]["success"] is False
    assert logs[0]["deliveryDetail"]["responseText"] == "Service Unavailable"


async def test_logs_of_an_event_never_delivered_are_empty(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{DASHBOARD}/delivery-status/logs/ConversationRated", headers=AUTH)
    assert response.json() == {"data": []}


async def test_logs_of_an_unknown_subscription_are_404_and_of_an_unknown_event_400(client: httpx.AsyncClient) -> None:
    unknown = f"{HOOKS}/{uuid.uuid4()}/delivery-status/logs/ConversationCreated"
    assert_message(await client.get(unknown, headers=AUTH), 404, "The requested resource could not be found")
    bad_event = f"{DASHBOARD}/delivery-status/logs/ConversationExploded"
    assert_message(await client.get(bad_event, headers=AUTH), 400, "Invalid value in request")


# --- switches -----------------------------------------------------------------------------------------------------


async def test_injected_faults_answer_dixa_error_bodies(client: httpx.AsyncClient) -> None:
    await client.post("/_control/faults", json={"target": "dixa", "status": 500})
    response = await client.get(HOOKS, headers=AUTH)
    assert response.status_code == 500
    assert set(response.json()) == {"message"}
    await client.post("/_control/faults", json={"target": "dixa", "status": 404})
    assert_message(await client.get(HOOKS, headers=AUTH), 404, "The requested resource could not be found")


async def test_fault_rate_fails_only_some_requests(client: httpx.AsyncClient) -> None:
    await client.post("/_control/faults", json={"target": "dixa", "status": 503, "rate": 0.5})
    statuses = {(await client.get(HOOKS, headers=AUTH)).status_code for _ in range(30)}
    assert statuses == {200, 503}


async def test_calls_are_counted_per_route_template(client: httpx.AsyncClient) -> None:
    await client.get(HOOKS, headers=AUTH)
    await client.get(DASHBOARD, headers=AUTH)
    await client.get(f"{DASHBOARD}/delivery-status/logs/ConversationCreated", headers=AUTH)
    await client.get(f"{DASHBOARD}/delivery-status/logs/ConversationClosed", headers=AUTH)
    await client.get(f"/dixa/beta/webhooks/{DASHBOARD_ID}", headers=AUTH)
    calls = (await client.get("/_control/calls")).json()["dixa"]
    assert calls == {
        "GET /v1/webhooks": 1,
        "GET /v1/webhooks/{webhookSubscriptionId}": 1,
        "GET /v1/webhooks/{webhookSubscriptionId}/delivery-status/logs/{event}": 2,
        "GET /beta/webhooks/{webhookSubscriptionId}": 1,
    }


async def test_reset_restores_the_seed(client: httpx.AsyncClient) -> None:
    await create(client)
    await client.delete(DASHBOARD, headers=AUTH)
    assert (await client.post("/_control/reset")).status_code == 204
    data = (await client.get(HOOKS, headers=AUTH)).json()["data"]
    assert [item["name"] for item in data] == ["Dashboard Integration"]
    logs = (await client.get(f"{DASHBOARD}/delivery-status/logs/ConversationCreated", headers=AUTH)).json()["data"]
    assert len(logs) == 2
