"""Run an ASGI app with uvicorn on a background thread: the sandbox in tests, benchmarks and ``hookgate serve``."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.types import ASGIApp


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a server started in another process (which may lose it to a race meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def bound_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to port 0 (the kernel picks the port), not yet listening; uvicorn listens on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


class ThreadedServer:
    """``with ThreadedServer(app) as server: server.url`` serves ``app`` on loopback until the block ends.

    With ``port=0`` the socket is bound before uvicorn starts and handed to it, so the port is known at once and no
    other process can take it in between. ``config_class`` may be a ``uvicorn.Config`` subclass (``hookgate
    serve``'s protocols and limits); ``options`` go to it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        config_class: type[uvicorn.Config] = uvicorn.Config,
        **options: Any,
    ) -> None:
        self.host = host
        self._socket = None if port else bound_socket(host)
        self.port = port if self._socket is None else int(self._socket.getsockname()[1])
        options.setdefault("log_level", "warning")
        options.setdefault("lifespan", "auto")
        options.setdefault("access_log", False)
        self._server = uvicorn.Server(config_class(app, host=host, port=self.port, **options))
        sockets = {"sockets": [self._socket]} if self._socket else {}
        self._thread = threading.Thread(
            target=self._server.run, kwargs=sockets, name=f"uvicorn:{self.port}", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout_s: float = 10.0) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {self.port} did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=timeout_s)
        if self._socket is not None:
            self._socket.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
