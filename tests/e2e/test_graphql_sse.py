"""Subscriptions over Server-Sent Events (graphql-sse, distinct connections mode) against a served gateway: the npm
``graphql-sse`` client run by node, and an httpx client speaking the documented protocol (``next`` events, then
``complete``), with the same API key, replay and live hub as the WebSocket.

The client's pinned versions are in ``graphql_sse/package.json``; ``npm install`` puts them in that folder's
``node_modules`` (git-ignored) the first time.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.events import uipath_delivery
from tests.support.gateway import Gateway, GatewayFactory

CLIENT_DIR = Path(__file__).parent / "graphql_sse"
EVENTS = 'subscription Live($after: String) { events(source: "uipath", after: $after) { cursor type } }'


def _installed() -> bool:
    wanted = json.loads((CLIENT_DIR / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        manifest = CLIENT_DIR / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


@pytest.fixture(scope="module")
def sse_client() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the graphql-sse client")
    if not _installed():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--prefix", str(CLIENT_DIR)],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return CLIENT_DIR / "subscribe.mjs"


def _subscribers(gateway: Gateway) -> float:
    return gateway.runtime.metrics.sample("hookgate_subscribers")


def _wait_for(predicate: Any, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _deliver(gateway: Gateway, count: int) -> list[str]:
    ids = [f"sse-{uuid.uuid4().hex}" for _ in range(count)]
    for event_id in ids:
        body, headers = uipath_delivery(event_id)
        httpx.post(f"{gateway.url}/hooks/uipath", content=body, headers=headers, timeout=10).raise_for_status()
    return ids


def _node(script: Path, url: str, key: str, query: str, variables: dict[str, Any], count: int) -> Any:
    return subprocess.Popen(
        ["node", str(script), url, key, query, json.dumps(variables), str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _results(process: Any) -> list[dict[str, Any]]:
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.fixture
def keyed(gateway_factory: GatewayFactory) -> tuple[Gateway, str]:
    key = uuid.uuid4().hex
    gateway = gateway_factory(
        api_keys=[{"name": "frontend", "key_sha256": hashlib.sha256(key.encode()).hexdigest(), "scopes": ["read"]}]
    )
    return gateway, key


def test_the_graphql_sse_client_receives_live_events_with_the_api_key(
    sse_client: Path, keyed: tuple[Gateway, str]
) -> None:
    gateway, key = keyed
    process = _node(sse_client, f"{gateway.url}/graphql/stream", key, EVENTS, {}, 2)
    _wait_for(lambda: _subscribers(gateway) == 1 or process.poll() is not None)
    _deliver(gateway, 2)
    results = _results(process)
    assert [r["data"]["events"]["type"] for r in results] == ["job.completed", "job.completed"], results
    _wait_for(lambda: _subscribers(gateway) == 0)  # the client closed the stream: the subscription ended


def test_the_graphql_sse_client_is_refused_without_the_key(sse_client: Path, keyed: tuple[Gateway, str]) -> None:
    gateway, _ = keyed
    [result] = _results(_node(sse_client, f"{gateway.url}/graphql/stream", "wrong", EVENTS, {}, 1))
    assert "clientError" in result
    assert _subscribers(gateway) == 0


def test_the_graphql_sse_client_replays_after_a_cursor_then_goes_live(sse_client: Path, gateway: Gateway) -> None:
    _deliver(gateway, 3)
    first = gateway.post("{ inboundEvents(first: 1) { nodes { cursor } } }").json()
    after = first["data"]["inboundEvents"]["nodes"][0]["cursor"]
    process = _node(sse_client, f"{gateway.url}/graphql", "", EVENTS, {"after": after}, 3)
    _wait_for(lambda: _subscribers(gateway) == 1 or process.poll() is not None)
    _deliver(gateway, 1)
    cursors = [r["data"]["events"]["cursor"] for r in _results(process)]
    assert len(cursors) == 3
    assert cursors == sorted(cursors)
    assert after not in cursors


def _stream(gateway: Gateway, method: str, path: str = "/graphql/stream", **kwargs: Any) -> list[tuple[str, str]]:
    """The (event, data) pairs of a finite SSE answer."""
    with httpx.stream(method, f"{gateway.url}{path}", timeout=30, **kwargs) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode()
    events = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) if ": " in line else (line.rstrip(":"), "") for line in block.splitlines())
        if "event" in fields:
            events.append((fields["event"], fields.get("data", "")))
    return events


def test_a_query_is_one_next_event_then_complete(gateway: Gateway) -> None:
    events = _stream(gateway, "GET", params={"query": "{ sources { name } }"})
    assert [name for name, _ in events] == ["next", "complete"]
    assert {s["name"] for s in orjson.loads(events[0][1])["data"]["sources"]} >= {"uipath", "dixa"}


def test_refusals_before_execution_come_as_a_next_event(gateway: Gateway) -> None:
    """As the protocol asks: on an accepted stream, with the gateway's codes and fields."""
    cases = [
        ("POST", {"content": b"not json"}, "body"),
        ("POST", {"json": {"query": "subscription { events { nope } }"}}, None),
        ("GET", {"params": {"query": 'mutation { deleteWebhook(id: "x") { deletedId } }'}}, "query"),
        ("POST", {"json": {"query": "{ sources { name } }", "variables": [1]}}, "variables"),
    ]
    for method, kwargs, field in cases:
        events = _stream(gateway, method, **kwargs)
        assert [name for name, _ in events] == ["next", "complete"], (kwargs, events)
        payload = orjson.loads(events[0][1])
        assert "data" not in payload or payload["data"] is None
        [error] = payload["errors"]
        assert error["extensions"]["code"] in ("BAD_USER_INPUT", "GRAPHQL_VALIDATION_FAILED"), error
        if field is not None:
            assert error["extensions"]["field"] == field, error


def test_accept_event_stream_at_graphql_is_the_same_transport(gateway: Gateway) -> None:
    events = _stream(
        gateway,
        "POST",
        "/graphql",
        json={"query": "{ sources { name } }"},
        headers={"accept": "text/event-stream"},
    )
    assert [name for name, _ in events] == ["next", "complete"]


def test_a_plain_http_subscription_still_points_to_the_streaming_transports(gateway: Gateway) -> None:
    body = gateway.post("subscription { events { cursor } }").json()
    assert "graphql-sse" in body["errors"][0]["message"]
