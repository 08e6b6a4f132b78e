"""WorkflowGen mutations: the seven operations of its incoming webhook application (providers.md §2).

Each resolver checks what needs no backend (the address, exactly one value per parameter, files, delegation, the
assignee) and only then sends one operation through the source's adapter, in WorkflowGen's own field names. A
mistake of the caller is a ``BAD_USER_INPUT`` naming the field and costs no upstream call; WorkflowGen's own refusals
(unknown process, a parameter that matches no process data, an action that is not open, rights) arrive from the
adapter already coded (``BAD_USER_INPUT``, ``NOT_FOUND``, ``FORBIDDEN``) and quoting WorkflowGen's reason; the ones
recognised get a machine-readable ``reason`` (``ACTION_NOT_OPEN``...) and the ``field`` at fault (see ``REFUSALS``).

After the write the payload carries the *fresh* request or action, read back through the request's loaders (cleared
first, so nothing read before the write is reused): ``completeAction`` answers with the action closed. If that read
fails, the write still succeeded: the payload then holds what the gateway knows (the numbers and ids) and the
response carries the read's error for the payload's field, rather than reporting a failed write.

The checks that need no backend, and the translation into WorkflowGen's field names, are in
``resolvers/workflow_inputs.py``. Delegation (``onBehalfOf``, ``onBehalfOfUserName``) exists where WorkflowGen
allows it; ``updateRequestDataset`` and ``cancelActionAssignment`` have no such fields, so GraphQL validation refuses
them, naming the field.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import strawberry

from gateway.capabilities import require
from gateway.context import Info, path_of
from gateway.domain.ports import ANSWER_WARNINGS, Source, Workflow
from gateway.domain.records import FORM_DATA, Capability
from gateway.errors import BadUserInput, HookgateError, NotFound
from resolvers.common import choose_source
from resolvers.mutations import mutation
from resolvers.workflow import action_address, request_address
from resolvers.workflow_inputs import delegation, form, parameters, process_id, user_id
from schema.inputs import (
    AssignActionInput,
    CancelActionAssignmentInput,
    CancelActionInput,
    CancelRequestInput,
    CompleteActionInput,
    CreateRequestInput,
    UpdateRequestDatasetInput,
)
from schema.payloads import (
    ActionPayload,
    CancelRequestPayload,
    CreateRequestPayload,
    OperationWarning,
    UpdateRequestDatasetPayload,
)
from schema.types import WorkflowAction, WorkflowRequest, WorkflowUser, action_id, request_id

# -- WorkflowGen's refusals -----------------------------------------------------------------------------------------

#: Where a refusal points: the address of the request or action, the assignee, the parameter, or the user named.
ADDRESS, ASSIGNEE, PARAMETER, USER = "<address>", "<assignee>", "<parameter>", "<user>"

#: WorkflowGen's refusals, recognised by their wording (it answers with a message and a code only), in order:
#: (pattern, ``reason``, the input field at fault). A refusal none matches keeps its code and gets
#: ``reason: WORKFLOWGEN_REFUSED`` if it is a BAD_USER_INPUT.
REFUSALS: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), reason, field)
    for pattern, reason, field in (
        (r"\baction\b.*\bis not open\b", "ACTION_NOT_OPEN", ADDRESS),
        (r"\brequest\b.*\bis not open\b", "REQUEST_NOT_OPEN", ADDRESS),
        (r"\bis not assigned\b", "ACTION_NOT_ASSIGNED", ADDRESS),
        (r"\bno cancel transition\b", "NO_CANCEL_TRANSITION", "type"),
        (r"\bno (default )?exception transition\b", "NO_EXCEPTION_TRANSITION", "type"),
        (r"\bis not a participant\b", "NOT_A_PARTICIPANT", ASSIGNEE),
        (r"\bweb form\b.*\bFORM_DATA\b.*\bis required\b", "FORM_REQUIRED", "form"),
        (r"\bparameter\b.*\bmatches no data\b", "UNKNOWN_PARAMETER", PARAMETER),
        (r"\bparameter\b.*\bdata: it takes\b", "PARAMETER_TYPE_MISMATCH", PARAMETER),
        (r"\bprocess\b.*\bhas no version\b", "PROCESS_VERSION_NOT_FOUND", "processVersion"),
        (r"\bprocess\b.*\bdoes not exist\b", "PROCESS_NOT_FOUND", "processName"),
        (r"\buser\b.*\bdoes not exist\b", "USER_NOT_FOUND", USER),
        (r"\baction\b.*\bdoes not exist\b", "ACTION_NOT_FOUND", ADDRESS),
        (r"\brequest\b.*\bdoes not exist\b", "REQUEST_NOT_FOUND", ADDRESS),
    )
)

_PARAMETER_NAME = re.compile(r"""\bparameter ['"]([^'"]+)['"]""", re.IGNORECASE)
_USER_FIELDS = ("assigneeUserName", "assigneeId", "onBehalfOfUserName", "onBehalfOf")


def _refusal_field(where: str, reason: str, text: str, body: dict[str, Any], *, by_id: bool) -> str | None:
    """The input field a refusal points at, in the GraphQL input's names (which are WorkflowGen's)."""
    if where == ADDRESS:
        if by_id:
            return "id"
        is_action = "requestNumber" in body
        return "requestNumber" if is_action and reason.startswith("REQUEST_") else "number"
    if where == ASSIGNEE:
        return "assigneeId" if "assigneeId" in body else "assigneeUserName"
    if where == PARAMETER:
        named = _PARAMETER_NAME.search(text)
        if named and named[1] == FORM_DATA and "form" in body:
            return "form"  # the caller gave `form`, which is sent as FORM_DATA
        names = [p.get("name") for p in body.get("parameters") or ()]
        return f"parameters[{names.index(named[1])}]" if named and named[1] in names else "parameters"
    if where == USER:
        given = [f for f in _USER_FIELDS if isinstance(body.get(f), str)]
        named_in_text = [f for f in given if body[f] in text]
        chosen = named_in_text or given
        return chosen[0] if len(chosen) == 1 else None
    return where


def explain_refusal(exc: HookgateError, operation: str, source: str, body: dict[str, Any], *, by_id: bool) -> None:
    """Give WorkflowGen's refusal of ``operation`` its ``reason`` and the ``field`` at fault, in its extensions.

    Only the adapter's relays of WorkflowGen's own refusals are touched: errors the gateway raised itself already
    name their field.
    """
    if "field" in exc.details or "reason" in exc.details:
        return
    text = exc.message.removeprefix(f"{operation} on source '{source}' failed: ")
    for pattern, reason, where in REFUSALS:
        if pattern.search(text):
            exc.details["reason"] = reason
            field = _refusal_field(where, reason, text, body, by_id=by_id)
            if field is not None:
                exc.details["field"] = field
            return
    if isinstance(exc, BadUserInput):
        exc.details["reason"] = "WORKFLOWGEN_REFUSED"


# -- running an operation and reading back --------------------------------------------------------------------------


def _workflow(info: Info, source: str | None) -> tuple[Source, Workflow]:
    adapter = choose_source(info, source, Capability.WORKFLOW)
    return adapter, require(adapter, Workflow)


async def _run(
    info: Info,
    adapter: Source,
    workflow: Workflow,
    operation: str,
    body: dict[str, Any],
    cmid: str | None,
    *,
    by_id: bool = False,
) -> dict[str, Any]:
    """Send ``operation``; ``by_id``: the caller named the request or action by ``id`` (what a refusal points at)."""
    if cmid is not None:
        body["clientMutationId"] = cmid
    try:
        answer = await workflow.run_operation(operation, body)
    except (BadUserInput, NotFound) as exc:
        explain_refusal(exc, operation, adapter.name, body, by_id=by_id)
        raise
    # Whatever this request read from the source before the write is stale now.
    info.context.loaders.clear_source(adapter.name)
    return answer


def _read_back_failed(info: Info, adapter: Source, field: str, what: str, exc: HookgateError | None) -> None:
    """Report, for the payload's ``field``, that the write succeeded but its result could not be read back."""
    reason = exc.message if exc is not None else "it is not visible to the gateway's GraphQL user"
    message = f"the write succeeded, but reading {what} back from source '{adapter.name}' failed: {reason}"
    error: HookgateError
    if exc is None:
        error = NotFound(message, source=adapter.name, provider=adapter.kind)
    else:
        # The read's own error (code, status...), with a message that says the write is done.
        try:
            error = copy.copy(exc)
        except TypeError:  # an error class whose constructor needs more than its message: report it as it came
            error = exc
        else:
            error.message, error.args = message, (message,)
    info.context.add_partial(error, path_of(info, field))


async def fresh_request(info: Info, adapter: Source, number: int) -> WorkflowRequest:
    """The request as WorkflowGen has it now; on a failed read, its identity and a partial error."""
    failure: HookgateError | None = None
    try:
        record = await info.context.loaders.requests(adapter.name).load_typed(number)
    except HookgateError as exc:
        record, failure = None, exc
    if record is not None:
        return WorkflowRequest.from_record(record)
    _read_back_failed(info, adapter, "request", f"request {number}", failure)
    return WorkflowRequest(
        id=strawberry.ID(request_id(adapter.name, number)),
        source=adapter.name,
        number=number,
        process_name=None,
        process_version=None,
        status=None,
        description=None,
        opened_at=None,
        closed_at=None,
        actions=[],
        dataset=[],
    )


async def fresh_action(info: Info, adapter: Source, request_number: int, number: int) -> WorkflowAction:
    """The action as WorkflowGen has it now; on a failed read, its identity and a partial error."""
    failure: HookgateError | None = None
    try:
        record = await info.context.loaders.actions(adapter.name).load_typed((request_number, number))
    except HookgateError as exc:
        record, failure = None, exc
    if record is not None:
        return WorkflowAction.from_record(record)
    _read_back_failed(info, adapter, "action", f"action {number} of request {request_number}", failure)
    return WorkflowAction(
        id=strawberry.ID(action_id(adapter.name, request_number, number)),
        source=adapter.name,
        number=number,
        request_number=request_number,
        name=None,
        status=None,
        assignee=None,
        opened_at=None,
        closed_at=None,
    )


def delegated(answer: dict[str, Any], body: dict[str, Any]) -> tuple[WorkflowUser | None, str | None]:
    """(onBehalfOf, onBehalfOfUserName) of a payload: as WorkflowGen answered, else as the caller asked."""
    user_name = answer.get("onBehalfOfUserName")
    if not isinstance(user_name, str):
        user_name = body.get("onBehalfOfUserName")
    raw_id = answer.get("onBehalfOf")
    if not isinstance(raw_id, str):
        raw_id = body.get("onBehalfOf")
    user = WorkflowUser(id=strawberry.ID(raw_id) if raw_id else None, user_name=user_name) if user_name else None
    return user, user_name


def _created_number(answer: dict[str, Any]) -> int | None:
    """The new request's number, as the adapter read it from the answer (flat or nested); None if it did not say."""
    request = answer.get("request")
    number = request.get("number") if isinstance(request, dict) else None
    return number if isinstance(number, int) and not isinstance(number, bool) else None


def warnings_of(answer: dict[str, Any]) -> list[OperationWarning]:
    """The payload's ``warnings``: what the adapter could not read of the answer to a write that was done."""
    texts = answer.get(ANSWER_WARNINGS) or []
    return [OperationWarning(code="ANSWER_INCOMPLETE", message=str(text)) for text in texts]


# -- requests -------------------------------------------------------------------------------------------------------


@mutation
async def create_request(info: Info, input: CreateRequestInput) -> CreateRequestPayload:
    """Launch a process: a new request with its parameters, optionally on behalf of another user."""
    adapter, workflow = _workflow(info, input.source)
    if not input.process_name:
        raise BadUserInput("processName must not be empty", field="processName")
    body: dict[str, Any] = {"processName": input.process_name}
    if input.process_version is not None:
        body["processVersion"] = input.process_version
    if input.is_test is not None:
        body["isTest"] = input.is_test
    if input.parameters is not None:
        body["parameters"] = parameters(input.parameters)
    body.update(delegation(adapter, input.on_behalf_of, input.on_behalf_of_user_name))
    answer = await _run(info, adapter, workflow, "createRequest", body, input.client_mutation_id)
    # The request exists now: an answer that does not say which is reported in `warnings`, never as an error (a
    # caller's retry would launch a second request).
    number = _created_number(answer)
    request = await fresh_request(info, adapter, number) if number is not None else None
    on_behalf_of, on_behalf_of_user_name = delegated(answer, body)
    return CreateRequestPayload(
        request=request,
        on_behalf_of=on_behalf_of,
        on_behalf_of_user_name=on_behalf_of_user_name,
        client_mutation_id=input.client_mutation_id,
        warnings=warnings_of(answer),
    )


@mutation
async def update_request_dataset(info: Info, input: UpdateRequestDatasetInput) -> UpdateRequestDatasetPayload:
    """Write process data of an open request (no delegation: WorkflowGen runs it with system access)."""
    source, number = request_address(input.source, input.number, input.id)
    adapter, workflow = _workflow(info, source)
    body = {"number": number, "parameters": parameters(input.parameters)}
    answer = await _run(
        info, adapter, workflow, "updateRequestDataset", body, input.client_mutation_id, by_id=input.id is not None
    )
    request = await fresh_request(info, adapter, number)
    return UpdateRequestDatasetPayload(
        request=request, client_mutation_id=input.client_mutation_id, warnings=_known(warnings_of(answer))
    )


@mutation
async def cancel_request(info: Info, input: CancelRequestInput) -> CancelRequestPayload:
    """Cancel an open request and its open actions."""
    source, number = request_address(input.source, input.number, input.id)
    adapter, workflow = _workflow(info, source)
    body: dict[str, Any] = {"number": number}
    if input.notify_participant is not None:
        body["notifyParticipant"] = input.notify_participant
    body.update(delegation(adapter, input.on_behalf_of, input.on_behalf_of_user_name))
    answer = await _run(
        info, adapter, workflow, "cancelRequest", body, input.client_mutation_id, by_id=input.id is not None
    )
    request = await fresh_request(info, adapter, number)
    on_behalf_of, on_behalf_of_user_name = delegated(answer, body)
    return CancelRequestPayload(
        request=request,
        on_behalf_of=on_behalf_of,
        on_behalf_of_user_name=on_behalf_of_user_name,
        client_mutation_id=input.client_mutation_id,
        warnings=_known(warnings_of(answer)),
    )


# -- actions --------------------------------------------------------------------------------------------------------


async def _action_operation(
    info: Info,
    address: tuple[str | None, int, int | None],
    operation: str,
    extra: dict[str, Any],
    *,
    cmid: str | None,
    on_behalf_of: strawberry.ID | None = None,
    on_behalf_of_user_name: str | None = None,
    may_delegate: bool = True,
    by_id: bool = False,
) -> ActionPayload:
    source, request_number, number = address
    adapter, workflow = _workflow(info, source)
    body: dict[str, Any] = {"requestNumber": request_number, **extra}
    if number is not None:
        body["number"] = number
    if may_delegate:
        body.update(delegation(adapter, on_behalf_of, on_behalf_of_user_name))
    answer = await _run(info, adapter, workflow, operation, body, cmid, by_id=by_id)
    warnings = warnings_of(answer)
    if number is None:
        # Named by its activity: the answer says which action it was; else the request's action of that name.
        answered = answer.get("action")
        number = answered.get("number") if isinstance(answered, dict) else None
        if not isinstance(number, int):
            number = await _action_named(info, adapter, request_number, str(extra.get("activityName")))
    else:
        warnings = _known(warnings)
    action = await fresh_action(info, adapter, request_number, number)
    user, user_name = delegated(answer, body) if may_delegate else (None, None)
    return ActionPayload(
        action=action, on_behalf_of=user, on_behalf_of_user_name=user_name, client_mutation_id=cmid, warnings=warnings
    )


def _known(warnings: list[OperationWarning]) -> list[OperationWarning]:
    """Warnings of an operation whose request or action the caller named: "which one" is known, the rest is not."""
    return [w for w in warnings if "does not say which" not in w.message]


async def _action_named(info: Info, adapter: Source, request_number: int, activity: str) -> int:
    """The number of the request's last action of activity ``activity`` (read back after the write)."""
    record = await info.context.loaders.requests(adapter.name).load_typed(request_number)
    numbers = [a.number for a in (record.actions if record else ()) if a.name == activity]
    if not numbers:
        raise NotFound(
            f"completeAction was done, but request {request_number} shows no action {activity!r}",
            source=adapter.name,
            provider=adapter.kind,
        )
    return max(numbers)


@mutation
async def complete_action(info: Info, input: CompleteActionInput) -> ActionPayload:
    """Complete an open action, writing its parameters into the request's data."""
    if input.activity_name is not None and input.request_number is not None and input.number is None:
        if input.id is not None:
            raise BadUserInput("give either id, or requestNumber and number (or activityName), not both", field="id")
        if not input.activity_name:
            raise BadUserInput("activityName must not be empty", field="activityName")
        address: tuple[str | None, int, int | None] = (input.source, input.request_number, None)
    else:
        address = action_address(input.source, input.request_number, input.number, input.id)
    extra: dict[str, Any] = {}
    if input.parameters is not None:
        extra["parameters"] = parameters(input.parameters)
    if input.form is not None:
        # [stand-in] sent as the FILE parameter FORM_DATA; the adapter builds the DataSet XML.
        extra["form"] = form(input.form, extra.get("parameters"))
    if input.process_id is not None:
        extra["processId"] = process_id(input.process_id)
    if input.activity_name is not None:
        extra["activityName"] = input.activity_name
    if input.is_test is not None:
        extra["isTest"] = input.is_test  # [likely] createRequest's spelling; the document's text also says inTest
    return await _action_operation(
        info,
        address,
        "completeAction",
        extra,
        cmid=input.client_mutation_id,
        on_behalf_of=input.on_behalf_of,
        on_behalf_of_user_name=input.on_behalf_of_user_name,
        by_id=input.id is not None,
    )


@mutation
async def cancel_action(info: Info, input: CancelActionInput) -> ActionPayload:
    """Cancel an open action (``type: CANCEL``) or abort it through its exception transition (``ERROR``)."""
    address = action_address(input.source, input.request_number, input.number, input.id)
    extra: dict[str, Any] = {}
    if input.type is not None:
        extra["type"] = input.type.value
    if input.exception is not None:
        extra["exception"] = {"message": input.exception.message, "source": input.exception.source}
    return await _action_operation(
        info,
        address,
        "cancelAction",
        extra,
        cmid=input.client_mutation_id,
        on_behalf_of=input.on_behalf_of,
        on_behalf_of_user_name=input.on_behalf_of_user_name,
        by_id=input.id is not None,
    )


@mutation
async def assign_action(info: Info, input: AssignActionInput) -> ActionPayload:
    """Give an open action to a participant, named by ``assigneeUserName`` or ``assigneeId`` (exactly one)."""
    address = action_address(input.source, input.request_number, input.number, input.id)
    if (input.assignee_user_name is None) == (input.assignee_id is None):
        raise BadUserInput(
            "give exactly one of assigneeUserName and assigneeId",
            field="assigneeUserName" if input.assignee_user_name is None else "assigneeId",
        )
    extra: dict[str, Any] = {}
    if input.assignee_id is not None:
        source = address[0] or choose_source(info, None, Capability.WORKFLOW).name
        extra["assigneeId"] = user_id(input.assignee_id, field="assigneeId", source=source)
    elif input.assignee_user_name:
        extra["assigneeUserName"] = input.assignee_user_name
    else:
        raise BadUserInput("assigneeUserName must not be empty", field="assigneeUserName")
    return await _action_operation(
        info,
        address,
        "assignAction",
        extra,
        cmid=input.client_mutation_id,
        on_behalf_of=input.on_behalf_of,
        on_behalf_of_user_name=input.on_behalf_of_user_name,
        by_id=input.id is not None,
    )


@mutation
async def cancel_action_assignment(info: Info, input: CancelActionAssignmentInput) -> ActionPayload:
    """Take an open action back from its assignee (no delegation in WorkflowGen)."""
    address = action_address(input.source, input.request_number, input.number, input.id)
    return await _action_operation(
        info,
        address,
        "cancelActionAssignment",
        {},
        cmid=input.client_mutation_id,
        may_delegate=False,
        by_id=input.id is not None,
    )
