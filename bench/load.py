"""Load with one source down and one slowed: the gateway must answer everything (0 5xx), and the queries that do not
touch the slow source must stay fast.

``python -m bench.load [--duration 60] [--concurrency 16] [--seed 7] [--down dixa] [--slow auco] [--slow-ms 800]``

1. starts the sandbox (``hookgate sandbox``) and the gateway (``hookgate serve`` over the sandbox's five sources,
   one worker), each in its own process, on free loopback ports;
2. makes ``--down`` answer 503 to everything and ``--slow`` answer after ``--slow-ms`` (``/_control/faults``);
3. runs ``--concurrency`` clients for ``--duration`` seconds (and at most ``--max-requests``), each sending a mix of
   queries chosen by a seeded random generator: queries with no upstream call, queries of one source, queries
   across every source;
4. prints a report: requests, throughput, HTTP statuses, error codes, and latency percentiles per query and for the
   queries that do not touch the slow source; exits 1 if any answer was a 5xx.

Everything listens on 127.0.0.1 and only loopback targets are accepted. ``--gateway`` and ``--sandbox`` drive a
gateway and sandbox already running (on loopback) instead of starting them; the tests use :func:`run_load` that way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True)
class Query:
    """One query of the mix, the sources it calls, and its share of the traffic."""

    name: str
    text: str
    sources: frozenset[str]
    weight: int


ALL = frozenset({"uipath", "workflowgen", "druid", "dixa", "auco"})
MIX: tuple[Query, ...] = (
    Query("sources", "{ sources { name provider circuit } }", frozenset(), 2),
    Query(
        "uipath_webhooks",
        '{ webhooks(source: "uipath") { totalCount nodes { id url events } } }',
        frozenset({"uipath"}),
        3,
    ),
    Query("uipath_event_types", '{ eventTypes(source: "uipath") { name group } }', frozenset({"uipath"}), 2),
    Query(
        "workflow_request",
        '{ request(source: "workflowgen", number: 1) { number status actions { name status } } }',
        frozenset({"workflowgen"}),
        2,
    ),
    Query("dixa_webhooks", '{ webhooks(source: "dixa") { totalCount nodes { id name } } }', frozenset({"dixa"}), 2),
    Query("auco_webhooks", '{ webhooks(source: "auco") { totalCount nodes { id url } } }', frozenset({"auco"}), 2),
    Query(
        "dashboard",
        "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } deliveryStatuses { event } } } }",
        frozenset({"uipath", "dixa", "auco"}),
        2,
    ),
)


@dataclass
class Report:
    """What the clients saw."""

    duration_s: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)  # transport failures (no HTTP answer)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    def percentiles(self, names: list[str]) -> dict[str, float]:
        values = sorted(v for name in names for v in self.latencies.get(name, []))
        if not values:
            return {}
        return {f"p{p}": round(percentile(values, p) * 1000, 1) for p in (50, 90, 99)} | {
            "max": round(values[-1] * 1000, 1),
            "n": len(values),
        }

    def summary(self, slow: str | None) -> dict[str, Any]:
        fast = [q.name for q in MIX if slow not in q.sources]
        return {
            "duration_s": round(self.duration_s, 1),
            "requests": self.requests,
            "requests_per_s": round(self.requests / self.duration_s, 1) if self.duration_s else 0.0,
            "http_5xx": self.server_errors,
            "statuses": dict(sorted(self.statuses.items())),
            "error_codes": dict(self.codes.most_common()),
            "transport_failures": dict(self.failures),
            "latency_ms": {name: self.percentiles([name]) for name in self.latencies},
            "not_touching_slow_source_ms": self.percentiles(fast),
        }


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, round(p / 100 * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def require_loopback(url: str) -> str:
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"bench.load drives loopback targets only, not {host}")
    return url.rstrip("/")


def set_faults(sandbox_url: str, *, down: str | None, slow: str | None, slow_ms: int) -> None:
    httpx.delete(f"{sandbox_url}/_control/faults").raise_for_status()
    if down:
        httpx.post(f"{sandbox_url}/_control/faults", json={"target": down, "status": 503}).raise_for_status()
    if slow:
        httpx.post(f"{sandbox_url}/_control/faults", json={"target": slow, "latency_ms": slow_ms}).raise_for_status()


async def run_load(
    gateway_url: str,
    *,
    duration_s: float,
    concurrency: int,
    seed: int,
    max_requests: int = 1_000_000,
    headers: dict[str, str] | None = None,
) -> Report:
    """Drive ``gateway_url`` with the seeded mix; each client has its own generator, so a run repeats its choices."""
    url = require_loopback(gateway_url) + "/graphql"
    report = Report(duration_s=duration_s)
    weights = [q.weight for q in MIX]
    sent = 0
    deadline = time.monotonic() + duration_s

    async def client(index: int, http: httpx.AsyncClient) -> None:
        nonlocal sent
        rng = random.Random(seed * 1000 + index)
        while time.monotonic() < deadline and sent < max_requests:
            sent += 1
            query = rng.choices(MIX, weights)[0]
            started = time.perf_counter()
            try:
                response = await http.post(url, json={"query": query.text})
            except httpx.HTTPError as exc:
                report.failures[type(exc).__name__] += 1
                continue
            report.latencies.setdefault(query.name, []).append(time.perf_counter() - started)
            report.statuses[response.status_code] += 1
            with contextlib.suppress(ValueError):
                for error in response.json().get("errors") or []:
                    report.codes[(error.get("extensions") or {}).get("code", "?")] += 1

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers or {}) as http:
        await asyncio.gather(*(client(i, http) for i in range(concurrency)))
    report.duration_s = time.monotonic() - started
    return report


# -- running the gateway and the sandbox ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited at start")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout_s} s")


def gateway_toml(sandbox_url: str, store: Path) -> str:
    from gateway.config import sandbox_sources

    lines = [f'store = "sqlite:///{store}"', ""]
    for name, source in sandbox_sources(sandbox_url).items():
        lines.append(f"[sources.{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in source.items())
        lines.append("")
    return "\n".join(lines)


@contextlib.contextmanager
def servers(workdir: Path) -> Iterator[tuple[str, str]]:
    """``hookgate sandbox`` and ``hookgate serve`` in processes of their own: yields (gateway URL, sandbox URL)."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        sandbox_port, gateway_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "gateway", "sandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "sandbox.log").open("wb"),
        )
        processes.append(sandbox)
        wait_ready(f"{sandbox_url}/_control/calls", sandbox)
        config = workdir / "hookgate.toml"
        config.write_text(gateway_toml(sandbox_url, workdir / "hookgate.db"))
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        argv = [sys.executable, "-m", "gateway", "serve", "--config", str(config)]
        gateway = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(gateway_port)],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "gateway.log").open("wb"),
        )
        processes.append(gateway)
        wait_ready(f"{gateway_url}/healthz", gateway)
        yield gateway_url, sandbox_url
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients sending at once (default 16)")
    parser.add_argument("--max-requests", type=int, default=1_000_000, help="stop after this many requests")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--down", default="dixa", help="source that answers 503 to everything (default dixa)")
    parser.add_argument("--slow", default="auco", help="source that answers late (default auco)")
    parser.add_argument("--slow-ms", type=int, default=800, help="how late, in ms (default 800)")
    parser.add_argument("--gateway", help="a running gateway's URL (loopback) instead of starting one")
    parser.add_argument("--sandbox", help="the running sandbox's URL (loopback), with --gateway")
    args = parser.parse_args(argv)
    if bool(args.gateway) != bool(args.sandbox):
        parser.error("--gateway and --sandbox go together")

    with tempfile.TemporaryDirectory(prefix="hookgate-load-") as tmp:
        context = (
            contextlib.nullcontext((require_loopback(args.gateway), require_loopback(args.sandbox)))
            if args.gateway
            else servers(Path(tmp))
        )
        with context as (gateway_url, sandbox_url):
            set_faults(sandbox_url, down=args.down, slow=args.slow, slow_ms=args.slow_ms)
            try:
                report = asyncio.run(
                    run_load(
                        gateway_url,
                        duration_s=args.duration,
                        concurrency=args.concurrency,
                        seed=args.seed,
                        max_requests=args.max_requests,
                    )
                )
            finally:
                set_faults(sandbox_url, down=None, slow=None, slow_ms=0)
    summary = {"down": args.down, "slow": args.slow, "slow_ms": args.slow_ms, **report.summary(args.slow)}
    print(json.dumps(summary, indent=2))
    return 1 if report.server_errors or not report.requests else 0


if __name__ == "__main__":
    sys.exit(main())
