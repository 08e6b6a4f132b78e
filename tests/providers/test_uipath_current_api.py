"""The UiPath adapter against the simulator of current Orchestrator (issue 12): Name and Description, updates on
tenants with and without PATCH, the ping's ids, TriggerCustom. Real HTTP to the sandbox throughout."""

from __future__ import annotations

import httpx
import pytest

from gateway.domain.records import WebhookFilter, WebhookSpec
from gateway.errors import BadUserInput, NotFound
from gateway.providers.uipath.adapter import UiPathAdapter, default_name
from tests.support.adapters import MakeAdapter
from tests.support.sandbox import Sandbox

DOC_URL = "http://documentation.azurewebsites.net/webhook/documentation"
ITEM = "/odata/Webhooks({id})"


@pytest.fixture
def uipath(make_adapter: MakeAdapter) -> UiPathAdapter:
    adapter: UiPathAdapter = make_adapter("uipath")
    return adapter


def refuse_patch(sandbox: Sandbox, how: int | bool) -> None:
    httpx.post(f"{sandbox.url}/_control/options", json={"uipath.refuse_patch": how}).raise_for_status()


async def test_reads_carry_name_and_description(uipath: UiPathAdapter) -> None:
    four, ten = await uipath.list_webhooks(WebhookFilter())
    assert (four.name, four.description) == ("Documentation webhook", "The example of UiPath's API guide")
    assert (ten.name, ten.description) == ("Sandbox deliveries", None)
    [again] = await uipath.get_webhooks(["4"])
    assert again == four


async def test_create_sends_the_name_and_description_given(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    record = await uipath.create_webhook(
        WebhookSpec(url="https://hooks.example.com/orders", name="Orders", description="Order jobs")
    )
    assert (record.name, record.description) == ("Orders", "Order jobs")
    stored = sandbox.state("uipath").webhooks[int(record.provider_id)]
    assert (stored.name, stored.description) == ("Orders", "Order jobs")


async def test_create_without_a_name_sends_one_made_from_host_and_path(uipath: UiPathAdapter) -> None:
    # The sandbox, like current Orchestrator, refuses a WebhookDto without Name: this create would fail without one.
    record = await uipath.create_webhook(WebhookSpec(url="https://user:pw@hooks.example.com/a/b/?token=t#f"))
    assert record.name == "hooks.example.com/a/b"
    assert record.description is None


def test_default_names_never_carry_credentials_or_queries_and_fit_128_characters() -> None:
    assert default_name("https://hooks.example.com") == "hooks.example.com"
    assert default_name("https://u:secret@h.example.com:8443/x?k=secret") == "h.example.com/x"
    assert len(default_name("https://h.example.com/" + "p" * 300)) == 128


async def test_update_patches_name_and_description(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    record = await uipath.update_webhook("4", WebhookSpec(name="Renamed", description=None))
    assert (record.name, record.description, record.url, len(record.events)) == ("Renamed", None, DOC_URL, 5)
    assert sandbox.calls()["uipath"] == {f"PATCH {ITEM}": 1}


async def test_a_name_cannot_be_cleared(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(BadUserInput) as caught:
        await uipath.update_webhook("4", WebhookSpec(name=None))
    assert caught.value.extensions["field"] == "name"
    assert sandbox.total_calls("uipath") == 0


@pytest.mark.parametrize("how", [405, 404], ids=["405", "404-no-route"])
async def test_a_tenant_without_patch_gets_the_full_dto_by_put(
    make_adapter: MakeAdapter, sandbox: Sandbox, how: int
) -> None:
    refuse_patch(sandbox, how)
    adapter: UiPathAdapter = make_adapter("uipath")
    record = await adapter.update_webhook("4", WebhookSpec(enabled=False))
    # Everything the update did not name survives the PUT: name, description, secret, events.
    assert (record.enabled, record.url, record.has_secret, len(record.events)) == (False, DOC_URL, True, 5)
    assert (record.name, record.description) == ("Documentation webhook", "The example of UiPath's API guide")
    record = await adapter.update_webhook("4", WebhookSpec(description="Changed"))
    assert (record.enabled, record.description) == (False, "Changed")
    # PATCH tried once, then learnt; every PUT preceded by the GET it merges.
    assert sandbox.calls()["uipath"] == {f"PATCH {ITEM}": 1, f"GET {ITEM}": 2, f"PUT {ITEM}": 2}


@pytest.mark.parametrize("how", [405, 404], ids=["405", "404-no-route"])
async def test_a_tenant_without_patch_still_reports_a_missing_webhook_as_not_found(
    make_adapter: MakeAdapter, sandbox: Sandbox, how: int
) -> None:
    refuse_patch(sandbox, how)
    adapter: UiPathAdapter = make_adapter("uipath")
    with pytest.raises(NotFound):
        await adapter.update_webhook("999", WebhookSpec(enabled=False))
    # And an existing webhook is never taken for a missing one, before or after PATCH is learnt missing.
    assert (await adapter.update_webhook("10", WebhookSpec(enabled=True))).enabled is True
    assert (await adapter.update_webhook("10", WebhookSpec(enabled=False))).enabled is False
    with pytest.raises(NotFound):
        await adapter.update_webhook("999", WebhookSpec(enabled=False))


async def test_a_tenant_with_patch_reports_a_missing_webhook_without_falling_back(
    uipath: UiPathAdapter, sandbox: Sandbox
) -> None:
    with pytest.raises(NotFound):
        await uipath.update_webhook("999", WebhookSpec(enabled=False))
    assert sandbox.calls()["uipath"] == {f"PATCH {ITEM}": 1}


async def test_ping_keeps_tenant_folder_and_user(uipath: UiPathAdapter) -> None:
    ping = await uipath.ping_webhook("4")
    assert (ping.type, ping.tenant_id, ping.organization_unit_id, ping.user_id) == ("ping", "57", None, "583")


async def test_trigger_custom_posts_the_event_and_reads_the_custom_event_back(
    uipath: UiPathAdapter, sandbox: Sandbox
) -> None:
    raised: list[dict[str, object]] = []
    state = sandbox.state("uipath")

    def hear(event: str, data: dict[str, object]) -> None:
        if event == "webhook.custom":
            raised.append(data)

    state.listeners.append(hear)
    try:
        event = await uipath.trigger_custom_event("order.shipped", {"Order": 1001})
    finally:
        state.listeners.remove(hear)
    assert (event.type, event.event_type, event.data) == ("custom", "order.shipped", {"Order": 1001})
    assert len(event.event_id) == 32
    assert event.timestamp.tzinfo is not None
    assert sandbox.calls()["uipath"] == {"POST /odata/Webhooks/UiPath.Server.Configuration.OData.TriggerCustom": 1}
    [sent] = raised
    assert sent["event"] == {
        "Type": "custom",
        "EventId": event.event_id,
        "Timestamp": sent["event"]["Timestamp"],  # type: ignore[index]
        "EventData": {"EventType": "order.shipped", "EventData": {"Order": 1001}},
        "TenantId": 57,
        "OrganizationUnitId": 1,
        "UserId": 583,
    }


async def test_delete_then_read_answers_nothing(uipath: UiPathAdapter) -> None:
    created = await uipath.create_webhook(WebhookSpec(url="https://hooks.example.com/gone"))
    await uipath.delete_webhook(created.provider_id)
    assert await uipath.get_webhooks([created.provider_id]) == [None]
