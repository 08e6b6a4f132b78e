"""The GraphiQL page over HTTP: served from the gateway's own assets, off in production, usable with API keys."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx
from graphql import parse, validate

from gateway.ide import EXAMPLE_OPERATIONS, STATIC_DIR, STATIC_PREFIX
from schema.schema import build_schema
from tests.support.gateway import Gateway

BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


def test_page_loads_only_the_gateways_own_assets(gateway: Gateway) -> None:
    page = httpx.get(gateway.graphql_url, headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assets = [a for a in _assets(page.text) if not a.startswith("data:")]
    assert assets, "the page names its scripts and styles"
    assert all(a.startswith(f"{STATIC_PREFIX}/") for a in assets), assets
    for asset in assets:
        response = httpx.get(gateway.url + asset)
        assert response.status_code == 200, asset
        assert response.headers["content-type"].split(";")[0] in ("text/javascript", "text/css"), asset


def test_committed_assets_match_their_checksums() -> None:
    """fetch_assets.sh writes SHA256SUMS; a hand edit of a bundle (or a half-finished upgrade) shows up here."""
    sums = (STATIC_DIR / "SHA256SUMS").read_text().split("\n")
    checked = 0
    for line in filter(None, sums):
        digest, name = line.split(maxsplit=1)
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
        checked += 1
    assert checked >= 4
    assert (STATIC_DIR / "licenses" / "graphiql.LICENSE").is_file()
    assert "graphiql 3." in (STATIC_DIR / "VERSIONS").read_text()


def test_production_serves_no_graphiql(gateway_factory: Any) -> None:
    gateway: Gateway = gateway_factory(production=True)
    assert httpx.get(gateway.graphql_url, headers=BROWSER).status_code == 404
    assert httpx.get(f"{gateway.url}{STATIC_PREFIX}/graphiql.min.js").status_code == 404


def test_page_opens_without_a_key_but_operations_still_need_one(gateway_factory: Any) -> None:
    key = "experience-key-0123456789"
    digest = hashlib.sha256(key.encode()).hexdigest()
    gateway: Gateway = gateway_factory(api_keys=[{"name": "person", "key_sha256": digest, "scopes": ["read"]}])

    page = httpx.get(gateway.graphql_url, headers=BROWSER)
    assert page.status_code == 200
    assert "Bearer \\u003cyour API key>" in page.text, "the headers editor starts with a placeholder for the key"
    assert httpx.get(f"{gateway.url}{STATIC_PREFIX}/react.production.min.js").status_code == 200

    # Only the page: a query over GET, or any POST, still needs the key.
    assert httpx.get(gateway.graphql_url, params={"query": "{ sources { name } }"}, headers=BROWSER).status_code == 401
    assert gateway.post("{ sources { name } }").status_code == 401
    authorized = gateway.post("{ sources { name } }", headers={"authorization": f"Bearer {key}"})
    assert authorized.status_code == 200
    assert authorized.json()["data"]["sources"]


def test_example_operations_are_valid_against_the_schema() -> None:
    schema = build_schema()._schema
    assert validate(schema, parse(EXAMPLE_OPERATIONS)) == []


def test_example_mutation_starts_a_request(gateway: Gateway) -> None:
    response = httpx.post(
        gateway.graphql_url,
        json={"query": EXAMPLE_OPERATIONS, "operationName": "CreateExpenseClaim"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    request = body["data"]["createRequest"]["request"]
    assert request["processName"] == "EXPENSE_CLAIM"
    assert request["actions"][0]["name"] == "APPROVAL"
