"""The UiPath Orchestrator simulator answers as the real OData webhook API does (providers.md §1)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.app import create_sandbox_app
from sandbox.control import Control

AUTH = {"Authorization": "Bearer sandbox-uipath-token"}
WEBHOOKS = "/uipath/odata/Webhooks"
DOC_URL = "http://documentation.azurewebsites.net/webhook/documentation"
TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": "sandbox-client",
    "client_secret": "sandbox-client-secret",
    "scope": "OR.Webhooks",
}


@pytest.fixture
def control() -> Control:
    return Control()


@pytest.fixture
async def client(control: Control) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_sandbox_app(control))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


async def list_ids(client: httpx.AsyncClient, **params: str) -> list[int]:
    response = await client.get(WEBHOOKS, params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return [item["Id"] for item in response.json()["value"]]


async def create(client: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    body = {"Name": "hook", "Url": url, "Enabled": True, "Events": [{"EventType": "job.completed"}], **fields}
    response = await client.post(WEBHOOKS, json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def assert_error(response: httpx.Response, status: int, code: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"message", "errorCode", "traceId"}
    assert body["errorCode"] == code
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-00", body["traceId"])
    return body


# --- auth ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "sandbox-uipath-token"}, {"Authorization": "Bearer "}],
)
async def test_missing_or_wrong_token_is_refused_with_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert_error(await client.get(WEBHOOKS, headers=headers), 401, 0)


async def test_issued_token_works_until_the_clock_passes_its_expiry(client: httpx.AsyncClient) -> None:
    response = await client.post("/uipath/identity_/connect/token", data=TOKEN_FORM)
    assert response.status_code == 200
    token = response.json()
    assert set(token) == {"access_token", "token_type", "expires_in"}
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert (await client.get(WEBHOOKS, headers=bearer)).status_code == 200

    await client.post("/_control/clock", json={"advance_s": 3599})
    assert (await client.get(WEBHOOKS, headers=bearer)).status_code == 200
    await client.post("/_control/clock", json={"advance_s": 2})
    assert_error(await client.get(WEBHOOKS, headers=bearer), 401, 0)


async def test_token_lifetime_follows_the_option(client: httpx.AsyncClient) -> None:
    await client.post("/_control/options", json={"uipath.token_ttl_s": 60})
    token = (await client.post("/uipath/identity_/connect/token", data=TOKEN_FORM)).json()
    assert token["expires_in"] == 60
    await client.post("/_control/clock", json={"advance_s": 61})
    response = await client.get(WEBHOOKS, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_secret": "nope"}, "invalid_client"),
        ({"client_id": "someone"}, "invalid_client"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
async def test_token_request_with_bad_credentials_or_grant_is_refused(
    client: httpx.AsyncClient, change: dict[str, str], error: str
) -> None:
    response = await client.post("/uipath/identity_/connect/token", data={**TOKEN_FORM, **change})
    assert response.status_code == 400
    assert response.json() == {"error": error}


# --- listing and OData ----------------------------------------------------------------------------------------------


async def test_list_answers_the_documented_seed_with_a_context_built_from_the_request(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(WEBHOOKS, headers=AUTH)
    body = response.json()
    assert body["@odata.context"] == "http://sandbox/uipath/odata/$metadata#Webhooks"
    assert "@odata.count" not in body
    assert "@odata.nextLink" not in body
    assert [item["Id"] for item in body["value"]] == [4, 10]
    # Current Orchestrator's WebhookDto, in the published OpenAPI description's order.
    assert list(body["value"][0].items()) == [
        ("Key", "5f0c8d1e-8a5b-4c2e-9f4a-1d2b3c4d5e04"),
        ("Name", "Documentation webhook"),
        ("Description", "The example of UiPath's API guide"),
        ("Url", DOC_URL),
        ("Enabled", True),
        ("Secret", "1234567890"),
        ("SubscribeToAllEvents", False),
        ("AllowInsecureSsl", False),
        (
            "Events",
            [
                {"EventType": "job.started"},
                {"EventType": "process.created"},
                {"EventType": "process.deleted"},
                {"EventType": "process.updated"},
                {"EventType": "queue.created"},
            ],
        ),
        ("Id", 4),
    ]
    assert body["value"][1]["Name"] == "Sandbox deliveries"


async def test_documented_url_filter_with_count_finds_webhook_4(client: httpx.AsyncClient) -> None:
    response = await client.get(WEBHOOKS, params={"$filter": f"Url eq '{DOC_URL}'", "$count": "true"}, headers=AUTH)
    body = response.json()
    assert body["@odata.count"] == 1
    assert [item["Id"] for item in body["value"]] == [4]


async def test_quotes_in_a_url_literal_are_escaped_by_doubling(client: httpx.AsyncClient) -> None:
    created = await create(client, "https://example.com/o'brien")
    assert await list_ids(client, **{"$filter": "Url eq 'https://example.com/o''brien'"}) == [created["Id"]]
    # An undoubled quote ends the literal early: what follows is a syntax error, not a silent miss.
    response = await client.get(WEBHOOKS, params={"$filter": "Url eq 'https://example.com/o'brien'"}, headers=AUTH)
    assert_error(response, 400, 1000)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("Id eq 4 or Id eq 10", [4, 10]),
        ("Id eq 4 or Id eq 999", [4]),
        ("Id ne 4", [10]),
        ("Enabled eq true", [4]),
        ("Enabled eq false and Id eq 10", [10]),
        ("(Id eq 4 or Id eq 10) and Enabled eq false", [10]),
        ("Id eq 4 or (Id eq 10 and Enabled eq true)", [4]),
        ("not (Id eq 4)", [10]),
        ("Enabled", [4]),
        ("Id gt 4", [10]),
        ("SubscribeToAllEvents eq true", [10]),
        ("Secret ne null", [4, 10]),
        (f"Url ne '{DOC_URL}' and Id le 10", [10]),
        ("contains(Url,'orchestrator')", [10]),
        ("startswith(Url, 'http://documentation') or endswith(Url,'/sandbox')", [4, 10]),
        ("not contains(Url,'uipath') and Enabled", [4]),
    ],
)
async def test_filter_expressions_select_the_matching_webhooks(
    client: httpx.AsyncClient, expression: str, expected: list[int]
) -> None:
    assert await list_ids(client, **{"$filter": expression}) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "",
        "Id eq",
        "Id eq 4 or",
        "(Id eq 4",
        "Id eq 4)",
        "Id eq 'four'",
        "Url eq 4",
        "Enabled eq 'true'",
        "Colour eq 'x'",
        "Url eq 'unterminated",
        "Id equals 4",
        "Enabled gt false",
        "Id eq 4 xor Id eq 10",
        "Id eq 4 && Id eq 10",
        "contains(Id,'4')",
        "contains(Url 'x')",
        "contains Url",
        "tolower(Url) eq 'x'",
    ],
)
async def test_malformed_filter_is_a_400_with_error_code_1000(client: httpx.AsyncClient, expression: str) -> None:
    response = await client.get(WEBHOOKS, params={"$filter": expression}, headers=AUTH)
    assert_error(response, 400, 1000)


async def test_orderby_top_and_skip_window_the_ordered_matches(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await create(client, f"https://example.com/{n}")
    assert await list_ids(client, **{"$orderby": "Id desc"}) == [13, 12, 11, 10, 4]
    assert await list_ids(client, **{"$orderby": "Id desc", "$top": "2", "$skip": "1"}) == [12, 11]
    assert await list_ids(client, **{"$orderby": "Enabled asc,Id desc"}) == [10, 13, 12, 11, 4]
    assert await list_ids(client, **{"$orderby": "Url"}) == [4, 11, 12, 13, 10]
    assert await list_ids(client, **{"$top": "0"}) == []
    assert await list_ids(client, **{"$skip": "50"}) == []


async def test_count_is_the_number_of_matches_not_of_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get(WEBHOOKS, params={"$count": "true", "$top": "1"}, headers=AUTH)
    body = response.json()
    assert body["@odata.count"] == 2
    assert len(body["value"]) == 1
    assert "@odata.nextLink" not in body  # $top was honoured in full: nothing more was asked for.


async def test_select_keeps_only_the_named_properties(client: httpx.AsyncClient) -> None:
    response = await client.get(WEBHOOKS, params={"$select": "Id,Url"}, headers=AUTH)
    assert response.json()["value"] == [
        {"Id": 4, "Url": DOC_URL},
        {"Id": 10, "Url": "https://orchestrator.uipath.com/webhooks/sandbox"},
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"$top": "-1"},
        {"$top": "two"},
        {"$skip": "1.5"},
        {"$count": "yes"},
        {"$orderby": "Id sideways"},
        {"$orderby": "Events"},
        {"$select": "Id,Nope"},
        {"$expand": "Events"},
    ],
)
async def test_invalid_query_options_are_a_400_with_error_code_1000(
    client: httpx.AsyncClient, params: dict[str, str]
) -> None:
    assert_error(await client.get(WEBHOOKS, params=params, headers=AUTH), 400, 1000)


async def test_server_paging_links_every_page_until_the_last(client: httpx.AsyncClient) -> None:
    for n in range(5):
        await create(client, f"https://example.com/paged/{n}")
    await client.post("/_control/options", json={"uipath.page_size": 2})
    url: str | None = WEBHOOKS
    params: dict[str, str] | None = {"$filter": "Id ne 10", "$count": "true"}
    pages: list[list[int]] = []
    while url is not None:
        body = (await client.get(url, params=params, headers=AUTH)).json()
        assert body["@odata.count"] == 6
        pages.append([item["Id"] for item in body["value"]])
        url, params = body.get("@odata.nextLink"), None
        if url is not None:
            assert url.startswith("http://sandbox/uipath/odata/Webhooks?")
            assert "$filter=Id%20ne%2010" in url
            assert "$count=true" in url
    assert pages == [[4, 11], [12, 13], [14, 15]]


async def test_next_link_carries_what_remains_of_top(client: httpx.AsyncClient) -> None:
    for n in range(4):
        await create(client, f"https://example.com/top/{n}")
    await client.post("/_control/options", json={"uipath.page_size": 2})
    first = (await client.get(WEBHOOKS, params={"$top": "3", "$orderby": "Id desc"}, headers=AUTH)).json()
    assert [item["Id"] for item in first["value"]] == [14, 13]
    assert first["@odata.nextLink"].endswith("?$orderby=Id%20desc&$top=1&$skip=2")
    second = (await client.get(first["@odata.nextLink"], headers=AUTH)).json()
    assert [item["Id"] for item in second["value"]] == [12]
    assert "@odata.nextLink" not in second


# --- single webhooks --------------------------------------------------------------------------------------------


async def test_get_by_id_answers_the_entity_with_its_context(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{WEBHOOKS}(10)", headers=AUTH)).json()
    assert body["@odata.context"] == "http://sandbox/uipath/odata/$metadata#Webhooks/$entity"
    assert body["Id"] == 10
    assert body["Url"].startswith("https://orchestrator.uipath.com")
    assert body["Enabled"] is False


async def test_unknown_id_is_a_404_saying_the_webhook_does_not_exist(client: httpx.AsyncClient) -> None:
    body = assert_error(await client.get(f"{WEBHOOKS}(999)", headers=AUTH), 404, 1002)
    assert body["message"] == "Webhook does not exist."


async def test_create_answers_201_with_a_new_id_and_location(client: httpx.AsyncClient) -> None:
    response = await client.post(
        WEBHOOKS,
        json={
            "Name": "Billing",
            "Url": "https://hooks.example.com/uipath",
            "Enabled": True,
            "Secret": "s3cret",
            "SubscribeToAllEvents": False,
            "AllowInsecureSsl": True,
            "Events": [{"EventType": "job.completed"}, {"EventType": "job.faulted"}, {"EventType": "job.completed"}],
        },
        headers=AUTH,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["Id"] == 11
    assert response.headers["location"] == "http://sandbox/uipath/odata/Webhooks(11)"
    assert body["Events"] == [{"EventType": "job.completed"}, {"EventType": "job.faulted"}]
    assert body["AllowInsecureSsl"] is True
    assert body["Secret"] == "s3cret"
    assert await list_ids(client) == [4, 10, 11]


async def test_create_with_only_a_url_takes_the_dotnet_defaults(client: httpx.AsyncClient) -> None:
    response = await client.post(WEBHOOKS, json={"Name": "m", "Url": "https://minimal.example.com/"}, headers=AUTH)
    body = response.json()
    assert response.status_code == 201
    assert (body["Enabled"], body["Secret"], body["SubscribeToAllEvents"], body["Events"]) == (False, None, False, [])
    assert (body["Name"], body["Description"]) == ("m", None)


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        ({"Enabled": True}, "Url"),
        ({"Url": "/relative/path"}, "Url"),
        ({"Url": "ftp://example.com/x"}, "Url"),
        ({"Url": "https://e.com", "Events": [{"EventType": "job.exploded"}]}, "job.exploded"),
        ({"Url": "https://e.com", "Events": ["job.completed"]}, "Events"),
        ({"Url": "https://e.com", "Enabled": "yes"}, "Enabled"),
        ({"Url": "https://e.com", "Colour": "red"}, "Colour"),
        # Current Orchestrator requires Name, at most 128 characters; Description at most 256 [doc: OpenAPI].
        ({"Url": "https://e.com"}, "Name"),
        ({"Url": "https://e.com", "Name": ""}, "Name"),
        ({"Url": "https://e.com", "Name": "n" * 129}, "Name"),
        ({"Url": "https://e.com", "Name": "n", "Description": "d" * 257}, "Description"),
        ({"Url": "https://e.com", "Name": "n", "Description": 5}, "Description"),
    ],
)
async def test_invalid_create_body_is_a_400_naming_the_problem(
    client: httpx.AsyncClient, body: dict[str, Any], message_part: str
) -> None:
    error = assert_error(await client.post(WEBHOOKS, json=body, headers=AUTH), 400, 1000)
    assert message_part in error["message"]
    assert await list_ids(client) == [4, 10]


async def test_body_that_is_not_json_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post(WEBHOOKS, content=b"{nope", headers={**AUTH, "Content-Type": "application/json"})
    assert_error(response, 400, 1000)


async def test_url_already_used_by_another_webhook_is_a_400_with_error_code_1001(client: httpx.AsyncClient) -> None:
    assert_error(await client.post(WEBHOOKS, json={"Name": "n", "Url": DOC_URL}, headers=AUTH), 400, 1001)
    response = await client.patch(f"{WEBHOOKS}(10)", json={"Url": DOC_URL}, headers=AUTH)
    assert_error(response, 400, 1001)
    # A webhook may keep its own Url.
    assert (await client.put(f"{WEBHOOKS}(4)", json={"Name": "n", "Url": DOC_URL}, headers=AUTH)).status_code == 200


async def test_put_replaces_the_whole_webhook(client: httpx.AsyncClient) -> None:
    response = await client.put(
        f"{WEBHOOKS}(4)",
        json={
            "Name": "Replaced",
            "Url": "https://replaced.example.com/",
            "Enabled": True,
            "Events": [{"EventType": "queue.deleted"}],
        },
        headers=AUTH,
    )
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("#Webhooks/$entity")
    assert body["Url"] == "https://replaced.example.com/"
    assert body["Secret"] is None  # Left out of the PUT body, so back to its default.
    assert (body["Name"], body["Description"]) == ("Replaced", None)
    assert body["Key"] == "5f0c8d1e-8a5b-4c2e-9f4a-1d2b3c4d5e04"  # the server's identifier survives a PUT
    assert body["Events"] == [{"EventType": "queue.deleted"}]
    assert (await client.get(f"{WEBHOOKS}(4)", headers=AUTH)).json()["Url"] == "https://replaced.example.com/"


async def test_put_with_another_id_in_the_body_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.put(f"{WEBHOOKS}(4)", json={"Id": 10, "Url": "https://x.example.com/"}, headers=AUTH)
    assert_error(response, 400, 1000)


async def test_patch_changes_only_the_fields_it_names(client: httpx.AsyncClient) -> None:
    response = await client.patch(f"{WEBHOOKS}(4)", json={"Enabled": False}, headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["Enabled"] is False
    assert body["Url"] == DOC_URL
    assert body["Secret"] == "1234567890"
    assert len(body["Events"]) == 5


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_every_method_on_a_missing_webhook_is_404(client: httpx.AsyncClient, method: str) -> None:
    response = await client.request(method, f"{WEBHOOKS}(77)", json={"Url": "https://x.example.com/"}, headers=AUTH)
    assert_error(response, 404, 1002)


async def test_delete_answers_204_and_the_webhook_is_gone(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"{WEBHOOKS}(4)", headers=AUTH)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await client.get(f"{WEBHOOKS}(4)", headers=AUTH), 404, 1002)
    assert await list_ids(client) == [10]


async def test_event_types_are_the_21_documented_names_and_groups(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{WEBHOOKS}/UiPath.Server.Configuration.OData.GetEventTypes()", headers=AUTH)
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].startswith("http://sandbox/uipath/odata/$metadata#")
    expected = (
        [(f"process.{v}", "process") for v in ("created", "updated", "deleted")]
        + [("schedule.failed", "schedule")]
        + [(f"robot.{v}", "robot") for v in ("status", "created", "updated", "deleted")]
        + [(f"job.{v}", "job") for v in ("started", "completed", "faulted", "stopped", "created")]
        + [(f"queue.{v}", "queue") for v in ("created", "updated", "deleted")]
        + [
            (f"queueItem.{v}", "queueItem")
            for v in (
                "added",
                "transactionStarted",
                "transactionFailed",
                "transactionCompleted",
                "transactionAbandoned",
            )
        ]
    )
    assert [(item["Name"], item["Group"]) for item in body["value"]] == expected
    assert len(expected) == 21


async def test_ping_answers_a_fresh_ping_event_stamped_by_the_sandbox_clock(
    client: httpx.AsyncClient, control: Control
) -> None:
    await client.post("/_control/clock", json={"advance_s": 86_400})
    ping = f"{WEBHOOKS}(4)/UiPath.Server.Configuration.OData.Ping"
    first = (await client.post(ping, headers=AUTH)).json()
    second = (await client.post(ping, headers=AUTH)).json()
    assert set(first) == {"Type", "EventId", "Timestamp", "TenantId", "OrganizationUnitId", "UserId"}
    assert first["Type"] == "ping"
    assert (first["TenantId"], first["OrganizationUnitId"], first["UserId"]) == (57, None, 583)
    assert re.fullmatch(r"[0-9a-f]{32}", first["EventId"])
    assert first["EventId"] != second["EventId"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", first["Timestamp"])
    stamped = datetime.strptime(first["Timestamp"][:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    assert abs(stamped.timestamp() - control.clock.now()) < 5


async def test_ping_on_a_missing_webhook_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{WEBHOOKS}(5)/UiPath.Server.Configuration.OData.Ping", headers=AUTH)
    assert_error(response, 404, 1002)


async def test_unknown_path_and_wrong_method_answer_uipath_error_bodies(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/uipath/odata/Nothing", headers=AUTH), 404, 0)
    assert_error(await client.get(f"{WEBHOOKS}(abc)", headers=AUTH), 404, 0)
    assert_error(await client.delete(WEBHOOKS, headers=AUTH), 405, 0)


# --- switches -----------------------------------------------------------------------------------------------------


async def test_injected_status_fault_answers_the_uipath_error_body(client: httpx.AsyncClient) -> None:
    await client.post("/_control/faults", json={"target": "uipath", "status": 503})
    body = assert_error(await client.get(WEBHOOKS, headers=AUTH), 503, 0)
    assert body["message"] == "Service Unavailable"
    await client.delete("/_control/faults", params={"target": "uipath"})
    assert (await client.get(WEBHOOKS, headers=AUTH)).status_code == 200


async def test_fault_rate_fails_only_some_requests(client: httpx.AsyncClient) -> None:
    await client.post("/_control/faults", json={"target": "uipath", "status": 500, "rate": 0.5})
    statuses = [(await client.get(WEBHOOKS, headers=AUTH)).status_code for _ in range(30)]
    assert set(statuses) == {200, 500}
    await client.post("/_control/faults", json={"target": "uipath", "status": 500, "rate": 0})
    assert {(await client.get(WEBHOOKS, headers=AUTH)).status_code for _ in range(5)} == {200}


async def test_calls_are_counted_per_route_template(client: httpx.AsyncClient) -> None:
    await client.get(WEBHOOKS, headers=AUTH)
    await client.get(WEBHOOKS, params={"$top": "1"}, headers=AUTH)
    await client.get(f"{WEBHOOKS}(4)", headers=AUTH)
    await client.get(f"{WEBHOOKS}(10)", headers=AUTH)
    await client.post(f"{WEBHOOKS}(4)/UiPath.Server.Configuration.OData.Ping", headers=AUTH)
    await client.post("/uipath/identity_/connect/token", data=TOKEN_FORM)
    calls = (await client.get("/_control/calls")).json()["uipath"]
    assert calls == {
        "GET /odata/Webhooks": 2,
        "GET /odata/Webhooks({id})": 2,
        "POST /odata/Webhooks({id})/UiPath.Server.Configuration.OData.Ping": 1,
        "POST /identity_/connect/token": 1,
    }


async def test_reset_restores_the_seed_and_forgets_issued_tokens(client: httpx.AsyncClient) -> None:
    token = (await client.post("/uipath/identity_/connect/token", data=TOKEN_FORM)).json()["access_token"]
    await create(client, "https://temporary.example.com/")
    await client.delete(f"{WEBHOOKS}(4)", headers=AUTH)
    await client.post("/_control/options", json={"uipath.page_size": 1})

    assert (await client.post("/_control/reset")).status_code == 204

    body = (await client.get(WEBHOOKS, headers=AUTH)).json()
    assert [item["Id"] for item in body["value"]] == [4, 10]
    assert "@odata.nextLink" not in body
    assert (await client.get(WEBHOOKS, headers={"Authorization": f"Bearer {token}"})).status_code == 401
    assert (await create(client, "https://after-reset.example.com/"))["Id"] == 11


# -- what clients of current Orchestrator send (issue 12) -------------------------------------------------------


@pytest.mark.parametrize("value", ["True", "true", "TRUE"])
async def test_count_is_a_boolean_in_any_case(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get(WEBHOOKS, params={"$count": value}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["@odata.count"] == 2
    off = await client.get(WEBHOOKS, params={"$count": "False"}, headers=AUTH)
    assert "@odata.count" not in off.json()


@pytest.mark.parametrize("suffix", ["()", ""])
async def test_get_event_types_answers_with_and_without_parentheses(client: httpx.AsyncClient, suffix: str) -> None:
    path = f"{WEBHOOKS}/UiPath.Server.Configuration.OData.GetEventTypes{suffix}"
    response = await client.get(path, params={"$count": "True", "$filter": "Group eq 'job'"}, headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.count"] == 5
    assert {item["Group"] for item in body["value"]} == {"job"}


async def test_key_name_and_description_filter_order_and_select(client: httpx.AsyncClient) -> None:
    params = {"$filter": "startswith(Name,'Sandbox') or Description eq 'x'", "$select": "Key,Name,Description"}
    body = (await client.get(WEBHOOKS, params=params, headers=AUTH)).json()
    assert body["value"] == [
        {"Key": "5f0c8d1e-8a5b-4c2e-9f4a-1d2b3c4d5e10", "Name": "Sandbox deliveries", "Description": None}
    ]
    assert await list_ids(client, **{"$orderby": "Name desc"}) == [10, 4]
    assert await list_ids(client, **{"$filter": "Key eq '5f0c8d1e-8a5b-4c2e-9f4a-1d2b3c4d5e04'"}) == [4]


async def test_an_empty_expand_is_nothing_and_a_named_one_a_400(client: httpx.AsyncClient) -> None:
    assert await list_ids(client, **{"$expand": ""}) == [4, 10]
    response = await client.get(WEBHOOKS, params={"$expand": "Events"}, headers=AUTH)
    assert_error(response, 400, 1000)


async def test_a_tenant_can_refuse_patch_with_405_or_a_route_404(client: httpx.AsyncClient) -> None:
    await client.post("/_control/options", json={"uipath.refuse_patch": 405})
    assert_error(await client.patch(f"{WEBHOOKS}(4)", json={"Enabled": False}, headers=AUTH), 405, 0)
    await client.post("/_control/options", json={"uipath.refuse_patch": 404})
    error = assert_error(await client.patch(f"{WEBHOOKS}(4)", json={"Enabled": False}, headers=AUTH), 404, 0)
    assert "No HTTP resource" in error["message"]
    assert (await client.get(f"{WEBHOOKS}(4)", headers=AUTH)).json()["Enabled"] is True


async def test_trigger_custom_answers_202_with_the_custom_event(client: httpx.AsyncClient) -> None:
    path = f"{WEBHOOKS}/UiPath.Server.Configuration.OData.TriggerCustom"
    response = await client.post(path, json={"Order": 7}, headers=AUTH)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["Type"], body["EventData"], body["TenantId"], body["UserId"]) == ("custom", {"Order": 7}, 57, 583)
    assert re.fullmatch(r"[0-9a-f]{32}", body["EventId"])
    assert_error(await client.post(path, json=[1], headers=AUTH), 400, 1000)
    assert (await client.post(path, json={})).status_code == 401
