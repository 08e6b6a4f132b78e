"""The DRUID adapter against the sandbox simulator over HTTP: token sharing and refresh, validation, ABP answers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.config import Settings, sandbox_sources
from gateway.domain.records import Capability
from gateway.errors import BadUserInput, NotFound, UpstreamError
from gateway.providers.druid.adapter import DruidAdapter
from gateway.providers.druid.config import DruidSource
from gateway.providers.registry import build_adapter
from tests.support.sandbox import Sandbox

AUTH = "POST /api/services/app/WebAPIService/ExternalAuthenticate"
START = "POST /api/Druid/{botId}/StartFlow"
BULK = "POST /api/Druid/{botId}/StartFlowBulk"
PERMANENT_TOKEN = "sandbox-druid-token"
FLOW = {"channelId": "web", "targetUserMasterId": "user-1"}


def source(sandbox: Sandbox, **overrides: Any) -> DruidSource:
    return DruidSource.model_validate({**sandbox_sources(sandbox.url)["druid"], **overrides})


def static_source(sandbox: Sandbox, token: str = PERMANENT_TOKEN) -> DruidSource:
    return source(sandbox, token=token, username=None, password=None, tenant=None)


def make(config: DruidSource) -> DruidAdapter:
    adapter = build_adapter("druid", config)
    assert isinstance(adapter, DruidAdapter)
    return adapter


@pytest.fixture
async def druid(settings: Settings) -> AsyncIterator[DruidAdapter]:
    adapter = build_adapter("druid", settings.sources["druid"])
    assert isinstance(adapter, DruidAdapter)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def static_druid(sandbox: Sandbox) -> AsyncIterator[DruidAdapter]:
    adapter = make(static_source(sandbox))
    yield adapter
    await adapter.aclose()


def calls(sandbox: Sandbox, route: str) -> int:
    return sandbox.calls()["druid"].get(route, 0)


# -- conversations -------------------------------------------------------------------------------------------------


def test_declares_conversations(druid: DruidAdapter) -> None:
    assert druid.capabilities == {Capability.CONVERSATIONS}


async def test_start_flow_returns_the_abp_result(druid: DruidAdapter, sandbox: Sandbox) -> None:
    result = await druid.start_flow("bot-1", {"channelId": "web", "targetConversationId": "conv-9", "flowId": None})
    assert result == {"conversationId": "conv-9", "flowStarted": True}
    assert (calls(sandbox, AUTH), calls(sandbox, START)) == (1, 1)


async def test_an_empty_bot_id_means_the_configured_bot(druid: DruidAdapter) -> None:
    result = await druid.start_flow("", FLOW)
    assert result["flowStarted"] is True


async def test_start_flows_is_one_bulk_call(druid: DruidAdapter, sandbox: Sandbox) -> None:
    items = [FLOW, {"channelId": "web", "targetTenantUserId": "t-2", "conversationLanguage": "en"}]
    result = await druid.start_flows("bot-1", items)
    assert [item["flowStarted"] for item in result["items"]] == [True, True]
    assert calls(sandbox, BULK) == 1


@pytest.mark.parametrize("signal", ["MediatelAgentConnected", "UiPathAttended"])
async def test_signals_pass_their_data_through(druid: DruidAdapter, sandbox: Sandbox, signal: str) -> None:
    assert await druid.signal("bot-1", signal, {"agentId": "a-1", "conversationId": "c-1"}) is None
    assert calls(sandbox, f"POST /api/Druid/{{botId}}/{signal}") == 1


async def test_a_404_is_a_refused_path_or_syntax_never_not_found(druid: DruidAdapter) -> None:
    """DRUID documents 404 as "the syntax of the call is incorrect": NOT_FOUND would hide a wrong path."""
    with pytest.raises(UpstreamError, match="refused the call's path or syntax") as caught:
        await druid.start_flow("bot-404", FLOW)
    assert not isinstance(caught.value, NotFound)
    assert "Entity type: Bot" in str(caught.value)  # DRUID's own reason is kept
    assert caught.value.extensions["source"] == "druid"
    assert (caught.value.extensions["code"], caught.value.extensions["status"]) == ("UPSTREAM_ERROR", 404)


async def test_a_wrong_endpoints_path_says_the_path_was_refused(sandbox: Sandbox) -> None:
    adapter = make(source(sandbox, endpoints_url=f"{sandbox.url}/druid/wrong-prefix"))
    try:
        with pytest.raises(UpstreamError, match="path or syntax") as caught:
            await adapter.start_flow("bot-1", FLOW)
    finally:
        await adapter.aclose()
    assert not isinstance(caught.value, NotFound)
    assert "The syntax of the call is incorrect" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"tenant": "Other"}, "Invalid tenant: 'Other'"),
        ({"username": "admin"}, "Invalid user name: 'admin'"),
        ({"password": "Wrong-Druid-Password-9"}, "Invalid password for user 'sandbox'"),
    ],
)
async def test_a_refused_login_shows_druids_reason_not_only_the_status(
    sandbox: Sandbox, change: dict[str, str], reason: str
) -> None:
    adapter = make(source(sandbox, **change))
    try:
        with pytest.raises(UpstreamError) as caught:
            await adapter.start_flow("bot-1", FLOW)
    finally:
        await adapter.aclose()
    assert reason in str(caught.value)
    assert "HTTP 400" not in str(caught.value)
    assert "Wrong-Druid-Password-9" not in str(caught.value)


# -- validation before any call ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"targetUserMasterId": "u"}, "channelId"),
        ({"channelId": "", "targetUserMasterId": "u"}, "channelId"),
        ({"channelId": "web"}, "targetUserMasterId"),
        ({"channelId": "web", "targetUserMasterId": "u", "targetConversationId": "c"}, "targetConversationId"),
        ({"channelId": "web", "targetUserMasterId": 42}, "targetUserMasterId"),
        ({"channelId": "web", "targetUserMasterId": "u", "entityContextData": {"a": 1}}, "entityContextData"),
        ({"channelId": "web", "targetUserMasterId": "u", "botId": "bot-1"}, "botId"),
    ],
    ids=["no-channel", "empty-channel", "no-target", "two-targets", "number", "object", "unknown-field"],
)
async def test_bad_start_flow_bodies_name_the_field_and_call_nobody(
    druid: DruidAdapter, sandbox: Sandbox, body: dict[str, Any], field: str
) -> None:
    with pytest.raises(BadUserInput) as caught:
        await druid.start_flow("bot-1", body)
    assert caught.value.extensions["field"] == field
    assert field in str(caught.value)
    assert caught.value.extensions["source"] == "druid"
    assert sandbox.total_calls("druid") == 0


async def test_a_bad_bulk_item_names_its_index_and_nothing_starts(druid: DruidAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(BadUserInput, match=r"items\[1\]\.channelId") as caught:
        await druid.start_flows("bot-1", [FLOW, {"targetUserMasterId": "u"}])
    assert caught.value.extensions["field"] == "items[1].channelId"
    with pytest.raises(BadUserInput, match="non-empty"):
        await druid.start_flows("bot-1", [])
    with pytest.raises(BadUserInput, match=r"items\[0\] must be an object"):
        await druid.start_flows("bot-1", ["not an object"])  # type: ignore[list-item]
    assert sandbox.total_calls("druid") == 0


async def test_an_unknown_signal_calls_nobody(druid: DruidAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(BadUserInput, match="not a DRUID signal"):
        await druid.signal("bot-1", "AgentDisconnected", {})
    assert sandbox.total_calls("druid") == 0


async def test_no_bot_at_all_is_a_user_error(sandbox: Sandbox) -> None:
    adapter = make(source(sandbox, bot_id=None))
    try:
        with pytest.raises(BadUserInput, match="botId"):
            await adapter.start_flow("", FLOW)
    finally:
        await adapter.aclose()
    assert sandbox.total_calls("druid") == 0


# -- the token -----------------------------------------------------------------------------------------------------


async def test_one_token_serves_concurrent_calls_and_one_refresh_follows_expiry(
    druid: DruidAdapter, sandbox: Sandbox
) -> None:
    first = await asyncio.gather(*(druid.start_flow("bot-1", FLOW) for _ in range(50)))
    assert all(result["flowStarted"] for result in first)
    assert calls(sandbox, AUTH) == 1
    assert calls(sandbox, START) == 50

    sandbox.advance_clock(1801)  # every issued token has expired for DRUID, before the gateway's clock says so
    second = await asyncio.gather(*(druid.start_flow("bot-1", FLOW) for _ in range(50)), return_exceptions=True)
    # Calls that went out with the old token get its 401 (a write is not resent, see below); the first 401 drops
    # the token, and the calls after it share one login.
    refused = [r for r in second if isinstance(r, BaseException)]
    assert refused
    assert all(isinstance(r, UpstreamError) and r.status == 401 for r in refused)
    assert all(r["flowStarted"] for r in second if not isinstance(r, BaseException))
    assert calls(sandbox, AUTH) == 2
    assert calls(sandbox, START) == 100  # each call sent once
    assert (await druid.start_flow("bot-1", FLOW))["flowStarted"]
    assert calls(sandbox, AUTH) == 2


async def test_a_flow_refused_with_401_is_sent_once_and_the_next_call_logs_in(
    druid: DruidAdapter, sandbox: Sandbox
) -> None:
    # DRUID does not document that a request refused with 401 was not processed (providers.md: a token expires
    # after 1800 s or is revoked, then 401), so a write is never resent after one: a flow could start twice.
    await druid.start_flow("bot-1", FLOW)
    sandbox.clear_calls()
    sandbox.advance_clock(1801)  # the token expired for DRUID; the gateway still holds it

    with pytest.raises(UpstreamError) as caught:
        await druid.start_flow("bot-1", FLOW)
    assert caught.value.status == 401
    assert caught.value.extensions["code"] == "UPSTREAM_ERROR"
    assert "not sent again" in caught.value.message
    assert sandbox.calls()["druid"] == {START: 1}

    result = await druid.start_flow("bot-1", FLOW)  # the token was dropped: one login, then the flow
    assert result["flowStarted"] is True
    assert sandbox.calls()["druid"] == {START: 2, AUTH: 1}


async def test_a_revoked_token_fails_one_write_and_the_next_logs_in(druid: DruidAdapter, sandbox: Sandbox) -> None:
    await druid.start_flow("bot-1", FLOW)
    # A reset makes the simulator forget the tokens it issued (and clears the counts): ours is now unknown.
    async with httpx.AsyncClient() as control:
        (await control.post(f"{sandbox.url}/_control/reset")).raise_for_status()

    with pytest.raises(UpstreamError) as caught:
        await druid.start_flow("bot-1", FLOW)
    assert caught.value.status == 401
    assert sandbox.calls()["druid"] == {START: 1}
    await druid.signal("bot-1", "MediatelAgentConnected", {})  # the token was dropped: one login, then the signal
    assert sandbox.calls()["druid"] == {START: 1, AUTH: 1, "POST /api/Druid/{botId}/MediatelAgentConnected": 1}


async def test_a_failed_login_names_the_source_never_the_password(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "Wrong-Druid-Password-9"
    adapter = make(source(sandbox, password=secret))
    try:
        with pytest.raises(UpstreamError) as caught:
            await adapter.start_flow("bot-1", FLOW)
        assert secret not in repr(adapter)
    finally:
        await adapter.aclose()
    message = str(caught.value)
    assert "source 'druid' could not log in" in message
    assert "Invalid password" in message
    assert secret not in message
    assert secret not in repr(caught.value.extensions)
    assert secret not in caplog.text
    assert sandbox.calls()["druid"] == {AUTH: 1}  # StartFlow never went out


async def test_a_rejected_login_is_not_repeated_by_every_waiting_call(sandbox: Sandbox) -> None:
    # One rejected login per concurrent call would lock the account out at a real ABP tenant.
    adapter = make(source(sandbox, password="wrong"))
    try:
        results = await asyncio.gather(*(adapter.start_flow("bot-1", FLOW) for _ in range(50)), return_exceptions=True)
    finally:
        await adapter.aclose()
    assert all(isinstance(result, UpstreamError) for result in results)
    assert sandbox.calls()["druid"] == {AUTH: 1}


async def test_a_permanent_token_needs_no_login(static_druid: DruidAdapter, sandbox: Sandbox) -> None:
    result = await static_druid.start_flow("bot-1", FLOW)
    assert result["flowStarted"] is True
    assert sandbox.calls()["druid"] == {START: 1}
    assert PERMANENT_TOKEN not in repr(static_druid)


async def test_a_revoked_permanent_token_is_an_upstream_error(static_druid: DruidAdapter, sandbox: Sandbox) -> None:
    sandbox.options(**{"druid.permanent_token_revoked": True})
    with pytest.raises(UpstreamError, match="rejected its configured token") as caught:
        await static_druid.start_flow("bot-1", FLOW)
    assert caught.value.status == 401
    assert PERMANENT_TOKEN not in str(caught.value)
    assert sandbox.calls()["druid"] == {START: 1}


async def test_conversation_calls_are_never_retried(sandbox: Sandbox) -> None:
    adapter = make(static_source(sandbox).model_copy(update={"retries": 3}))
    sandbox.fault("druid", status=503)
    try:
        with pytest.raises(UpstreamError) as caught:
            await adapter.start_flow("bot-1", FLOW)
    finally:
        await adapter.aclose()
    assert caught.value.status == 503
    assert sandbox.calls()["druid"] == {START: 1}


# -- probe ---------------------------------------------------------------------------------------------------------


async def test_probe_logs_in(druid: DruidAdapter) -> None:
    result = await druid.probe()
    assert (result.reachable, result.authenticated) == (True, True)
    assert "Documentation" in result.detail


async def test_probe_reports_a_failed_login(sandbox: Sandbox) -> None:
    adapter = make(source(sandbox, password="nope"))
    try:
        result = await adapter.probe()
    finally:
        await adapter.aclose()
    assert (result.reachable, result.authenticated) == (True, False)
    assert "nope" not in result.detail


async def test_probe_with_a_permanent_token_says_it_is_unverified(static_druid: DruidAdapter) -> None:
    result = await static_druid.probe()
    assert (result.reachable, result.authenticated) == (True, True)
    assert "permanent token" in result.detail


async def test_probe_reports_an_unreachable_portal() -> None:
    config = DruidSource.model_validate(
        {
            "base_url": "http://127.0.0.1:9",
            "endpoints_url": "http://127.0.0.1:9",
            "username": "u",
            "password": "p",
            "tenant": "t",
            "timeout_s": 2,
        }
    )
    adapter = make(config)
    try:
        result = await adapter.probe()
    finally:
        await adapter.aclose()
    assert (result.reachable, result.authenticated) == (False, False)
