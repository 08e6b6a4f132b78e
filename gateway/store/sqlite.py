"""SQLite implementation of :class:`~gateway.store.base.Store`: one file in WAL mode, for one node. This module holds
the event log, the connections and their lifecycle; idempotency records, tokens, verification keys and locks are in
``gateway/store/sqlite_keyed.py`` (:class:`~gateway.store.sqlite_keyed.KeyedState`).

Several processes on one machine (``hookgate serve --workers N``, or two gateways) may open the same file: every
write is one SQL statement, hence one atomic transaction, and SQLite's file lock serialises writers across processes
(``busy_timeout`` makes them wait instead of failing). Expiry uses the wall clock (``time.time()``), which the
processes of one machine share.

Durability. Each connection runs ``journal_mode=WAL`` with ``synchronous=FULL`` (default): a commit returns only
after the WAL is fsynced, so an acknowledged append survives a killed process *and* a power cut. ``NORMAL`` would
skip that fsync (durable across a process crash, not across an OS crash or power loss); it is offered as
``?synchronous=normal`` for those who accept that. FULL is affordable because appends are group-committed: one writer
task drains the append queue and inserts everything waiting in one statement (one transaction, one fsync), then
resolves each caller's future. A crash before the commit means no caller got an answer, so nothing acknowledged is
lost; the provider redelivers and the dedupe key keeps the log free of doubles.

Connections: one aiosqlite connection writes (appends, idempotency, tokens, locks, trims: each a single statement,
so no transaction is ever left open between awaits, even if a caller is cancelled); a second one reads, so that WAL
readers never wait for the writer's fsync. ``sqlite:///:memory:`` (tests) uses the writer for both, since two
connections to ``:memory:`` would be two databases.

Cursors are the row id (``AUTOINCREMENT``, so ids are never reused even after a trim) as 16 lowercase hex digits;
ids are the row id in decimal. Rows become visible in id order because commits are serialised and ids are assigned
inside them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, cast

import aiosqlite

from gateway.store.base import (
    AppendResult,
    InvalidCursor,
    NewEvent,
    StoredEvent,
    StoreError,
    StoreUnavailable,
    check_filters,
    decode_payload,
    encode_payload,
    to_utc_aware,
)
from gateway.store.sqlite_keyed import KeyedState, Row, translated

log = logging.getLogger("gateway.store.sqlite")

Synchronous = Literal["FULL", "NORMAL", "EXTRA"]

SCHEMA_VERSION: Final = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    provider TEXT NOT NULL,
    type TEXT NOT NULL,
    provider_event_id TEXT,
    occurred_at TEXT,
    received_at TEXT NOT NULL,
    appended_ms INTEGER NOT NULL,
    payload BLOB NOT NULL
);
-- NULL provider ids are distinct in a UNIQUE index, so events without one never collide.
CREATE UNIQUE INDEX IF NOT EXISTS events_dedupe ON events (source, provider_event_id);
-- An index on one column also orders by rowid, which is what filtered reads page by.
CREATE INDEX IF NOT EXISTS events_source ON events (source);
CREATE INDEX IF NOT EXISTS events_type ON events (type);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    response BLOB,
    ttl_s REAL NOT NULL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS tokens (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
-- Keys a provider hands out per subscription (Dixa's secretKey), by source; created on open of older files too.
CREATE TABLE IF NOT EXISTS verification_keys (
    source TEXT NOT NULL,
    key_id TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (source, key_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
"""

# Dynamic SQL in this module is assembled from these constants and "?" placeholders only; values always travel as
# parameters (hence the S608 waivers below).
_EVENT_COLUMNS = "id, source, provider, type, provider_event_id, occurred_at, received_at, payload"
_INSERT_HEAD = (
    "INSERT INTO events (source, provider, type, provider_event_id, occurred_at, received_at, appended_ms, payload) "
    "VALUES "
)
_INSERT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_TAIL = " ON CONFLICT (source, provider_event_id) DO NOTHING RETURNING id, source, provider_event_id"

# 8 parameters a row stays far below SQLite's 32766-variable limit; larger batches gain nothing measurable.
DEFAULT_MAX_BATCH: Final = 256
# Appends by other processes are not signalled to this one: wait_for_events re-checks this often.
_CROSS_PROCESS_POLL_S: Final = 0.25
_TRIM_CHUNK: Final = 5000
_BUSY_TIMEOUT_MS: Final = 10_000


@dataclass(slots=True)
class _Pending:
    """One append waiting for the writer: its row parameters (minus ``appended_ms``) and the caller's future."""

    source: str
    provider: str
    type: str
    provider_event_id: str | None
    occurred_at: str | None
    received_at: str
    payload: bytes
    future: asyncio.Future[AppendResult]


def encode_cursor(row_id: int) -> str:
    return f"{row_id:016x}"


_MAX_ROW_ID: Final = 2**63 - 1


def decode_cursor(cursor: str) -> int:
    try:
        row_id = int(cursor, 16) if len(cursor) == 16 else -1
    except ValueError:
        row_id = -1
    if not 0 <= row_id <= _MAX_ROW_ID:
        raise InvalidCursor("not a cursor of this store")
    return row_id


def _iso(value: datetime | None) -> str | None:
    return None if value is None else to_utc_aware(value).isoformat()


def _event_from_row(row: Row) -> StoredEvent:
    row_id, source, provider, type_, provider_event_id, occurred_at, received_at, payload = row
    return StoredEvent(
        id=str(row_id),
        cursor=encode_cursor(row_id),
        source=source,
        provider=provider,
        type=type_,
        provider_event_id=provider_event_id,
        occurred_at=None if occurred_at is None else datetime.fromisoformat(occurred_at),
        received_at=datetime.fromisoformat(received_at),
        payload=decode_payload(payload),
    )


def _event_from_pending(row_id: int, p: _Pending) -> StoredEvent:
    return _event_from_row(
        (row_id, p.source, p.provider, p.type, p.provider_event_id, p.occurred_at, p.received_at, p.payload)
    )


@asynccontextmanager
async def _opening(path: str) -> AsyncIterator[None]:
    """sqlite3 errors while opening name the file: the one thing an operator needs (a missing directory, a directory
    the user cannot write to, a file that is not a database)."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"cannot open SQLite store at {_absolute(path)}: {exc}") from exc


def _absolute(path: str) -> str:
    """A relative store path is relative to the working directory: say which one."""
    return path if path == ":memory:" else os.path.abspath(path)


class SqliteStore(KeyedState):
    """The SQLite store. Build it with :meth:`open` (or :func:`gateway.store.open_store`), inside the event loop
    that will use it, and close it with :meth:`aclose`."""

    def __init__(
        self,
        path: str,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        super().__init__()
        self._path = path
        self._w = writer
        self._r = reader
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending | None] = asyncio.Queue()
        self._appended = asyncio.Event()
        self._closed = False
        self._writer_task = asyncio.get_running_loop().create_task(self._write_loop(), name="hookgate-store-writer")

    @classmethod
    async def open(
        cls, path: str, *, synchronous: Synchronous = "FULL", max_batch: int = DEFAULT_MAX_BATCH
    ) -> SqliteStore:
        """Open (creating if needed) the database at ``path`` (``":memory:"`` for a private in-memory one)."""
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
        memory = path == ":memory:"
        async with _opening(path):
            # isolation_level=None: sqlite3 opens no implicit transactions; each statement commits by itself.
            writer = await aiosqlite.connect(path, isolation_level=None)
            try:
                await _configure(writer, synchronous)
                await _create_schema(writer)
                if memory:
                    reader = writer
                else:
                    reader = await aiosqlite.connect(path, isolation_level=None)
                    try:
                        await _configure(reader, synchronous)
                        await reader.execute("PRAGMA query_only = ON")
                    except BaseException:
                        await reader.close()
                        raise
            except BaseException:
                await writer.close()
                raise
        return cls(path, writer, reader, max_batch=max_batch)

    def __repr__(self) -> str:
        return f"SqliteStore(path={self._path!r})"

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable("sqlite store is closed")
        if self._writer_task.done():
            # Only a cancelled loop ends the writer early; appends would otherwise wait forever.
            raise StoreUnavailable("sqlite store writer has stopped")

    # ----------------------------------------------------------------------------------------------- the log

    async def append(self, event: NewEvent) -> AppendResult:
        self._check_open()
        # Encode here, in the caller's task: a payload orjson refuses fails this caller only, not the batch.
        pending = _Pending(
            source=event.source,
            provider=event.provider,
            type=event.type,
            provider_event_id=event.provider_event_id,
            occurred_at=_iso(event.occurred_at),
            received_at=_iso(event.received_at) or "",
            payload=encode_payload(event.payload),
            future=asyncio.get_running_loop().create_future(),
        )
        self._queue.put_nowait(pending)
        return await pending.future

    async def _write_loop(self) -> None:
        """The only task that appends: everything queued while the previous batch was committing becomes the next
        batch, so the batch size follows the load without any added delay."""
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            await self._commit_batch(batch)

    async def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            results, retry = await self._insert_batch(batch)
        except Exception as exc:
            log.error("event log append failed for a batch of %d: %r", len(batch), exc)
            for p in batch:
                if not p.future.done():
                    error = StoreUnavailable("event log append failed")
                    error.__cause__ = exc
                    p.future.set_exception(error)
            return
        for p, result in results:
            if not p.future.done():  # the caller may have been cancelled; the event is stored regardless
                p.future.set_result(result)
        if any(not result.duplicate for _, result in results):
            self._appended.set()
            self._appended = asyncio.Event()
        if retry:
            # Duplicates whose original was trimmed between the insert and the look-up: append them anew.
            await self._commit_batch(retry)

    async def _insert_batch(self, batch: list[_Pending]) -> tuple[list[tuple[_Pending, AppendResult]], list[_Pending]]:
        appended_ms = int(time.time() * 1000)
        params: list[Any] = []
        for p in batch:
            params += (
                p.source,
                p.provider,
                p.type,
                p.provider_event_id,
                p.occurred_at,
                p.received_at,
                appended_ms,
                p.payload,
            )
        sql = _INSERT_HEAD + ", ".join([_INSERT_ROW] * len(batch)) + _INSERT_TAIL
        # One statement = one transaction = one fsync for the whole batch (the group commit).
        inserted = sorted(await self._fetch(self._w, sql, params))
        # RETURNING's order is unspecified, but ids grow in VALUES order; a row was skipped exactly when its
        # (source, provider_event_id) already existed, in the table or earlier in this batch. Walk both in order.
        results: list[tuple[_Pending, AppendResult]] = []
        duplicates: list[_Pending] = []
        i = 0
        for p in batch:
            if i < len(inserted) and (inserted[i][1], inserted[i][2]) == (p.source, p.provider_event_id):
                results.append((p, AppendResult(_event_from_pending(inserted[i][0], p), duplicate=False)))
                i += 1
            elif p.provider_event_id is None:
                raise StoreError("event log insert returned rows out of order")  # cannot happen; refuse to guess
            else:
                duplicates.append(p)
        if i != len(inserted):
            raise StoreError("event log insert returned unexpected rows")
        retry: list[_Pending] = []
        if duplicates:
            originals = await self._originals({(p.source, p.provider_event_id) for p in duplicates})
            for p in duplicates:
                original = originals.get((p.source, p.provider_event_id))
                if original is None:
                    retry.append(p)
                else:
                    results.append((p, AppendResult(original, duplicate=True)))
        return results, retry

    async def _originals(self, keys: set[tuple[str, str | None]]) -> dict[tuple[str, str | None], StoredEvent]:
        flat = [part for key in keys for part in key]
        values = ", ".join(["(?, ?)"] * len(keys))
        rows = await self._fetch(
            self._w,
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE (source, provider_event_id) IN (VALUES {values})",  # noqa: S608
            flat,
        )
        return {(row[1], row[4]): _event_from_row(row) for row in rows}

    async def get(self, event_id: str) -> StoredEvent | None:
        self._check_open()
        if not event_id.isdigit() or int(event_id) > _MAX_ROW_ID:
            return None
        sql = f"SELECT {_EVENT_COLUMNS} FROM events WHERE id = ?"  # noqa: S608
        rows = await self._fetch(self._r, sql, (int(event_id),))
        return _event_from_row(rows[0]) if rows else None

    @staticmethod
    def _where(
        after: str | None, source: str | None, provider: str | None, types: Sequence[str] | None
    ) -> tuple[str, list[Any]]:
        clauses = ["id > ?"]
        params: list[Any] = [0 if after is None else decode_cursor(after)]
        if source is not None:
            clauses.append("source = ?")
            params.append(source)
        if provider is not None:
            clauses.append("provider = ?")
            params.append(provider)
        if types is not None:
            names = list(dict.fromkeys(types))
            clauses.append(f"type IN ({', '.join(['?'] * len(names))})")
            params += names
        return " AND ".join(clauses), params

    async def read(
        self,
        after: str | None = None,
        limit: int = 100,
        *,
        source: str | None = None,
        provider: str | None = None,
        types: Sequence[str] | None = None,
    ) -> list[StoredEvent]:
        self._check_open()
        check_filters(limit, types)
        where, params = self._where(after, source, provider, types)
        if limit == 0 or (types is not None and not types):
            return []
        rows = await self._fetch(
            self._r,
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE {where} ORDER BY id LIMIT ?",  # noqa: S608
            [*params, limit],
        )
        return [_event_from_row(row) for row in rows]

    async def count(
        self, *, source: str | None = None, provider: str | None = None, types: Sequence[str] | None = None
    ) -> int:
        self._check_open()
        check_filters(None, types)
        if types is not None and not types:
            return 0
        where, params = self._where(None, source, provider, types)
        rows = await self._fetch(self._r, f"SELECT count(*) FROM events WHERE {where}", params)  # noqa: S608
        return int(rows[0][0])

    async def last_cursor(self) -> str | None:
        self._check_open()
        rows = await self._fetch(self._r, "SELECT max(id) FROM events")
        return None if rows[0][0] is None else encode_cursor(rows[0][0])

    async def trim(self, *, max_age_s: float | None = None, max_events: int | None = None) -> int:
        self._check_open()
        if max_events is not None and max_events < 0:
            raise ValueError("max_events must be >= 0")
        # The log stays a contiguous suffix: find the first id to keep, then delete everything before it.
        keep_from = 0
        if max_age_s is not None:
            cutoff_ms = int((time.time() - max_age_s) * 1000)
            # Scans from the oldest row and stops at the first young one: the cost is the rows being trimmed.
            rows = await self._fetch(
                self._w, "SELECT id FROM events WHERE appended_ms >= ? ORDER BY id LIMIT 1", (cutoff_ms,)
            )
            keep_from = max(keep_from, rows[0][0] if rows else await self._next_id())
        if max_events is not None:
            if max_events == 0:
                keep_from = max(keep_from, await self._next_id())
            else:
                rows = await self._fetch(
                    self._w, "SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?", (max_events - 1,)
                )
                if rows:
                    keep_from = max(keep_from, rows[0][0])
        removed = 0
        while keep_from:
            # In chunks, so that appends queued behind a large trim wait for one chunk, not for all of it.
            changed = await self._change(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ? ORDER BY id LIMIT ?)",
                (keep_from, _TRIM_CHUNK),
            )
            removed += changed
            if changed < _TRIM_CHUNK:
                break
        now = time.time()
        for table in ("idempotency", "tokens", "locks"):
            await self._change(f"DELETE FROM {table} WHERE expires_at <= ?", (now,))  # noqa: S608 (fixed names)
        return removed

    async def _next_id(self) -> int:
        rows = await self._fetch(self._w, "SELECT coalesce(max(id), 0) + 1 FROM events")
        return int(rows[0][0])

    async def wait_for_events(self, after: str | None, timeout_s: float) -> bool:
        self._check_open()
        after_id = 0 if after is None else decode_cursor(after)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0.0)
        while True:
            # Taken before the check, so that a commit between the check and the wait still wakes us.
            appended = self._appended
            rows = await self._fetch(self._r, "SELECT max(id) FROM events")
            if rows[0][0] is not None and rows[0][0] > after_id:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                async with asyncio.timeout(min(remaining, _CROSS_PROCESS_POLL_S)):
                    await appended.wait()
            except TimeoutError:
                pass

    # ------------------------------------------------------------------------------------------- lifecycle

    async def ping(self) -> bool:
        if self._closed:
            return False
        try:
            async with asyncio.timeout(2.0), translated():
                # Ready means an append could commit now: take the write lock and let it go at once, in one call on
                # the writer's thread (so no other statement of ours runs inside this transaction). Another process
                # holding the lock, a read-only or vanished file, a full disk: not ready.
                await self._w.executescript("BEGIN IMMEDIATE; ROLLBACK;")
        except (StoreError, TimeoutError):
            return False
        return not self._writer_task.done()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Appends already queued are still committed and answered: the sentinel queues behind them.
        self._queue.put_nowait(None)
        try:
            await self._writer_task
        finally:
            if self._background:
                await asyncio.gather(*self._background, return_exceptions=True)
            if self._r is not self._w:
                await self._r.close()
            await self._w.close()


async def _configure(conn: aiosqlite.Connection, synchronous: Synchronous) -> None:
    await conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    # Persistent in the file; ":memory:" answers "memory", which is fine for tests.
    await conn.execute("PRAGMA journal_mode = WAL")
    await conn.execute(f"PRAGMA synchronous = {synchronous}")


async def _create_schema(conn: aiosqlite.Connection) -> None:
    rows = await conn.execute_fetchall("PRAGMA user_version")
    version = cast(Iterable[Row], rows)
    current = next(iter(version))[0]
    if current > SCHEMA_VERSION:
        raise StoreError(f"the database was created by a newer Hookgate (schema {current} > {SCHEMA_VERSION})")
    # One transaction, so that two processes starting together see all of it or none of it.
    await conn.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
