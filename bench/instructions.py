"""CPU instructions per request, in process, counted by callgrind: the measure that holds on a shared machine.

Wall-clock timings move by tens of percent while other work runs on the machine; instruction counts repeat to within
about 1 %. This starts the sandbox on a thread (outside the measurement), seeds it, and runs a driver under
``valgrind --tool=callgrind`` for each configuration. The driver opens the gateway as ``hookgate serve`` would (each
source's HTTP answered from a recording of the sandbox's first answer, :class:`bench.inprocess.ReplayTransport`),
warms it up, and then runs the measured requests between two markers: ``os.getppid()`` zeroes callgrind's counters
(``--zero-before=getppid``) and ``os.getpgrp()`` dumps them (``--dump-before=getpgrp``), so neither start-up,
warm-up nor shutdown is counted.

Two drivers: ``execute`` (``await schema.execute(query)`` with a fresh context, as the view calls it) and ``asgi``
(the whole app: a POST through httpx's ``ASGITransport``, the view, the extensions, the encoding, the middleware;
the client side of httpx is counted too).

``python -m bench.instructions [--scenario dashboard_large] [--driver execute|asgi] [--stock] [--requests N]
[--query TEXT] [--keep DIR]`` (``--query`` counts another query over the scenario's data, e.g. ``{ webhooks(first:
200) { totalCount } }`` for what the resolvers cost without completing any field; ``--keep`` leaves the callgrind
files there, for ``callgrind_annotate``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.seed import LARGE, SeedSize

QUERIES = {
    "dashboard_large": "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } } } }",
    "dashboard": (
        "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } "
        "deliveryStatuses { event lastDelivery { success } } } } }"
    ),
}
SIZES = {"dashboard_large": LARGE, "dashboard": SeedSize()}
WARM_UP = 5


async def drive(sandbox_url: str, query: str, *, driver: str, fast: bool, requests: int) -> None:
    """Warm up, then run ``requests`` requests between the two markers."""
    from asgi_lifespan import LifespanManager

    from bench.inprocess import ReplayTransport
    from gateway.app import create_app, tune_gc_for_serving
    from gateway.config import Settings, sandbox_sources
    from gateway.context import Context
    from gateway.runtime import open_runtime
    from schema.schema import build_schema

    settings = Settings.model_validate(
        {"sources": sandbox_sources(sandbox_url), "store": "sqlite:///:memory:", "execution": {"fast": fast}}
    )
    transports = {name: ReplayTransport() for name in settings.sources}
    tune_gc_for_serving()
    if driver == "execute":
        async with open_runtime(settings, transports=transports) as runtime:
            schema = build_schema(settings)
            for _ in range(WARM_UP):
                result = await schema.execute(query, context_value=Context(runtime=runtime))
                assert not result.errors, result.errors
            os.getppid()  # callgrind: zero the counters
            for _ in range(requests):
                await schema.execute(query, context_value=Context(runtime=runtime))
            os.getpgrp()  # callgrind: dump them
        return
    app = create_app(settings, transports=transports)
    body = json.dumps({"query": query}).encode()
    headers = {"content-type": "application/json"}
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for _ in range(WARM_UP):
                response = await client.post("/graphql", content=body, headers=headers)
                assert response.status_code == 200, response.text[:300]
                assert b'"errors"' not in response.content, response.text[:300]
            os.getppid()
            for _ in range(requests):
                await client.post("/graphql", content=body, headers=headers)
            os.getpgrp()


def count(
    sandbox_url: str,
    scenario: str,
    *,
    driver: str,
    fast: bool,
    requests: int,
    keep: Path | None,
    query: str | None = None,
) -> int:
    """Instructions of ``requests`` measured requests, from callgrind's first dump."""
    out_dir = Path(tempfile.mkdtemp(prefix="hookgate-callgrind-")) if keep is None else keep
    out_dir.mkdir(parents=True, exist_ok=True)
    tag = f"{scenario}-{driver}-{'fast' if fast else 'stock'}"
    argv = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out_dir}/callgrind.{tag}.out",
        "--zero-before=getppid",
        "--dump-before=getpgrp",
        sys.executable,
        "-m",
        "bench.instructions",
        "--drive",
        sandbox_url,
        "--scenario",
        scenario,
        "--driver",
        driver,
        "--requests",
        str(requests),
        *([] if fast else ["--stock"]),
        *([] if query is None else ["--query", query]),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "HOOKGATE_LOG_LEVEL": "warning"}
    subprocess.run(argv, check=True, capture_output=True, env=env, cwd=Path(__file__).resolve().parent.parent)
    dump = out_dir / f"callgrind.{tag}.out.1"
    summary = next(line for line in dump.read_text().splitlines() if line.startswith("summary:"))
    if keep is None:
        shutil.rmtree(out_dir, ignore_errors=True)
    return int(summary.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=sorted(QUERIES), default="dashboard_large")
    parser.add_argument("--driver", choices=("execute", "asgi"), action="append")
    parser.add_argument("--stock", action="store_true", help="stock execution as well as fast")
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--keep", type=Path, help="keep the callgrind files in this directory")
    parser.add_argument("--query", help="count this query instead of the scenario's (over the scenario's data)")
    parser.add_argument("--drive", metavar="SANDBOX_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        driver = (args.driver or ["execute"])[0]
        asyncio.run(
            drive(
                args.drive,
                args.query or QUERIES[args.scenario],
                driver=driver,
                fast=not args.stock,
                requests=args.requests,
            )
        )
        return
    if shutil.which("valgrind") is None:
        sys.exit("bench.instructions: valgrind is not installed (Debian: apt-get install -y valgrind)")
    from bench.inprocess import start_sandbox

    server = start_sandbox(SIZES[args.scenario])
    results: dict[str, Any] = {"scenario": args.scenario, "requests": args.requests, "instructions_per_request": {}}
    if args.query:
        results["query"] = args.query
    try:
        for driver in args.driver or ["execute", "asgi"]:
            for fast in (True, False) if args.stock else (True,):
                total = count(
                    server.url,
                    args.scenario,
                    driver=driver,
                    fast=fast,
                    requests=args.requests,
                    keep=args.keep,
                    query=args.query,
                )
                name = f"{driver}-{'fast' if fast else 'stock'}"
                results["instructions_per_request"][name] = total // args.requests
                print(f"{name}: {total // args.requests:,} instructions per request", file=sys.stderr, flush=True)
    finally:
        server.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
