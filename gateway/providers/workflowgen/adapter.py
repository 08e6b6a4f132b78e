"""The WorkflowGen adapter: operations through the incoming-webhook application, reads through GraphQL.

Wire formats: providers.md §2.

- Writes: ``POST {base_url}/wfgen/hooks/{hook_token}`` with ``{"operation": ..., "args": {"input": {...}}}`` [doc],
  answered by the payload in any of its shapes (:func:`read_answer`: createRequest's flat fields [doc], nested
  objects [stand-in], any casing of the operation's key), or by ``{"errors": [{"message", "extensions": {"code"}}]}``
  at 200 or 400 [stand-in]. Sent exactly once: a lost answer is not a reason to launch a second request, and a 2xx
  answer that cannot be read is a done write with warnings, never an error.
- Lists: ``requests(page, filter)`` and ``actions(page, filter)`` [likely], filter keys [stand-in].
- Reads: ``POST {base_url}/wfgen/graphql`` with Basic auth [likely] and ``x-wfgen-impersonate-username`` [likely]. Every
  lookup of one batch is an alias in one document (``r0: request(number: 1) {...}``), so a page of N requests costs
  one upstream call, not N. An error WorkflowGen pins on one alias (its ``path``) fails that key alone; NOT_FOUND on
  a null alias is a missing key. Reads are retried.

The hook token is the application's only credential, a password in the URL. It never enters an ``httpx.Request``
that the client builds: hook calls go to ``/wfgen/hooks/-`` and :class:`HookTokenTransport` writes the token into the
copy of the request it hands to the network transport. httpx's INFO log line ("HTTP Request: POST .../hooks/-"), its
exceptions and ``response.request`` therefore only ever see the placeholder. Error messages are built from the source
name, the operation and WorkflowGen's own message.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, ClassVar, Final, TypeVar
from urllib.parse import quote

import httpx
import orjson

from gateway.domain.ports import ANSWER_WARNINGS
from gateway.domain.records import (
    ME,
    ActionListFilter,
    Capability,
    DataValueRecord,
    FileValueRecord,
    ProbeResult,
    RequestListFilter,
    WorkflowActionRecord,
    WorkflowPage,
    WorkflowRequestRecord,
    WorkflowUserRecord,
)
from gateway.errors import (
    BadUserInput,
    Forbidden,
    HookgateError,
    NotFound,
    UpstreamError,
)
from gateway.parsing import parse_instant
from gateway.providers.base import Adapter, probe_failure
from gateway.providers.http import UpstreamClient, UpstreamObserver, build_transport
from gateway.providers.workflowgen.config import WorkflowGenSource

#: The seven operations of the incoming webhook application [doc].
OPERATIONS: frozenset[str] = frozenset(
    {
        "createRequest",
        "updateRequestDataset",
        "cancelRequest",
        "completeAction",
        "cancelAction",
        "assignAction",
        "cancelActionAssignment",
    }
)

GRAPHQL_PATH = "/wfgen/graphql"
HOOK_PREFIX = "/wfgen/hooks/"
#: What stands in the URL for the hook token until :class:`HookTokenTransport` sends the request.
HOOK_PLACEHOLDER = "-"
IMPERSONATE_HEADER = "x-wfgen-impersonate-username"  # [likely]
JSON_HEADERS: Final = {"content-type": "application/json", "accept": "application/json"}

#: Statuses after which the adapter reads the body itself: WorkflowGen's error list says more than the status.
#: 429 and 5xx stay with UpstreamClient (retries, breaker).
ANSWERED: tuple[int, ...] = (*range(200, 300), *(status for status in range(400, 500) if status != 429))

# One fragment per type, so that a batch of N aliases stays a short document. Shapes [likely] per providers.md.
# Beyond them the reads rely on Request.process { name version }, Action.requestNumber, the root field
# action(requestNumber:, number:) and viewer [stand-in: what the simulator serves]. A real server's schema is at
# /wfgen/graphql/schema: check these there before pointing the gateway at a tenant; an unknown field fails the whole
# document (GraphQL validation), so a mismatch shows at once as UPSTREAM_ERROR, never as silently missing data.
ACTION_FIELDS = """fragment HookgateAction on Action {
  id number requestNumber name status openedAt closedAt assignee { id userName }
}"""
REQUEST_FIELDS = """fragment HookgateRequest on Request {
  id number description status openedAt closedAt
  process { name version }
  requester { id userName }
  actions { items { ...HookgateAction } }
  dataset { items { name textValue numericValue dateTimeValue
    fileValue { name contentType size description updatedAt } } }
}"""

#: WorkflowGen's page size for lists (its largest is not published [stand-in]: the sandbox allows 100), and the most
#: pages a list with a filter of the gateway's own reads.
LIST_PAGE_SIZE = 100
MAX_LIST_PAGES = 50


class _Enum(str):
    """A GraphQL enum value in a literal: written bare."""


def _literal(value: Any) -> str:
    """``value`` as a GraphQL input literal: objects, strings (JSON-escaped), numbers, booleans, :class:`_Enum`."""
    if isinstance(value, _Enum):
        if not value.isidentifier():
            raise BadUserInput(f"'{value[:40]}' is not a status", field="status")
        return str(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return orjson.dumps(str(value)).decode()


#: A batch key: a request number, or (request number, action number).
K = TypeVar("K", bound=Hashable)


class HookTokenTransport(httpx.AsyncBaseTransport):
    """Puts the hook token into a hook call's URL on the way out, and nowhere else.

    The client addresses hook calls to ``/wfgen/hooks/-``; only the request copy given to the inner (network)
    transport carries the real token, so it never shows in httpx's logs, exceptions or ``response.request``.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, hook_token: str) -> None:
        self._inner = inner
        self._segment = quote(hook_token, safe="").encode()

    def __repr__(self) -> str:
        return "HookTokenTransport(<secret>)"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        placeholder = f"{HOOK_PREFIX}{HOOK_PLACEHOLDER}".encode()
        if request.url.raw_path.endswith(placeholder):
            raw_path = request.url.raw_path[: -len(HOOK_PLACEHOLDER)] + self._segment
            request = httpx.Request(
                request.method,
                request.url.copy_with(raw_path=raw_path),
                headers=request.headers,
                stream=request.stream,
                extensions=request.extensions,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


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


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
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


def _items(value: Any) -> list[Any]:
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
    user_name = _str(value.get("userName"))
    if user_name is None:
        return None
    return WorkflowUserRecord(user_name=user_name, id=_str(value.get("id")))


def parse_data_value(value: Any) -> DataValueRecord | None:
    if not isinstance(value, dict) or _str(value.get("name")) is None:
        return None
    file_value = None
    raw_file = value.get("fileValue")
    if isinstance(raw_file, dict) and _str(raw_file.get("name")) is not None:
        file_value = FileValueRecord(
            name=raw_file["name"],
            content_type=_str(raw_file.get("contentType")),
            size=_int(raw_file.get("size")),
            description=_str(raw_file.get("description")),
            updated_at=parse_instant(raw_file.get("updatedAt")),
        )
    return DataValueRecord(
        name=value["name"],
        text_value=_str(value.get("textValue")),
        numeric_value=_float(value.get("numericValue")),
        date_time_value=parse_instant(value.get("dateTimeValue")),
        file_value=file_value,
    )


def parse_action(source: str, value: Any, request_number: int | None = None) -> WorkflowActionRecord | None:
    """An action from a GraphQL ``Action`` or an operation's ``action`` payload; None if it lacks its numbers."""
    if not isinstance(value, dict):
        return None
    number = _int(value.get("number"))
    parent = value.get("request")
    req_number = _int(value.get("requestNumber"))
    if req_number is None and isinstance(parent, dict):
        req_number = _int(parent.get("number"))
    if req_number is None:
        req_number = request_number
    if number is None and req_number is not None:
        key = action_key_of(value.get("id"))
        number = key[1] if key else None
    if number is None or req_number is None:
        return None
    return WorkflowActionRecord(
        source=source,
        provider_id=_str(value.get("id")) or encode_global_id("Action", f"{req_number}---{number}"),
        number=number,
        request_number=req_number,
        name=_str(value.get("name")),
        status=_str(value.get("status")),
        assignee=parse_user(value.get("assignee")),
        opened_at=parse_instant(value.get("openedAt")),
        closed_at=parse_instant(value.get("closedAt")),
    )


def parse_request(source: str, value: Any) -> WorkflowRequestRecord | None:
    """A request from a GraphQL ``Request`` or an operation's ``request`` payload; None if it lacks its number."""
    if not isinstance(value, dict):
        return None
    number = _int(value.get("number"))
    if number is None:
        number = request_number_of(value.get("id"))
    if number is None:
        return None
    raw_process = value.get("process")
    process: dict[str, Any] = raw_process if isinstance(raw_process, dict) else {}
    actions = (parse_action(source, item, number) for item in _items(value.get("actions")))
    dataset = (parse_data_value(item) for item in _items(value.get("dataset")))
    return WorkflowRequestRecord(
        source=source,
        provider_id=_str(value.get("id")) or encode_global_id("Request", number),
        number=number,
        # Either casing of where the process is named: nested (what GraphQL serves) or flat.
        process_name=_str(process.get("name")) or _str(value.get("processName")),
        process_version=_int(process.get("version")) or _int(value.get("processVersion")),
        status=_str(value.get("status")),
        description=_str(value.get("description")),
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


def _folded(value: Any) -> dict[str, Any]:
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
    top = _folded(body)
    if "data" in top and operation.lower() not in top and isinstance(top["data"], dict):
        top = _folded(top["data"])
    raw = top.get(operation.lower())
    if isinstance(raw, dict):
        payload = _folded(raw)
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
        nested = _folded(payload.get("request"))
        raw_id = nested.get("id") or payload.get("requestid")
        number = _int(nested.get("number")) or _int(payload.get("number")) or request_number_of(raw_id)
        if number is None and isinstance(raw_id, str):
            number = _int(raw_id)  # a bare number given as requestId
        request: dict[str, Any] = dict(_as_dict(payload.get("request")))
        request.update(number=number, id=raw_id if isinstance(raw_id, str) and number is not None else None)
        if request["id"] is None and number is not None:
            request["id"] = encode_global_id("Request", number)
        out["request"] = request
        if number is None and payload:
            warnings.append(f"{operation} was done, but its answer does not say which request")
    else:
        nested = _folded(payload.get("action"))
        raw_id = nested.get("id") or payload.get("actionid") or payload.get("id")
        key = action_key_of(raw_id)
        number = _int(nested.get("number")) or _int(payload.get("number")) or (key[1] if key else None)
        parent = _folded(nested.get("request"))
        request_number = (
            _int(nested.get("requestnumber"))
            or _int(parent.get("number"))
            or _int(payload.get("requestnumber"))
            or (key[0] if key else None)
        )
        action: dict[str, Any] = dict(_as_dict(payload.get("action")))
        action.update(number=number, requestNumber=request_number)
        if number is not None and request_number is not None:
            action["id"] = raw_id if key is not None else encode_global_id("Action", f"{request_number}---{number}")
        out["action"] = action
        if (number is None or request_number is None) and payload:
            warnings.append(f"{operation} was done, but its answer does not say which action")
    if warnings:
        out[ANSWER_WARNINGS] = warnings
    return out


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _unique(keys: Sequence[Any]) -> list[Any]:
    return list(dict.fromkeys(keys))


def _chunks(keys: list[Any], size: int) -> list[list[Any]]:
    return [keys[start : start + size] for start in range(0, len(keys), size)]


def _number(value: Any, what: str) -> int:
    """A key as an int. WorkflowGen numbers start at 1: a smaller one is simply missing, not an error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadUserInput(f"{what} must be an integer, not {type(value).__name__}", field=what)
    return value


class WorkflowGenAdapter(Adapter):
    """One WorkflowGen server: the :class:`~gateway.providers.base.Workflow` capability.

    ``run_operation`` sends one of :data:`OPERATIONS` through the incoming webhook application; ``get_requests``
    and ``get_actions`` batch reads into one GraphQL document per ``max_batch`` keys.
    """

    kind = "workflowgen"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.WORKFLOW, Capability.INBOUND_EVENTS})
    config: WorkflowGenSource

    def __init__(self, name: str, config: WorkflowGenSource, http: UpstreamClient) -> None:
        super().__init__(name, config, http)
        self._graphql_auth: httpx.Auth | None = None
        if config.graphql_username is not None:
            password = config.graphql_password.get_secret_value() if config.graphql_password else ""
            self._graphql_auth = httpx.BasicAuth(config.graphql_username, password)
        self._graphql_headers = dict(JSON_HEADERS)
        if config.impersonate_username:
            self._graphql_headers[IMPERSONATE_HEADER] = config.impersonate_username

    @classmethod
    def create(
        cls,
        name: str,
        config: WorkflowGenSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: UpstreamObserver | None = None,
        on_write: Callable[[str], None] | None = None,
        **extras: Any,
    ) -> WorkflowGenAdapter:
        inner = transport or build_transport(config)
        wrapped = HookTokenTransport(inner, config.hook_token.get_secret_value())
        http = UpstreamClient(
            source=name, provider=cls.kind, config=config, transport=wrapped, observer=observer, on_write=on_write
        )
        return cls(name, config, http)

    def _ctx(self) -> dict[str, Any]:
        return {"source": self.name, "provider": self.kind}

    # -- writes ---------------------------------------------------------------------------------------------------

    async def run_operation(self, operation: str, input: Mapping[str, Any]) -> dict[str, Any]:
        """Run one operation of the incoming webhook application; return the payload under its key.

        ``input`` is the operation's ``args.input`` in WorkflowGen's field names (``processName``, ``parameters``,
        ``requestNumber``, ``onBehalfOfUserName``...); values may include ``datetime`` objects. Sent exactly once.
        WorkflowGen's refusals map by ``extensions.code``: FORBIDDEN → :class:`Forbidden`, NOT_FOUND →
        :class:`NotFound`, anything else → :class:`BadUserInput`, each quoting WorkflowGen's message.
        """
        if operation not in OPERATIONS:
            raise BadUserInput(
                f"'{operation}' is not a WorkflowGen operation; expected one of {', '.join(sorted(OPERATIONS))}",
                field="operation",
                **self._ctx(),
            )
        if not isinstance(input, Mapping):
            raise BadUserInput(f"{operation}: input must be an object", field="input", **self._ctx())
        envelope = {"operation": operation, "args": {"input": dict(input)}}
        response = await self.http.request(
            "POST",
            HOOK_PREFIX + HOOK_PLACEHOLDER,
            read=False,
            ok=ANSWERED,
            content=orjson.dumps(envelope),
            headers=JSON_HEADERS,
        )
        body = _loads(response)
        errors = _folded(body).get("errors")
        if isinstance(errors, list) and errors:
            raise self._operation_error(operation, errors, response.status_code)
        if response.status_code >= 300:
            raise self._hook_status_error(response)
        # A 2xx: the write is done. Whatever the answer's shape, it is read as far as it goes and never turned into an
        # error (a caller would retry, and create a second request): what is missing goes into the warnings.
        return read_answer(operation, body)

    def _operation_error(self, operation: str, errors: list[Any], status: int) -> HookgateError:
        messages = [str(e.get("message") or "") for e in errors if isinstance(e, dict)]
        message = "; ".join(m for m in messages if m) or "no message"
        first: dict[str, Any] = next((e for e in errors if isinstance(e, dict)), {})
        raw_extensions = first.get("extensions")
        extensions: dict[str, Any] = raw_extensions if isinstance(raw_extensions, dict) else {}
        code = str(extensions.get("code") or "").upper()
        text = f"{operation} on source '{self.name}' failed: {message}"
        if code == "FORBIDDEN":
            return Forbidden(text, **self._ctx())
        if code == "NOT_FOUND":
            return NotFound(text, **self._ctx())
        if code == "UNAUTHENTICATED" or status == 401:
            # The gateway's credential, not the caller's: a configuration problem, hence not UNAUTHENTICATED.
            return UpstreamError(
                f"source '{self.name}' rejected the gateway's hook token (check hook_token): {message}",
                status=status if status >= 400 else 401,
                **self._ctx(),
            )
        return BadUserInput(text, **self._ctx())

    def _hook_status_error(self, response: httpx.Response) -> HookgateError:
        status = response.status_code
        if status == 401:
            return UpstreamError(
                f"source '{self.name}' rejected the gateway's hook token (check hook_token)",
                status=status,
                **self._ctx(),
            )
        if status == 404:
            # Without WorkflowGen's error list a 404 means the URL, i.e. no application behind the hook token.
            return UpstreamError(
                f"source '{self.name}' has no incoming webhook application at the configured base_url and hook_token",
                status=status,
                **self._ctx(),
            )
        return self.http.error_for(response)

    # -- reads ----------------------------------------------------------------------------------------------------

    async def get_requests(self, numbers: Sequence[int]) -> list[WorkflowRequestRecord | HookgateError | None]:
        """Requests by number, in the keys' order: the record, None where missing, or the error of that key alone.

        Duplicates are fetched once; each ``max_batch`` distinct numbers are one aliased GraphQL document. A number
        WorkflowGen refuses (say, FORBIDDEN: not visible to the GraphQL user) fails only its own slot; a document
        that fails as a whole fails all of its numbers, and the call raises when every document failed.
        """
        keys = _unique([n for n in numbers if _number(n, "number") >= 1])
        answers = await self._batch(
            keys, self._request_selection, REQUEST_FIELDS + "\n" + ACTION_FIELDS, lambda n: f"request {n}"
        )
        found: dict[int, WorkflowRequestRecord | HookgateError | None] = {}
        for number, answer in answers:
            found[number] = answer if isinstance(answer, HookgateError) else parse_request(self.name, answer)
        return [found.get(n) for n in numbers]

    async def get_actions(self, keys: Sequence[tuple[int, int]]) -> list[WorkflowActionRecord | HookgateError | None]:
        """Actions by (request number, action number), in the keys' order: the record, None where missing, or the
        error of that key alone, as :meth:`get_requests`.

        One aliased ``action(requestNumber:, number:)`` per distinct key, ``max_batch`` keys per document.
        """
        unique = _unique([(r, n) for r, n in keys if _number(r, "requestNumber") >= 1 and _number(n, "number") >= 1])
        answers = await self._batch(
            unique, self._action_selection, ACTION_FIELDS, lambda k: f"action {k[1]} of request {k[0]}"
        )
        found: dict[tuple[int, int], WorkflowActionRecord | HookgateError | None] = {}
        for key, answer in answers:
            if isinstance(answer, HookgateError):
                found[key] = answer
                continue
            record = parse_action(self.name, answer, key[0])
            found[key] = record if record is not None and record.number == key[1] else None
        return [found.get((r, n)) for r, n in keys]

    async def get_requests_by_id(self, ids: Sequence[str]) -> list[WorkflowRequestRecord | HookgateError | None]:
        """Requests by WorkflowGen global id (``base64("Request:1")``), decoded locally [doc]; None for an id
        that names no request (malformed, or another type's). Slots as :meth:`get_requests`."""
        numbers = [request_number_of(i) for i in ids]
        wanted = [n for n in numbers if n is not None]
        answers = dict(zip(wanted, await self.get_requests(wanted), strict=True))
        return [answers[n] if n is not None else None for n in numbers]

    async def get_actions_by_id(self, ids: Sequence[str]) -> list[WorkflowActionRecord | HookgateError | None]:
        """Actions by WorkflowGen global id (``base64("Action:1---2")``), decoded locally [doc]. Slots as
        :meth:`get_actions`."""
        keys = [action_key_of(i) for i in ids]
        wanted = [k for k in keys if k is not None]
        answers = dict(zip(wanted, await self.get_actions(wanted), strict=True))
        return [answers[k] if k is not None else None for k in keys]

    # -- lists ----------------------------------------------------------------------------------------------------

    async def list_requests(self, filter: RequestListFilter, offset: int, limit: int) -> WorkflowPage:
        """``requests(page, filter)`` [likely]: status (one of them), processName, requesterUserName and createdSince
        are pushed down [stand-in: the filter's key names]; two statuses are every status; none matches nothing."""
        if filter.statuses is not None and not filter.statuses:
            return WorkflowPage(items=(), total=0, has_next=False)
        pushed: dict[str, Any] = {}
        if filter.statuses is not None and len(filter.statuses) == 1:
            pushed["status"] = _Enum(next(iter(filter.statuses)))
        if filter.process_name is not None:
            pushed["processName"] = filter.process_name
        if filter.requester is not None:
            pushed["requesterUserName"] = filter.requester
        if filter.created_since is not None:
            pushed["createdSince"] = filter.created_since.isoformat()
        page = await self._list("requests", pushed, "...HookgateRequest", REQUEST_FIELDS + "\n" + ACTION_FIELDS,
                                None, offset, limit)  # fmt: skip
        items = tuple(r for r in (parse_request(self.name, item) for item in page.items) if r is not None)
        return WorkflowPage(items=items, total=page.total, has_next=page.has_next)

    async def list_actions(self, filter: ActionListFilter, offset: int, limit: int) -> WorkflowPage:
        """``actions(page, filter)`` [likely]: status, assigneeUserName, requestNumber and createdSince pushed down
        [stand-in: the filter's key names]; the process name is filtered here, from each action's
        ``request { process { name } }``. ``assignee: "me"`` is the impersonated user (else the GraphQL user)."""
        if filter.statuses is not None and not filter.statuses:
            return WorkflowPage(items=(), total=0, has_next=False)
        pushed: dict[str, Any] = {}
        if filter.statuses is not None and len(filter.statuses) == 1:
            pushed["status"] = _Enum(next(iter(filter.statuses)))
        if filter.assignee is not None:
            pushed["assigneeUserName"] = await self._me() if filter.assignee == ME else filter.assignee
        if filter.request_number is not None:
            pushed["requestNumber"] = filter.request_number
        if filter.created_since is not None:
            pushed["createdSince"] = filter.created_since.isoformat()
        keep: Callable[[dict[str, Any]], bool] | None = None
        selection = "...HookgateAction"
        if filter.process_name is not None:
            wanted = filter.process_name
            selection += " request { number process { name } }"

            def keep(item: dict[str, Any]) -> bool:
                process = _as_dict(_as_dict(item.get("request")).get("process"))
                return process.get("name") == wanted

        page = await self._list("actions", pushed, selection, ACTION_FIELDS, keep, offset, limit)
        items = tuple(a for a in (parse_action(self.name, item) for item in page.items) if a is not None)
        return WorkflowPage(items=items, total=page.total, has_next=page.has_next)

    async def _me(self) -> str:
        """The user the gateway reads as: the impersonated user, else the GraphQL user, else WorkflowGen's viewer."""
        if self.config.impersonate_username:
            return self.config.impersonate_username
        if self.config.graphql_username:
            return self.config.graphql_username
        viewer = _as_dict((await self._query("query HookgateViewer { viewer { userName } }")).get("viewer"))
        user_name = _str(viewer.get("userName"))
        if user_name is None:
            raise UpstreamError(f"source '{self.name}' did not say who its GraphQL user is", **self._ctx())
        return user_name

    async def _list(
        self,
        field: str,
        pushed: Mapping[str, Any],
        selection: str,
        fragments: str,
        keep: Callable[[dict[str, Any]], bool] | None,
        offset: int,
        limit: int,
    ) -> WorkflowPage:
        """``limit`` raw items from ``offset`` on, over WorkflowGen's numbered pages of :data:`LIST_PAGE_SIZE`.

        All filters pushed down (``keep`` None): only the pages that hold the window are read, and WorkflowGen's
        ``totalCount`` is the total. With a filter of the gateway's own, every page is read (at most
        :data:`MAX_LIST_PAGES`) so that the total is right.
        """
        size = LIST_PAGE_SIZE
        filter_text = _literal(dict(pushed))
        number = 1 if keep is not None else offset // size + 1
        kept: list[dict[str, Any]] = []
        skip = 0 if keep is not None else offset - (number - 1) * size
        total = 0
        while True:
            arguments = f"page: {{number: {number}, size: {size}}}" + (f", filter: {filter_text}" if pushed else "")
            document = (
                f"query HookgateList {{ {field}({arguments}) {{ totalCount hasNextPage items {{ {selection} }} }} }}"
                f"\n{fragments}"
            )
            answer = _as_dict((await self._query(document)).get(field))
            items = [item for item in _items(answer) if isinstance(item, dict)]
            more = answer.get("hasNextPage") is True
            if keep is None:
                total = _int(answer.get("totalCount")) or 0
                kept += items[skip:]
                skip = 0
                if len(kept) >= limit or not more:
                    window = kept[:limit]
                    return WorkflowPage(items=tuple(window), total=total, has_next=offset + len(window) < total)
            else:
                kept += [item for item in items if keep(item)]
                if not more or number >= MAX_LIST_PAGES:
                    window = kept[offset : offset + limit]
                    return WorkflowPage(items=tuple(window), total=len(kept), has_next=offset + len(window) < len(kept))
            number += 1

    @staticmethod
    def _request_selection(alias: str, number: int) -> str:
        return f"{alias}: request(number: {number}) {{ ...HookgateRequest }}"

    @staticmethod
    def _action_selection(alias: str, key: tuple[int, int]) -> str:
        return f"{alias}: action(requestNumber: {key[0]}, number: {key[1]}) {{ ...HookgateAction }}"

    async def _batch(
        self,
        keys: list[K],
        select: Callable[[str, K], str],
        fragments: str,
        label: Callable[[K], str],
    ) -> list[tuple[K, Any]]:
        """Per key: what its alias answered (the node, None where null, or the :class:`HookgateError` of that key).

        Chunks of ``max_batch`` keys are one document each and run at once. A chunk whose document failed as a whole
        (HTTP error, timeout, open circuit) gives its error to each of its keys, so the other chunks still count;
        when every chunk failed there is nothing to keep, and the first one's error is raised.
        """
        chunks = _chunks(keys, self.config.max_batch)

        async def one(chunk: list[K]) -> list[tuple[K, Any]]:
            aliases = {f"k{index}": key for index, key in enumerate(chunk)}
            selections = "\n  ".join(select(alias, key) for alias, key in aliases.items())
            document = f"query HookgateBatch {{\n  {selections}\n}}\n{fragments}"
            answers = await self._query_aliases(document, {alias: label(key) for alias, key in aliases.items()})
            return [(key, answers[alias]) for alias, key in aliases.items()]

        outcomes = await asyncio.gather(*(one(chunk) for chunk in chunks), return_exceptions=True)
        failures = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
        for failure in failures:
            if not isinstance(failure, HookgateError):
                raise failure  # a bug or a cancellation: not an upstream answer to hand out per key
        if failures and len(failures) == len(outcomes):
            raise failures[0]
        answers: list[tuple[K, Any]] = []
        for chunk, outcome in zip(chunks, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                answers += [(key, outcome) for key in chunk]
            else:
                answers += outcome
        return answers

    async def _read(self, document: str) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        """POST one read document; return the status, ``data`` and the error list. Raises when the answer as a whole
        failed: an HTTP error, a body that is not a GraphQL answer, or no ``data`` (the document never ran)."""
        response = await self.http.request(
            "POST",
            GRAPHQL_PATH,
            read=True,
            ok=ANSWERED,
            content=orjson.dumps({"query": document}),
            headers=self._graphql_headers,
            auth=self._graphql_auth,
        )
        body = _loads(response)
        if not isinstance(body, dict):
            if response.status_code >= 300:
                raise self._read_error(response.status_code, [])
            self.http.decode(response)  # raises for a body that is not JSON
            raise UpstreamError(
                f"source '{self.name}' answered a GraphQL read with an unexpected body",
                status=response.status_code,
                **self._ctx(),
            )
        raw_data = body.get("data")
        raw_errors = body.get("errors")
        errors = [e for e in raw_errors if isinstance(e, dict)] if isinstance(raw_errors, list) else []
        if response.status_code >= 300 or not isinstance(raw_data, dict):
            raise self._read_error(response.status_code, errors)
        return response.status_code, raw_data, errors

    async def _query(self, document: str) -> dict[str, Any]:
        """Run one read document that is a single question (the probe); return ``data``. Any error fails it."""
        status, data, errors = await self._read(document)
        if errors:
            raise self._read_error(status, errors)
        return data

    async def _query_aliases(self, document: str, labels: Mapping[str, str]) -> dict[str, Any]:
        """Run one batch document; per alias of ``labels``: its node, None, or the error that failed that alias.

        GraphQL reports a field's failure in ``errors`` with a ``path`` whose first element is the alias, beside the
        other aliases' data (the GraphQL spec, "Errors" under "Response"), so an error is pinned on its alias:
        NOT_FOUND on a null alias is a missing key (None, as every by-id read answers); any other error fails that key
        alone, mapped as :meth:`_read_error` maps a whole answer's. An error that names no alias of ours (no path,
        say) may concern every key, so it fails the whole document. ``labels`` name each alias's key for the error
        message ("request 7").
        """
        status, data, errors = await self._read(document)
        pinned: dict[str, list[dict[str, Any]]] = {}
        for error in errors:
            path = error.get("path")
            alias = path[0] if isinstance(path, list) and path and isinstance(path[0], str) else None
            if alias is None or alias not in labels:
                raise self._read_error(status, [error])
            pinned.setdefault(alias, []).append(error)
        answers: dict[str, Any] = {}
        for alias, what in labels.items():
            node, failed = data.get(alias), pinned.get(alias)
            if not failed:
                answers[alias] = node
            elif node is None and all(_is_not_found(error) for error in failed):
                answers[alias] = None
            else:
                # Also when the alias has data: an error under it (a nested field) means the record is incomplete.
                answers[alias] = self._read_error(status, failed, what)
        return answers

    def _read_error(self, status: int, errors: list[dict[str, Any]], what: str | None = None) -> HookgateError:
        """The error tree's error for a failed read: of the whole document, or of one key (``what``: "request 7")."""
        message = "; ".join(str(e.get("message")) for e in errors if e.get("message")) or f"HTTP {status}"
        codes = {str((e.get("extensions") or {}).get("code") or "").upper() for e in errors}
        the_read = f"the read of {what}" if what else "the read"
        if status == 401 or "UNAUTHENTICATED" in codes:
            return UpstreamError(
                f"source '{self.name}' rejected the gateway's GraphQL credentials "
                f"(check graphql_username, graphql_password, impersonate_username): {message}",
                status=401,
                **self._ctx(),
            )
        if status == 403 or "FORBIDDEN" in codes:
            return Forbidden(f"source '{self.name}' refused {the_read}: {message}", **self._ctx())
        # A read document is the gateway's own: a GraphQL error in it is an upstream problem, not the caller's.
        return UpstreamError(
            f"source '{self.name}' could not answer {the_read}: {message}",
            status=status,
            **self._ctx(),
        )

    # -- probe ----------------------------------------------------------------------------------------------------

    async def probe(self) -> ProbeResult:
        """One GraphQL read (``viewer``): is the server reachable and are the read credentials accepted?

        The hook token is not checked: the webhook application has no call without an effect.
        """
        try:
            data = await self._query("query HookgateProbe { viewer { userName } }")
        except HookgateError as exc:
            return probe_failure(exc)
        viewer = data.get("viewer")
        who = _str(viewer.get("userName")) if isinstance(viewer, dict) else None
        detail = f"GraphQL reads as '{who}'" if who else "GraphQL reads work"
        return ProbeResult(reachable=True, authenticated=True, detail=f"{detail}; hook token not checked")


def _loads(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is empty or not JSON (callers decide what that means)."""
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def _is_not_found(error: Mapping[str, Any]) -> bool:
    """Does this GraphQL error say "no such object"? By its code when it has one (a FORBIDDEN whose text says
    "not found" is still a refusal), by its text otherwise."""
    extensions = error.get("extensions")
    code = str(extensions.get("code") or "") if isinstance(extensions, dict) else ""
    if code:
        return code.upper() == "NOT_FOUND"
    message = str(error.get("message") or "").lower()
    return "not found" in message or "does not exist" in message
