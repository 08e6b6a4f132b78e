"""The Dixa adapter against the Dixa simulator: subscriptions, their authorizations, delivery statuses and logs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from gateway.domain.records import WebhookAuthorization, WebhookFilter, WebhookSpec
from gateway.errors import BadUserInput, NotFound, UpstreamError
from gateway.providers.dixa.adapter import DixaAdapter, authorization_type
from gateway.providers.dixa.catalogue import EVENTS
from gateway.store import Store, open_store
from tests.support.adapters import MakeAdapter
from tests.support.sandbox import Sandbox

SEED = "3f9a6d2e-8b1c-4e57-a0d4-6c2b9e1f7a35"
SEED_URL = "https://dashboard.example.com/hooks/dixa"
ONE = "GET /v1/webhooks/{webhookSubscriptionId}"


@pytest.fixture
def dixa(make_adapter: MakeAdapter) -> DixaAdapter:
    adapter: DixaAdapter = make_adapter("dixa")
    return adapter


def raw_subscription(sandbox: Sandbox, sid: str) -> dict[str, Any]:
    """The subscription as Dixa stores it, read around the adapter."""
    response = httpx.get(f"{sandbox.url}/dixa/v1/webhooks/{sid}", headers={"Authorization": "sandbox-dixa-key"})
    data: dict[str, Any] = response.raise_for_status().json()["data"]
    return data


def spec(**fields: Any) -> WebhookSpec:
    return WebhookSpec(**{"url": "https://hooks.example.com/dixa", "name": "Test", **fields})


# --- reads ------------------------------------------------------------------------------------------------------


async def test_list_answers_the_seed_without_its_credentials(dixa: DixaAdapter) -> None:
    [record] = await dixa.list_webhooks(WebhookFilter())
    assert (record.provider_id, record.name, record.url, record.enabled) == (
        SEED,
        "Dashboard Integration",
        SEED_URL,
        True,
    )
    assert record.events == ("ConversationCreated", "ConversationAssigned", "ConversationClosed", "ConversationRated")
    assert (record.authorization_type, record.has_secret, record.subscribe_to_all_events) == ("TOKEN", True, False)
    assert record.created_at is not None
    assert record.updated_at is not None
    assert record.created_at.isoformat() == "2023-03-09T10:41:39.523000+00:00"
    for secret in ("dashboard-ingest-token", "73616e64626f78", "sandbox-dixa-key"):
        assert secret not in repr(record) + repr(dixa)


async def test_list_filters_locally(dixa: DixaAdapter) -> None:
    other = await dixa.create_webhook(spec(events=("TypingStarted",), enabled=False))
    ids = [r.provider_id for r in await dixa.list_webhooks(WebhookFilter(enabled=False))]
    assert ids == [other.provider_id]
    assert [r.provider_id for r in await dixa.list_webhooks(WebhookFilter(url=SEED_URL))] == [SEED]
    assert [r.provider_id for r in await dixa.list_webhooks(WebhookFilter(event_type="TypingStarted"))] == [
        other.provider_id
    ]


async def test_list_follows_meta_next_when_dixa_pages(make_adapter: MakeAdapter) -> None:
    pages = {
        "/v1/webhooks": {"data": [{"id": SEED, "url": SEED_URL}], "meta": {"next": "/v1/webhooks?pageKey=2"}},
        "/v1/webhooks?pageKey=2": {"data": [{"id": str(uuid.UUID(int=2)), "url": "https://b.example"}], "meta": {}},
    }

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix("/dixa")
        return httpx.Response(200, json=pages[path])

    adapter: DixaAdapter = make_adapter("dixa", transport=httpx.MockTransport(answer))
    assert [r.url for r in await adapter.list_webhooks(WebhookFilter())] == [SEED_URL, "https://b.example"]


async def test_get_webhooks_is_one_call_per_distinct_id(dixa: DixaAdapter, sandbox: Sandbox) -> None:
    missing = str(uuid.uuid4())
    answer = await dixa.get_webhooks([SEED, missing, "not-a-uuid", SEED.upper(), SEED])
    assert [r.provider_id if r else None for r in answer] == [SEED, None, None, SEED, SEED]
    assert sandbox.calls()["dixa"] == {ONE: 2}


async def test_a_failing_id_fails_the_batch(dixa: DixaAdapter, sandbox: Sandbox) -> None:
    sandbox.fault("dixa", status=500)
    with pytest.raises(UpstreamError) as caught:
        await dixa.get_webhooks([SEED, str(uuid.uuid4())])
    assert caught.value.status == 500


async def test_event_types_are_the_32_documented_by_group(dixa: DixaAdapter) -> None:
    types = await dixa.event_types()
    assert [t.name for t in types] == list(EVENTS)
    assert len(types) == 32
    groups: dict[str, int] = {}
    for t in types:
        groups[t.group] = groups.get(t.group, 0) + 1
    assert groups == {"Conversation": 23, "SLAEvaluation": 4, "Agent": 4, "Typing": 1}


async def test_delivery_statuses_answer_the_last_delivery_per_event(dixa: DixaAdapter) -> None:
    statuses = await dixa.delivery_statuses(SEED)
    assert statuses is not None
    by_event = {s.event: s.last_delivery for s in statuses}
    assert list(by_event) == ["ConversationCreated", "ConversationAssigned", "ConversationClosed", "ConversationRated"]
    assigned = by_event["ConversationAssigned"]
    assert assigned is not None
    assert (assigned.success, assigned.response_code, assigned.response_text) == (False, 503, "Service Unavailable")
    assert by_event["ConversationRated"] is None  # NoRecentDelivery


async def test_delivery_log_answers_the_newest_decoded_payloads(dixa: DixaAdapter) -> None:
    entries = await dixa.delivery_log(SEED, "ConversationCreated", 1)
    assert entries is not None
    [entry] = entries
    assert entry.payload["event_fqn"] == "CONVERSATION_CREATED"
    assert entry.payload["data"]["conversation"]["csid"] == 1042
    assert entry.delivery.success is True
    all_entries = await dixa.delivery_log(SEED, "ConversationCreated", 20)
    assert all_entries is not None
    assert len(all_entries) == 2
    assert await dixa.delivery_log(SEED, "TypingStarted", 20) == []
    assert await dixa.delivery_log(SEED, "ConversationCreated", 0) == []


async def test_delivery_reads_of_a_missing_subscription_are_none(dixa: DixaAdapter, sandbox: Sandbox) -> None:
    missing = str(uuid.uuid4())
    assert await dixa.delivery_statuses(missing) is None
    assert await dixa.delivery_log(missing, "ConversationCreated", 5) is None
    calls = sandbox.total_calls("dixa")
    assert await dixa.delivery_statuses("not-a-uuid") is None
    assert sandbox.total_calls("dixa") == calls


async def test_delivery_log_of_an_unknown_event_is_bad_user_input_without_a_call(
    dixa: DixaAdapter, sandbox: Sandbox
) -> None:
    with pytest.raises(BadUserInput) as caught:
        await dixa.delivery_log(SEED, "conversation.created", 5)
    assert caught.value.extensions["field"] == "event"
    assert sandbox.total_calls("dixa") == 0


async def test_payloads_that_are_not_json_are_kept_as_strings(make_adapter: MakeAdapter) -> None:
    detail = {"_type": "DeliveryDetail", "deliveryTimestamp": "2024-01-02T03:04:05.678Z", "success": True}
    body = {"data": [{"deliveryDetail": detail, "payload": "plain text"}, {"payload": "{}"}, {"unknown": 1}]}
    adapter: DixaAdapter = make_adapter("dixa", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body)))
    entries = await adapter.delivery_log(SEED, "ConversationCreated", 10)
    assert entries is not None
    assert [e.payload for e in entries] == ["plain text"]  # entries without a delivery have nothing to show


# --- writes -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (WebhookAuthorization(type="BASIC", username="user", password="basic-password"), "BASIC"),
        (WebhookAuthorization(type="TOKEN", token="token-value"), "TOKEN"),
        (WebhookAuthorization(type="NONE"), "NONE"),
        (WebhookAuthorization(type="HEADER", header_key="Authorization", header_value="Custom header-value"), "HEADER"),
    ],
)
async def test_create_keeps_the_kind_of_authorization_never_its_credentials(
    dixa: DixaAdapter, authorization: WebhookAuthorization, expected: str
) -> None:
    record = await dixa.create_webhook(spec(events=("ConversationClosed",), authorization=authorization))
    assert (record.authorization_type, record.name, record.events) == (expected, "Test", ("ConversationClosed",))
    assert record.has_secret is True  # Dixa's secretKey
    for secret in ("basic-password", "token-value", "header-value"):
        assert secret not in repr(record)


async def test_a_header_authorization_becomes_a_custom_header(dixa: DixaAdapter, sandbox: Sandbox) -> None:
    auth = WebhookAuthorization(type="HEADER", header_key="X-Api-Key", header_value="key-value")
    record = await dixa.create_webhook(spec(authorization=auth, custom_headers={"X-Other": "1"}))
    assert raw_subscription(sandbox, record.provider_id)["headers"] == {"X-Other": "1", "X-Api-Key": "key-value"}
    # Dixa's answer cannot tell this header from any other custom header [likely limitation].
    assert record.authorization_type == "NONE"


async def test_create_without_a_name_is_refused_before_any_call(dixa: DixaAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(BadUserInput) as caught:
        await dixa.create_webhook(WebhookSpec(url="https://hooks.example.com/x"))
    assert caught.value.extensions["field"] == "name"
    assert sandbox.total_calls("dixa") == 0


async def test_an_incomplete_authorization_is_refused(dixa: DixaAdapter) -> None:
    with pytest.raises(BadUserInput):
        await dixa.create_webhook(spec(authorization=WebhookAuthorization(type="BASIC", username="only-user")))


async def test_update_patches_only_the_given_fields(dixa: DixaAdapter, sandbox: Sandbox) -> None:
    record = await dixa.update_webhook(SEED, WebhookSpec(name="Renamed", enabled=False))
    assert (record.name, record.enabled, record.url, record.authorization_type) == ("Renamed", False, SEED_URL, "TOKEN")
    assert sandbox.calls()["dixa"] == {"PATCH /v1/webhooks/{webhookSubscriptionId}": 1}


async def test_switching_to_a_header_authorization_keeps_the_other_custom_headers(
    dixa: DixaAdapter, sandbox: Sandbox
) -> None:
    auth = WebhookAuthorization(type="HEADER", header_key="X-Api-Key", header_value="key-value")
    record = await dixa.update_webhook(SEED, WebhookSpec(authorization=auth))
    assert record.authorization_type == "NONE"
    # The seed's TokenAuth is gone, its own custom header stays, and the new header joins it.
    assert raw_subscription(sandbox, SEED)["headers"] == {"X-Dashboard-Source": "dixa", "X-Api-Key": "key-value"}


async def test_custom_headers_none_clears_them(dixa: DixaAdapter, sandbox: Sandbox) -> None:
    await dixa.update_webhook(SEED, WebhookSpec(custom_headers=None))  # type: ignore[arg-type]
    assert raw_subscription(sandbox, SEED)["headers"] == {"Authorization": "Bearer dashboard-ingest-token"}


async def test_delete_removes_the_subscription(dixa: DixaAdapter) -> None:
    await dixa.delete_webhook(SEED)
    assert await dixa.get_webhooks([SEED]) == [None]
    with pytest.raises(NotFound):
        await dixa.delete_webhook(SEED)
    with pytest.raises(NotFound):
        await dixa.update_webhook("not-a-uuid", WebhookSpec(name="x"))


async def test_a_wrong_api_key_is_a_401_without_the_key(make_adapter: MakeAdapter) -> None:
    adapter: DixaAdapter = make_adapter("dixa", api_key="wrong-dixa-key")
    with pytest.raises(UpstreamError) as caught:
        await adapter.list_webhooks(WebhookFilter())
    assert caught.value.status == 401
    assert "User is unauthorized" in str(caught.value)
    assert "wrong-dixa-key" not in str(caught.value)


def test_authorization_type_reads_the_scheme_only() -> None:
    assert authorization_type({"authorization": "Basic dXNlcjpwYXNz"}) == "BASIC"
    assert authorization_type({"Authorization": "Bearer x"}) == "TOKEN"
    assert authorization_type({"Authorization": "ApiKey x"}) == "HEADER"
    assert authorization_type({"X-Other": "1"}) == "NONE"
    assert authorization_type(None) == "NONE"


# --- per-subscription secret keys ---------------------------------------------------------------------------------


@pytest.fixture
async def key_store() -> AsyncIterator[Store]:
    store = await open_store("sqlite:///:memory:")
    yield store
    await store.aclose()


async def test_keys_are_learned_from_lists_creates_and_reads_and_forgotten_on_delete(
    make_adapter: MakeAdapter, key_store: Store, sandbox: Sandbox
) -> None:
    dixa: DixaAdapter = make_adapter("dixa", extras={"verification_keys": key_store})
    await dixa.list_webhooks(WebhookFilter())
    assert await key_store.verification_keys("dixa") == ["sandbox"]  # the seed subscription's own key
    record = await dixa.create_webhook(spec())
    created_key = raw_subscription(sandbox, record.provider_id)["secretKey"]
    assert sorted(await key_store.verification_keys("dixa")) == sorted(["sandbox", created_key])
    assert created_key not in repr(record)
    await dixa.delete_webhook(record.provider_id)
    assert await key_store.verification_keys("dixa") == ["sandbox"]


async def test_a_list_replaces_keys_of_subscriptions_deleted_elsewhere(
    make_adapter: MakeAdapter, key_store: Store, sandbox: Sandbox
) -> None:
    await key_store.verification_keys_set("dixa", {"3c9d6a1e-0000-4000-8000-000000000000": "gone-key"})
    dixa: DixaAdapter = make_adapter("dixa", extras={"verification_keys": key_store})
    await dixa.list_webhooks(WebhookFilter())
    assert await key_store.verification_keys("dixa") == ["sandbox"]


async def test_records_keep_created_by_and_updated_by(dixa: DixaAdapter) -> None:
    (seed,) = await dixa.list_webhooks(WebhookFilter())
    assert seed.created_by == "6e1b7c3d-2a4f-4d8e-b5a9-3c7f1e2d4b6a"
    assert seed.updated_by == "6e1b7c3d-2a4f-4d8e-b5a9-3c7f1e2d4b6a"


class CountingKeys:
    """The real store, with its key writes counted (every dashboard read lists Dixa: unchanged keys cost nothing)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes = 0

    async def verification_keys_set(self, source: str, keys: Any, *, replace: bool = False) -> None:
        self.writes += 1
        await self.store.verification_keys_set(source, keys, replace=replace)

    async def verification_key_delete(self, source: str, subscription_id: str) -> None:
        await self.store.verification_key_delete(source, subscription_id)


async def test_unchanged_keys_are_written_once_until_a_refresh_or_a_change(
    make_adapter: MakeAdapter, key_store: Store, sandbox: Sandbox
) -> None:
    keys = CountingKeys(key_store)
    dixa: DixaAdapter = make_adapter("dixa", extras={"verification_keys": keys})
    for _ in range(3):
        await dixa.list_webhooks(WebhookFilter())
    assert keys.writes == 1
    await dixa.create_webhook(spec())  # a new key: written
    await dixa.list_webhooks(WebhookFilter())  # the same keys as known now
    assert keys.writes == 2
    assert await dixa.refresh_verification_keys()  # a delivery matched no stored key: write what Dixa lists
    assert keys.writes == 3
    assert len(await key_store.verification_keys("dixa")) == 2
