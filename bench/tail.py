"""Where a slow request's time went: the gateway and the pass-through at 20 ms backends, one request at a time.

``python -m bench.tail [--requests N] [--latency-ms MS] [--slowest K] [--json PATH] [--census] [--profile DIR]``

Starts the sandbox and the pass-through as ``make bench`` does (bench/run.py: same seed, same pinning), and the
gateway as ``hookgate serve`` runs it (same app, same uvicorn protocols, uvloop, ``tune_gc_for_serving``) but with
a probe around it, then sends ``nodes50`` and the dashboard N times each to the gateway and to the pass-through, one
request at a time, alternating the two so that a burst of the shared machine hits both. The probe records, per
request and inside the gateway's process:

- the request's wall time, and the process's CPU time meanwhile (wall minus upstream waits minus CPU is time the
  process was runnable and not running: the machine, not us);
- every upstream call (source, path, start and end from the request's start), and from them the sequential
  upstream rounds (a call that starts after another ended is one round later);
- every garbage collection (generation, pause, objects examined, objects freed), in a request or between requests,
  and after each scenario what a full collection costs (``--census``: which types the cyclic garbage is made of);
- with ``--profile DIR``, cProfile of the gateway process over each scenario's requests (``DIR/<scenario>.prof``,
  its largest own times printed);
- every new upstream connection (aiohttp's connection trace), so that a connection not reused shows.

It prints the latency of both sides, what the gateway's requests were made of (counts first: collections, rounds,
connections, which do not depend on the machine's noise), and the slowest gateway requests taken apart.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ROOT = Path(__file__).resolve().parent.parent
#: The probe's own route on the instrumented gateway: GET answers the records so far and forgets them.
PROBE_PATH = "/_tail"


# -- the instrumented gateway (its own process) ----------------------------------------------------------------------


@dataclass
class Probe:
    """What the gateway process did for each request. One request at a time is what this measures, so the request
    under way is one attribute, which the GC callback and the transports (outside the request's context) read."""

    current: dict[str, Any] | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    between: list[list[float]] = field(default_factory=list)  # collections outside any request
    _gc_started: float = 0.0
    _gc_young: int = 0
    profiler: cProfile.Profile | None = None

    def watch_gc(self) -> None:
        gc.callbacks.append(self._on_gc)

    def begin(self, request_id: str = "") -> dict[str, Any]:
        """The record of the request starting now (the one under way from now on)."""
        self.current = {"id": request_id, "gc": [], "upstream": [], "connections": 0, "t0": time.perf_counter()}
        return self.current

    def end(self) -> dict[str, Any]:
        record = self.current
        assert record is not None
        record["wall_ms"] = self.since_start()
        del record["t0"]
        self.current = None
        self.records.append(record)
        return record

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            self._gc_young = sum(len(gc.get_objects(g)) for g in range(info["generation"] + 1))
            self._gc_started = time.perf_counter()
            return
        entry = [info["generation"], round((now - self._gc_started) * 1000, 3), self._gc_young, info["collected"]]
        (self.current["gc"] if self.current is not None else self.between).append(entry)

    def heap(self) -> dict[str, Any]:
        """What a full collection costs now, and (``--census``: the collector keeps what it finds) the types of the
        cyclic garbage found since the last look."""
        self.current = {"gc": [], "t0": time.perf_counter()}
        objects = len(gc.get_objects())
        gc.collect()
        full = self.current["gc"][-1] if self.current["gc"] else None
        self.current = None
        garbage = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
        gc.garbage.clear()
        return {"objects": objects, "full_collection": full, "census": dict(garbage.most_common(30))}

    def since_start(self) -> float:
        assert self.current is not None
        started: float = self.current["t0"]
        return round((time.perf_counter() - started) * 1000, 3)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def probed(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            if scope["path"] == PROBE_PATH:
                query = scope["query_string"].decode()
                if query.startswith("profile=") and self.profiler is not None:  # an empty path: start again
                    self.profiler.disable()
                    if query.removeprefix("profile="):
                        self.profiler.dump_stats(query.removeprefix("profile="))
                    self.profiler = cProfile.Profile()
                    self.profiler.enable()
                body = orjson.dumps({"records": self.records, "between": self.between, **self.heap()})
                self.records, self.between = [], []
                await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"json")]})
                await send({"type": "http.response.body", "body": body})
                return
            record = self.begin(dict(scope["headers"]).get(b"x-request-id", b"").decode())
            cpu0 = time.process_time()

            async def timed_send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    record["first_byte_ms"] = self.since_start()
                await send(message)

            try:
                await app(scope, receive, timed_send)
            finally:
                record["cpu_ms"] = round((time.process_time() - cpu0) * 1000, 3)
                self.end()

        return probed


class TimedTransport(httpx.AsyncBaseTransport):
    """The source's own transport (``build_transport``), with each call's start and end noted in the probe and
    aiohttp's connection trace counting new connections."""

    def __init__(self, inner: httpx.AsyncBaseTransport, probe: Probe, source: str) -> None:
        self.inner = inner
        self.probe = probe
        self.source = source
        self.trace = aiohttp.TraceConfig()
        self.trace.on_connection_create_end.append(self._new_connection)
        self.trace.freeze()

    async def _new_connection(self, *_: Any) -> None:
        if self.probe.current is not None:
            self.probe.current["connections"] += 1

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        from httpx_aiohttp import AiohttpTransport

        inner = self.inner
        if isinstance(inner, AiohttpTransport) and not isinstance(inner.client, aiohttp.ClientSession):
            inner.client = inner.get_client()  # the session it would make itself, traced
            inner.client.trace_configs.append(self.trace)
        current = self.probe.current
        start = self.probe.since_start() if current is not None else 0.0
        response = await inner.handle_async_request(request)
        if current is not None and current is self.probe.current:
            current["upstream"].append([self.source, request.url.path, start, self.probe.since_start()])
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def serve(config: str, port: int, *, census: bool, profile: bool) -> None:
    """The gateway as ``hookgate serve --workers 1`` builds and runs it, with the probe around it."""
    from gateway.app import create_app, tune_gc_for_serving
    from gateway.cli import configure_logging_from_env
    from gateway.config import load_settings
    from gateway.providers.http import build_transport
    from gateway.server import ServerConfig
    from gateway.server import serve as serve_gateway

    configure_logging_from_env()
    settings = load_settings(config)
    probe = Probe()
    probe.watch_gc()
    transports = {name: TimedTransport(build_transport(cfg), probe, name) for name, cfg in settings.sources.items()}
    app = create_app(settings, transports=transports)
    tune_gc_for_serving()
    if profile:
        probe.profiler = cProfile.Profile()
        probe.profiler.enable()
    if census:
        gc.set_debug(gc.DEBUG_SAVEALL)  # what the collector finds is kept in gc.garbage, for Probe.heap to count
    serve_gateway(
        ServerConfig(
            probe.wrap(app),
            limits=settings.limits,
            host="127.0.0.1",
            port=port,
            loop="uvloop",
            log_config=None,
            log_level="warning",
            access_log=False,
        )
    )


# -- reading the records ---------------------------------------------------------------------------------------------


def call_rounds(calls: list[list[Any]]) -> list[int]:
    """Each call's upstream round (``calls`` in the order they started): a call that starts after another has ended
    is at least one round after it."""
    depth: list[int] = []
    for i, (_, _, start, _) in enumerate(calls):
        before = [depth[j] for j, other in enumerate(calls[:i]) if other[3] <= start]
        depth.append(1 + max(before, default=0))
    return depth


def rounds(calls: list[list[Any]]) -> int:
    """Sequential upstream rounds of one request."""
    return max(call_rounds(calls), default=0)


def upstream_ms(calls: list[list[Any]]) -> float:
    """Wall time with at least one upstream call under way (the union of their spans)."""
    total, reach = 0.0, 0.0
    for _, _, start, end in sorted(calls, key=lambda c: c[2]):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def phases(record: dict[str, Any]) -> tuple[float, float, float]:
    """The gateway's own time around the upstream calls: before the first one starts, between the end of a round
    and the start of the next (what the next round waited for), after the last one ends."""
    calls = sorted(record["upstream"], key=lambda c: c[2])
    if not calls:
        return record["wall_ms"], 0.0, 0.0
    depth = call_rounds(calls)
    between = 0.0
    for k in range(2, max(depth) + 1):
        start = min(c[2] for c, d in zip(calls, depth, strict=True) if d == k)
        between += start - max(c[3] for c, d in zip(calls, depth, strict=True) if d < k and c[3] <= start)
    return calls[0][2], between, record["wall_ms"] - max(c[3] for c in calls)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def describe(record: dict[str, Any], client_ms: float) -> str:
    calls = sorted(record["upstream"], key=lambda c: c[2])
    waited = upstream_ms(calls)
    own = record["wall_ms"] - waited
    pauses = ", ".join(f"gen{g} {ms:.2f} ms ({n} objects, {c} freed)" for g, ms, n, c in record["gc"]) or "none"
    spans = " ".join(f"{src}{path.rsplit('/', 1)[-1][:18]}@{s:.1f}-{e:.1f}" for src, path, s, e in calls)
    return (
        f"client {client_ms:6.2f} ms | gateway {record['wall_ms']:6.2f} (upstream {waited:5.2f}, own {own:5.2f}, "
        f"cpu {record['cpu_ms']:5.2f}, not running {max(own - record['cpu_ms'], 0):5.2f}) | rounds "
        f"{rounds(calls)} | new connections {record['connections']} | gc: {pauses}\n      upstream: {spans}"
    )


# -- the run ---------------------------------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from bench.run import DASHBOARD as DASHBOARD_QUERY
    from bench.run import NODES, Bench, Call, graphql_call, warm_up
    from bench.seed import uipath_ids
    from schema.ids import encode_id

    bench = Bench(quick=True, hive=False, duration_s=0, rounds=1, connections=1)
    try:
        bench.start_sandbox()
        gateway = bench.start_gateway(
            "gateway_tail",
            cache=False,
            argv=[
                *(sys.executable, "-m", "bench.tail", "--serve"),
                *(["--census"] if args.census else []),
                *(["--profile", str(args.profile)] if args.profile else []),
            ],
        )
        passthrough = bench.start_passthrough()
        assert bench.sandbox is not None
        ids = uipath_ids(bench.sandbox.url)[:50]
        json_header = (("Content-Type", "application/json"),)
        calls: dict[str, dict[str, Call]] = {
            "nodes50": {
                "gateway": graphql_call(
                    gateway.url + "/graphql", NODES, {"ids": [encode_id("Webhook", "uipath", i) for i in ids]}
                ),
                "passthrough": Call("POST", passthrough.url + "/nodes", json.dumps({"ids": ids}).encode(), json_header),
            },
            "dashboard": {
                "gateway": graphql_call(gateway.url + "/graphql", DASHBOARD_QUERY),
                "passthrough": Call("POST", passthrough.url + "/dashboard", b"{}", json_header),
            },
        }
        bench.latency(args.latency_ms)
        if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
            os.sched_setaffinity(0, {0})  # the client where wrk runs in the bench, away from the servers' CPU
        out: dict[str, Any] = {"latency_ms": args.latency_ms, "requests": args.requests, "scenarios": {}}
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            out["profile"] = str(args.profile)
        for scenario, pair in calls.items():
            for call in pair.values():
                warm_up(call, 30)
            httpx.get(gateway.url + PROBE_PATH + ("?profile=" if args.profile else ""))  # forget the warm-up
            clients = {target: httpx.Client(timeout=30) for target in pair}
            latencies: dict[str, list[float]] = {target: [] for target in pair}
            by_id: dict[str, float] = {}
            gc.disable()  # the client's own collections would be counted against whichever side they hit
            try:
                for n in range(args.requests):
                    for target in pair if n % 2 == 0 else reversed(list(pair)):
                        call, rid = pair[target], f"{scenario}-{n}"
                        started = time.perf_counter()
                        response = clients[target].request(
                            call.method,
                            call.url,
                            content=call.body,
                            headers={**dict(call.headers), "x-request-id": rid},
                        )
                        elapsed = (time.perf_counter() - started) * 1000
                        response.raise_for_status()
                        latencies[target].append(elapsed)
                        if target == "gateway":
                            by_id[rid] = elapsed
            finally:
                gc.enable()
                for client in clients.values():
                    client.close()
            where = f"?profile={(args.profile / scenario).with_suffix('.prof').resolve()}" if args.profile else ""
            probed = httpx.get(gateway.url + PROBE_PATH + where, timeout=30).json()
            out["scenarios"][scenario] = {"client_ms": latencies, "gateway": probed, "client_by_id": by_id}
        return out
    finally:
        bench.stop()


def top(path: Path, requests: int, lines: int = 12) -> None:
    """The largest own times of a profile, per request (the event loop's wait for I/O left out)."""
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    rows = sorted(
        ((tt, name) for name, (_, _, tt, _, _) in stats.items() if "poll" not in name[2]),
        reverse=True,
    )
    total = sum(tt for tt, _ in rows)
    print(f"  profile: {total * 1000 / requests:.2f} ms of own time per request; largest:")
    for tt, (file, line, function) in rows[:lines]:
        where = file.split("site-packages/")[-1]
        if where.startswith(str(ROOT)):
            where = where[len(str(ROOT)) + 1 :]
        print(f"    {tt * 1000 / requests:6.3f} ms  {function} ({where}:{line})")


def report(out: dict[str, Any], slowest: int) -> None:
    print(f"{out['requests']} requests per side and scenario, {out['latency_ms']} ms per backend call, one at a time")
    for scenario, found in out["scenarios"].items():
        lat = found["client_ms"]
        records = found["gateway"]["records"]
        print(f"\n== {scenario}")
        for target, values in lat.items():
            print(
                f"  {target:12s} p50 {pct(values, 50):6.2f}  p90 {pct(values, 90):6.2f}  p99 {pct(values, 99):6.2f}  "
                f"max {max(values):6.2f} ms"
            )
        g, p = lat["gateway"], lat["passthrough"]
        print(f"  gateway / pass-through: p50 {pct(g, 50) / pct(p, 50):.3f} x, p99 {pct(g, 99) / pct(p, 99):.3f} x")
        collections = Counter(entry[0] for r in records for entry in r["gc"])
        pauses = [entry[1] for r in records for entry in r["gc"]]
        between = found["gateway"]["between"]
        n = max(len(records), 1)
        per_round = Counter(rounds(r["upstream"]) for r in records)
        per_calls = Counter(len(r["upstream"]) for r in records)
        print(
            f"  gateway, per request: collections {dict(sorted(collections.items()))} in {len(records)} requests "
            f"({sum(collections.values()) / n:.2f} each; gen2 {collections.get(2, 0)}), pauses total "
            f"{sum(pauses):.1f} ms, longest {max(pauses, default=0):.2f} ms; between requests "
            f"{len(between)} collections ({sum(entry[1] for entry in between):.1f} ms)"
        )
        print(
            f"  upstream rounds {dict(sorted(per_round.items()))}, upstream calls {dict(sorted(per_calls.items()))}, "
            f"new upstream connections {sum(r['connections'] for r in records)}"
        )
        own = [r["wall_ms"] - upstream_ms(r["upstream"]) for r in records]
        cpu = [r["cpu_ms"] for r in records]
        idle = [max(o - c, 0.0) for o, c in zip(own, cpu, strict=True)]
        print(
            f"  own time (wall minus upstream) p50 {pct(own, 50):.2f} p99 {pct(own, 99):.2f} ms; cpu p50 "
            f"{pct(cpu, 50):.2f} p99 {pct(cpu, 99):.2f}; not running p50 {pct(idle, 50):.2f} p99 {pct(idle, 99):.2f}"
        )
        split = [phases(r) for r in records]
        print(
            "  gateway's own time around the upstream calls, p50 / p99 ms: before the first "
            f"{pct([x[0] for x in split], 50):.2f} / {pct([x[0] for x in split], 99):.2f}, between rounds "
            f"{pct([x[1] for x in split], 50):.2f} / {pct([x[1] for x in split], 99):.2f}, after the last "
            f"{pct([x[2] for x in split], 50):.2f} / {pct([x[2] for x in split], 99):.2f}"
        )
        heap, full = found["gateway"], found["gateway"]["full_collection"]
        if full is not None:
            print(f"  then a full collection: {heap['objects']} objects tracked (not frozen), {full[1]:.1f} ms")
        for name, count in heap["census"].items():
            print(f"    cyclic garbage per request: {count / n:7.1f} {name}")
        if out.get("profile"):
            top(Path(out["profile"]) / f"{scenario}.prof", n)
        by_id = found["client_by_id"]
        print(f"  slowest {slowest} gateway requests:")
        for record in sorted(records, key=lambda r: by_id.get(r["id"], 0.0), reverse=True)[:slowest]:
            print(f"    {record['id']:14s} " + describe(record, by_id.get(record["id"], 0.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=400, help="requests per side and scenario")
    parser.add_argument("--latency-ms", type=int, default=20, help="latency of every backend call")
    parser.add_argument("--slowest", type=int, default=5, help="gateway requests to take apart")
    parser.add_argument("--json", type=Path, help="also write every record here")
    parser.add_argument("--census", action="store_true", help="count the cyclic garbage's types (slows the gateway)")
    parser.add_argument("--profile", type=Path, help="cProfile the gateway per scenario into this directory")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the instrumented gateway
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.config, args.port, census=args.census, profile=args.profile is not None)
        return
    out = measure(args)
    if args.json:
        args.json.write_text(json.dumps(out) + "\n")
    report(out, args.slowest)


if __name__ == "__main__":
    main()
