"""A frontend on another origin, in a real headless Chromium: a page served from its own port queries the gateway
with fetch (an ``Authorization`` header, so the browser sends a preflight first, which must not need the key), and
subscribes over the WebSocket (graphql-transport-ws) and over Server-Sent Events (graphql-sse, read as a fetch
stream since ``EventSource`` cannot send the key). With the page's origin in ``[cors] allow_origins`` all three work;
without it (the default: same-origin only) the browser gets none of them."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.events import uipath_delivery
from tests.support.gateway import Gateway, GatewayFactory
from tests.support.servers import Server, html_page_server

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>frontend</title></head><body><script>
const params = new URLSearchParams(location.search);
const gateway = params.get('gateway');
const key = params.get('key');
const results = { query: null, ws: null, sse: null, errors: [] };
window.results = results;
const subscription = 'subscription { events(source: "uipath") { type } }';

fetch(gateway + '/graphql', {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: 'Bearer ' + key },
  body: JSON.stringify({ query: '{ sources { name } }' }),
}).then((r) => r.json()).then((body) => { results.query = body; })
  .catch((e) => { results.query = 'failed'; results.errors.push('fetch: ' + e); });

const ws = new WebSocket(gateway.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer ' + key } }));
ws.onmessage = (m) => {
  const message = JSON.parse(m.data);
  if (message.type === 'connection_ack') {
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: subscription } }));
  } else if (message.type === 'next' && results.ws === null) {
    results.ws = message.payload;
  }
};
ws.onerror = () => { results.errors.push('websocket error'); };
ws.onclose = (e) => { if (results.ws === null) results.ws = 'closed ' + e.code; };

(async () => {
  try {
    const response = await fetch(gateway + '/graphql/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: 'Bearer ' + key },
      body: JSON.stringify({ query: subscription }),
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      const match = text.match(/event: next\\ndata: (.*)\\n\\n/);
      if (match) { results.sse = JSON.parse(match[1]); reader.cancel(); break; }
    }
  } catch (e) { results.sse = 'failed'; results.errors.push('sse: ' + e); }
})();
</script></body></html>
"""


@pytest.fixture
def page_server() -> Iterator[Server]:
    with html_page_server(PAGE) as server:
        yield server


def _open_page(chromium: Any, page_server: Server, gateway: Gateway, key: str) -> Any:
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{page_server.url}/?gateway={gateway.url}&key={key}")
    return context, page


def _keyed_gateway(gateway_factory: GatewayFactory, **overrides: Any) -> tuple[Gateway, str]:
    key = uuid.uuid4().hex
    digest = hashlib.sha256(key.encode()).hexdigest()
    api_keys = [{"name": "frontend", "key_sha256": digest, "scopes": ["read"]}]
    return gateway_factory(api_keys=api_keys, **overrides), key


def _subscribers(gateway: Gateway) -> float:
    return gateway.runtime.metrics.sample("hookgate_subscribers")


def test_a_page_on_a_listed_origin_queries_and_subscribes_over_websocket_and_sse(
    chromium: Any, page_server: Server, gateway_factory: GatewayFactory
) -> None:
    gateway, key = _keyed_gateway(gateway_factory, cors={"allow_origins": [page_server.url]})
    context, page = _open_page(chromium, page_server, gateway, key)
    try:
        page.wait_for_function("window.results && window.results.query !== null", timeout=30_000)
        deadline = time.monotonic() + 30
        while _subscribers(gateway) < 2:  # both subscriptions are live
            assert time.monotonic() < deadline, page.evaluate("window.results")
            page.wait_for_timeout(50)
        body, headers = uipath_delivery(f"cors-{uuid.uuid4().hex}")
        httpx.post(f"{gateway.url}/hooks/uipath", content=body, headers=headers, timeout=10).raise_for_status()
        page.wait_for_function("window.results.ws !== null && window.results.sse !== null", timeout=30_000)
        results = page.evaluate("window.results")
    finally:
        context.close()
    assert {s["name"] for s in results["query"]["data"]["sources"]} >= {"uipath", "dixa"}, results
    assert results["ws"] == {"data": {"events": {"type": "job.completed"}}}, results
    assert results["sse"] == {"data": {"events": {"type": "job.completed"}}}, results
    assert results["errors"] == []


def test_without_the_origin_listed_the_browser_gets_nothing(
    chromium: Any, page_server: Server, gateway_factory: GatewayFactory
) -> None:
    gateway, key = _keyed_gateway(gateway_factory)  # [cors] by default: same-origin only
    context, page = _open_page(chromium, page_server, gateway, key)
    try:
        page.wait_for_function(
            "['query', 'ws', 'sse'].every((k) => window.results && window.results[k] !== null)", timeout=30_000
        )
        results = page.evaluate("window.results")
    finally:
        context.close()
    assert results["query"] == "failed"
    assert results["sse"] == "failed"
    assert isinstance(results["ws"], str), results
    assert results["ws"].startswith("closed"), results


def test_a_preflight_needs_no_key_and_an_unlisted_origin_gets_no_cors_headers(gateway_factory: GatewayFactory) -> None:
    allowed = "http://app.example.com:5173"
    gateway, _ = _keyed_gateway(gateway_factory, cors={"allow_origins": [allowed], "max_age_s": 120})
    preflight = {"access-control-request-method": "POST", "access-control-request-headers": "authorization"}
    answer = httpx.options(gateway.graphql_url, headers={"origin": allowed, **preflight})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == allowed
    assert answer.headers["access-control-max-age"] == "120"
    assert "access-control-allow-credentials" not in answer.headers
    refused = httpx.options(gateway.graphql_url, headers={"origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    # The key is still required for the request itself; its 401 carries the CORS headers, so the page can read why.
    unauthenticated = httpx.post(
        gateway.graphql_url, json={"query": "{ sources { name } }"}, headers={"origin": allowed}
    )
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["access-control-allow-origin"] == allowed
