"""Webhook mutations end to end over the UiPath, Dixa and Auco simulators.

Errors are checked for their code, what they name, and that no write went upstream (the simulator's registry is
unchanged); secrets given to a write never come back in a response.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from typing import Any

import pytest

from schema.ids import encode_id
from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error, session, writes
from tests.support.sandbox import Sandbox

HOOK = """id source provider providerId name url enabled subscribeToAllEvents events hasSecret allowInsecureSsl
  authorizationType"""
CREATE = f"""mutation($input: CreateWebhookInput!) {{
  createWebhook(input: $input) {{ clientMutationId webhook {{ {HOOK} }} }}
}}"""
UPDATE = f"""mutation($input: UpdateWebhookInput!) {{
  updateWebhook(input: $input) {{ clientMutationId webhook {{ {HOOK} }} }}
}}"""
DELETE = "mutation($input: DeleteWebhookInput!) { deleteWebhook(input: $input) { deletedId clientMutationId } }"
PING = "mutation($input: PingWebhookInput!) { pingWebhook(input: $input) { type eventId timestamp clientMutationId } }"


def registry(sandbox: Sandbox, source: str) -> Any:
    """A copy of one simulator's webhook registry."""
    state = sandbox.state(source)
    held = {"uipath": "webhooks", "dixa": "subscriptions", "auco": "company"}[source]
    return copy.deepcopy(getattr(state, held))


def assert_no_secret(gateway: Gateway, query: str, variables: dict[str, Any], *secrets: str) -> dict[str, Any]:
    """Run a mutation over plain HTTP and check that no secret appears anywhere in the raw answer."""
    response = gateway.post(query, variables)
    assert response.status_code == 200
    for secret in secrets:
        assert secret not in response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    answer: dict[str, Any] = body["data"]
    return answer


# -- UiPath ---------------------------------------------------------------------------------------------------------


async def test_uipath_webhook_lifecycle(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    created = assert_no_secret(
        shared_gateway,
        CREATE,
        {
            "input": {
                "source": "uipath",
                "url": "https://example.com/hooks/jobs",
                "events": ["job.started", "job.completed"],
                "secret": "s3cr3t-value",
                "allowInsecureSsl": True,
                "clientMutationId": "c",
            }
        },
        "s3cr3t-value",
    )["createWebhook"]
    hook = created["webhook"]
    assert created["clientMutationId"] == "c"
    assert (hook["provider"], hook["events"], hook["hasSecret"], hook["allowInsecureSsl"]) == (
        "UIPATH",
        ["job.started", "job.completed"],
        True,
        True,
    )
    native = int(hook["providerId"])
    assert sandbox.state("uipath").webhooks[native].secret == "s3cr3t-value"

    updated = data(
        await gql(shared_gateway, UPDATE, {"input": {"id": hook["id"], "enabled": False, "events": ["job.faulted"]}})
    )
    assert (updated["updateWebhook"]["webhook"]["enabled"], updated["updateWebhook"]["webhook"]["events"]) == (
        False,
        ["job.faulted"],
    )
    assert sandbox.state("uipath").webhooks[native].enabled is False

    ping = data(await gql(shared_gateway, PING, {"input": {"id": hook["id"], "clientMutationId": "p"}}))["pingWebhook"]
    assert (ping["type"], ping["clientMutationId"]) == ("ping", "p")
    assert ping["eventId"]
    assert ping["timestamp"]

    deleted = data(await gql(shared_gateway, DELETE, {"input": {"id": hook["id"], "clientMutationId": "d"}}))
    assert deleted["deleteWebhook"] == {"deletedId": hook["id"], "clientMutationId": "d"}
    assert native not in sandbox.state("uipath").webhooks


@pytest.mark.parametrize(
    ("source", "extra", "field"),
    [
        ("dixa", {"description": "d", "events": ["ConversationCreated"]}, "description"),
        ("uipath", {"customHeaders": {"X-A": "1"}}, "customHeaders"),
        ("auco", {"secret": "s"}, "secret"),
        ("auco", {"events": ["document.CREATE"]}, "events"),
        ("dixa", {"secret": "s", "events": ["ConversationCreated"]}, "secret"),
        ("dixa", {"allowInsecureSsl": True, "events": ["ConversationCreated"]}, "allowInsecureSsl"),
    ],
    ids=[
        "description-on-dixa",
        "headers-on-uipath",
        "secret-on-auco",
        "events-on-auco",
        "secret-on-dixa",
        "ssl-on-dixa",
    ],
)
async def test_a_field_the_source_lacks_names_field_and_source_with_no_write(
    shared_gateway: Gateway, sandbox: Sandbox, source: str, extra: dict[str, Any], field: str
) -> None:
    before = registry(sandbox, source)
    sandbox.clear_calls()
    variables = {"input": {"source": source, "url": "https://example.com/h", **extra}}
    error = only_error(await gql(shared_gateway, CREATE, variables))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert (error["extensions"]["field"], error["extensions"]["source"]) == (field, source)
    assert field in error["message"]
    assert source in error["message"]
    assert writes(sandbox, source) == {}
    assert registry(sandbox, source) == before


async def test_updating_with_a_field_the_source_lacks_makes_no_write(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    before = registry(sandbox, "uipath")
    sandbox.clear_calls()
    error = only_error(
        await gql(shared_gateway, UPDATE, {"input": {"id": encode_id("Webhook", "uipath", 4), "customHeaders": {}}})
    )
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "customHeaders")
    assert writes(sandbox, "uipath") == {}
    assert registry(sandbox, "uipath") == before


@pytest.mark.parametrize(("source", "event"), [("uipath", "job.exploded"), ("dixa", "ConversationExploded")])
async def test_an_event_outside_the_catalogue_is_refused_before_any_write(
    shared_gateway: Gateway, sandbox: Sandbox, source: str, event: str
) -> None:
    before = registry(sandbox, source)
    sandbox.clear_calls()
    variables = {"input": {"source": source, "url": "https://example.com/h", "events": [event], "name": "n"}}
    if source == "uipath":
        del variables["input"]["name"]
    error = only_error(await gql(shared_gateway, CREATE, variables))
    assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", "events")
    assert event in error["message"]
    assert writes(sandbox, source) == {}
    assert registry(sandbox, source) == before


async def test_ping_where_the_source_has_none_is_capability_unsupported(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    [dixa_id] = list(sandbox.state("dixa").subscriptions)
    sandbox.clear_calls()
    error = only_error(await gql(shared_gateway, PING, {"input": {"id": encode_id("Webhook", "dixa", dixa_id)}}))
    assert error["extensions"]["code"] == "CAPABILITY_UNSUPPORTED"
    assert (error["extensions"]["source"], error["extensions"]["capability"]) == ("dixa", "PING")
    assert writes(sandbox, "dixa") == {}


async def test_a_source_without_a_registry_is_capability_unsupported(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    error = only_error(
        await gql(shared_gateway, CREATE, {"input": {"source": "workflowgen", "url": "https://e.com/h"}})
    )
    assert error["extensions"]["code"] == "CAPABILITY_UNSUPPORTED"
    assert (error["extensions"]["source"], error["extensions"]["capability"]) == ("workflowgen", "WEBHOOKS")
    assert sandbox.total_calls("workflowgen") == 0


# -- Dixa -----------------------------------------------------------------------------------------------------------


async def test_dixa_webhook_lifecycle(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    variables = {
        "input": {
            "source": "dixa",
            "name": "Closed conversations",
            "url": "https://example.com/dixa",
            "events": ["ConversationClosed"],
            "authorization": {"basic": {"username": "bot", "password": "pa55word"}},
            "customHeaders": {"X-Team": "support"},
        }
    }
    hook = assert_no_secret(shared_gateway, CREATE, variables, "pa55word")["createWebhook"]["webhook"]
    assert (hook["name"], hook["events"], hook["authorizationType"]) == (
        "Closed conversations",
        ["ConversationClosed"],
        "BASIC",
    )
    stored = sandbox.state("dixa").subscriptions[hook["providerId"]]
    assert stored.authorization == {"_type": "BasicAuth", "username": "bot", "password": "pa55word"}
    assert stored.custom_headers == {"X-Team": "support"}

    update = {"input": {"id": hook["id"], "name": "Renamed", "authorization": {"token": "tok-123"}}}
    updated = assert_no_secret(shared_gateway, UPDATE, update, "tok-123")["updateWebhook"]["webhook"]
    assert (updated["name"], updated["authorizationType"]) == ("Renamed", "TOKEN")
    assert sandbox.state("dixa").subscriptions[hook["providerId"]].authorization == {
        "_type": "TokenAuth",
        "value": "tok-123",
    }

    data(await gql(shared_gateway, DELETE, {"input": {"id": hook["id"]}}))
    assert hook["providerId"] not in sandbox.state("dixa").subscriptions


# -- Auco -----------------------------------------------------------------------------------------------------------


def auco_ids(sandbox: Sandbox) -> list[str]:
    return [item["id"] for item in sandbox.state("auco").company["webhooks"]]


async def test_auco_webhook_lifecycle(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    seed = auco_ids(sandbox)
    variables = {
        "input": {
            "source": "auco",
            "name": "Signed documents",
            "url": "https://example.com/auco",
            "authorization": {"header": {"key": "X-Token", "value": "hdr-secret"}},
        }
    }
    hook = assert_no_secret(shared_gateway, CREATE, variables, "hdr-secret")["createWebhook"]["webhook"]
    # Only Auco's `default` receives every notification; this one gets those of documents that list it.
    assert (hook["name"], hook["authorizationType"], hook["subscribeToAllEvents"]) == (
        "Signed documents",
        "HEADER",
        False,
    )
    assert hook["providerId"] in auco_ids(sandbox)

    updated = data(await gql(shared_gateway, UPDATE, {"input": {"id": hook["id"], "url": "https://example.com/auco2"}}))
    assert updated["updateWebhook"]["webhook"]["url"] == "https://example.com/auco2"
    item = next(i for i in sandbox.state("auco").company["webhooks"] if i["id"] == hook["providerId"])
    assert item["url"] == "https://example.com/auco2"
    assert item["header"] == {"key": "X-Token", "value": "hdr-secret"}, "an update keeps what it does not change"

    data(await gql(shared_gateway, DELETE, {"input": {"id": hook["id"]}}))
    assert auco_ids(sandbox) == seed


async def test_deleting_the_auco_default_webhook_is_refused(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    before = registry(sandbox, "auco")
    sandbox.clear_calls()
    error = only_error(await gql(shared_gateway, DELETE, {"input": {"id": encode_id("Webhook", "auco", "default")}}))
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "default" in error["message"]
    assert writes(sandbox, "auco") == {}
    assert registry(sandbox, "auco") == before


@pytest.mark.parametrize("replicas", [1, 2])
async def test_twenty_concurrent_auco_creates_all_land(
    gateway_factory: Any, sandbox: Sandbox, tmp_path: Any, replicas: int
) -> None:
    """With two replicas sharing one store, only the store's lock keeps their read-modify-writes apart."""
    store = f"sqlite:///{tmp_path}/shared.db"
    gateways = [gateway_factory(store=store) for _ in range(replicas)]
    sandbox.fault("auco", latency_ms=10)  # widens the window in which unserialised writes would overlap
    before = auco_ids(sandbox)
    async with contextlib.AsyncExitStack() as stack:
        runs = [await stack.enter_async_context(session(g)) for g in gateways]
        results = await asyncio.gather(
            *(
                runs[i % replicas](
                    CREATE, {"input": {"source": "auco", "name": f"hook {i}", "url": f"https://example.com/{i}"}}
                )
                for i in range(20)
            )
        )
    created = {data(result)["createWebhook"]["webhook"]["providerId"] for result in results}
    assert len(created) == 20
    after = auco_ids(sandbox)
    assert after[: len(before)] == before
    assert set(after) == set(before) | created
    assert sandbox.calls()["auco"]["PUT /v1.5/ext/company"] == 20
