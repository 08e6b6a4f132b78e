"""Generated operations (hypothesis-graphql) against the in-process app over the sandbox: no server errors, ever.

At least 1,000 valid operations (queries and mutations, ``Mode.POSITIVE``) and 1,000 invalid ones (one schema
violation each, ``Mode.NEGATIVE``, plus malformed text) go through the whole ASGI app (httpx.ASGITransport, the
app's lifespan run by asgi-lifespan) while the sandbox answers over real HTTP. Every answer must be a GraphQL answer:
no 5xx, no ``INTERNAL``, every error coded from the fixed list. Invalid operations must be refused before any
upstream call: the sandbox's call counts do not move.

Bounded and repeatable: ``derandomize=True`` (the same operations every run), no example database, no shrinking
(each test collects its failures and reports the first few itself, so every example runs exactly once).
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, nodes

from gateway.errors import ERROR_CODES
from schema.schema import build_schema
from tests.support.answers import upstream_total
from tests.support.gateway import asgi_client
from tests.support.sandbox import Sandbox

EXAMPLES = 1000
SCHEMA = build_schema()._schema

_JSON_LEAF = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(nodes.Int),
    st.text(string.printable, max_size=20).map(nodes.String),
    st.booleans().map(lambda b: graphql.BooleanValueNode(value=b)),
)
#: Strings and numbers the sandbox knows (source names, ids, event names...), half the time: with only random text,
#: nearly every operation stops at "unknown source" and the resolvers behind that check are never reached.
KNOWN_STRINGS = (
    "uipath",
    "workflowgen",
    "druid",
    "dixa",
    "auco",
    "bot-1",
    "EXPENSE_CLAIM",
    "APPROVAL",
    "wfgen_admin",
    "process.created",
    "ConversationCreated",
    "https://example.com/hook",
    "V2ViaG9vazp1aXBhdGg6NA",  # Webhook:uipath:4
    "V2ViaG9vazpkaXhhOjE",
)
CUSTOM_SCALARS = {
    "DateTime": st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)).map(
        lambda d: nodes.String(d.isoformat())
    ),
    "JSON": st.one_of(
        _JSON_LEAF,
        st.lists(
            st.tuples(st.sampled_from(["a", "b", "data"]), _JSON_LEAF).map(
                lambda kv: graphql.ObjectFieldNode(name=graphql.NameNode(value=kv[0]), value=kv[1])
            ),
            max_size=3,
            unique_by=lambda field: field.name.value,
        ).map(nodes.Object),
    ),
}

#: For valid operations only: the negative mode makes its violations out of the built-in scalars itself.
KNOWN_SCALARS = {
    **CUSTOM_SCALARS,
    "String": st.one_of(st.sampled_from(KNOWN_STRINGS), st.text(string.printable, max_size=30)).map(nodes.String),
    "ID": st.one_of(st.sampled_from(KNOWN_STRINGS[-2:]), st.text(string.printable, max_size=30)).map(nodes.String),
    "Int": st.one_of(st.integers(0, 5), st.integers(-(2**31), 2**31 - 1)).map(nodes.Int),
}

BOUNDED = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


class Harness:
    """One app for a whole test: sends each operation on one event loop and keeps what went wrong."""

    def __init__(self, runner: asyncio.Runner, client: httpx.AsyncClient) -> None:
        self.runner = runner
        self.client = client
        self.sent = 0
        self.failures: list[str] = []

    def send(self, query: str, check: Callable[[dict[str, Any]], str | None] | None = None) -> None:
        self.sent += 1
        response = self.runner.run(self.client.post("/graphql", json={"query": query}))
        problem = _server_error(response)
        if problem is None and check is not None:
            problem = check(response.json())
        if problem is not None:
            self.failures.append(f"{problem}\n--- operation ---\n{query[:2000]}")

    def assert_clean(self) -> None:
        assert not self.failures, f"{len(self.failures)} of {self.sent} failed; the first:\n\n" + "\n\n".join(
            self.failures[:3]
        )


def _server_error(response: httpx.Response) -> str | None:
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:500]}"
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code} with a body that is not JSON: {response.text[:200]}"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL" or code not in ERROR_CODES:
            return f"HTTP {response.status_code}, error coded {code!r}: {error}"
    if response.status_code != 200 and not body.get("errors"):
        return f"HTTP {response.status_code} without errors: {body}"
    return None


def _refused_before_execution(body: dict[str, Any]) -> str | None:
    codes = {(e.get("extensions") or {}).get("code") for e in body.get("errors") or []}
    if body.get("data") is not None or codes != {"BAD_USER_INPUT"}:
        return f"an invalid operation was not refused as BAD_USER_INPUT before execution: {body}"
    return None


@pytest.fixture
def harness(sandbox: Sandbox) -> Iterator[Harness]:
    with asyncio.Runner() as runner:
        gateway = asgi_client(sandbox.url)
        client, _ = runner.run(gateway.__aenter__())
        try:
            yield Harness(runner, client)
        finally:
            runner.run(gateway.__aexit__(None, None, None))


def test_generated_valid_operations_never_make_a_server_error(harness: Harness, sandbox: Sandbox) -> None:
    @BOUNDED
    @given(from_schema(SCHEMA, custom_scalars=KNOWN_SCALARS))
    def valid(query: str) -> None:
        harness.send(query)

    valid()

    assert harness.sent >= EXAMPLES
    harness.assert_clean()
    # Many arguments still name no source or ask for too large a page; with KNOWN_STRINGS about 400 calls go out.
    assert upstream_total(sandbox.calls()) > 100, "the valid operations did run against the backends"


def test_generated_invalid_operations_are_refused_without_an_upstream_call(harness: Harness, sandbox: Sandbox) -> None:
    before = sandbox.calls()

    @BOUNDED
    @given(from_schema(SCHEMA, custom_scalars=CUSTOM_SCALARS, mode=Mode.NEGATIVE))
    def invalid(query: str) -> None:
        harness.send(query, _refused_before_execution)

    @settings(BOUNDED, max_examples=200)
    @given(st.text(string.printable, max_size=200))
    def malformed(query: str) -> None:
        harness.send(query, _refused_before_execution)

    invalid()
    malformed()

    assert harness.sent >= EXAMPLES + 200
    harness.assert_clean()
    assert upstream_total(sandbox.calls()) == upstream_total(before), "an invalid operation reached a backend"
