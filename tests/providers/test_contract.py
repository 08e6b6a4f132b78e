"""One contract, every adapter, every capability: each kit of the registry, crossed with each capability its adapter
declares, crossed with what the backend does (works, answers 5xx, hangs, answers a body that is not JSON, refuses the
credentials).

Each adapter is built by ``build_adapter`` from the sandbox settings, as the app builds it, and talks HTTP to the real
sandbox. :data:`CALLS` maps a capability to one representative call of its Protocol (``gateway/domain/ports.py``); a
capability some kit declares and :data:`CALLS` does not name fails the suite, so a new capability cannot go untested.
INBOUND_EVENTS has nothing to call on the adapter (the kind's ``inbound`` module verifies deliveries): each kit that
declares it is checked to refuse an unsigned delivery instead.

A call that the ok run answers without any upstream call (a documented catalogue) must keep answering, still without
a call, whatever the backend does. Writes use inputs that are safe against the sandbox, which is reset for each test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from gateway.domain.records import Capability, WebhookFilter
from gateway.errors import (
    ERROR_CODES,
    CircuitOpen,
    HookgateError,
    UpstreamError,
    UpstreamFailure,
    UpstreamTimeout,
)
from gateway.providers.inbound import NotConfigured, SignatureError
from gateway.providers.registry import KITS
from tests.support.adapters import MakeAdapter
from tests.support.sandbox import Sandbox

DIXA_SEED = "3f9a6d2e-8b1c-4e57-a0d4-6c2b9e1f7a35"

#: Short enough that a case that waits for the timeout by mistake costs little; long enough for a loaded machine.
TIMEOUT_S = 3.0
#: The timeout of the hang cases, and the generous bound their error must arrive within.
HANG_TIMEOUT_S = 0.5
HANG_BOUND_S = HANG_TIMEOUT_S + 2.0


@dataclass(frozen=True)
class Call:
    """One representative call of a capability's Protocol, with inputs the sandbox's seed answers."""

    name: str
    write: bool
    run: Callable[[Any], Awaitable[Any]]


#: Capability -> its representative call. INBOUND_EVENTS is not here: its adapter has nothing to call.
CALLS: dict[Capability, Call] = {
    Capability.WEBHOOKS: Call("list_webhooks", False, lambda a: a.list_webhooks(WebhookFilter())),
    Capability.EVENT_TYPES: Call("event_types", False, lambda a: a.event_types()),
    Capability.DELIVERY_LOGS: Call("delivery_statuses", False, lambda a: a.delivery_statuses(DIXA_SEED)),
    Capability.WORKFLOW: Call("get_requests", False, lambda a: a.get_requests([1, 2])),
    Capability.PING: Call("ping_webhook", True, lambda a: a.ping_webhook("4")),
    Capability.CUSTOM_EVENTS: Call(
        "trigger_custom_event", True, lambda a: a.trigger_custom_event("contract.check", {"Order": 1001})
    ),
    Capability.CONVERSATIONS: Call(
        "signal",
        True,
        lambda a: a.signal("bot-1", "MediatelAgentConnected", {"agentId": "a-1", "conversationId": "c-1"}),
    ),
}
NOT_CALLED = frozenset({Capability.INBOUND_EVENTS})

#: Every (kind, capability) a registered kit declares, but those with nothing to call.
PAIRS = [
    pytest.param(kind, capability, id=f"{kind}-{capability.value}")
    for kind, kit in KITS.items()
    for capability in sorted(kit.adapter.capabilities, key=lambda c: c.value)
    if capability not in NOT_CALLED
]
INBOUND_KINDS = [kind for kind, kit in KITS.items() if Capability.INBOUND_EVENTS in kit.adapter.capabilities]

# Credentials per kind that the sandbox refuses, and the real ones; neither may show up in an error.
WRONG_CREDENTIALS: dict[str, dict[str, str]] = {
    "uipath": {"token": "wrong-uipath-token"},
    "workflowgen": {"hook_token": "wrong-wfgen-hook-token", "graphql_password": "wrong-wfgen-password"},
    "druid": {"password": "wrong-druid-password"},
    "dixa": {"api_key": "wrong-dixa-key"},
    "auco": {"public_key": "puk_wrong_key", "private_key": "prk_wrong_key"},
}
REAL_SECRETS = (
    "sandbox-uipath-token",
    "sandbox-uipath-secret",
    "sandbox-wfgen-token",
    "sandbox-dixa-key",
    "73616e64626f78",
    "prk_sandbox",
    "puk_sandbox",
    "sandbox-auco-token",
    "sandbox-client-secret",
)


def call_of(capability: Capability) -> Call:
    call = CALLS.get(capability)
    if call is None:
        pytest.fail(f"capability {capability.name} has no representative call in CALLS: add one")
    return call


def adapter(make_adapter: MakeAdapter, kind: str, **changes: Any) -> Any:
    return make_adapter(kind, **{"timeout_s": TIMEOUT_S, **changes})


def check_answer(kind: str, answer: Any) -> None:
    """A working backend's answer: no error in it, and every record names the source that gave it."""
    assert not isinstance(answer, BaseException), answer
    for item in answer if isinstance(answer, list) else [answer]:
        assert not isinstance(item, BaseException), item
        assert getattr(item, "source", kind) == kind


async def reaches_upstream(kind: str, call: Call, built: Any, sandbox: Sandbox) -> bool:
    """Run ``call`` against the working sandbox (which also logs in where a kind needs a token), then forget the
    calls it made: True when it made any, False when the adapter answers it on its own."""
    sandbox.clear_calls()
    check_answer(kind, await call.run(built))
    made = sandbox.total_calls(kind)
    sandbox.clear_calls()
    return made > 0


async def still_answers_without_a_call(kind: str, call: Call, built: Any, sandbox: Sandbox) -> None:
    check_answer(kind, await call.run(built))
    assert sandbox.total_calls(kind) == 0


async def failure(call: Call, built: Any) -> HookgateError:
    """The coded error ``call`` raises; the test fails if it answers or raises anything else."""
    with pytest.raises(HookgateError) as caught:
        await call.run(built)
    error = caught.value
    assert error.extensions["code"] in ERROR_CODES
    return error


def assert_names_the_source(error: HookgateError, kind: str) -> None:
    assert error.extensions["source"] == kind
    assert error.extensions["provider"] == kind.upper()


def assert_sent_once_if_written(call: Call, kind: str, sandbox: Sandbox) -> None:
    if call.write:
        assert sandbox.total_calls(kind) == 1, f"a write is sent exactly once: {sandbox.calls()[kind]}"


@pytest.fixture
def hangs_released(sandbox: Sandbox) -> Iterator[None]:
    """After the test, the requests a ``hang`` fault holds (an hour each) answer, so the session's sandbox stops at
    once. The fault is cleared first, so no request joins them; they are released in the sandbox's own loop."""
    yield
    sandbox.clear_faults()
    control = sandbox.control
    for loop in {waiter.get_loop() for waiter in list(control._hung)}:
        loop.call_soon_threadsafe(control.release_hangs)


# -- the map ---------------------------------------------------------------------------------------------------------


def test_every_declared_capability_has_a_representative_call() -> None:
    declared = {capability for kit in KITS.values() for capability in kit.adapter.capabilities}
    missing = sorted(c.name for c in declared - NOT_CALLED - set(CALLS))
    assert not missing, f"capabilities declared by a kit with no representative call in CALLS: {missing}"


def test_every_pair_is_run() -> None:
    assert len(PAIRS) == sum(len(kit.adapter.capabilities - NOT_CALLED) for kit in KITS.values())
    assert INBOUND_KINDS  # a kit declaring INBOUND_EVENTS is checked below


# -- each kit x each declared capability x each outcome ---------------------------------------------------------------


@pytest.mark.parametrize(("kind", "capability"), PAIRS)
async def test_ok(kind: str, capability: Capability, make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    call = call_of(capability)
    check_answer(kind, await call.run(adapter(make_adapter, kind)))


@pytest.mark.parametrize(("kind", "capability"), PAIRS)
async def test_5xx_is_upstream_error_with_status_reads_retried_writes_sent_once(
    kind: str, capability: Capability, make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    call = call_of(capability)
    built = adapter(make_adapter, kind)  # default retries: 2
    upstream = await reaches_upstream(kind, call, built, sandbox)
    sandbox.fault(kind, status=503)
    if not upstream:
        await still_answers_without_a_call(kind, call, built, sandbox)
        return
    error = await failure(call, built)
    assert isinstance(error, UpstreamError), f"{type(error).__name__}: {error}"
    assert error.extensions["code"] == "UPSTREAM_ERROR"
    assert error.extensions["status"] == 503
    assert_names_the_source(error, kind)
    if call.write:
        assert_sent_once_if_written(call, kind, sandbox)
    else:
        assert sandbox.total_calls(kind) > 1, "a read is retried on 5xx"


@pytest.mark.parametrize(("kind", "capability"), PAIRS)
async def test_hanging_backend_times_out_within_the_source_timeout(
    kind: str, capability: Capability, make_adapter: MakeAdapter, sandbox: Sandbox, hangs_released: None
) -> None:
    call = call_of(capability)
    built = adapter(make_adapter, kind, timeout_s=HANG_TIMEOUT_S)
    upstream = await reaches_upstream(kind, call, built, sandbox)
    sandbox.fault(kind, hang=True)
    if not upstream:
        await still_answers_without_a_call(kind, call, built, sandbox)
        return
    started = time.monotonic()
    error = await failure(call, built)
    elapsed = time.monotonic() - started
    assert isinstance(error, UpstreamTimeout), f"{type(error).__name__}: {error}"
    assert error.extensions["code"] == "UPSTREAM_TIMEOUT"
    assert_names_the_source(error, kind)
    assert elapsed < HANG_BOUND_S, f"took {elapsed:.2f} s with a {HANG_TIMEOUT_S} s timeout"
    assert_sent_once_if_written(call, kind, sandbox)


@pytest.mark.parametrize(("kind", "capability"), PAIRS)
async def test_body_that_is_not_json_is_an_unreadable_answer(
    kind: str, capability: Capability, make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    call = call_of(capability)
    built = adapter(make_adapter, kind)
    upstream = await reaches_upstream(kind, call, built, sandbox)
    sandbox.fault(kind, body="not json", status=200)
    if not upstream:
        await still_answers_without_a_call(kind, call, built, sandbox)
        return
    error = await failure(call, built)
    # gateway/errors.py: an answer the gateway cannot read is UPSTREAM_ERROR (with the status it came with).
    assert isinstance(error, UpstreamFailure), f"{type(error).__name__}: {error}"
    assert error.extensions["code"] in ("UPSTREAM_ERROR", "UPSTREAM_UNAVAILABLE")
    assert_names_the_source(error, kind)
    assert "not json" not in str(error)  # the body is not echoed as if it were the backend's error text
    assert_sent_once_if_written(call, kind, sandbox)


@pytest.mark.parametrize(("kind", "capability"), PAIRS)
async def test_wrong_credentials_fail_with_a_code_and_no_secret(
    kind: str, capability: Capability, make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    call = call_of(capability)
    wrong = WRONG_CREDENTIALS[kind]
    built = adapter(make_adapter, kind, **wrong)
    try:
        answer = await call.run(built)
    except HookgateError as exc:
        error: HookgateError | None = exc
    else:
        error = None
    if error is None:
        # Only an answer the adapter gives without asking the backend may succeed with credentials it refuses.
        check_answer(kind, answer)
        assert sandbox.total_calls(kind) == 0, f"{call.name} succeeded with wrong credentials"
        return
    assert error.extensions["code"] in ERROR_CODES
    assert_names_the_source(error, kind)
    said = str(error) + repr(error.extensions)
    for secret in (*wrong.values(), *REAL_SECRETS):
        assert secret not in said
    assert_sent_once_if_written(call, kind, sandbox)


@pytest.mark.parametrize(("kind", "capability"), PAIRS)
async def test_circuit_opens_after_consecutive_failures_and_then_makes_no_call(
    kind: str, capability: Capability, make_adapter: MakeAdapter, sandbox: Sandbox
) -> None:
    call = call_of(capability)
    built = adapter(make_adapter, kind, retries=0, breaker_failures=2)
    upstream = await reaches_upstream(kind, call, built, sandbox)
    sandbox.fault(kind, status=503)
    if not upstream:
        await still_answers_without_a_call(kind, call, built, sandbox)
        return
    for _ in range(2):
        assert isinstance(await failure(call, built), UpstreamError)
    sandbox.clear_faults()
    sandbox.clear_calls()
    error = await failure(call, built)
    assert isinstance(error, CircuitOpen), f"{type(error).__name__}: {error}"
    assert error.extensions["code"] == "CIRCUIT_OPEN"
    assert sandbox.total_calls(kind) == 0


# -- INBOUND_EVENTS: the kind's verifier -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", INBOUND_KINDS)
def test_inbound_verifier_refuses_an_unsigned_delivery(kind: str) -> None:
    kit = KITS[kind]
    config = kit.config.model_validate(kit.sandbox("http://127.0.0.1:9"))  # configured with its secrets
    body = b'{"Type": "ping", "EventId": "e-1", "type": "ping", "id": "e-1"}'
    headers = {"content-type": "application/json"}

    def deliver() -> None:
        if kit.verify_with_keys is not None:
            kit.verify_with_keys(kind, config, headers, body, time.time(), keys=["a-stored-key"])
        else:
            kit.verify(kind, config, headers, body, time.time())

    with pytest.raises(SignatureError) as caught:
        deliver()
    assert not isinstance(caught.value, NotConfigured), "the sandbox source is configured to verify"
    for secret in (*REAL_SECRETS, "a-stored-key"):
        assert secret not in str(caught.value)


# -- probe and by-id batching ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KITS))
async def test_probe_reports_a_working_source(kind: str, make_adapter: MakeAdapter) -> None:
    result = await adapter(make_adapter, kind).probe()
    assert (result.reachable, result.authenticated) == (True, True), result.detail


# By-id reads: (read, ids that exist, ids that do not, calls the sandbox should see for all of them, and the route).
ByIdRead = Callable[[Any, list[Any]], Awaitable[list[Any]]]
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


@pytest.mark.parametrize("kind", list(BY_ID))
async def test_by_id_read_answers_none_for_missing_ids_in_key_order(kind: str, make_adapter: MakeAdapter) -> None:
    read, present, missing, _, _ = BY_ID[kind]
    keys = [missing[0], *present, *missing[1:]]
    answer = await read(adapter(make_adapter, kind), keys)
    assert len(answer) == len(keys)
    assert answer[0] is None
    assert all(item is not None for item in answer[1 : 1 + len(present)])
    assert all(item is None for item in answer[1 + len(present) :])


@pytest.mark.parametrize("kind", list(BY_ID))
async def test_by_id_read_batches_its_upstream_calls(kind: str, make_adapter: MakeAdapter, sandbox: Sandbox) -> None:
    read, present, missing, calls, route = BY_ID[kind]
    keys = [*present, *missing, *present]  # duplicates cost nothing more
    await read(adapter(make_adapter, kind), keys)
    assert sandbox.calls()[kind] == {route: calls}
