"""Every fixture of the suite, in one place; ``tests/conftest.py`` imports them.

The sandbox is one per session (per xdist worker), put back to its seed state for each test. Gateways are built by
:mod:`tests.support.gateway` over :func:`gateway.runtime.open_runtime` (through the app's lifespan), in process or
served on a port 0 socket; ``any_gateway`` runs a test once each way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from gateway.config import Settings, sandbox_sources
from gateway.providers.base import Adapter
from gateway.providers.registry import build_adapter
from gateway.runtime import Runtime, open_runtime
from gateway.store import Store, open_store
from sandbox.app import create_sandbox_app
from sandbox.control import Control
from tests.support.adapters import MakeAdapter
from tests.support.events import ServerProcess, receiver_settings
from tests.support.gateway import MODES, Gateway, GatewayFactory, Mode, in_process, opened, served
from tests.support.observing import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LogCapture, unavailable
from tests.support.sandbox import Sandbox, sandbox_settings
from tests.support.schema import Run, schema_runner
from tests.support.servers import Server
from tests.support.stores import OpenInstance, redis_or_skip

# -- the sandbox ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[Sandbox]:
    control = Control()
    app = create_sandbox_app(control)
    with Server(app) as server:
        yield Sandbox(url=server.url, control=control, app=app)


@pytest.fixture
def sandbox(sandbox_server: Sandbox) -> Sandbox:
    """The session's sandbox, put back to its seed state (no faults, no calls counted) for this test."""
    httpx.post(f"{sandbox_server.url}/_control/reset").raise_for_status()
    return sandbox_server


@pytest.fixture
def settings(sandbox: Sandbox) -> Settings:
    return sandbox_settings(sandbox.url)


# -- gateways ------------------------------------------------------------------------------------------------------


@pytest.fixture
def gateway_factory(sandbox: Sandbox, tmp_path: Path) -> Iterator[GatewayFactory]:
    """Serve gateways over the sandbox; each is stopped when the test ends. Keyword overrides go to Settings."""
    with contextlib.ExitStack() as stack:
        count = 0

        def start(**overrides: Any) -> Gateway:
            nonlocal count
            overrides.setdefault("store", f"sqlite:///{tmp_path}/hookgate-{count}.db")
            count += 1
            return stack.enter_context(served(sandbox_settings(sandbox.url, **overrides)))

        yield start


@pytest.fixture
def gateway(gateway_factory: GatewayFactory) -> Gateway:
    """A served gateway over the sandbox with default settings and a fresh SQLite store."""
    return gateway_factory()  # type: ignore[no-any-return]


@pytest.fixture(params=MODES)
async def any_gateway(request: pytest.FixtureRequest, sandbox: Sandbox, tmp_path: Path) -> AsyncIterator[Gateway]:
    """A gateway over the sandbox, once in process and once served: for what must hold either way."""
    mode: Mode = request.param
    async with opened(mode, sandbox_settings(sandbox.url, store=f"sqlite:///{tmp_path}/hookgate.db")) as gateway:
        yield gateway


@pytest.fixture
async def gateway_in_process(sandbox: Sandbox) -> AsyncIterator[GatewayFactory]:
    """``await gateway_in_process(fast=False, **overrides)``: gateways in process over the sandbox."""
    async with contextlib.AsyncExitStack() as stack:

        async def make(*, fast: bool = True, **overrides: Any) -> Gateway:
            overrides.setdefault("store", "sqlite:///:memory:")
            overrides.setdefault("execution", {"fast": fast})
            return await stack.enter_async_context(in_process(sandbox_settings(sandbox.url, **overrides)))

        yield make


@pytest.fixture
async def asgi_gateway() -> AsyncIterator[Gateway]:
    """A gateway with an in-memory store whose sources are never called, in process: fast enough for thousands of
    deliveries."""
    async with in_process(receiver_settings()) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def module_gateway(sandbox_server: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """One served gateway for a whole module: starting one per test would cost most of the module's time."""
    store = f"sqlite:///{tmp_path_factory.mktemp('gateway')}/hookgate.db"
    with served(sandbox_settings(sandbox_server.url, store=store)) as gateway:
        yield gateway


@pytest.fixture
def shared_gateway(module_gateway: Gateway, sandbox: Sandbox) -> Gateway:
    """The module's gateway over a freshly reset sandbox, for tests that leave nothing behind in the gateway:
    no faults (a breaker could open), no token counting, and Idempotency-Keys of their own."""
    return module_gateway


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    """Server processes a test started; each is stopped at the end, whatever happened."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


# -- the runtime and the schema, without HTTP -----------------------------------------------------------------------


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    async with open_runtime(settings.model_copy(update={"store": "sqlite:///:memory:"})) as runtime:
        yield runtime


@pytest.fixture
def services(runtime: Runtime) -> Runtime:
    """The runtime under the name the schema tests know it by."""
    return runtime


@pytest.fixture
def run(runtime: Runtime) -> Run:
    """``await run(query)``: through the real schema, adapters and sandbox, minus HTTP."""
    return schema_runner(runtime)


# -- adapters ------------------------------------------------------------------------------------------------------


@pytest.fixture
async def make_adapter(sandbox: Sandbox) -> AsyncIterator[MakeAdapter]:
    """``make_adapter("uipath", retries=0)``: the sandbox source of that kind with ``changes`` to its config.

    Goes through ``build_adapter`` as the app does. ``None`` in ``changes`` removes a key (e.g. ``token=None``).
    """
    made: list[Adapter] = []

    def make(
        kind: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        extras: dict[str, Any] | None = None,
        **changes: Any,
    ) -> Any:
        sources = sandbox_sources(sandbox.url)
        source = sources[kind]
        for key, value in changes.items():
            if value is None:
                source.pop(key, None)
            else:
                source[key] = value
        settings = sandbox_settings(sandbox.url, sources=sources)
        adapter = build_adapter(kind, settings.sources[kind], transport=transport, **(extras or {}))
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.aclose()


# -- stores and Redis ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("HOOKGATE_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def redis_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own on the test Redis (skipped, or failed under HOOKGATE_REQUIRE_REDIS=1, when
    Redis is unreachable); its keys are deleted afterwards."""
    client = await redis_or_skip(redis_url)
    prefix = f"hookgate-test:{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def open_instance(store_kind: str, tmp_path: Path, redis_url: str) -> AsyncIterator[OpenInstance]:
    """``await open_instance()`` opens another store on the *same* backing state (one SQLite file in ``tmp_path``,
    or one Redis key prefix), as a second gateway replica would; every instance is closed, and the test's Redis keys
    deleted, at the end of the test. When Redis is unreachable the Redis half is skipped, or fails when
    ``HOOKGATE_REQUIRE_REDIS=1`` (as in CI)."""
    opened_stores: list[Store] = []
    admin: aioredis.Redis | None = None
    prefix = ""
    if store_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"  # tmp_path is absolute, so this has the four slashes
    else:
        admin = await redis_or_skip(redis_url)
        prefix = f"hookgate-test:{uuid.uuid4().hex}:"
        separator = "&" if "?" in redis_url else "?"
        url = f"{redis_url}{separator}prefix={prefix}"

    async def open_one() -> Store:
        store = await open_store(url)
        opened_stores.append(store)
        return store

    try:
        yield open_one
    finally:
        for store in opened_stores:
            await store.aclose()
        if admin is not None:
            keys = [key async for key in admin.scan_iter(match=f"{prefix}*", count=1000)]
            if keys:
                await admin.delete(*keys)
            await admin.aclose()


@pytest.fixture
async def store(open_instance: OpenInstance) -> Store:
    """One store per implementation (the test runs once with SQLite, once with Redis)."""
    return await open_instance()


# -- what a person meets: a browser, screenshots, log lines ---------------------------------------------------------


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright, for one test.

    Not for longer: Playwright's sync API marks an event loop as running in this thread while it lives, and the
    asyncio tests after it would then fail with "Cannot run the event loop while another loop is running".
    """
    executable = CHROMIUM if os.path.isfile(CHROMIUM) else shutil.which("chromium")
    if not executable:
        unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install playwright (its bundled driver, not its browsers)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def json_logs() -> Iterator[LogCapture]:
    """Route every log record through Hookgate's JSON configuration into a buffer; back to stderr afterwards."""
    from gateway.observability.logs import configure_logging

    capture = LogCapture()
    configure_logging(json=True, level="INFO", stream=capture.stream)
    try:
        yield capture
    finally:
        configure_logging(json=True, level="INFO")
