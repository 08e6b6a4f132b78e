"""The UiPath adapter against the Orchestrator simulator: OData push-down, paging, batching, writes, token flow."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from gateway.domain.records import WebhookFilter, WebhookSpec
from gateway.errors import BadUserInput, NotFound, UpstreamError
from gateway.providers.uipath.adapter import UiPathAdapter, odata_string, parse_id
from tests.support.adapters import MakeAdapter, record_urls
from tests.support.sandbox import Sandbox

DOC_URL = "http://documentation.azurewebsites.net/webhook/documentation"
LIST = "GET /odata/Webhooks"


@pytest.fixture
def uipath(make_adapter: MakeAdapter) -> UiPathAdapter:
    adapter: UiPathAdapter = make_adapter("uipath")
    return adapter


def oauth(sandbox: Sandbox, **changes: Any) -> dict[str, Any]:
    """Config changes for the client-credentials flow instead of the static token."""
    return {
        "token": None,
        "client_id": "sandbox-client",
        "client_secret": "sandbox-client-secret",
        "identity_url": f"{sandbox.url}/uipath",
        **changes,
    }


async def create_many(adapter: UiPathAdapter, count: int) -> list[str]:
    made = [
        await adapter.create_webhook(WebhookSpec(url=f"https://hooks.example.com/{i}", events=("job.completed",)))
        for i in range(count)
    ]
    return [record.provider_id for record in made]


# --- reads ------------------------------------------------------------------------------------------------------


async def test_list_answers_the_seed_as_records_without_secrets(uipath: UiPathAdapter) -> None:
    records = await uipath.list_webhooks(WebhookFilter())
    assert [r.provider_id for r in records] == ["4", "10"]
    four = records[0]
    assert (four.source, four.provider, four.url, four.enabled) == ("uipath", "uipath", DOC_URL, True)
    assert four.events == ("job.started", "process.created", "process.deleted", "process.updated", "queue.created")
    assert four.has_secret is True
    assert four.authorization_type is None
    assert records[1].subscribe_to_all_events is True
    assert "1234567890" not in repr(records) + repr(uipath)


async def test_url_and_enabled_filters_are_pushed_into_one_odata_call(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    sent = record_urls(uipath)
    records = await uipath.list_webhooks(WebhookFilter(url=DOC_URL, enabled=True))
    assert [r.provider_id for r in records] == ["4"]
    assert sent == [f"GET {sandbox.url}/uipath/odata/Webhooks?$filter=Url eq '{DOC_URL}' and Enabled eq true"]
    assert sandbox.calls()["uipath"] == {LIST: 1}


@pytest.mark.parametrize("url", ["https://hooks.example.com/o'brien's", "https://hooks.example.com/a+b&c=d?e=%20f#g"])
async def test_urls_with_quotes_and_query_characters_filter_exactly(uipath: UiPathAdapter, url: str) -> None:
    created = await uipath.create_webhook(WebhookSpec(url=url))
    if "+" in url:  # a "+" that reached the server as a space would match this one instead
        await uipath.create_webhook(WebhookSpec(url=url.replace("+", " ")))
    assert [r.provider_id for r in await uipath.list_webhooks(WebhookFilter(url=url))] == [created.provider_id]


def test_quotes_in_odata_string_literals_are_doubled() -> None:
    assert odata_string("https://hooks.example.com/o'brien's") == "'https://hooks.example.com/o''brien''s'"


async def test_enabled_false_and_event_type_filters(uipath: UiPathAdapter) -> None:
    assert [r.provider_id for r in await uipath.list_webhooks(WebhookFilter(enabled=False))] == ["10"]
    # Event types are filtered locally; an all-events webhook matches any.
    assert [r.provider_id for r in await uipath.list_webhooks(WebhookFilter(event_type="job.started"))] == ["4", "10"]
    assert [r.provider_id for r in await uipath.list_webhooks(WebhookFilter(event_type="job.faulted"))] == ["10"]


async def test_list_follows_next_links_to_the_last_page(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    ids = await create_many(uipath, 5)
    sandbox.options(**{"uipath.page_size": 2})
    sandbox.clear_calls()
    records = await uipath.list_webhooks(WebhookFilter())
    assert [r.provider_id for r in records] == ["4", "10", *ids]
    assert sandbox.calls()["uipath"] == {LIST: 4}  # 7 webhooks, 2 a page


async def test_get_webhooks_is_one_call_in_key_order_with_none_for_missing(
    uipath: UiPathAdapter, sandbox: Sandbox
) -> None:
    sent = record_urls(uipath)
    answer = await uipath.get_webhooks(["10", "999", "4", "abc", "04", "-4", "10"])
    assert [r.provider_id if r else None for r in answer] == ["10", None, "4", None, None, None, "10"]
    assert sandbox.calls()["uipath"] == {LIST: 1}
    assert sent[0].endswith("$filter=Id eq 10 or Id eq 999 or Id eq 4")


async def test_get_webhooks_chunks_by_max_batch_and_follows_pages(make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    adapter: UiPathAdapter = make_adapter("uipath", max_batch=2)
    ids = await create_many(adapter, 3)
    sandbox.clear_calls()
    answer = await adapter.get_webhooks(["4", *ids])  # 4 ids, 2 per call
    assert [r.provider_id if r else None for r in answer] == ["4", *ids]
    assert sandbox.calls()["uipath"] == {LIST: 2}
    sandbox.options(**{"uipath.page_size": 1})
    sandbox.clear_calls()
    assert [r.provider_id if r else None for r in await adapter.get_webhooks(["4", ids[0]])] == ["4", ids[0]]
    assert sandbox.calls()["uipath"] == {LIST: 2}  # one chunk, served in two pages


async def test_no_ids_or_only_malformed_ids_make_no_call(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    assert await uipath.get_webhooks([]) == []
    assert await uipath.get_webhooks(["x", "1.5", "99999999999999999999"]) == [None, None, None]
    assert sandbox.total_calls("uipath") == 0


async def test_event_types_are_the_21_from_the_endpoint(uipath: UiPathAdapter) -> None:
    types = await uipath.event_types()
    assert len(types) == 21
    assert types[0].name == "process.created"
    assert {t.group for t in types} == {"process", "schedule", "robot", "job", "queue", "queueItem"}
    assert all(t.description is None and t.source == "uipath" and t.provider == "uipath" for t in types)


# --- writes -----------------------------------------------------------------------------------------------------


async def test_create_answers_the_new_webhook_and_never_its_secret(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    record = await uipath.create_webhook(
        WebhookSpec(url="https://hooks.example.com/new", events=("job.faulted",), secret="s3cr3t-value")
    )
    assert record.provider_id == "11"
    assert (record.enabled, record.subscribe_to_all_events, record.events) == (True, False, ("job.faulted",))
    assert record.has_secret is True
    assert "s3cr3t-value" not in repr(record)
    assert sandbox.calls()["uipath"] == {"POST /odata/Webhooks": 1}


async def test_create_without_events_subscribes_to_all(uipath: UiPathAdapter) -> None:
    record = await uipath.create_webhook(WebhookSpec(url="https://hooks.example.com/all"))
    assert record.subscribe_to_all_events is True
    assert record.has_secret is False


async def test_create_without_url_is_refused_before_any_call(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(BadUserInput) as caught:
        await uipath.create_webhook(WebhookSpec(events=("job.started",)))
    assert caught.value.extensions["field"] == "url"
    assert sandbox.total_calls("uipath") == 0


async def test_create_on_a_used_url_is_bad_user_input_with_uipaths_error_code(uipath: UiPathAdapter) -> None:
    with pytest.raises(BadUserInput) as caught:
        await uipath.create_webhook(WebhookSpec(url=DOC_URL))
    assert "errorCode 1001" in str(caught.value)


async def test_update_patches_only_the_given_fields(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    record = await uipath.update_webhook("4", WebhookSpec(enabled=False))
    assert (record.enabled, record.url, record.has_secret) == (False, DOC_URL, True)
    assert len(record.events) == 5
    assert sandbox.calls()["uipath"] == {"PATCH /odata/Webhooks({id})": 1}


class NoPatch(httpx.AsyncBaseTransport):
    """An Orchestrator without PATCH: 405 for PATCH, everything else passed on to the sandbox."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.patches = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PATCH":
            self.patches += 1
            return httpx.Response(405, json={"message": "The requested resource does not support http method 'PATCH'."})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_without_patch_an_update_puts_the_merged_webhook(make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    transport = NoPatch()
    adapter: UiPathAdapter = make_adapter("uipath", transport=transport)
    record = await adapter.update_webhook("4", WebhookSpec(enabled=False))
    # Everything the update did not name survives the PUT, the secret included.
    assert (record.enabled, record.url, record.has_secret, len(record.events)) == (False, DOC_URL, True, 5)
    record = await adapter.update_webhook("4", WebhookSpec(events=("job.started",)))
    assert (record.enabled, record.events) == (False, ("job.started",))
    assert transport.patches == 1  # learnt once
    assert sandbox.calls()["uipath"] == {"GET /odata/Webhooks({id})": 2, "PUT /odata/Webhooks({id})": 2}


async def test_writes_on_a_missing_webhook_are_not_found(uipath: UiPathAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(NotFound) as caught:
        await uipath.update_webhook("999", WebhookSpec(enabled=True))
    assert "Webhook does not exist. (errorCode 1002)" in str(caught.value)
    with pytest.raises(NotFound):
        await uipath.delete_webhook("999")
    with pytest.raises(NotFound):
        await uipath.ping_webhook("999")
    calls = sandbox.total_calls("uipath")
    with pytest.raises(NotFound):
        await uipath.delete_webhook("not-an-id")
    assert sandbox.total_calls("uipath") == calls


async def test_delete_removes_the_webhook(uipath: UiPathAdapter) -> None:
    await uipath.delete_webhook("10")
    assert await uipath.get_webhooks(["10", "4"]) == [None, (await uipath.get_webhooks(["4"]))[0]]


async def test_ping_answers_the_ping_event(uipath: UiPathAdapter) -> None:
    ping = await uipath.ping_webhook("4")
    assert ping.type == "ping"
    assert len(ping.event_id) == 32
    assert ping.timestamp.tzinfo is not None


def test_only_canonical_integers_are_ids() -> None:
    assert [parse_id(v) for v in ("0", "4", "9223372036854775807")] == [0, 4, 9223372036854775807]
    assert [parse_id(v) for v in ("04", "+4", " 4", "4.0", "9223372036854775808", "٤", "")] == [None] * 7


# --- auth -------------------------------------------------------------------------------------------------------


async def test_client_credentials_fetch_one_token_for_concurrent_calls(
    make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    adapter: UiPathAdapter = make_adapter("uipath", **oauth(sandbox))
    answers = await asyncio.gather(*(adapter.list_webhooks(WebhookFilter()) for _ in range(5)))
    assert all(len(a) == 2 for a in answers)
    assert adapter.token_auth is not None
    assert adapter.token_auth.fetches == 1
    assert sandbox.calls()["uipath"]["POST /identity_/connect/token"] == 1


async def test_an_expired_token_is_refreshed_once_and_the_call_succeeds(
    make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    adapter: UiPathAdapter = make_adapter("uipath", **oauth(sandbox))
    await adapter.list_webhooks(WebhookFilter())
    sandbox.advance_clock(3700)  # the sandbox expires the token; the adapter's own clock has not moved
    assert len(await adapter.list_webhooks(WebhookFilter())) == 2
    assert adapter.token_auth is not None
    assert adapter.token_auth.fetches == 2


async def test_refused_client_credentials_say_so_without_the_secret(
    make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    adapter: UiPathAdapter = make_adapter("uipath", **oauth(sandbox, client_secret="wrong-client-secret"))
    with pytest.raises(UpstreamError) as caught:
        await adapter.list_webhooks(WebhookFilter())
    assert "could not get an access token" in str(caught.value)
    assert "invalid_client" in str(caught.value)
    assert "wrong-client-secret" not in str(caught.value) + repr(caught.value.extensions)
    probe = await adapter.probe()
    assert (probe.reachable, probe.authenticated) == (True, False)
    assert "wrong-client-secret" not in probe.detail


async def test_a_wrong_static_token_is_a_401_upstream_error(make_adapter: MakeAdapter) -> None:
    adapter: UiPathAdapter = make_adapter("uipath", token="wrong-token")
    with pytest.raises(UpstreamError) as caught:
        await adapter.list_webhooks(WebhookFilter())
    assert caught.value.status == 401
    assert "wrong-token" not in str(caught.value)


# --- tolerant reading -------------------------------------------------------------------------------------------


def answering(body: dict[str, Any]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(200, json=body))


async def test_camel_case_dtos_and_unknown_fields_are_read(make_adapter: MakeAdapter) -> None:
    dto = {
        "id": 7,
        "url": "https://x.example",
        "enabled": True,
        "secret": "k",
        "events": [{"eventType": "job.started"}],
        "subscribeToAllEvents": False,
        "NewField": {"nested": 1},
    }
    adapter: UiPathAdapter = make_adapter("uipath", transport=answering({"value": [dto, {"Url": "no id"}, "junk"]}))
    [record] = await adapter.list_webhooks(WebhookFilter())
    assert (record.provider_id, record.url, record.events, record.has_secret) == (
        "7",
        dto["url"],
        ("job.started",),
        True,
    )


async def test_a_next_link_to_another_host_is_refused(make_adapter: MakeAdapter) -> None:
    body = {"value": [], "@odata.nextLink": "https://evil.example/odata/Webhooks?$skip=2"}
    adapter: UiPathAdapter = make_adapter("uipath", transport=answering(body))
    with pytest.raises(UpstreamError, match="another host"):
        await adapter.list_webhooks(WebhookFilter())


async def test_a_next_link_that_repeats_is_refused(make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    body = {"value": [], "@odata.nextLink": f"{sandbox.url}/uipath/odata/Webhooks?$skip=2"}
    adapter: UiPathAdapter = make_adapter("uipath", transport=answering(body))
    with pytest.raises(UpstreamError, match="never end"):
        await adapter.list_webhooks(WebhookFilter())
