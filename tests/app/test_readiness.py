"""``/readyz`` tells the truth about the store: a served gateway whose store goes away answers 503, and 200 again
once it is back (Redis behind a TCP forwarder that the test cuts; SQLite with its write lock held by another
connection)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.app import create_app
from tests.support.events import receiver_settings, until
from tests.support.servers import Server


class Forwarder:
    """A TCP forwarder on a port of its own to ``target`` (port 0 at first: the kernel picks it): :meth:`cut` closes
    the port and every connection through it (the store is gone); :meth:`resume` listens on the same port again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def resume(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()
        self._server = None

    async def aclose(self) -> None:
        if self._server is not None:
            await self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        writer.close()
        self._writers.discard(writer)


@contextlib.asynccontextmanager
async def served(store: str) -> AsyncIterator[httpx.AsyncClient]:
    """A real server (uvicorn in a thread) for a gateway on ``store``; a client for it."""
    server = Server(create_app(receiver_settings(store=store))).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            yield client
    finally:
        # Off the loop: stopping waits for the server thread, which may be talking to our forwarder.
        await asyncio.to_thread(server.stop)


async def _ready(client: httpx.AsyncClient) -> int:
    return (await client.get("/readyz")).status_code


@pytest.mark.redis
async def test_readyz_is_503_while_redis_is_unreachable(redis_url: str, redis_prefix: str) -> None:
    parts = urlsplit(redis_url)
    forwarder = Forwarder(parts.hostname or "127.0.0.1", parts.port or 6379)
    await forwarder.resume()
    db = parts.path.lstrip("/") or "0"
    credentials = f"{parts.username or ''}:{parts.password}@" if parts.password else ""
    store = f"redis://{credentials}127.0.0.1:{forwarder.port}/{db}?prefix={redis_prefix}"
    try:
        async with served(store) as client:
            assert await _ready(client) == 200
            await forwarder.cut()
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert (response.json()["status"], response.json()["store"]) == ("unavailable", False)
            await forwarder.resume()

            async def ready_again() -> bool:
                return await _ready(client) == 200

            await until(ready_again, timeout_s=15)
    finally:
        await forwarder.aclose()


async def test_readyz_is_503_while_sqlite_cannot_take_its_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "hookgate.db"
    async with served(f"sqlite:///{path}") as client:
        assert await _ready(client) == 200
        holder = sqlite3.connect(path, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")  # another process holding the write lock: no append can commit
            response = await client.get("/readyz")
            assert response.status_code == 503
            assert response.json()["store"] is False
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert await _ready(client) == 200
