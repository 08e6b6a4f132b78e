"""In-process execution: ``await run(query)`` goes through the real schema, adapters and sandbox, minus HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from strawberry.types import ExecutionResult

from gateway.config import Settings
from gateway.context import ANONYMOUS, Context, Principal
from gateway.runtime import Runtime, open_runtime
from schema.schema import build_schema

Run = Callable[..., Awaitable[ExecutionResult]]


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings.model_copy(update={"store": "sqlite:///:memory:"})) as runtime:
        yield runtime


@pytest.fixture
def services(runtime: Runtime) -> Runtime:
    """The runtime under the name the tests of this folder know it by."""
    return runtime


@pytest.fixture
def run(runtime: Runtime) -> Run:
    schema = build_schema(runtime.settings)

    async def execute(
        query: str, variables: dict[str, Any] | None = None, *, principal: Principal = ANONYMOUS
    ) -> ExecutionResult:
        context = Context(runtime=runtime, principal=principal)
        return await schema.execute(query, variable_values=variables, context_value=context)

    return execute
