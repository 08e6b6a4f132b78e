"""/metrics as an operator scrapes it: the named families, source labels, bounded labels, and no secret."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from gateway.config import sandbox_sources
from gateway.observability.metrics import MAX_LABEL_LENGTH, Metrics
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

FAMILIES = (
    "hookgate_graphql_requests_total",
    "hookgate_graphql_request_duration_seconds",
    "hookgate_graphql_errors_total",
    "hookgate_upstream_request_duration_seconds",
    "hookgate_upstream_errors_total",
    "hookgate_circuit_state",
    "hookgate_inbound_deliveries_total",
    "hookgate_subscribers",
)

DASHBOARD = """
query MetricsDashboard {
  webhooks(first: 50) { nodes { source eventTypes { name } deliveryStatuses { event } } }
}
"""

CREATE = """
mutation MetricsCreate {
  createRequest(input: {source: "workflowgen", processName: "EXPENSE_CLAIM"}) { request { number } }
}
"""


def sample_of(gateway: Gateway) -> Any:
    """Reads one sample of ``gateway``'s own registry (each runtime counts apart)."""
    return gateway.runtime.metrics.sample


def _marked_sources(sandbox: Sandbox, marker: str, **per_source: dict[str, Any]) -> dict[str, Any]:
    sources = sandbox_sources(sandbox.url)
    # A wrong hook token (used in every WorkflowGen call's URL) and a webhook secret (never sent anywhere).
    sources["workflowgen"]["hook_token"] = f"hook-{marker}"
    sources["uipath"]["webhook_secret"] = f"secret-{marker}"
    for name, changes in per_source.items():
        sources[name].update(changes)
    return sources


def test_metrics_name_sources_and_never_a_secret(gateway_factory: Any, sandbox: Sandbox) -> None:
    marker = f"canary{uuid.uuid4().hex}"
    gateway: Gateway = gateway_factory(sources=_marked_sources(sandbox, marker))
    sample = sample_of(gateway)
    before_ok = sample(
        "hookgate_graphql_requests_total", operation_type="query", operation_name="MetricsDashboard", outcome="ok"
    )

    assert "errors" not in gateway.post(DASHBOARD).json()
    created = gateway.post(CREATE).json()
    assert created["errors"], "the wrong hook token makes WorkflowGen refuse the call"

    text = httpx.get(f"{gateway.url}/metrics").text
    for family in FAMILIES:
        assert f"# TYPE {family.removesuffix('_total')}" in text, family
    assert marker not in text
    assert "sandbox-dixa-key" not in text
    assert "sandbox-uipath-token" not in text
    label_values = re.findall(r'="([^"]*)"', text)
    assert not [v for v in label_values if "://" in v or "/wfgen/hooks" in v], "no URL in a label"

    assert (
        sample(
            "hookgate_graphql_requests_total", operation_type="query", operation_name="MetricsDashboard", outcome="ok"
        )
        == before_ok + 1
    )
    for source in ("uipath", "dixa", "auco"):
        assert sample(
            "hookgate_upstream_request_duration_seconds_count", source=source, provider=source, method="GET"
        ), source
    # WorkflowGen answers its refusal with a body the adapter reads, so it is counted where responses are.
    assert 'hookgate_graphql_errors_total{code="UPSTREAM_ERROR",source="workflowgen"}' in text
    assert 'hookgate_circuit_state{provider="dixa",source="dixa",state="CLOSED"} 1.0' in text
    assert sample("hookgate_graphql_request_duration_seconds_count", operation_type="query") > 0, "queries are timed"


def test_failing_source_is_partial_then_opens_its_circuit(gateway_factory: Any, sandbox: Sandbox) -> None:
    sources = sandbox_sources(sandbox.url)
    sources["dixa"].update(breaker_failures=1, breaker_reset_s=60, retries=0)
    gateway: Gateway = gateway_factory(sources=sources)
    sample = sample_of(gateway)
    sandbox.fault("dixa", status=503)
    labels = {"operation_type": "query", "operation_name": "MetricsDashboard", "outcome": "partial"}
    partial_before = sample("hookgate_graphql_requests_total", **labels)
    dixa = {"source": "dixa", "provider": "dixa"}
    errors_before = sample("hookgate_upstream_errors_total", code="UPSTREAM_ERROR", **dixa)
    refused_before = sample("hookgate_upstream_errors_total", code="CIRCUIT_OPEN", **dixa)

    first = gateway.post(DASHBOARD).json()
    assert first["errors"]
    assert first["data"]["webhooks"]["nodes"], "the other sources still answer"
    second = gateway.post(DASHBOARD).json()
    assert [e["extensions"]["code"] for e in second["errors"]] == ["CIRCUIT_OPEN"]

    assert sample("hookgate_graphql_requests_total", **labels) == partial_before + 2
    assert sample("hookgate_upstream_errors_total", code="UPSTREAM_ERROR", **dixa) > errors_before
    assert sample("hookgate_upstream_errors_total", code="CIRCUIT_OPEN", **dixa) > refused_before
    assert sample("hookgate_circuit_state", state="OPEN", **dixa) == 1.0
    assert sample("hookgate_circuit_state", state="CLOSED", **dixa) == 0.0


def test_deliveries_are_counted_by_configured_source_and_verdict(gateway: Gateway) -> None:
    sample, metrics = sample_of(gateway), gateway.runtime.metrics
    before = sample("hookgate_inbound_deliveries_total", source="dixa", verdict="bad_signature")
    unknown_before = sample("hookgate_inbound_deliveries_total", source="unknown", verdict="accepted")

    metrics.record_delivery("dixa", "Bad Signature")
    metrics.record_delivery(f"made-up-{uuid.uuid4().hex}", "accepted")

    assert sample("hookgate_inbound_deliveries_total", source="dixa", verdict="bad_signature") == before + 1
    assert sample("hookgate_inbound_deliveries_total", source="unknown", verdict="accepted") == unknown_before + 1


def test_subscriber_gauge_follows_connects_and_disconnects() -> None:
    metrics = Metrics()
    metrics.subscriber_connected()
    metrics.subscriber_connected()
    assert metrics.sample("hookgate_subscribers") == 2
    metrics.subscriber_disconnected()
    metrics.subscriber_disconnected()
    assert metrics.sample("hookgate_subscribers") == 0


def test_operation_names_are_truncated_and_capped() -> None:
    metrics = Metrics(max_operation_names=3)
    assert metrics.operation_label(None) == "anonymous"
    assert metrics.operation_label("A" * 500) == "A" * MAX_LABEL_LENGTH
    assert [metrics.operation_label(f"Op{i}") for i in range(4)] == ["Op0", "Op1", "other", "other"]
    assert metrics.operation_label("Op0") == "Op0", "a name seen before keeps its label"


def test_a_requested_operation_the_document_lacks_is_not_a_label(gateway: Gateway) -> None:
    name = f"Invented{uuid.uuid4().hex}"
    response = httpx.post(gateway.graphql_url, json={"query": "query Real { sources { name } }", "operationName": name})
    assert response.json()["errors"]
    assert name not in httpx.get(f"{gateway.url}/metrics").text


def test_errors_are_counted_with_the_code_clients_see(gateway: Gateway) -> None:
    sample = sample_of(gateway)
    before = sample("hookgate_graphql_errors_total", code="BAD_USER_INPUT", source="")
    body = gateway.post("query MetricsInvalid { noSuchField }").json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert sample("hookgate_graphql_errors_total", code="BAD_USER_INPUT", source="") == before + 1
    assert sample(
        "hookgate_graphql_requests_total", operation_type="query", operation_name="MetricsInvalid", outcome="error"
    )
