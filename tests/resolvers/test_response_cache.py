"""The response cache for read queries: off by default; keyed by operation, variables and principal; short TTL;
dropped on the gateway's own writes and on inbound events of a source it read."""

from __future__ import annotations

import pytest

from gateway.cache import ResponseCache
from gateway.config import Settings
from gateway.context import Principal
from gateway.extensions import ResponseCaching
from schema.ids import encode_id
from tests.support.gateway import GatewayFactory
from tests.support.sandbox import Sandbox

WEBHOOKS = "{ webhooks { nodes { id url eventTypes { name } } } }"
DIXA_ONLY = "{ webhooks(provider: DIXA) { nodes { id deliveryStatuses { event } } } }"
READER = Principal(name="reader", scopes=frozenset({"read"}))
OTHER_READER = Principal(name="other-reader", scopes=frozenset({"read"}))


def total_calls(sandbox: Sandbox) -> dict[str, int]:
    return {target: sum(routes.values()) for target, routes in sandbox.calls().items() if routes}


def test_the_cache_is_off_by_default() -> None:
    settings = Settings.model_validate({})
    assert settings.cache.enabled is False
    assert settings.cache.ttl_s == 2


async def test_off_every_query_executes(gateway_in_process: GatewayFactory, sandbox: Sandbox) -> None:
    gateway = await gateway_in_process()
    assert gateway.services.response_cache is None
    assert not any(ext is ResponseCaching for ext in gateway.schema.extensions)
    await gateway.ok(WEBHOOKS)
    sandbox.clear_calls()
    await gateway.ok(WEBHOOKS)
    assert total_calls(sandbox) == {"uipath": 1, "dixa": 1, "auco": 1}


async def test_a_repeated_read_is_answered_from_the_cache(gateway_in_process: GatewayFactory, sandbox: Sandbox) -> None:
    gateway = await gateway_in_process(cache={"enabled": True})
    first = await gateway.ok(WEBHOOKS)
    sandbox.clear_calls()
    assert await gateway.ok(WEBHOOKS) == first
    assert total_calls(sandbox) == {}


async def test_variables_and_principal_are_part_of_the_key(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process(cache={"enabled": True})
    query = "query($p: Provider) { webhooks(provider: $p) { nodes { id } } }"
    await gateway.ok(query, {"p": "DIXA"}, principal=READER)
    sandbox.clear_calls()
    await gateway.ok(query, {"p": "DIXA"}, principal=READER)
    assert total_calls(sandbox) == {}
    await gateway.ok(query, {"p": "AUCO"}, principal=READER)
    assert total_calls(sandbox) == {"auco": 1}, "other variables: another entry"
    await gateway.ok(query, {"p": "DIXA"}, principal=OTHER_READER)
    assert total_calls(sandbox) == {"auco": 1, "dixa": 1}, "another principal never shares an answer"


async def test_the_gateways_own_write_drops_the_answers_that_read_that_source(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process(cache={"enabled": True})
    await gateway.ok(WEBHOOKS)
    await gateway.ok(DIXA_ONLY)
    created = await gateway.ok(
        'mutation { createWebhook(input: {source: "uipath", url: "https://hooks.example.com/cached", '
        'events: ["job.started"]}) { webhook { id } } }'
    )
    sandbox.clear_calls()
    after = await gateway.ok(WEBHOOKS)
    assert created["createWebhook"]["webhook"]["id"] in {n["id"] for n in after["webhooks"]["nodes"]}
    assert total_calls(sandbox)["uipath"] >= 1, "the answer that read uipath was dropped"
    sandbox.clear_calls()
    await gateway.ok(DIXA_ONLY)
    assert total_calls(sandbox) == {}, "an answer that did not read uipath stays"


async def test_an_inbound_event_of_a_source_drops_its_answers(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process(cache={"enabled": True})
    await gateway.ok(DIXA_ONLY)
    await gateway.ok('{ eventTypes(source: "uipath") { name } }')
    gateway.services.invalidate_source("dixa")  # what POST /hooks/dixa does
    sandbox.clear_calls()
    await gateway.ok(DIXA_ONLY)
    await gateway.ok('{ eventTypes(source: "uipath") { name } }')
    assert total_calls(sandbox) == {"dixa": 2}, "the Dixa list and its statuses again; the UiPath answer stays"


async def test_answers_with_errors_are_not_kept(gateway_in_process: GatewayFactory, sandbox: Sandbox) -> None:
    gateway = await gateway_in_process(cache={"enabled": True})
    sandbox.fault("dixa", status=503)
    failed = await gateway.run(WEBHOOKS)
    assert failed.errors
    sandbox.clear_faults()
    sandbox.clear_calls()
    await gateway.ok(WEBHOOKS)
    assert total_calls(sandbox) == {"uipath": 1, "dixa": 1, "auco": 1}


async def test_mutations_are_never_answered_from_the_cache(
    gateway_in_process: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = await gateway_in_process(cache={"enabled": True})
    ping = f'mutation {{ pingWebhook(input: {{id: "{encode_id("Webhook", "uipath", 4)}"}}) {{ type }} }}'
    await gateway.ok(ping)
    await gateway.ok(ping)
    assert total_calls(sandbox)["uipath"] == 2


def test_entries_expire_after_the_ttl_and_the_least_recently_used_go_first() -> None:
    now = [100.0]
    cache = ResponseCache(ttl_s=2.0, max_entries=2, clock=lambda: now[0])
    a, b, c = (cache.key("p", q, None, {}) for q in ("{ a }", "{ b }", "{ c }"))
    cache.put(a, {"a": 1}, frozenset({"uipath"}), since_epoch=cache.epoch)
    now[0] += 1.9
    assert cache.get(a) == {"a": 1}
    now[0] += 0.2
    assert cache.get(a) is None, "expired"
    cache.put(a, {"a": 1}, frozenset(), since_epoch=cache.epoch)
    cache.put(b, {"b": 1}, frozenset(), since_epoch=cache.epoch)
    cache.get(a)
    cache.put(c, {"c": 1}, frozenset(), since_epoch=cache.epoch)
    assert cache.get(b) is None, "least recently used, dropped for c"
    assert cache.get(a) == {"a": 1}
    assert len(cache) == 2


def test_a_read_that_overlapped_an_invalidation_of_its_source_is_not_kept() -> None:
    cache = ResponseCache()
    key = cache.key("p", "{ webhooks { nodes { id } } }", None, None)
    started = cache.epoch
    cache.invalidate_source("uipath")  # a write finished while the read was running
    assert cache.put(key, {"x": 1}, frozenset({"uipath", "dixa"}), since_epoch=started) is False
    assert cache.get(key) is None
    assert cache.put(key, {"x": 1}, frozenset({"uipath"}), since_epoch=cache.epoch) is True
    assert cache.put(key, {"y": 1}, frozenset({"dixa"}), since_epoch=started) is True, "another source: kept"


@pytest.mark.parametrize(
    ("query", "source", "other"),
    [
        pytest.param('{ webhooks(source: "auco") { nodes { url } } }', "auco", "dixa", id="a filtered list"),
        pytest.param('{ eventTypes(source: "uipath") { name } }', "uipath", "dixa", id="a catalogue"),
        pytest.param(
            f'{{ webhook(id: "{encode_id("Webhook", "uipath", 4)}") {{ url }} }}', "uipath", "auco", id="a by-id load"
        ),
    ],
)
async def test_each_read_path_notes_its_source(
    gateway_in_process: GatewayFactory, sandbox: Sandbox, query: str, source: str, other: str
) -> None:
    """A kept answer depends on the source each way of reading it went through (the request's loaders note it)."""
    gateway = await gateway_in_process(cache={"enabled": True})
    first = await gateway.ok(query)
    gateway.services.invalidate_source(other)
    sandbox.clear_calls()
    assert await gateway.ok(query) == first
    assert total_calls(sandbox) == {}, "another source's change keeps the answer"
    gateway.services.invalidate_source(source)
    assert await gateway.ok(query) == first
    assert total_calls(sandbox).get(source, 0) >= 1, f"a change of {source} drops the answer that read it"
