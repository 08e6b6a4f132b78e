"""Events helpers: signed deliveries, subscriptions over graphql-transport-ws, and real server processes.

Signatures here come from ``sandbox.deliveries`` (the sandbox's own implementation), not from the gateway's
``gateway.events.signatures``: the two are written apart, so a test passing means they agree with each other and
with providers.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from gql import Client
from gql.graphql_request import GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from gateway.config import Settings, sandbox_sources
from sandbox.deliveries import WORKFLOWGEN_SECRET, sign_dixa, sign_standard, sign_uipath
from sandbox.server import free_port

ROOT = Path(__file__).resolve().parents[2]
UIPATH_SECRET = "sandbox-uipath-secret"
DIXA_KEY = "73616e64626f78"
AUCO_HEADER = ("X-Auco-Token", "sandbox-auco-token")
ZERO_CURSOR = "0" * 16  # a SQLite cursor before every event
UNREACHABLE = "http://127.0.0.1:9"  # sources whose APIs the receiver tests never call


# ---------------------------------------------------------------------------------------------- signed deliveries


def uipath_timestamp(at: float | None = None) -> str:
    """UiPath's ``Timestamp`` (seven fractional digits) for ``at`` (epoch seconds), by default now: the gateway
    refuses a UiPath delivery older than the event log's dedupe window as a replay."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def uipath_delivery(
    event_id: str, event_type: str = "job.completed", *, at: float | None = None, **extra: Any
) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps({"Type": event_type, "EventId": event_id, "Timestamp": uipath_timestamp(at), **extra})
    return body, {"X-UiPath-Signature": sign_uipath(UIPATH_SECRET, body), "content-type": "application/json"}


def dixa_delivery(
    event_id: str, fqn: str = "CONVERSATION_CREATED", *, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps(
        {"event_id": event_id, "event_fqn": fqn, "event_version": "1", "event_timestamp": "2024-05-01T10:00:00.123Z",
         "organization": {"id": "o", "name": "Org"}, "data": {"conversation": {"csid": 1}}}
    )  # fmt: skip
    ms = int((time.time() if at is None else at) * 1000)
    return body, {"X-DIXA-SIGNATURE": sign_dixa(DIXA_KEY, body, ms)}


def auco_delivery(status: str = "FINISH", **fields: Any) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps({"code": "DOC1", "name": "Contract", "status": status, **fields})
    return body, {AUCO_HEADER[0]: AUCO_HEADER[1]}


def standard_delivery(
    event_type: str = "action.closed", *, msg_id: str | None = None, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    body = orjson.dumps({"type": event_type, "timestamp": "2024-05-01T10:00:00.000Z", "data": {"requestNumber": 1}})
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    ts = int(time.time() if at is None else at)
    return body, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_standard(WORKFLOWGEN_SECRET, msg_id, ts, body),
    }


# ------------------------------------------------------------------------------------------ receiver settings


def receiver_settings(**overrides: Any) -> Settings:
    data: dict[str, Any] = {"sources": sandbox_sources(UNREACHABLE), "store": "sqlite:///:memory:"}
    data.update(overrides)
    return Settings.model_validate(data)


# ---------------------------------------------------------------------------------------- subscriptions (gql)


def ws_url(http_url: str) -> str:
    return http_url.replace("http://", "ws://", 1) + "/graphql"


EVENTS_SUBSCRIPTION = """
subscription($source: String, $types: [String!], $after: String) {
  events(source: $source, types: $types, after: $after) { id cursor source provider type providerEventId payload }
}
"""


async def collect_events(
    url: str, count: int, *, variables: dict[str, Any], timeout_s: float = 15.0, ready: asyncio.Event | None = None
) -> list[dict[str, Any]]:
    """Subscribe over graphql-transport-ws with gql and return the first ``count`` events."""
    transport = WebsocketsTransport(url=ws_url(url), subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
    received: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout_s), Client(transport=transport, fetch_schema_from_transport=False) as session:
        if ready is not None:
            ready.set()
        request = GraphQLRequest(EVENTS_SUBSCRIPTION, variable_values=variables)
        async for result in session.subscribe(request):
            received.append(result["events"])
            if len(received) >= count:
                break
    return received


@asynccontextmanager
async def event_stream(url: str, variables: dict[str, Any]) -> AsyncIterator[asyncio.Queue[Any]]:
    """A gql subscription running in the background for the block; its events (or its failure) arrive in the
    queue. Read it with :func:`take`."""
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def run() -> None:
        transport = WebsocketsTransport(url=ws_url(url), subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL])
        try:
            async with Client(transport=transport, fetch_schema_from_transport=False) as session:
                request = GraphQLRequest(EVENTS_SUBSCRIPTION, variable_values=variables)
                async for result in session.subscribe(request):
                    queue.put_nowait(result["events"])
        except Exception as exc:
            queue.put_nowait(exc)

    task = asyncio.create_task(run())
    try:
        yield queue
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(predicate: Callable[[], Awaitable[bool] | bool], timeout_s: float = 5.0) -> None:
    """Poll ``predicate`` until it holds (TimeoutError after ``timeout_s``)."""
    async with asyncio.timeout(timeout_s):
        for _ in itertools.count():
            outcome = predicate()
            if outcome if isinstance(outcome, bool) else await outcome:
                return
            await asyncio.sleep(0.01)


async def take(queue: asyncio.Queue[Any], count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    taken = []
    async with asyncio.timeout(timeout_s):
        for _ in range(count):
            item = await queue.get()
            if isinstance(item, Exception):
                raise item
            taken.append(item)
    return taken


# -------------------------------------------------------------------------------------------- server processes


def write_config(path: Path, *, store: str, sandbox_url: str, extra: str = "") -> Path:
    """A TOML configuration with a UiPath and a Dixa source on the sandbox (strings written as JSON, valid TOML)."""
    q = json.dumps
    path.write_text(
        f"store = {q(store)}\n{extra}\n"
        f'[sources.uipath]\nkind = "uipath"\nbase_url = {q(sandbox_url + "/uipath")}\n'
        f'token = "sandbox-uipath-token"\nwebhook_secret = {q(UIPATH_SECRET)}\n'
        f'[sources.dixa]\nkind = "dixa"\nbase_url = {q(sandbox_url + "/dixa")}\n'
        f'api_key = "sandbox-dixa-key"\nwebhook_secret_key = {q(DIXA_KEY)}\n',
        encoding="utf-8",
    )
    return path


class ServerProcess:
    """``python -m gateway serve --config FILE`` as a child process: the real server, killable with SIGKILL."""

    def __init__(self, config: Path, log_path: Path, port: int | None = None) -> None:
        self.config = config
        self.log_path = log_path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 30.0) -> ServerProcess:
        return self.spawn().wait_ready(timeout_s)

    def spawn(self) -> ServerProcess:
        """Start the process without waiting for it (start several, then ``wait_ready`` each: they boot in parallel)."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("HOOKGATE_CONFIG", None)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "serve", "--config", str(self.config), "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, timeout_s: float = 30.0) -> ServerProcess:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gateway exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"gateway did not start:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook, no flush, no goodbye."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
