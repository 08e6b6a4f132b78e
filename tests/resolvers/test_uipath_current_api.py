"""UiPath through the gateway as current Orchestrator has it (issue 12): names and descriptions on create, read and
update, the ping's ids, and ``triggerCustomEvent``. A real server and a real GraphQL client over the sandbox."""

from __future__ import annotations

from schema.ids import encode_id
from tests.support.gateway import Gateway
from tests.support.operations import data, gql, only_error, writes
from tests.support.sandbox import Sandbox

HOOK = "id providerId name description url"
CREATE = f"mutation($input: CreateWebhookInput!) {{ createWebhook(input: $input) {{ webhook {{ {HOOK} }} }} }}"
UPDATE = f"mutation($input: UpdateWebhookInput!) {{ updateWebhook(input: $input) {{ webhook {{ {HOOK} }} }} }}"
PING = """mutation($input: PingWebhookInput!) {
  pingWebhook(input: $input) { type tenantId organizationUnitId userId }
}"""
TRIGGER = """mutation($input: TriggerCustomEventInput!) {
  triggerCustomEvent(input: $input) { type eventId timestamp eventType data clientMutationId }
}"""


async def test_create_read_and_update_carry_name_and_description(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    variables = {"input": {"source": "uipath", "url": "https://example.com/hooks/a", "name": "A", "description": "d"}}
    hook = data(await gql(shared_gateway, CREATE, variables))["createWebhook"]["webhook"]
    assert (hook["name"], hook["description"]) == ("A", "d")
    unnamed = {"input": {"source": "uipath", "url": "https://example.com/hooks/b?k=v"}}
    made = data(await gql(shared_gateway, CREATE, unnamed))["createWebhook"]["webhook"]
    assert (made["name"], made["description"]) == ("example.com/hooks/b", None)
    read = data(await gql(shared_gateway, f'{{ webhook(id: "{encode_id("Webhook", "uipath", 4)}") {{ {HOOK} }} }}'))
    assert read["webhook"]["name"] == "Documentation webhook"
    changed = {"input": {"id": hook["id"], "name": "A2", "description": None}}
    updated = data(await gql(shared_gateway, UPDATE, changed))["updateWebhook"]["webhook"]
    assert (updated["name"], updated["description"]) == ("A2", None)
    stored = sandbox.state("uipath").webhooks[int(hook["providerId"])]
    assert (stored.name, stored.description) == ("A2", None)


async def test_ping_answers_tenant_folder_and_user(shared_gateway: Gateway) -> None:
    ping = data(await gql(shared_gateway, PING, {"input": {"id": encode_id("Webhook", "uipath", 4)}}))["pingWebhook"]
    assert ping == {"type": "ping", "tenantId": "57", "organizationUnitId": None, "userId": "583"}


async def test_trigger_custom_event_posts_trigger_custom(shared_gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    variables = {"input": {"eventType": "order.shipped", "data": {"order": 7}, "clientMutationId": "t"}}
    event = data(await gql(shared_gateway, TRIGGER, variables))["triggerCustomEvent"]
    assert (event["type"], event["eventType"], event["data"], event["clientMutationId"]) == (
        "custom",
        "order.shipped",
        {"order": 7},
        "t",
    )
    assert writes(sandbox, "uipath") == {"POST /odata/Webhooks/UiPath.Server.Configuration.OData.TriggerCustom": 1}


async def test_trigger_custom_event_refuses_bad_input_before_any_call(
    shared_gateway: Gateway, sandbox: Sandbox
) -> None:
    sandbox.clear_calls()
    for variables, field in [
        ({"eventType": "x", "data": [1]}, "data"),
        ({"eventType": " "}, "eventType"),
        ({"eventType": "x", "source": "dixa"}, None),
    ]:
        error = only_error(await gql(shared_gateway, TRIGGER, {"input": variables}))
        if field is None:
            assert error["extensions"]["code"] == "CAPABILITY_UNSUPPORTED"
        else:
            assert (error["extensions"]["code"], error["extensions"]["field"]) == ("BAD_USER_INPUT", field)
    assert writes(sandbox, "uipath") == {}
