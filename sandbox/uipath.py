"""Simulator of UiPath Orchestrator's webhook API (OData v4), mounted under ``/uipath``.

What it serves (providers.md §1):

- ``POST /identity_/connect/token``: OAuth2 client credentials (form body ``grant_type=client_credentials``,
  ``client_id=sandbox-client``, ``client_secret=sandbox-client-secret``, ``scope``); the token it issues expires by
  the sandbox clock.
- ``GET /odata/Webhooks`` with ``$filter`` (``eq ne gt ge lt le``, ``and or not``, parentheses, ``contains``,
  ``startswith``, ``endswith``; properties ``Id``, ``Url``, ``Enabled``, ``Secret``, ``SubscribeToAllEvents``,
  ``AllowInsecureSsl``), ``$top``, ``$skip``, ``$count``, ``$orderby``, ``$select``; server-side paging with
  ``@odata.nextLink``.
- ``POST /odata/Webhooks`` (201), ``GET|PUT|PATCH|DELETE /odata/Webhooks({Id})``,
  ``GET /odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes()`` and
  ``POST /odata/Webhooks({Id})/UiPath.Server.Configuration.OData.Ping``.

Every call but the token one needs ``Authorization: Bearer sandbox-uipath-token`` or a token the token endpoint issued.

Options (``POST /_control/options``):

- ``uipath.page_size`` (int, default 100): the server page size; more matches than this get an ``@odata.nextLink``.
- ``uipath.token_ttl_s`` (int, default 3600): lifetime of issued tokens, also answered as ``expires_in``.

Seed: webhooks 4 and 10 from the examples of UiPath's "Webhooks requests" API guide page, and the 21 event types.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.control import Control

STATIC_TOKEN = "sandbox-uipath-token"
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-client-secret"

# The 21 event types exactly as GetEventTypes returns them [doc]: (Name, Group), in the documented order.
EVENT_TYPES: tuple[tuple[str, str], ...] = (
    ("process.created", "process"),
    ("process.updated", "process"),
    ("process.deleted", "process"),
    ("schedule.failed", "schedule"),
    ("robot.status", "robot"),
    ("robot.created", "robot"),
    ("robot.updated", "robot"),
    ("robot.deleted", "robot"),
    ("job.started", "job"),
    ("job.completed", "job"),
    ("job.faulted", "job"),
    ("job.stopped", "job"),
    ("job.created", "job"),
    ("queue.created", "queue"),
    ("queue.updated", "queue"),
    ("queue.deleted", "queue"),
    ("queueItem.added", "queueItem"),
    ("queueItem.transactionStarted", "queueItem"),
    ("queueItem.transactionFailed", "queueItem"),
    ("queueItem.transactionCompleted", "queueItem"),
    ("queueItem.transactionAbandoned", "queueItem"),
)
EVENT_NAMES = frozenset(name for name, _ in EVENT_TYPES)

# Documented error codes [doc]: 1000 invalid request, 1001 name already used, 1002 item not found.
INVALID_REQUEST = 1000
ALREADY_USED = 1001
NOT_FOUND = 1002

# The PingEventDto example [doc] gives these two ids; the sandbox answers with them on every ping.
TENANT_ID = 57
USER_ID = 583

# WebhookDto properties as they may appear in $filter / $orderby / $select, with their OData types.
_PROPERTY_TYPES: dict[str, type] = {
    "Id": int,
    "Url": str,
    "Enabled": bool,
    "Secret": str,
    "SubscribeToAllEvents": bool,
    "AllowInsecureSsl": bool,
}
_SELECTABLE = (*_PROPERTY_TYPES, "Events")


@dataclass
class Webhook:
    """One webhook registration, as Orchestrator stores it."""

    id: int
    url: str
    enabled: bool = False
    secret: str | None = None
    subscribe_to_all_events: bool = False
    allow_insecure_ssl: bool = False
    events: list[str] = field(default_factory=list)

    def to_dto(self) -> dict[str, Any]:
        # Key order follows the documented example: Url, Enabled, Secret, SubscribeToAllEvents, AllowInsecureSsl,
        # Id, Events. UiPath really returns Secret in WebhookDto [doc]; the gateway is the one that hides it.
        return {
            "Url": self.url,
            "Enabled": self.enabled,
            "Secret": self.secret,
            "SubscribeToAllEvents": self.subscribe_to_all_events,
            "AllowInsecureSsl": self.allow_insecure_ssl,
            "Id": self.id,
            "Events": [{"EventType": name} for name in self.events],
        }


def _seed_webhooks() -> list[Webhook]:
    return [
        # The "Retrieving webhooks according to their URL" example of UiPath's API guide, verbatim.
        Webhook(
            id=4,
            url="http://documentation.azurewebsites.net/webhook/documentation",
            enabled=True,
            secret="1234567890",
            subscribe_to_all_events=False,
            allow_insecure_ssl=False,
            events=["job.started", "process.created", "process.deleted", "process.updated", "queue.created"],
        ),
        # The "according to an ID" example of the same page reads GET /odata/Webhooks(10) and answers a webhook whose
        # Url starts with "https://orchestrator.uipath.com"; the rest of that example is not legible to us, so these
        # values are our choice: a disabled all-events webhook (so that filters on Enabled have both answers) signed
        # with the sandbox's delivery secret (CONTRACT.md).
        Webhook(
            id=10,
            url="https://orchestrator.uipath.com/webhooks/sandbox",
            enabled=False,
            secret="sandbox-uipath-secret",
            subscribe_to_all_events=True,
            allow_insecure_ssl=False,
            events=[],
        ),
    ]


@dataclass
class UiPathState:
    """In-memory tenant: webhook registry and issued tokens.

    Kept apart from the HTTP handlers so that a later change can read ``webhooks`` to send signed deliveries.
    """

    webhooks: dict[int, Webhook] = field(default_factory=dict)
    next_id: int = 1
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (sandbox clock, epoch seconds)
    listeners: list[Callable[[str, dict[str, Any]], None]] = field(default_factory=list)  # wiring: survives reset

    def reset(self) -> None:
        self.webhooks = {hook.id: replace(hook, events=list(hook.events)) for hook in _seed_webhooks()}
        self.next_id = max(self.webhooks) + 1
        self.tokens.clear()

    def registered(self) -> list[Webhook]:
        """Webhooks in Id order (the hook for future deliveries)."""
        return [self.webhooks[key] for key in sorted(self.webhooks)]

    def subscribe(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        """Call ``listener(event, data)`` on changes; ``("webhook.pinged", {"webhook": hook, "event": dto})``."""
        self.listeners.append(listener)

    def pinged(self, hook: Webhook, event: dict[str, Any]) -> None:
        for listener in self.listeners:
            listener("webhook.pinged", {"webhook": hook, "event": event})


class ODataError(Exception):
    """An error answered as UiPath's error body."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


def _trace_id() -> str:
    # W3C traceparent, which is what Orchestrator puts in traceId.
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def _error(status: int, error_code: int, message: str) -> JSONResponse:
    # stand-in: UiPath's error body {"message", "errorCode", "traceId"} is not documented.
    return JSONResponse({"message": message, "errorCode": error_code, "traceId": _trace_id()}, status_code=status)


def error_body(status: int) -> Any:
    """UiPath's error body for an injected fault of ``status``."""
    code = {400: INVALID_REQUEST, 404: NOT_FOUND}.get(status, 0)
    message = "Webhook does not exist." if status == 404 else HTTPStatus(status).phrase
    # stand-in: see _error.
    return {"message": message, "errorCode": code, "traceId": _trace_id()}


def iso7(timestamp: float) -> str:
    """``2018-11-19T14:32:47.6024779Z``: .NET's round-trip format, 7 fractional digits (100 ns ticks)."""
    ticks = round(timestamp * 10_000_000)
    seconds, fraction = divmod(ticks, 10_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:07d}Z"


# ---------------------------------------------------------------------------------------------------------------
# OData $filter: tokenizer and recursive-descent parser producing a predicate over a WebhookDto dict.
# ---------------------------------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)|
        (?P<string>'(?:[^']|'')*')|
        (?P<number>-?\d+)(?![A-Za-z_.])|
        (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
}
_ORDERING = frozenset({"gt", "ge", "lt", "le"})
_STRING_FUNCTIONS: dict[str, Callable[[str, str], bool]] = {
    "contains": lambda haystack, part: part in haystack,
    "startswith": str.startswith,
    "endswith": str.endswith,
}

Predicate = Callable[[dict[str, Any]], bool]


def _invalid_query(detail: str) -> ODataError:
    return ODataError(400, INVALID_REQUEST, f"The query specified in the URI is not valid. {detail}")


@dataclass
class _Operand:
    kind: str  # "property" or "literal"
    value: Any  # the property name, or the literal's Python value
    type: type | None  # None for the null literal

    def resolve(self, dto: dict[str, Any]) -> Any:
        return dto.get(self.value) if self.kind == "property" else self.value


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _invalid_query(f"Syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _FilterParser:
    """``expr := or; or := and ('or' and)*; and := unary ('and' unary)*; unary := 'not' unary | primary``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0

    def parse(self) -> Predicate:
        if not self.tokens:
            raise _invalid_query("The $filter expression is empty.")
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise _invalid_query(f"Syntax error at '{self.tokens[self.pos][1]}' in '{self.text}'.")
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise _invalid_query(f"Expression expected at the end of '{self.text}'.")
        self.pos += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token == ("word", word):
            self.pos += 1
            return True
        return False

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("or"):
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda dto: any(part(dto) for part in parts)

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._keyword("and"):
            parts.append(self._unary())
        if len(parts) == 1:
            return parts[0]
        return lambda dto: all(part(dto) for part in parts)

    def _unary(self) -> Predicate:
        if self._keyword("not"):
            inner = self._unary()
            return lambda dto: not inner(dto)
        return self._primary()

    def _primary(self) -> Predicate:
        token = self._peek()
        if token is not None and token[0] == "lparen":
            self.pos += 1
            inner = self._or()
            if self._take()[0] != "rparen":
                raise _invalid_query(f"')' expected in '{self.text}'.")
            return inner
        if token is not None and token[0] == "word" and token[1] in _STRING_FUNCTIONS:
            return self._string_function()
        left = self._operand()
        op_token = self._peek()
        if op_token is None or op_token[0] != "word" or op_token[1] not in _COMPARISONS:
            # A bare Boolean property is a predicate of its own: "$filter=Enabled".
            if left.kind == "property" and left.type is bool:
                name = left.value
                return lambda dto: dto.get(name) is True
            found = "the end" if op_token is None else f"'{op_token[1]}'"
            raise _invalid_query(f"A comparison operator was expected but {found} was found in '{self.text}'.")
        self.pos += 1
        op = op_token[1]
        right = self._operand()
        self._check_types(left, op, right)
        compare = _COMPARISONS[op]

        def predicate(dto: dict[str, Any]) -> bool:
            a, b = left.resolve(dto), right.resolve(dto)
            if a is None or b is None:
                # OData: null equals only null, and ordering with null is false.
                return (a is b) if op == "eq" else (a is not b) if op == "ne" else False
            return compare(a, b)

        return predicate

    def _string_function(self) -> Predicate:
        # contains(Url,'x'), startswith(Url,'x'), endswith(Url,'x'): OData's canonical string functions.
        name = self._take()[1]
        if self._take()[0] != "lparen":
            raise _invalid_query(f"'(' expected after '{name}' in '{self.text}'.")
        target = self._operand()
        if self._take()[0] != "comma":
            raise _invalid_query(f"',' expected in the arguments of '{name}' in '{self.text}'.")
        needle = self._operand()
        if self._take()[0] != "rparen":
            raise _invalid_query(f"')' expected after the arguments of '{name}' in '{self.text}'.")
        if target.type is not str or needle.type is not str:
            raise _invalid_query(f"The function '{name}' takes two string arguments.")
        test = _STRING_FUNCTIONS[name]

        def predicate(dto: dict[str, Any]) -> bool:
            haystack, part = target.resolve(dto), needle.resolve(dto)
            return haystack is not None and part is not None and test(haystack, part)

        return predicate

    def _operand(self) -> _Operand:
        kind, text = self._take()
        if kind == "string":
            return _Operand("literal", text[1:-1].replace("''", "'"), str)
        if kind == "number":
            return _Operand("literal", int(text), int)
        if kind == "word":
            if text in ("true", "false"):
                return _Operand("literal", text == "true", bool)
            if text == "null":
                return _Operand("literal", None, None)
            if text in _PROPERTY_TYPES:
                return _Operand("property", text, _PROPERTY_TYPES[text])
            raise _invalid_query(f"Could not find a property named '{text}' on type 'UiPath.Webhooks.WebhookDto'.")
        raise _invalid_query(f"An operand was expected but '{text}' was found in '{self.text}'.")

    def _check_types(self, left: _Operand, op: str, right: _Operand) -> None:
        if left.type is not None and right.type is not None and left.type is not right.type:
            raise _invalid_query(
                f"A binary operator with incompatible types was detected. Found operand types "
                f"'{left.type.__name__}' and '{right.type.__name__}' for operator kind '{op}'."
            )
        if op in _ORDERING and (bool in (left.type, right.type) or None in (left.type, right.type)):
            raise _invalid_query(f"The operator '{op}' cannot compare these operands.")


def parse_filter(text: str) -> Predicate:
    """Compile an OData ``$filter`` over WebhookDto properties; raises :class:`ODataError` (400, 1000)."""
    return _FilterParser(text).parse()


def _parse_orderby(text: str) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or words[0] not in _PROPERTY_TYPES:
            raise _invalid_query(f"Invalid $orderby clause '{part.strip()}'.")
        if len(words) == 2 and words[1] not in ("asc", "desc"):
            raise _invalid_query(f"Invalid $orderby direction '{words[1]}'.")
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    return keys


def _sort_key(value: Any) -> tuple[bool, Any]:
    # None sorts first, as SQL Server does; two Nones compare through the 0 placeholder, never None < None.
    return (value is not None, value if value is not None else 0)


def _property_key(name: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda dto: _sort_key(dto[name])


def _parse_select(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    for name in names:
        if name not in _SELECTABLE:
            raise _invalid_query(f"Could not find a property named '{name}' on type 'UiPath.Webhooks.WebhookDto'.")
    return names


def _non_negative(name: str, text: str) -> int:
    if not text.isdigit():
        raise _invalid_query(f"Invalid value '{text}' for {name} query option: a non-negative integer is expected.")
    return int(text)


_LINK_SAFE = "'(),$"  # Characters a nextLink leaves unescaped in option values.
_SYSTEM_OPTIONS = frozenset({"$filter", "$top", "$skip", "$count", "$orderby", "$select"})


@dataclass
class _Query:
    predicate: Predicate | None = None
    top: int | None = None
    skip: int = 0
    count: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    select: list[str] | None = None
    raw: dict[str, str] = field(default_factory=dict)


def _parse_query(request: Request) -> _Query:
    query = _Query()
    for name, value in request.query_params.multi_items():
        if not name.startswith("$"):
            continue  # Non-system parameters are ignored, as ASP.NET OData does.
        if name not in _SYSTEM_OPTIONS:
            raise _invalid_query(f"The query parameter '{name}' is not supported.")
        if name in query.raw:
            raise _invalid_query(f"Query option '{name}' was specified more than once.")
        query.raw[name] = value
    if "$filter" in query.raw:
        query.predicate = parse_filter(query.raw["$filter"])
    if "$top" in query.raw:
        query.top = _non_negative("$top", query.raw["$top"])
    if "$skip" in query.raw:
        query.skip = _non_negative("$skip", query.raw["$skip"])
    if "$count" in query.raw:
        if query.raw["$count"] not in ("true", "false"):
            raise _invalid_query(f"'{query.raw['$count']}' is not a valid count option.")
        query.count = query.raw["$count"] == "true"
    if "$orderby" in query.raw:
        query.orderby = _parse_orderby(query.raw["$orderby"])
    if "$select" in query.raw:
        query.select = _parse_select(query.raw["$select"])
    return query


# ---------------------------------------------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------------------------------------------

_BODY_PROPERTIES = frozenset({"Id", "Url", "Enabled", "Secret", "SubscribeToAllEvents", "AllowInsecureSsl", "Events"})
_BOOL_FIELDS = {
    "Enabled": "enabled",
    "SubscribeToAllEvents": "subscribe_to_all_events",
    "AllowInsecureSsl": "allow_insecure_ssl",
}


def _bad_body(message: str) -> ODataError:
    return ODataError(400, INVALID_REQUEST, message)


def _is_absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _parse_webhook_body(raw: bytes, *, partial: bool) -> dict[str, Any]:
    """Validate a WebhookDto body; returns the fields it sets, by attribute name of :class:`Webhook`."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _bad_body("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise _bad_body("The request body must be a WebhookDto object.")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@"):
            continue  # OData annotations such as @odata.type are allowed in a request body.
        if key not in _BODY_PROPERTIES:
            raise _bad_body(f"The property '{key}' does not exist on type 'UiPath.Webhooks.WebhookDto'.")
        if key == "Url":
            if not isinstance(value, str) or not _is_absolute_http(value):
                raise _bad_body("Url must be an absolute http or https URL.")
            changes["url"] = value
        elif key in _BOOL_FIELDS:
            if not isinstance(value, bool):
                raise _bad_body(f"{key} must be true or false.")
            changes[_BOOL_FIELDS[key]] = value
        elif key == "Secret":
            if value is not None and not isinstance(value, str):
                raise _bad_body("Secret must be a string or null.")
            changes["secret"] = value
        elif key == "Events":
            changes["events"] = _parse_events(value)
        elif key == "Id":
            if not isinstance(value, int) or isinstance(value, bool):
                raise _bad_body("Id must be an integer.")
            changes["id"] = value
    if not partial and "url" not in changes:
        raise _bad_body("The Url field is required.")
    return changes


def _parse_events(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad_body('Events must be an array of {"EventType": ...} objects.')
    names: list[str] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("EventType"), str):
            raise _bad_body('Events must be an array of {"EventType": ...} objects.')
        name = item["EventType"]
        if name not in EVENT_NAMES:
            raise _bad_body(f"Unknown event type '{name}'.")
        if name not in names:
            names.append(name)
    return names


# ---------------------------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------------------------


class UiPathSimulator:
    """Handlers over one :class:`UiPathState`, reading the shared sandbox switches from ``control``."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.state = UiPathState()
        self.state.reset()

    # -- helpers --------------------------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        if secrets.compare_digest(token, STATIC_TOKEN):
            return True
        expiry = self.state.tokens.get(token)
        return expiry is not None and self.control.clock.now() < expiry

    @staticmethod
    def _service_root(request: Request) -> str:
        # The mount prefix is the OData service root: "http://host:port/uipath".
        return str(request.url.replace(path=request.scope.get("root_path", ""), query=""))

    def _entity(self, request: Request, hook: Webhook) -> dict[str, Any]:
        return {"@odata.context": f"{self._service_root(request)}/odata/$metadata#Webhooks/$entity", **hook.to_dto()}

    def _find(self, request: Request) -> Webhook:
        hook = self.state.webhooks.get(int(request.path_params["id"]))
        if hook is None:
            raise ODataError(404, NOT_FOUND, "Webhook does not exist.")
        return hook

    def _check_url_free(self, url: str, own_id: int | None) -> None:
        for hook in self.state.webhooks.values():
            if hook.url == url and hook.id != own_id:
                # stand-in: the API's answer to a second webhook on the same Url is not documented.
                raise ODataError(400, ALREADY_USED, f"A webhook with the Url '{url}' already exists.")

    def guarded(self, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        """Wrap a handler with the bearer check and the ODataError -> error body mapping."""

        async def endpoint(request: Request) -> Response:
            if not self._authorized(request):
                # stand-in: the 401 body; this message is the one Orchestrator is seen answering.
                return _error(401, 0, "You are not authenticated!")
            try:
                response: Response = await handler(request)
            except ODataError as exc:
                return _error(exc.status, exc.error_code, exc.message)
            return response

        return endpoint

    # -- identity -------------------------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        # [likely] IdentityServer's client-credentials endpoint; OAuth2 error bodies per RFC 6749 §5.2.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        client_ok = secrets.compare_digest(form.get("client_id", ""), CLIENT_ID) and secrets.compare_digest(
            form.get("client_secret", ""), CLIENT_SECRET
        )
        if not client_ok:
            return JSONResponse({"error": "invalid_client"}, status_code=400)
        ttl = int(self.control.options.get("uipath.token_ttl_s", 3600))
        access_token = secrets.token_urlsafe(32)
        self.state.tokens[access_token] = self.control.clock.now() + ttl
        return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": ttl})

    # -- webhooks -------------------------------------------------------------------------------------------------

    async def list_webhooks(self, request: Request) -> Response:
        query = _parse_query(request)
        hooks = self.state.registered()
        dtos = [hook.to_dto() for hook in hooks]
        if query.predicate is not None:
            dtos = [dto for dto in dtos if query.predicate(dto)]
        # Stable sorts from the last key to the first give a multi-key order.
        for name, descending in reversed(query.orderby):
            dtos.sort(key=_property_key(name), reverse=descending)
        total = len(dtos)
        page_size = max(1, int(self.control.options.get("uipath.page_size", 100)))
        start = min(query.skip, total)
        wanted_end = total if query.top is None else min(total, query.skip + query.top)
        end = min(wanted_end, start + page_size)
        page = dtos[start:end]
        if query.select is not None:
            page = [{name: dto[name] for name in query.select} for dto in page]
        body: dict[str, Any] = {"@odata.context": f"{self._service_root(request)}/odata/$metadata#Webhooks"}
        # The docs' example answers "@odata.count" to a query without $count; the sandbox is stricter and counts only
        # when asked ($count=true), so that an adapter asking explicitly works against either behaviour.
        if query.count:
            body["@odata.count"] = total
        body["value"] = page
        if end < wanted_end:
            body["@odata.nextLink"] = self._next_link(request, query, end, wanted_end)
        return JSONResponse(body)

    @staticmethod
    def _next_link(request: Request, query: _Query, next_skip: int, wanted_end: int) -> str:
        params: list[tuple[str, str]] = [
            (name, query.raw[name]) for name in ("$filter", "$orderby", "$select", "$count") if name in query.raw
        ]
        if query.top is not None:
            params.append(("$top", str(wanted_end - next_skip)))
        params.append(("$skip", str(next_skip)))
        # Spaces as %20 (not "+") and OData's punctuation left readable, as Orchestrator writes its links.
        encoded = "&".join(f"{quote(k, safe='$')}={quote(v, safe=_LINK_SAFE)}" for k, v in params)
        return f"{request.url.replace(query='')}?{encoded}"

    async def get_webhook(self, request: Request) -> Response:
        return JSONResponse(self._entity(request, self._find(request)))

    async def create_webhook(self, request: Request) -> Response:
        changes = _parse_webhook_body(await request.body(), partial=False)
        changes.pop("id", None)  # The server assigns Ids.
        self._check_url_free(changes["url"], None)
        hook = Webhook(id=self.state.next_id, **changes)
        self.state.next_id += 1
        self.state.webhooks[hook.id] = hook
        location = f"{self._service_root(request)}/odata/Webhooks({hook.id})"
        # stand-in: 201 (the docs show no create answer); OData's Location header points at the new entity.
        return JSONResponse(self._entity(request, hook), status_code=201, headers={"Location": location})

    async def replace_webhook(self, request: Request) -> Response:
        hook = self._find(request)
        changes = _parse_webhook_body(await request.body(), partial=False)
        self._check_body_id(changes, hook)
        self._check_url_free(changes["url"], hook.id)
        # PUT replaces the whole entity: what the body leaves out goes back to its default.
        updated = Webhook(id=hook.id, **changes)
        self.state.webhooks[hook.id] = updated
        return JSONResponse(self._entity(request, updated))

    async def patch_webhook(self, request: Request) -> Response:
        hook = self._find(request)
        changes = _parse_webhook_body(await request.body(), partial=True)
        self._check_body_id(changes, hook)
        if "url" in changes:
            self._check_url_free(changes["url"], hook.id)
        updated = replace(hook, **changes)
        self.state.webhooks[hook.id] = updated
        return JSONResponse(self._entity(request, updated))

    @staticmethod
    def _check_body_id(changes: dict[str, Any], hook: Webhook) -> None:
        if changes.pop("id", hook.id) != hook.id:
            raise _bad_body("The Id in the body does not match the key in the URL.")

    async def delete_webhook(self, request: Request) -> Response:
        hook = self._find(request)
        del self.state.webhooks[hook.id]
        return Response(status_code=204)  # stand-in: 204, no body.

    async def event_types(self, request: Request) -> Response:
        metadata = f"{self._service_root(request)}/odata/$metadata"
        return JSONResponse(
            {
                # stand-in: the context's type name is not documented.
                "@odata.context": f"{metadata}#Collection(UiPath.Server.Configuration.OData.WebhookEventTypeDto)",
                "value": [{"Name": name, "Group": group} for name, group in EVENT_TYPES],
            }
        )

    async def ping(self, request: Request) -> Response:
        hook = self._find(request)
        # PingEventDto exactly as the documented example, with a fresh EventId and the sandbox clock's time.
        event = {
            "Type": "ping",
            "EventId": uuid.uuid4().hex,
            "Timestamp": iso7(self.control.clock.now()),
            "TenantId": TENANT_ID,
            "OrganizationUnitId": None,
            "UserId": USER_ID,
        }
        # The same event is delivered to the webhook's Url (sandbox/deliveries.py), as Orchestrator does.
        self.state.pinged(hook, event)
        return JSONResponse(event)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    # stand-in: ASP.NET's answer to a path that matches no route.
    message = "No HTTP resource was found that matches the request URI." if status == 404 else HTTPStatus(status).phrase
    return _error(status, 0, message)


def create_app(control: Control) -> Starlette:
    """A fresh UiPath Orchestrator simulator with its own seed state, reset by ``control.reset()``."""
    sim = UiPathSimulator(control)
    control.on_reset(sim.state.reset)
    guard = sim.guarded
    routes = [
        Route("/identity_/connect/token", sim.token, methods=["POST"]),
        Route("/odata/Webhooks", guard(sim.list_webhooks), methods=["GET"]),
        Route("/odata/Webhooks", guard(sim.create_webhook), methods=["POST"]),
        Route(
            "/odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes()", guard(sim.event_types), methods=["GET"]
        ),
        Route("/odata/Webhooks({id:int})", guard(sim.get_webhook), methods=["GET"]),
        Route("/odata/Webhooks({id:int})", guard(sim.replace_webhook), methods=["PUT"]),
        Route("/odata/Webhooks({id:int})", guard(sim.patch_webhook), methods=["PATCH"]),
        Route("/odata/Webhooks({id:int})", guard(sim.delete_webhook), methods=["DELETE"]),
        Route("/odata/Webhooks({id:int})/UiPath.Server.Configuration.OData.Ping", guard(sim.ping), methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.uipath = sim.state
    return app
