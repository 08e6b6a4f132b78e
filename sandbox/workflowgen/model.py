"""WorkflowGen's model as the simulator keeps it: users, processes, requests, actions and their data, the error
answered for a refused operation or read, and WorkflowGen's global ids."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final

from sandbox.kit import SimulatorError

HOOK_TOKEN = "sandbox-wfgen-token"
GRAPHQL_USERNAME = "wfgen_admin"
GRAPHQL_PASSWORD = "sandbox"
DEFAULT_IMPERSONATE_USERNAME = "wfgen_admin"
IMPERSONATE_OPTION = "workflowgen.impersonate_username"
IMPERSONATE_HEADER = "x-wfgen-impersonate-username"
#: How the incoming webhook answers (for testing a client's tolerance; see ``hooks.shape_answer``): the payload's
#: shape ("both", the default: the documented flat fields and the nested object; "flat"; "nested"; "empty": 200 with
#: no body) and the casing of its top-level key ("exact", "lower", "upper", "pascal", or "bare": no key at all).
ANSWER_SHAPE_OPTION = "workflowgen.answer_shape"
ANSWER_KEY_OPTION = "workflowgen.answer_key"

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


class WfgError(SimulatorError):
    """An operation or read refused by WorkflowGen; ``code`` goes to ``extensions.code``.

    Over HTTP it is answered with ``status`` (400 unless given) and WorkflowGen's error list
    ``{"errors": [{"message", "extensions": {"code"}}]}``; in the GraphQL API it is a field error.
    """

    def __init__(self, code: str, message: str, *, status: int = 400, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, status=status, headers=headers)
        self.code = code

    def body(self) -> Any:
        return {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}


def bad_input(message: str) -> WfgError:
    return WfgError("BAD_USER_INPUT", message)


def not_found(message: str) -> WfgError:
    return WfgError("NOT_FOUND", message)


def forbidden(message: str) -> WfgError:
    return WfgError("FORBIDDEN", message)


_STATUS_CODES: Final = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "RATE_LIMITED",
}


def error_body(status: int) -> Any:
    """WorkflowGen's error body for a status injected by a fault.

    stand-in: the error shape of the hooks answer, ``{"errors": [{"message", "extensions": {"code"}}]}``.
    """
    code = _STATUS_CODES.get(status, "INTERNAL_SERVER_ERROR")
    return WfgError(code, f"simulated failure {status}").body()


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
VALUE_KEYS: Final[dict[DataType, str]] = {
    DataType.TEXT: "textValue",
    DataType.NUMERIC: "numericValue",
    DataType.DATETIME: "dateTimeValue",
    DataType.FILE: "fileValue",
}
KEY_TYPES: Final[dict[str, DataType]] = {key: data_type for data_type, key in VALUE_KEYS.items()}
PARAMETER_KEYS = frozenset({"name", *VALUE_KEYS.values()})
FILE_KEYS = frozenset({"name", "contentType", "content", "url", "size", "description", "updatedAt"})


@dataclass(frozen=True)
class FileValue:
    name: str
    content_type: str | None
    size: int | None
    description: str | None
    content: bytes | None = None
    url: str | None = None
    updated_at: str | None = None  # [doc: FileInput.updatedAt] normalised ISO string, as DATETIME values


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
    description: str = ""
    limit_s: float | None = None  # [stand-in] how long after it opens the action is due (GraphQL Action.limit)
    web_form: bool = False  # its application is EFORMASPX: it reads and writes the form through FORM_DATA (forms.py)


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
    updated_at: float | None = None  # the last change; None: never changed since it opened

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def limit(self) -> float | None:
        return None if self.definition.limit_s is None else self.opened_at + self.definition.limit_s

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
