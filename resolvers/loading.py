"""Loads for nested fields, returning records (never schema types, so that ``schema/types.py`` may import this).

Failures here are partial: the field answers what it can and the error goes to ``errors`` with its path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

from gateway.context import Context, Info
from gateway.domain.ports import DeliveryLogs
from gateway.domain.records import (
    Capability,
    DeliveryLogRecord,
    DeliveryStatusRecord,
    EventTypeRecord,
    WorkflowRequestRecord,
)
from gateway.errors import BadUserInput, HookgateError

T = TypeVar("T")


class Later(Generic[T]):
    """An awaitable that starts its load only when awaited, so that nothing is fetched unless the query asks.

    A joined field of a type (``Webhook.eventTypes`` while the catalogue is not at hand, ``Webhook.deliveryStatuses``
    of a Dixa webhook) holds one as its value: graphql-core awaits a field's value when it is awaitable (it has
    ``__await__``), so the load runs if and only if the field is selected, its failure is a field error at the field's
    own path, and a field that needs no load is a plain value with no resolver call at all. Awaiting it twice (the
    field selected under two aliases) loads twice through the same request loaders, which deduplicate.
    """

    __slots__ = ("_load",)

    def __init__(self, load: Callable[[], Awaitable[T]]) -> None:
        self._load = load

    def __await__(self) -> Generator[Any, None, T]:
        return self._load().__await__()


async def event_types_or_report(ctx: Context, source: str, path: list[str | int]) -> list[EventTypeRecord]:
    """The source's catalogue; if it cannot be had, [] and one partial error at ``path`` (once per request)."""
    try:
        return await ctx.loaders.event_types(source)
    except HookgateError as exc:
        ctx.add_partial(exc, path)
        return []


async def delivery_statuses_of(ctx: Context, source: str, provider_id: str) -> list[DeliveryStatusRecord] | None:
    """One webhook's delivery statuses through the request's loader (deduplicated, concurrent); raises on failure."""
    return await ctx.loaders.delivery_statuses(source).load_typed(provider_id)


async def delivery_log(
    info: Info, source: str, provider_id: str, event: str, first: int
) -> list[DeliveryLogRecord] | None:
    ctx = info.context
    adapter = ctx.runtime.adapters.get(source)
    if adapter is None or not adapter.has(Capability.DELIVERY_LOGS):
        return None
    check_first(info, first, field="first")
    return await ctx.loaders.reader(source, DeliveryLogs).delivery_log(provider_id, event, first)


async def request(info: Info, source: str, number: int) -> WorkflowRequestRecord | None:
    return await info.context.loaders.requests(source).load_typed(number)


def check_first(info: Info, first: int | None, *, field: str = "first") -> int | None:
    """``first`` within 0..max_first, or BAD_USER_INPUT naming the argument."""
    if first is None:
        return None
    limit = info.context.runtime.settings.limits.max_first
    if first < 0:
        raise BadUserInput(f"{field} must not be negative (got {first})", field=field)
    if first > limit:
        raise BadUserInput(f"{field} must be at most {limit} (got {first})", field=field)
    return first
