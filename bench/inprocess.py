"""In-process execution cost: ``await schema.execute(query)`` over recorded backend answers, no network.

The sandbox is started once on a thread and seeded; each source's first answer to a given request is recorded, and
every later request is answered from the recording by an ``httpx`` transport. What is timed is therefore the gateway's
own work for a request: parsing (cached), validation (cached), execution, resolvers, loaders, adapters' parsing of
the upstream JSON. The result is reported per *completed field*: every value in the answer's tree (an object's
field, a list's item), which is the unit graphql-core completes one at a time.

``python -m bench.inprocess [--profile [--plain] [--large] [--query TEXT] [--out FILE]] [--stock] [--iterations N]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from bench.seed import LARGE, SeedSize, seed
from gateway.app import tune_gc_for_serving
from gateway.config import Settings, sandbox_sources
from gateway.context import Context
from gateway.runtime import Runtime, open_runtime
from sandbox.app import create_sandbox_app
from sandbox.server import ThreadedServer
from schema.schema import build_schema

DASHBOARD = (
    "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } "
    "deliveryStatuses { event lastDelivery { success } } } } }"
)
#: PERFORMANCE.md's measurement: the same without delivery statuses.
DASHBOARD_PLAIN = "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } } } }"


class ReplayTransport(httpx.AsyncBaseTransport):
    """Answers each (method, URL, body) from memory after fetching it once from the real sandbox."""

    def __init__(self) -> None:
        self._recorded: dict[tuple[str, str, bytes], tuple[int, list[tuple[bytes, bytes]], bytes]] = {}
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        key = (request.method, str(request.url), body)
        recorded = self._recorded.get(key)
        if recorded is None:
            response = await self._real.handle_async_request(request)
            content = await response.aread()
            headers = [(k, v) for k, v in response.headers.raw if k.lower() not in (b"content-length",)]
            recorded = self._recorded[key] = (response.status_code, headers, content)
        status, headers, content = recorded
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        await self._real.aclose()


def count_fields(value: Any) -> int:
    """Completed values below the root: each field of an object and each item of a list."""
    if isinstance(value, dict):
        return sum(1 + count_fields(v) for v in value.values())
    if isinstance(value, list):
        return sum(1 + count_fields(v) for v in value)
    return 0


@asynccontextmanager
async def replayed_services(sandbox_url: str) -> AsyncIterator[Runtime]:
    """A runtime as ``hookgate serve`` opens one, each source's HTTP answered by a :class:`ReplayTransport`."""
    settings = Settings.model_validate({"sources": sandbox_sources(sandbox_url), "store": "sqlite:///:memory:"})
    transports = {name: ReplayTransport() for name in settings.sources}
    async with open_runtime(settings, transports=transports) as runtime:
        yield runtime


async def time_query(
    services: Runtime, query: str, *, fast: bool, iterations: int, profile: Callable[[], Any] | None = None
) -> dict[str, Any]:
    """Median wall time of ``schema.execute(query)`` (after warm-up), and the fields it completed."""
    schema = build_schema(services.settings, fast_execution=fast)

    async def once() -> Any:
        result = await schema.execute(query, context_value=Context(runtime=services))
        if result.errors:
            raise RuntimeError(f"the query failed: {result.errors}")
        return result.data

    data = None
    for _ in range(20):  # warm-up: recordings, the catalogue cache, parser and validation caches, plans
        data = await once()
    fields = count_fields(data)
    samples = []
    runner: Callable[[], Awaitable[Any]] = once
    for _ in range(iterations):
        start = time.perf_counter()
        await runner()
        samples.append(time.perf_counter() - start)
    median = statistics.median(samples)
    return {
        "fast": fast,
        "fields": fields,
        "median_ms": round(median * 1000, 3),
        "p10_ms": round(sorted(samples)[len(samples) // 10] * 1000, 3),
        "us_per_field": round(median * 1e6 / fields, 3),
    }


def start_sandbox(size: SeedSize | None = None) -> ThreadedServer:
    server = ThreadedServer(create_sandbox_app()).start()
    seed(server.url, size or SeedSize())
    # One page holds every webhook: the list is one upstream call (Orchestrator's own page size is configurable too).
    httpx.post(f"{server.url}/_control/options", json={"uipath.page_size": 1000}).raise_for_status()
    return server


#: The same list with nothing completed per webhook: what the resolvers, loaders and adapters cost on their own.
RESOLVERS_ONLY = "{ webhooks(first: 200) { totalCount } }"


async def measure(iterations: int = 200) -> dict[str, Any]:
    """Stock and fast figures for the dashboard queries, and what is left for execution once the resolvers' own cost
    (the same list with nothing completed per webhook) is taken out."""
    queries = {"dashboard": DASHBOARD, "dashboard_plain": DASHBOARD_PLAIN, "resolvers_only": RESOLVERS_ONLY}
    server = start_sandbox()
    tune_gc_for_serving()  # as `hookgate serve` runs
    try:
        async with replayed_services(server.url) as services:
            out: dict[str, Any] = {}
            for name, query in queries.items():
                out[name] = {
                    "stock": await time_query(services, query, fast=False, iterations=iterations),
                    "fast": await time_query(services, query, fast=True, iterations=iterations),
                }
    finally:
        server.stop()
    base = out["resolvers_only"]
    for name in ("dashboard", "dashboard_plain"):
        for mode in ("stock", "fast"):
            figures = out[name][mode]
            completed = figures["fields"] - base[mode]["fields"]
            execution_ms = figures["median_ms"] - base[mode]["median_ms"]
            figures["execution_only_us_per_field"] = round(execution_ms * 1000 / completed, 3)
    return out


async def _profile(query: str, fast: bool, iterations: int, size: SeedSize | None, out: str | None) -> None:
    """cProfile (the standard library's: exact call counts) over ``iterations`` warm requests."""
    import cProfile
    import pstats

    server = start_sandbox(size)
    tune_gc_for_serving()  # as `hookgate serve` runs (else collections land in whichever function allocates)
    try:
        async with replayed_services(server.url) as services:
            schema = build_schema(services.settings, fast_execution=fast)
            for _ in range(20):
                await schema.execute(query, context_value=Context(runtime=services))
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(iterations):
                await schema.execute(query, context_value=Context(runtime=services))
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(40)
            if out:
                stats.dump_stats(out)  # for pstats or snakeviz
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="profile with cProfile instead of timing")
    parser.add_argument("--stock", action="store_true", help="with --profile: stock execution")
    parser.add_argument("--plain", action="store_true", help="the dashboard without delivery statuses")
    parser.add_argument("--large", action="store_true", help="with --profile: the dashboard_large data set")
    parser.add_argument("--query", help="with --profile: this query instead of the dashboard")
    parser.add_argument("--out", help="with --profile: also write the pstats file here")
    parser.add_argument("--json", action="store_true", help="print only the JSON figures (the default output)")
    args = parser.parse_args()
    if args.profile:
        query = args.query or (DASHBOARD_PLAIN if args.plain else DASHBOARD)
        size = LARGE if args.large else None
        asyncio.run(_profile(query, not args.stock, args.iterations, size, args.out))
        return
    import json

    print(json.dumps(asyncio.run(measure(args.iterations)), indent=2))


if __name__ == "__main__":
    main()
