"""A gateway served in this process exactly as ``hookgate serve`` serves it: :class:`gateway.server.ServerConfig`
(its HTTP and WebSocket protocols, its limits), on a background thread, at the log level asked for."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from gateway.app import create_app
from gateway.config import Settings
from gateway.server import ServerConfig
from sandbox.server import free_port


@contextmanager
def served(settings: Settings, *, log_level: str = "warning") -> Iterator[str]:
    """The gateway for ``settings`` on a free loopback port; yields its URL, stops it on exit."""
    port = free_port()
    config = ServerConfig(
        create_app(settings),
        limits=settings.limits,
        host="127.0.0.1",
        port=port,
        log_config=None,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"gateway:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"gateway on port {port} did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
