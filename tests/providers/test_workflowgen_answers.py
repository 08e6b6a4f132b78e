"""The WorkflowGen adapter over the simulator (real HTTP): every answer shape of a write is read without a false error,
and the request and action lists page over WorkflowGen's numbered pages with the filters pushed down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from gateway.config import Settings
from gateway.domain.ports import ANSWER_WARNINGS
from gateway.domain.records import ME, ActionListFilter, RequestListFilter
from gateway.providers.registry import build_adapter
from gateway.providers.workflowgen.adapter import WorkflowGenAdapter
from gateway.providers.workflowgen.answers import read_answer
from tests.support.sandbox import Sandbox

GRAPHQL = "POST /wfgen/graphql"
HOOK = "POST /wfgen/hooks/{token}"


@pytest.fixture
async def wfgen(settings: Settings) -> AsyncIterator[WorkflowGenAdapter]:
    adapter = build_adapter("workflowgen", settings.sources["workflowgen"])
    assert isinstance(adapter, WorkflowGenAdapter)
    yield adapter
    await adapter.aclose()


def options(sandbox: Sandbox, **values: str) -> None:
    httpx.post(
        f"{sandbox.url}/_control/options", json={f"workflowgen.{k}": v for k, v in values.items()}
    ).raise_for_status()


SHAPES = [
    {"answer_shape": "both"},
    {"answer_shape": "flat"},
    {"answer_shape": "nested"},
    {"answer_shape": "flat", "answer_key": "pascal"},
    {"answer_shape": "nested", "answer_key": "upper"},
    {"answer_shape": "flat", "answer_key": "lower"},
    {"answer_shape": "flat", "answer_key": "bare"},
    {"answer_shape": "nested", "answer_key": "bare"},
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "-".join(s.values()))
async def test_every_answer_shape_of_every_operation_is_read(
    wfgen: WorkflowGenAdapter, sandbox: Sandbox, shape: dict[str, str]
) -> None:
    options(sandbox, **shape)
    created = await wfgen.run_operation("createRequest", {"processName": "EXPENSE_CLAIM", "clientMutationId": "c"})
    assert ANSWER_WARNINGS not in created
    assert created["request"]["number"] == 2
    assert created["clientMutationId"] == "c"
    updated = await wfgen.run_operation("updateRequestDataset", {"number": 2, "parameters": []})
    assert (updated["request"]["number"], updated.get(ANSWER_WARNINGS)) == (2, None)
    for operation, extra in [
        ("assignAction", {"assigneeUserName": "jdoe"}),
        ("cancelActionAssignment", {}),
        ("completeAction", {}),
    ]:
        answer = await wfgen.run_operation(operation, {"requestNumber": 2, "number": 1, **extra})
        assert ANSWER_WARNINGS not in answer, (operation, answer)
        assert (answer["action"]["requestNumber"], answer["action"]["number"]) == (2, 1)
    third = await wfgen.run_operation("createRequest", {"processName": "EXPENSE_CLAIM"})
    assert third["request"]["number"] == 3
    cancelled = await wfgen.run_operation("cancelAction", {"requestNumber": 3, "number": 1})
    assert cancelled["action"]["number"] == 1
    fourth = await wfgen.run_operation("createRequest", {"processName": "EXPENSE_CLAIM"})
    cancel = await wfgen.run_operation("cancelRequest", {"number": fourth["request"]["number"]})
    assert cancel["request"]["number"] == 4
    assert sandbox.calls()["workflowgen"] == {HOOK: 9}  # each write sent exactly once


async def test_an_empty_answer_is_a_done_write_with_a_warning(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    options(sandbox, answer_shape="empty")
    answer = await wfgen.run_operation("createRequest", {"processName": "EXPENSE_CLAIM"})
    assert answer["request"]["number"] is None
    assert answer[ANSWER_WARNINGS] == ["createRequest was done, but WorkflowGen sent an answer it could not read"]
    assert sandbox.state("workflowgen").requests.keys() == {1, 2}


def test_a_payload_that_does_not_name_the_request_is_read_with_a_warning() -> None:
    answer = read_answer("createRequest", {"createRequest": {"clientMutationId": "x"}})
    assert answer["clientMutationId"] == "x"
    assert answer[ANSWER_WARNINGS] == ["createRequest was done, but its answer does not say which request"]
    assert read_answer("completeAction", {"data": {"completeAction": {"action": {"id": "QWN0aW9uOjctLS0z"}}}})[
        "action"
    ] == {"id": "QWN0aW9uOjctLS0z", "number": 3, "requestNumber": 7}


async def many(wfgen: WorkflowGenAdapter, count: int) -> None:
    for _ in range(count):
        await wfgen.run_operation("createRequest", {"processName": "EXPENSE_CLAIM"})


async def test_requests_page_over_workflowgen_pages_reading_only_what_the_window_needs(
    wfgen: WorkflowGenAdapter, sandbox: Sandbox
) -> None:
    await many(wfgen, 120)  # requests 1..121, WorkflowGen pages of 100
    sandbox.clear_calls()
    page = await wfgen.list_requests(RequestListFilter(statuses=frozenset({"OPEN"})), 95, 10)
    assert [r.number for r in page.items] == list(range(96, 106))
    assert (page.total, page.has_next) == (121, True)
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 2}  # pages 1 and 2, nothing else
    sandbox.clear_calls()
    last = await wfgen.list_requests(RequestListFilter(), 115, 50)
    assert [r.number for r in last.items] == list(range(116, 122))
    assert last.has_next is False
    assert sandbox.calls()["workflowgen"] == {GRAPHQL: 1}


async def test_request_filters_are_pushed_down(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    await many(wfgen, 2)
    await wfgen.run_operation("completeAction", {"requestNumber": 2, "number": 1})
    closed = await wfgen.list_requests(RequestListFilter(statuses=frozenset({"CLOSED"})), 0, 10)
    assert [r.number for r in closed.items] == [2]
    assert (await wfgen.list_requests(RequestListFilter(statuses=frozenset()), 0, 10)).total == 0
    by_jdoe = await wfgen.list_requests(RequestListFilter(requester="jdoe"), 0, 10)
    assert [r.number for r in by_jdoe.items] == [1]
    recent = await wfgen.list_requests(RequestListFilter(created_since=datetime(2024, 6, 1, tzinfo=UTC)), 0, 10)
    assert [r.number for r in recent.items] == [2, 3]
    none = await wfgen.list_requests(RequestListFilter(process_name="OTHER"), 0, 10)
    assert none.total == 0


async def test_my_open_actions_and_the_process_filter(wfgen: WorkflowGenAdapter, sandbox: Sandbox) -> None:
    await many(wfgen, 3)
    await wfgen.run_operation("assignAction", {"requestNumber": 3, "number": 1, "assigneeUserName": "jdoe"})
    mine = await wfgen.list_actions(ActionListFilter(statuses=frozenset({"OPEN"}), assignee=ME), 0, 10)
    assert [(a.request_number, a.number) for a in mine.items] == [(1, 1), (2, 1), (4, 1)]
    assert all(a.assignee is not None and a.assignee.user_name == "wfgen_admin" for a in mine.items)
    of_jdoe = await wfgen.list_actions(ActionListFilter(assignee="jdoe"), 0, 10)
    assert [a.request_number for a in of_jdoe.items] == [3]
    by_process = await wfgen.list_actions(ActionListFilter(process_name="EXPENSE_CLAIM"), 1, 2)
    assert ([a.request_number for a in by_process.items], by_process.total, by_process.has_next) == ([2, 3], 4, True)
    assert (await wfgen.list_actions(ActionListFilter(process_name="OTHER"), 0, 10)).total == 0
    one = await wfgen.list_actions(ActionListFilter(request_number=2), 0, 10)
    assert [a.request_number for a in one.items] == [2]
