"""Events benchmark: durable ingest rate, and fan-out latency to live subscribers. Not part of ``make test``.

``python -m bench.events_bench [--quick] [--duration S] [--connections C] [--subscribers N] [--only PART]``

``--only ingest|broker|graphql`` runs one part and prints it without writing the results file (for iterating on
one part; ``--profile FILE`` with ``--only graphql`` also records the server with ``py-spy``, if it is on the
``PATH``, as collapsed stacks).

1. **Ingest**: ``hookgate serve`` (one worker, uvloop + httptools, SQLite store with ``synchronous=FULL`` and group
   commit) pinned to CPU 1; this process, pinned to CPU 0, posts signed UiPath deliveries (distinct ``EventId`` each)
   over C keep-alive connections for S seconds (after a 1 s warm-up). Counted: deliveries answered 200, i.e. durable
   in the log (checked against ``inboundEvents.totalCount`` at the end); latency of those answers.
2. **Broker fan-out** (in process, uvloop): N subscribers on the broker over a SQLite store; an event is appended
   (durably), published, and each subscriber records when it receives it. Latency: append returned -> received.
3. **GraphQL fan-out** (end to end): the real server again, N ``events`` subscriptions over graphql-transport-ws
   (multiplexed on 50 WebSocket connections, a lean client on websockets' sans-I/O protocol on CPU 0, with
   permessage-deflate as browsers negotiate it; ``--client websockets`` for the asyncio client, which is slower than
   the gateway at this rate); a signed delivery is posted and each subscription records when its ``next`` message
   arrives. Latency: delivery posted -> message received, so it includes the ingest, the durable append, the
   GraphQL execution (once per distinct subscription), one frame write per subscription and the client's reading.

Targets (issue #6): ingest >= 2,000 durable deliveries/s on one worker; fan-out to 5,000 subscribers p99 < 100 ms.
Writes ``bench/events_results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import websockets

from sandbox.deliveries import sign_uipath
from sandbox.server import free_port

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "events_results.json"
SECRET = "bench-secret"  # noqa: S105 - a throwaway gateway's webhook secret
WS_CONNECTIONS = 50


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(_pct(values, 0.50) * 1000, 2),
        "p90_ms": round(_pct(values, 0.90) * 1000, 2),
        "p99_ms": round(_pct(values, 0.99) * 1000, 2),
        "max_ms": round(max(values) * 1000, 2) if values else float("nan"),
    }


def _pin(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


#: Extra ``hookgate serve`` options for every server the benchmark starts.
SERVE_OPTIONS: list[str] = []


@contextlib.contextmanager
def _server(workdir: Path, profile: Path | None = None) -> Iterator[str]:
    """``hookgate serve`` on a fresh SQLite file, pinned to CPU 1; yields its URL. With ``profile``, recorded by
    ``py-spy`` (collapsed stacks written there when the server stops)."""
    port = free_port()
    config = workdir / "bench.toml"
    config.write_text(
        f'store = "sqlite:///{workdir}/bench-events.db"\n'
        '[sources.uipath]\nkind = "uipath"\nbase_url = "http://127.0.0.1:9"\ntoken = "unused"\n'
        f'webhook_secret = "{SECRET}"\n',
        encoding="utf-8",
    )
    log = (workdir / "server.log").open("wb")
    env = {k: v for k, v in os.environ.items() if k != "HOOKGATE_CONFIG"}
    cmd = [*_pin(1), sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port)]
    cmd += SERVE_OPTIONS
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    recorder: subprocess.Popen[bytes] | None = None
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not start; see {workdir / 'server.log'}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.05)
        if profile is not None:
            spy = shutil.which("py-spy")
            if spy is None:
                raise RuntimeError("--profile needs py-spy on the PATH")
            recorder = subprocess.Popen(
                [spy, "record", "--pid", str(process.pid), "--format", "raw", "--rate", "250", "-o", str(profile)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        yield url
    finally:
        if recorder is not None:
            recorder.send_signal(signal.SIGINT)
            recorder.wait(timeout=30)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _delivery(event_id: str) -> tuple[bytes, dict[str, str]]:
    now = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())  # an old Timestamp is refused as a replay
    body = orjson.dumps(
        {"Type": "job.completed", "EventId": event_id, "Timestamp": now, "TenantId": 57,
         "Job": {"Id": 1, "State": "Successful", "Release": {"Name": "Invoices", "ProcessKey": "Invoices"}}}
    )  # fmt: skip
    return body, {"X-UiPath-Signature": sign_uipath(SECRET, body), "Content-Type": "application/json"}


# ------------------------------------------------------------------------------------------------------ ingest


async def ingest(url: str, duration_s: float, connections: int) -> dict[str, Any]:
    counter = iter(range(10**9))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    warmup_end = time.perf_counter() + 1.0
    end = warmup_end + duration_s
    acked_in_window = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal errors, acked_in_window
        while (now := time.perf_counter()) < end:
            body, headers = _delivery(f"bench-{next(counter)}")
            started = time.perf_counter()
            try:
                async with session.post(f"{url}/hooks/uipath", data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError:
                errors += 1
                continue
            finished = time.perf_counter()
            statuses[status] = statuses.get(status, 0) + 1
            if now >= warmup_end and status == 200:
                acked_in_window += 1
                latencies.append(finished - started)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        async with session.post(f"{url}/graphql", json={"query": "{ inboundEvents { totalCount } }"}) as response:
            stored = (await response.json())["data"]["inboundEvents"]["totalCount"]
    acked_total = statuses.get(200, 0)
    return {
        "durable_deliveries_per_s": round(acked_in_window / duration_s, 1),
        "connections": connections,
        "duration_s": duration_s,
        "acknowledged": acked_total,
        "stored": stored,
        "every_acknowledged_delivery_stored": stored == acked_total,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "client_errors": errors,
        "ack_latency": _summary_ms(latencies),
    }


# ----------------------------------------------------------------------------------------------- broker fan-out


async def broker_fanout(workdir: Path, subscribers: int, events: int) -> dict[str, Any]:
    from gateway.config import Settings
    from gateway.events.broker import open_broker
    from gateway.store import NewEvent, open_store

    store = await open_store(f"sqlite:///{workdir}/bench-broker.db")
    broker = await open_broker(Settings.model_validate({"store": "sqlite:///unused.db"}), store)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    remaining = subscribers * events
    ready = 0
    all_ready = asyncio.Event()

    async def subscriber() -> None:
        nonlocal remaining, ready
        async with broker.subscribe() as subscription:
            ready += 1
            if ready == subscribers:
                all_ready.set()
            async for event in subscription:
                latencies.append(time.perf_counter() - sent[event.cursor])
                remaining -= 1
                if remaining == 0:
                    done.set()

    tasks = [asyncio.create_task(subscriber()) for _ in range(subscribers)]
    await all_ready.wait()
    for i in range(events):
        result = await store.append(
            NewEvent(
                source="uipath", provider="uipath", type="job.completed", payload={"i": i}, provider_event_id=str(i)
            )
        )
        sent[result.event.cursor] = time.perf_counter()
        await broker.publish(result.event)
        await asyncio.sleep(0.1)  # one event at a time: the latency of one fan-out, not of a backlog
    async with asyncio.timeout(60):
        await done.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await broker.aclose()
    await store.aclose()
    return {"subscribers": subscribers, "events": events, "samples": len(latencies), **_summary_ms(latencies)}


def run_broker_fanout(workdir: Path, subscribers: int, events: int) -> dict[str, Any]:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(broker_fanout(workdir, subscribers, events))
    return uvloop.run(broker_fanout(workdir, subscribers, events))


# ---------------------------------------------------------------------------------------------- GraphQL fan-out

SUBSCRIBE = orjson.dumps({"query": 'subscription { events(source: "uipath") { cursor type } }'}).decode()


async def graphql_fanout(url: str, subscribers: int, events: int, client_kind: str = "lean") -> dict[str, Any]:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    per_connection = [subscribers // WS_CONNECTIONS + (1 if i < subscribers % WS_CONNECTIONS else 0)
                      for i in range(WS_CONNECTIONS)]  # fmt: skip
    received: dict[str, list[float]] = {}
    expected = subscribers
    arrived = asyncio.Event()
    counts: dict[str, int] = {}

    def on_message(text: str, now: float) -> None:
        # The cursor is all we need: find it without decoding the whole message.
        start = text.find('"cursor":"')
        if start < 0:
            return
        cursor = text[start + 10 : text.index('"', start + 10)]
        received.setdefault(cursor, []).append(now)
        counts[cursor] = counts.get(cursor, 0) + 1
        if counts[cursor] == expected:
            arrived.set()

    async def connection(n: int) -> None:
        if client_kind == "lean":
            await _lean_connection(ws_url, n, on_message)
            return
        async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"], max_queue=None) as ws:  # type: ignore[list-item]
            await ws.send('{"type":"connection_init","payload":{}}')
            await ws.recv()  # connection_ack
            for i in range(n):
                await ws.send(f'{{"id":"{i}","type":"subscribe","payload":{SUBSCRIBE}}}')
            async for message in ws:
                on_message(message if isinstance(message, str) else message.decode(), time.perf_counter())

    tasks = [asyncio.create_task(connection(n)) for n in per_connection if n]
    latencies: list[float] = []
    per_event_max: list[float] = []
    async with httpx.AsyncClient(timeout=30) as client:
        # Warm-up deliveries until every subscription answers: then all are registered and live.
        for attempt in range(200):
            body, headers = _delivery(f"warmup-{attempt}")
            cursor = (await client.post(f"{url}/hooks/uipath", content=body, headers=headers)).json()["cursor"]
            arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    while counts.get(cursor, 0) < expected:
                        await arrived.wait()
                        arrived.clear()
            if counts.get(cursor, 0) >= expected:
                break
        else:
            raise RuntimeError("the subscriptions never all answered")
        await asyncio.sleep(1.0)
        for i in range(events):
            body, headers = _delivery(f"fanout-{i}")
            arrived.clear()
            sent = time.perf_counter()
            cursor = (await client.post(f"{url}/hooks/uipath", content=body, headers=headers)).json()["cursor"]
            async with asyncio.timeout(60):
                while counts.get(cursor, 0) < expected:
                    await arrived.wait()
                    arrived.clear()
            times = [t - sent for t in received[cursor]]
            latencies += times
            per_event_max.append(max(times))
            await asyncio.sleep(0.5)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "client": client_kind,
        "subscriptions": subscribers,
        "websocket_connections": min(WS_CONNECTIONS, subscribers),
        "events": events,
        "samples": len(latencies),
        **_summary_ms(latencies),
        "median_time_to_last_subscriber_ms": round(statistics.median(per_event_max) * 1000, 2),
    }


async def _lean_connection(ws_url: str, n: int, on_message: Callable[[str, float], None]) -> None:
    """One graphql-transport-ws connection with ``n`` subscriptions, on websockets' sans-I/O protocol.

    The same protocol work as ``websockets.connect`` (framing, permessage-deflate, which it negotiates the same way),
    without its per-message queue, futures and task switches: the asyncio client costs about 30 µs per message on
    the load generator's core, which at 5,000 messages per event is more than the gateway's own fan-out, so its
    backlog, not the gateway, set the tail of the measured latency. Each message is timed when parsed, as before.
    """
    from websockets.client import ClientProtocol
    from websockets.extensions.permessage_deflate import enable_client_permessage_deflate
    from websockets.frames import Opcode
    from websockets.http11 import Response
    from websockets.typing import Subprotocol
    from websockets.uri import parse_uri

    loop = asyncio.get_running_loop()
    acked: asyncio.Future[None] = loop.create_future()
    closed: asyncio.Future[None] = loop.create_future()
    protocol = ClientProtocol(
        parse_uri(ws_url),
        subprotocols=[Subprotocol("graphql-transport-ws")],
        extensions=enable_client_permessage_deflate(None),
        max_size=None,
    )

    class Reader(asyncio.Protocol):
        transport: asyncio.Transport

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]
            protocol.send_request(protocol.connect())
            self.flush()

        def data_received(self, data: bytes) -> None:
            protocol.receive_data(data)
            for event in protocol.events_received():
                if isinstance(event, Response):
                    protocol.send_text(b'{"type":"connection_init","payload":{}}')
                elif event.opcode is Opcode.TEXT:
                    if acked.done():
                        on_message(event.data.decode(), time.perf_counter())
                    elif b"connection_ack" in event.data:
                        acked.set_result(None)
            self.flush()

        def flush(self) -> None:
            for data in protocol.data_to_send():
                if data:
                    self.transport.write(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if not closed.done():
                closed.set_result(None)

    host, port = ws_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    transport, reader = await loop.create_connection(Reader, host, int(port))
    try:
        await acked
        for i in range(n):
            protocol.send_text(f'{{"id":"{i}","type":"subscribe","payload":{SUBSCRIBE}}}'.encode())
        reader.flush()
        await closed
    finally:
        transport.close()


# ----------------------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 30 s in all)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of ingest measured")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--only", choices=("ingest", "broker", "graphql"), help="run one part, write no file")
    parser.add_argument("--events", type=int, help="events fanned out (default 10, 30 without --quick)")
    parser.add_argument(
        "--client",
        choices=("lean", "websockets"),
        default="lean",
        help="GraphQL fan-out client: websockets' sans-I/O protocol (default) or its asyncio client (slower)",
    )
    parser.add_argument("--profile", type=Path, help="with --only graphql: py-spy's collapsed stacks to FILE")
    parser.add_argument(
        "--ws-compression", action="store_true", help="serve with permessage-deflate (hookgate serve --ws-compression)"
    )
    args = parser.parse_args()
    if args.ws_compression:
        SERVE_OPTIONS.append("--ws-compression")
    if args.only is not None:
        run_one(args)
        return
    duration = 3.0 if args.quick else args.duration
    events = args.events or (10 if args.quick else 30)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})  # the load generator on CPU 0, the gateway on CPU 1

    results: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            # Other work on the machine skews every number here: this is the 1-minute load average at the start.
            "load_average_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        },
        "targets": {"ingest_durable_per_s": 2000, "fanout_subscribers": 5000, "fanout_p99_ms": 100},
    }
    with tempfile.TemporaryDirectory(prefix="hookgate-events-bench-") as tmp:
        workdir = Path(tmp)
        with _server(workdir) as url:
            print(f"ingest: {args.connections} connections, {duration:g} s ...", flush=True)
            results["ingest"] = asyncio.run(ingest(url, duration, args.connections))
            print(json.dumps(results["ingest"], indent=2), flush=True)
        print(f"broker fan-out: {args.subscribers} subscribers ...", flush=True)
        with _all_cpus():  # in process, no server to keep apart from: let the scheduler use both cores
            results["fanout_broker"] = run_broker_fanout(workdir, args.subscribers, events)
        print(json.dumps(results["fanout_broker"], indent=2), flush=True)
        with _fresh_server(workdir) as url:
            print(f"GraphQL fan-out: {args.subscribers} subscriptions over WebSockets ...", flush=True)
            results["fanout_graphql_ws"] = asyncio.run(
                graphql_fanout(url, args.subscribers, max(5, events // 3), args.client)
            )
            print(json.dumps(results["fanout_graphql_ws"], indent=2), flush=True)
    results["met"] = {
        "ingest": results["ingest"]["durable_deliveries_per_s"] >= 2000,
        "fanout_broker_p99": results["fanout_broker"]["p99_ms"] < 100,
        "fanout_graphql_ws_p99": results["fanout_graphql_ws"]["p99_ms"] < 100,
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def run_one(args: argparse.Namespace) -> None:
    """``--only``: one part of the benchmark, printed, no results file."""
    events = args.events or (10 if args.quick else 30)
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})
    with tempfile.TemporaryDirectory(prefix="hookgate-events-bench-") as tmp:
        workdir = Path(tmp)
        if args.only == "broker":
            with _all_cpus():
                result = run_broker_fanout(workdir, args.subscribers, events)
        elif args.only == "ingest":
            with _server(workdir) as url:
                result = asyncio.run(ingest(url, 3.0 if args.quick else args.duration, args.connections))
        else:
            with _server(workdir, profile=args.profile) as url:
                result = asyncio.run(graphql_fanout(url, args.subscribers, max(5, events // 3), args.client))
    print(json.dumps(result, indent=2), flush=True)


@contextlib.contextmanager
def _all_cpus() -> Iterator[None]:
    try:
        pinned = os.sched_getaffinity(0)
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    except (AttributeError, OSError):
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, pinned)


@contextlib.contextmanager
def _fresh_server(workdir: Path) -> Iterator[str]:
    fresh = workdir / "fanout"
    fresh.mkdir()
    with _server(fresh) as url:
        yield url


if __name__ == "__main__":
    main()
