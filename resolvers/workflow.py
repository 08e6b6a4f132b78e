"""WorkflowGen requests and actions: reads through the request's batched loaders, and the two lists.

``request(id:)``, ``action(id:)`` and ``node(id:)`` take Hookgate's ids and WorkflowGen's own [doc]: ``Request:1`` and
``Action:1---2``, as text or base64 (standard or URL-safe, padded or not).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Final, TypeVar

import strawberry

from gateway.capabilities import require
from gateway.context import Info
from gateway.domain.ports import Workflow
from gateway.domain.records import ActionListFilter, Capability, RequestListFilter
from gateway.errors import BadUserInput
from resolvers.common import choose_source, decode_cursor, encode_cursor
from resolvers.loading import check_first
from schema.connections import Connection
from schema.enums import ActionStatus, RequestStatus
from schema.ids import GlobalId, ascii_number, expect_id
from schema.types import WorkflowAction, WorkflowRequest

T = TypeVar("T")

#: How many items a list answers when ``first`` is left out.
DEFAULT_FIRST = 50


#: The kinds of WorkflowGen's own ids that name an object the gateway reads.
_WFG_KINDS: Final = ("Request", "Action")


def wfg_id(value: str) -> tuple[str, str] | None:
    """(kind, native part) of WorkflowGen's own id (``Request:1``, ``Action:1---2``, as text or base64); else None.

    Decoded once for both kinds: ``nodes`` asks it of every id it is given."""
    text = value.strip()
    if not text.startswith(("Request:", "Action:")):
        try:
            text = base64.b64decode(
                text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4), validate=True
            ).decode("ascii")
        except (binascii.Error, ValueError):
            return None
    kind, sep, native = text.partition(":")
    return (kind, native) if sep and kind in _WFG_KINDS and native else None


def wfg_request_number(value: str) -> int | None:
    """The number in WorkflowGen's request id (``Request:1``, ``UmVxdWVzdDox``); None if it is not one."""
    found = wfg_id(value)
    return ascii_number(found[1]) if found is not None and found[0] == "Request" else None


def wfg_action_key(value: str) -> tuple[int, int] | None:
    """(request number, action number) in WorkflowGen's action id (``Action:1---2`` or base64); None otherwise."""
    found = wfg_id(value)
    return wfg_action_native(found[1]) if found is not None and found[0] == "Action" else None


def wfg_action_native(native: str) -> tuple[int, int] | None:
    """(request number, action number) of the native part of WorkflowGen's action id (``1---2``); None otherwise."""
    left, sep, right = native.partition("---")
    request_number, number = ascii_number(left), ascii_number(right)
    return (request_number, number) if sep and request_number is not None and number is not None else None


def parse_action_native(gid: GlobalId, *, field: str = "id") -> tuple[int, int]:
    """``"<request number>-<action number>"`` from a WorkflowAction id."""
    left, _, right = gid.native.partition("-")
    request_number, number = ascii_number(left), ascii_number(right)
    if request_number is None or number is None:
        raise BadUserInput(f"{field}: not a WorkflowAction id", field=field)
    return request_number, number


def request_address(source: str | None, number: int | None, id: strawberry.ID | None) -> tuple[str | None, int]:
    """(source, number) from either ``number`` or ``id`` (exactly one)."""
    if (number is None) == (id is None):
        raise BadUserInput("give exactly one of number and id", field="number" if number is None else "id")
    if id is not None:
        native_number = wfg_request_number(id)
        if native_number is not None:
            return source, native_number  # WorkflowGen's own id: the source given, or the only WorkflowGen one
        gid = expect_id(id, "WorkflowRequest")
        native = ascii_number(gid.native)
        if native is None:
            raise BadUserInput("id: not a WorkflowRequest id", field="id")
        if source is not None and source != gid.source:
            raise BadUserInput(f"id belongs to source '{gid.source}', not '{source}'", field="id")
        return gid.source, native
    assert number is not None
    return source, number


def action_address(
    source: str | None, request_number: int | None, number: int | None, id: strawberry.ID | None
) -> tuple[str | None, int, int]:
    """(source, request number, action number) from either ``id`` or ``requestNumber`` + ``number``."""
    if id is not None:
        if request_number is not None or number is not None:
            raise BadUserInput("give either id, or requestNumber and number, not both", field="id")
        native_key = wfg_action_key(id)
        if native_key is not None:
            return (source, *native_key)
        gid = expect_id(id, "WorkflowAction")
        if source is not None and source != gid.source:
            raise BadUserInput(f"id belongs to source '{gid.source}', not '{source}'", field="id")
        return (gid.source, *parse_action_native(gid))
    if request_number is None or number is None:
        missing = "requestNumber" if request_number is None else "number"
        raise BadUserInput(f"give either id, or requestNumber and number ({missing} is missing)", field=missing)
    return source, request_number, number


async def request(
    info: Info, source: str | None = None, number: int | None = None, id: strawberry.ID | None = None
) -> WorkflowRequest | None:
    source, number = request_address(source, number, id)
    adapter = choose_source(info, source, Capability.WORKFLOW)
    record = await info.context.loaders.requests(adapter.name).load_typed(number)
    return None if record is None else WorkflowRequest.from_record(record)


async def action(
    info: Info,
    source: str | None = None,
    request_number: int | None = None,
    number: int | None = None,
    id: strawberry.ID | None = None,
) -> WorkflowAction | None:
    source, request_number, number = action_address(source, request_number, number, id)
    adapter = choose_source(info, source, Capability.WORKFLOW)
    record = await info.context.loaders.actions(adapter.name).load_typed((request_number, number))
    return None if record is None else WorkflowAction.from_record(record)


def _offset(after: str | None, prefix: str) -> int:
    if after is None:
        return 0
    (text,) = decode_cursor(after, prefix=prefix, parts=1)
    offset = ascii_number(text)
    if offset is None:
        raise BadUserInput(f"after: '{after[:80]}' is not a cursor of this list", field="after")
    return offset


def _page_of(nodes: list[T], prefix: str, offset: int, has_next: bool, total: int) -> Connection[T]:
    items = [(encode_cursor(prefix, offset + index + 1), node) for index, node in enumerate(nodes)]
    return Connection.build(items, has_next=has_next, has_previous=offset > 0, total=total)


def _statuses(values: list[RequestStatus] | list[ActionStatus] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(value.value for value in values)


def _not_empty(value: str | None, field: str) -> str | None:
    if value is not None and not value:
        raise BadUserInput(f"{field} must not be empty", field=field)
    return value


async def requests(
    info: Info,
    source: str | None = None,
    status: list[RequestStatus] | None = None,
    process_name: str | None = None,
    requester: str | None = None,
    created_since: datetime | None = None,
    first: int | None = DEFAULT_FIRST,
    after: str | None = None,
) -> Connection[WorkflowRequest]:
    adapter = choose_source(info, source, Capability.WORKFLOW)
    limit = check_first(info, first if first is not None else DEFAULT_FIRST)
    assert limit is not None
    offset = _offset(after, "wfr")
    filter = RequestListFilter(
        statuses=_statuses(status),
        process_name=_not_empty(process_name, "processName"),
        requester=_not_empty(requester, "requester"),
        created_since=created_since,
    )
    page = await require(adapter, Workflow).list_requests(filter, offset, limit)
    nodes = [WorkflowRequest.from_record(record) for record in page.items]
    return _page_of(nodes, "wfr", offset, page.has_next, page.total)


async def actions(
    info: Info,
    source: str | None = None,
    status: list[ActionStatus] | None = None,
    assignee: str | None = None,
    process_name: str | None = None,
    request_number: int | None = None,
    created_since: datetime | None = None,
    first: int | None = DEFAULT_FIRST,
    after: str | None = None,
) -> Connection[WorkflowAction]:
    adapter = choose_source(info, source, Capability.WORKFLOW)
    limit = check_first(info, first if first is not None else DEFAULT_FIRST)
    assert limit is not None
    offset = _offset(after, "wfa")
    if request_number is not None and request_number < 1:
        raise BadUserInput("requestNumber must be 1 or more", field="requestNumber")
    filter = ActionListFilter(
        statuses=_statuses(status),
        assignee=_not_empty(assignee, "assignee"),
        process_name=_not_empty(process_name, "processName"),
        request_number=request_number,
        created_since=created_since,
    )
    page = await require(adapter, Workflow).list_actions(filter, offset, limit)
    nodes = [WorkflowAction.from_record(record) for record in page.items]
    return _page_of(nodes, "wfa", offset, page.has_next, page.total)
