"""A hung backend (``hang: true``: it accepts the request and never answers) costs its own fields, nothing more.

A hung request keeps its task asleep in the sandbox for an hour, so this module runs a sandbox of its own and stops
it without waiting for those tasks; the session's sandbox is left alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.app import create_sandbox_app
from sandbox.control import Control
from tests.support.answers import codes, error_for
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox, sources
from tests.support.servers import Server


@pytest.fixture(scope="module")
def sandbox_server() -> Iterator[Sandbox]:
    """Overrides the session's sandbox for this module (the ``sandbox`` fixture resets it per test as usual)."""
    control = Control()
    server = Server(create_sandbox_app(control)).start()
    yield Sandbox(url=server.url, control=control)
    # uvicorn would otherwise wait for the hung requests' tasks (an hour each) before it stops.
    server._server.force_exit = True
    server.stop()


def test_a_hung_source_times_out_within_its_timeout_and_the_rest_is_answered(
    gateway_factory: Any, sandbox: Sandbox
) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"timeout_s": 0.5}))
    sandbox.fault("uipath", hang=True)

    started = time.monotonic()
    response = gateway.post("{ webhooks { nodes { source } } }")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    body = response.json()
    assert {n["source"] for n in body["data"]["webhooks"]["nodes"]} == {"dixa", "auco"}
    assert error_for(body, "uipath")["extensions"] == {
        "code": "UPSTREAM_TIMEOUT",
        "source": "uipath",
        "provider": "UIPATH",
    }
    assert error_for(body, "uipath")["path"] == ["webhooks"]
    # The source hangs for an hour: any answer within a few seconds is the timeout's doing (bound kept loose for a
    # loaded machine).
    assert 0.5 <= elapsed < 5, f"answered after {elapsed:.2f} s with timeout_s = 0.5"


def test_a_hung_source_is_not_retried_past_its_deadline(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"timeout_s": 0.4, "retries": 5}))
    sandbox.fault("uipath", hang=True)

    body = gateway.post('{ webhooks(source: "uipath") { totalCount } }').json()

    assert codes(body) == ["UPSTREAM_TIMEOUT"]
    assert sandbox.calls()["uipath"] == {"GET /odata/Webhooks": 1}, "timeout_s bounds the call, retries included"


async def test_a_hung_source_holds_at_most_its_own_concurrency(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(
        sources=sources(sandbox.url, uipath={"timeout_s": 3, "max_concurrency": 2, "breaker_failures": 1000})
    )
    sandbox.fault("uipath", hang=True)

    async def query(client: httpx.AsyncClient, source: str) -> tuple[float, dict[str, Any], float]:
        """(time taken, answer, when it ended)."""
        started = time.monotonic()
        response = await client.post(
            gateway.graphql_url, json={"query": f'{{ webhooks(source: "{source}") {{ totalCount }} }}'}
        )
        ended = time.monotonic()
        return ended - started, response.json(), ended

    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=100)) as client:
        stuck = [asyncio.create_task(query(client, "uipath")) for _ in range(12)]
        await asyncio.sleep(0.2)  # every uipath query is now in flight: 2 upstream, 10 waiting for a slot
        others = await asyncio.gather(*(query(client, s) for s in ("dixa", "auco", "dixa", "auco") * 3))
        in_flight = sandbox.calls()["uipath"].get("GET /odata/Webhooks", 0)
        hung = await asyncio.gather(*stuck)

    assert all(codes(body) == [] for _, body, _ in others)
    # Compared with each other, not with a clock, so that a stalled machine delays both sides alike: every other
    # source answered before the first uipath query timed out (3 s), so none waited for uipath's slots.
    assert max(ended for *_, ended in others) < min(ended for *_, ended in hung)
    assert in_flight == 2, "the hung source holds no more than max_concurrency upstream calls"
    assert all(codes(body) == ["UPSTREAM_TIMEOUT"] for _, body, _ in hung)
    # Were the wait for a slot not counted, the queries that waited would answer after 3 + 3 = 6 s, twice the first.
    waits = [elapsed for elapsed, *_ in hung]
    assert max(waits) < 1.6 * min(waits), "waiting for a slot counts against timeout_s too"
