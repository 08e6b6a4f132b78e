"""Webhooks and event types: the merged list across sources, by-id reads, and the registry writes."""

from __future__ import annotations

from bisect import bisect_right
from operator import attrgetter
from typing import Any, Final

import strawberry

from gateway.capabilities import require
from gateway.context import Info
from gateway.domain.ports import WebhookPinger, WebhookRegistry
from gateway.domain.records import (
    UNSET,
    Capability,
    WebhookAuthorization,
    WebhookFilter,
    WebhookRecord,
    WebhookSpec,
)
from gateway.errors import BadUserInput
from gateway.targets import refusal
from resolvers.common import decode_cursor, encode_cursor, gather_sources, natural_key
from resolvers.joins import WebhookJoins, catalogue
from resolvers.loading import check_first
from resolvers.mutations import mutation
from schema.connections import Connection
from schema.enums import Provider
from schema.ids import expect_id
from schema.inputs import (
    CreateWebhookInput,
    DeleteWebhookInput,
    PingWebhookInput,
    UpdateWebhookInput,
    WebhookAuthorizationInput,
)
from schema.payloads import DeleteWebhookPayload, PingWebhookPayload, WebhookPayload
from schema.types import EventType, Webhook

# -- queries --------------------------------------------------------------------------------------------------------

#: ``webhooks`` without ``first``: the schema's default page, which the cost limit reads (gateway/limits.py).
DEFAULT_PAGE = 200


async def webhooks(
    info: Info,
    source: str | None = None,
    provider: Provider | None = None,
    enabled: bool | None = None,
    event_type: str | None = None,
    url: str | None = None,
    first: int | None = DEFAULT_PAGE,
    after: str | None = None,
) -> Connection[Webhook]:
    """Every matching webhook of every (healthy) source, in a stable order: sources as configured, then by id."""
    limit = check_first(info, first)
    limit = DEFAULT_PAGE if limit is None else limit  # `first: null` too
    runtime = info.context.runtime
    adapters = runtime.select(
        source=source, provider=provider.value if provider else None, capability=Capability.WEBHOOKS
    )
    order = {name: index for index, name in enumerate(runtime.adapters)}
    flt = WebhookFilter(enabled=enabled, url=url, event_type=event_type)
    loaders = info.context.loaders
    answered = await gather_sources(info, adapters, lambda a: loaders.reader(a.name, WebhookRegistry)
                                    .list_webhooks(flt))  # fmt: skip
    after_rank, after_key = -1, (0, 0, "")  # no cursor: no source has rank -1
    if after is not None:
        after_source, after_id = decode_cursor(after, prefix="webhooks", parts=2)
        if after_source not in order:
            raise BadUserInput(f"after: the cursor's source '{after_source}' is not configured", field="after")
        after_rank, after_key = order[after_source], natural_key(after_id)
    # Adapters filter already; applied again (some filter only in part), except when there is nothing to filter.
    filtered = flt.enabled is not None or flt.url is not None or flt.event_type is not None
    # The order of (source's rank, natural key of the id): each source's records sorted by their keys (a stable
    # sort, as one over every row would be), the sources in their configured order. No tuple is made per row.
    rows: list[WebhookRecord] = []
    start = 0  # the first row after the cursor: every row of a source before its source, then by key in it
    for adapter, records in sorted(answered, key=lambda answer: order[answer[0].name]):
        rank = order[adapter.name]
        kept = [r for r in records if flt.matches(r)] if filtered else records
        keys = list(map(natural_key, map(_PROVIDER_ID, kept)))
        positions = sorted(range(len(keys)), key=keys.__getitem__)
        if rank < after_rank:
            start += len(kept)
        elif rank == after_rank:
            start += bisect_right([keys[i] for i in positions], after_key)
        rows.extend([kept[i] for i in positions])
    total = len(rows)
    end = min(len(rows), start + limit)
    page = WebhookJoins(info).webhooks(rows[start:end])
    return Connection[Webhook].of(page, _cursor, has_next=end < total, has_previous=start > 0, total=total)


_PROVIDER_ID: Final = attrgetter("provider_id")


def _cursor(hook: Webhook) -> str:
    return encode_cursor("webhooks", hook.source, hook.provider_id)


async def webhook(info: Info, id: strawberry.ID) -> Webhook | None:
    gid = expect_id(id, "Webhook")
    if gid.source not in info.context.runtime.adapters:
        return None
    record = await info.context.loaders.webhooks(gid.source).load_typed(gid.native)
    return None if record is None else WebhookJoins(info).webhook(record)


async def event_types(
    info: Info, source: str | None = None, provider: Provider | None = None, group: str | None = None
) -> list[EventType]:
    adapters = info.context.runtime.select(
        source=source, provider=provider.value if provider else None, capability=Capability.EVENT_TYPES
    )
    ctx = info.context
    answered = await gather_sources(info, adapters, lambda a: catalogue(ctx, a.name))
    return [t for _, view in answered for t in view.types if group is None or t.group == group]


# -- mutations ------------------------------------------------------------------------------------------------------


def _authorization(value: WebhookAuthorizationInput | None) -> WebhookAuthorization | None:
    if value is None:
        return None
    if value.basic:
        return WebhookAuthorization(type="BASIC", username=value.basic.username, password=value.basic.password)
    if value.token:
        return WebhookAuthorization(type="TOKEN", token=value.token)
    if value.header:
        return WebhookAuthorization(type="HEADER", header_key=value.header.key, header_value=value.header.value)
    return WebhookAuthorization(type="NONE")


def _check_url(url: str, *, allow_private: bool) -> str:
    """An http(s) URL whose host is no loopback, link-local or private address unless configured (gateway/targets)."""
    reason = refusal(url, allow_private=allow_private)
    if reason is not None:
        raise BadUserInput(reason, field="url")
    return url


def _allow_private(info: Info) -> bool:
    return info.context.runtime.settings.webhooks.allow_private_urls


def _check_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadUserInput("customHeaders must be an object of header names to string values", field="customHeaders")
    return dict(value)


_FIELD_NAMES: Final = {
    "url": "url",
    "events": "events",
    "subscribe_to_all_events": "subscribeToAllEvents",
    "enabled": "enabled",
    "name": "name",
    "description": "description",
    "provider_id": "providerId",
    "secret": "secret",
    "allow_insecure_ssl": "allowInsecureSsl",
    "authorization": "authorization",
    "custom_headers": "customHeaders",
}


def _given(value: Any) -> bool:
    return value is not strawberry.UNSET


def _spec(data: dict[str, Any], *, allow_private: bool) -> WebhookSpec:
    """A WebhookSpec of the fields given (``UNSET`` for the rest), validated where no backend is needed."""
    values: dict[str, Any] = {}
    for name, value in data.items():
        if not _given(value):
            continue
        if name == "url":
            if value is None:
                raise BadUserInput("url cannot be null", field="url")
            value = _check_url(value, allow_private=allow_private)
        elif name == "events":
            value = tuple(dict.fromkeys(value or ()))
        elif name == "authorization":
            value = _authorization(value) or WebhookAuthorization(type="NONE")
        elif name == "custom_headers" and value is not None:
            value = _check_headers(value)
        values[name] = value
    return WebhookSpec(**values)


async def _validate_for_source(info: Info, adapter_name: str, spec: WebhookSpec, *, defaults: set[str]) -> None:
    """Reject what this source cannot take, before any write goes upstream. ``defaults``: fields set implicitly."""
    adapter = info.context.runtime.source(adapter_name)
    registry = require(adapter, WebhookRegistry)
    unsupported = sorted(spec.given() - registry.webhook_fields - defaults)
    if unsupported:
        names = ", ".join(_FIELD_NAMES[n] for n in unsupported)
        raise BadUserInput(
            f"source '{adapter.name}' ({adapter.kind}) does not support {names}",
            field=_FIELD_NAMES[unsupported[0]],
            source=adapter.name,
            provider=adapter.kind,
        )
    if spec.events is not UNSET and spec.events and adapter.has(Capability.EVENT_TYPES):
        known = (await catalogue(info.context, adapter.name)).index
        unknown = [e for e in spec.events if e not in known]
        if unknown:
            raise BadUserInput(
                f"events: {', '.join(unknown)} not in the event catalogue of source '{adapter.name}'",
                field="events",
                source=adapter.name,
                provider=adapter.kind,
            )


@mutation
async def create_webhook(info: Info, input: CreateWebhookInput) -> WebhookPayload:
    adapter = info.context.runtime.source(input.source)
    registry = require(adapter, WebhookRegistry)
    data = {name: getattr(input, name) for name in _FIELD_NAMES}
    # Absent optional fields arrive as None: for a create they mean "not given", except enabled's default.
    data = {k: v for k, v in data.items() if v is not None}
    spec = _spec(data, allow_private=_allow_private(info))
    defaults = set() if input.enabled is False else {"enabled"}
    await _validate_for_source(info, adapter.name, spec, defaults=defaults)
    if "enabled" not in registry.webhook_fields:
        spec = _without(spec, "enabled")
    record = await registry.create_webhook(spec)
    info.context.loaders.clear_source(adapter.name)
    return WebhookPayload(webhook=WebhookJoins(info).webhook(record), client_mutation_id=input.client_mutation_id)


def _without(spec: WebhookSpec, name: str) -> WebhookSpec:
    values = {n: getattr(spec, n) for n in spec.given() if n != name}
    return WebhookSpec(**values)


@mutation
async def update_webhook(info: Info, input: UpdateWebhookInput) -> WebhookPayload:
    gid = expect_id(input.id, "Webhook")
    adapter = info.context.runtime.source(gid.source)
    registry = require(adapter, WebhookRegistry)
    spec = _spec(
        {name: getattr(input, name) for name in _FIELD_NAMES if hasattr(input, name)},
        allow_private=_allow_private(info),
    )
    if not spec.given():
        raise BadUserInput("nothing to update: give at least one field besides id", field="id")
    await _validate_for_source(info, adapter.name, spec, defaults=set())
    record = await registry.update_webhook(gid.native, spec)
    info.context.loaders.clear_source(adapter.name)
    return WebhookPayload(webhook=WebhookJoins(info).webhook(record), client_mutation_id=input.client_mutation_id)


@mutation
async def delete_webhook(info: Info, input: DeleteWebhookInput) -> DeleteWebhookPayload:
    gid = expect_id(input.id, "Webhook")
    registry = require(info.context.runtime.source(gid.source), WebhookRegistry)
    await registry.delete_webhook(gid.native)
    info.context.loaders.clear_source(gid.source)
    return DeleteWebhookPayload(deleted_id=input.id, client_mutation_id=input.client_mutation_id)


@mutation
async def ping_webhook(info: Info, input: PingWebhookInput) -> PingWebhookPayload:
    gid = expect_id(input.id, "Webhook")
    pinger = require(info.context.runtime.source(gid.source), WebhookPinger)
    ping = await pinger.ping_webhook(gid.native)
    return PingWebhookPayload(
        type=ping.type,
        event_id=ping.event_id,
        timestamp=ping.timestamp,
        tenant_id=_opt_id(ping.tenant_id),
        organization_unit_id=_opt_id(ping.organization_unit_id),
        user_id=_opt_id(ping.user_id),
        client_mutation_id=input.client_mutation_id,
    )


def _opt_id(value: str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(value)
