"""The DRUID simulator: ExternalAuthenticate, token expiry on the sandbox clock, and the bot endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from sandbox import druid
from sandbox.app import create_sandbox_app
from sandbox.control import Control

AUTH = "/druid/api/services/app/WebAPIService/ExternalAuthenticate"
BOT = "/druid/api/Druid/bot-1"
CREDENTIALS = {"userNameOrEmailAddress": "sandbox", "password": "sandbox", "tenant": "Documentation"}
PERMANENT = {"authorization": "Bearer sandbox-druid-token"}
FLOW = {"channelId": "web", "targetUserMasterId": "user-42", "flowId": "welcome"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_sandbox_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        yield client


async def login(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(AUTH, json=CREDENTIALS)
    assert response.status_code == 200, response.text
    return {"authorization": f"Bearer {response.json()['result']['accessToken']}"}


def abp_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert an ABP failure envelope with ``status``; return its ``error``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"result", "targetUrl", "success", "error", "unAuthorizedRequest", "__abp"}
    assert (body["success"], body["result"], body["__abp"]) == (False, None, True)
    assert body["unAuthorizedRequest"] is (status == 401)
    error: dict[str, Any] = body["error"]
    assert {"code", "message", "details"} <= set(error)
    return error


def validation_members(response: httpx.Response) -> list[str]:
    error = abp_error(response, 400)
    assert error["message"] == "Your request is not valid!"
    return [member for entry in error["validationErrors"] for member in entry["members"]]


# -- ExternalAuthenticate ----------------------------------------------------------------------------------------


async def test_sandbox_credentials_get_an_abp_envelope_with_a_1800_s_token(client: httpx.AsyncClient) -> None:
    response = await client.post(AUTH, json=CREDENTIALS)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "result": body["result"],
        "targetUrl": None,
        "success": True,
        "error": None,
        "unAuthorizedRequest": False,
        "__abp": True,
    }
    assert set(body["result"]) == {"accessToken", "encryptedAccessToken", "expireInSeconds"}
    assert body["result"]["expireInSeconds"] == 1800
    assert body["result"]["accessToken"] != body["result"]["encryptedAccessToken"]


async def test_each_login_issues_a_distinct_working_token(client: httpx.AsyncClient) -> None:
    first, second = await login(client), await login(client)
    assert first != second
    for headers in (first, second):
        assert (await client.post(f"{BOT}/StartFlow", json=FLOW, headers=headers)).status_code == 200


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "Sandbox"}, "Invalid password for user 'sandbox'"),
        ({"userNameOrEmailAddress": "admin"}, "Invalid user name: 'admin'"),
        ({"tenant": None}, "Invalid tenant: ''"),
        ({"tenant": "Other"}, "Invalid tenant: 'Other'"),
    ],
)
async def test_wrong_credentials_answer_a_string_naming_what_is_wrong_never_the_password(
    client: httpx.AsyncClient, change: dict[str, Any], message: str
) -> None:
    """[doc] the login error is a string naming the bad tenant, user or password."""
    response = await client.post(AUTH, json={**CREDENTIALS, **change})
    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["error"]) == (False, message)
    assert "Sandbox" not in response.text


async def test_an_unknown_path_is_404_the_syntax_of_the_call_is_incorrect(client: httpx.AsyncClient) -> None:
    response = await client.post("/druid/api/Druid/bot-1/NoSuchCall", json={})
    assert response.status_code == 404
    assert response.json()["error"] == "The syntax of the call is incorrect"


@pytest.mark.parametrize(
    ("body", "members"),
    [
        ({"tenant": "Documentation"}, ["userNameOrEmailAddress", "password"]),
        ({**CREDENTIALS, "password": 123}, ["password"]),
        ({**CREDENTIALS, "tenant": ["Documentation"]}, ["tenant"]),
        ([1], ["input"]),
    ],
)
async def test_a_malformed_login_is_a_400_validation_error(
    client: httpx.AsyncClient, body: Any, members: list[str]
) -> None:
    assert validation_members(await client.post(AUTH, json=body)) == members


# -- bearer tokens -----------------------------------------------------------------------------------------------


async def test_an_issued_token_expires_after_1800_s_on_the_sandbox_clock(client: httpx.AsyncClient) -> None:
    headers = await login(client)
    await client.post("/_control/clock", json={"advance_s": 1799})
    assert (await client.post(f"{BOT}/StartFlow", json=FLOW, headers=headers)).status_code == 200
    await client.post("/_control/clock", json={"advance_s": 2})
    response = await client.post(f"{BOT}/StartFlow", json=FLOW, headers=headers)
    assert abp_error(response, 401)["message"] == "Current user did not login to the application!"
    # A fresh login works again at the moved clock.
    assert (await client.post(f"{BOT}/StartFlow", json=FLOW, headers=await login(client))).status_code == 200


async def test_the_permanent_token_never_expires(client: httpx.AsyncClient) -> None:
    await client.post("/_control/clock", json={"advance_s": 10 * 86400})
    assert (await client.post(f"{BOT}/StartFlow", json=FLOW, headers=PERMANENT)).status_code == 200


async def test_a_revoked_permanent_token_is_401(client: httpx.AsyncClient) -> None:
    await client.post("/_control/options", json={"druid.permanent_token_revoked": True})
    abp_error(await client.post(f"{BOT}/StartFlow", json=FLOW, headers=PERMANENT), 401)


@pytest.mark.parametrize(
    "headers",
    [{}, {"authorization": "Bearer made-up"}, {"authorization": "sandbox-druid-token"}, {"authorization": "Bearer "}],
)
async def test_a_missing_or_unknown_bearer_token_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    abp_error(await client.post(f"{BOT}/StartFlow", json=FLOW, headers=headers), 401)


async def test_reset_forgets_issued_tokens(client: httpx.AsyncClient) -> None:
    headers = await login(client)
    await client.post("/_control/reset")
    abp_error(await client.post(f"{BOT}/StartFlow", json=FLOW, headers=headers), 401)


# -- bots --------------------------------------------------------------------------------------------------------


async def test_an_unknown_bot_is_404_but_only_after_authentication(client: httpx.AsyncClient) -> None:
    response = await client.post("/druid/api/Druid/bot-9/StartFlow", json=FLOW, headers=PERMANENT)
    assert "bot-9" in abp_error(response, 404)["message"]
    abp_error(await client.post("/druid/api/Druid/bot-9/StartFlow", json=FLOW), 401)


# -- StartFlow ---------------------------------------------------------------------------------------------------


async def test_start_flow_answers_a_conversation_id(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{BOT}/StartFlow", json=FLOW, headers=PERMANENT)
    assert response.status_code == 200
    body = response.json()
    assert (body["success"], body["error"], body["__abp"]) == (True, None, True)
    assert body["result"]["flowStarted"] is True
    assert body["result"]["conversationId"]


async def test_start_flow_in_an_existing_conversation_keeps_its_id(client: httpx.AsyncClient) -> None:
    flow = {"channelId": "teams", "targetConversationId": "conv-7", "entityContextData": '{"a": 1}'}
    response = await client.post(f"{BOT}/StartFlow", json=flow, headers=PERMANENT)
    assert response.json()["result"] == {"conversationId": "conv-7", "flowStarted": True}


async def test_an_empty_target_id_counts_as_absent(client: httpx.AsyncClient) -> None:
    flow = {"channelId": "web", "targetUserMasterId": "", "targetConversationId": "conv-3"}
    response = await client.post(f"{BOT}/StartFlow", json=flow, headers=PERMANENT)
    assert response.json()["result"]["conversationId"] == "conv-3"


@pytest.mark.parametrize(
    ("body", "members"),
    [
        ({"targetUserMasterId": "u"}, ["channelId"]),
        ({"channelId": "web"}, ["targetUserMasterId", "targetConversationId", "targetTenantUserId"]),
        (
            {"channelId": "web", "targetUserMasterId": "u", "targetTenantUserId": "t"},
            ["targetUserMasterId", "targetConversationId", "targetTenantUserId"],
        ),
        ({**FLOW, "flowId": 12}, ["flowId"]),
        ({**FLOW, "entityContextData": {"a": 1}}, ["entityContextData"]),
        (["web"], ["input"]),
    ],
)
async def test_start_flow_validation_names_the_members(
    client: httpx.AsyncClient, body: Any, members: list[str]
) -> None:
    assert validation_members(await client.post(f"{BOT}/StartFlow", json=body, headers=PERMANENT)) == members


async def test_a_body_that_is_not_json_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.post(f"{BOT}/StartFlow", content=b"{", headers=PERMANENT)
    assert validation_members(response) == ["input"]


# -- StartFlowBulk -----------------------------------------------------------------------------------------------


async def test_start_flow_bulk_answers_one_result_per_item_in_order(client: httpx.AsyncClient) -> None:
    items = [
        FLOW,
        {"channelId": "sms", "targetConversationId": "conv-1"},
        {"channelId": "x", "targetTenantUserId": "t"},
    ]
    response = await client.post(f"{BOT}/StartFlowBulk", json={"items": items}, headers=PERMANENT)
    assert response.status_code == 200
    results = response.json()["result"]["items"]
    assert len(results) == 3
    assert results[1] == {"conversationId": "conv-1", "flowStarted": True}
    assert all(result["flowStarted"] for result in results)


@pytest.mark.parametrize(
    ("body", "members"),
    [
        ({"items": [FLOW, {"targetUserMasterId": "u"}]}, ["items[1].channelId"]),
        ({"items": []}, ["items"]),
        ({"items": {"0": FLOW}}, ["items"]),
        ({"items": [FLOW, "x"]}, ["items[1]."]),
    ],
)
async def test_start_flow_bulk_validates_every_item(client: httpx.AsyncClient, body: Any, members: list[str]) -> None:
    assert validation_members(await client.post(f"{BOT}/StartFlowBulk", json=body, headers=PERMANENT)) == members


# -- state, signals and switches (on the simulator alone, to look at its state) ----------------------------------


@pytest.fixture
async def druid_alone() -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = druid.create_app(Control())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://druid") as client:
        yield app, client


async def test_started_flows_are_recorded_and_a_bad_bulk_starts_none(
    druid_alone: tuple[Starlette, httpx.AsyncClient],
) -> None:
    app, client = druid_alone
    state: druid.DruidState = app.state.druid
    events: list[str] = []
    state.subscribe(lambda event, data: events.append(event))
    await client.post("/api/Druid/bot-1/StartFlow", json=FLOW, headers=PERMANENT)
    bad_bulk = {"items": [FLOW, {"channelId": "web"}]}
    assert (await client.post("/api/Druid/bot-1/StartFlowBulk", json=bad_bulk, headers=PERMANENT)).status_code == 400
    (flow,) = state.flows
    assert (flow.bot_id, flow.channel_id, flow.target_kind, flow.target_id) == (
        "bot-1",
        "web",
        "targetUserMasterId",
        "user-42",
    )
    assert flow.flow_id == "welcome"
    assert events == ["flow.started"]


@pytest.mark.parametrize("kind", ["MediatelAgentConnected", "UiPathAttended"])
async def test_signals_pass_their_json_body_through(
    druid_alone: tuple[Starlette, httpx.AsyncClient], kind: str
) -> None:
    app, client = druid_alone
    body = {"conversationId": "conv-1", "agent": {"name": "Ana"}, "extra": [1, 2]}
    response = await client.post(f"/api/Druid/bot-1/{kind}", json=body, headers=PERMANENT)
    assert response.status_code == 200
    assert response.json()["result"] is None
    assert response.json()["success"] is True
    (signal,) = app.state.druid.signals
    assert (signal.kind, signal.body) == (kind, body)


async def test_signals_need_a_token(client: httpx.AsyncClient) -> None:
    abp_error(await client.post(f"{BOT}/UiPathAttended", json={}), 401)


async def test_calls_are_counted_per_route_template(client: httpx.AsyncClient) -> None:
    await login(client)
    await client.post(f"{BOT}/StartFlow", json=FLOW, headers=PERMANENT)
    await client.post(f"{BOT}/StartFlow", json=FLOW, headers=PERMANENT)
    await client.post(f"{BOT}/MediatelAgentConnected", json={}, headers=PERMANENT)
    calls = (await client.get("/_control/calls")).json()["druid"]
    assert calls == {
        "POST /api/services/app/WebAPIService/ExternalAuthenticate": 1,
        "POST /api/Druid/{botId}/StartFlow": 2,
        "POST /api/Druid/{botId}/MediatelAgentConnected": 1,
    }
    await client.delete("/_control/calls")
    assert (await client.get("/_control/calls")).json()["druid"] == {}


@pytest.mark.parametrize("status", [401, 503])
async def test_an_injected_fault_answers_an_abp_error_envelope(client: httpx.AsyncClient, status: int) -> None:
    await client.post("/_control/faults", json={"target": "druid", "status": status})
    response = await client.post(f"{BOT}/StartFlow", json=FLOW, headers=PERMANENT)
    abp_error(response, status)
    await client.delete("/_control/faults")
    assert (await client.post(f"{BOT}/StartFlow", json=FLOW, headers=PERMANENT)).status_code == 200
