"""The Auco adapter against the Auco simulator: one list per company, written whole under a per-account lock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import httpx
import pytest

from gateway.domain.records import WebhookAuthorization, WebhookFilter, WebhookSpec
from gateway.errors import BadUserInput, NotFound, UpstreamError, UpstreamTimeout
from gateway.providers.auco.adapter import AucoAdapter, lock_name, new_webhook_id
from tests.support.adapters import MakeAdapter
from tests.support.sandbox import Sandbox

GET = "GET /v1.5/ext/company"
PUT = "PUT /v1.5/ext/company"
HEADER = WebhookAuthorization(type="HEADER", header_key="X-Token", header_value="header-secret-value")


@pytest.fixture
def auco(make_adapter: MakeAdapter) -> AucoAdapter:
    adapter: AucoAdapter = make_adapter("auco")
    return adapter


def raw_webhooks(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    """The company's list as Auco stores it, read around the adapter."""
    response = httpx.get(f"{sandbox.url}/auco/v1.5/ext/company", headers={"Authorization": "puk_sandbox"})
    return {item["id"]: item for item in response.raise_for_status().json()["webhooks"]}


def shared_locks() -> Callable[[str], AbstractAsyncContextManager[None]]:
    """A lock factory as the store gives one: the same lock for the same name, whoever asks."""
    locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def lock(name: str) -> AsyncIterator[None]:
        async with locks.setdefault(name, asyncio.Lock()):
            yield

    return lock


@contextlib.asynccontextmanager
async def no_lock(name: str) -> AsyncIterator[None]:
    yield


async def create_concurrently(adapters: list[AucoAdapter], count: int) -> None:
    await asyncio.gather(
        *(
            adapters[i % len(adapters)].create_webhook(
                WebhookSpec(url=f"https://hooks.example.com/{i}", provider_id=f"hook-{i}", name=f"Hook {i}")
            )
            for i in range(count)
        )
    )


# --- reads ------------------------------------------------------------------------------------------------------


async def test_list_answers_the_company_webhooks_without_header_values(auco: AucoAdapter) -> None:
    records = await auco.list_webhooks(WebhookFilter())
    assert [(r.provider_id, r.name) for r in records] == [
        ("default", "Webhook principal"),
        ("Billing", "Billing notifications"),
    ]
    default, billing = records
    # Only default receives every notification [doc]; Billing only those of documents that list it.
    assert (default.subscribe_to_all_events, default.events, default.enabled) == (True, (), True)
    assert (billing.subscribe_to_all_events, billing.enabled) == (False, True)
    assert "document.FINISH" in billing.events
    assert "package.SIGNED_PACKAGE" in billing.events
    for record in records:
        assert (record.authorization_type, record.has_secret) == ("HEADER", False)
    assert "sandbox-auco-token" not in repr(records) + repr(auco)


async def test_list_filters_locally(auco: AucoAdapter) -> None:
    records = await auco.list_webhooks(WebhookFilter(url="https://miempresa.com/webhooks/auco/billing"))
    assert [r.provider_id for r in records] == ["Billing"]
    assert len(await auco.list_webhooks(WebhookFilter(event_type="document.FINISH"))) == 2
    assert await auco.list_webhooks(WebhookFilter(enabled=False)) == []


async def test_get_webhooks_reads_the_company_once(auco: AucoAdapter, sandbox: Sandbox) -> None:
    answer = await auco.get_webhooks(["Billing", "nope", "default", "Billing"])
    assert [r.provider_id if r else None for r in answer] == ["Billing", None, "default", "Billing"]
    assert sandbox.calls()["auco"] == {GET: 1}
    assert await auco.get_webhooks([]) == []
    assert sandbox.calls()["auco"] == {GET: 1}


async def test_event_types_are_the_documented_statuses(auco: AucoAdapter) -> None:
    types = await auco.event_types()
    names = [t.name for t in types]
    assert len(names) == 13
    assert names[:2] == ["document.CREATE", "document.FINISH"]
    assert names[-1] == "package.BLOCKED"
    assert {t.group for t in types} == {"document", "package"}
    assert all(t.name.startswith(t.group + ".") for t in types)


# --- writes -----------------------------------------------------------------------------------------------------


async def test_create_appends_to_the_list_in_one_get_and_one_put(auco: AucoAdapter, sandbox: Sandbox) -> None:
    record = await auco.create_webhook(
        WebhookSpec(url="https://hooks.example.com/ops", provider_id="ops", name="Ops", authorization=HEADER)
    )
    assert (record.provider_id, record.name, record.url, record.authorization_type) == (
        "ops",
        "Ops",
        "https://hooks.example.com/ops",
        "HEADER",
    )
    assert "header-secret-value" not in repr(record)
    assert sandbox.calls()["auco"] == {GET: 1, PUT: 1}
    stored = raw_webhooks(sandbox)
    assert list(stored) == ["default", "Billing", "ops"]
    assert stored["ops"]["header"] == {"key": "X-Token", "value": "header-secret-value"}
    # The others went back exactly as they were read, their header values included.
    assert stored["Billing"]["header"] == {"key": "X-Auco-Token", "value": "sandbox-auco-token"}


async def test_create_without_an_id_or_name_makes_them_up(auco: AucoAdapter, sandbox: Sandbox) -> None:
    named = await auco.create_webhook(WebhookSpec(url="https://hooks.example.com/a", name="Sales Team!"))
    assert named.provider_id.startswith("sales-team-")
    bare = await auco.create_webhook(WebhookSpec(url="https://hooks.example.com/b"))
    assert bare.provider_id.startswith("webhook-")
    assert bare.name == "https://hooks.example.com/b"  # Auco requires a description
    assert bare.authorization_type == "NONE"
    assert not raw_webhooks(sandbox)[bare.provider_id].get("header")


async def test_create_on_an_existing_id_is_refused_without_a_put(auco: AucoAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(BadUserInput) as caught:
        await auco.create_webhook(WebhookSpec(url="https://hooks.example.com/x", provider_id="Billing"))
    assert "Billing" in str(caught.value)
    assert caught.value.extensions["field"] == "providerId"
    assert sandbox.calls()["auco"] == {GET: 1}


@pytest.mark.parametrize(
    "spec",
    [
        WebhookSpec(url="https://hooks.example.com/x", provider_id="x", subscribe_to_all_events=True),
        WebhookSpec(url="https://hooks.example.com/x", provider_id="default", subscribe_to_all_events=False),
        WebhookSpec(url="https://hooks.example.com/x", authorization=WebhookAuthorization(type="TOKEN", token="t")),
        WebhookSpec(name="no url"),
    ],
)
async def test_what_auco_cannot_store_is_refused_before_any_call(
    auco: AucoAdapter, sandbox: Sandbox, spec: WebhookSpec
) -> None:
    with pytest.raises(BadUserInput):
        await auco.create_webhook(spec)
    assert sandbox.total_calls("auco") == 0


async def test_a_webhook_without_a_header_survives_later_writes(auco: AucoAdapter, sandbox: Sandbox) -> None:
    await auco.create_webhook(WebhookSpec(url="https://hooks.example.com/plain", provider_id="plain"))
    await auco.create_webhook(WebhookSpec(url="https://hooks.example.com/next", provider_id="next"))
    assert list(raw_webhooks(sandbox)) == ["default", "Billing", "plain", "next"]


async def test_update_changes_only_what_it_names(auco: AucoAdapter, sandbox: Sandbox) -> None:
    record = await auco.update_webhook("Billing", WebhookSpec(name="Invoices"))
    assert (record.name, record.authorization_type) == ("Invoices", "HEADER")
    assert raw_webhooks(sandbox)["Billing"]["header"]["value"] == "sandbox-auco-token"
    record = await auco.update_webhook("Billing", WebhookSpec(authorization=WebhookAuthorization(type="NONE")))
    assert record.authorization_type == "NONE"
    assert not raw_webhooks(sandbox)["Billing"].get("header")
    record = await auco.update_webhook("default", WebhookSpec(url="https://hooks.example.com/main"))
    assert (record.provider_id, record.url) == ("default", "https://hooks.example.com/main")


async def test_update_of_a_missing_webhook_or_of_its_id_is_refused(auco: AucoAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(NotFound):
        await auco.update_webhook("nope", WebhookSpec(name="x"))
    with pytest.raises(BadUserInput):
        await auco.update_webhook("Billing", WebhookSpec(provider_id="Renamed"))
    assert PUT not in sandbox.calls()["auco"]


async def test_delete_removes_one_webhook(auco: AucoAdapter, sandbox: Sandbox) -> None:
    await auco.delete_webhook("Billing")
    assert list(raw_webhooks(sandbox)) == ["default"]
    with pytest.raises(NotFound):
        await auco.delete_webhook("Billing")


async def test_the_default_webhook_cannot_be_deleted(auco: AucoAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(BadUserInput) as caught:
        await auco.delete_webhook("default")
    assert "'default'" in str(caught.value)
    assert sandbox.total_calls("auco") == 0


async def test_reads_use_the_public_key_and_writes_the_private_key(make_adapter: MakeAdapter) -> None:
    adapter: AucoAdapter = make_adapter("auco", private_key="prk_wrong_key")
    assert len(await adapter.list_webhooks(WebhookFilter())) == 2
    with pytest.raises(UpstreamError) as caught:
        await adapter.create_webhook(WebhookSpec(url="https://hooks.example.com/x"))
    assert caught.value.status == 401
    assert "Invalid or missing authentication" in str(caught.value)
    assert "prk_wrong_key" not in str(caught.value)


# --- concurrency ------------------------------------------------------------------------------------------------


async def test_concurrent_creates_through_one_adapter_all_survive(auco: AucoAdapter, sandbox: Sandbox) -> None:
    await create_concurrently([auco], 20)
    assert sandbox.calls()["auco"] == {GET: 20, PUT: 20}
    assert len(raw_webhooks(sandbox)) == 22


async def test_concurrent_creates_through_two_adapters_sharing_a_lock_all_survive(
    make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    lock = shared_locks()
    adapters: list[AucoAdapter] = [make_adapter("auco", extras={"lock": lock}) for _ in range(2)]
    sandbox.fault("auco", latency_ms=5)  # a wider window for a lost update, had the lock not held
    await create_concurrently(adapters, 20)
    assert len(raw_webhooks(sandbox)) == 22


async def test_adapters_of_one_account_share_the_default_lock(make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    adapters: list[AucoAdapter] = [make_adapter("auco") for _ in range(2)]
    await create_concurrently(adapters, 20)
    assert len(raw_webhooks(sandbox)) == 22


async def test_without_a_lock_concurrent_creates_lose_updates(make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    # The control experiment: it shows the tests above would catch a missing lock.
    adapters: list[AucoAdapter] = [make_adapter("auco", extras={"lock": no_lock}) for _ in range(2)]
    sandbox.fault("auco", latency_ms=5)
    await create_concurrently(adapters, 20)
    assert len(raw_webhooks(sandbox)) < 22


async def test_a_lock_held_elsewhere_times_out_without_writing(make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    lock = shared_locks()
    adapter: AucoAdapter = make_adapter("auco", timeout_s=0.3, extras={"lock": lock})
    async with lock(adapter.lock_name):
        with pytest.raises(UpstreamTimeout):
            await adapter.create_webhook(WebhookSpec(url="https://hooks.example.com/x"))
    assert sandbox.total_calls("auco") == 0


async def test_the_lock_name_is_per_account_and_holds_no_key(make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    one: AucoAdapter = make_adapter("auco")
    same: AucoAdapter = make_adapter("auco", timeout_s=3)
    other: AucoAdapter = make_adapter("auco", public_key="puk_other")
    assert one.lock_name == same.lock_name == lock_name(one.config)
    assert one.lock_name.startswith(f"auco:{sandbox.url}/auco/v1.5/ext:")
    assert other.lock_name != one.lock_name
    assert "puk_sandbox" not in one.lock_name
    assert "prk_sandbox" not in one.lock_name


def test_new_ids_are_slugs_with_a_random_suffix() -> None:
    assert new_webhook_id("Ñandú  Alerts").startswith("and-alerts-")
    assert new_webhook_id(None).startswith("webhook-")
    assert new_webhook_id("x") != new_webhook_id("x")


# --- a company with no webhooks -----------------------------------------------------------------------------------


def empty_the_company(sandbox: Sandbox) -> None:
    httpx.post(f"{sandbox.url}/_control/options", json={"auco.empty_company": True}).raise_for_status()


async def test_the_sandbox_can_start_a_company_with_no_webhooks(auco: AucoAdapter, sandbox: Sandbox) -> None:
    empty_the_company(sandbox)
    assert await auco.list_webhooks(WebhookFilter()) == []
    assert raw_webhooks(sandbox) == {}


async def test_the_first_webhook_of_an_empty_company_is_created_as_default(auco: AucoAdapter, sandbox: Sandbox) -> None:
    empty_the_company(sandbox)
    record = await auco.create_webhook(WebhookSpec(url="https://hooks.example.com/first", name="First"))
    assert (record.provider_id, record.name, record.subscribe_to_all_events) == ("default", "First", True)
    assert list(raw_webhooks(sandbox)) == ["default"]
    second = await auco.create_webhook(WebhookSpec(url="https://hooks.example.com/second", name="Second"))
    assert second.provider_id != "default"
    assert second.subscribe_to_all_events is False
    assert list(raw_webhooks(sandbox)) == ["default", second.provider_id]


async def test_another_id_first_on_an_empty_company_is_a_coded_error_that_says_how(
    auco: AucoAdapter, sandbox: Sandbox
) -> None:
    empty_the_company(sandbox)
    with pytest.raises(BadUserInput) as caught:
        await auco.create_webhook(WebhookSpec(url="https://hooks.example.com/x", provider_id="Billing"))
    extensions = caught.value.extensions
    assert (extensions["field"], extensions["reason"]) == ("providerId", "DEFAULT_WEBHOOK_REQUIRED")
    assert 'providerId: "default"' in str(caught.value)
    assert sandbox.calls()["auco"] == {GET: 1}  # nothing was written
    assert raw_webhooks(sandbox) == {}
