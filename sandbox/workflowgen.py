"""Simulator of WorkflowGen: the incoming webhook application (operations) and the GraphQL API (reads).

Wire formats: providers.md §2. Routes, relative to the ``/workflowgen`` mount:

- ``POST /wfgen/hooks/{token}``: the incoming webhook application. The token ``sandbox-wfgen-token`` is its only
  credential; operations run as the application's impersonate username (``wfgen_admin``), or as the user named by
  ``onBehalfOf`` / ``onBehalfOfUserName`` where the operation allows delegation.
  Body ``{"operation": "createRequest", "args": {"input": {...}}}``.
- ``POST /wfgen/graphql``: a small read-only GraphQL API (graphql-core), Basic auth ``wfgen_admin`` / ``sandbox``,
  optional header ``x-wfgen-impersonate-username``. A request or action it does not have, or that the viewer may not
  see, is that field's own error (NOT_FOUND, FORBIDDEN) beside the other fields' data [stand-in].

Seed (restored by ``POST /_control/reset``): process ``EXPENSE_CLAIM`` version 1 (id 1) with data AMOUNT (NUMERIC),
REASON (TEXT), DUE (DATETIME), RECEIPT (FILE) and one action ``APPROVAL``; users ``wfgen_admin`` (id 1,
administrator) and ``jdoe`` (id 2, ordinary user); request 1 of EXPENSE_CLAIM, open, requested by jdoe, with its
open action 1 ``APPROVAL`` assigned to wfgen_admin and all four data filled in.

Option (``POST /_control/options``): ``workflowgen.impersonate_username`` replaces the hook application's impersonate
username (default ``wfgen_admin``), to test rights errors without delegation.

:class:`WorkflowGenState` is the only writer of the state; every change goes through one of its methods, which call
:meth:`WorkflowGenState._emit`, so that outgoing notifications can be hooked in later without touching the HTTP layer.
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLResolveInfo, build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.control import Clock, Control, json_bytes

HOOK_TOKEN = "sandbox-wfgen-token"
GRAPHQL_USERNAME = "wfgen_admin"
GRAPHQL_PASSWORD = "sandbox"
DEFAULT_IMPERSONATE_USERNAME = "wfgen_admin"
IMPERSONATE_OPTION = "workflowgen.impersonate_username"
IMPERSONATE_HEADER = "x-wfgen-impersonate-username"

# Seed timestamps are fixed so that a reset gives byte-identical answers; new objects use the control clock.
SEED_OPENED_AT = datetime(2024, 1, 15, 9, 30, tzinfo=UTC).timestamp()

# Status values. WorkflowGen's GraphQL API has an OPEN/CLOSED status plus a finer sub-status;
# stand-in: the sub-status names below are ours, not read from a real tenant.
OPEN = "OPEN"
CLOSED = "CLOSED"
SUB_RUNNING = "OPEN_RUNNING"
SUB_COMPLETED = "CLOSED_COMPLETED"
SUB_CANCELLED = "CLOSED_CANCELLED"
SUB_ABORTED = "CLOSED_ABORTED"


# ---------------------------------------------------------------------------------------------------------------
# Errors and small helpers
# ---------------------------------------------------------------------------------------------------------------


class WfgError(Exception):
    """An operation or read refused by WorkflowGen; ``code`` goes to ``extensions.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def bad_input(message: str) -> WfgError:
    return WfgError("BAD_USER_INPUT", message)


def not_found(message: str) -> WfgError:
    return WfgError("NOT_FOUND", message)


def forbidden(message: str) -> WfgError:
    return WfgError("FORBIDDEN", message)


_STATUS_CODES = {400: "BAD_USER_INPUT", 401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 429: "RATE_LIMITED"}


def error_body(status: int) -> Any:
    """WorkflowGen's error body for a status injected by a fault.

    stand-in: the error shape of the hooks answer, ``{"errors": [{"message", "extensions": {"code"}}]}``.
    """
    code = _STATUS_CODES.get(status, "INTERNAL_SERVER_ERROR")
    return {"errors": [{"message": f"simulated failure {status}", "extensions": {"code": code}}]}


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json_bytes(body), status_code=status, media_type="application/json", headers=headers)


def _errors(error: WfgError, status: int) -> Response:
    return _json({"errors": [{"message": error.message, "extensions": {"code": error.code}}]}, status)


def iso(ts: float) -> str:
    """UTC ISO 8601 with milliseconds and a ``Z``, as WorkflowGen's GraphQL DateTime scalar prints it."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_global_id(kind: str, native: int | str) -> str:
    """WorkflowGen's global ids [doc]: base64 of ``Request:1``, ``Action:1---2``, ``User:1``, ``Process:1``."""
    return base64.b64encode(f"{kind}:{native}".encode()).decode()


def from_global_id(value: Any, kind: str, where: str) -> str:
    """The native part of a global id of ``kind``; an error naming ``where`` otherwise."""
    if not isinstance(value, str) or not value:
        raise bad_input(f"{where} must be a {kind} id (a string)")
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise bad_input(f"{where} {value!r} is not a valid {kind} id") from None
    prefix, sep, native = decoded.partition(":")
    if not sep or prefix != kind or not native:
        raise bad_input(f"{where} {value!r} is not a valid {kind} id")
    return native


def _int_part(text: str, value: str, kind: str, where: str) -> int:
    if not text.isdigit():
        raise bad_input(f"{where} {value!r} is not a valid {kind} id")
    return int(text)


def user_number(value: Any, where: str) -> int:
    return _int_part(from_global_id(value, "User", where), value, "User", where)


def request_number_of(value: Any, where: str) -> int:
    return _int_part(from_global_id(value, "Request", where), value, "Request", where)


def action_key_of(value: Any, where: str) -> tuple[int, int]:
    native = from_global_id(value, "Action", where)
    request_part, sep, action_part = native.partition("---")
    if not sep:
        raise bad_input(f"{where} {value!r} is not a valid Action id")
    return _int_part(request_part, value, "Action", where), _int_part(action_part, value, "Action", where)


# ---------------------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------------------


class DataType(StrEnum):
    TEXT = "TEXT"
    NUMERIC = "NUMERIC"
    DATETIME = "DATETIME"
    FILE = "FILE"


# Which parameter key carries a value of which data type [doc].
VALUE_KEYS: dict[DataType, str] = {
    DataType.TEXT: "textValue",
    DataType.NUMERIC: "numericValue",
    DataType.DATETIME: "dateTimeValue",
    DataType.FILE: "fileValue",
}
KEY_TYPES: dict[str, DataType] = {key: data_type for data_type, key in VALUE_KEYS.items()}
PARAMETER_KEYS = frozenset({"name", *VALUE_KEYS.values()})
FILE_KEYS = frozenset({"name", "contentType", "content", "url", "size", "description"})


@dataclass(frozen=True)
class FileValue:
    name: str
    content_type: str | None
    size: int | None
    description: str | None
    content: bytes | None = None
    url: str | None = None


DataScalar = str | float | FileValue | None


@dataclass
class DataValue:
    """One process data value of a request. DATETIME values are kept as normalised ISO strings."""

    name: str
    data_type: DataType
    value: DataScalar = None


@dataclass(frozen=True)
class User:
    id: int
    user_name: str
    is_admin: bool = False


@dataclass(frozen=True)
class ActionDefinition:
    """An action of a process. The seed process has one, so completing it ends the workflow."""

    name: str
    participants: tuple[str, ...]  # user names the action may be assigned to
    default_assignee: str | None  # who gets a new action (the role's single default person)
    cancel_transition: bool = True  # a CANCEL transition leaves the action (cancelAction type CANCEL needs it)
    exception_transition: bool = True  # a default exception transition leaves it (type ERROR needs it)


@dataclass(frozen=True)
class Process:
    id: int
    name: str
    version: int
    description: str
    data: dict[str, DataType]
    first_action: ActionDefinition


@dataclass
class Action:
    request_number: int
    number: int
    definition: ActionDefinition
    opened_at: float
    assignee_id: int | None = None
    status: str = OPEN
    sub_status: str = SUB_RUNNING
    closed_at: float | None = None
    exception: dict[str, str | None] | None = None

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def global_id(self) -> str:
        return to_global_id("Action", f"{self.request_number}---{self.number}")

    def label(self) -> str:
        return f"action {self.number} of request {self.request_number}"


@dataclass
class WfRequest:
    number: int
    process: Process
    requester_id: int
    opened_at: float
    is_test: bool = False
    status: str = OPEN
    sub_status: str = SUB_RUNNING
    closed_at: float | None = None
    dataset: dict[str, DataValue] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def global_id(self) -> str:
        return to_global_id("Request", self.number)

    @property
    def description(self) -> str:
        return f"{self.process.description} #{self.number}"


Listener = Callable[[str, dict[str, Any]], None]


class WorkflowGenState:
    """Users, processes and requests, with the rules WorkflowGen applies to each operation."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.listeners: list[Listener] = []
        self.users: dict[int, User] = {}
        self.processes: list[Process] = []
        self.requests: dict[int, WfRequest] = {}
        self.reset()

    # -- seed --------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Put back the seed. Listeners survive: they are wiring, not state."""
        approval = ActionDefinition(
            name="APPROVAL", participants=("wfgen_admin", "jdoe"), default_assignee="wfgen_admin"
        )
        expense = Process(
            id=1,
            name="EXPENSE_CLAIM",
            version=1,
            description="Expense claim",
            data={
                "AMOUNT": DataType.NUMERIC,
                "REASON": DataType.TEXT,
                "DUE": DataType.DATETIME,
                "RECEIPT": DataType.FILE,
            },
            first_action=approval,
        )
        self.users = {1: User(1, "wfgen_admin", is_admin=True), 2: User(2, "jdoe")}
        self.processes = [expense]
        receipt = b"%PDF-1.4 sandbox receipt"
        request = WfRequest(number=1, process=expense, requester_id=2, opened_at=SEED_OPENED_AT)
        request.dataset = self._empty_dataset(expense)
        for value in (
            DataValue("AMOUNT", DataType.NUMERIC, 125.5),
            DataValue("REASON", DataType.TEXT, "Client lunch"),
            DataValue("DUE", DataType.DATETIME, "2024-01-31T00:00:00.000Z"),
            DataValue(
                "RECEIPT",
                DataType.FILE,
                FileValue("receipt.pdf", "application/pdf", len(receipt), "Restaurant receipt", content=receipt),
            ),
        ):
            request.dataset[value.name] = value
        request.actions.append(
            Action(request_number=1, number=1, definition=approval, opened_at=SEED_OPENED_AT, assignee_id=1)
        )
        self.requests = {1: request}

    @staticmethod
    def _empty_dataset(process: Process) -> dict[str, DataValue]:
        # Every process data is listed on a request, set or not, as WorkflowGen's dataset does.
        return {name: DataValue(name, data_type) for name, data_type in process.data.items()}

    # -- events ------------------------------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(event, data)`` after every change, e.g. ``("action.completed", {...})``."""
        self.listeners.append(listener)

    def _emit(self, event: str, **data: Any) -> None:
        for listener in self.listeners:
            listener(event, data)

    # -- look-ups ----------------------------------------------------------------------------------------------

    def user_by_name(self, user_name: str) -> User:
        for user in self.users.values():
            if user.user_name == user_name:
                return user
        raise not_found(f"user {user_name!r} does not exist")

    def user_by_id(self, user_id: int) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise not_found(f"user {to_global_id('User', user_id)!r} does not exist")
        return user

    def process(self, name: str, version: int | None = None) -> Process:
        """A process by name; without a version, its latest one."""
        candidates = [p for p in self.processes if p.name == name]
        if not candidates:
            raise not_found(f"process {name!r} does not exist")
        if version is None:
            return max(candidates, key=lambda p: p.version)
        for process in candidates:
            if process.version == version:
                return process
        raise not_found(f"process {name!r} has no version {version}")

    def request(self, number: int) -> WfRequest:
        request = self.requests.get(number)
        if request is None:
            raise not_found(f"request {number} does not exist")
        return request

    def action(self, request_number: int, number: int) -> Action:
        request = self.request(request_number)
        for action in request.actions:
            if action.number == number:
                return action
        raise not_found(f"action {number} of request {request_number} does not exist")

    def can_see(self, viewer: User, request: WfRequest) -> bool:
        """Administrators see everything; others see requests they launched or hold an action of."""
        return (
            viewer.is_admin
            or request.requester_id == viewer.id
            or any(action.assignee_id == viewer.id for action in request.actions)
        )

    # -- rights ------------------------------------------------------------------------------------------------

    @staticmethod
    def _require_assignee_or_admin(actor: User, action: Action, verb: str) -> None:
        if not actor.is_admin and action.assignee_id != actor.id:
            raise forbidden(f"Security error: user {actor.user_name!r} has no right to {verb} {action.label()}")

    @staticmethod
    def _require_open_action(action: Action) -> None:
        if not action.is_open:
            raise bad_input(f"{action.label()} is not open (status {action.sub_status})")

    @staticmethod
    def _require_open_request(request: WfRequest) -> None:
        if not request.is_open:
            raise bad_input(f"request {request.number} is not open (status {request.sub_status})")

    # -- writes ------------------------------------------------------------------------------------------------

    def create_request(self, process: Process, requester: User, values: list[DataValue], is_test: bool) -> WfRequest:
        """Launch ``process``: a new request with its first action open and given to the default assignee."""
        now = self.clock.now()
        number = max(self.requests, default=0) + 1
        request = WfRequest(number=number, process=process, requester_id=requester.id, opened_at=now, is_test=is_test)
        request.dataset = self._empty_dataset(process)
        for value in values:
            request.dataset[value.name] = value
        definition = process.first_action
        assignee = self.user_by_name(definition.default_assignee) if definition.default_assignee else None
        action = Action(
            request_number=number,
            number=1,
            definition=definition,
            opened_at=now,
            assignee_id=assignee.id if assignee else None,
        )
        request.actions.append(action)
        self.requests[number] = request
        self._emit("request.created", requestNumber=number, processName=process.name)
        self._emit("action.created", requestNumber=number, actionNumber=action.number, name=action.name)
        return request

    def update_dataset(self, request: WfRequest, values: list[DataValue]) -> None:
        self._require_open_request(request)
        for value in values:
            request.dataset[value.name] = value
        self._emit("request.updated", requestNumber=request.number, names=[v.name for v in values])

    def cancel_request(self, request: WfRequest, actor: User) -> None:
        """Cancel an open request and its open actions; the requester or an administrator may."""
        if not actor.is_admin and request.requester_id != actor.id:
            raise forbidden(f"Security error: user {actor.user_name!r} has no right to cancel request {request.number}")
        self._require_open_request(request)
        now = self.clock.now()
        for action in request.actions:
            if action.is_open:
                self._close_action(action, SUB_CANCELLED, now)
        self._close_request(request, SUB_CANCELLED, now)

    def complete_action(self, action: Action, actor: User, values: list[DataValue]) -> None:
        """Complete an open action, writing its parameters into the dataset; the workflow then ends."""
        self._require_assignee_or_admin(actor, action, "complete")
        self._require_open_action(action)
        request = self.request(action.request_number)
        for value in values:
            request.dataset[value.name] = value
        now = self.clock.now()
        self._close_action(action, SUB_COMPLETED, now)
        # The seed process has a single action whose outgoing transition leads to the end node.
        self._close_request(request, SUB_COMPLETED, now)

    def cancel_action(self, action: Action, actor: User, kind: str, exception: dict[str, str | None] | None) -> None:
        """Cancel (type CANCEL) or abort (type ERROR) an open action through its cancel or exception transition."""
        self._require_assignee_or_admin(actor, action, "cancel")
        self._require_open_action(action)
        if kind == "CANCEL" and not action.definition.cancel_transition:
            raise bad_input(f"{action.label()} has no cancel transition")
        if kind == "ERROR" and not action.definition.exception_transition:
            raise bad_input(f"{action.label()} has no default exception transition")
        action.exception = exception
        sub_status = SUB_CANCELLED if kind == "CANCEL" else SUB_ABORTED
        now = self.clock.now()
        self._close_action(action, sub_status, now)
        # stand-in: the seed process's cancel and exception transitions lead to the end node.
        self._close_request(self.request(action.request_number), sub_status, now)

    def assign_action(self, action: Action, actor: User, assignee: User) -> None:
        self._require_assignee_or_admin(actor, action, "assign")
        self._require_open_action(action)
        if assignee.user_name not in action.definition.participants:
            raise bad_input(f"user {assignee.user_name!r} is not a participant of action {action.name!r}")
        action.assignee_id = assignee.id
        self._emit(
            "action.assigned",
            requestNumber=action.request_number,
            actionNumber=action.number,
            assignee=assignee.user_name,
        )

    def cancel_action_assignment(self, action: Action) -> None:
        self._require_open_action(action)
        if action.assignee_id is None:
            raise bad_input(f"{action.label()} is not assigned")
        action.assignee_id = None
        self._emit("action.unassigned", requestNumber=action.request_number, actionNumber=action.number)

    def _close_action(self, action: Action, sub_status: str, now: float) -> None:
        action.status, action.sub_status, action.closed_at = CLOSED, sub_status, now
        self._emit(
            "action.closed", requestNumber=action.request_number, actionNumber=action.number, subStatus=sub_status
        )

    def _close_request(self, request: WfRequest, sub_status: str, now: float) -> None:
        request.status, request.sub_status, request.closed_at = CLOSED, sub_status, now
        self._emit("request.closed", requestNumber=request.number, subStatus=sub_status)


# ---------------------------------------------------------------------------------------------------------------
# Incoming webhook operations: input parsing
# ---------------------------------------------------------------------------------------------------------------

DELEGATION_KEYS = ("onBehalfOf", "onBehalfOfUserName")
REQUEST_KEYS = frozenset({"number", "id", "clientMutationId"})
ACTION_KEYS = frozenset({"requestNumber", "number", "id", "clientMutationId"})


class Input:
    """One operation's ``args.input``, with typed getters that name the field in their errors."""

    def __init__(self, operation: str, raw: Any, allowed: frozenset[str], delegation: bool) -> None:
        if not isinstance(raw, dict):
            raise bad_input(f"{operation}: args.input must be an object")
        given = [key for key in DELEGATION_KEYS if raw.get(key) is not None]
        if given and not delegation:
            # A clear refusal rather than "unknown field": the caller meant delegation, which this operation lacks.
            raise bad_input(f"{operation} does not accept delegation ({', '.join(given)})")
        # Delegation keys set to null are accepted everywhere: they ask for nothing.
        unknown = sorted(set(raw) - allowed - set(DELEGATION_KEYS))
        if unknown:
            raise bad_input(f"{operation}: unknown input field(s) {', '.join(unknown)}")
        self.operation = operation
        self.raw: dict[str, Any] = raw

    def present(self, key: str) -> bool:
        return self.raw.get(key) is not None

    def get(self, key: str) -> Any:
        return self.raw.get(key)

    def string(self, key: str, *, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if value is None:
            if required:
                raise bad_input(f"{self.operation}: {key} is required")
            return None
        if not isinstance(value, str) or (required and not value):
            raise bad_input(f"{self.operation}: {key} must be a {'non-empty ' if required else ''}string")
        return value

    def integer(self, key: str) -> int | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_input(f"{self.operation}: {key} must be a positive integer")
        return value

    def boolean(self, key: str) -> bool | None:
        value = self.raw.get(key)
        if value is None:
            return None
        if not isinstance(value, bool):
            raise bad_input(f"{self.operation}: {key} must be a boolean")
        return value


def _normalise_datetime(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise bad_input(f"parameter {name!r}: dateTimeValue must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise bad_input(f"parameter {name!r}: dateTimeValue {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # stand-in: a date-time without offset is taken as UTC
    return iso(parsed.timestamp())


def _file_value(name: str, value: Any) -> FileValue:
    where = f"parameter {name!r}: fileValue"
    if not isinstance(value, dict):
        raise bad_input(f"{where} must be an object")
    unknown = sorted(set(value) - FILE_KEYS)
    if unknown:
        raise bad_input(f"{where} has unknown field(s) {', '.join(unknown)}")
    file_name = value.get("name")
    if not isinstance(file_name, str) or not file_name:
        raise bad_input(f"{where}.name is required")
    for key in ("contentType", "description", "content", "url"):
        if value.get(key) is not None and not isinstance(value[key], str):
            raise bad_input(f"{where}.{key} must be a string")
    size = value.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise bad_input(f"{where}.size must be a non-negative integer")
    content, url = value.get("content"), value.get("url")
    if (content is None) == (url is None):
        raise bad_input(f"{where} needs exactly one of content (base64) and url")
    data: bytes | None = None
    if content is not None:
        try:
            data = base64.b64decode(content, validate=True)
        except binascii.Error:
            raise bad_input(f"{where}.content is not valid base64") from None
        size = len(data)
    elif not str(url).startswith("file://"):
        # stand-in: WorkflowGen reads url files from its "input file allowed folders"; we accept file:// paths only.
        raise bad_input(f"{where}.url must be a file:// URL the WorkflowGen server can read")
    return FileValue(file_name, value.get("contentType"), size, value.get("description"), content=data, url=url)


def _coerce(name: str, data_type: DataType, value: Any) -> DataScalar:
    if data_type is DataType.TEXT:
        if not isinstance(value, str):
            raise bad_input(f"parameter {name!r}: textValue must be a string")
        return value
    if data_type is DataType.NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise bad_input(f"parameter {name!r}: numericValue must be a finite number")
        return float(value)
    if data_type is DataType.DATETIME:
        return _normalise_datetime(name, value)
    return _file_value(name, value)


def parse_parameters(operation: str, raw: Any, process: Process) -> list[DataValue]:
    """Check each parameter against the process data: a wrong name or type is an error naming it, never a drop."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_input(f"{operation}: parameters must be a list")
    values: list[DataValue] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"{operation}: parameters[{index}]"
        if not isinstance(item, dict):
            raise bad_input(f"{where} must be an object")
        unknown = sorted(set(item) - PARAMETER_KEYS)
        if unknown:
            raise bad_input(f"{where} has unknown field(s) {', '.join(unknown)}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise bad_input(f"{where}.name is required")
        data_type = process.data.get(name)
        if data_type is None:
            raise bad_input(f"parameter {name!r} matches no data of process {process.name!r}")
        if name in seen:
            raise bad_input(f"parameter {name!r} is given more than once")
        seen.add(name)
        given = [key for key in VALUE_KEYS.values() if item.get(key) is not None]
        if len(given) != 1:
            raise bad_input(
                f"parameter {name!r} needs exactly one of textValue, numericValue, dateTimeValue, fileValue "
                f"(got {len(given)})"
            )
        if KEY_TYPES[given[0]] is not data_type:
            raise bad_input(f"parameter {name!r} is {data_type} data: it takes {VALUE_KEYS[data_type]}, not {given[0]}")
        values.append(DataValue(name, data_type, _coerce(name, data_type, item[given[0]])))
    return values


def _client_mutation_id(args: Input) -> str | None:
    return args.string("clientMutationId")


def _actor(state: WorkflowGenState, args: Input, app_user: User) -> tuple[User, bool]:
    """Who performs the operation: the delegated user if any (second item True), else the application's user."""
    global_id, user_name = args.get("onBehalfOf"), args.string("onBehalfOfUserName")
    if global_id is None and user_name is None:
        return app_user, False
    by_id = state.user_by_id(user_number(global_id, "onBehalfOf")) if global_id is not None else None
    by_name = state.user_by_name(user_name) if user_name is not None else None
    if by_id is not None and by_name is not None and by_id != by_name:
        raise bad_input("onBehalfOf and onBehalfOfUserName name different users")
    user = by_id or by_name
    assert user is not None
    return user, True


def _target_request(state: WorkflowGenState, args: Input) -> WfRequest:
    number = args.integer("number")
    by_id = request_number_of(args.get("id"), "id") if args.present("id") else None
    if number is not None and by_id is not None and number != by_id:
        raise bad_input(f"{args.operation}: number and id name different requests")
    chosen = number if number is not None else by_id
    if chosen is None:
        raise bad_input(f"{args.operation}: number or id is required")
    return state.request(chosen)


def _target_action(state: WorkflowGenState, args: Input) -> Action:
    request_number, number = args.integer("requestNumber"), args.integer("number")
    if (request_number is None) != (number is None):
        raise bad_input(f"{args.operation}: requestNumber and number go together")
    key = (request_number, number) if request_number is not None and number is not None else None
    by_id = action_key_of(args.get("id"), "id") if args.present("id") else None
    if key is not None and by_id is not None and key != by_id:
        raise bad_input(f"{args.operation}: id and requestNumber/number name different actions")
    chosen = key or by_id
    if chosen is None:
        raise bad_input(f"{args.operation}: requestNumber and number, or id, are required")
    return state.action(*chosen)


# ---------------------------------------------------------------------------------------------------------------
# Incoming webhook operations: answers
# ---------------------------------------------------------------------------------------------------------------


def user_ref(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": to_global_id("User", user.id), "userName": user.user_name}


def request_out(request: WfRequest) -> dict[str, Any]:
    # stand-in: the docs show {"id", "number"}; status and dates are added so a caller needs no second read.
    return {
        "id": request.global_id,
        "number": request.number,
        "status": request.status,
        "openedAt": iso(request.opened_at),
        "closedAt": iso(request.closed_at) if request.closed_at is not None else None,
    }


def action_out(state: WorkflowGenState, action: Action) -> dict[str, Any]:
    # stand-in: the docs show {"id", "number", "requestNumber", ...}; the rest mirrors the GraphQL Action type.
    assignee = state.users.get(action.assignee_id) if action.assignee_id is not None else None
    return {
        "id": action.global_id,
        "number": action.number,
        "requestNumber": action.request_number,
        "name": action.name,
        "status": action.status,
        "openedAt": iso(action.opened_at),
        "closedAt": iso(action.closed_at) if action.closed_at is not None else None,
        "assignee": user_ref(assignee),
    }


def _delegation_out(actor: User, delegated: bool) -> dict[str, Any]:
    # stand-in: the payload names the delegated user it resolved, or nulls without delegation.
    return {
        "onBehalfOf": to_global_id("User", actor.id) if delegated else None,
        "onBehalfOfUserName": actor.user_name if delegated else None,
    }


def op_create_request(state: WorkflowGenState, raw: Any, app_user: User) -> dict[str, Any]:
    keys = frozenset({"processName", "processVersion", "isTest", "parameters", "clientMutationId"})
    args = Input("createRequest", raw, keys, delegation=True)
    name = args.string("processName", required=True)
    assert name is not None
    version = args.integer("processVersion")
    is_test = bool(args.boolean("isTest"))
    client_id = _client_mutation_id(args)
    actor, delegated = _actor(state, args, app_user)
    process = state.process(name, version)
    values = parse_parameters(args.operation, args.get("parameters"), process)
    request = state.create_request(process, actor, values, is_test)
    return {"clientMutationId": client_id, "request": request_out(request), **_delegation_out(actor, delegated)}


def op_update_request_dataset(state: WorkflowGenState, raw: Any, app_user: User) -> dict[str, Any]:
    args = Input("updateRequestDataset", raw, REQUEST_KEYS | {"parameters"}, delegation=False)
    if args.get("parameters") is None:
        raise bad_input("updateRequestDataset: parameters is required")
    client_id = _client_mutation_id(args)
    request = _target_request(state, args)
    values = parse_parameters(args.operation, args.get("parameters"), request.process)
    state.update_dataset(request, values)
    return {"clientMutationId": client_id, "request": request_out(request)}


def op_cancel_request(state: WorkflowGenState, raw: Any, app_user: User) -> dict[str, Any]:
    args = Input("cancelRequest", raw, REQUEST_KEYS | {"notifyParticipant"}, delegation=True)
    args.boolean("notifyParticipant")  # validated; the sandbox has no participants to notify
    client_id = _client_mutation_id(args)
    actor, delegated = _actor(state, args, app_user)
    request = _target_request(state, args)
    state.cancel_request(request, actor)
    return {"clientMutationId": client_id, "request": request_out(request), **_delegation_out(actor, delegated)}


def op_complete_action(state: WorkflowGenState, raw: Any, app_user: User) -> dict[str, Any]:
    args = Input("completeAction", raw, ACTION_KEYS | {"parameters"}, delegation=True)
    client_id = _client_mutation_id(args)
    actor, delegated = _actor(state, args, app_user)
    action = _target_action(state, args)
    process = state.request(action.request_number).process
    values = parse_parameters(args.operation, args.get("parameters"), process)
    state.complete_action(action, actor, values)
    return {"action": action_out(state, action), "clientMutationId": client_id, **_delegation_out(actor, delegated)}


def op_cancel_action(state: WorkflowGenState, raw: Any, app_user: User) -> dict[str, Any]:
    args = Input("cancelAction", raw, ACTION_KEYS | {"type", "exception"}, delegation=True)
    kind = args.string("type") or "CANCEL"
    if kind not in ("CANCEL", "ERROR"):
        raise bad_input(f"cancelAction: type must be CANCEL or ERROR, not {kind!r}")
    exception = args.get("exception")
    if exception is not None:
        if not isinstance(exception, dict) or set(exception) - {"message", "source"}:
            raise bad_input("cancelAction: exception must be an object with message and source")
        if any(v is not None and not isinstance(v, str) for v in exception.values()):
            raise bad_input("cancelAction: exception.message and exception.source must be strings")
        exception = {"message": exception.get("message"), "source": exception.get("source")}
    client_id = _client_mutation_id(args)
    actor, delegated = _actor(state, args, app_user)
    action = _target_action(state, args)
    state.cancel_action(action, actor, kind, exception)
    return {"action": action_out(state, action), "clientMutationId": client_id, **_delegation_out(actor, delegated)}


def op_assign_action(state: WorkflowGenState, raw: Any, app_user: User) -> dict[str, Any]:
    args = Input("assignAction", raw, ACTION_KEYS | {"assigneeUserName", "assigneeId"}, delegation=True)
    client_id = _client_mutation_id(args)
    actor, delegated = _actor(state, args, app_user)
    action = _target_action(state, args)
    user_name = args.string("assigneeUserName")
    by_id = state.user_by_id(user_number(args.get("assigneeId"), "assigneeId")) if args.present("assigneeId") else None
    by_name = state.user_by_name(user_name) if user_name is not None else None
    if by_id is None and by_name is None:
        raise bad_input("assignAction: assigneeUserName or assigneeId is required")
    if by_id is not None and by_name is not None and by_id != by_name:
        raise bad_input("assignAction: assigneeUserName and assigneeId name different users")
    assignee = by_id or by_name
    assert assignee is not None
    state.assign_action(action, actor, assignee)
    return {"action": action_out(state, action), "clientMutationId": client_id, **_delegation_out(actor, delegated)}


def op_cancel_action_assignment(state: WorkflowGenState, raw: Any, app_user: User) -> dict[str, Any]:
    args = Input("cancelActionAssignment", raw, ACTION_KEYS, delegation=False)
    client_id = _client_mutation_id(args)
    action = _target_action(state, args)
    state.cancel_action_assignment(action)
    return {"action": action_out(state, action), "clientMutationId": client_id}


Operation = Callable[[WorkflowGenState, Any, User], dict[str, Any]]

OPERATIONS: dict[str, Operation] = {
    "createRequest": op_create_request,
    "updateRequestDataset": op_update_request_dataset,
    "cancelRequest": op_cancel_request,
    "completeAction": op_complete_action,
    "cancelAction": op_cancel_action,
    "assignAction": op_assign_action,
    "cancelActionAssignment": op_cancel_action_assignment,
}


# ---------------------------------------------------------------------------------------------------------------
# GraphQL API (reads)
# ---------------------------------------------------------------------------------------------------------------

# The shapes follow what real clients query [likely]; fields beyond them (subStatus, isTest, requestNumber, viewer,
# user, process) are stand-ins kept small and read-only.
SCHEMA = build_schema(
    """
    "ISO 8601 date-time in UTC."
    scalar DateTime

    enum RequestStatus { OPEN CLOSED }
    enum ActionStatus { OPEN CLOSED }
    enum DataType { TEXT NUMERIC DATETIME FILE }

    input PageInput { number: Int = 1, size: Int = 10 }
    input RequestFilterInput { status: RequestStatus, processName: String, requesterUserName: String }

    type Query {
      request(number: Int, id: ID): Request
      requests(page: PageInput, filter: RequestFilterInput): RequestPage!
      action(id: ID, requestNumber: Int, number: Int): Action
      process(name: String!, version: Int): Process
      user(userName: String, id: ID): User
      viewer: User!
    }

    type Process { id: ID!, name: String!, version: Int!, description: String }
    type User { id: ID!, userName: String!, isAdministrator: Boolean! }

    type RequestPage { totalCount: Int!, hasNextPage: Boolean!, hasPreviousPage: Boolean!, items: [Request!]! }

    type Request {
      id: ID!
      number: Int!
      description: String
      status: RequestStatus!
      subStatus: String!
      isTest: Boolean!
      openedAt: DateTime!
      closedAt: DateTime
      process: Process!
      requester: User
      actions: ActionPage!
      dataset: Dataset!
    }

    type ActionPage { totalCount: Int!, items: [Action!]! }

    type Action {
      id: ID!
      number: Int!
      requestNumber: Int!
      name: String!
      status: ActionStatus!
      subStatus: String!
      openedAt: DateTime!
      closedAt: DateTime
      assignee: User
      request: Request!
    }

    type Dataset { items: [Data!]! }
    type Data {
      name: String!
      dataType: DataType!
      textValue: String
      numericValue: Float
      dateTimeValue: DateTime
      fileValue: FileValue
    }
    type FileValue { name: String!, contentType: String, size: Int, description: String }
    """
)

MAX_PAGE_SIZE = 100  # stand-in: WorkflowGen's real page-size limit is not published


def _gql_error(error: WfgError) -> GraphQLError:
    return GraphQLError(error.message, extensions={"code": error.code})


@dataclass
class GraphQLContext:
    state: WorkflowGenState
    viewer: User


def _ctx(info: GraphQLResolveInfo[GraphQLContext]) -> GraphQLContext:
    return info.context


def user_view(user: User) -> dict[str, Any]:
    return {"id": to_global_id("User", user.id), "userName": user.user_name, "isAdministrator": user.is_admin}


def process_view(process: Process) -> dict[str, Any]:
    return {
        "id": to_global_id("Process", process.id),
        "name": process.name,
        "version": process.version,
        "description": process.description,
    }


def data_view(value: DataValue) -> dict[str, Any]:
    view: dict[str, Any] = {"name": value.name, "dataType": value.data_type.value}
    for data_type, key in VALUE_KEYS.items():
        view[key] = value.value if data_type is value.data_type else None
    if isinstance(value.value, FileValue):
        file = value.value
        view["fileValue"] = {
            "name": file.name,
            "contentType": file.content_type,
            "size": file.size,
            "description": file.description,
        }
    return view


def request_view(state: WorkflowGenState, request: WfRequest) -> dict[str, Any]:
    # Nested objects are callables so that graphql-core builds them only when the query selects them.
    return {
        "id": request.global_id,
        "number": request.number,
        "description": request.description,
        "status": request.status,
        "subStatus": request.sub_status,
        "isTest": request.is_test,
        "openedAt": iso(request.opened_at),
        "closedAt": iso(request.closed_at) if request.closed_at is not None else None,
        "process": lambda info: process_view(request.process),
        "requester": lambda info: user_view(state.user_by_id(request.requester_id)),
        "actions": lambda info: {
            "totalCount": len(request.actions),
            "items": [action_view(state, action) for action in request.actions],
        },
        "dataset": lambda info: {"items": [data_view(value) for value in request.dataset.values()]},
    }


def action_view(state: WorkflowGenState, action: Action) -> dict[str, Any]:
    assignee = state.users.get(action.assignee_id) if action.assignee_id is not None else None
    return {
        "id": action.global_id,
        "number": action.number,
        "requestNumber": action.request_number,
        "name": action.name,
        "status": action.status,
        "subStatus": action.sub_status,
        "openedAt": iso(action.opened_at),
        "closedAt": iso(action.closed_at) if action.closed_at is not None else None,
        "assignee": user_view(assignee) if assignee is not None else None,
        "request": lambda info: request_view(state, state.request(action.request_number)),
    }


def _visible_request(ctx: GraphQLContext, number: int) -> WfRequest:
    """The request the viewer asked for, or the field error that answers it.

    stand-in: how WorkflowGen answers ``request(number:)`` for a number it does not have, or that the viewer may not
    see, is not published. A GraphQL server reports a field that cannot be resolved as that field null plus an entry
    in ``errors`` whose ``path`` names it (the GraphQL spec, "Errors" under "Response"), so each alias of a batched
    document fails on its own, beside the other aliases' data: here NOT_FOUND for an unknown number and FORBIDDEN
    for one the viewer may not see.
    """
    request = ctx.state.requests.get(number)
    if request is None:
        raise _gql_error(not_found(f"request {number} does not exist"))
    if not ctx.state.can_see(ctx.viewer, request):
        raise _gql_error(forbidden(f"Security error: {ctx.viewer.user_name!r} may not see request {number}"))
    return request


class QueryRoot:
    """Root resolvers; graphql-core's default resolver calls these methods with the field's arguments."""

    def request(
        self, info: GraphQLResolveInfo[GraphQLContext], number: int | None = None, id: str | None = None
    ) -> Any:
        ctx = _ctx(info)
        try:
            by_id = request_number_of(id, "id") if id is not None else None
        except WfgError as error:
            raise _gql_error(error) from None
        if number is not None and by_id is not None and number != by_id:
            raise _gql_error(bad_input("request: number and id name different requests"))
        chosen = number if number is not None else by_id
        if chosen is None:
            raise _gql_error(bad_input("request: number or id is required"))
        return request_view(ctx.state, _visible_request(ctx, chosen))

    def requests(
        self,
        info: GraphQLResolveInfo[GraphQLContext],
        page: dict[str, Any] | None = None,
        filter: dict[str, Any] | None = None,
    ) -> Any:
        ctx = _ctx(info)
        page = page or {}
        number, size = page.get("number", 1), page.get("size", 10)
        if number is None or number < 1:
            raise _gql_error(bad_input("requests: page.number must be 1 or more"))
        if size is None or not 1 <= size <= MAX_PAGE_SIZE:
            raise _gql_error(bad_input(f"requests: page.size must be from 1 to {MAX_PAGE_SIZE}"))
        filter = filter or {}
        status, process_name, requester = (
            filter.get("status"),
            filter.get("processName"),
            filter.get("requesterUserName"),
        )
        # stand-in: oldest first; WorkflowGen's default order is not published.
        matches = [
            request
            for request in sorted(ctx.state.requests.values(), key=lambda r: r.number)
            if ctx.state.can_see(ctx.viewer, request)
            and (status is None or request.status == status)
            and (process_name is None or request.process.name == process_name)
            and (requester is None or ctx.state.users[request.requester_id].user_name == requester)
        ]
        start = (number - 1) * size
        return {
            "totalCount": len(matches),
            "hasNextPage": start + size < len(matches),
            "hasPreviousPage": number > 1,
            "items": [request_view(ctx.state, request) for request in matches[start : start + size]],
        }

    def action(
        self,
        info: GraphQLResolveInfo[GraphQLContext],
        id: str | None = None,
        requestNumber: int | None = None,
        number: int | None = None,
    ) -> Any:
        ctx = _ctx(info)
        try:
            by_id = action_key_of(id, "id") if id is not None else None
        except WfgError as error:
            raise _gql_error(error) from None
        if (requestNumber is None) != (number is None):
            raise _gql_error(bad_input("action: requestNumber and number go together"))
        key = (requestNumber, number) if requestNumber is not None and number is not None else None
        if key is not None and by_id is not None and key != by_id:
            raise _gql_error(bad_input("action: id and requestNumber/number name different actions"))
        chosen = key or by_id
        if chosen is None:
            raise _gql_error(bad_input("action: id, or requestNumber and number, are required"))
        request_number, action_number = chosen
        request = _visible_request(ctx, request_number)
        action = next((a for a in request.actions if a.number == action_number), None)
        if action is None:
            raise _gql_error(not_found(f"action {action_number} of request {request_number} does not exist"))
        return action_view(ctx.state, action)

    def process(self, info: GraphQLResolveInfo[GraphQLContext], name: str, version: int | None = None) -> Any:
        try:
            return process_view(_ctx(info).state.process(name, version))
        except WfgError:
            return None

    def user(self, info: GraphQLResolveInfo[GraphQLContext], userName: str | None = None, id: str | None = None) -> Any:
        state = _ctx(info).state
        try:
            if id is not None:
                user = state.user_by_id(user_number(id, "id"))
                return user_view(user) if userName is None or user.user_name == userName else None
            if userName is not None:
                return user_view(state.user_by_name(userName))
        except WfgError as error:
            if error.code == "NOT_FOUND":
                return None
            raise _gql_error(error) from None
        raise _gql_error(bad_input("user: userName or id is required"))

    def viewer(self, info: GraphQLResolveInfo[GraphQLContext]) -> Any:
        return user_view(_ctx(info).viewer)


# ---------------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------------


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def _same(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


def create_app(control: Control) -> Starlette:
    """A fresh WorkflowGen simulator with seeded state, restored on ``control.reset()``."""
    state = WorkflowGenState(control.clock)
    control.on_reset(state.reset)

    async def hook(request: Request) -> Response:
        # The token is a password: compare in constant time, and never put it in an answer.
        if not _same(request.path_params["token"], HOOK_TOKEN):
            # stand-in: status and body of a wrong-token answer are not published.
            return _errors(WfgError("UNAUTHENTICATED", "Invalid incoming webhook token"), 401)
        try:
            envelope = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _errors(bad_input("the body must be JSON"), 400)
        try:
            if not isinstance(envelope, dict) or set(envelope) - {"operation", "args"}:
                raise bad_input('the body must be {"operation": "...", "args": {"input": {...}}}')
            operation = envelope.get("operation")
            if not isinstance(operation, str) or operation not in OPERATIONS:
                raise bad_input(f"unknown operation {operation!r}; expected one of {', '.join(OPERATIONS)}")
            args = envelope.get("args")
            if not isinstance(args, dict) or set(args) != {"input"}:
                raise bad_input(f'{operation}: args must be {{"input": {{...}}}}')
            app_user_name = str(control.options.get(IMPERSONATE_OPTION, DEFAULT_IMPERSONATE_USERNAME))
            try:
                app_user = state.user_by_name(app_user_name)
            except WfgError:
                raise forbidden(f"Security error: impersonate username {app_user_name!r} does not exist") from None
            payload = OPERATIONS[operation](state, args["input"], app_user)
        except WfgError as error:
            # stand-in: every refused operation answers 400 with the GraphQL-style error list.
            return _errors(error, 400)
        return _json({operation: payload})

    async def graphql_endpoint(request: Request) -> Response:
        credentials = _basic_credentials(request)
        if credentials is None or not (
            _same(credentials[0], GRAPHQL_USERNAME) and _same(credentials[1], GRAPHQL_PASSWORD)
        ):
            return _json(
                {"errors": [{"message": "Unauthorized", "extensions": {"code": "UNAUTHENTICATED"}}]},
                401,
                headers={"www-authenticate": 'Basic realm="WorkflowGen"'},
            )
        viewer = state.user_by_name(GRAPHQL_USERNAME)
        impersonate = request.headers.get(IMPERSONATE_HEADER)
        if impersonate:
            try:
                viewer = state.user_by_name(impersonate)
            except WfgError:
                # stand-in: an unknown impersonated user is refused like bad credentials.
                return _errors(WfgError("UNAUTHENTICATED", f"impersonated user {impersonate!r} does not exist"), 401)
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _json({"errors": [{"message": "the body must be JSON"}]}, 400)
        query = body.get("query") if isinstance(body, dict) else None
        variables = body.get("variables") if isinstance(body, dict) else None
        operation_name = body.get("operationName") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query:
            return _json({"errors": [{"message": "Must provide query string."}]}, 400)
        if variables is not None and not isinstance(variables, dict):
            return _json({"errors": [{"message": "Variables must be an object."}]}, 400)
        if operation_name is not None and not isinstance(operation_name, str):
            return _json({"errors": [{"message": "operationName must be a string."}]}, 400)
        result = graphql_sync(
            SCHEMA,
            query,
            root_value=QueryRoot(),
            context_value=GraphQLContext(state, viewer),
            variable_values=variables,
            operation_name=operation_name,
        )
        # Like express-graphql (WorkflowGen's GraphQL server runs on Node): a document that never executes
        # (syntax, validation, variable errors: none has a path) is a 400 without data; field errors ride along
        # with the data in a 200, even when one bubbled up to a null root.
        formatted = result.formatted
        if result.data is None and result.errors and all(error.path is None for error in result.errors):
            formatted.pop("data", None)
            return _json(formatted, 400)
        return _json(formatted)

    app = Starlette(
        routes=[
            Route("/wfgen/hooks/{token}", hook, methods=["POST"]),
            Route("/wfgen/graphql", graphql_endpoint, methods=["POST"]),
        ]
    )
    # Exposed for tests and for a later events hook-up; the HTTP API stays the contract.
    app.state.workflowgen = state
    return app
