"""The SQLite store's keyed state beside its event log: idempotency records, tokens, per-source verification keys and
locks. Each is a row under its key with an expiry where it has one, read or changed in one SQL statement (hence one
atomic transaction, across processes too: a claim is an insert that takes over an expired row). Expiry uses the wall
clock (``time.time()``), which the processes of one machine share.

:class:`KeyedState` is a part of :class:`~gateway.store.sqlite.SqliteStore` (the event log, the connections and
their lifecycle), which sets the connections it declares.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, cast

import aiosqlite
import orjson

from gateway.store.base import IdempotencyState, IdempotencyStatus, StoreBase, StoreUnavailable

#: A row as aiosqlite returns it.
Row = tuple[Any, ...]

_KEYS_CHUNK: Final = 300  # rows per upsert of verification keys (3 parameters each)


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """sqlite3 errors (busy beyond the timeout, I/O, a closed connection) leave the store as StoreUnavailable."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"sqlite store failed: {type(exc).__name__}") from exc
    except ValueError as exc:
        # aiosqlite's way of saying the connection is closed.
        if "closed" not in str(exc) and "no active connection" not in str(exc):
            raise
        raise StoreUnavailable("sqlite store is closed") from exc


class KeyedState(StoreBase):
    """Idempotency, tokens, verification keys and locks of the SQLite store, over its writer (``_w``) and reader
    (``_r``) connections."""

    _w: aiosqlite.Connection
    _r: aiosqlite.Connection

    if TYPE_CHECKING:

        def _check_open(self) -> None: ...

    # ---------------------------------------------------------------------------------------------- helpers

    async def _fetch(self, conn: aiosqlite.Connection, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        # execute_fetchall steps the statement to its end in one hop, so no read transaction stays open.
        async with translated():
            rows = await conn.execute_fetchall(sql, params)
        return cast(list[Row], rows)

    async def _change(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one writing statement (its own transaction); the number of rows it changed."""
        async with translated():
            cursor = await self._w.execute(sql, params)
            try:
                return cursor.rowcount
            finally:
                await cursor.close()

    # ----------------------------------------------------------------------------------------- idempotency

    async def idempotency_begin(
        self, scope: str, key: str, fingerprint: str, ttl_s: float, *, lease_s: float | None = None
    ) -> IdempotencyState:
        self._check_open()
        lease = ttl_s if lease_s is None else lease_s
        while True:
            now = time.time()
            # INSERT OR IGNORE, except that an expired record is taken over: one atomic statement.
            claimed = await self._fetch(
                self._w,
                "INSERT INTO idempotency (scope, key, fingerprint, state, response, ttl_s, expires_at) "
                "VALUES (?, ?, ?, 'started', NULL, ?, ?) "
                "ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, state = 'started', "
                "response = NULL, ttl_s = excluded.ttl_s, expires_at = excluded.expires_at "
                "WHERE idempotency.expires_at <= ? RETURNING 1",
                (scope, key, fingerprint, ttl_s, now + lease, now),
            )
            if claimed:
                return IdempotencyState(IdempotencyStatus.STARTED, fingerprint)
            state = await self._idempotency_peek(scope, key)
            if state is None:
                continue  # released or expired since the insert: claim again
            if state.fingerprint != fingerprint:
                return IdempotencyState(IdempotencyStatus.MISMATCH, state.fingerprint)
            return state

    async def _idempotency_peek(self, scope: str, key: str) -> IdempotencyState | None:
        rows = await self._fetch(
            self._w,
            "SELECT fingerprint, state, response FROM idempotency WHERE scope = ? AND key = ? AND expires_at > ?",
            (scope, key, time.time()),
        )
        if not rows:
            return None
        fingerprint, state, response = rows[0]
        if state == "completed":
            return IdempotencyState(IdempotencyStatus.COMPLETED, fingerprint, bytes(response))
        return IdempotencyState(IdempotencyStatus.IN_PROGRESS, fingerprint)

    async def idempotency_complete(self, scope: str, key: str, response: bytes) -> bool:
        self._check_open()
        now = time.time()
        changed = await self._change(
            "UPDATE idempotency SET state = 'completed', response = ?, expires_at = ? + ttl_s "
            "WHERE scope = ? AND key = ? AND state = 'started' AND expires_at > ?",
            (bytes(response), now, scope, key, now),
        )
        return changed == 1

    async def idempotency_release(self, scope: str, key: str) -> None:
        self._check_open()
        await self._change("DELETE FROM idempotency WHERE scope = ? AND key = ? AND state = 'started'", (scope, key))

    # ---------------------------------------------------------------------------------------------- tokens

    async def token_get(self, key: str) -> str | None:
        self._check_open()
        rows = await self._fetch(
            self._r, "SELECT value FROM tokens WHERE key = ? AND expires_at > ?", (key, time.time())
        )
        return str(rows[0][0]) if rows else None

    async def token_set(self, key: str, value: str, ttl_s: float) -> None:
        self._check_open()
        await self._change(
            "INSERT INTO tokens (key, value, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
            (key, value, time.time() + ttl_s),
        )

    async def token_delete(self, key: str) -> None:
        self._check_open()
        await self._change("DELETE FROM tokens WHERE key = ?", (key,))

    # ------------------------------------------------------------------------------------- verification keys

    async def verification_keys(self, source: str) -> list[str]:
        self._check_open()
        rows = await self._fetch(self._r, "SELECT value FROM verification_keys WHERE source = ?", (source,))
        return [str(row[0]) for row in rows]

    async def verification_keys_set(self, source: str, keys: Mapping[str, str], *, replace: bool = False) -> None:
        self._check_open()
        items = list(keys.items())
        # Upsert first, then drop the others: a reader never sees the source without the keys it keeps.
        for at in range(0, len(items), _KEYS_CHUNK):
            chunk = items[at : at + _KEYS_CHUNK]
            await self._change(
                "INSERT INTO verification_keys (source, key_id, value) VALUES "  # noqa: S608 (placeholders only)
                + ", ".join(["(?, ?, ?)"] * len(chunk))
                + " ON CONFLICT (source, key_id) DO UPDATE SET value = excluded.value",
                [part for key_id, value in chunk for part in (source, key_id, value)],
            )
        if replace:
            kept = [key_id for key_id, _ in items]
            await self._change(
                "DELETE FROM verification_keys WHERE source = ? AND key_id NOT IN (SELECT value FROM json_each(?))",
                (source, orjson.dumps(kept).decode()),
            )

    async def verification_key_delete(self, source: str, key_id: str) -> None:
        self._check_open()
        await self._change("DELETE FROM verification_keys WHERE source = ? AND key_id = ?", (source, key_id))

    # ----------------------------------------------------------------------------------------------- locks

    async def _try_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        self._check_open()
        now = time.time()
        # Conditional insert-or-take-over-if-expired, in one statement: atomic across processes.
        rows = await self._fetch(
            self._w,
            "INSERT INTO locks (name, owner, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at "
            "WHERE locks.expires_at <= ? RETURNING 1",
            (name, owner, now + ttl_s, now),
        )
        return bool(rows)

    async def _unlock(self, name: str, owner: str) -> bool:
        changed = await self._change(
            "DELETE FROM locks WHERE name = ? AND owner = ? AND expires_at > ?", (name, owner, time.time())
        )
        if not changed:
            # Expired but maybe not yet taken over: clear our own stale row anyway.
            await self._change("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))
        return changed == 1
