"""The WorkflowGen adapter against the sandbox simulator over HTTP: operations, batched reads, errors, secrecy."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from gateway.config import Settings, sandbox_sources
from gateway.domain.ports import ANSWER_WARNINGS
from gateway.domain.records import Capability, WorkflowActionRecord, WorkflowRequestRecord
from gateway.errors import (
    BadUserInput,
    Forbidden,
    HookgateError,
    NotFound,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from gateway.providers.registry import build_adapter
from gateway.providers.workflowgen.adapter import OPERATIONS, WorkflowGenAdapter
from gateway.providers.workflowgen.config import WorkflowGenSource
from tests.support.sandbox import Sandbox

GRAPHQL = "POST /wfgen/graphql"
HOOK = "POST /wfgen/hooks/{token}"
HOOK_TOKEN = "sandbox-wfgen-token"


def source(sandbox: Sandbox, **overrides: Any) -> WorkflowGenSource:
    return WorkflowGenSource.model_validate({**sandbox_sources(sandbox.url)["workflowgen"], **overrides})


def make(config: WorkflowGenSource) -> WorkflowGenAdapter:
    adapter = build_adapter("workflowgen", config)
    assert isinstance(adapter, WorkflowGenAdapter)
    return adapter


@pytest.fixture
async def wfgen(settings: Settings) -> AsyncIterator[WorkflowGenAdapter]:
    adapter = build_adapter("workflowgen", settings.sources["workflowgen"])
    assert isinstance(adapter, WorkflowGenAdapter)
    yield adapter
    await adapter.aclose()


def gid(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


async def create(adapter: WorkflowGenAdapter, **input: Any) -> int:
    payload = await adapter.run_operation("createRequest", {"processName": "EXPENSE_CLAIM", **input})
    number: int = payload["request"]["number"]
    return number


# -- reads ---------------------------------------------------------------------------------------------------------


def test_declares_workflow_and_inbound_events(wfgen: WorkflowGenAdapter) -> None:
    assert wfgen.capabilities == {Capability.WORKFLOW, Capability.INBOUND_EVENTS}


async def test_seed_request_is_read_with_every_field(wfgen: WorkflowGenAdapter) -> None:
    [request] = await wfgen.get_requests([1])
    assert request is not None
    assert (request.source, request.number, request.provider_id) == ("workflowgen", 1, gid("Request:1"))
    assert (request.process_name, request.process_version, request.status) == ("EXPENSE_CLAIM", 1, "OPEN")
    assert request.opened_at == datetime(2024, 1, 15, 9, 30, tzinfo=UTC)
    assert request.closed_at is None
    assert request.requester is not None
    assert request.requester.user_name == "jdoe"
    [action] = request.actions
    assert (action.number, action.request_number, action.name, action.status) == (1, 1, "APPROVAL", "OPEN")
    assert action.provider_id == gid("Action:1---1")
    assert action.assignee is not None
    assert action.assignee.user_name == "wfgen_admin"
    data = {value.name: value for value in request.dataset}
    assert data["AMOUNT"].numeric_value == 125.5
    assert data["REASON"].text_value == "Client lunch"
    assert data["DUE"].date_time_value == datetime(2024, 1, 31, tzinfo=UTC)
    receipt = data["RECEIPT"].file_value
    assert receipt is not None
    assert (receipt.name, receipt.content_type, receipt.description) == (
        "receipt.pdf",
        "application/pdf",
        "Restaurant receipt",
    )
    assert receipt.size == len(b"%PDF-1.4 sandbox receipt")


async def test_a_batch_of_requests_is_one_graphql_call_in_key_order(
    wfgen: WorkflowGenAdapter, sandbox: Sandbox
) -> None:
    second = await create(wfgen)
    third = await create(wfgen)
    sandbox.clear_calls()

    records = await wfgen.get_requests([third, 1, 999, second, 1])

    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 1}
    assert [r.number if r else None for r in records] == [third, 1, None, second, 1]


async def test_batches_are_cut_at_max_batch(sandbox: Sandbox) -> None:
    adapter = make(source(sandbox, max_batch=2))
    try:
        records = await adapter.get_requests([1, 2, 3, 4, 5])
    finally:
        await adapter.aclose()
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 3}
    assert [r.number if r else None for r in records] == [1, None, None, None, None]


async def test_an_empty_batch_calls_nobody(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    assert await wfgen.get_requests([]) == []
    assert await wfgen.get_actions([]) == []
    assert sandbox.total_calls("workflowgen") == 0


async def test_numbers_below_one_are_missing_without_a_call(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    assert await wfgen.get_requests([0, -3]) == [None, None]
    assert sandbox.total_calls("workflowgen") == 0


async def test_a_batch_of_actions_is_one_graphql_call(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    second = await create(wfgen)
    sandbox.clear_calls()

    records = await wfgen.get_actions([(second, 1), (1, 1), (1, 2), (999, 1)])

    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 1}
    assert [(r.request_number, r.number) if r else None for r in records] == [(second, 1), (1, 1), None, None]


async def test_global_ids_are_decoded_into_numbers(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    requests = await wfgen.get_requests_by_id([gid("Request:1"), "not-base64!", gid("Action:1---1"), gid("Request:99")])
    actions = await wfgen.get_actions_by_id([gid("Action:1---1"), gid("Request:1"), gid("Action:1---7")])

    assert [r.number if r else None for r in requests] == [1, None, None, None]
    assert [(a.request_number, a.number) if a else None for a in actions] == [(1, 1), None, None]
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 2}


async def test_reads_send_the_impersonate_username(sandbox: Sandbox, wfgen: WorkflowGenAdapter) -> None:
    mine = await create(wfgen)  # requested by wfgen_admin: jdoe may not see it
    adapter = make(source(sandbox, impersonate_username="jdoe"))
    try:
        first, hidden = await adapter.get_requests([1, mine])
    finally:
        await adapter.aclose()
    assert isinstance(first, WorkflowRequestRecord)
    assert first.number == 1
    assert isinstance(hidden, Forbidden)


# -- a failure pinned on one alias fails that key alone --------------------------------------------------------------


def shown(slots: list[Any]) -> list[Any]:
    """Each slot as a test reads it: the record's number(s), None, or the error's class."""
    return [
        type(slot)
        if isinstance(slot, Exception)
        else (slot.request_number, slot.number)
        if isinstance(slot, WorkflowActionRecord)
        else slot.number
        if slot is not None
        else None
        for slot in slots
    ]


async def test_a_refused_request_fails_alone_in_its_batch(sandbox: Sandbox, wfgen: WorkflowGenAdapter) -> None:
    hidden = await create(wfgen)  # wfgen_admin's: jdoe may not see it
    theirs = await create(wfgen, onBehalfOfUserName="jdoe")  # jdoe's own
    adapter = make(source(sandbox, impersonate_username="jdoe"))
    sandbox.clear_calls()
    try:
        slots = await adapter.get_requests([1, hidden, 999, theirs, hidden])
    finally:
        await adapter.aclose()

    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 1}
    assert shown(slots) == [1, Forbidden, None, theirs, Forbidden]  # unknown stays None: missing is not an error
    error = slots[1]
    assert isinstance(error, Forbidden)
    assert error.extensions == {"code": "FORBIDDEN", "source": "workflowgen", "provider": "WORKFLOWGEN"}
    assert f"request {hidden}" in str(error)
    assert "jdoe" in str(error)  # WorkflowGen's own message is quoted


async def test_a_refused_action_fails_alone_in_its_batch(sandbox: Sandbox, wfgen: WorkflowGenAdapter) -> None:
    hidden = await create(wfgen)
    adapter = make(source(sandbox, impersonate_username="jdoe"))
    sandbox.clear_calls()
    try:
        slots = await adapter.get_actions([(1, 1), (hidden, 1), (1, 5)])
        by_id = await adapter.get_actions_by_id([gid(f"Action:{hidden}---1"), gid("Action:1---1"), "junk"])
    finally:
        await adapter.aclose()

    assert shown(slots) == [(1, 1), Forbidden, None]
    assert shown(by_id) == [Forbidden, (1, 1), None]
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 2}


def batch_answer(data: dict[str, Any], errors: list[dict[str, Any]]) -> str:
    return json.dumps({"data": data, "errors": errors})


async def test_an_uncoded_error_on_one_alias_is_that_keys_upstream_error(
    wfgen: WorkflowGenAdapter, sandbox: Sandbox
) -> None:
    # The simulator codes its errors; a server that does not (a resolver that crashed) is played by a fault.
    sandbox.fault(
        "workflowgen",
        body=batch_answer(
            {"k0": {"number": 1}, "k1": None, "k2": {"number": 3}},
            [{"message": "Unexpected error", "path": ["k1"], "locations": [{"line": 3, "column": 3}]}],
        ),
    )
    slots = await wfgen.get_requests([1, 2, 3])
    assert shown(slots) == [1, UpstreamError, 3]
    error = slots[1]
    assert isinstance(error, UpstreamError)
    assert error.extensions["code"] == "UPSTREAM_ERROR"
    assert "request 2" in str(error)
    assert "Unexpected error" in str(error)


async def test_an_error_under_an_alias_fails_that_key_even_with_data(
    wfgen: WorkflowGenAdapter, sandbox: Sandbox
) -> None:
    # A nested field failed: the node came back, but incomplete, so it is not served as if whole.
    sandbox.fault(
        "workflowgen",
        body=batch_answer(
            {"k0": {"number": 1, "requester": None}, "k1": {"number": 2}},
            [{"message": "user lookup failed", "path": ["k0", "requester"]}],
        ),
    )
    assert shown(await wfgen.get_requests([1, 2])) == [UpstreamError, 2]


async def test_not_found_on_a_null_alias_is_a_missing_key(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    sandbox.fault(
        "workflowgen",
        body=batch_answer(
            {"k0": None, "k1": {"number": 2}},
            [{"message": "Request not found", "path": ["k0"]}],  # no code: the message says it
        ),
    )
    assert shown(await wfgen.get_requests([1, 2])) == [None, 2]


async def test_a_coded_refusal_is_not_read_as_missing_by_its_text(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    sandbox.fault(
        "workflowgen",
        body=batch_answer(
            {"k0": None, "k1": {"number": 2}},
            [{"message": "Request not found or no access", "path": ["k0"], "extensions": {"code": "FORBIDDEN"}}],
        ),
    )
    assert shown(await wfgen.get_requests([1, 2])) == [Forbidden, 2]


@pytest.mark.parametrize(
    "error",
    [
        {"message": "Internal server error"},  # no path: it may concern every key
        {"message": "odd", "path": ["somethingElse"]},  # a path that is not one of the gateway's aliases
    ],
    ids=["no-path", "foreign-path"],
)
async def test_an_error_not_pinned_on_an_alias_fails_the_whole_batch(
    wfgen: WorkflowGenAdapter, sandbox: Sandbox, error: dict[str, Any]
) -> None:
    sandbox.fault("workflowgen", body=batch_answer({"k0": {"number": 1}, "k1": None}, [error]))
    with pytest.raises(UpstreamError, match=error["message"]):
        await wfgen.get_requests([1, 2])


async def test_a_failed_document_fails_only_its_own_chunk(sandbox: Sandbox) -> None:
    """With ``max_batch`` cutting a batch into documents, a document that fails as a whole fails its keys only;
    the call raises only when every document failed."""
    failing = "request(number: 3)"

    def handler(request: httpx.Request) -> httpx.Response:
        document = json.loads(request.content)["query"]
        if failing in document:
            return httpx.Response(503, json={"errors": [{"message": "busy"}]})
        asked = re.findall(r"(k\d+): request\(number: (\d+)\)", document)
        return httpx.Response(200, json={"data": {alias: {"number": int(number)} for alias, number in asked}})

    adapter = build_adapter(
        "workflowgen", source(sandbox, max_batch=2, retries=0), transport=httpx.MockTransport(handler)
    )
    try:
        slots = await adapter.get_requests([1, 2, 3, 4, 5])
        with pytest.raises(UpstreamError) as caught:
            await adapter.get_requests([3, 4])
    finally:
        await adapter.aclose()
    assert shown(slots) == [1, 2, UpstreamError, UpstreamError, 5]
    assert slots[2] is slots[3]  # one document, one error
    assert caught.value.status == 503


async def test_bad_graphql_credentials_are_an_upstream_error_without_the_password(sandbox: Sandbox) -> None:
    adapter = make(source(sandbox, graphql_password="not-the-Password-42"))
    try:
        with pytest.raises(UpstreamError) as caught:
            await adapter.get_requests([1])
    finally:
        await adapter.aclose()
    assert caught.value.status == 401
    assert "credentials" in str(caught.value)
    assert "not-the-Password-42" not in str(caught.value)


async def test_reads_are_retried_on_5xx(sandbox: Sandbox) -> None:
    adapter = make(source(sandbox, retries=2))
    sandbox.fault("workflowgen", status=503)
    try:
        with pytest.raises(UpstreamError) as caught:
            await adapter.get_requests([1])
    finally:
        await adapter.aclose()
    assert caught.value.status == 503
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 3}


# -- operations ----------------------------------------------------------------------------------------------------


async def test_create_request_takes_all_four_kinds_of_parameters(wfgen: WorkflowGenAdapter) -> None:
    payload = await wfgen.run_operation(
        "createRequest",
        {
            "processName": "EXPENSE_CLAIM",
            "clientMutationId": "cm-1",
            "parameters": [
                {"name": "AMOUNT", "numericValue": 12.5},
                {"name": "REASON", "textValue": "taxi"},
                # A datetime object, as a GraphQL DateTime input arrives: serialised as ISO 8601.
                {"name": "DUE", "dateTimeValue": datetime(2024, 3, 1, 12, tzinfo=UTC)},
                {
                    "name": "RECEIPT",
                    "fileValue": {
                        "name": "r.txt",
                        "contentType": "text/plain",
                        "content": base64.b64encode(b"hello").decode(),
                    },
                },
            ],
        },
    )
    assert payload["clientMutationId"] == "cm-1"
    number = payload["request"]["number"]
    [request] = await wfgen.get_requests([number])
    assert request is not None
    data = {value.name: value for value in request.dataset}
    assert data["AMOUNT"].numeric_value == 12.5
    assert data["REASON"].text_value == "taxi"
    assert data["DUE"].date_time_value == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert data["RECEIPT"].file_value is not None
    assert (data["RECEIPT"].file_value.name, data["RECEIPT"].file_value.size) == ("r.txt", 5)


async def test_update_request_dataset_by_number_and_by_id(wfgen: WorkflowGenAdapter) -> None:
    await wfgen.run_operation(
        "updateRequestDataset", {"number": 1, "parameters": [{"name": "REASON", "textValue": "dinner"}]}
    )
    payload = await wfgen.run_operation(
        "updateRequestDataset", {"id": gid("Request:1"), "parameters": [{"name": "AMOUNT", "numericValue": 7}]}
    )
    assert payload["request"]["number"] == 1
    [request] = await wfgen.get_requests([1])
    assert request is not None
    data = {value.name: value for value in request.dataset}
    assert (data["REASON"].text_value, data["AMOUNT"].numeric_value) == ("dinner", 7.0)


async def test_cancel_request_closes_it(wfgen: WorkflowGenAdapter) -> None:
    payload = await wfgen.run_operation("cancelRequest", {"number": 1, "notifyParticipant": False})
    assert payload["request"]["status"] == "CLOSED"
    [request] = await wfgen.get_requests([1])
    assert request is not None
    assert request.status == "CLOSED"
    assert request.closed_at is not None


async def test_complete_action_then_a_second_completion_is_refused(wfgen: WorkflowGenAdapter) -> None:
    payload = await wfgen.run_operation(
        "completeAction", {"requestNumber": 1, "number": 1, "parameters": [{"name": "REASON", "textValue": "ok"}]}
    )
    assert payload["action"]["status"] == "CLOSED"
    [action] = await wfgen.get_actions([(1, 1)])
    assert action is not None
    assert action.status == "CLOSED"

    with pytest.raises(BadUserInput, match="not open"):
        await wfgen.run_operation("completeAction", {"id": gid("Action:1---1")})


async def test_cancel_action_with_an_exception(wfgen: WorkflowGenAdapter) -> None:
    payload = await wfgen.run_operation(
        "cancelAction",
        {"requestNumber": 1, "number": 1, "type": "ERROR", "exception": {"message": "boom", "source": "test"}},
    )
    assert (payload["action"]["number"], payload["action"]["status"]) == (1, "CLOSED")


async def test_assign_action_and_cancel_the_assignment(wfgen: WorkflowGenAdapter) -> None:
    payload = await wfgen.run_operation("assignAction", {"requestNumber": 1, "number": 1, "assigneeUserName": "jdoe"})
    assert payload["action"]["assignee"]["userName"] == "jdoe"
    [action] = await wfgen.get_actions([(1, 1)])
    assert action is not None
    assert action.assignee is not None
    assert action.assignee.user_name == "jdoe"

    payload = await wfgen.run_operation("cancelActionAssignment", {"requestNumber": 1, "number": 1})
    assert payload["action"]["assignee"] is None


async def test_delegation_is_echoed(wfgen: WorkflowGenAdapter) -> None:
    payload = await wfgen.run_operation("createRequest", {"processName": "EXPENSE_CLAIM", "onBehalfOfUserName": "jdoe"})
    assert payload["onBehalfOfUserName"] == "jdoe"


@pytest.mark.parametrize(
    ("operation", "input", "error", "needle"),
    [
        ("createRequest", {"processName": "NO_SUCH_PROCESS"}, NotFound, "NO_SUCH_PROCESS"),
        (
            "createRequest",
            {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "COLOUR", "textValue": "red"}]},
            BadUserInput,
            "COLOUR",
        ),
        (
            "createRequest",
            {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "AMOUNT", "textValue": "12"}]},
            BadUserInput,
            "AMOUNT",
        ),
        (
            "createRequest",
            {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "AMOUNT", "numericValue": 1, "textValue": "1"}]},
            BadUserInput,
            "exactly one",
        ),
        ("completeAction", {"requestNumber": 1, "number": 1, "onBehalfOfUserName": "jdoe"}, Forbidden, "jdoe"),
        (
            "updateRequestDataset",
            {"number": 1, "parameters": [], "onBehalfOfUserName": "jdoe"},
            BadUserInput,
            "delegation",
        ),
        ("cancelRequest", {"number": 4242}, NotFound, "4242"),
    ],
    ids=[
        "unknown-process",
        "unknown-parameter",
        "wrong-type",
        "two-values",
        "rights",
        "no-delegation",
        "missing-request",
    ],
)
async def test_refused_operations_map_to_the_error_tree(
    wfgen: WorkflowGenAdapter,
    operation: str,
    input: dict[str, Any],
    error: type[HookgateError],
    needle: str,
) -> None:
    with pytest.raises(HookgateError) as caught:
        await wfgen.run_operation(operation, input)
    assert type(caught.value) is error
    assert needle in str(caught.value)
    assert str(caught.value).startswith(f"{operation} on source 'workflowgen' failed: ")
    assert caught.value.extensions["source"] == "workflowgen"
    assert caught.value.extensions["provider"] == "WORKFLOWGEN"


async def test_an_error_list_at_http_200_is_still_an_error(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    # providers.md: refusals come "at 200 or 400"; the simulator uses 400, so a fault plays the 200 variant.
    sandbox.fault(
        "workflowgen",
        body='{"errors": [{"message": "Security error", "extensions": {"code": "FORBIDDEN"}}]}',
    )
    with pytest.raises(Forbidden, match="Security error"):
        await wfgen.run_operation("cancelRequest", {"number": 1})


async def test_an_unknown_operation_is_refused_before_any_call(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    with pytest.raises(BadUserInput, match="not a WorkflowGen operation"):
        await wfgen.run_operation("deleteEverything", {})
    assert sandbox.total_calls("workflowgen") == 0
    assert len(OPERATIONS) == 7


async def test_operations_are_never_retried(sandbox: Sandbox) -> None:
    adapter = make(source(sandbox, retries=3))
    sandbox.fault("workflowgen", status=503)
    try:
        with pytest.raises(UpstreamError) as caught:
            await adapter.run_operation("createRequest", {"processName": "EXPENSE_CLAIM"})
    finally:
        await adapter.aclose()
    assert caught.value.status == 503
    assert sandbox.calls()["workflowgen"] == {HOOK: 1}


async def test_a_2xx_answer_that_is_not_json_is_a_done_write_with_a_warning(
    wfgen: WorkflowGenAdapter, sandbox: Sandbox
) -> None:
    # The write went through (2xx): an unreadable answer must not look like a failure, or a retry duplicates it.
    sandbox.fault("workflowgen", body="<html>oops</html>")
    answer = await wfgen.run_operation("createRequest", {"processName": "EXPENSE_CLAIM"})
    assert answer["request"]["number"] is None
    assert answer[ANSWER_WARNINGS] == ["createRequest was done, but WorkflowGen sent an answer it could not read"]


# -- the hook token is a password ----------------------------------------------------------------------------------


def _chain(exc: BaseException | None) -> str:
    """Every message and repr along an exception's cause/context chain."""
    parts = []
    while exc is not None:
        parts += [str(exc), repr(exc), repr(getattr(exc, "extensions", ""))]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


async def test_a_wrong_hook_token_never_shows(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "wrong-Hook-token-7f3a"
    adapter = make(source(sandbox, hook_token=secret))
    try:
        with pytest.raises(UpstreamError) as caught:
            await adapter.run_operation("createRequest", {"processName": "EXPENSE_CLAIM"})
        assert caught.value.status == 401
        assert "hook_token" in str(caught.value)
        assert secret not in _chain(caught.value)
        assert secret not in repr(adapter)
    finally:
        await adapter.aclose()
    assert "/wfgen/hooks/" in caplog.text  # httpx did log the call...
    assert secret not in caplog.text  # ...without the token


async def test_the_hook_token_stays_out_of_logs_on_success(
    wfgen: WorkflowGenAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await create(wfgen)
    assert "/wfgen/hooks/-" in caplog.text
    assert HOOK_TOKEN not in caplog.text
    assert HOOK_TOKEN not in repr(wfgen)


async def test_an_unreachable_server_error_carries_no_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    config = WorkflowGenSource.model_validate(
        {"base_url": "http://127.0.0.1:9", "hook_token": HOOK_TOKEN, "timeout_s": 2, "connect_timeout_s": 1}
    )
    adapter = make(config)
    try:
        # httpx-aiohttp 0.2 reports a refused connection as ConnectTimeout, hence either class.
        with pytest.raises((UpstreamUnavailable, UpstreamTimeout)) as caught:
            await adapter.run_operation("createRequest", {"processName": "EXPENSE_CLAIM"})
    finally:
        await adapter.aclose()
    assert HOOK_TOKEN not in _chain(caught.value)
    assert HOOK_TOKEN not in caplog.text


# -- probe ---------------------------------------------------------------------------------------------------------


async def test_probe_reads_as_the_graphql_user(wfgen: WorkflowGenAdapter) -> None:
    result = await wfgen.probe()
    assert (result.reachable, result.authenticated) == (True, True)
    assert "wfgen_admin" in result.detail


async def test_probe_reports_bad_credentials(sandbox: Sandbox) -> None:
    adapter = make(source(sandbox, graphql_password="nope"))
    try:
        result = await adapter.probe()
    finally:
        await adapter.aclose()
    assert (result.reachable, result.authenticated) == (True, False)


async def test_probe_reports_an_unreachable_server() -> None:
    config = WorkflowGenSource.model_validate(
        {"base_url": "http://127.0.0.1:9", "hook_token": HOOK_TOKEN, "timeout_s": 2, "retries": 0}
    )
    adapter = make(config)
    try:
        result = await adapter.probe()
    finally:
        await adapter.aclose()
    assert (result.reachable, result.authenticated) == (False, False)
