"""DRUID mutations end to end: flows, bulk flows, the two signals, and one shared token for many calls."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error, session
from tests.support.sandbox import Sandbox

START = """mutation($input: StartFlowInput!) { startFlow(input: $input) { result clientMutationId } }"""
START_MANY = """mutation($input: StartFlowsInput!) { startFlows(input: $input) { result clientMutationId } }"""
AGENT = """mutation($input: ConversationSignalInput!) {
  notifyAgentConnected(input: $input) { result clientMutationId }
}"""
ROBOT = """mutation($input: ConversationSignalInput!) {
  notifyAttendedRobot(input: $input) { result clientMutationId }
}"""
LOGIN = "POST /api/services/app/WebAPIService/ExternalAuthenticate"
TARGETS = ("targetUserMasterId", "targetConversationId", "targetTenantUserId")


def flows(sandbox: Sandbox) -> list[Any]:
    return list(sandbox.state("druid").flows)


async def test_start_flow_for_one_target(gateway: Gateway, sandbox: Sandbox) -> None:
    variables = {
        "input": {
            "botId": "bot-1",
            "channelId": "web",
            "targetConversationId": "conv-7",
            "flowId": "welcome",
            "entityContextData": '{"order": 12}',
            "conversationLanguage": "en",
            "clientMutationId": "f1",
        }
    }
    payload = data(await gql(gateway, START, variables))["startFlow"]
    assert payload == {"result": {"conversationId": "conv-7", "flowStarted": True}, "clientMutationId": "f1"}
    [flow] = flows(sandbox)
    assert (flow.bot_id, flow.channel_id, flow.target_kind, flow.flow_id) == (
        "bot-1",
        "web",
        "targetConversationId",
        "welcome",
    )
    assert flow.entity_context_data == '{"order": 12}'


@pytest.mark.parametrize(
    "targets",
    [{}, {"targetUserMasterId": "u1", "targetTenantUserId": "t1"}],
    ids=["no-target", "two-targets"],
)
async def test_start_flow_needs_exactly_one_target_before_any_call(
    gateway: Gateway, sandbox: Sandbox, targets: dict[str, str]
) -> None:
    sandbox.clear_calls()
    result = await gql(gateway, START, {"input": {"botId": "bot-1", "channelId": "web", **targets}})
    error = only_error(result)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] in TARGETS
    assert all(name in error["message"] for name in TARGETS)
    assert sandbox.total_calls("druid") == 0, "not even a login"
    assert flows(sandbox) == []


async def test_unknown_bot_is_an_upstream_refusal_that_starts_nothing(gateway: Gateway, sandbox: Sandbox) -> None:
    result = await gql(gateway, START, {"input": {"botId": "bot-9", "channelId": "web", "targetUserMasterId": "u"}})
    error = only_error(result)
    assert error["extensions"]["code"] in ("NOT_FOUND", "UPSTREAM_ERROR")
    assert error["extensions"]["source"] == "druid"
    assert "bot-9" in error["message"]
    assert flows(sandbox) == []


async def test_start_flows_in_one_bulk_call(gateway: Gateway, sandbox: Sandbox) -> None:
    items = [
        {"channelId": "web", "targetUserMasterId": "u1"},
        {"channelId": "sms", "targetTenantUserId": "t2", "flowUtterance": "hello"},
    ]
    variables = {"input": {"botId": "bot-1", "items": items, "clientMutationId": "bulk"}}
    payload = data(await gql(gateway, START_MANY, variables))["startFlows"]
    assert payload["clientMutationId"] == "bulk"
    assert [item["flowStarted"] for item in payload["result"]["items"]] == [True, True]
    assert [(f.channel_id, f.target_id) for f in flows(sandbox)] == [("web", "u1"), ("sms", "t2")]
    assert sandbox.calls()["druid"]["POST /api/Druid/{botId}/StartFlowBulk"] == 1


async def test_a_bad_item_names_its_index_and_starts_nothing(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    items = [{"channelId": "web", "targetUserMasterId": "u1"}, {"channelId": "web"}]
    error = only_error(await gql(gateway, START_MANY, {"input": {"botId": "bot-1", "items": items}}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"].startswith("items[1].")
    assert "items[1]." in error["message"]
    assert sandbox.total_calls("druid") == 0
    assert flows(sandbox) == []


@pytest.mark.parametrize(("query", "field", "kind"), [(AGENT, "notifyAgentConnected", "MediatelAgentConnected"),
                                                       (ROBOT, "notifyAttendedRobot", "UiPathAttended")])  # fmt: skip
async def test_signals_pass_their_data_through(
    gateway: Gateway, sandbox: Sandbox, query: str, field: str, kind: str
) -> None:
    body = {"conversationId": "conv-1", "agent": {"id": 7, "name": "Ada"}}
    payload = data(await gql(gateway, query, {"input": {"botId": "bot-1", "data": body, "clientMutationId": "s"}}))
    assert payload[field] == {"result": None, "clientMutationId": "s"}
    [signal] = sandbox.state("druid").signals
    assert (signal.bot_id, signal.kind, signal.body) == ("bot-1", kind, body)


async def test_a_source_without_conversations_is_capability_unsupported(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    variables = {"input": {"source": "uipath", "botId": "bot-1", "data": {}}}
    error = only_error(await gql(gateway, AGENT, variables))
    assert error["extensions"]["code"] == "CAPABILITY_UNSUPPORTED"
    assert (error["extensions"]["source"], error["extensions"]["capability"]) == ("uipath", "CONVERSATIONS")
    assert all(sum(calls.values()) == 0 for calls in sandbox.calls().values())


async def test_one_login_for_fifty_concurrent_flows_and_one_more_after_expiry(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    sandbox.fault("druid", latency_ms=30)  # keeps the calls (and the login) in flight together
    async with session(gateway) as run:

        async def start(index: int) -> None:
            variables = {"input": {"botId": "bot-1", "channelId": "web", "targetUserMasterId": f"user-{index}"}}
            data(await run(START, variables))

        await asyncio.gather(*(start(i) for i in range(50)))
        assert sandbox.calls()["druid"][LOGIN] == 1
        sandbox.advance_clock(1801)  # every token DRUID issued has now expired, before the gateway's clock says so

        async def after_expiry(index: int) -> str:
            variables = {"input": {"botId": "bot-1", "channelId": "web", "targetUserMasterId": f"user-{index}"}}
            result = await run(START, variables)
            if result.errors is None:
                return "started"
            [error] = result.errors
            assert (error["extensions"]["code"], error["extensions"]["status"]) == ("UPSTREAM_ERROR", 401)
            return "refused"

        # A flow refused with 401 is reported, not resent (DRUID does not say it was not processed); the first
        # 401 drops the token and the calls after it share one login.
        outcomes = await asyncio.gather(*(after_expiry(i) for i in range(50, 100)))
    assert "refused" in outcomes
    assert sandbox.calls()["druid"][LOGIN] == 2
    assert sandbox.calls()["druid"]["POST /api/Druid/{botId}/StartFlow"] == 100  # each flow sent once
    assert len(flows(sandbox)) == 50 + outcomes.count("started")
