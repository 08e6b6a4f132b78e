"""The transport of a directly exposed ``hookgate serve``, attacked from outside over raw sockets and WebSockets.

One real ``hookgate serve`` process (API keys configured, its own sandbox) with the transport limits shortened in its
``[limits]`` table, so that the deadlines pass in a second: half-sent requests are answered 408 and closed, a header
over the cap gets 431 (or a close), an oversized ``connection_init`` is closed with 1009 before its payload is read,
and ordinary requests, kept-alive connections and WebSocket operations still work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from gateway.server import FIRST_WS_MESSAGE_BYTES, WS_MESSAGE_TOO_BIG
from sandbox.server import free_port
from tests.support.answers import KEYS, sha256
from tests.support.servers import wait_until_up

ROOT = Path(__file__).resolve().parents[2]
HEADER_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0
MAX_HEADER_BYTES = 16_384
MAX_BODY_BYTES = 200_000
KEY = KEYS["admin"][0]
#: Generous: a refusal due after one second must come well within this, on a loaded machine too.
PATIENCE_S = 15.0
SANDBOX_PORT = free_port()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``hookgate serve`` with an API key and short transport limits; its URL."""
    tmp = tmp_path_factory.mktemp("transport")
    config = tmp / "hookgate.toml"
    config.write_text(
        f'store = "sqlite:///{tmp}/serve.db"\n'
        f'[[api_keys]]\nname = "admin"\nkey_sha256 = "{sha256(KEY)}"\nscopes = ["read", "write", "admin"]\n'
        f"[limits]\nheader_timeout_s = {HEADER_TIMEOUT_S}\nbody_timeout_s = {BODY_TIMEOUT_S}\n"
        f"max_header_bytes = {MAX_HEADER_BYTES}\nmax_body_bytes = {MAX_BODY_BYTES}\n"
    )
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKGATE_")}
    command = [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(port)]
    log = tmp / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--sandbox-port", str(SANDBOX_PORT)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{base}/healthz", log)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=PATIENCE_S)
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a reset counts as a close)."""
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def _status(answer: bytes) -> int | None:
    line = answer.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) > 1 and line[0].startswith(b"HTTP/") else None


def _request(path: str, *, body: bytes = b"", method: str = "GET", extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {KEY}\r\n{extra}"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _read_response(sock: socket.socket) -> tuple[int | None, bytes]:
    """One response with a content-length body, leaving the connection open."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a response: {received!r}"
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return _status(head), body


# -- half-sent requests, headers over the cap, kept-alive connections ----------------------------------------------


def test_a_half_sent_request_line_and_headers_get_408_and_a_close(url: str) -> None:
    with _connect(url) as sock:
        started = time.monotonic()
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n")
        answer = _read_until_closed(sock)
        waited = time.monotonic() - started
        assert _status(answer) == 408, answer
        assert json.loads(answer.partition(b"\r\n\r\n")[2])["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert HEADER_TIMEOUT_S * 0.9 <= waited < PATIENCE_S


def test_many_half_sent_requests_are_all_closed(url: str) -> None:
    """The attack: connections each holding an unfinished request. Every one is closed after the header deadline."""
    sockets = [_connect(url) for _ in range(40)]
    for n, sock in enumerate(sockets):
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n" if n % 2 else b"")  # half of them send nothing
    closed = 0
    for sock in sockets:
        with sock:
            _read_until_closed(sock)  # returns only once the server has closed it
        closed += 1
    assert closed == len(sockets)
    assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200


def test_a_stalled_body_gets_408_and_a_close(url: str) -> None:
    with _connect(url) as sock:
        body = orjson.dumps({"query": "{ __typename }"})
        request = _request("/graphql", method="POST", body=body)
        sock.sendall(request[: -len(body) + 5])  # the headers and five bytes of the body, then silence
        answer = _read_until_closed(sock)
        assert _status(answer) == 408, answer
        assert b"stalled" in answer


def test_a_slow_but_steady_body_is_read(url: str) -> None:
    """Silences shorter than the body timeout, adding up to more than it, are fine."""
    with _connect(url) as sock:
        body = orjson.dumps({"query": "{ __typename }"})
        request = _request("/graphql", method="POST", body=body)
        cut = len(request) - len(body)
        sock.sendall(request[:cut])
        for start in range(0, len(body), len(body) // 3 + 1):
            time.sleep(BODY_TIMEOUT_S / 2)
            sock.sendall(body[start : start + len(body) // 3 + 1])
        status, answer = _read_response(sock)
        assert status == 200, answer
        assert orjson.loads(answer) == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES + 1024, 10 * 1024 * 1024])
def test_headers_over_the_cap_get_431_or_a_close(url: str, size: int) -> None:
    with _connect(url) as sock:
        request = _request("/healthz", extra=f"X-Padding: {'a' * size}\r\n")
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)  # the server may stop reading: what it said, if anything, is read below
        answer = _read_until_closed(sock)
        assert _status(answer) in (431, None), answer[:300]
        if answer:
            assert b"larger than" in answer


def test_a_half_sent_second_request_on_a_kept_alive_connection_gets_408(url: str) -> None:
    with _connect(url) as sock:
        sock.sendall(_request("/healthz"))
        assert _read_response(sock)[0] == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: gat")
        answer = _read_until_closed(sock)
    assert _status(answer) == 408, answer


def test_an_answer_slower_than_the_deadlines_is_not_cut(url: str) -> None:
    """The deadlines are the client's: a backend slower than all of them still gets its answer through."""
    sandbox = f"http://127.0.0.1:{SANDBOX_PORT}"
    delay_ms = int(max(HEADER_TIMEOUT_S, BODY_TIMEOUT_S) * 2500)
    httpx.post(f"{sandbox}/_control/faults", json={"target": "uipath", "latency_ms": delay_ms}).raise_for_status()
    try:
        with _connect(url) as sock:
            body = orjson.dumps({"query": '{ webhooks(source: "uipath") { totalCount } }'})
            for _ in range(2):  # and the connection is kept for the next request
                sock.sendall(_request("/graphql", method="POST", body=body))
                status, answer = _read_response(sock)
                assert status == 200, answer
                assert orjson.loads(answer)["data"]["webhooks"]["totalCount"] >= 1, answer
    finally:
        httpx.delete(f"{sandbox}/_control/faults").raise_for_status()


def test_headers_under_the_cap_and_kept_alive_connections_work(url: str) -> None:
    with _connect(url) as sock:
        padding = f"X-Padding: {'a' * (MAX_HEADER_BYTES // 2)}\r\n"
        body = orjson.dumps({"query": "{ __typename }"})
        for _ in range(3):  # three requests, one connection
            sock.sendall(_request("/healthz", extra=padding))
            assert _read_response(sock) == (200, b'{"status":"ok"}')
            sock.sendall(_request("/graphql", method="POST", body=body))
            status, answer = _read_response(sock)
            assert status == 200, answer
            time.sleep(HEADER_TIMEOUT_S * 0.6)  # idle between requests is kept-alive time, not the header deadline
        sock.sendall(_request("/healthz"))
        assert _read_response(sock)[0] == 200


# -- WebSocket messages ----------------------------------------------------------------------------------------------

SUBPROTOCOL = websockets.Subprotocol("graphql-transport-ws")


def _ws_url(url: str) -> str:
    return url.replace("http", "ws", 1) + "/graphql"


async def _closed_with(ws: Any) -> int | None:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), PATIENCE_S)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


def _init(key: str, padding: int = 0) -> str:
    payload: dict[str, Any] = {"authorization": f"Bearer {key}"}
    if padding:
        payload["padding"] = "x" * padding
    return orjson.dumps({"type": "connection_init", "payload": payload}).decode()


def test_an_oversized_connection_init_is_closed_with_1009(url: str) -> None:
    async def attack(key: str) -> int | None:
        async with websockets.connect(_ws_url(url), subprotocols=[SUBPROTOCOL], max_size=None) as ws:
            await ws.send(_init(key, padding=FIRST_WS_MESSAGE_BYTES))
            return await _closed_with(ws)

    # With no key and with the right one alike: the size is refused before the key is looked at.
    assert asyncio.run(attack("wrong")) == WS_MESSAGE_TOO_BIG
    assert asyncio.run(attack(KEY)) == WS_MESSAGE_TOO_BIG


def test_a_normal_connection_init_works_and_a_larger_message_is_accepted_after_the_ack(url: str) -> None:
    async def session() -> list[dict[str, Any]]:
        async with websockets.connect(_ws_url(url), subprotocols=[SUBPROTOCOL]) as ws:
            await ws.send(_init(KEY, padding=FIRST_WS_MESSAGE_BYTES // 2))
            assert orjson.loads(await asyncio.wait_for(ws.recv(), PATIENCE_S))["type"] == "connection_ack"
            # Past the first-message cap, under max_body_bytes: allowed once the gateway has answered.
            subscribe = {
                "type": "subscribe",
                "id": "1",
                "payload": {"query": "{ __typename }", "extensions": {"padding": "y" * 100_000}},
            }
            await ws.send(orjson.dumps(subscribe).decode())
            return [orjson.loads(await asyncio.wait_for(ws.recv(), PATIENCE_S)) for _ in range(2)]

    answers = asyncio.run(session())
    assert answers == [
        {"type": "next", "id": "1", "payload": {"data": {"__typename": "Query"}}},
        {"type": "complete", "id": "1"},
    ]


def test_a_later_message_over_max_body_bytes_is_refused(url: str) -> None:
    async def session() -> int | None:
        async with websockets.connect(_ws_url(url), subprotocols=[SUBPROTOCOL], max_size=None) as ws:
            await ws.send(_init(KEY))
            assert orjson.loads(await asyncio.wait_for(ws.recv(), PATIENCE_S))["type"] == "connection_ack"
            big = {"type": "subscribe", "id": "1", "payload": {"query": "{ __typename }", "p": "z" * MAX_BODY_BYTES}}
            await ws.send(orjson.dumps(big).decode())
            return await _closed_with(ws)

    assert asyncio.run(session()) == WS_MESSAGE_TOO_BIG
