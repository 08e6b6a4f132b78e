"""The secret canary: every credential carries a marker, the suite's scenarios run, and the marker is found nowhere.

Two gateways over the sandbox, each run through the same scenarios (queries across sources, mutations that send
webhook secrets and basic-auth passwords, inbound deliveries, faults, refused clients):

- *accepted*: the marker is in every credential the sandbox does not check (the inbound webhook secrets, the
  Standard Webhooks secrets, the client API key), so the happy paths run with it;
- *refused*: every upstream credential is wrong and carries the marker (UiPath token and OAuth client secret,
  WorkflowGen hook token and password, DRUID password, Dixa API key, Auco keys), so every auth path fails.

The marker must appear 0 times in responses (bodies and headers, HTTP and WebSocket), errors, captured logs (every
logger at DEBUG, httpx's and uvicorn's included, and whatever reached stdout/stderr) and ``/metrics``. The gateways
are served as ``hookgate serve --log-level debug`` serves them, so uvicorn logs every WebSocket handshake header and
frame: the key in ``connection_init`` and in the upgrade's ``Authorization`` header, and a mutation's secret sent over
the WebSocket, placed last in its frame where the log line shows the frame's tail.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.support.gateway import Gateway
from tests.support.sandbox import Sandbox, sandbox_settings, sources
from tests.support.serving import served

MARK = "zq7CANARYx4k"  # valid base64 text, so it can sit inside a whsec_ secret too
HEX_MARK = "ca7a2f00d5e1ec7e"  # for the hex-only Dixa secret key
MARKERS = (MARK, HEX_MARK)
CLIENT_KEY = f"client-key-{MARK}"
CLIENT_KEY_ENV = "HOOKGATE_CANARY_CLIENT_KEY"
#: Loggers of the test's own clients, which print what the test sends.
CLIENT_LOGGERS = frozenset({"websockets.client"})

ACCEPTED = {
    "uipath": {"webhook_secret": f"uipath-whsec-{MARK}"},
    "dixa": {"webhook_secret_key": f"73616e64626f78{HEX_MARK}"},
    "auco": {"webhook_header_value": f"auco-token-{MARK}"},
    "workflowgen": {"standard_webhooks_secret": f"whsec_{MARK}AAAA"},
    "druid": {"standard_webhooks_secret": f"whsec_{MARK}BBBB"},
}
REFUSED = {
    "uipath": {"token": f"uipath-token-{MARK}"},
    "workflowgen": {"hook_token": f"wfgen-hook-{MARK}", "graphql_password": f"wfgen-pw-{MARK}"},
    "druid": {"password": f"druid-pw-{MARK}"},
    "dixa": {"api_key": f"dixa-key-{MARK}"},
    "auco": {"private_key": f"prk_{MARK}", "public_key": f"puk_{MARK}"},
}

QUERIES = [
    "{ sources { name provider capabilities sandbox circuit } }",
    "{ webhooks(first: 200) { totalCount nodes { id source provider url enabled hasSecret authorizationType name"
    " events eventTypes { name group } deliveryStatuses { event lastDelivery { success responseCode } } } } }",
    '{ eventTypes { source name group } uipath: eventTypes(source: "uipath") { name } }',
    '{ request(source: "workflowgen", number: 1) { id number status dataset { name textValue } actions { id name'
    " assignee { userName } } } }",
    '{ action(source: "workflowgen", requestNumber: 1, number: 1) { id name status } }',
    '{ webhooks(provider: DIXA) { nodes { id deliveryLog(event: "ConversationCreated", first: 5) { payload } } } }',
    "{ inboundEvents(first: 20) { totalCount nodes { source type payload } } }",
]


def mutations(suffix: str) -> list[tuple[str, dict[str, Any]]]:
    """Writes that carry secrets to the providers: webhook secrets, basic-auth passwords, tokens, header values."""
    hook = f"https://example.com/canary-{suffix}"
    return [
        (
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id hasSecret } } }",
            {"i": {"source": "uipath", "url": hook, "subscribeToAllEvents": True, "secret": f"hook-secret-{MARK}"}},
        ),
        (
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id authorizationType } } }",
            {
                "i": {
                    "source": "dixa",
                    "url": hook,
                    "name": "canary",
                    "events": ["ConversationCreated"],
                    "authorization": {"basic": {"username": "canary", "password": f"basic-pw-{MARK}"}},
                    "customHeaders": {"X-Canary": f"header-{MARK}"},
                }
            },
        ),
        (
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id authorizationType } } }",
            {
                "i": {
                    "source": "dixa",
                    "url": f"{hook}/token",
                    "name": "canary token",
                    "events": ["ConversationClosed"],
                    "authorization": {"token": f"token-{MARK}"},
                }
            },
        ),
        (
            "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id authorizationType } } }",
            {
                "i": {
                    "source": "auco",
                    "url": hook,
                    "name": f"canary-{suffix}",
                    "authorization": {"header": {"key": "X-Canary", "value": f"auco-header-{MARK}"}},
                }
            },
        ),
        (
            "mutation($i: CreateRequestInput!) { createRequest(input: $i) { request { id number } } }",
            {"i": {"source": "workflowgen", "processName": "EXPENSE_CLAIM", "isTest": True}},
        ),
        (
            "mutation($i: StartFlowInput!) { startFlow(input: $i) { result } }",
            {"i": {"source": "druid", "botId": "bot-1", "channelId": "web", "targetUserMasterId": "u-1"}},
        ),
    ]


class Recorder:
    """Everything the gateway said to a client, to search for the marker."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def response(self, response: httpx.Response) -> httpx.Response:
        self.said.append(f"{response.status_code} {dict(response.headers)} {response.text}")
        return response


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Every record at DEBUG, including loggers that neither propagate nor let DEBUG through by default."""
    caplog.set_level(logging.DEBUG)
    names = ["httpx", "httpcore", "uvicorn", "uvicorn.error", "uvicorn.access", "aiohttp", "hookgate", "stamina"]
    for name in names:
        caplog.set_level(logging.DEBUG, logger=name)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(logging.DEBUG)
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in logging.root.manager.loggerDict)]
    attached = [lg for lg in loggers if lg is logging.getLogger() or not lg.propagate]
    for logger in attached:
        logger.addHandler(keep)
    yield records
    for logger in attached:
        logger.removeHandler(keep)


@pytest.fixture
def debug_gateway_factory(sandbox: Sandbox, tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Gateways over the sandbox served as ``hookgate serve --log-level debug`` serves them (gateway/server.py)."""
    uvicorn_loggers = [logging.getLogger(n) for n in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")]
    levels = [lg.level for lg in uvicorn_loggers]
    started: list[str] = []
    with ExitStack() as stack:

        def start(**overrides: Any) -> Gateway:
            overrides.setdefault("store", f"sqlite:///{tmp_path}/canary-{len(started)}.db")
            url = stack.enter_context(served(sandbox_settings(sandbox.url, **overrides), log_level="debug"))
            started.append(url)
            return Gateway(url=url, app=None)

        yield start
    for logger, level in zip(uvicorn_loggers, levels, strict=True):
        logger.setLevel(level)  # uvicorn set them to DEBUG for the test's servers


def _settings(sandbox: Sandbox, changes: dict[str, dict[str, Any]], *, oauth: bool) -> dict[str, Any]:
    configured = sources(sandbox.url, every={"retries": 1, "timeout_s": 2, "breaker_failures": 3}, **ACCEPTED)
    for name, change in changes.items():
        configured[name].update(change)
    if oauth:
        configured["uipath_oauth"] = {
            "kind": "uipath",
            "base_url": f"{sandbox.url}/uipath",
            "client_id": "sandbox-client",
            "client_secret": f"uipath-client-secret-{MARK}",
            "identity_url": f"{sandbox.url}/uipath",
            "retries": 0,
        }
    return {
        "sources": configured,
        "api_keys": [
            {"name": "canary", "key": f"env:{CLIENT_KEY_ENV}", "scopes": ["read", "write", "admin"]},
            {"name": "hashed", "key_sha256": hashlib.sha256(f"hashed-{MARK}".encode()).hexdigest(), "scopes": ["read"]},
        ],
    }


def _deliveries(url: str, record: Recorder) -> None:
    """Inbound deliveries signed with the marked secrets, and forged ones carrying the marker."""
    body = json.dumps({"Type": "job.created", "EventId": f"canary-{time.monotonic_ns()}"}).encode()
    good = base64.b64encode(hmac.new(ACCEPTED["uipath"]["webhook_secret"].encode(), body, hashlib.sha256).digest())
    timestamp = int(time.time() * 1000)
    dixa_body = json.dumps({"event_id": f"canary-{timestamp}", "event_fqname": "ConversationCreated"}).encode()
    dixa_mac = hmac.new(
        bytes.fromhex(ACCEPTED["dixa"]["webhook_secret_key"]), f"{timestamp}.".encode() + dixa_body, hashlib.sha256
    ).hexdigest()
    attempts: list[tuple[str, bytes, dict[str, str]]] = [
        ("uipath", body, {"X-UiPath-Signature": good.decode()}),
        ("uipath", body, {"X-UiPath-Signature": base64.b64encode(f"forged-{MARK}".encode()).decode()}),
        ("uipath", body, {"X-UiPath-Signature": f"not base64 {MARK}"}),
        ("dixa", dixa_body, {"X-DIXA-SIGNATURE": f"t={timestamp},v1={dixa_mac}"}),
        ("dixa", dixa_body, {"X-DIXA-SIGNATURE": f"t={timestamp},v1={HEX_MARK}"}),
        ("auco", b'{"event": "document.SIGN"}', {"X-Auco-Token": ACCEPTED["auco"]["webhook_header_value"]}),
        ("auco", b'{"event": "document.SIGN"}', {"X-Auco-Token": f"wrong-{MARK}"}),
        ("workflowgen", b'{"type": "x"}', {"webhook-id": "m", "webhook-timestamp": "1", "webhook-signature": MARK}),
    ]
    for source, content, headers in attempts:
        response = httpx.post(
            f"{url}/hooks/{source}", content=content, headers={"content-type": "application/json", **headers}
        )
        record.response(response)
        assert response.status_code < 500, response.text


async def _websocket(url: str, record: Recorder) -> None:
    target = url.replace("http", "ws") + "/graphql"
    for key in (CLIENT_KEY, f"wrong-{MARK}"):
        async with websockets.connect(target, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
            await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {key}"}}))
            subscribe = {"type": "subscribe", "id": "1", "payload": {"query": QUERIES[1]}}
            # A secret in a mutation's variables, last in its frame: where a debug line shows the frame's tail.
            hook = {"source": "uipath", "url": "https://example.com/ws", "secret": f"ws-secret-{MARK}"}
            create = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { webhook { id } } }"
            variables = {"i": {"subscribeToAllEvents": True, **hook}}
            mutation = {"type": "subscribe", "id": "2", "payload": {"query": create, "variables": variables}}
            try:
                record.said.append(str(await asyncio.wait_for(ws.recv(), 5)))
                await ws.send(json.dumps(subscribe))
                record.said.append(str(await asyncio.wait_for(ws.recv(), 10)))
                await ws.send(json.dumps(mutation))
                for _ in range(2):  # next and complete
                    record.said.append(str(await asyncio.wait_for(ws.recv(), 10)))
            except websockets.ConnectionClosed as closed:
                record.said.append(f"{closed.rcvd}")
    # A raw key in the upgrade's header, with no "Bearer" to recognise it by (the gateway knows only its hash).
    for header in (f"hashed-{MARK}", f"hashed-{MARK}x"):
        async with websockets.connect(
            target,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers={"Authorization": header},
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            try:
                record.said.append(str(await asyncio.wait_for(ws.recv(), 5)))
            except websockets.ConnectionClosed as closed:
                record.said.append(f"{closed.rcvd}")


def _scenarios(gateway: Gateway, sandbox: Sandbox, record: Recorder, suffix: str) -> None:
    auth = {"Authorization": f"Bearer {CLIENT_KEY}"}

    def graphql(query: str, variables: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        return record.response(
            httpx.post(
                gateway.graphql_url,
                json={"query": query, "variables": variables or {}},
                headers={**auth, **headers},
                timeout=30,
            )
        )

    for query in QUERIES:
        assert graphql(query).status_code == 200
    for query, variables in mutations(suffix):
        key = f"canary-{suffix}-{len(record.said)}"
        assert graphql(query, variables, **{"Idempotency-Key": key}).status_code == 200
    for query in QUERIES[:3]:
        graphql(query)  # the reads again, with what the writes changed
    # Refused clients: a wrong key carrying the marker, and the right one under another scheme.
    for header in (f"Bearer wrong-{MARK}", f"Basic {CLIENT_KEY}", f"Bearer hashed-{MARK}x", CLIENT_KEY):
        response = record.response(httpx.post(gateway.graphql_url, json={"query": "{ __typename }"},
                                              headers={"Authorization": header}))  # fmt: skip
        assert response.status_code == 401
    # Faults: 5xx with and without a body, a body that is not JSON, slowness past the timeout, an open circuit.
    sandbox.fault("uipath", status=503)
    sandbox.fault("dixa", body=f"not json {MARK}", status=200)
    sandbox.fault("auco", latency_ms=2500)
    sandbox.fault("workflowgen", status=500)
    for _ in range(4):
        graphql(QUERIES[1])
        graphql(QUERIES[3])
    sandbox.clear_faults()
    _deliveries(gateway.url, record)
    asyncio.run(_websocket(gateway.url, record))
    record.response(httpx.get(f"{gateway.url}/readyz"))
    record.response(httpx.get(f"{gateway.url}/healthz"))


def _dixa_kept_the_password(sandbox: Sandbox) -> bool:
    """Did the marked basic-auth password reach the provider? (It must: secrets are write-only, not dropped.)"""
    listed = httpx.get(f"{sandbox.url}/dixa/v1/webhooks", headers={"Authorization": "sandbox-dixa-key"}).json()
    return MARK in json.dumps(listed)


def test_the_marker_never_leaves_the_gateway(
    debug_gateway_factory: Any,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    every_log: list[logging.LogRecord],
) -> None:
    monkeypatch.setenv(CLIENT_KEY_ENV, CLIENT_KEY)
    record = Recorder()

    accepted: Gateway = debug_gateway_factory(**_settings(sandbox, {}, oauth=False))
    _scenarios(accepted, sandbox, record, "accepted")
    assert _dixa_kept_the_password(sandbox), "the scenario did send the marked password upstream"
    record.response(httpx.get(f"{accepted.url}/metrics"))

    refused: Gateway = debug_gateway_factory(**_settings(sandbox, REFUSED, oauth=True))
    _scenarios(refused, sandbox, record, "refused")
    record.response(httpx.get(f"{refused.url}/metrics"))

    said = "\n".join(record.said)
    assert "UNAUTHENTICATED" in said, "the refused clients' path did run"
    assert "UPSTREAM_ERROR" in said, "the upstream failure paths did run"
    # The test's own WebSocket client logs the frames it sends (the key in connection_init) at DEBUG: not ours.
    logs = "\n".join(_formatted(r) for r in every_log if r.name not in CLIENT_LOGGERS)
    assert "HTTP Request:" in logs, "httpx's own request lines were captured"
    assert "< TEXT" in logs, "uvicorn's WebSocket frame lines were captured"
    assert "< authorization: ***" in logs.lower(), "uvicorn's WebSocket handshake lines were captured"
    out, err = capsys.readouterr()
    printed = "\n".join(line for line in (out + err).splitlines() if not any(n in line for n in CLIENT_LOGGERS))
    for marker in MARKERS:
        assert said.count(marker) == 0, _around(said, marker)
        assert logs.count(marker) == 0, _around(logs, marker)
        assert printed.count(marker) == 0, _around(printed, marker)


def test_the_canary_sees_what_reaches_a_log(
    capsys: pytest.CaptureFixture[str], every_log: list[logging.LogRecord]
) -> None:
    """The capture above is not blind: a marker that is no configured secret is found where it was logged."""
    logging.getLogger("canary.selfcheck").debug("unregistered %s", f"value-{MARK}-selfcheck")
    logging.getLogger("uvicorn.error").warning("unregistered value-%s-selfcheck", MARK)
    assert sum(MARK in _formatted(r) for r in every_log) == 2


def test_a_library_logging_a_secret_url_is_redacted(
    gateway_factory: Any, sandbox: Sandbox, every_log: list[logging.LogRecord], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What httpx would print for a hook URL with its token, once a gateway holding that token has started."""
    monkeypatch.setenv(CLIENT_KEY_ENV, CLIENT_KEY)
    gateway_factory(**_settings(sandbox, REFUSED, oauth=True))
    token = REFUSED["workflowgen"]["hook_token"]
    url = httpx.URL(f"{sandbox.url}/workflowgen/wfgen/hooks/{token}/x")
    logging.getLogger("httpx").info('HTTP Request: %s %s "%s %d %s"', "POST", url, "HTTP/1.1", 401, "Unauthorized")
    logging.getLogger("aiohttp.client").debug("sending Authorization: Bearer %s", REFUSED["dixa"]["api_key"])
    try:
        raise RuntimeError(f"login failed for {REFUSED['druid']['password']}")
    except RuntimeError:
        logging.getLogger("hookgate.errors").exception("unexpected error")
    lines = [_formatted(r) for r in every_log if r.name in ("httpx", "aiohttp.client", "hookgate.errors")]
    assert len(lines) == 3
    assert "/wfgen/hooks/*** " in lines[0] or "/wfgen/hooks/***/x" in lines[0]
    assert all(MARK not in line for line in lines), lines


def _formatted(record: logging.LogRecord) -> str:
    """The record as any handler could write it: message, arguments, traceback, stack, and its extra attributes.

    ``exc_info`` holds the live exception; formatters print the (redacted) ``exc_text`` made from it instead.
    """
    text = logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)
    attributes = {k: v for k, v in record.__dict__.items() if k != "exc_info"}
    return f"{text} {attributes!r}"


def _around(text: str, marker: str) -> str:
    at = text.find(marker)
    return text[max(0, at - 300) : at + 100]
