"""``hookgate serve`` as a person runs it: a real process, spoken to over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
import websockets

from sandbox.server import free_port
from tests.support.servers import wait_until_up

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving(tmp_path: Path, *options: str) -> Iterator[str]:
    """``hookgate serve`` with no sources (so over its own sandbox), on free ports; yields its URL."""
    port = free_port()
    env = {**os.environ, "HOOKGATE_STORE": f"sqlite:///{tmp_path}/serve.db"}
    env.pop("HOOKGATE_CONFIG", None)
    command = [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--sandbox-port", str(free_port())]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([*command, *options], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, f"{url}/healthz", log)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


async def _handshake(url: str) -> str | None:
    """Open a graphql-transport-ws socket offering permessage-deflate (as browsers do); the extension agreed on."""
    async with websockets.connect(
        url.replace("http", "ws", 1) + "/graphql", subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as ws:
        await ws.send(orjson.dumps({"type": "connection_init"}).decode())
        assert orjson.loads(await ws.recv())["type"] == "connection_ack"
        assert ws.response is not None
        return ws.response.headers.get("Sec-WebSocket-Extensions")


@pytest.mark.parametrize(("options", "agreed"), [((), None), (("--ws-compression",), "permessage-deflate")])
def test_websocket_compression_is_off_unless_asked_for(
    tmp_path: Path, options: tuple[str, ...], agreed: str | None
) -> None:
    with serving(tmp_path, *options) as url:
        extension = asyncio.run(_handshake(url))
    assert (extension or "").split(";")[0] == (agreed or "")
