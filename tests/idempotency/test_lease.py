"""A key whose first request never finished (its process died mid-write) lapses after a short lease, not 24 h.

The crashed process is played by a second store on the gateway's own SQLite file: it claims the key exactly as the
gateway would (the same fingerprint and lease) and then never completes nor releases it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.context import ANONYMOUS
from gateway.idempotency import TTL_S, claim_lease_s, mutation_deadline_s
from gateway.store import open_store
from resolvers.idempotency import fingerprint
from schema.inputs import CreateRequestInput, ParameterInput
from tests.support.operations import data, gql, only_error
from tests.support.sandbox import Sandbox, sandbox_settings, sources

CREATE = """mutation($input: CreateRequestInput!) {
  createRequest(input: $input) { request { number } }
}"""
INPUT = {"input": {"processName": "EXPENSE_CLAIM", "parameters": [{"name": "REASON", "textValue": "Orphan"}]}}
HOOK_CALL = "POST /wfgen/hooks/{token}"


async def test_an_orphaned_key_answers_when_to_retry_and_then_runs_the_mutation(
    gateway_factory: Any, sandbox: Sandbox, tmp_path: Any
) -> None:
    store_url = f"sqlite:///{tmp_path}/orphan.db"
    # timeout_s 1: a mutation's deadline is 3 s and an orphaned claim lapses after 6 s (60 s with the defaults).
    overrides: dict[str, Any] = {"store": store_url, "sources": sources(sandbox.url, every={"timeout_s": 1.0})}
    settings = sandbox_settings(sandbox.url, **overrides)
    lease_s = claim_lease_s(settings)
    assert (mutation_deadline_s(settings), lease_s) == (3.0, 6.0)
    assert claim_lease_s(sandbox_settings(sandbox.url)) <= 60  # the defaults: a minute, not a day
    gateway = gateway_factory(**overrides)

    crashed = await open_store(store_url)
    try:
        loop = asyncio.get_running_loop()
        claimed_at = loop.time()
        fp = fingerprint("create_request", _input_as_the_resolver_sees_it())
        await crashed.idempotency_begin(ANONYMOUS.name, "orphan", fp, TTL_S, lease_s=lease_s)
    finally:
        await crashed.aclose()  # the process is gone: the claim is neither completed nor released
    sandbox.clear_calls()

    error = only_error(await gql(gateway, CREATE, INPUT, key="orphan"))
    extensions = error["extensions"]
    assert (extensions["code"], extensions["reason"], extensions["field"]) == (
        "BAD_USER_INPUT",
        "IDEMPOTENCY_KEY_IN_PROGRESS",
        "Idempotency-Key",
    )
    assert 1 <= extensions["retryAfter"] <= lease_s
    assert f"in {extensions['retryAfter']} s" in error["message"]
    assert sandbox.calls()["workflowgen"].get(HOOK_CALL, 0) == 0

    # Once the lease has passed, the same key runs the mutation (once) and then replays its answer.
    await asyncio.sleep(max(0.0, claimed_at + lease_s + 0.5 - loop.time()))
    first = data(await gql(gateway, CREATE, INPUT, key="orphan"))
    assert first["createRequest"]["request"]["number"] >= 1
    assert data(await gql(gateway, CREATE, INPUT, key="orphan")) == first
    assert sandbox.calls()["workflowgen"].get(HOOK_CALL, 0) == 1


def _input_as_the_resolver_sees_it() -> Any:
    """The CreateRequestInput the gateway builds from INPUT, so that the fingerprints match."""
    return CreateRequestInput(
        process_name="EXPENSE_CLAIM", parameters=[ParameterInput(name="REASON", text_value="Orphan")]
    )
