"""Replay the attacks of the hardening review (issue 10) against a served gateway, one line per attack.

``python -m bench.attack [--url URL] [--sandbox URL] [--quick] [--seed 7]``

Each attack has one expectation. A line says ``PASS`` (the gateway held), ``FAIL`` (the attack worked) or ``SKIP``
(it cannot be tried against this target, with the reason), then the attack's name, what happened, how long the
decisive request took, and a note::

    PASS  exponential-fragments-30        refused 400 BAD_USER_INPUT  0.02 s  healthz max 0.01 s during

The exit code is 1 when any attack worked, else 0.

With no ``--url``, the script starts everything itself on free loopback ports and stops it at the end: the sandbox
(``hookgate sandbox``), the gateway (``hookgate serve --log-level debug``, SQLite in a temporary directory) with API
keys (so that the pre-auth WebSocket attack means something), the response cache on (60 s, for the stale
``inboundEvents`` check), and, for the attacks that must take the store away or age the event log, a second gateway
whose Redis store is reached through a TCP forwarder the script can cut, with a retention of two seconds. A gateway
that stops answering after an attack is restarted before the next one. Against ``--url`` (a gateway over the
sandbox's sources and secrets, configured with ``[cache] enabled = true`` and ``[webhooks] allow_private_urls =
false``, which a gateway serving its embedded sandbox turns on; keys with ``--read-key`` and ``--write-key``), the
attacks that need the server's process, log or store are skipped, and the upstream-call counts need ``--sandbox``.

Every loop is bounded in count and time, and traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

# The sandbox's signing secrets (CONTRACT.md): a gateway over the sandbox verifies deliveries with them.
UIPATH_SECRET = "sandbox-uipath-secret"  # noqa: S105 (the sandbox's published test secret)
DIXA_SECRET_HEX = "73616e64626f78"  # noqa: S105
PUBLIC_URL = "https://93.184.215.14/hookgate-attack"  # a global address: a webhook target any rule accepts

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass
class Result:
    verdict: str
    outcome: str
    seconds: float | None = None
    note: str = ""


@dataclass
class Answer:
    """One HTTP answer (or the lack of one) as an attack sees it."""

    status: int | None
    body: Any = None
    text: str = ""
    seconds: float = 0.0
    failure: str | None = None  # transport failure: no HTTP answer

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []

    @property
    def codes(self) -> list[str]:
        return [str((e.get("extensions") or {}).get("code")) for e in self.errors]

    @property
    def data(self) -> dict[str, Any]:
        data = self.body.get("data") if isinstance(self.body, dict) else None
        return data if isinstance(data, dict) else {}

    def describe(self) -> str:
        if self.failure:
            return f"no answer ({self.failure})"
        codes = ",".join(dict.fromkeys(self.codes)) or ("data" if self.data else "no errors")
        return f"{self.status} {codes}"

    def coded_refusal(self) -> bool:
        """A request error the client can act on: an HTTP answer below 500 whose errors all carry a code, none of
        them INTERNAL."""
        return (
            self.status is not None
            and self.status < 500
            and bool(self.errors)
            and all(code not in ("None", "INTERNAL") for code in self.codes)
        )


def require_loopback(url: str) -> str:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"bench.attack drives loopback targets only, not {host}")
    return url.rstrip("/")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def global_id(type_name: str, source: str, native: str) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{source}:{native}".encode()).rstrip(b"=").decode("ascii")


def sign_uipath(body: bytes, secret: str = UIPATH_SECRET) -> dict[str, str]:
    mac = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {"content-type": "application/json", "x-uipath-signature": base64.b64encode(mac).decode("ascii")}


def sign_dixa(body: bytes, secret_hex: str = DIXA_SECRET_HEX) -> dict[str, str]:
    timestamp = int(time.time() * 1000)
    mac = hmac.new(bytes.fromhex(secret_hex), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"content-type": "application/json", "x-dixa-signature": f"t={timestamp},v1={mac}"}


def uipath_event(event_type: str, event_id: str, extra: str = "") -> bytes:
    """A UiPath delivery's bytes; ``extra`` is raw JSON members appended as they are (to carry odd shapes)."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    head = json.dumps({"Type": event_type, "EventId": event_id, "Timestamp": now, "TenantId": 1})[:-1]
    return (head + (", " + extra if extra else "") + "}").encode()


def metric_samples(text: str, name: str) -> dict[str, float]:
    """The samples of metric ``name`` in Prometheus text, by their label text."""
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name) : len(name) + 1] not in ("{", " "):
            continue
        labels, _, value = line[len(name) :].rpartition(" ")
        with contextlib.suppress(ValueError):
            samples[labels.strip()] = float(value)
    return samples


# -- processes: the gateway and the sandbox ---------------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))  # TOML basic strings take JSON's escapes


def write_config(path: Path, config: dict[str, Any]) -> None:
    lines = [f"{k} = {_toml(v)}" for k, v in config.items() if not isinstance(v, dict | list)]
    for entry in config.get("api_keys", []):
        lines += ["", "[[api_keys]]", *(f"{k} = {_toml(v)}" for k, v in entry.items())]
    for table, values in config.items():
        if isinstance(values, dict) and table != "sources":
            lines += ["", f"[{table}]", *(f"{k} = {_toml(v)}" for k, v in values.items())]
    for name, source in config.get("sources", {}).items():
        lines += ["", f"[sources.{name}]", *(f"{k} = {_toml(v)}" for k, v in source.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def clean_env() -> dict[str, str]:
    """The environment without the caller's HOOKGATE_* settings, which would override the attack's configuration."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}


def wait_http(url: str, process: subprocess.Popen[bytes] | None, timeout_s: float = 40.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"exited at start with code {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def stop_process(process: subprocess.Popen[bytes], grace_s: float = 5.0) -> None:
    """Stop a process this script started, and its group: SIGTERM, then SIGKILL after ``grace_s``."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


class Served:
    """A ``hookgate serve`` this script runs: its port, config and log stay the same across restarts."""

    def __init__(self, config: Path, log: Path, *, debug: bool) -> None:
        self.config, self.log, self.debug = config, log, debug
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> None:
        args = [sys.executable, "-m", "gateway", "serve", "--config", str(self.config), "--port", str(self.port)]
        args += ["--log-level", "debug" if self.debug else "info", "--log-format", "json"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True
            )
        try:
            wait_http(f"{self.url}/healthz", self.process)
        except RuntimeError as exc:
            tail = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            self.stop()
            raise RuntimeError(f"hookgate serve: {exc}: {' | '.join(tail)[:400]}") from None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def restart(self) -> None:
        self.kill()
        self.start()


def start_sandbox(log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    args = [sys.executable, "-m", "gateway", "sandbox", "--port", str(port)]
    with log.open("ab") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/_control/calls", process)
    except RuntimeError:
        stop_process(process)
        raise
    return url, process


def pid_listening_on(port: int) -> int | None:
    """The process listening on 127.0.0.1:``port``, from /proc (Linux; processes of this user only)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                parts = row.split()
                if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{parts[9]}]")
    for pid in filter(str.isdigit, os.listdir("/proc")) if inodes else ():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                        return int(pid)
    return None


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def rss_peak(pid: int | None) -> Iterator[list[float]]:
    """Sample the RSS of ``pid`` every 20 ms while the block runs; yields [before, peak, after] once done."""
    numbers: list[float] = []
    if pid is None or rss_mib(pid) is None:
        yield numbers
        return
    before = rss_mib(pid) or 0.0
    peak = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], rss_mib(pid) or 0.0)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield numbers
    finally:
        stop.set()
        thread.join()
        numbers += [before, peak[0], rss_mib(pid) or 0.0]


class Forwarder:
    """A TCP forwarder to the store that the attack can cut, as a network partition would."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.target_port = host, port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.ensure_future(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()

    async def cut(self) -> None:
        """Stop listening and drop every connection: the store is gone."""
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        for task in list(self._tasks):
            task.cancel()


# -- the attacker ----------------------------------------------------------------------------------------------------


@dataclass
class Attacker:
    url: str
    keys: dict[str, str | None]
    quick: bool
    rng: random.Random
    nonce: str
    sandbox_url: str | None = None
    served: Served | None = None
    aux: Served | None = None
    aux_problem: str | None = None
    forwarder: Forwarder | None = None
    aux_retention: bool = False
    http: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        # A connection per request: a server that drops one after a bad answer must not fail the next attack.
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=0)
        self.http = httpx.AsyncClient(timeout=30, limits=limits)

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 80)

    def auth(self, role: str) -> dict[str, str]:
        key = self.keys.get(role)
        return {"authorization": f"Bearer {key}"} if key else {}

    async def request(self, method: str, path: str, *, base: str | None = None, **kwargs: Any) -> Answer:
        kwargs.setdefault("timeout", 30.0)
        started = time.perf_counter()
        try:
            response = await self.http.request(method, (base or self.url) + path, **kwargs)
        except httpx.HTTPError as exc:
            return Answer(None, seconds=time.perf_counter() - started, failure=type(exc).__name__)
        seconds = time.perf_counter() - started
        try:
            body = response.json()
        except ValueError:
            body = None
        return Answer(response.status_code, body, response.text[:300], seconds)

    async def gql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: str = "reader",
        base: str | None = None,
        headers: dict[str, str] | None = None,
        wait_s: float = 30.0,
    ) -> Answer:
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        return await self.request(
            "POST",
            "/graphql",
            base=base,
            content=json.dumps(payload).encode(),
            headers={"content-type": "application/json", **self.auth(role), **(headers or {})},
            timeout=wait_s,
        )

    async def deliver(self, source: str, body: bytes, headers: dict[str, str], *, base: str | None = None) -> Answer:
        return await self.request("POST", f"/hooks/{source}", base=base, content=body, headers=headers, timeout=15)

    async def calls(self) -> dict[str, dict[str, int]] | None:
        if self.sandbox_url is None:
            return None
        answer = await self.request("GET", "/_control/calls", base=self.sandbox_url, timeout=10)
        return answer.body if isinstance(answer.body, dict) else None

    async def sandbox_control(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        if self.sandbox_url is not None:
            await self.request(method, path, base=self.sandbox_url, json=body, timeout=10)

    async def healthz_ok(self, timeout_s: float = 3.0) -> bool:
        answer = await self.request("GET", "/healthz", timeout=timeout_s)
        return answer.status == 200

    def new_id(self, what: str) -> str:
        return f"atk-{what}-{self.nonce}-{self.rng.randrange(10**9)}"

    async def create_webhook(self, url: str) -> Answer:
        return await self.gql(
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id url } } }",
            {"i": {"source": "uipath", "url": url, "subscribeToAllEvents": True}},
            role="writer",
        )

    async def delete_webhook(self, webhook_id: str) -> None:
        await self.gql(
            "mutation Delete($i: DeleteWebhookInput!) { deleteWebhook(input: $i) { deletedId } }",
            {"i": {"id": webhook_id}},
            role="writer",
        )

    def created_id(self, answer: Answer, field_name: str = "createWebhook") -> str | None:
        payload = answer.data.get(field_name) or {}
        webhook = payload.get("webhook") if isinstance(payload, dict) else None
        return webhook.get("id") if isinstance(webhook, dict) else None


async def probe_healthz(attacker: Attacker, stop: asyncio.Event) -> list[float]:
    """GET /healthz every 50 ms on a connection of its own until ``stop``; the latencies (5 s when none came)."""
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=5) as client:
        while not stop.is_set() and len(latencies) < 2000:
            started = time.perf_counter()
            try:
                await client.get(f"{attacker.url}/healthz")
                latencies.append(time.perf_counter() - started)
            except httpx.HTTPError:
                latencies.append(max(5.0, time.perf_counter() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    return latencies


async def with_healthz(attacker: Attacker, work: Awaitable[Any]) -> tuple[Any, float]:
    """Run ``work`` while probing /healthz; its result and the longest /healthz wait meanwhile."""
    stop = asyncio.Event()
    probe = asyncio.ensure_future(probe_healthz(attacker, stop))
    try:
        result = await work
    finally:
        stop.set()
        latencies = await probe
    return result, max(latencies, default=0.0)


# -- the attacks -----------------------------------------------------------------------------------------------------

Attack = Callable[[Attacker], Awaitable[Result]]
ATTACKS: list[tuple[str, Attack, float]] = []


def attack(name: str, budget_s: float = 60.0) -> Callable[[Attack], Attack]:
    def register(fn: Attack) -> Attack:
        ATTACKS.append((name, fn, budget_s))
        return fn

    return register


@attack("non-object-json-body")
async def non_object_json(a: Attacker) -> Result:
    """Item 6: valid JSON that is not an object is a 400 with a GraphQL-over-HTTP error body."""
    seen, slowest, good = [], 0.0, True
    for body in (b'"x"', b"0", b"true", b"null"):
        answer = await a.request(
            "POST", "/graphql", content=body, headers={"content-type": "application/json", **a.auth("reader")}
        )
        slowest = max(slowest, answer.seconds)
        seen.append(f"{body.decode()}:{answer.describe()}")
        good = good and answer.status == 400 and answer.coded_refusal()
    return Result(PASS if good else FAIL, "refused 400 coded" if good else "; ".join(seen), slowest)


@attack("subscription-over-http")
async def subscription_over_http(a: Attacker) -> Result:
    """Low: a subscription sent over HTTP is a coded request error, not INTERNAL."""
    answer = await a.gql('subscription { events(source: "uipath") { id } }')
    ok = answer.coded_refusal()
    return Result(PASS if ok else FAIL, ("refused " if ok else "") + answer.describe(), answer.seconds)


@attack("two-operations-no-name")
async def two_operations(a: Attacker) -> Result:
    """Low: two operations and no operationName is a request error; with a write key, nothing is deleted."""
    created = await a.create_webhook(f"{PUBLIC_URL}/{a.nonce}/victim")
    victim = a.created_id(created)
    if victim is None:
        return Result(FAIL, f"setup: could not create the victim webhook ({created.describe()})", created.seconds)
    document = (
        f'mutation Delete {{ deleteWebhook(input: {{id: "{victim}"}}) {{ deletedId }} }}\nquery Look {{ __typename }}'
    )
    answer = await a.gql(document, role="writer")
    still = await a.gql("query Still($id: ID!) { webhook(id: $id) { id } }", {"id": victim}, role="admin")
    exists = bool(still.data.get("webhook"))
    if exists:
        await a.delete_webhook(victim)
    ok = answer.coded_refusal() and not answer.data.get("deleteWebhook") and exists
    note = "victim webhook still there" if exists else "the victim webhook was DELETED"
    return Result(
        PASS if ok else FAIL, ("refused " if answer.coded_refusal() else "") + answer.describe(), answer.seconds, note
    )


async def odd_ids(a: Attacker, native: str) -> Result:
    request_id = global_id("WorkflowRequest", "workflowgen", native)
    queries = {
        "node": ("query($id: ID!) { node(id: $id) { id } }", request_id),
        "request": ("query($id: ID!) { request(id: $id) { number } }", request_id),
        "action": (
            "query($id: ID!) { action(id: $id) { number } }",
            global_id("WorkflowAction", "workflowgen", f"1-{native}"),
        ),
        "webhook": ("query($id: ID!) { webhook(id: $id) { id } }", global_id("Webhook", "uipath", native)),
        "nodes": ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", [global_id("Webhook", "uipath", native)]),
    }
    bad, slowest = [], 0.0
    for name, (query, value) in queries.items():
        answer = await a.gql(query, {"ids" if name == "nodes" else "id": value})
        slowest = max(slowest, answer.seconds)
        if answer.status is None or answer.status >= 500 or "INTERNAL" in answer.codes or "None" in answer.codes:
            bad.append(f"{name}:{answer.describe()}")
    outcome = f"{len(queries)} lookups answered null or coded" if not bad else "; ".join(bad)
    return Result(FAIL if bad else PASS, outcome, slowest)


@attack("non-ascii-digit-ids")
async def non_ascii_ids(a: Attacker) -> Result:
    """Low: ids whose number is made of non-ASCII digits ('²', which str.isdigit accepts and int() refuses)."""
    return await odd_ids(a, "\u00b2\u00b3")


@attack("ids-4301-digits")
async def long_ids(a: Attacker) -> Result:
    """Low: ids with a 4,301-digit number (past Python's int() limit for text)."""
    return await odd_ids(a, "9" * 4301)


@attack("json-input-nested-255")
async def nested_json_input(a: Attacker) -> Result:
    """Low: a JSON input nested 300 deep is answered with a coded error (or accepted), never INTERNAL, and writes no
    huge log line."""
    deep: Any = {"leaf": 1}
    for _ in range(300):
        deep = [deep]
    log_before = a.served.log.stat().st_size if a.served else 0
    answer = await a.gql(
        "mutation($i: ConversationSignalInput!) { notifyAgentConnected(input: $i) { clientMutationId } }",
        {"i": {"botId": "bot-1", "data": deep}},
        role="writer",
    )
    longest = 0
    if a.served is not None:
        await asyncio.sleep(0.2)
        with a.served.log.open("rb") as log:
            log.seek(log_before)
            longest = max((len(line) for line in log.read().splitlines()), default=0)
    ok = answer.status is not None and answer.status < 500 and not {"INTERNAL", "None"} & set(answer.codes)
    ok = ok and longest < 32_768
    fields = {str((e.get("extensions") or {}).get("field")) for e in answer.errors}
    note = f"field {','.join(sorted(fields))}" if answer.errors else ""
    if a.served is not None:
        note += f"  longest new log line {longest / 1024:.1f} KiB"
    return Result(PASS if ok else FAIL, answer.describe(), answer.seconds, note.strip())


async def uipath_writes(a: Attacker) -> int | None:
    calls = await a.calls()
    if calls is None:
        return None
    return sum(n for route, n in calls.get("uipath", {}).items() if not route.startswith("GET "))


async def private_url(a: Attacker, url: str, *, update: bool = False) -> Result:
    """Low: webhook targets on private, loopback or link-local addresses, or non-http schemes, are BAD_USER_INPUT on
    ``url``, and nothing is written upstream."""
    victim = None
    if update:
        created = await a.create_webhook(f"{PUBLIC_URL}/{a.nonce}/update")
        victim = a.created_id(created)
        if victim is None:
            return Result(FAIL, f"setup: could not create a webhook ({created.describe()})", created.seconds)
    writes = await uipath_writes(a)
    if update:
        answer = await a.gql(
            "mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i) { webhook { id url } } }",
            {"i": {"id": victim, "url": url}},
            role="writer",
        )
    else:
        answer = await a.create_webhook(url)
    after = await uipath_writes(a)
    written = None if writes is None or after is None else after - writes
    made = a.created_id(answer, "updateWebhook" if update else "createWebhook")
    for webhook_id in {victim, made} - {None}:
        await a.delete_webhook(str(webhook_id))
    fields = [str((e.get("extensions") or {}).get("field", "")) for e in answer.errors]
    ok = "BAD_USER_INPUT" in answer.codes and any(f.split(".")[-1] == "url" for f in fields) and not made
    ok = ok and not written
    note = f"field {','.join(fields)}" if fields else ""
    if written is not None:
        note += f"  upstream writes {written}"
    return Result(PASS if ok else FAIL, ("refused " if ok else "") + answer.describe(), answer.seconds, note.strip())


@attack("private-url-metadata")
async def private_url_metadata(a: Attacker) -> Result:
    return await private_url(a, "http://169.254.169.254/latest/meta-data/")


@attack("private-url-loopback-redis")
async def private_url_redis(a: Attacker) -> Result:
    return await private_url(a, "http://127.0.0.1:6379/")


@attack("private-url-file-scheme")
async def private_url_file(a: Attacker) -> Result:
    return await private_url(a, "file:///etc/passwd")


@attack("private-url-update")
async def private_url_update(a: Attacker) -> Result:
    return await private_url(a, "http://10.0.0.5/hook", update=True)


@attack("signed-delivery-nested-300")
async def nested_delivery(a: Attacker) -> Result:
    """Item 5: an authentic UiPath delivery nested 300 deep is stored and acknowledged (2xx), not a 500."""
    body = uipath_event("job.completed", a.new_id("nested"), '"Deep": ' + "[" * 300 + "]" * 300)
    answer = await a.deliver("uipath", body, sign_uipath(body))
    ok = answer.status is not None and 200 <= answer.status < 300
    return Result(
        PASS if ok else FAIL,
        f"{'acknowledged ' if ok else ''}{answer.status or answer.failure}",
        answer.seconds,
        "sqlite" if a.served else "",
    )


@attack("signed-delivery-bigint")
async def bigint_delivery(a: Attacker) -> Result:
    """Item 5: an authentic Dixa delivery carrying integers beyond 64 bits is acknowledged (not a 400) and served
    back exactly (not rounded to a float)."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    event_type = f"ATTACK_BIGINT_{a.nonce.upper()}"  # a type of its own, so that no cached answer stands in
    head = json.dumps(
        {
            "event_id": a.new_id("bigint"),
            "event_fqn": event_type,
            "event_version": "1",
            "event_timestamp": now,
            "organization": {"id": "org-attack", "name": "attack"},
        }
    )
    big, small = 10**40 - 1, -(2**70) - 1
    body = (head[:-1] + f', "data": {{"big": {big}, "small": {small}}}}}').encode()
    answer = await a.deliver("dixa", body, sign_dixa(body))
    if answer.status is None or not 200 <= answer.status < 300:
        return Result(FAIL, f"{answer.status or answer.failure}", answer.seconds)
    query = 'query($t: String!) { inboundEvents(source: "dixa", type: $t, first: 5) { nodes { payload } } }'
    read = await a.gql(query, {"t": event_type})  # parsed by Python's json: integers stay exact
    nodes = (read.data.get("inboundEvents") or {}).get("nodes") or [{}]
    data = (nodes[0].get("payload") or {}).get("data") if isinstance(nodes[0], dict) else None
    exact = isinstance(data, dict) and data.get("big") == big and data.get("small") == small
    served = repr(data)[:60] if not exact else "exactly"
    outcome = "acknowledged 200" + ("" if exact else ", not served back exactly")
    return Result(PASS if exact else FAIL, outcome, answer.seconds, f"served back {served}")


async def ws_connect(a: Attacker, role: str | None, *, base: str | None = None) -> Any:
    """A graphql-transport-ws connection, acknowledged with the key of ``role`` (None: not initialised)."""
    from websockets.asyncio.client import connect
    from websockets.typing import Subprotocol

    ws_url = (base or a.url).replace("http://", "ws://") + "/graphql"
    ws = await connect(
        ws_url,
        subprotocols=[Subprotocol("graphql-transport-ws")],
        open_timeout=10,
        close_timeout=2,
        max_size=2**22,
        compression=None,
    )
    if role is not None:
        key = a.keys.get(role)
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"} if key else {}})
        )
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if ack.get("type") != "connection_ack":
            await ws.close()
            raise RuntimeError(f"no connection_ack: {ack}")
    return ws


@attack("metrics-move")
async def metrics_move(a: Attacker) -> Result:
    """Item 9: hookgate_inbound_deliveries_total moves for accepted and refused deliveries, hookgate_subscribers for
    a live subscription (live: it receives the accepted delivery)."""

    async def scrape() -> tuple[dict[str, float], float]:
        text = (await a.http.get(a.url + "/metrics")).text
        subscribers = sum(metric_samples(text, "hookgate_subscribers").values())
        return metric_samples(text, "hookgate_inbound_deliveries_total"), subscribers

    before, subscribers_before = await scrape()
    started = time.perf_counter()
    ws = await ws_connect(a, "reader")
    received = False
    try:
        subscription = 'subscription { events(source: "uipath") { providerEventId } }'
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": subscription}}))
        await asyncio.sleep(0.3)  # the subscription is registered before the event arrives
        event_id = a.new_id("metrics")
        good = uipath_event("job.completed", event_id)
        accepted = await a.deliver("uipath", good, sign_uipath(good))
        forged = uipath_event("job.completed", a.new_id("forged"))
        refused = await a.deliver("uipath", forged, sign_uipath(forged, "not-the-secret"))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while not received:
                    received = event_id in str(await ws.recv())
        after, subscribers_during = await scrape()
        await ws.send(json.dumps({"id": "1", "type": "complete"}))
    finally:
        await ws.close()
    seconds = time.perf_counter() - started
    moved = {labels: after.get(labels, 0.0) - before.get(labels, 0.0) for labels in after}
    moved = {labels: n for labels, n in moved.items() if n > 0}
    deliveries_ok = sum(moved.values()) >= 2 and len(moved) >= 2 and accepted.status == 200 and refused.status == 401
    ok = deliveries_ok and subscribers_during > subscribers_before
    note = f"deliveries +{sum(moved.values()):.0f} over {len(moved)} label sets, "
    note += f"subscribers {subscribers_before:.0f}->{subscribers_during:.0f}"
    note += "" if received else " (the subscription received nothing)"
    return Result(PASS if ok else FAIL, "moved" if ok else "did not move", seconds, note)


@attack("inbound-events-cache-stale")
async def cache_staleness(a: Attacker) -> Result:
    """Low: with the response cache on, inboundEvents shows a delivery made after it was first asked for."""
    event_type, event_id = f"attack.stale.{a.nonce}", a.new_id("stale")
    query = 'query($t: String!) { inboundEvents(source: "uipath", type: $t, first: 10) { nodes { providerEventId } } }'
    first = await a.gql(query, {"t": event_type})
    if first.status != 200 or first.errors:
        return Result(FAIL, f"setup: {first.describe()}", first.seconds)
    body = uipath_event(event_type, event_id)
    delivered = await a.deliver("uipath", body, sign_uipath(body))
    if delivered.status != 200:
        return Result(FAIL, f"setup: delivery answered {delivered.status or delivered.failure}", delivered.seconds)
    again = await a.gql(query, {"t": event_type})
    nodes = ((again.data.get("inboundEvents") or {}).get("nodes")) or []
    fresh = any(isinstance(n, dict) and n.get("providerEventId") == event_id for n in nodes)
    note = "" if a.served else "(needs [cache] enabled on the target)"
    return Result(
        PASS if fresh else FAIL,
        "fresh after a delivery" if fresh else "stale: the new event is missing",
        again.seconds,
        note,
    )


@attack("list-variable-cost-30000")
async def list_variable_cost(a: Attacker) -> Result:
    """Item 4: 30,000 ids passed as a list variable are costed like a literal list: refused, with no upstream call,
    and /healthz does not wait."""
    ids = [global_id("Webhook", "uipath", str(n)) for n in range(1, 30_001)]
    before = await a.calls()
    answer, healthz_max = await with_healthz(
        a, a.gql("query Many($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": ids}, wait_s=60)
    )
    after = await a.calls()
    upstream = None
    if before is not None and after is not None:
        upstream = sum(sum(r.values()) for r in after.values()) - sum(sum(r.values()) for r in before.values())
    ok = answer.coded_refusal() and "BAD_USER_INPUT" in answer.codes and not upstream
    note = f"upstream calls {upstream if upstream is not None else 'n/a'}, healthz max {healthz_max:.2f} s during"
    return Result(PASS if ok else FAIL, ("refused " if ok else "") + answer.describe(), answer.seconds, note)


@attack("header-10mb")
async def huge_header(a: Attacker) -> Result:
    """Item 8: a 10 MB header is refused (431/400) or the connection closed, never served."""
    size = 10 * 1024 * 1024
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", a.port)
    sent, outcome, status = 0, "", None
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Attack: ")
        chunk = b"a" * 65536
        try:
            while sent < size:
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), 10)
                sent += len(chunk)
            writer.write(b"\r\n\r\n")
            await asyncio.wait_for(writer.drain(), 10)
        except (ConnectionError, TimeoutError) as exc:
            outcome = f"{'stalled' if isinstance(exc, TimeoutError) else 'closed'} after {sent / 2**20:.1f} MiB sent"
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            if line.startswith(b"HTTP/"):
                status = int(line.split()[1])
        except (ConnectionError, TimeoutError, ValueError, IndexError):
            pass
    finally:
        writer.transport.abort()
    seconds = time.perf_counter() - started
    if status is not None:
        return Result(
            FAIL if status < 400 else PASS,
            f"{'served' if status < 400 else 'refused'} {status}",
            seconds,
            outcome or f"after {sent / 2**20:.1f} MiB",
        )
    ok = outcome.startswith("closed")
    return Result(PASS if ok else FAIL, outcome or "no answer, connection held", seconds)


async def _half_open(a: Attacker, body_part: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", a.port)
    head = b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    writer.write(head + (b"Content-Length: 1000\r\n\r\n" + b'{"query": "{ __typename' if body_part else b""))
    await writer.drain()
    return reader, writer


async def _closed_within(reader: asyncio.StreamReader, deadline: float) -> float | None:
    """Seconds until the server closed the connection (or reset it), None if it was still open at ``deadline``."""
    started = time.monotonic()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if not await asyncio.wait_for(reader.read(65536), remaining):
                return time.monotonic() - started
    except ConnectionError:
        return time.monotonic() - started
    except TimeoutError:
        return None


@attack("half-sent-requests", budget_s=120.0)
async def half_sent(a: Attacker) -> Result:
    """Item 8: requests whose headers (half of them) or body (the other half) never finish are closed by the
    server's read timeouts; meanwhile /healthz answers."""
    count = 50 if a.quick else 200
    wait_s = 20.0 if a.quick else 75.0
    started = time.perf_counter()
    opened = [await _half_open(a, body_part=i % 2 == 1) for i in range(count)]
    healthy = await a.healthz_ok(5)
    deadline = time.monotonic() + wait_s
    closed = await asyncio.gather(*(_closed_within(reader, deadline) for reader, _ in opened))
    for _, writer in opened:
        writer.transport.abort()
    shut = [c for c in closed if c is not None]
    heads = sum(1 for i, c in enumerate(closed) if c is not None and i % 2 == 0)
    ok = len(shut) == count and healthy
    outcome = (
        f"closed {len(shut)}/{count} (headers {heads}/{(count + 1) // 2}, bodies {len(shut) - heads}/{count // 2})"
    )
    note = (f"last after {max(shut):.1f} s" if shut else f"none within {wait_s:.0f} s") + (
        "" if healthy else ", healthz failed meanwhile"
    )
    return Result(PASS if ok else FAIL, outcome, time.perf_counter() - started, note)


async def _oversized_init(a: Attacker, size: int) -> str:
    """Send one ``connection_init`` of ``size`` bytes (no key) and say how the server ended it."""
    from websockets.exceptions import ConnectionClosed

    padding = "".join(a.rng.choice("abcdefgh") for _ in range(64)) * (size // 64)
    frame = json.dumps({"type": "connection_init", "payload": {"padding": padding}})
    try:
        ws = await ws_connect(a, None)
    except Exception as exc:
        return f"refused-open:{type(exc).__name__}"
    try:
        await asyncio.wait_for(ws.send(frame), 20)
        message = await asyncio.wait_for(ws.recv(), 20)
        return "acked" if '"connection_ack"' in str(message) else "answered"
    except ConnectionClosed as exc:
        return f"close-{exc.rcvd.code}" if exc.rcvd is not None else "dropped"
    except (TimeoutError, OSError):
        return "dropped"
    finally:
        await ws.close()


@attack("ws-oversized-connection-init", budget_s=120.0)
async def ws_oversized(a: Attacker) -> Result:
    """Item 2: unauthenticated oversized connection_init frames are refused with a size close (not read, decoded and
    answered 4403 for the missing key), and the server's memory barely moves; a 200 KiB first message is refused
    too (the first message is capped far below max_body_bytes)."""
    frames, size = (5, 2 * 2**20) if a.quick else (20, 8 * 2**20)
    pid = a.served.pid if a.served else pid_listening_on(a.port)
    started = time.perf_counter()
    with rss_peak(pid) as rss:
        ends = await asyncio.gather(*(_oversized_init(a, size) for _ in range(frames)))
    small = await _oversized_init(a, 200 * 1024)
    seconds = time.perf_counter() - started
    read_whole = [e for e in [*ends, small] if e in ("close-4403", "acked", "answered", "close-1000")]
    growth = (rss[1] - rss[0]) if rss else None
    ok = not read_whole and (growth is None or growth < 64)
    counted = ", ".join(f"{n}x {end}" for end, n in sorted({e: ends.count(e) for e in ends}.items()))
    note = f"200 KiB init: {small}; "
    note += f"rss {rss[0]:.0f} MiB, peak +{growth:.0f}, after +{rss[2] - rss[0]:.0f}" if rss else "rss n/a"
    return Result(PASS if ok else FAIL, f"{frames}x{size / 2**20:.0f} MiB: {counted}", seconds, note)


@attack("druid-write-retry-after-401")
async def druid_retry(a: Attacker) -> Result:
    """Low: a DRUID flow that gets a 401 (its token expired at DRUID) is not sent again: one StartFlow call."""
    if a.sandbox_url is None:
        return Result(SKIP, "needs --sandbox (its clock expires DRUID's tokens)")
    mutation = "mutation($i: StartFlowInput!) { startFlow(input: $i) { result } }"
    variables = {"i": {"source": "druid", "botId": "bot-1", "channelId": "web", "targetUserMasterId": a.new_id("u")}}
    warm = await a.gql(mutation, variables, role="writer")  # the gateway now holds a DRUID token
    if warm.errors:
        return Result(FAIL, f"setup: {warm.describe()}", warm.seconds)
    await a.sandbox_control("POST", "/_control/clock", {"advance_s": 1801})

    def start_flows(calls: dict[str, dict[str, int]] | None) -> int:
        routes = (calls or {}).get("druid", {})
        return sum(n for route, n in routes.items() if route.endswith("/StartFlow"))

    before = start_flows(await a.calls())
    answer = await a.gql(mutation, variables, role="writer")
    sent = start_flows(await a.calls()) - before
    ok = sent <= 1
    return Result(PASS if ok else FAIL, f"StartFlow sent {sent}x", answer.seconds, answer.describe())


@attack("debug-log-secrets")
async def debug_log_secrets(a: Attacker) -> Result:
    """Item 7: at --log-level debug, no log line carries an API key (sent in connection_init) or a secret sent in a
    mutation's variables over the WebSocket, not even a part of one."""
    if a.served is None or not a.served.debug:
        return Result(SKIP, "needs the server's debug log (start it with no --url)")
    canary = "atkcanary" + "".join(a.rng.choice("0123456789abcdef") for _ in range(24))
    started = time.perf_counter()
    ws = await ws_connect(a, "writer")
    made = None
    try:
        await ws.send(
            json.dumps(
                {
                    "id": "m",
                    "type": "subscribe",
                    "payload": {
                        "query": "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } } }",
                        "variables": {
                            "i": {
                                "source": "uipath",
                                "url": f"{PUBLIC_URL}/{a.nonce}/canary",
                                "secret": canary,
                                "subscribeToAllEvents": True,
                            }
                        },
                    },
                }
            )
        )
        for _ in range(5):
            message = json.loads(await asyncio.wait_for(ws.recv(), 15))
            if message.get("type") == "next":
                made = ((message.get("payload") or {}).get("data") or {}).get("createWebhook", {}).get("webhook")
            if message.get("type") in ("complete", "error"):
                break
    finally:
        await ws.close()
    if isinstance(made, dict) and made.get("id"):
        await a.delete_webhook(str(made["id"]))
    await asyncio.sleep(0.5)
    log = a.served.log.read_text(encoding="utf-8", errors="replace")
    if '"level":"debug"' not in log and "DEBUG" not in log:
        return Result(SKIP, "the server's log has no debug lines, so it proves nothing")
    secrets = {role: key for role, key in a.keys.items() if key} | {"mutation secret": canary}
    leaked = []
    for name, secret in secrets.items():
        windows = {secret[i : i + 10] for i in range(len(secret) - 9)}
        hits = sum(1 for line in log.splitlines() if any(w in line for w in windows))
        if hits:
            leaked.append(f"{name} in {hits} lines")
    outcome = "; ".join(leaked) if leaked else f"0 of {len(secrets)} secrets in {len(log) / 2**20:.1f} MiB of log"
    return Result(FAIL if leaked else PASS, outcome, time.perf_counter() - started)


@attack("uipath-replay-after-retention", budget_s=60.0)
async def uipath_replay(a: Attacker) -> Result:
    """Low: a captured UiPath delivery replayed after the event log's retention dropped it is not stored again: a
    duplicate, or refused as too old. (The retention is two seconds here, to stand for 30 days.)"""
    if a.aux is None or not a.aux_retention:
        return Result(SKIP, a.aux_problem or "needs a gateway this script starts (a short retention)")
    event_type = f"attack.replay.{a.nonce}"
    body = uipath_event(event_type, a.new_id("replay"))
    first = await a.deliver("uipath", body, sign_uipath(body), base=a.aux.url)
    if first.status != 200:
        return Result(FAIL, f"setup: first delivery answered {first.status or first.failure}")
    query = 'query($t: String!) { inboundEvents(source: "uipath", type: $t) { totalCount } }'
    trimmed, deadline = False, time.monotonic() + 15
    while not trimmed and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        seen = await a.gql(query, {"t": event_type}, base=a.aux.url)
        trimmed = (seen.data.get("inboundEvents") or {}).get("totalCount") == 0
    replay = await a.deliver("uipath", body, sign_uipath(body), base=a.aux.url)
    duplicate = isinstance(replay.body, dict) and replay.body.get("duplicate") is True
    refused = replay.status is not None and 400 <= replay.status < 500
    stored_again = replay.status == 200 and not duplicate
    if not trimmed and not stored_again and not refused:
        return Result(SKIP, "the retention never dropped the event, so a replay proves nothing", replay.seconds)
    outcome = "stored again" if stored_again else ("refused " if refused else "duplicate ") + str(replay.status)
    return Result(
        FAIL if stored_again else PASS,
        outcome,
        replay.seconds,
        "after the log dropped it" if trimmed else "before the log dropped it",
    )


@attack("signed-delivery-nested-300-redis")
async def nested_delivery_redis(a: Attacker) -> Result:
    """Item 5, on the Redis store: an authentic delivery nested 300 deep is acknowledged."""
    if a.aux is None or a.forwarder is None:
        return Result(SKIP, a.aux_problem or "needs a gateway this script starts, with Redis")
    body = uipath_event("job.completed", a.new_id("nested"), '"Deep": ' + "[" * 300 + "]" * 300)
    answer = await a.deliver("uipath", body, sign_uipath(body), base=a.aux.url)
    ok = answer.status is not None and 200 <= answer.status < 300
    return Result(
        PASS if ok else FAIL,
        f"{'acknowledged ' if ok else ''}{answer.status or answer.failure}",
        answer.seconds,
        "redis",
    )


@attack("readyz-store-cut")
async def readyz_store_cut(a: Attacker) -> Result:
    """Item 3: /readyz answers 503 when the store does not answer (Redis cut by a TCP forwarder)."""
    if a.aux is None or a.forwarder is None:
        return Result(SKIP, a.aux_problem or "needs a gateway this script starts, with Redis")
    before = await a.request("GET", "/readyz", base=a.aux.url, timeout=10)
    if before.status != 200:
        return Result(FAIL, f"setup: /readyz answered {before.status or before.failure} before the cut")
    await a.forwarder.cut()
    answer = await a.request("GET", "/readyz", base=a.aux.url, timeout=15)
    body = uipath_event("job.completed", a.new_id("cut"))
    delivered = await a.deliver("uipath", body, sign_uipath(body), base=a.aux.url)
    ok = answer.status == 503
    return Result(
        PASS if ok else FAIL,
        f"{answer.status or answer.failure} {answer.text[:60]}",
        answer.seconds,
        f"a delivery meanwhile: {delivered.status or delivered.failure}",
    )


def _reason(answer: Answer) -> str | None:
    reasons = [(e.get("extensions") or {}).get("reason") for e in answer.errors]
    return next((str(r) for r in reasons if r), None)


def _says_when(answer: Answer) -> bool:
    """Whether an in-progress error tells the client when to come back."""
    return any(isinstance((e.get("extensions") or {}).get("retryAfter"), int | float) for e in answer.errors)


@attack("orphaned-idempotency-key", budget_s=180.0)
async def orphaned_key(a: Attacker) -> Result:
    """Low: after a crash mid-mutation (SIGKILL while UiPath hangs on the write), a retry with the same
    Idempotency-Key is told when to come back (``retryAfter``), and the orphaned claim lapses on a short lease: a
    retry then runs the mutation, instead of "in progress" for 24 h. (The lease follows the sources' ``timeout_s``,
    3 s in quick mode.)"""
    if a.served is None or a.sandbox_url is None:
        return Result(SKIP, "needs a gateway this script starts (it is killed mid-mutation)")
    window = 60.0 if a.quick else 150.0
    key = {"idempotency-key": a.new_id("orphan")}
    mutation = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } } }"
    url = f"{PUBLIC_URL}/{a.nonce}/orphan"
    variables = {"i": {"source": "uipath", "url": url, "subscribeToAllEvents": True}}
    writes = await uipath_writes(a) or 0
    await a.sandbox_control("POST", "/_control/faults", {"target": "uipath", "hang": True})
    pending = asyncio.ensure_future(a.gql(mutation, variables, role="writer", headers=key, wait_s=60))
    try:
        for _ in range(100):  # the write reached UiPath, which holds it
            await asyncio.sleep(0.05)
            if (await uipath_writes(a) or 0) > writes:
                break
        else:
            return Result(FAIL, "setup: the write never reached the sandbox")
        a.served.kill()
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pending
        await a.sandbox_control("DELETE", "/_control/faults")
    await asyncio.to_thread(a.served.start)
    restarted = time.monotonic()
    answers: list[Answer] = []
    while time.monotonic() - restarted < window and len(answers) < 20:
        answer = await a.gql(mutation, variables, role="writer", headers=key, wait_s=45)
        answers.append(answer)
        if answer.failure or _reason(answer) != "IDEMPOTENCY_KEY_IN_PROGRESS" or not _says_when(answer):
            break
        retry_after = max(float((answer.errors[0].get("extensions") or {}).get("retryAfter") or 1), 0.5)
        await asyncio.sleep(min(retry_after, max(window - (time.monotonic() - restarted), 0.0)))
    last, elapsed = answers[-1], time.monotonic() - restarted
    made = a.created_id(last)
    if made:
        await a.delete_webhook(made)
    waits = "retries " + ", ".join(f"{x.seconds:.0f} s" for x in answers)
    if last.failure:
        return Result(FAIL, f"the retry got {last.describe()}", last.seconds, waits)
    if _reason(last) == "IDEMPOTENCY_KEY_IN_PROGRESS":
        message = str(last.errors[0].get("message", ""))[:90]
        verdict = "in progress, not saying when" if not _says_when(last) else f"in progress after {elapsed:.0f} s"
        return Result(FAIL, verdict, last.seconds, f"{waits}: {message}")
    what = "the retry ran the mutation" if made else f"the retry got {last.describe()} {_reason(last) or ''}".strip()
    return Result(PASS, f"claim lapsed after {elapsed:.0f} s, {what}", last.seconds, waits)


def doubling_fragments(levels: int) -> str:
    lines = ["fragment F0 on Query { __typename }"]
    lines += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return "\n".join([*lines, f"query Doubling {{ ...F{levels} }}"])


@attack("exponential-fragments-30", budget_s=60.0)
async def exponential_fragments(a: Attacker) -> Result:
    """Item 1 (critical): a 30-level doubling fragment document (under 2 KB) is refused with a coded error at once,
    and /healthz never waits meanwhile. Run last: on a gateway without the fix, the worker never comes back."""
    document = doubling_fragments(30)
    answer, healthz_max = await with_healthz(a, a.gql(document, wait_s=10))
    ok = answer.coded_refusal() and answer.seconds < 3.0 and healthz_max < 2.0
    return Result(
        PASS if ok else FAIL,
        ("refused " if answer.coded_refusal() else "") + answer.describe(),
        answer.seconds,
        f"healthz max {healthz_max:.2f} s during",
    )


# -- running --------------------------------------------------------------------------------------------------------


def line(name: str, result: Result) -> str:
    seconds = f"{result.seconds:.2f} s" if result.seconds is not None else "-"
    return f"{result.verdict:<4}  {name:<30}  {result.outcome}  {seconds}  {result.note}".rstrip()


async def run(attacker: Attacker, only: set[str] | None) -> int:
    failed = passed = skipped = 0
    for name, fn, budget in ATTACKS:
        if only and name not in only:
            continue
        if attacker.served is not None and not await attacker.healthz_ok():
            print(f"# the gateway stopped answering: restarting it before {name}", flush=True)
            await asyncio.to_thread(attacker.served.restart)
        started = time.perf_counter()
        try:
            result = await asyncio.wait_for(fn(attacker), budget * (1 if attacker.quick else 2))
        except TimeoutError:
            result = Result(
                FAIL, f"no verdict within {time.perf_counter() - started:.0f} s", time.perf_counter() - started
            )
        except Exception as exc:
            result = Result(
                FAIL, f"attack error: {type(exc).__name__}: {str(exc)[:120]}", time.perf_counter() - started
            )
        print(line(name, result), flush=True)
        failed += result.verdict == FAIL
        passed += result.verdict == PASS
        skipped += result.verdict == SKIP
    print(f"# {passed} held, {failed} worked, {skipped} skipped", flush=True)
    return 1 if failed else 0


def redis_reachable(url: str) -> tuple[str, int] | None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return (host, port) if sock.recv(16).startswith(b"+PONG") else None
    except OSError:
        return None


async def drop_keys(url: str, prefix: str) -> None:
    """Remove the second gateway's keys from Redis (bounded: a few thousand at most)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)][:100_000]
        if keys:
            await client.delete(*keys)
    except Exception as exc:
        print(f"# could not remove the keys under {prefix}: {type(exc).__name__}", flush=True)
    finally:
        await client.aclose()


async def main_async(args: argparse.Namespace) -> int:
    from gateway.config import sandbox_sources

    rng = random.Random(args.seed)
    nonce = f"{args.seed}x{time.time_ns() % 10**12:x}"
    keys: dict[str, str | None]
    only = set(args.only.split(",")) if args.only else None
    if args.url:
        keys = {"reader": args.read_key, "writer": args.write_key, "admin": args.write_key}
        attacker = Attacker(
            require_loopback(args.url),
            keys,
            args.quick,
            rng,
            nonce,
            sandbox_url=require_loopback(args.sandbox) if args.sandbox else None,
        )
        try:
            return await run(attacker, only)
        finally:
            await attacker.http.aclose()

    keys = {
        role: f"atk-{role}-" + "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(32))
        for role in ("reader", "writer", "admin")
    }
    scopes = {"reader": ["read"], "writer": ["read", "write"], "admin": ["read", "write", "admin"]}
    api_keys = [
        {"name": f"attack-{role}", "key_sha256": sha256(str(key)), "scopes": scopes[role]} for role, key in keys.items()
    ]
    with tempfile.TemporaryDirectory(prefix="hookgate-attack-") as tmp:
        workdir = Path(tmp)
        if args.keep:
            workdir = Path(tempfile.mkdtemp(prefix="hookgate-attack-"))
            print(f"# configuration and logs in {workdir}", flush=True)
        sandbox_url, sandbox = start_sandbox(workdir / "sandbox.log")
        served: Served | None = None
        aux: Served | None = None
        forwarder: Forwarder | None = None
        try:
            sources = sandbox_sources(sandbox_url)
            if args.quick:  # a short deadline per upstream call, so that an orphaned Idempotency-Key lapses sooner
                sources = {name: source | {"timeout_s": 3} for name, source in sources.items()}
            config = {
                "store": f"sqlite:///{workdir}/hookgate.db",
                "api_keys": api_keys,
                "sources": sources,
                "cache": {"enabled": True, "ttl_s": 60},
            }
            write_config(workdir / "gateway.toml", config)
            served = Served(workdir / "gateway.toml", workdir / "gateway.log", debug=True)
            await asyncio.to_thread(served.start)
            attacker = Attacker(served.url, dict(keys), args.quick, rng, nonce, sandbox_url=sandbox_url, served=served)
            # The second gateway: its store through a forwarder the attack cuts, and a two-second retention.
            redis = redis_reachable(args.redis)
            aux_config: dict[str, Any] = {
                "api_keys": api_keys,
                "sources": sources,
                "store": f"sqlite:///{workdir}/aux.db",
            }
            if redis is not None:
                forwarder = Forwarder(*redis)
                await forwarder.start()
                db = urlsplit(args.redis).path or "/0"
                prefix = f"hookgate-attack:{nonce}:"  # its keys are removed at the end
                aux_config["store"] = f"redis://127.0.0.1:{forwarder.port}{db}?prefix={prefix}"
            else:
                attacker.aux_problem = f"Redis at {args.redis} does not answer: no store to cut"
            retention = {"retention_days": 2 / 86_400, "trim_interval_s": 0.5}
            for events in (retention, None):
                write_config(workdir / "aux.toml", aux_config | ({"events": events} if events else {}))
                aux = Served(workdir / "aux.toml", workdir / "aux.log", debug=False)
                try:
                    await asyncio.to_thread(aux.start)
                    attacker.aux, attacker.aux_retention = aux, events is not None
                    break
                except RuntimeError as exc:
                    problem = str(exc)
                    aux = None
            else:
                attacker.aux_problem = f"the second gateway did not start: {problem[:160]}"
            if attacker.aux is not None and not attacker.aux_retention:
                attacker.aux_problem = "the second gateway refused a two-second retention"
            if forwarder is not None and attacker.aux is not None:
                attacker.forwarder = forwarder
            try:
                return await run(attacker, only)
            finally:
                await attacker.http.aclose()
        finally:
            for process in (served, aux):
                if process is not None:
                    await asyncio.to_thread(process.stop)
            if forwarder is not None:
                await forwarder.cut()
                await drop_keys(args.redis, f"hookgate-attack:{nonce}:")
            stop_process(sandbox)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.attack", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a served gateway (loopback); default: start one")
    parser.add_argument("--sandbox", help="the sandbox behind --url, for upstream call counts and its clock")
    parser.add_argument("--read-key", default=os.environ.get("HOOKGATE_ATTACK_READ_KEY"))
    parser.add_argument("--write-key", default=os.environ.get("HOOKGATE_ATTACK_WRITE_KEY"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14", help="the Redis the second gateway uses")
    parser.add_argument("--quick", action="store_true", help="smaller frames, fewer sockets, shorter waits")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", help="comma-separated attack names")
    parser.add_argument("--list", action="store_true", help="print the attacks' names and exit")
    parser.add_argument("--keep", action="store_true", help="keep the configuration and the servers' logs")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(name for name, _, _ in ATTACKS))
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
