"""The read side through the real server, with a real GraphQL client, over the sandbox."""

from __future__ import annotations

import httpx

from tests.support.client import codes, errors, execute
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

README_QUERY = """
{
  sources { name provider capabilities circuit }
  webhooks(first: 10) {
    totalCount
    nodes { id source provider url enabled events eventTypes { name group } }
  }
}
"""


async def test_readme_first_query_answers_every_source(gateway: Gateway) -> None:
    result = await execute(gateway.graphql_url, README_QUERY)
    assert result.errors is None
    assert result.data is not None
    assert {s["name"] for s in result.data["sources"]} == {"uipath", "workflowgen", "druid", "dixa", "auco"}
    hooks = result.data["webhooks"]["nodes"]
    assert {h["provider"] for h in hooks} == {"UIPATH", "DIXA", "AUCO"}
    assert result.data["webhooks"]["totalCount"] == len(hooks)
    uipath_4 = next(h for h in hooks if h["source"] == "uipath" and "documentation" in h["url"])
    assert uipath_4["eventTypes"], "event types are joined from the UiPath catalogue"
    assert {t["name"] for t in uipath_4["eventTypes"]} == set(uipath_4["events"])


async def test_failing_source_keeps_other_sources_data(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.fault("dixa", status=503)
    result = await execute(gateway.graphql_url, "{ webhooks { nodes { source } } }")
    assert result.data is not None
    assert {n["source"] for n in result.data["webhooks"]["nodes"]} == {"uipath", "auco"}
    [error] = errors(result)
    assert error["path"] == ["webhooks"]
    assert error["extensions"]["code"] == "UPSTREAM_ERROR"
    assert error["extensions"]["source"] == "dixa"
    assert error["extensions"]["provider"] == "DIXA"
    assert error["extensions"]["status"] == 503


async def test_sources_query_makes_no_upstream_call(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    result = await execute(gateway.graphql_url, "{ sources { name capabilities sandbox circuit } }")
    assert result.errors is None
    assert all(sum(calls.values()) == 0 for calls in sandbox.calls().values())


async def test_webhook_by_id_round_trips_through_node(gateway: Gateway) -> None:
    listing = await execute(gateway.graphql_url, "{ webhooks(provider: UIPATH) { nodes { id url } } }")
    assert listing.data is not None
    first = listing.data["webhooks"]["nodes"][0]
    result = await execute(
        gateway.graphql_url,
        "query($id: ID!) { node(id: $id) { id ... on Webhook { url } } webhook(id: $id) { url } }",
        {"id": first["id"]},
    )
    assert result.data == {"node": {"id": first["id"], "url": first["url"]}, "webhook": {"url": first["url"]}}


async def test_bad_query_is_a_coded_error_not_a_crash(gateway: Gateway) -> None:
    result = await execute(gateway.graphql_url, "{ webhooks { nodes { nope } } }")
    assert result.data is None
    assert codes(result) == ["BAD_USER_INPUT"]
    assert "nope" in errors(result)[0]["message"]


async def test_first_over_the_limit_is_bad_user_input_naming_first(gateway: Gateway) -> None:
    result = await execute(gateway.graphql_url, "{ webhooks(first: 501) { totalCount } }")
    assert codes(result) == ["BAD_USER_INPUT"]
    assert errors(result)[0]["extensions"]["field"] == "first"


def test_body_over_the_limit_is_413(gateway: Gateway) -> None:
    response = httpx.post(gateway.graphql_url, content=b"x" * 1_048_577, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_every_response_carries_a_request_id(gateway: Gateway) -> None:
    response = gateway.post("{ sources { name } }")
    assert response.status_code == 200
    assert len(response.headers["x-request-id"]) >= 16


def test_health_and_readiness(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{gateway.url}/readyz").json()
    assert ready["store"] is True
    assert set(ready["sources"]) == {"uipath", "workflowgen", "druid", "dixa", "auco"}
