"""Servers in tests bind port 0 and report the port they got: no free-port lookup that another worker could race."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import uvicorn


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to port 0 (the kernel picks the port), not yet listening; uvicorn listens on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


class Server:
    """``with Server(app) as server: server.url`` serves ``app`` with uvicorn on a background thread, on a socket
    bound to port 0 before uvicorn starts. ``config_class`` may be :class:`gateway.server.ServerConfig` (the
    protocols and limits of ``hookgate serve``); ``options`` go to it."""

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", config_class: type[uvicorn.Config] = uvicorn.Config, **options: Any
    ) -> None:
        self.host = host
        self._socket = bound_socket(host)
        self.port = int(self._socket.getsockname()[1])
        options.setdefault("log_level", "warning")
        options.setdefault("lifespan", "auto")
        options.setdefault("access_log", False)
        config = config_class(app, host=host, port=self.port, **options)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"uvicorn:{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> Server:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 30.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=timeout_s)
        self._socket.close()

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


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
