"""The shortcuts taken while building an answer's objects give what the plain way gives.

- ``Webhook.from_records`` makes webhooks without the dataclass ``__init__``: the objects must be the ones
  ``__init__`` makes, field for field, so that a field added to ``Webhook`` cannot be left out.
- ``UpstreamClient.decode_once`` reuses what it parsed from an answer while the same URL answers the same bytes: a
  changed answer must be parsed again (UiPath's pages, Dixa's and Auco's lists).
- A catalogue view keeps the webhooks made from unchanged records (sources without delivery statuses): a changed
  answer makes new ones.
- The first attempt of a read is made outside stamina's retry context: a failing read is still retried as configured.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.domain.records import EventTypeRecord, WebhookRecord
from gateway.errors import UpstreamError
from gateway.providers.http import UpstreamClient
from resolvers.joins import CatalogueView
from schema.enums import Provider
from schema.ids import encode_id
from schema.types import EventType, Webhook
from tests.support.gateway import GatewayFactory
from tests.support.populate import add_dixa_subscriptions, add_uipath_webhooks
from tests.support.sandbox import Sandbox

CATALOGUE = [
    EventTypeRecord(provider="uipath", source="uipath", name=name, group=name.split(".")[0])
    for name in ("job.started", "job.faulted", "process.created", "queue.created")
]
RECORDS = [
    WebhookRecord(source="uipath", provider="uipath", provider_id="7", url="https://a.example/h"),
    WebhookRecord(
        source="uipath",
        provider="uipath",
        provider_id="12",
        url="https://b.example/h",
        enabled=False,
        events=("queue.created", "job.started", "not.in.catalogue"),
        has_secret=True,
        allow_insecure_ssl=True,
    ),
    WebhookRecord(source="uipath", provider="uipath", provider_id="13", url="u", subscribe_to_all_events=True),
    WebhookRecord(
        source="dixa",
        provider="dixa",
        provider_id="3f9a",
        url="https://c.example/h",
        name="named",
        events=("ConversationCreated",),
        authorization_type="BASIC",
        created_at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        updated_at=datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC),
    ),
]


VIEW = CatalogueView(CATALOGUE)
LATER: dict[str, object] = {}


def joined_of(record: WebhookRecord) -> tuple[list[EventType], Any]:
    """What ``resolvers/joins.py`` prepares: UiPath's catalogue at hand, Dixa's statuses kept (and loaded later)."""
    if record.source == "uipath":
        return VIEW.pick(record), None
    return [], LATER.setdefault(record.provider_id, object())


def made_by_init(record: WebhookRecord) -> Webhook:
    event_types, statuses = joined_of(record)
    return Webhook(
        id=encode_id("Webhook", record.source, record.provider_id),  # type: ignore[arg-type]
        source=record.source,
        provider=Provider(record.provider),
        provider_id=record.provider_id,
        name=record.name,
        description=record.description,
        url=record.url,
        enabled=record.enabled,
        subscribe_to_all_events=record.subscribe_to_all_events,
        events=list(record.events),
        has_secret=record.has_secret,
        allow_insecure_ssl=record.allow_insecure_ssl,
        authorization_type=record.authorization_type,
        created_at=record.created_at,
        updated_at=record.updated_at,
        created_by=record.created_by,
        updated_by=record.updated_by,
        event_types=event_types,
        delivery_statuses=statuses,
    )


def test_webhooks_made_without_init_are_the_ones_init_makes() -> None:
    assert not hasattr(Webhook, "__post_init__")
    made = Webhook.from_records(RECORDS, [joined_of(r) for r in RECORDS])
    fields = {field.name for field in dataclasses.fields(Webhook) if field.init}  # not the resolver fields
    for hook, record in zip(made, RECORDS, strict=True):
        expected = made_by_init(record)
        assert type(hook) is Webhook
        assert set(vars(hook)) == fields, "every dataclass field, and nothing else"
        assert vars(hook) == vars(expected)
        assert hook == expected
    assert [t.name for t in made[1].event_types] == ["job.started", "queue.created"], "catalogue order"
    assert made[2].event_types is VIEW.types, "subscribed to all: the catalogue's own list"
    assert Webhook.from_record(RECORDS[3], *joined_of(RECORDS[3])) == made[3]


async def test_an_unchanged_answer_is_parsed_once_and_a_changed_one_again(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process()
    adapter: Any = gateway.services.adapters["uipath"]
    parsed: list[int] = []
    original = adapter._parse_page

    def counting(body: Any) -> Any:
        parsed.append(1)
        return original(body)

    adapter._parse_page = counting
    from gateway.domain.records import WebhookFilter

    first = await adapter.list_webhooks(WebhookFilter())
    again = await adapter.list_webhooks(WebhookFilter())
    assert again == first
    assert len(parsed) == 1, "the same bytes: the same records, not parsed again"
    assert all(a is b for a, b in zip(again, first, strict=True))
    (added,) = add_uipath_webhooks(sandbox, 1)
    changed = await adapter.list_webhooks(WebhookFilter())
    assert len(parsed) == 2
    assert [r.provider_id for r in changed] == [*(r.provider_id for r in first), added]


async def test_a_failed_first_read_is_retried_as_configured() -> None:
    """The first attempt is outside stamina; a retryable failure goes on through it, up to ``retries + 1`` calls."""
    from gateway.providers.uipath.config import UiPathSource

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(503 if len(seen) < 3 else 200, json={"value": []})

    config = UiPathSource.model_validate({"base_url": "http://upstream.test", "token": "t", "retries": 2})
    client = UpstreamClient(source="u", provider="uipath", config=config, transport=httpx.MockTransport(answer))
    try:
        assert await client.json("GET", "/odata/Webhooks", read=True) == {"value": []}
        assert seen == ["http://upstream.test/odata/Webhooks"] * 3
        seen.clear()
        config_once = config.model_copy(update={"retries": 1})
        client.config = config_once
        with pytest.raises(UpstreamError) as failed:
            await client.json("GET", "/odata/Webhooks", read=True)
        assert failed.value.status == 503
        assert len(seen) == 2, "retries + 1 calls, not more"
    finally:
        await client.aclose()


async def test_one_catalogue_route_makes_its_event_types_once_for_every_request_and_field(
    gateway_in_process: GatewayFactory, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Query.eventTypes`` and ``Webhook.eventTypes`` read the catalogue one way, through the request's loaders, and
    show the same EventType objects, made once per fetched catalogue, not once per request or per field."""
    add_uipath_webhooks(sandbox, 3)
    gateway = await gateway_in_process()
    made: list[str] = []
    original = EventType.from_record.__func__  # type: ignore[attr-defined]

    def counting(cls: type[EventType], record: EventTypeRecord) -> EventType:
        made.append(record.source)
        return original(cls, record)  # type: ignore[no-any-return]

    monkeypatch.setattr(EventType, "from_record", classmethod(counting))
    query = '{ eventTypes(source: "uipath") { name } webhooks(source: "uipath") { nodes { eventTypes { name } } } }'
    first = await gateway.ok(query)
    catalogue_size = len(first["eventTypes"])
    assert catalogue_size > 0
    assert made == ["uipath"] * catalogue_size, "made once, shared by both fields"
    again = await gateway.ok(query)
    assert again == first
    assert len(made) == catalogue_size, "a later request shows the same objects while the catalogue is cached"


async def test_dixa_and_auco_lists_are_parsed_once_per_answer(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    """Like UiPath's pages: the same bytes give the same records; Dixa's changed answer is parsed again."""
    from gateway.domain.records import WebhookFilter

    gateway = await gateway_in_process()
    for source, parse in (("dixa", "_parse_list_page"), ("auco", "_parse_records")):
        adapter: Any = gateway.services.adapters[source]
        parsed: list[int] = []
        original = getattr(adapter, parse)

        def counting(body: Any, original: Any = original, parsed: list[int] = parsed) -> Any:
            parsed.append(1)
            return original(body)

        setattr(adapter, parse, counting)
        first = await adapter.list_webhooks(WebhookFilter())
        again = await adapter.list_webhooks(WebhookFilter())
        assert first
        assert again == first
        assert len(parsed) == 1, source
        assert all(a is b for a, b in zip(again, first, strict=True))
        if source == "dixa":
            (added,) = add_dixa_subscriptions(sandbox, 1)
            changed = await adapter.list_webhooks(WebhookFilter())
            assert len(parsed) == 2
            assert added in [r.provider_id for r in changed]


async def test_webhooks_of_unchanged_records_are_reused_across_requests(
    gateway_in_process: GatewayFactory, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook of a source that keeps no delivery statuses is kept with the catalogue view and shown again while
    the source answers the same bytes; Dixa's (whose statuses load through each request's loaders) are built anew."""
    gateway = await gateway_in_process()
    built: list[str] = []
    original = Webhook.from_records.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Webhook], records: Any, joined: Any) -> list[Webhook]:
        records = list(records)
        built.extend(r.source for r in records)
        return original(cls, records, joined)  # type: ignore[no-any-return]

    monkeypatch.setattr(Webhook, "from_records", classmethod(counting))
    query = (
        "{ webhooks { nodes { id source url events eventTypes { name group } "
        "deliveryStatuses { event lastDelivery { success } } } } }"
    )
    await gateway.ok(query)  # loads the catalogues: their views exist from the next request on
    built.clear()
    first = await gateway.ok(query)
    sources = [node["source"] for node in first["webhooks"]["nodes"]]
    assert {"uipath", "dixa", "auco"} <= set(sources)
    assert sorted(built) == sorted(sources)
    built.clear()
    again = await gateway.ok(query)
    assert again == first
    assert sorted(built) == sorted(s for s in sources if s == "dixa"), "only those keeping delivery statuses"
    built.clear()
    (added,) = add_uipath_webhooks(sandbox, 1)
    changed = await gateway.ok(query)
    assert encode_id("Webhook", "uipath", added) in [node["id"] for node in changed["webhooks"]["nodes"]]
    assert built.count("uipath") == sources.count("uipath") + 1, "a changed answer: new records, new webhooks"
