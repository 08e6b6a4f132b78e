"""Helpers for the mutation tests: every one runs through the real server with a real GraphQL client (gql)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from gql import Client
from gql.graphql_request import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from graphql import ExecutionResult

from tests.support.client import errors, execute
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox


async def gql(
    gateway: Gateway, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None
) -> ExecutionResult:
    """One operation through the gateway; ``key`` is sent as the Idempotency-Key header."""
    headers = {"Idempotency-Key": key} if key is not None else None
    return await execute(gateway.graphql_url, query, variables, headers=headers)


Execute = Callable[..., Awaitable[ExecutionResult]]


@contextlib.asynccontextmanager
async def session(gateway: Gateway, *, key: str | None = None) -> AsyncIterator[Execute]:
    """One gql client session for many (concurrent) operations: ``await run(query, variables)``.

    Building an HTTP client costs more than a request; concurrency tests share one, as a real client would.
    """
    headers = {"Idempotency-Key": key} if key is not None else {}
    transport = HTTPXAsyncTransport(url=gateway.graphql_url, headers=headers, timeout=30)
    async with Client(transport=transport, fetch_schema_from_transport=False) as client:

        async def run(query: str, variables: dict[str, Any] | None = None) -> ExecutionResult:
            request = GraphQLRequest(query, variable_values=variables)
            try:
                result = await client.execute(request, get_execution_result=True, parse_result=False)
            except TransportQueryError as exc:
                return ExecutionResult(data=exc.data, errors=exc.errors)
            assert isinstance(result, ExecutionResult)
            return result

        yield run


def data(result: ExecutionResult) -> dict[str, Any]:
    """The result's data, asserting that it has no error."""
    assert result.errors is None, errors(result)
    assert result.data is not None
    return result.data


def only_error(result: ExecutionResult) -> dict[str, Any]:
    """The result's single error."""
    found = errors(result)
    assert len(found) == 1, found
    return found[0]


def writes(sandbox: Sandbox, target: str) -> dict[str, int]:
    """Calls to ``target`` that are not reads: every method but GET, minus WorkflowGen's GraphQL reads."""
    return {
        route: count
        for route, count in sandbox.calls()[target].items()
        if not route.startswith("GET ") and route != "POST /wfgen/graphql"
    }


def wfg_snapshot(sandbox: Sandbox) -> Any:
    """A deep copy of the WorkflowGen simulator's requests, to prove later that a failed mutation changed nothing."""
    return copy.deepcopy(sandbox.state("workflowgen").requests)
