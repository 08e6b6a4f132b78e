"""In-process execution over a runtime: ``await run(query)`` goes through the real schema, adapters and sandbox,
minus HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.types import ExecutionResult

from gateway.context import ANONYMOUS, Context, Principal
from gateway.runtime import Runtime
from schema.schema import build_schema

Run = Callable[..., Awaitable[ExecutionResult]]


def schema_runner(runtime: Runtime) -> Run:
    """``await run(query, variables, principal=...)`` through the schema of ``runtime``'s settings."""
    schema = build_schema(runtime.settings)

    async def execute(
        query: str, variables: dict[str, Any] | None = None, *, principal: Principal = ANONYMOUS
    ) -> ExecutionResult:
        context = Context(runtime=runtime, principal=principal)
        return await schema.execute(query, variable_values=variables, context_value=context)

    return execute
