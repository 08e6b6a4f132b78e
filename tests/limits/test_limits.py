"""GraphQL limits and production mode, in process (ASGI) over the sandbox: refused before any upstream call.

Defaults (gateway/config.py ``Limits``): depth 12, aliases 30, tokens 5000, cost 20000, directives 50, body
1 MiB, ``first`` 500. Every refusal is ``BAD_USER_INPUT`` (413 and 400 for what is refused before GraphQL runs).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import get_introspection_query

from gateway.errors import ERROR_CODES
from tests.support.answers import codes, errors, post, upstream_total
from tests.support.gateway import asgi_client
from tests.support.sandbox import Sandbox

DASHBOARD = "{ webhooks(first: 200) { nodes { id url events eventTypes { name group } deliveryStatuses { event } } } }"
EVERYTHING = """
{ webhooks { nodes {
    id source provider providerId name url enabled subscribeToAllEvents events hasSecret allowInsecureSsl
    authorizationType createdAt updatedAt
    eventTypes { provider source name group description }
    deliveryStatuses { event lastDelivery { deliveredAt success responseCode responseText } }
} } }
"""


def nested(depth: int) -> str:
    """``{ action { request { actions { request ... { id } } } } }``: ``depth`` fields deep (the first is depth 0)."""
    names = ['action(id: "x")'] + ["request" if i % 2 else "actions" for i in range(1, depth - 1)]
    return "{ " + " { ".join(names) + " { id" + " }" * (depth - 1) + " }"


def refused(body: dict[str, Any], fragment: str) -> None:
    """Refused before execution, every error a BAD_USER_INPUT, one of them saying ``fragment``."""
    assert body["data"] is None
    assert codes(body), body
    assert set(codes(body)) == {"BAD_USER_INPUT"}, errors(body)
    assert any(fragment in e["message"] for e in errors(body)), errors(body)


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[Any]:
    async with asgi_client(sandbox.url) as (client, _):
        yield client


# -- depth, aliases, tokens, directives --------------------------------------------------------------------------------


async def test_depth_over_the_limit_is_refused_without_an_upstream_call(client: Any, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    _, body = await post(client, nested(14))
    refused(body, "exceeds maximum operation depth of 12")
    assert upstream_total(sandbox.calls()) == 0


async def test_depth_is_configurable(sandbox: Sandbox) -> None:
    async with asgi_client(sandbox.url, limits={"max_depth": 2}) as (client, _):
        _, body = await post(client, "{ webhooks { nodes { eventTypes { name } } } }")
        refused(body, "exceeds maximum operation depth of 2")
        _, body = await post(client, "{ webhooks { nodes { id } } }")
        assert codes(body) == []


async def test_aliases_over_the_limit_are_refused(client: Any) -> None:
    _, body = await post(client, "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }")
    refused(body, "31 aliases found. Allowed: 30")
    _, body = await post(client, "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }")
    assert codes(body) == []


async def test_tokens_over_the_limit_are_refused(client: Any) -> None:
    _, body = await post(client, "{ " + "__typename " * 5001 + "}")
    refused(body, "more than 5000 tokens")


async def test_directives_over_the_limit_are_refused(client: Any) -> None:
    _, body = await post(client, "{ " + "__typename @include(if: true) " * 51 + "}")
    refused(body, "more than 50 directives (limits.max_directives)")
    assert errors(body)[0]["extensions"] == {"code": "BAD_USER_INPUT", "limit": "max_directives", "maximum": 50}
    _, body = await post(client, "{ " + "__typename @include(if: true) " * 50 + "}")
    assert codes(body) == []


# -- cost ----------------------------------------------------------------------------------------------------------


async def test_the_dashboard_query_passes_the_cost_limit(client: Any) -> None:
    _, body = await post(client, DASHBOARD)
    assert codes(body) == []
    assert body["data"]["webhooks"]["nodes"]


async def test_graphiql_introspection_passes_the_cost_limit(client: Any) -> None:
    _, body = await post(client, get_introspection_query(descriptions=True, specified_by_url=True))
    assert codes(body) == []


async def test_an_expensive_query_is_refused_naming_the_limit(client: Any, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    _, body = await post(client, EVERYTHING)
    refused(body, "exceeds the limit of 20000 (limits.max_cost)")
    extensions = errors(body)[0]["extensions"]
    assert extensions["limit"] == "max_cost"
    assert extensions["maximum"] == 20000
    assert extensions["cost"] > 20000
    assert upstream_total(sandbox.calls()) == 0


async def test_paging_brings_an_expensive_query_under_the_limit(client: Any) -> None:
    _, body = await post(client, EVERYTHING.replace("webhooks {", "webhooks(first: 100) {"))
    assert codes(body) == []


async def test_first_given_as_a_variable_counts_as_the_largest_page(client: Any) -> None:
    query = EVERYTHING.replace("{ webhooks {", "query($n: Int) { webhooks(first: $n) {")
    _, body = await post(client, query, {"n": 1})
    refused(body, "limits.max_cost")


async def test_fragments_count_where_they_are_spread(client: Any) -> None:
    query = """
    query { webhooks { nodes { ...Hook } } }
    fragment Hook on Webhook { id url eventTypes { ...Type } deliveryStatuses { event lastDelivery { ...Delivery } } }
    fragment Type on EventType { provider source name group description }
    fragment Delivery on DeliveryDetail { deliveredAt success responseCode responseText }
    """
    _, body = await post(client, query)
    refused(body, "limits.max_cost")


async def test_a_huge_first_is_refused_with_an_answer_not_a_crash(client: Any) -> None:
    """Found by the fuzz test: an unbounded estimate (above 2**64) once made the JSON encoder fail with a 500."""
    status, body = await post(client, "{ webhooks(first: 99999999999999999999999) { nodes { eventTypes { name } } } }")
    assert status == 200
    refused(body, "limits.max_cost")


async def test_the_cost_limit_is_configurable(sandbox: Sandbox) -> None:
    async with asgi_client(sandbox.url, limits={"max_cost": 50}) as (client, _):
        _, body = await post(client, "{ webhooks(first: 10) { nodes { id url } } }")
        assert codes(body) == []
        _, body = await post(client, DASHBOARD)
        refused(body, "exceeds the limit of 50 (limits.max_cost)")


# -- body size, first, batching, malformed requests -----------------------------------------------------------------


async def test_a_body_over_the_limit_is_413_whether_declared_or_streamed(sandbox: Sandbox) -> None:
    async with asgi_client(sandbox.url, limits={"max_body_bytes": 2048}) as (client, _):
        big = b'{"query": "{ __typename }", "pad": "' + b"x" * 3000 + b'"}'
        declared = await client.post("/graphql", content=big, headers={"content-type": "application/json"})

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(big), 512):
                yield big[start : start + 512]

        streamed = await client.post("/graphql", content=chunks(), headers={"content-type": "application/json"})
        hook = await client.post("/hooks/uipath", content=big, headers={"content-type": "application/json"})
    for response in (declared, streamed, hook):
        assert response.status_code == 413
    for response in (declared, streamed):
        assert codes(response.json()) == ["BAD_USER_INPUT"]


async def test_first_over_the_cap_is_refused_naming_first(sandbox: Sandbox) -> None:
    async with asgi_client(sandbox.url, limits={"max_first": 5}) as (client, _):
        _, body = await post(client, "{ webhooks(first: 6) { totalCount } }")
        assert codes(body) == ["BAD_USER_INPUT"]
        assert errors(body)[0]["extensions"]["field"] == "first"
        _, body = await post(client, "{ webhooks(first: 5) { totalCount } }")
        assert codes(body) == []


async def test_a_batch_is_refused_with_a_coded_400_and_nothing_runs(client: Any, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    response = await client.post("/graphql", json=[{"query": "{ webhooks { totalCount } }"}] * 2)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert codes(response.json()) == ["BAD_USER_INPUT"]
    assert "batched requests" in errors(response.json())[0]["message"]
    assert upstream_total(sandbox.calls()) == 0


@pytest.mark.parametrize(
    ("method", "kwargs", "status"),
    [
        ("POST", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ("POST", {"json": {"variables": {}}}, 400),
        ("POST", {"content": b"query=x", "headers": {"content-type": "text/csv"}}, 415),
        ("GET", {"params": {"query": 'mutation { deleteWebhook(input: {id: "x"}) { deletedId } }'}}, 405),
    ],
    ids=["bad-json", "no-query", "unsupported-content-type", "mutation-over-get"],
)
async def test_malformed_requests_get_a_coded_json_error(
    client: Any, method: str, kwargs: dict[str, Any], status: int
) -> None:
    response = await client.request(method, "/graphql", **kwargs)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert codes(response.json()) == ["BAD_USER_INPUT"]


# -- suggestions and introspection ----------------------------------------------------------------------------------

#: A typo, its variables, and the name a suggestion would give away.
TYPOS = [
    ("{ webhoks { totalCount } }", {}, "'webhooks'"),
    ("{ webhooks(frist: 1) { totalCount } }", {}, "'first'"),
    ("{ webhooks(provider: UIPAT) { totalCount } }", {}, "UIPATH"),
    ("query($p: Provider) { webhooks(provider: $p) { totalCount } }", {"p": "UIPAT"}, "UIPATH"),
    ("{ webhooks { nodes { ...F } } } fragment F on Webhok { id }", {}, "'Webhook'"),
    ("{ webhooks { nodes { eventTypes } } }", {}, "{ ... }"),
]


@pytest.mark.parametrize(("query", "variables", "suggested"), TYPOS)
async def test_suggestions_are_given_in_development(
    client: Any, query: str, variables: dict[str, Any], suggested: str
) -> None:
    _, body = await post(client, query, variables)
    messages = " ".join(e["message"] for e in errors(body))
    assert "Did you mean" in messages
    assert suggested in messages


@pytest.mark.parametrize(("query", "variables", "suggested"), TYPOS)
async def test_no_suggestions_in_production(
    sandbox: Sandbox, query: str, variables: dict[str, Any], suggested: str
) -> None:
    async with asgi_client(sandbox.url, production=True) as (client, _):
        _, body = await post(client, query, variables)
    assert codes(body)
    assert set(codes(body)) == {"BAD_USER_INPUT"}
    messages = " ".join(e["message"] for e in errors(body))
    assert "Did you mean" not in messages
    assert suggested not in messages


INTROSPECTION = ["{ __schema { queryType { name } } }", '{ __type(name: "Webhook") { fields { name } } }']


@pytest.mark.parametrize("query", INTROSPECTION)
async def test_introspection_is_off_in_production(sandbox: Sandbox, query: str) -> None:
    async with asgi_client(sandbox.url, production=True) as (client, _):
        _, body = await post(client, query)
        assert body["data"] is None
        assert set(codes(body)) == {"BAD_USER_INPUT"}
        assert "introspection has been disabled" in errors(body)[0]["message"]
        _, body = await post(client, "{ __typename sources { __typename name } }")
        assert codes(body) == [], "__typename is not introspection"


@pytest.mark.parametrize("query", INTROSPECTION)
async def test_introspection_is_on_in_development(client: Any, query: str) -> None:
    _, body = await post(client, query)
    assert codes(body) == []


async def test_graphiql_is_served_in_development_only(sandbox: Sandbox) -> None:
    page = {"accept": "text/html"}
    async with asgi_client(sandbox.url) as (client, _):
        development = await client.get("/graphql", headers=page)
    async with asgi_client(sandbox.url, production=True) as (client, _):
        production = await client.get("/graphql", headers=page)
    assert development.status_code == 200
    assert "graphiql" in development.text.lower()
    assert production.status_code == 404
    assert "graphiql" not in production.text.lower()


# -- masked errors --------------------------------------------------------------------------------------------------


class Boom(RuntimeError):
    pass


async def _raise(*_args: Any, **_kw: Any) -> Any:
    raise Boom("connection string postgres://admin:hunter2@db/prod is wrong")


@pytest.mark.parametrize(
    ("method", "query"),
    [
        ("get_webhooks", '{ webhook(id: "V2ViaG9vazp1aXBhdGg6NA") { url } }'),
        ("list_webhooks", '{ webhooks(source: "uipath") { totalCount } }'),
    ],
    ids=["by-id", "list"],
)
async def test_production_masks_unexpected_errors_with_a_request_id_in_the_log(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, method: str, query: str
) -> None:
    caplog.set_level(logging.ERROR)
    async with asgi_client(sandbox.url, production=True) as (client, services):
        monkeypatch.setattr(services.adapters["uipath"], method, _raise)
        response = await client.post("/graphql", json={"query": query})

    assert response.status_code == 200
    [error] = errors(response.json())
    assert error["extensions"]["code"] == "INTERNAL"
    request_id = response.headers["x-request-id"]
    assert error["extensions"]["requestId"] == request_id
    assert "hunter2" not in response.text
    assert "Boom" not in response.text
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == request_id and r.exc_info]
    assert logged, "the traceback is logged under the request id"
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], Boom)


def test_every_code_a_client_may_see_is_in_the_fixed_list() -> None:
    assert set(ERROR_CODES) == {
        "BAD_USER_INPUT",
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "NOT_FOUND",
        "CAPABILITY_UNSUPPORTED",
        "UPSTREAM_ERROR",
        "UPSTREAM_UNAVAILABLE",
        "UPSTREAM_TIMEOUT",
        "CIRCUIT_OPEN",
        "RATE_LIMITED",
        "INTERNAL",
    }
