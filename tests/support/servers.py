"""Servers in tests bind port 0 and report the port they got: no free-port lookup that another worker could race."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Self

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from sandbox.server import ThreadedServer, bound_socket


class Server(ThreadedServer):
    """The sandbox's :class:`~sandbox.server.ThreadedServer` (port 0, bound before uvicorn starts) with the longer
    start and stop bounds a loaded test machine needs."""

    def start(self, timeout_s: float = 30.0) -> Self:
        return super().start(timeout_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        super().stop(timeout_s)


def html_page_server(html: str) -> Server:
    """A server of one HTML page at ``/``: another origin than the gateway's, for the browser tests."""

    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(html)

    return Server(Starlette(routes=[Route("/", page)]))


def closed_url() -> str:
    """A loopback URL nothing listens on: a port 0 socket that is bound but never listens refuses connections for
    as long as it is held, and this process holds it until it exits."""
    sock = bound_socket()
    _HELD.append(sock)
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


_HELD: list[socket.socket] = []


def wait_until_up(
    process: subprocess.Popen[bytes], probe_url: str, log: Path, *, what: str = "serve", timeout_s: float = 60.0
) -> None:
    """Wait until the child ``process`` answers 200 at ``probe_url``; fail with the tail of its ``log`` if it exits
    or does not come up within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{what} did not start:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(probe_url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
