"""Idempotency-Key end to end: one upstream write per key, replayed answers, and when a key is released.

The rules are in ``gateway/idempotency.py``'s docstring; each test below holds one of them.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from gateway import idempotency
from tests.support.client import execute
from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error, session, wfg_snapshot, writes
from tests.support.sandbox import Sandbox

CREATE = """mutation($input: CreateRequestInput!) {
  createRequest(input: $input) { clientMutationId request { id number status openedAt } }
}"""
CREATE_MORE = """mutation($input: CreateRequestInput!) {
  createRequest(input: $input) {
    clientMutationId
    request { number processName status dataset { name textValue } actions { number name status } }
  }
}"""
INPUT = {"input": {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "REASON", "textValue": "Taxi"}]}}
HOOK_CALL = "POST /wfgen/hooks/{token}"


def hook_calls(sandbox: Sandbox) -> int:
    return sandbox.calls()["workflowgen"].get(HOOK_CALL, 0)


def request_count(sandbox: Sandbox) -> int:
    return len(sandbox.state("workflowgen").requests)


async def test_a_repeated_key_creates_one_request_and_replays_the_first_answer(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    first = data(await gql(gateway, CREATE, INPUT, key="create-1"))
    response = gateway.post(CREATE, INPUT, headers={"Idempotency-Key": "create-1"})
    assert response.json()["data"] == first
    assert response.headers["idempotent-replayed"] == "true"
    assert hook_calls(sandbox) == 1
    assert request_count(sandbox) == 2  # the seed's request 1, and one new request


async def test_a_replay_may_select_other_fields_of_the_payload(gateway: Gateway, sandbox: Sandbox) -> None:
    data(await gql(gateway, CREATE, INPUT, key="fields"))
    sandbox.clear_calls()
    replay = data(await gql(gateway, CREATE_MORE, INPUT, key="fields"))["createRequest"]["request"]
    assert (replay["number"], replay["processName"], replay["status"]) == (2, "EXPENSE_CLAIM", "OPEN")
    assert {"name": "REASON", "textValue": "Taxi"} in replay["dataset"]
    assert replay["actions"] == [{"number": 1, "name": "APPROVAL", "status": "OPEN"}]
    assert writes(sandbox, "workflowgen") == {}


async def test_ten_concurrent_repeats_make_one_upstream_write(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.fault("workflowgen", latency_ms=100)  # the first is still running when the others arrive
    async with session(gateway, key="concurrent") as run:
        results = await asyncio.gather(*(run(CREATE, INPUT) for _ in range(10)))
    answers = [data(result) for result in results]
    assert all(answer == answers[0] for answer in answers)
    assert hook_calls(sandbox) == 1
    assert request_count(sandbox) == 2


async def test_the_same_key_for_another_input_is_refused(gateway: Gateway, sandbox: Sandbox) -> None:
    data(await gql(gateway, CREATE, INPUT, key="reused"))
    before = wfg_snapshot(sandbox)
    other = {"input": {**INPUT["input"], "isTest": True}}
    error = only_error(await gql(gateway, CREATE, other, key="reused"))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (error["extensions"]["reason"], error["extensions"]["field"]) == (
        "IDEMPOTENCY_KEY_REUSED",
        "Idempotency-Key",
    )
    assert hook_calls(sandbox) == 1
    assert wfg_snapshot(sandbox) == before


async def test_keys_are_per_principal(gateway_factory: Any, sandbox: Sandbox) -> None:
    def key(name: str) -> dict[str, Any]:
        digest = hashlib.sha256(f"{name}-secret".encode()).hexdigest()
        return {"name": name, "key_sha256": digest, "scopes": ["read", "write"]}

    gateway = gateway_factory(api_keys=[key("alice"), key("bob")])
    for name in ("alice", "bob"):
        headers = {"Authorization": f"Bearer {name}-secret", "Idempotency-Key": "shared"}
        data(await execute(gateway.graphql_url, CREATE, INPUT, headers=headers))
    assert hook_calls(sandbox) == 2
    assert request_count(sandbox) == 3


async def test_a_validation_failure_releases_the_key_for_the_corrected_request(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    bad = {"input": {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "REASON"}]}}
    assert only_error(await gql(gateway, CREATE, bad, key="fix-me"))["extensions"]["field"] == "parameters[0]"
    data(await gql(gateway, CREATE, INPUT, key="fix-me"))
    assert hook_calls(sandbox) == 1
    assert request_count(sandbox) == 2


async def test_an_upstream_refusal_releases_the_key(gateway: Gateway, sandbox: Sandbox) -> None:
    unknown = {"input": {"processName": "NO_SUCH_PROCESS"}}
    assert only_error(await gql(gateway, CREATE, unknown, key="refused"))["extensions"]["code"] == "NOT_FOUND"
    data(await gql(gateway, CREATE, INPUT, key="refused"))
    assert hook_calls(sandbox) == 2
    assert request_count(sandbox) == 2


async def test_an_unknown_outcome_is_recorded_and_never_sent_twice(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.fault("workflowgen", status=503)
    first = only_error(await gql(gateway, CREATE, INPUT, key="unknown"))
    assert (first["extensions"]["code"], first["extensions"]["status"]) == ("UPSTREAM_ERROR", 503)
    sandbox.clear_faults()
    sandbox.clear_calls()
    before = wfg_snapshot(sandbox)
    again = only_error(await gql(gateway, CREATE, INPUT, key="unknown"))
    assert again["message"] == first["message"]
    assert again["extensions"] == {**first["extensions"], "replayed": True}
    assert sandbox.total_calls("workflowgen") == 0
    assert wfg_snapshot(sandbox) == before


async def test_without_a_key_nothing_is_stored_and_a_failed_write_is_not_retried(
    gateway: Gateway, sandbox: Sandbox
) -> None:
    data(await gql(gateway, CREATE, INPUT))
    data(await gql(gateway, CREATE, INPUT))
    assert request_count(sandbox) == 3
    sandbox.fault("workflowgen", status=503)
    sandbox.clear_calls()
    assert only_error(await gql(gateway, CREATE, INPUT))["extensions"]["code"] == "UPSTREAM_ERROR"
    assert hook_calls(sandbox) == 1


async def test_a_repeat_that_outwaits_the_first_gets_a_coded_conflict(
    gateway: Gateway, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "WAIT_S", 0.2)  # the gateway runs in this process, on its own thread
    sandbox.fault("workflowgen", latency_ms=800)
    first = asyncio.ensure_future(gql(gateway, CREATE, INPUT, key="slow"))
    for _ in range(200):  # until the first has reached WorkflowGen: it owns the key by then
        await asyncio.sleep(0.02)
        if hook_calls(sandbox):
            break
    error = only_error(await gql(gateway, CREATE, INPUT, key="slow"))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (error["extensions"]["reason"], error["extensions"]["field"]) == (
        "IDEMPOTENCY_KEY_IN_PROGRESS",
        "Idempotency-Key",
    )
    answer = data(await first)
    sandbox.clear_faults()
    assert data(await gql(gateway, CREATE, INPUT, key="slow")) == answer
    assert hook_calls(sandbox) == 1


@pytest.mark.parametrize("key", ["x" * 256, ""], ids=["too-long", "empty"])
async def test_a_malformed_key_is_refused_before_any_call(gateway: Gateway, sandbox: Sandbox, key: str) -> None:
    sandbox.clear_calls()
    error = only_error(await gql(gateway, CREATE, INPUT, key=key))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "Idempotency-Key")
    assert sandbox.total_calls("workflowgen") == 0


async def test_one_key_covers_one_mutation_field(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    query = """mutation($input: CreateRequestInput!) {
      a: createRequest(input: $input) { request { number } }
      b: createRequest(input: $input) { request { number } }
    }"""
    result = await gql(gateway, query, INPUT, key="two-fields")
    assert result.errors is not None
    assert {e["extensions"]["field"] for e in result.errors} == {"Idempotency-Key"}  # type: ignore[index]
    assert sandbox.total_calls("workflowgen") == 0


async def test_druid_and_webhook_mutations_replay_too(gateway: Gateway, sandbox: Sandbox) -> None:
    start = "mutation($input: StartFlowInput!) { startFlow(input: $input) { result } }"
    flow = {"input": {"botId": "bot-1", "channelId": "web", "targetUserMasterId": "u1"}}
    first = data(await gql(gateway, start, flow, key="flow"))
    assert data(await gql(gateway, start, flow, key="flow")) == first
    assert sandbox.calls()["druid"]["POST /api/Druid/{botId}/StartFlow"] == 1

    create = """mutation($input: CreateWebhookInput!) {
      createWebhook(input: $input) { webhook { id provider url events hasSecret createdAt eventTypes { name } } }
    }"""
    hook = {"input": {"source": "uipath", "url": "https://example.com/h", "events": ["job.started"], "secret": "s"}}
    first = data(await gql(gateway, create, hook, key="hook"))
    assert data(await gql(gateway, create, hook, key="hook")) == first
    assert sandbox.calls()["uipath"]["POST /odata/Webhooks"] == 1

    # Dixa's deliveryStatuses load only when selected: the replay builds them afresh, as the first answer did.
    create = """mutation($input: CreateWebhookInput!) {
      createWebhook(input: $input) { webhook { id name events eventTypes { name } deliveryStatuses { event } } }
    }"""
    hook = {"input": {"source": "dixa", "name": "n", "url": "https://example.com/d", "events": ["ConversationClosed"]}}
    first = data(await gql(gateway, create, hook, key="dixa"))
    assert first["createWebhook"]["webhook"]["eventTypes"] == [{"name": "ConversationClosed"}]
    assert data(await gql(gateway, create, hook, key="dixa")) == first
    assert sandbox.calls()["dixa"]["POST /v1/webhooks"] == 1
