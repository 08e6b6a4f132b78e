"""A failed operation is visible in the logs: one JSON line naming its error codes, its sources and its request id
(a timeout or an upstream 503 used to log only ``outcome: "error"``)."""

from __future__ import annotations

from typing import Any

from tests.support.gateway import Gateway, GatewayFactory
from tests.support.observing import LogCapture
from tests.support.sandbox import Sandbox, sources


def _failure_lines(json_logs: LogCapture, request_id: str) -> list[dict[str, Any]]:
    return [line for line in json_logs.request_lines(request_id) if line.get("event") == "operation failed"]


def test_an_upstream_503_logs_its_code_source_and_request_id(
    json_logs: LogCapture, gateway: Gateway, sandbox: Sandbox
) -> None:
    sandbox.fault("dixa", status=503)
    response = gateway.post('query Hooks { webhooks(source: "dixa") { nodes { id } } }')
    request_id = response.headers["x-request-id"]
    assert response.json()["errors"][0]["extensions"]["code"] == "UPSTREAM_ERROR"

    [line] = _failure_lines(json_logs, request_id)
    assert line["logger"] == "hookgate.request"
    assert line["level"] == "warning"
    assert (line["operation_type"], line["operation_name"], line["outcome"]) == ("query", "Hooks", "partial")
    assert line["error_codes"] == ["UPSTREAM_ERROR"]
    assert line["error_sources"] == ["dixa"]
    # The access line of the same request carries them too.
    [access] = [x for x in json_logs.request_lines(request_id) if x["event"] == "request"]
    assert (access["error_codes"], access["error_sources"]) == (["UPSTREAM_ERROR"], ["dixa"])


def test_a_timeout_beside_a_healthy_source_logs_a_partial_failure(
    json_logs: LogCapture, gateway_factory: GatewayFactory, sandbox: Sandbox
) -> None:
    gateway = gateway_factory(sources=sources(sandbox.url, every={"retries": 0}, auco={"timeout_s": 0.3}))
    sandbox.fault("auco", latency_ms=2000)
    response = gateway.post("{ webhooks(first: 50) { nodes { source } } }")
    request_id = response.headers["x-request-id"]
    body = response.json()
    assert {e["extensions"]["code"] for e in body["errors"]} == {"UPSTREAM_TIMEOUT"}
    assert body["data"]["webhooks"] is not None

    [line] = _failure_lines(json_logs, request_id)
    assert line["outcome"] == "partial"
    assert line["error_codes"] == ["UPSTREAM_TIMEOUT"]
    assert line["error_sources"] == ["auco"]


def test_a_successful_operation_logs_no_failure(json_logs: LogCapture, gateway: Gateway) -> None:
    response = gateway.post("{ sources { name } }")
    assert "errors" not in response.json()
    assert _failure_lines(json_logs, response.headers["x-request-id"]) == []
