"""WorkflowGen's incoming webhook application: ``POST /wfgen/hooks/{token}`` runs one operation.

Body ``{"operation": "createRequest", "args": {"input": {...}}}``; the answer is ``{"createRequest": {...payload}}``.
Operations run as the application's impersonate username, or as the user named by ``onBehalfOf`` /
``onBehalfOfUserName`` where the operation allows delegation. Each input is checked field by field, and an error
names the field; every refused operation answers 400 with WorkflowGen's error list [stand-in].
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from sandbox.control import Control
from sandbox.kit import Handler, endpoint, iso_millis, json_response, parse_json, same_secret
from sandbox.workflowgen.forms import complete_form
from sandbox.workflowgen.model import (
    ANSWER_KEY_OPTION,
    ANSWER_SHAPE_OPTION,
    DEFAULT_IMPERSONATE_USERNAME,
    FILE_KEYS,
    HOOK_TOKEN,
    IMPERSONATE_OPTION,
    KEY_TYPES,
    PARAMETER_KEYS,
    VALUE_KEYS,
    Action,
    DataScalar,
    DataType,
    DataValue,
    FileValue,
    Process,
    User,
    WfgError,
    WfRequest,
    action_key_of,
    bad_input,
    forbidden,
    from_global_id,
    request_number_of,
    to_global_id,
    user_number,
)
from sandbox.workflowgen.state import WorkflowGenState

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
    return iso_millis(parsed.timestamp())


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
    for key in ("contentType", "description", "content", "url", "updatedAt"):
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
    # [doc] FileInput.updatedAt: when the file last changed, kept and served as the file's updatedAt.
    updated_at = _normalise_datetime(name, value["updatedAt"]) if value.get("updatedAt") is not None else None
    return FileValue(
        file_name,
        value.get("contentType"),
        size,
        value.get("description"),
        content=data,
        url=url,
        updated_at=updated_at,
    )


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
    activity = args.string("activityName") if "activityName" in args.raw else None
    if activity is not None and request_number is not None and number is None:
        # [doc: the input's name] completeAction by requestNumber + activityName; [stand-in] it names the request's
        # open action of that activity.
        request = state.request(request_number)
        named = [a for a in request.actions if a.name == activity and a.is_open]
        if not named:
            raise bad_input(f"{args.operation}: request {request_number} has no open action {activity!r}")
        return named[-1]
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
        "openedAt": iso_millis(request.opened_at),
        "closedAt": iso_millis(request.closed_at) if request.closed_at is not None else None,
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
        "openedAt": iso_millis(action.opened_at),
        "closedAt": iso_millis(action.closed_at) if action.closed_at is not None else None,
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
    # [doc] the documented payload: clientMutationId, requestId, number, onBehalfOf, onBehalfOfUserName; plus
    # [stand-in] the nested request object, as the GraphQL mutation's payload has it.
    return {
        "clientMutationId": client_id,
        "requestId": request.global_id,
        "number": request.number,
        **_delegation_out(actor, delegated),
        "request": request_out(request),
    }


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


COMPLETE_KEYS = ACTION_KEYS | {"parameters", "processId", "activityName", "isTest", "inTest"}


def op_complete_action(state: WorkflowGenState, raw: Any, app_user: User) -> dict[str, Any]:
    # [doc: the names] processId, activityName and the test flag (inTest in the document's text, isTest as
    # createRequest spells it: both accepted). [stand-in: what they do] activityName names the action (with
    # requestNumber, instead of number) or must match it; processId must be the request's process; the test flag must
    # match whether the request was launched in test mode.
    args = Input("completeAction", raw, COMPLETE_KEYS, delegation=True)
    client_id = _client_mutation_id(args)
    actor, delegated = _actor(state, args, app_user)
    action = _target_action(state, args)
    request = state.request(action.request_number)
    process = request.process
    activity = args.string("activityName")
    if activity is not None and activity != action.name:
        raise bad_input(f"completeAction: {action.label()} is activity {action.name!r}, not {activity!r}")
    if args.present("processId"):
        native = from_global_id(args.get("processId"), "Process", "processId")
        if native != str(process.id):
            raise bad_input(f"completeAction: processId is not the process of request {request.number}")
    flags = {key: args.boolean(key) for key in ("isTest", "inTest") if args.present(key)}
    if len(set(flags.values())) > 1:
        raise bad_input("completeAction: isTest and inTest disagree")
    if flags and next(iter(flags.values())) != request.is_test:
        mode = "a test request" if request.is_test else "not a test request"
        raise bad_input(f"completeAction: request {request.number} is {mode}")
    values = parse_parameters(args.operation, args.get("parameters"), process)
    # [stand-in] A web-form action needs FORM_DATA and maps the form's fields to process data (forms.py).
    values = complete_form(action, process, values)
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

OPERATIONS: Final[dict[str, Operation]] = {
    "createRequest": op_create_request,
    "updateRequestDataset": op_update_request_dataset,
    "cancelRequest": op_cancel_request,
    "completeAction": op_complete_action,
    "cancelAction": op_cancel_action,
    "assignAction": op_assign_action,
    "cancelActionAssignment": op_cancel_action_assignment,
}


def _flat(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as flat fields only (createRequest's documented shape; [stand-in] the same pattern elsewhere)."""
    out = {key: value for key, value in payload.items() if key not in ("request", "action")}
    if isinstance(payload.get("request"), dict):
        out.setdefault("requestId", payload["request"]["id"])
        out.setdefault("number", payload["request"]["number"])
    if isinstance(payload.get("action"), dict):
        action = payload["action"]
        out.update(actionId=action["id"], requestNumber=action["requestNumber"], number=action["number"])
    return out


def shape_answer(operation: str, payload: dict[str, Any], options: dict[str, Any]) -> Response:
    """The answer ``{operation: payload}``, reshaped as ``workflowgen.answer_shape`` / ``answer_key`` ask.

    The default answer carries createRequest's documented flat fields and the nested object. The other shapes are
    the ones a tolerant client must read without a false error: flat only, nested only, an empty 200, the key in
    another casing, or no key at all.
    """
    shape = str(options.get(ANSWER_SHAPE_OPTION, "both"))
    if shape == "empty":
        return Response(status_code=200)
    if shape == "flat":
        payload = _flat(payload)
    elif shape == "nested":
        payload = {key: value for key, value in payload.items() if key not in ("requestId", "number")}
    key_style = str(options.get(ANSWER_KEY_OPTION, "exact"))
    if key_style == "bare":
        return json_response(payload)
    key = {
        "lower": operation.lower(),
        "upper": operation.upper(),
        "pascal": operation[:1].upper() + operation[1:],
    }.get(key_style, operation)
    return json_response({key: payload})


def hook_endpoint(state: WorkflowGenState, control: Control) -> Handler:
    """``POST /wfgen/hooks/{token}`` over ``state``; ``control.options`` may change the impersonate username."""

    async def hook(request: Request) -> Response:
        # The token is a password: compare in constant time, and never put it in an answer.
        if not same_secret(request.path_params["token"], HOOK_TOKEN):
            # stand-in: status and body of a wrong-token answer are not published.
            raise WfgError("UNAUTHENTICATED", "Invalid incoming webhook token", status=401)
        envelope = parse_json(await request.body(), lambda: bad_input("the body must be JSON"))
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
        # A refused operation raises WfgError: 400 with the GraphQL-style error list (see the module docstring).
        payload = OPERATIONS[operation](state, args["input"], app_user)
        return shape_answer(operation, payload, control.options)

    return endpoint(hook)
