"""Client authentication: API keys (SHA-256 or ``env:``), Bearer, scopes per operation type, WebSocket, open mode.

Keys: ``reader`` (read), ``writer`` (write), ``admin`` (read, write, admin), and ``from-env`` given as
``key = "env:NAME"``. Queries and subscriptions need ``read``, mutations ``write``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets
from gql import Client, gql
from gql.transport.exceptions import TransportClosed, TransportConnectionFailed, TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from typer.testing import CliRunner

from gateway import cli
from tests.support.answers import KEYS, api_keys, bearer, codes, errors, upstream_total
from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox

ENV_KEY_NAME = "HOOKGATE_TEST_CLIENT_KEY"
ENV_KEY = "env-key-0123456789abcdef"
QUERY = '{ webhooks(source: "uipath") { totalCount } }'
MUTATION = 'mutation { deleteWebhook(input: {id: "V2ViaG9vazp1aXBhdGg6OTk5OQ"}) { deletedId } }'


@pytest.fixture
def keyed(gateway_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    """A gateway with the four keys; the ``env:`` one is read from the environment when settings are built."""
    monkeypatch.setenv(ENV_KEY_NAME, ENV_KEY)
    keys = api_keys(**{"from-env": {"key": f"env:{ENV_KEY_NAME}", "scopes": ["read"]}})
    return gateway_factory(api_keys=keys)  # type: ignore[no-any-return]


def post(gateway: Gateway, query: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(gateway.graphql_url, json={"query": query}, headers=headers or {}, timeout=30)


# -- HTTP ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-configured-key", "Basic cmVhZGVyOnJlYWRlcg==", "Bearer", "reader-key-0123456789"],
    ids=["missing", "unknown", "basic-scheme", "empty-bearer", "no-scheme"],
)
def test_a_request_without_a_known_key_is_401_unauthenticated(
    keyed: Gateway, sandbox: Sandbox, authorization: str | None
) -> None:
    sandbox.clear_calls()
    headers = {"Authorization": authorization} if authorization is not None else {}

    response = post(keyed, QUERY, headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert codes(response.json()) == ["UNAUTHENTICATED"]
    assert upstream_total(sandbox.calls()) == 0


def test_get_queries_need_a_key_too(keyed: Gateway) -> None:
    params = {"query": "{ sources { name } }"}
    assert httpx.get(keyed.graphql_url, params=params).status_code == 401
    response = httpx.get(keyed.graphql_url, params=params, headers=bearer("reader"))
    assert response.status_code == 200
    assert len(response.json()["data"]["sources"]) == 5


@pytest.mark.parametrize("key", ["reader", "admin"])
def test_a_read_key_may_query(keyed: Gateway, key: str) -> None:
    body = post(keyed, QUERY, bearer(key)).json()
    assert codes(body) == []
    assert body["data"]["webhooks"]["totalCount"] == 2


def test_a_key_given_as_an_env_reference_works(keyed: Gateway) -> None:
    body = post(keyed, QUERY, {"Authorization": f"Bearer {ENV_KEY}"}).json()
    assert codes(body) == []
    assert body["data"]["webhooks"]["totalCount"] == 2


def test_the_bearer_scheme_is_case_insensitive(keyed: Gateway) -> None:
    assert codes(post(keyed, QUERY, {"Authorization": f"bearer {KEYS['reader'][0]}"}).json()) == []


def test_a_write_only_key_may_not_query(keyed: Gateway, sandbox: Sandbox) -> None:
    sandbox.clear_calls()
    response = post(keyed, QUERY, bearer("writer"))
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]
    assert errors(body)[0]["extensions"]["scope"] == "read"
    assert "writer" in errors(body)[0]["message"]
    assert upstream_total(sandbox.calls()) == 0


@pytest.mark.parametrize("key", ["reader", "from-env"])
def test_a_read_only_key_may_not_mutate(keyed: Gateway, sandbox: Sandbox, key: str) -> None:
    sandbox.clear_calls()
    headers = {"Authorization": f"Bearer {ENV_KEY}"} if key == "from-env" else bearer(key)
    body = post(keyed, MUTATION, headers).json()
    assert body["data"] is None
    assert codes(body) == ["FORBIDDEN"]
    assert errors(body)[0]["extensions"]["scope"] == "write"
    assert upstream_total(sandbox.calls()) == 0, "refused before any resolver ran"


@pytest.mark.parametrize("key", ["writer", "admin"])
def test_a_write_key_may_mutate(keyed: Gateway, key: str) -> None:
    body = post(keyed, MUTATION, bearer(key)).json()
    assert "FORBIDDEN" not in codes(body)
    assert codes(body) == ["NOT_FOUND"], "the mutation ran: webhook 9999 does not exist"


def test_health_endpoints_need_no_key(keyed: Gateway) -> None:
    assert httpx.get(f"{keyed.url}/healthz").status_code == 200
    assert httpx.get(f"{keyed.url}/readyz").json() == {"status": "ready", "store": True}


@pytest.mark.parametrize(("key", "detailed"), [(None, False), ("reader", False), ("writer", False), ("admin", True)])
def test_per_source_health_is_for_the_admin_scope(keyed: Gateway, key: str | None, detailed: bool) -> None:
    answer = httpx.get(f"{keyed.url}/readyz", headers=bearer(key) if key else {})
    assert answer.status_code == 200
    sources = answer.json().get("sources")
    assert (sources == dict.fromkeys(("uipath", "workflowgen", "druid", "dixa", "auco"), "CLOSED")) is detailed


def test_a_wrong_key_on_readyz_hides_the_detail_but_not_readiness(keyed: Gateway) -> None:
    answer = httpx.get(f"{keyed.url}/readyz", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "store": True}


def test_with_no_keys_everyone_may_read_and_write(gateway: Gateway) -> None:
    assert codes(post(gateway, QUERY).json()) == []
    assert codes(post(gateway, MUTATION).json()) == ["NOT_FOUND"]


def test_a_key_must_be_stored_one_way_only() -> None:
    from pydantic import ValidationError

    from gateway.config import ApiKey

    with pytest.raises(ValidationError, match="exactly one of key_sha256 and key"):
        ApiKey(name="both", key_sha256="0" * 64, key="x")
    with pytest.raises(ValidationError, match="key_sha256"):
        ApiKey(name="short", key_sha256="abc")


# -- WebSocket (graphql-transport-ws) ----------------------------------------------------------------------------------


def ws_url(gateway: Gateway) -> str:
    return gateway.graphql_url.replace("http://", "ws://")


def ws_transport(gateway: Gateway, payload: dict[str, Any] | None, **kw: Any) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=ws_url(gateway),
        init_payload=payload,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        connect_timeout=5,
        ack_timeout=5,
        **kw,
    )


async def ws_execute(gateway: Gateway, payload: dict[str, Any] | None, query: str, **kw: Any) -> dict[str, Any]:
    """Run one operation over a real graphql-transport-ws client; errors come back as a dict, not an exception."""
    async with Client(transport=ws_transport(gateway, payload, **kw)) as session:
        try:
            return {"data": await session.execute(gql(query))}
        except TransportQueryError as exc:
            return {"data": exc.data, "errors": exc.errors}


@pytest.mark.parametrize(
    "payload",
    [{}, {"authorization": "Bearer not-a-configured-key"}, {"authorization": KEYS["reader"][0]}],
    ids=["no-key", "unknown-key", "no-scheme"],
)
async def test_a_websocket_without_a_known_key_is_closed_4403_at_connection_init(
    keyed: Gateway, payload: dict[str, Any]
) -> None:
    async with websockets.connect(ws_url(keyed), subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403


async def test_a_real_client_is_refused_without_a_key(keyed: Gateway) -> None:
    with pytest.raises((TransportClosed, TransportConnectionFailed)):
        await ws_execute(keyed, {"authorization": "Bearer not-a-configured-key"}, "{ sources { name } }")


async def test_a_websocket_key_in_connection_init_is_checked_for_scopes(keyed: Gateway) -> None:
    reader = {"authorization": f"Bearer {KEYS['reader'][0]}"}
    writer = {"Authorization": f"Bearer {KEYS['writer'][0]}"}

    assert len((await ws_execute(keyed, reader, "{ sources { name } }"))["data"]["sources"]) == 5
    refused = await ws_execute(keyed, reader, MUTATION)
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    refused = await ws_execute(keyed, writer, "{ sources { name } }")
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"]


async def test_a_websocket_may_send_its_key_as_a_header(keyed: Gateway) -> None:
    result = await ws_execute(keyed, None, "{ sources { name } }", headers=bearer("reader"))
    assert len(result["data"]["sources"]) == 5


def _uipath_delivery(event_id: str) -> tuple[bytes, dict[str, str]]:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # an older Timestamp is refused as a replay
    body = orjson.dumps({"Type": "job.created", "EventId": event_id, "Timestamp": now})
    signature = base64.b64encode(hmac.new(b"sandbox-uipath-secret", body, hashlib.sha256).digest()).decode()
    return body, {"X-UiPath-Signature": signature, "Content-Type": "application/json"}


async def test_subscriptions_need_the_read_scope(keyed: Gateway) -> None:
    subscription = gql('subscription { events(source: "uipath") { type source } }')

    async with Client(transport=ws_transport(keyed, {"Authorization": f"Bearer {KEYS['writer'][0]}"})) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(subscription):
                pass
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "FORBIDDEN"

    async with Client(transport=ws_transport(keyed, {"authorization": f"Bearer {KEYS['reader'][0]}"})) as session:
        events = session.subscribe(subscription)
        first = asyncio.ensure_future(anext(events))
        # A live subscription sees only what arrives after it is registered, which the client cannot observe:
        # deliver until one reaches it (each delivery is a distinct event).
        async with httpx.AsyncClient() as client:
            for attempt in range(50):
                body, headers = _uipath_delivery(f"auth-test-{attempt}-{time.monotonic_ns()}")
                delivered = await client.post(f"{keyed.url}/hooks/uipath", content=body, headers=headers)
                assert delivered.status_code == 200, delivered.text
                done, _ = await asyncio.wait({first}, timeout=0.2)
                if done:
                    break
        event = await asyncio.wait_for(first, 5)
        await events.aclose()
    assert event == {"events": {"type": "job.created", "source": "uipath"}}


# -- open mode: loopback only, and it says so ------------------------------------------------------------------------


def _serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox, *args: str, keys: bool) -> Any:
    """``hookgate serve`` with the server replaced: returns (exit code, output, the host it would have bound)."""
    from gateway import server
    from tests.support.answers import sha256
    from tests.support.sandbox import sources

    lines = [f'store = "sqlite:///{tmp_path}/hookgate.db"']
    if keys:
        lines += ["[[api_keys]]", 'name = "ops"', f'key_sha256 = "{sha256("ops-key-0123456789")}"', 'scopes = ["read"]']
    for name, source in sources(sandbox.url).items():
        lines.append(f"[sources.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in source.items()]
    config = tmp_path / "hookgate.toml"
    config.write_text("\n".join(lines) + "\n")
    bound: dict[str, Any] = {}
    monkeypatch.setattr(server, "serve", lambda config: bound.update(host=config.host))
    monkeypatch.setenv("HOOKGATE_CONFIG", str(config))  # serve sets it; monkeypatch puts it back afterwards
    result = CliRunner().invoke(cli.app, ["serve", "--config", str(config), *args])
    return result.exit_code, result.output, bound.get("host")


def test_with_no_keys_serve_binds_loopback_only_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    code, output, host = _serve(tmp_path, monkeypatch, sandbox, "--host", "0.0.0.0", keys=False)
    assert code == 0, output
    assert host == "127.0.0.1"
    assert "no API keys configured, so the gateway listens on 127.0.0.1 only" in output


def test_with_keys_serve_binds_where_it_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox: Sandbox
) -> None:
    code, output, host = _serve(tmp_path, monkeypatch, sandbox, "--host", "0.0.0.0", keys=True)
    assert code == 0, output
    assert host == "0.0.0.0"
    assert "127.0.0.1 only" not in output


def test_an_open_gateway_warns_at_start(gateway_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="hookgate")
    gateway_factory()
    assert any("no API keys configured" in r.getMessage() for r in caplog.records)
