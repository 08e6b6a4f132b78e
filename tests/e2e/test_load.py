"""A short, seeded run of ``bench/load.py``'s mix: one source down, one slowed, and still no 5xx.

The full run (60 s, gateway and sandbox in processes of their own) is ``python -m bench.load``; this one drives a
gateway on a thread for a few seconds, so its latencies include the load generator's share of the same process.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bench.load import MIX, run_load, set_faults
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

SLOW_MS = 700


def test_one_source_down_and_one_slow_make_no_server_error(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory()
    set_faults(sandbox.url, down="dixa", slow="auco", slow_ms=SLOW_MS)

    report = asyncio.run(run_load(gateway.url, duration_s=4, concurrency=8, seed=7, max_requests=2000))

    summary = report.summary("auco")
    assert report.requests >= 50, summary
    assert report.server_errors == 0, summary
    assert not report.failures, summary
    assert set(report.statuses) == {200}, summary
    # UPSTREAM_TIMEOUT: the slowed source may overrun its timeout when the machine is loaded.
    assert set(report.codes) <= {"UPSTREAM_ERROR", "CIRCUIT_OPEN", "UPSTREAM_TIMEOUT"}, summary
    assert "CIRCUIT_OPEN" in report.codes, "the down source's circuit opened and answered at once"
    assert {q.name for q in MIX} <= set(report.latencies), "every query of the mix ran"
    # The queries that do not touch the slow source never wait for it. Medians, compared with each other: on a
    # loaded machine every latency grows, but the slow source's queries keep their SLOW_MS on top.
    touching = report.percentiles([q.name for q in MIX if "auco" in q.sources])
    unaffected = summary["not_touching_slow_source_ms"]
    assert touching["p50"] >= SLOW_MS, summary
    assert unaffected["p50"] < touching["p50"] / 2, summary
