"""``hookgate sandbox`` as a person runs it: SIGTERM stops it promptly, even while a ``hang`` fault holds a request."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from sandbox.server import free_port
from tests.support.servers import wait_until_up

ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_stops_the_sandbox_while_a_request_hangs(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "sandbox.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "sandbox", "--port", str(port)],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    hung = None
    try:
        wait_until_up(process, f"{url}/_control/calls", log, what="the sandbox")
        httpx.post(f"{url}/_control/faults", json={"target": "uipath", "hang": True}, timeout=5).raise_for_status()

        hung = socket.create_connection(("127.0.0.1", port), timeout=30)
        hung.sendall(b"GET /uipath/odata/Webhooks HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        for _ in range(200):  # the request has reached the simulator, which holds it
            if httpx.get(f"{url}/_control/calls", timeout=5).json()["uipath"]:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the hanging request never reached the sandbox")

        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)  # the hang lasts an hour; uvicorn's graceful shutdown used to wait for it
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running 20 s after SIGTERM:\n{log.read_text()[-3000:]}") from None
        # The held request got an answer rather than a dropped connection.
        assert hung.recv(65536).startswith(b"HTTP/1.1 503 ")
    finally:
        if hung is not None:
            hung.close()
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
