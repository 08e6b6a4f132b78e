"""GraphQL over HTTP media types through the real server: ``application/graphql-response+json`` when asked for, with
4xx for request errors, and the legacy ``application/json`` behaviour (always 200, ``data`` present) otherwise."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.media import GRAPHQL_RESPONSE_JSON, JSON, preferred_media_type
from tests.support.answers import api_keys, bearer, codes, upstream_total
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

NEW = {"Accept": GRAPHQL_RESPONSE_JSON}
BOTH = {"Accept": f"{GRAPHQL_RESPONSE_JSON}, {JSON};q=0.9"}
LEGACY = {"Accept": JSON}


def post(gateway: Gateway, query: str, headers: dict[str, str], variables: dict[str, Any] | None = None) -> Any:
    return httpx.post(gateway.graphql_url, json={"query": query, "variables": variables}, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, {JSON};q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),  # a tie goes to the one named explicitly
        (f"{JSON}, {GRAPHQL_RESPONSE_JSON};q=0.5", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=0", JSON),
        (f"{GRAPHQL_RESPONSE_JSON};q=oops", JSON),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE_JSON),
        ("text/html", JSON),
    ],
)
def test_the_accept_header_picks_the_media_type(accept: str | None, expected: str) -> None:
    assert preferred_media_type(accept) == expected


def test_an_executed_query_is_200_in_the_new_media_type(gateway: Gateway) -> None:
    answer = post(gateway, "{ sources { name } }", BOTH)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    assert answer.headers["vary"] == "Accept"
    assert {s["name"] for s in answer.json()["data"]["sources"]} >= {"uipath", "dixa"}


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ sources { name ", None),  # does not parse
        ("{ sources { nope } }", None),  # does not validate
        ('query($first: Int!) { webhooks(source: "uipath", first: $first) { totalCount } }', {"first": "x"}),
    ],
    ids=["parse", "validation", "variables"],
)
def test_a_request_error_is_400_without_data_and_reaches_no_backend(
    gateway: Gateway, sandbox: Sandbox, query: str, variables: dict[str, Any] | None
) -> None:
    before = upstream_total(sandbox.calls())
    answer = post(gateway, query, NEW, variables)
    assert answer.status_code == 400
    assert answer.headers["content-type"] == GRAPHQL_RESPONSE_JSON
    body = answer.json()
    assert "data" not in body
    assert codes(body) == ["BAD_USER_INPUT"]
    assert upstream_total(sandbox.calls()) == before


def test_the_legacy_media_type_keeps_200_and_data_for_a_request_error(gateway: Gateway) -> None:
    for headers in (LEGACY, {}):
        answer = post(gateway, "{ sources { nope } }", headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith(JSON)
        assert answer.json()["data"] is None


def test_a_failed_field_is_still_200_with_partial_data(gateway: Gateway, sandbox: Sandbox) -> None:
    sandbox.fault("dixa", status=503, rate=1)
    answer = post(gateway, '{ sources { name } dixa: webhooks(source: "dixa") { totalCount } }', NEW)
    assert answer.status_code == 200
    body = answer.json()
    assert body["data"]["sources"], "the rest of the answer is there"
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["dixa"], "UPSTREAM_ERROR")]


def test_a_missing_scope_is_403(gateway_factory: Any) -> None:
    keyed: Gateway = gateway_factory(api_keys=api_keys())
    mutation = 'mutation { deleteWebhook(input: {id: "V2ViaG9vazp1aXBhdGg6OTk5OQ"}) { deletedId } }'
    answer = post(keyed, mutation, {**NEW, **bearer("reader")})
    assert answer.status_code == 403
    assert codes(answer.json()) == ["FORBIDDEN"]
    assert post(keyed, mutation, {**LEGACY, **bearer("reader")}).status_code == 200
