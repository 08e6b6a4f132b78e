"""In-process execution: ``await run(query)`` goes through the real schema, adapters and sandbox, minus HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from strawberry.types import ExecutionResult

from gateway.config import Settings
from gateway.context import ANONYMOUS, Context, Principal
from gateway.providers.registry import build_adapter
from gateway.services import Services
from schema.schema import build_schema

Run = Callable[..., Awaitable[ExecutionResult]]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    from gateway.store import open_store

    services = Services(settings=settings, adapters={})
    services.store = await open_store("sqlite:///:memory:")
    for name, config in settings.sources.items():
        services.adapters[name] = build_adapter(name, config)
    yield services
    for adapter in services.adapters.values():
        await adapter.aclose()
    await services.store.aclose()


@pytest.fixture
def run(services: Services) -> Run:
    schema = build_schema(services.settings)

    async def execute(
        query: str, variables: dict[str, Any] | None = None, *, principal: Principal = ANONYMOUS
    ) -> ExecutionResult:
        context = Context(services=services, principal=principal)
        return await schema.execute(query, variable_values=variables, context_value=context)

    return execute
