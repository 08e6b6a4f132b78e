"""Reading WorkflowGen's answers: its global ids, its records (tolerantly: a missing or odd field is None, never an
error), the payloads of the incoming webhook's operations in whatever shape they come (:func:`read_answer`), and the
bodies and statuses both sides of the adapter share.

Wire formats: providers.md §2. Used by the write side (``adapter.py``) and the GraphQL read side
(``graphql_reads.py``).
"""

from __future__ import annotations

import base64
from typing import Any, Final

import httpx
import orjson

from gateway.domain.ports import ANSWER_WARNINGS
from gateway.domain.records import (
    DataValueRecord,
    FileValueRecord,
    WorkflowActionRecord,
    WorkflowRequestRecord,
    WorkflowUserRecord,
)
from gateway.parsing import parse_instant

#: The headers of both sides' requests: JSON in, JSON out.
JSON_HEADERS: Final = {"content-type": "application/json", "accept": "application/json"}

#: Statuses after which the adapter reads the body itself: WorkflowGen's error list says more than the status.
#: 429 and 5xx stay with UpstreamClient (retries, breaker).
ANSWERED: tuple[int, ...] = (*range(200, 300), *(status for status in range(400, 500) if status != 429))


# -- WorkflowGen global ids [doc]: base64 of "Request:1", "Action:1---2" ---------------------------------------------


def encode_global_id(kind: str, native: int | str) -> str:
    return base64.b64encode(f"{kind}:{native}".encode()).decode()


def _decode_global_id(value: object, kind: str) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text, which b64decode refuses
        return None
    prefix, sep, native = decoded.partition(":")
    return native if sep and prefix == kind and native else None


def request_number_of(global_id: object) -> int | None:
    """The request number in a WorkflowGen request id (``UmVxdWVzdDox`` → 1); None if it is not one."""
    native = _decode_global_id(global_id, "Request")
    return int(native) if native is not None and native.isdigit() else None


def action_key_of(global_id: object) -> tuple[int, int] | None:
    """(request number, action number) in a WorkflowGen action id (``Action:1---2``); None if it is not one."""
    native = _decode_global_id(global_id, "Action")
    if native is None:
        return None
    request_part, sep, action_part = native.partition("---")
    if not (sep and request_part.isdigit() and action_part.isdigit()):
        return None
    return int(request_part), int(action_part)


# -- tolerant parsing ------------------------------------------------------------------------------------------------


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def page_items(value: Any) -> list[Any]:
    """A list from ``{"items": [...]}`` (WorkflowGen's pages), ``{"edges": [{"node"}]}`` or a bare list."""
    if isinstance(value, dict):
        if isinstance(value.get("items"), list):
            return list(value["items"])
        if isinstance(value.get("edges"), list):
            return [edge.get("node") for edge in value["edges"] if isinstance(edge, dict)]
        return []
    return list(value) if isinstance(value, list) else []


def parse_user(value: Any) -> WorkflowUserRecord | None:
    if not isinstance(value, dict):
        return None
    user_name = as_str(value.get("userName"))
    if user_name is None:
        return None
    return WorkflowUserRecord(user_name=user_name, id=as_str(value.get("id")))


def parse_data_value(value: Any) -> DataValueRecord | None:
    if not isinstance(value, dict) or as_str(value.get("name")) is None:
        return None
    file_value = None
    raw_file = value.get("fileValue")
    if isinstance(raw_file, dict) and as_str(raw_file.get("name")) is not None:
        file_value = FileValueRecord(
            name=raw_file["name"],
            content_type=as_str(raw_file.get("contentType")),
            size=as_int(raw_file.get("size")),
            description=as_str(raw_file.get("description")),
            updated_at=parse_instant(raw_file.get("updatedAt")),
        )
    return DataValueRecord(
        name=value["name"],
        text_value=as_str(value.get("textValue")),
        numeric_value=_float(value.get("numericValue")),
        date_time_value=parse_instant(value.get("dateTimeValue")),
        file_value=file_value,
    )


def parse_action(source: str, value: Any, request_number: int | None = None) -> WorkflowActionRecord | None:
    """An action from a GraphQL ``Action`` or an operation's ``action`` payload; None if it lacks its numbers."""
    if not isinstance(value, dict):
        return None
    number = as_int(value.get("number"))
    parent = value.get("request")
    req_number = as_int(value.get("requestNumber"))
    if req_number is None and isinstance(parent, dict):
        req_number = as_int(parent.get("number"))
    if req_number is None:
        req_number = request_number
    if number is None and req_number is not None:
        key = action_key_of(value.get("id"))
        number = key[1] if key else None
    if number is None or req_number is None:
        return None
    return WorkflowActionRecord(
        source=source,
        provider_id=as_str(value.get("id")) or encode_global_id("Action", f"{req_number}---{number}"),
        number=number,
        request_number=req_number,
        name=as_str(value.get("name")),
        status=as_str(value.get("status")),
        assignee=parse_user(value.get("assignee")),
        opened_at=parse_instant(value.get("openedAt")),
        closed_at=parse_instant(value.get("closedAt")),
    )


def parse_request(source: str, value: Any) -> WorkflowRequestRecord | None:
    """A request from a GraphQL ``Request`` or an operation's ``request`` payload; None if it lacks its number."""
    if not isinstance(value, dict):
        return None
    number = as_int(value.get("number"))
    if number is None:
        number = request_number_of(value.get("id"))
    if number is None:
        return None
    raw_process = value.get("process")
    process: dict[str, Any] = raw_process if isinstance(raw_process, dict) else {}
    actions = (parse_action(source, item, number) for item in page_items(value.get("actions")))
    dataset = (parse_data_value(item) for item in page_items(value.get("dataset")))
    return WorkflowRequestRecord(
        source=source,
        provider_id=as_str(value.get("id")) or encode_global_id("Request", number),
        number=number,
        # Either casing of where the process is named: nested (what GraphQL serves) or flat.
        process_name=as_str(process.get("name")) or as_str(value.get("processName")),
        process_version=as_int(process.get("version")) or as_int(value.get("processVersion")),
        status=as_str(value.get("status")),
        description=as_str(value.get("description")),
        opened_at=parse_instant(value.get("openedAt")),
        closed_at=parse_instant(value.get("closedAt")),
        requester=parse_user(value.get("requester")),
        actions=tuple(action for action in actions if action is not None),
        dataset=tuple(data for data in dataset if data is not None),
    )


# -- operation answers -----------------------------------------------------------------------------------------------

#: The operations that name a request (the others name an action).
REQUEST_OPERATIONS = frozenset({"createRequest", "updateRequestDataset", "cancelRequest"})
#: Keys that show a body is an operation's payload itself, without the operation's key around it.
_PAYLOAD_KEYS = frozenset(
    {"clientmutationid", "request", "action", "requestid", "actionid", "number", "requestnumber", "id"}
)


def folded(value: Any) -> dict[str, Any]:
    """A JSON object with its keys lower-cased (the first of two keys that fold alike wins); {} for anything else."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                out.setdefault(key.lower(), item)
    return out


def read_answer(operation: str, body: Any) -> dict[str, Any]:
    """An operation's answer, in whatever shape it came, as the nested payload the gateway reads.

    Accepted [doc: createRequest's flat fields ``clientMutationId, requestId, number, onBehalfOf,
    onBehalfOfUserName``; stand-in: the nested ``request``/``action`` objects and the operation's key]: the payload
    under the operation's key in any casing, under GraphQL's ``data``, or the body itself; the request as ``request
    {id number}`` or flat ``requestId``/``number``; the action as ``action {id number requestNumber}`` or flat
    ``actionId``/``id``/``requestNumber``/``number``; every key in any casing. The result has ``request`` or
    ``action`` (with the numbers found), ``clientMutationId``, ``onBehalfOf``, ``onBehalfOfUserName`` as answered,
    and under :data:`ANSWER_WARNINGS` a text for each thing that could not be read. It never raises: the write is done.
    """
    warnings: list[str] = []
    top = folded(body)
    if "data" in top and operation.lower() not in top and isinstance(top["data"], dict):
        top = folded(top["data"])
    raw = top.get(operation.lower())
    if isinstance(raw, dict):
        payload = folded(raw)
    elif top.keys() & _PAYLOAD_KEYS:
        payload = top
    else:
        payload = {}
        what = "an answer it could not read" if body is None else "an answer without its payload"
        warnings.append(f"{operation} was done, but WorkflowGen sent {what}")
    out: dict[str, Any] = {
        "clientMutationId": payload.get("clientmutationid"),
        "onBehalfOf": payload.get("onbehalfof"),
        "onBehalfOfUserName": payload.get("onbehalfofusername"),
    }
    if operation in REQUEST_OPERATIONS:
        nested = folded(payload.get("request"))
        raw_id = nested.get("id") or payload.get("requestid")
        number = as_int(nested.get("number")) or as_int(payload.get("number")) or request_number_of(raw_id)
        if number is None and isinstance(raw_id, str):
            number = as_int(raw_id)  # a bare number given as requestId
        request: dict[str, Any] = dict(as_dict(payload.get("request")))
        request.update(number=number, id=raw_id if isinstance(raw_id, str) and number is not None else None)
        if request["id"] is None and number is not None:
            request["id"] = encode_global_id("Request", number)
        out["request"] = request
        if number is None and payload:
            warnings.append(f"{operation} was done, but its answer does not say which request")
    else:
        nested = folded(payload.get("action"))
        raw_id = nested.get("id") or payload.get("actionid") or payload.get("id")
        key = action_key_of(raw_id)
        number = as_int(nested.get("number")) or as_int(payload.get("number")) or (key[1] if key else None)
        parent = folded(nested.get("request"))
        request_number = (
            as_int(nested.get("requestnumber"))
            or as_int(parent.get("number"))
            or as_int(payload.get("requestnumber"))
            or (key[0] if key else None)
        )
        action: dict[str, Any] = dict(as_dict(payload.get("action")))
        action.update(number=number, requestNumber=request_number)
        if number is not None and request_number is not None:
            action["id"] = raw_id if key is not None else encode_global_id("Action", f"{request_number}---{number}")
        out["action"] = action
        if (number is None or request_number is None) and payload:
            warnings.append(f"{operation} was done, but its answer does not say which action")
    if warnings:
        out[ANSWER_WARNINGS] = warnings
    return out


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def loads_body(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is empty or not JSON (callers decide what that means)."""
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
