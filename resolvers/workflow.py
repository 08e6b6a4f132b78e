"""WorkflowGen requests and actions: reads through the request's batched loaders."""

from __future__ import annotations

import strawberry

from gateway.context import Info
from gateway.domain.records import Capability
from gateway.errors import BadUserInput
from resolvers.common import choose_source
from schema.ids import GlobalId, ascii_number, expect_id
from schema.types import WorkflowAction, WorkflowRequest


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
