"""``node(id:)`` and ``nodes(ids:)``: route a global id to its source's loader by the type it encodes."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

import strawberry

from gateway.context import Info, path_of
from gateway.domain.records import Capability
from gateway.errors import BadUserInput
from resolvers.joins import WebhookJoins
from resolvers.workflow import parse_action_native, wfg_action_native, wfg_id
from schema.ids import MAX_ID_DIGITS, ascii_number, decode_id
from schema.types import Node, WorkflowAction, WorkflowRequest

#: What is awaited for one id, and how its result becomes the answer (None: a webhook record, which
#: :func:`_webhooks` builds with the others of the request in one pass of the joins).
Started = tuple[Awaitable[Any], Callable[[Any], Node | None] | None]


#: The native part of the ids whose provider or store id is a number: WorkflowGen request numbers, "<request>-<action>"
#: numbers, and event ids (a SQLite row id, or a Redis stream id "<ms>-<seq>").
_NUMERIC: Final = {
    "WorkflowRequest": re.compile(rf"[0-9]{{1,{MAX_ID_DIGITS}}}"),
    "WorkflowAction": re.compile(rf"[0-9]{{1,{MAX_ID_DIGITS}}}-[0-9]{{1,{MAX_ID_DIGITS}}}"),
    "InboundEvent": re.compile(rf"[0-9]{{1,{MAX_ID_DIGITS + 1}}}(?:-[0-9]{{1,{MAX_ID_DIGITS + 1}}})?"),
}


def _start(info: Info, id: str, field: str = "id") -> Started | None:
    """Decode ``id`` and queue its load on the request's loader, without waiting: every id of the request is in the
    loader's batch before anything waits. None when no object can be behind the id (its source is not configured,
    or its type is not one of ours); raises BAD_USER_INPUT naming ``field`` for an id that is not a Hookgate id."""
    ctx = info.context
    native = _workflowgen_native(info, id, field)
    if native is not None:
        return native
    gid = decode_id(id, field=field)
    if gid.type in _NUMERIC and not _NUMERIC[gid.type].fullmatch(gid.native):
        # ASCII digits, bounded: int() and the stores would read other scripts' digits, or raise past 4,300 digits.
        raise BadUserInput(f"{field}: '{id[:80]}' is not a {gid.type} id", field=field)
    if gid.source not in ctx.runtime.adapters and gid.type != "InboundEvent":
        return None  # the source is no longer configured: the object cannot be reached
    if gid.type == "Webhook":
        return ctx.loaders.webhooks(gid.source).load(gid.native), None
    if gid.type == "WorkflowRequest":
        return ctx.loaders.requests(gid.source).load(int(gid.native)), _request
    if gid.type == "WorkflowAction":
        return ctx.loaders.actions(gid.source).load(parse_action_native(gid, field=field)), _action
    if gid.type == "InboundEvent":
        from resolvers.events import load_event

        return load_event(info, gid.native), _same
    return None


def _workflowgen_native(info: Info, id: str, field: str) -> Started | None:
    """WorkflowGen's own id (``Request:1``, ``Action:1---2``, or base64 of them), read on the only WorkflowGen
    source (several: BAD_USER_INPUT naming ``field``, since the id does not say which); None if it is not one."""
    found = wfg_id(id)
    if found is None:
        return None
    kind, native = found
    request_number = ascii_number(native) if kind == "Request" else None
    action_key = wfg_action_native(native) if kind == "Action" else None
    if request_number is None and action_key is None:
        return None
    runtime = info.context.runtime
    candidates = runtime.select(source=None, provider=None, capability=Capability.WORKFLOW)
    if not candidates:
        return None
    if len(candidates) > 1:
        names = ", ".join(a.name for a in candidates)
        raise BadUserInput(
            f"{field}: a WorkflowGen id does not name its source, and several are configured ({names}): "
            "use the object's Hookgate id",
            field=field,
        )
    name = candidates[0].name
    if request_number is not None:
        return info.context.loaders.requests(name).load(request_number), _request
    assert action_key is not None
    return info.context.loaders.actions(name).load(action_key), _action


def _webhooks(
    joins: WebhookJoins, hooks: list[tuple[int, Any]], answer: list[Node | None], failures: dict[int, BaseException]
) -> None:
    """The webhooks of ``hooks`` into ``answer``, in one pass of the joins (what is decided per source, once); if that
    fails, one by one, so that a failure is the error of its own index only."""
    try:
        built = joins.webhooks(record for _index, record in hooks)
    except Exception:
        for index, record in hooks:
            try:
                answer[index] = joins.webhook(record)
            except Exception as exc:
                failures[index] = exc
        return
    for (index, _record), hook in zip(hooks, built, strict=True):
        answer[index] = hook


def _request(record: Any) -> Node | None:
    return None if record is None else WorkflowRequest.from_record(record)


def _action(record: Any) -> Node | None:
    return None if record is None else WorkflowAction.from_record(record)


def _same(node: Any) -> Node | None:
    return node  # type: ignore[no-any-return]


async def node(info: Info, id: strawberry.ID) -> Node | None:
    started = _start(info, id)
    if started is None:
        return None
    pending, finish = started
    result = await pending
    if finish is not None:
        return finish(result)
    return None if result is None else WebhookJoins(info).webhook(result)


async def nodes(info: Info, ids: list[strawberry.ID]) -> list[Node | None]:
    """One answer per id, in order; an id whose source fails is null, with an error at its index.

    The loads are queued first and awaited together: loader futures are gathered as they are (no task per id), so
    50 ids of one source are one batch and one upstream call, at the cost of one wait.
    """
    answer: list[Node | None] = [None] * len(ids)
    failures: dict[int, BaseException] = {}
    started: list[tuple[int, Started]] = []
    for index, id in enumerate(ids):
        try:
            found = _start(info, id, "ids")
        except Exception as exc:
            failures[index] = exc
            continue
        if found is not None:
            started.append((index, found))
    results = await asyncio.gather(*(pending for _, (pending, _finish) in started), return_exceptions=True)
    hooks: list[tuple[int, Any]] = []  # (index, webhook record): built together below
    for (index, (_pending, finish)), result in zip(started, results, strict=True):
        if isinstance(result, BaseException):
            failures[index] = result
        elif finish is None:
            if result is not None:
                hooks.append((index, result))
        else:
            try:
                answer[index] = finish(result)
            except Exception as exc:
                failures[index] = exc
    if hooks:
        _webhooks(WebhookJoins(info), hooks, answer, failures)
    for index in sorted(failures):
        failure = failures[index]
        if not isinstance(failure, Exception):
            raise failure
        info.context.add_partial(failure, path_of(info, index))
    return answer
