"""One gateway notion for every test: the app of :func:`gateway.app.create_app`, whose lifespan opens its runtime
through :func:`gateway.runtime.open_runtime`, run either in process (``"asgi"``: httpx's ASGI transport, no socket)
or served (``"served"``: a real uvicorn server on a port 0 socket of its own).

Both modes answer :meth:`Gateway.request` (HTTP through the app), :meth:`Gateway.run` (the app's schema executed
directly, no HTTP) and :attr:`Gateway.runtime`; only a served gateway has a URL a second process or a WebSocket
client can reach (:attr:`Gateway.graphql_url`, :meth:`Gateway.post`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import strawberry
from asgi_lifespan import LifespanManager
from strawberry.types import ExecutionResult

from gateway.app import create_app, runtime_of
from gateway.config import Settings
from gateway.context import ANONYMOUS, Context, Principal
from gateway.runtime import Runtime
from schema.schema import build_schema
from tests.support.servers import Server

Mode = Literal["asgi", "served"]
MODES: tuple[Mode, ...] = ("asgi", "served")
IN_PROCESS_URL = "http://gateway.test"


@dataclass
class Gateway:
    """A running gateway (see the module's docstring)."""

    url: str
    app: Any
    mode: Mode = "served"
    #: In process: the open client over the app's ASGI transport (requests go through the app's middleware).
    client: httpx.AsyncClient | None = None
    _schema: strawberry.Schema | None = field(default=None, repr=False)

    @property
    def runtime(self) -> Runtime:
        """The runtime the app's lifespan opened."""
        return runtime_of(self.app)

    @property
    def services(self) -> Runtime:
        """:attr:`runtime` under the name older tests know it by."""
        return self.runtime

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    @property
    def schema(self) -> strawberry.Schema:
        """The schema of the runtime's settings (``[execution] fast`` included), built once."""
        if self._schema is None:
            self._schema = build_schema(self.runtime.settings)
        return self._schema

    def post(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST one operation over TCP (a served gateway only)."""
        assert self.mode == "served", "a gateway in process has no socket: use `await gateway.request(...)`"
        return httpx.post(self.graphql_url, json={"query": query, "variables": variables or {}}, timeout=30, **kwargs)

    @contextlib.asynccontextmanager
    async def http(self) -> AsyncIterator[httpx.AsyncClient]:
        """An async client for this gateway, in either mode."""
        if self.client is not None:
            yield self.client
        else:
            async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
                yield client

    async def request(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST one operation to ``/graphql`` through the app, in either mode."""
        async with self.http() as client:
            return await client.post("/graphql", json={"query": query, "variables": variables or {}}, **kwargs)

    async def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """:meth:`request`'s JSON body."""
        return (await self.request(query, variables)).json()  # type: ignore[no-any-return]

    async def deliver(self, source: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST a delivery to ``/hooks/{source}``."""
        async with self.http() as client:
            return await client.post(f"/hooks/{source}", content=body, headers=headers)

    async def run(
        self, query: str, variables: dict[str, Any] | None = None, *, principal: Principal = ANONYMOUS
    ) -> ExecutionResult:
        """Execute through the real schema, adapters and upstream clients, without HTTP."""
        context = Context(runtime=self.runtime, principal=principal)
        return await self.schema.execute(query, variable_values=variables, context_value=context)

    async def ok(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """:meth:`run`'s data, asserting that it has no error."""
        result = await self.run(query, variables, **kwargs)
        assert result.errors is None, result.errors
        return result.data


@contextlib.asynccontextmanager
async def in_process(settings: Settings, **app_options: Any) -> AsyncIterator[Gateway]:
    """The gateway for ``settings`` in process: its lifespan run, a client over its ASGI transport."""
    app = create_app(settings, **app_options)
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=IN_PROCESS_URL, timeout=30) as client:
            yield Gateway(url=IN_PROCESS_URL, app=app, mode="asgi", client=client)


@contextlib.contextmanager
def served(settings: Settings, **app_options: Any) -> Any:
    """The gateway for ``settings`` served by uvicorn on a port 0 socket; stopped on exit."""
    app = create_app(settings, **app_options)
    with Server(app) as server:
        yield Gateway(url=server.url, app=app, mode="served")


@contextlib.asynccontextmanager
async def opened(mode: Mode, settings: Settings, **app_options: Any) -> AsyncIterator[Gateway]:
    """The gateway for ``settings`` in ``mode``."""
    if mode == "asgi":
        async with in_process(settings, **app_options) as gateway:
            yield gateway
    else:
        with served(settings, **app_options) as gateway:
            yield gateway


@contextlib.asynccontextmanager
async def asgi_client(sandbox_url: str, **overrides: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """The gateway app in process over the sandbox at ``sandbox_url``, as ``(client, runtime)``."""
    from tests.support.sandbox import sandbox_settings

    async with in_process(sandbox_settings(sandbox_url, **overrides)) as gateway:
        assert gateway.client is not None
        yield gateway.client, gateway.runtime


def services_of(app: Any) -> Runtime:
    """The runtime of a started gateway app (:func:`gateway.app.runtime_of`)."""
    return runtime_of(app)


GatewayFactory = Callable[..., Any]
