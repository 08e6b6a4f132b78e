"""One contract, every adapter: what each kind's cheapest read does when the backend works, fails, hangs or lies.

Each kind is built by ``build_adapter`` from the sandbox settings, as the app builds it, and talks HTTP to the real
sandbox. The "cheap read" per kind: a webhook list (uipath, dixa, auco), a request by number (workflowgen), the probe
(druid, which has no reads: its probe fetches a token). A probe never raises, so for DRUID a failed probe stands in
for the error and only what a ProbeResult can show is checked.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.domain.records import ProbeResult, WebhookFilter
from gateway.errors import CircuitOpen, HookgateError, UpstreamError, UpstreamTimeout
from tests.support.adapters import MakeAdapter
from tests.support.sandbox import Sandbox

KINDS = ("uipath", "workflowgen", "druid", "dixa", "auco")


class ProbeFailed(Exception):
    """A failed probe, raised so that DRUID's probe runs through the same checks as the other kinds' reads."""

    def __init__(self, result: ProbeResult) -> None:
        super().__init__(result.detail)
        self.result = result


async def cheap_read(kind: str, adapter: Any) -> Any:
    if kind in ("uipath", "dixa", "auco"):
        return await adapter.list_webhooks(WebhookFilter())
    if kind == "workflowgen":
        return await adapter.get_requests([1])
    result: ProbeResult = await adapter.probe()
    if not (result.reachable and result.authenticated):
        raise ProbeFailed(result)
    return result


async def failure(kind: str, adapter: Any) -> Exception:
    """The exception the cheap read raises; the test fails if it succeeds or raises something unexpected."""
    with pytest.raises((HookgateError, ProbeFailed)) as caught:
        await cheap_read(kind, adapter)
    return caught.value


def assert_is(error: Exception, expected: type[HookgateError]) -> None:
    if isinstance(error, ProbeFailed):
        return  # a ProbeResult carries no error class
    assert isinstance(error, expected), f"{type(error).__name__}: {error}"


# Credentials per kind that the sandbox refuses, and the real ones; neither may show up in an error.
WRONG_CREDENTIALS: dict[str, dict[str, str]] = {
    "uipath": {"token": "wrong-uipath-token"},
    "workflowgen": {"hook_token": "wrong-wfgen-hook-token", "graphql_password": "wrong-wfgen-password"},
    "druid": {"password": "wrong-druid-password"},
    "dixa": {"api_key": "wrong-dixa-key"},
    "auco": {"public_key": "puk_wrong_key", "private_key": "prk_wrong_key"},
}
REAL_SECRETS = ("sandbox-uipath-token", "sandbox-wfgen-token", "sandbox-dixa-key", "prk_sandbox", "puk_sandbox")

# By-id reads: (read, ids that exist, ids that do not, calls the sandbox should see for all of them, and the route).
ByIdRead = Callable[[Any, list[Any]], Awaitable[list[Any]]]
DIXA_SEED = "3f9a6d2e-8b1c-4e57-a0d4-6c2b9e1f7a35"
BY_ID: dict[str, tuple[ByIdRead, list[Any], list[Any], int, str]] = {
    "uipath": (lambda a, ids: a.get_webhooks(ids), ["4", "10"], ["999999", "not-a-number"], 1, "GET /odata/Webhooks"),
    "workflowgen": (lambda a, ids: a.get_requests(ids), [1], [999999, 424242], 1, "POST /wfgen/graphql"),
    # Dixa has no batch endpoint: one call per distinct well-formed id (the malformed one costs none).
    "dixa": (
        lambda a, ids: a.get_webhooks(ids),
        [DIXA_SEED],
        [str(uuid.UUID(int=1)), "not-a-uuid"],
        2,
        "GET /v1/webhooks/{webhookSubscriptionId}",
    ),
    "auco": (lambda a, ids: a.get_webhooks(ids), ["default", "Billing"], ["nope"], 1, "GET /v1.5/ext/company"),
}


@pytest.mark.parametrize("kind", KINDS)
async def test_cheap_read_succeeds(kind: str, make_adapter: MakeAdapter) -> None:
    answer = await cheap_read(kind, make_adapter(kind))
    if isinstance(answer, list):
        assert answer
        assert all(item is not None for item in answer)
        assert all(getattr(item, "source", kind) == kind for item in answer)


@pytest.mark.parametrize("kind", KINDS)
async def test_probe_reports_a_working_source(kind: str, make_adapter: MakeAdapter) -> None:
    result = await make_adapter(kind).probe()
    assert (result.reachable, result.authenticated) == (True, True), result.detail


@pytest.mark.parametrize("kind", KINDS)
async def test_5xx_is_upstream_error_with_status_after_retrying_the_read(
    kind: str, make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    adapter = make_adapter(kind)  # default retries: 2
    sandbox.fault(kind, status=503)
    error = await failure(kind, adapter)
    assert_is(error, UpstreamError)
    if isinstance(error, HookgateError):
        assert error.extensions["code"] == "UPSTREAM_ERROR"
        assert error.extensions["status"] == 503
        assert error.extensions["source"] == kind
        assert error.extensions["provider"] == kind.upper()
    assert sandbox.total_calls(kind) > 1, "a read is retried on 5xx"


@pytest.mark.parametrize("kind", KINDS)
async def test_hanging_backend_times_out_within_the_source_timeout(
    kind: str, make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    adapter = make_adapter(kind, timeout_s=0.5)
    # Silent for 3 s rather than ``hang``: to the client both are a backend that does not answer in time, but a
    # hung request keeps its server task asleep for an hour, and the session's sandbox then waits 10 s to stop.
    sandbox.fault(kind, latency_ms=3000)
    started = time.monotonic()
    error = await failure(kind, adapter)
    elapsed = time.monotonic() - started
    assert_is(error, UpstreamTimeout)
    assert elapsed < 2.5, f"took {elapsed:.2f} s: the backend's 3 s, not the 0.5 s timeout"


@pytest.mark.parametrize("kind", KINDS)
async def test_body_that_is_not_json_is_an_upstream_error(
    kind: str, make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    adapter = make_adapter(kind)
    sandbox.fault(kind, body="not json", status=200)
    assert_is(await failure(kind, adapter), UpstreamError)


@pytest.mark.parametrize("kind", KINDS)
async def test_wrong_credentials_fail_without_a_secret_in_the_error(kind: str, make_adapter: MakeAdapter) -> None:
    wrong = WRONG_CREDENTIALS[kind]
    error = await failure(kind, make_adapter(kind, **wrong))
    said = str(error) + repr(getattr(error, "extensions", {}))
    for secret in (*wrong.values(), *REAL_SECRETS, "sandbox-client-secret"):
        assert secret not in said
    if isinstance(error, ProbeFailed):
        assert not error.result.authenticated


@pytest.mark.parametrize("kind", KINDS)
async def test_circuit_opens_after_consecutive_failures_and_then_makes_no_call(
    kind: str, make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    adapter = make_adapter(kind, retries=0, breaker_failures=2)
    sandbox.fault(kind, status=503)
    for _ in range(2):
        assert_is(await failure(kind, adapter), UpstreamError)
    sandbox.clear_faults()
    sandbox.clear_calls()
    error = await failure(kind, adapter)
    assert_is(error, CircuitOpen)
    if isinstance(error, HookgateError):
        assert error.extensions["code"] == "CIRCUIT_OPEN"
    assert sandbox.total_calls(kind) == 0


@pytest.mark.parametrize("kind", list(BY_ID))
async def test_by_id_read_answers_none_for_missing_ids_in_key_order(kind: str, make_adapter: MakeAdapter) -> None:
    read, present, missing, _, _ = BY_ID[kind]
    keys = [missing[0], *present, *missing[1:]]
    answer = await read(make_adapter(kind), keys)
    assert len(answer) == len(keys)
    assert answer[0] is None
    assert all(item is not None for item in answer[1 : 1 + len(present)])
    assert all(item is None for item in answer[1 + len(present) :])


@pytest.mark.parametrize("kind", list(BY_ID))
async def test_by_id_read_batches_its_upstream_calls(kind: str, make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    read, present, missing, calls, route = BY_ID[kind]
    keys = [*present, *missing, *present]  # duplicates cost nothing more
    await read(make_adapter(kind), keys)
    assert sandbox.calls()[kind] == {route: calls}
