"""``open_runtime``: two runtimes opened side by side in one process share nothing, and closing one leaves the other
working."""

from __future__ import annotations

import contextlib
from typing import Any

from gateway.context import Context
from gateway.runtime import Runtime, open_runtime
from schema.schema import build_schema
from tests.support.sandbox import Sandbox, sandbox_settings

QUERY = "query Pair { webhooks(first: 5, provider: UIPATH) { nodes { id eventTypes { name } } } }"
REQUESTS = "hookgate_graphql_requests_total"
OK = {"operation_type": "query", "operation_name": "Pair", "outcome": "ok"}
UPSTREAM = "hookgate_upstream_request_duration_seconds_count"
UIPATH_GET = {"source": "uipath", "provider": "uipath", "method": "GET"}


async def _ask(runtime: Runtime) -> Any:
    result = await build_schema(runtime.settings).execute(QUERY, context_value=Context(runtime=runtime))
    assert result.errors is None, result.errors
    return result.data


async def test_two_runtimes_share_no_state_and_outlive_each_other(sandbox: Sandbox) -> None:
    settings = sandbox_settings(sandbox.url, cache={"enabled": True, "ttl_s": 60})
    async with contextlib.AsyncExitStack() as first_stack, open_runtime(settings) as second:
        first = await first_stack.enter_async_context(open_runtime(settings))

        # Apart: adapters and their clients, caches, metrics, the live hub, the store and broker.
        assert first.adapters["uipath"] is not second.adapters["uipath"]
        first_client: Any = first.adapters["uipath"]
        second_client: Any = second.adapters["uipath"]
        assert first_client.http is not second_client.http
        assert first_client.http.observer is first.metrics, "each client reports to its own runtime"
        assert second_client.http.observer is second.metrics
        for part in ("catalogues", "response_cache", "metrics", "live", "store", "broker"):
            assert getattr(first, part) is not getattr(second, part), part
        assert first.metrics.registry is not second.metrics.registry

        # Work done through one is counted and cached in that one only.
        answer = await _ask(first)
        assert answer["webhooks"]["nodes"], "the sandbox's seed webhooks"
        assert first.metrics.sample(REQUESTS, **OK) == 1
        assert first.metrics.sample(UPSTREAM, **UIPATH_GET) >= 1
        assert second.metrics.sample(REQUESTS, **OK) == 0
        assert second.metrics.sample(UPSTREAM, **UIPATH_GET) == 0
        assert first.catalogues.peek("uipath") is not None
        assert second.catalogues.peek("uipath") is None

        # Closing the first closes its clients and nothing of the second's.
        await first_stack.aclose()
        assert first_client.http.http.is_closed
        assert not second_client.http.http.is_closed
        assert await second.store.ping() is True
        assert await _ask(second) == answer
        assert second.metrics.sample(REQUESTS, **OK) == 1
        assert second.metrics.sample(UPSTREAM, **UIPATH_GET) >= 1
        assert first.metrics.sample(REQUESTS, **OK) == 1, "the closed runtime counted nothing more"
