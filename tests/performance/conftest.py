"""In-process gateways over the sandbox for the performance tests: the real schema, adapters and upstream clients.

``gateway(**overrides)`` opens a runtime as the app's lifespan does (:func:`gateway.runtime.open_runtime`) and
returns a :class:`Gateway` whose ``run`` executes through the real schema.
Backend calls are counted by the sandbox (``sandbox.calls()``), so they are the calls that went over HTTP.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import strawberry
from strawberry.types import ExecutionResult

from gateway.context import ANONYMOUS, Context, Principal
from gateway.runtime import Runtime, open_runtime
from schema.schema import build_schema
from tests.conftest import Sandbox, sandbox_settings

UIPATH_AUTH = {"Authorization": "Bearer sandbox-uipath-token"}


@dataclass
class Gateway:
    services: Runtime
    schema: strawberry.Schema

    async def run(
        self, query: str, variables: dict[str, Any] | None = None, *, principal: Principal = ANONYMOUS
    ) -> ExecutionResult:
        context = Context(runtime=self.services, principal=principal)
        return await self.schema.execute(query, variable_values=variables, context_value=context)

    async def ok(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        result = await self.run(query, variables, **kwargs)
        assert result.errors is None, result.errors
        return result.data


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def gateway_in_process(sandbox: Sandbox) -> AsyncIterator[GatewayFactory]:
    async with contextlib.AsyncExitStack() as opened:

        async def make(*, fast: bool = True, **overrides: Any) -> Gateway:
            overrides.setdefault("store", "sqlite:///:memory:")
            settings = sandbox_settings(sandbox.url, **overrides)
            runtime = await opened.enter_async_context(open_runtime(settings))
            return Gateway(runtime, build_schema(settings, fast_execution=fast))

        yield make


def add_uipath_webhooks(sandbox: Sandbox, count: int) -> list[str]:
    """``count`` more UiPath webhooks through the simulator's API; their ids, ascending."""
    names = ["process.created", "job.started", "job.faulted", "queue.created", "robot.status"]
    ids = []
    with httpx.Client(base_url=sandbox.url, headers=UIPATH_AUTH) as client:
        for index in range(count):
            body = {
                "Name": f"perf {index}",
                "Url": f"https://hooks.example.com/perf/{index}",
                "Enabled": True,
                "Events": [{"EventType": names[index % 5]}, {"EventType": names[(index + 2) % 5]}],
            }
            ids.append(str(client.post("/uipath/odata/Webhooks", json=body).raise_for_status().json()["Id"]))
    return ids


def add_dixa_subscriptions(sandbox: Sandbox, count: int) -> list[str]:
    ids = []
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": "sandbox-dixa-key"}) as client:
        for index in range(count):
            body = {
                "name": f"Perf {index}",
                "url": f"https://hooks.example.com/dixa/{index}",
                "events": ["ConversationCreated", "ConversationClosed"],
                "authorization": {"_type": "NoAuth"},
            }
            ids.append(client.post("/dixa/v1/webhooks", json=body).raise_for_status().json()["data"]["id"])
    return ids
