"""The upload CSRF rule in a real headless Chromium: a page on another origin uploads a file with fetch and FormData.

Without a custom header the browser sends the upload at once (a multipart POST is a CORS "simple request", cookies
and all): the gateway must refuse it. With ``Apollo-Require-Preflight`` the browser asks first, and only an origin
that ``[cors]`` lists is told yes: the same page, listed, uploads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.gateway import Gateway, GatewayFactory
from tests.support.operations import writes
from tests.support.sandbox import Sandbox
from tests.support.servers import Server, html_page_server

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>another origin</title></head><body><script>
const gateway = new URLSearchParams(location.search).get('gateway');
const results = { simple: null, preflighted: null };
window.results = results;
const query = 'mutation ($file: Upload) { createRequest(input: {processName: "EXPENSE_CLAIM", parameters: '
  + '[{name: "RECEIPT", fileValue: {name: "page.txt", upload: $file}}]}) { request { number } } }';
function body() {
  const form = new FormData();
  form.append('operations', JSON.stringify({ query, variables: { file: null } }));
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', new Blob(['uploaded by a page'], { type: 'text/plain' }), 'page.txt');
  return form;
}
(async () => {
  try {
    const init = { method: 'POST', body: body(), mode: 'no-cors', credentials: 'include' };
    const r = await fetch(gateway + '/graphql', init);
    results.simple = r.type;
  } catch (e) { results.simple = 'failed'; }
  try {
    const r = await fetch(gateway + '/graphql', {
      method: 'POST', body: body(), credentials: 'include', headers: { 'Apollo-Require-Preflight': 'true' },
    });
    results.preflighted = await r.json();
  } catch (e) { results.preflighted = 'failed'; }
})();
</script></body></html>
"""


@pytest.fixture
def page_server() -> Iterator[Server]:
    with html_page_server(PAGE) as server:
        yield server


def _run_page(chromium: Any, page_server: Server, gateway: Gateway) -> dict[str, Any]:
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{page_server.url}/?gateway={gateway.url}")
        page.wait_for_function(
            "window.results && window.results.simple !== null && window.results.preflighted !== null",
            timeout=30_000,
        )
        return page.evaluate("window.results")  # type: ignore[no-any-return]
    finally:
        context.close()


def _graphql_posts(caplog: pytest.LogCaptureFixture) -> list[int]:
    """The statuses the gateway answered POST /graphql with (its access log)."""
    return [
        r.msg["status"]
        for r in caplog.records
        if r.name == "hookgate.access" and isinstance(r.msg, dict) and r.msg.get("method") == "POST"
    ]


def test_a_page_of_an_unlisted_origin_cannot_upload(
    chromium: Any,
    page_server: Server,
    gateway_factory: GatewayFactory,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="hookgate.access")
    gateway = gateway_factory(cors={"allow_origins": ["https://app.example.com"], "allow_credentials": True})
    results = _run_page(chromium, page_server, gateway)
    assert results == {"simple": "opaque", "preflighted": "failed"}, results
    # The simple request did reach the gateway, and was refused; the preflighted one never left the browser.
    assert _graphql_posts(caplog) == [400]
    assert writes(sandbox, "workflowgen") == {}


def test_the_same_page_listed_in_cors_uploads(
    chromium: Any, page_server: Server, gateway_factory: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = gateway_factory(cors={"allow_origins": [page_server.url], "allow_credentials": True})
    results = _run_page(chromium, page_server, gateway)
    number = results["preflighted"]["data"]["createRequest"]["request"]["number"]
    stored = sandbox.state("workflowgen").requests[number].dataset["RECEIPT"].value
    assert stored.content == b"uploaded by a page"
    assert writes(sandbox, "workflowgen") == {"POST /wfgen/hooks/{token}": 1}  # the simple one was still refused
