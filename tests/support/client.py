"""A real GraphQL client (gql over httpx) for end-to-end tests."""

from __future__ import annotations

from typing import Any

from gql import Client
from gql.graphql_request import GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.httpx import HTTPXAsyncTransport
from graphql import ExecutionResult


async def execute(
    url: str, query: str, variables: dict[str, Any] | None = None, *, headers: dict[str, str] | None = None
) -> ExecutionResult:
    """Run one operation and return the whole result (data *and* errors), as a client sees it."""
    transport = HTTPXAsyncTransport(url=url, headers=headers or {}, timeout=30)
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        try:
            result = await session.execute(
                GraphQLRequest(query, variable_values=variables), get_execution_result=True, parse_result=False
            )
        except TransportQueryError as exc:
            # gql raises when errors are present; a gateway's partial answers are data *and* errors.
            return ExecutionResult(data=exc.data, errors=exc.errors)  # type: ignore[arg-type]
    assert isinstance(result, ExecutionResult)
    return result


def codes(result: ExecutionResult) -> list[str]:
    return [(e.get("extensions") or {}).get("code") for e in _errors(result)]  # type: ignore[union-attr]


def _errors(result: ExecutionResult) -> list[dict[str, Any]]:
    return [e if isinstance(e, dict) else e.formatted for e in (result.errors or [])]  # type: ignore[misc]


def errors(result: ExecutionResult) -> list[dict[str, Any]]:
    return _errors(result)
