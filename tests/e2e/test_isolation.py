"""One failing backend never breaks the answer: faults injected through the sandbox's ``/_control/faults``.

Each test starts a gateway over the session's sandbox with per-source settings (short timeouts, few retries) and
injects the fault on one simulator: down (503 every time, or nothing listening), 429 with ``Retry-After``, flaky
(503 half the time) or slow. Hung backends, whose requests never end, are in ``test_hung_source.py``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from tests.support.answers import codes, error_for, errors
from tests.support.clock import breaker_on_clock
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox, sources
from tests.support.servers import closed_url

WEBHOOKS = "{ webhooks { nodes { source url } } }"
UIPATH_WEBHOOKS = '{ webhooks(source: "uipath") { nodes { providerId } } }'
CREATE_UIPATH_WEBHOOK = """
mutation {
  createWebhook(input: {source: "uipath", url: "https://example.com/hook", subscribeToAllEvents: true}) {
    webhook { id }
  }
}
"""


def answered_sources(body: dict[str, Any]) -> set[str]:
    return {node["source"] for node in body["data"]["webhooks"]["nodes"]}


def webhook_gets(sandbox: Sandbox) -> int:
    return sandbox.calls()["uipath"].get("GET /odata/Webhooks", 0)


def test_every_failing_source_is_one_error_and_the_rest_is_answered(gateway_factory: Any, sandbox: Sandbox) -> None:
    closed = closed_url()  # nothing listens here: connection refused
    gateway: Gateway = gateway_factory(
        sources=sources(sandbox.url, every={"retries": 0}, auco={"base_url": f"{closed}/auco/v1.5/ext"})
    )
    sandbox.fault("dixa", status=503, rate=1)

    response = gateway.post(WEBHOOKS)

    assert response.status_code == 200
    body = response.json()
    assert answered_sources(body) == {"uipath"}
    assert len(errors(body)) == 2, "one error per failing source, not one per item"
    dixa = error_for(body, "dixa")
    assert dixa["path"] == ["webhooks"]
    assert dixa["extensions"] == {"code": "UPSTREAM_ERROR", "source": "dixa", "provider": "DIXA", "status": 503}
    auco = error_for(body, "auco")
    assert auco["path"] == ["webhooks"]
    assert auco["extensions"] == {"code": "UPSTREAM_UNAVAILABLE", "source": "auco", "provider": "AUCO"}


def test_a_failing_nested_field_nulls_only_its_own_part(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, every={"retries": 0}))
    sandbox.fault("dixa", status=503, rate=1)

    body = gateway.post('{ sources { name circuit } webhooks(source: "uipath") { totalCount } dixa: webhooks('
                        'source: "dixa") { totalCount } }').json()  # fmt: skip

    assert len(body["data"]["sources"]) == 5
    assert body["data"]["webhooks"]["totalCount"] == 2
    assert body["data"]["dixa"] == {"totalCount": 0}
    assert codes(body) == ["UPSTREAM_ERROR"]
    assert errors(body)[0]["path"] == ["dixa"]


def test_flaky_reads_are_retried_until_they_succeed(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"retries": 5, "timeout_s": 5}))
    sandbox.fault("uipath", status=503, rate=0.5)

    bodies = [gateway.post(UIPATH_WEBHOOKS).json() for _ in range(8)]

    assert all(codes(body) == [] for body in bodies), [errors(b) for b in bodies if errors(b)]
    assert webhook_gets(sandbox) > 8, "some reads met a 503 and were sent again"


def test_without_retries_a_flaky_source_fails_some_reads(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"retries": 0, "breaker_failures": 100}))
    sandbox.fault("uipath", status=503, rate=0.5)

    bodies = [gateway.post(UIPATH_WEBHOOKS).json() for _ in range(8)]

    assert any(codes(body) == ["UPSTREAM_ERROR"] for body in bodies)
    assert webhook_gets(sandbox) == 8, "exactly one call per read"


@pytest.mark.parametrize("fault", [{"status": 503, "rate": 1}, {"status": 503, "rate": 0.5}, {"latency_ms": 2500}])
def test_a_mutation_is_sent_exactly_once(gateway_factory: Any, sandbox: Sandbox, fault: dict[str, Any]) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"retries": 5, "timeout_s": 1}))
    sandbox.fault("uipath", **fault)

    gateway.post(CREATE_UIPATH_WEBHOOK)

    assert sandbox.calls()["uipath"].get("POST /odata/Webhooks", 0) == 1


def test_a_failed_mutation_reports_the_upstream_error(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"retries": 5}))
    sandbox.fault("uipath", status=503, rate=1)

    body = gateway.post(CREATE_UIPATH_WEBHOOK).json()

    assert body["data"] is None
    assert errors(body)[0]["extensions"] == {
        "code": "UPSTREAM_ERROR",
        "source": "uipath",
        "provider": "UIPATH",
        "status": 503,
    }
    assert errors(body)[0]["path"] == ["createWebhook"]


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(gateway_factory: Any, sandbox: Sandbox, status: int) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"retries": 2, "timeout_s": 4}))
    sandbox.fault("uipath", status=status, rate=1, retry_after=1)

    async def heal() -> None:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(sandbox.clear_faults)

    started = time.monotonic()
    async with httpx.AsyncClient(timeout=10) as client:
        response, _ = await asyncio.gather(client.post(gateway.graphql_url, json={"query": UIPATH_WEBHOOKS}), heal())
    elapsed = time.monotonic() - started

    assert codes(response.json()) == []
    assert webhook_gets(sandbox) == 2, "one refused call, then one retry after the pause the backend asked for"
    assert elapsed >= 0.95, f"retried after {elapsed:.2f} s, before Retry-After: 1 had passed"


@pytest.mark.parametrize(("status", "code"), [(429, "RATE_LIMITED"), (503, "UPSTREAM_ERROR")])
def test_retry_after_beyond_the_deadline_fails_at_once(
    gateway_factory: Any, sandbox: Sandbox, status: int, code: str
) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"retries": 3, "timeout_s": 5}))
    sandbox.fault("uipath", status=status, rate=1, retry_after=30)

    started = time.monotonic()
    body = gateway.post(UIPATH_WEBHOOKS).json()
    elapsed = time.monotonic() - started

    assert codes(body) == [code]
    assert errors(body)[0]["extensions"]["retryAfter"] == 30
    assert webhook_gets(sandbox) == 1, "no retry: waiting 30 s would overrun the 5 s deadline"
    assert elapsed < 2.5, f"answered after {elapsed:.2f} s: it waited instead of failing at once"


def test_circuit_opens_answers_at_once_then_half_opens_and_closes(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(
        sources=sources(sandbox.url, uipath={"retries": 0, "breaker_failures": 3, "breaker_reset_s": 3})
    )

    def circuits() -> tuple[str, str]:
        listed = gateway.post("{ sources { name circuit } }").json()["data"]["sources"]
        ready = httpx.get(f"{gateway.url}/readyz").json()["sources"]
        return next(s["circuit"] for s in listed if s["name"] == "uipath"), ready["uipath"]

    clock = breaker_on_clock(gateway, "uipath")
    sandbox.fault("uipath", status=503, rate=1)
    for _ in range(3):
        assert codes(gateway.post(UIPATH_WEBHOOKS).json()) == ["UPSTREAM_ERROR"]
    assert circuits() == ("OPEN", "OPEN")

    sandbox.clear_faults()
    sandbox.clear_calls()
    body = gateway.post(WEBHOOKS).json()
    assert error_for(body, "uipath")["extensions"] == {"code": "CIRCUIT_OPEN", "source": "uipath", "provider": "UIPATH"}
    assert answered_sources(body) == {"dixa", "auco"}, "the other sources are answered as usual"
    assert sum(sandbox.calls()["uipath"].values()) == 0, "an open circuit makes no upstream call"

    clock.advance(3.1)
    assert circuits() == ("HALF_OPEN", "HALF_OPEN")
    assert codes(gateway.post(UIPATH_WEBHOOKS).json()) == [], "the trial call succeeds"
    assert circuits() == ("CLOSED", "CLOSED")


def test_a_failed_trial_call_opens_the_circuit_again(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(
        sources=sources(sandbox.url, uipath={"retries": 0, "breaker_failures": 1, "breaker_reset_s": 2})
    )
    clock = breaker_on_clock(gateway, "uipath")
    sandbox.fault("uipath", status=503, rate=1)
    gateway.post(UIPATH_WEBHOOKS)
    clock.advance(2.1)

    assert codes(gateway.post(UIPATH_WEBHOOKS).json()) == ["UPSTREAM_ERROR"], "the trial call went out and failed"
    assert codes(gateway.post(UIPATH_WEBHOOKS).json()) == ["CIRCUIT_OPEN"]


def test_client_errors_do_not_open_the_circuit(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory(sources=sources(sandbox.url, uipath={"retries": 0, "breaker_failures": 2}))
    sandbox.fault("uipath", status=400, rate=1)
    for _ in range(4):
        assert codes(gateway.post(UIPATH_WEBHOOKS).json()) == ["BAD_USER_INPUT"]
    assert httpx.get(f"{gateway.url}/readyz").json()["sources"]["uipath"] == "CLOSED"


async def test_a_slow_source_slows_only_the_fields_that_need_it(gateway_factory: Any, sandbox: Sandbox) -> None:
    gateway: Gateway = gateway_factory()
    sandbox.fault("auco", latency_ms=2000)

    async def timed(client: httpx.AsyncClient, query: str) -> tuple[float, dict[str, Any]]:
        started = time.monotonic()
        response = await client.post(gateway.graphql_url, json={"query": query})
        return time.monotonic() - started, response.json()

    async with httpx.AsyncClient(timeout=10) as client:
        (slow, slow_body), *fast = await asyncio.gather(
            timed(client, '{ webhooks(source: "auco") { totalCount } }'),
            *(timed(client, '{ webhooks(source: "dixa") { totalCount } }') for _ in range(5)),
        )

    assert slow >= 2.0
    assert codes(slow_body) == [], "slow is not failed: 2 s is within the 10 s timeout"
    assert all(codes(body) == [] for _, body in fast)
    # Had they waited for auco, they would end with it; on a loaded machine all are slower, but not by its delay.
    assert slow - max(elapsed for elapsed, _ in fast) > 1.0, (slow, [round(e, 3) for e, _ in fast])
