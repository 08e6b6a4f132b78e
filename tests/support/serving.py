"""A gateway served in this process exactly as ``hookgate serve`` serves it: :class:`gateway.server.ServerConfig`
(its HTTP and WebSocket protocols, its limits), on a background thread, at the log level asked for."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from gateway.app import create_app
from gateway.config import Settings
from gateway.server import ServerConfig
from tests.support.servers import Server


@contextmanager
def served(settings: Settings, *, log_level: str = "warning") -> Iterator[str]:
    """The gateway for ``settings`` on a port 0 loopback socket; yields its URL, stops it on exit."""
    server = Server(
        create_app(settings),
        config_class=ServerConfig,
        limits=settings.limits,
        log_config=None,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        ws_per_message_deflate=False,
    )
    with server:
        yield server.url
