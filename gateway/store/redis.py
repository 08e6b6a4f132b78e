"""Redis implementation of :class:`~gateway.store.base.Store`, for gateway replicas that share their state.

Keys (all under a configurable prefix, default ``hookgate:``):

- ``log``: the event log, one Redis Stream. An append is one Lua script (atomic on the server): look up the dedupe
  key ``dedupe:<source>:<provider event id>``; if it names a retained entry, return that entry as the duplicate;
  else ``XADD *`` and point the dedupe key at the new id. Cursors are the stream id ``<ms>-<seq>`` as two
  16-hex-digit numbers (so they compare as strings); ids are the stream id itself. ``read`` pages with
  ``XRANGE (<id> +``, which is exclusive of the cursor; Redis assigns stream ids in increasing order and an entry is
  visible once added, so a reader never misses a later entry.
- ``idem:<scope>:<key>``: an idempotency record, claimed with ``SET NX PX`` (atomic across processes); completed
  and released with compare-and-set / compare-and-delete scripts, so that only the record that was read is changed.
- ``token:<key>``: cached upstream tokens with ``PX`` expiry.
- ``vkeys:<source>``: a hash of verification keys by key id (Dixa's per-subscription ``secretKey``); a full list
  replaces it in one ``MULTI``.
- ``lock:<name>``: ``SET NX PX`` with a random owner token; released by a compare-and-delete script, so that a
  holder whose lock expired cannot free the next holder's.

Durability: an append returns once Redis has applied ``XADD``. What survives a Redis crash is the server's
persistence setting: run it with ``appendonly yes`` (``appendfsync everysec`` may lose the last second on a power
cut or a Redis crash; ``always`` loses nothing acknowledged). The gateway cannot make Redis more durable than that.

Filtered ``read`` and ``count`` scan the stream from the cursor (for ``count``: the whole retained stream) and filter
here, on the raw fields before decoding payloads; retention (``trim``) bounds that cost. ``count`` without filters
is ``XLEN``. Keys of one store share no hash tag: this targets a single Redis (or a primary with replicas), not
Redis Cluster.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Final, cast

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway.store.base import (
    AppendResult,
    IdempotencyState,
    IdempotencyStatus,
    InvalidCursor,
    NewEvent,
    StoreBase,
    StoredEvent,
    StoreUnavailable,
    check_filters,
    decode_payload,
    encode_payload,
    to_utc_aware,
)

log = logging.getLogger("gateway.store.redis")

DEFAULT_PREFIX: Final = "hookgate:"
DEFAULT_MAX_CONNECTIONS: Final = 64
_SCAN_CHUNK: Final = 1000

# KEYS[1] the stream, KEYS[2] (optional) the dedupe key; ARGV the entry's field/value pairs.
_APPEND = """
if KEYS[2] then
  local first = redis.call('GET', KEYS[2])
  if first then
    local found = redis.call('XRANGE', KEYS[1], first, first)
    if #found > 0 then return {1, found[1][1], found[1][2]} end
  end
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV))
if KEYS[2] then redis.call('SET', KEYS[2], id) end
return {0, id}
"""

# Set KEYS[1] to ARGV[2] with expiry ARGV[3] ms, only if it still holds ARGV[1].
_COMPARE_AND_SET = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""

# Delete each KEYS[i] only if it still holds ARGV[i]; the number deleted.
_COMPARE_AND_DELETE = """
local n = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then n = n + redis.call('DEL', key) end
end
return n
"""

_STREAM_ID = re.compile(r"^(\d+)-(\d+)$")


def _ms(seconds: float) -> int:
    # PX refuses 0; a ttl that rounds to nothing still means "expire at once", i.e. after 1 ms.
    return max(1, int(seconds * 1000))


def _parse_id(stream_id: str) -> tuple[int, int]:
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)


def encode_cursor(stream_id: str) -> str:
    ms, seq = _parse_id(stream_id)
    return f"{ms:016x}{seq:016x}"


def decode_cursor(cursor: str) -> str:
    """The stream id of a cursor."""
    if len(cursor) != 32:
        raise InvalidCursor("not a cursor of this store")
    try:
        return f"{int(cursor[:16], 16)}-{int(cursor[16:], 16)}"
    except ValueError:
        raise InvalidCursor("not a cursor of this store") from None


def _len_prefixed(part: str) -> str:
    # Scopes, sources and keys are free text: a length prefix keeps "a:b"+"c" apart from "a"+"b:c".
    return f"{len(part)}:{part}"


def _event_from_entry(stream_id: bytes | str, fields: dict[bytes, bytes]) -> StoredEvent:
    sid = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    occurred = fields.get(b"o")
    provider_event_id = fields.get(b"e")
    return StoredEvent(
        id=sid,
        cursor=encode_cursor(sid),
        source=fields[b"s"].decode(),
        provider=fields[b"p"].decode(),
        type=fields[b"t"].decode(),
        provider_event_id=None if provider_event_id is None else provider_event_id.decode(),
        occurred_at=None if occurred is None else datetime.fromisoformat(occurred.decode()),
        received_at=datetime.fromisoformat(fields[b"r"].decode()),
        payload=decode_payload(fields[b"d"]),
    )


_Entry = tuple[bytes, dict[bytes, bytes]]


def _entries(raw: Any) -> list[_Entry]:
    """redis-py types stream entries loosely (``str`` or ``bytes``, maybe ``None``); this client never decodes
    responses, so they are ``(bytes id, {bytes: bytes})``."""
    return cast(list[_Entry], raw or [])


def _pairs_to_dict(flat: Sequence[bytes]) -> dict[bytes, bytes]:
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


class _Filter:
    """Filters applied to raw stream fields, so that entries that do not match are never decoded."""

    def __init__(self, source: str | None, provider: str | None, types: Sequence[str] | None) -> None:
        self.source = None if source is None else source.encode()
        self.provider = None if provider is None else provider.encode()
        self.types = None if types is None else frozenset(t.encode() for t in types)
        self.empty = source is None and provider is None and types is None

    def __call__(self, fields: dict[bytes, bytes]) -> bool:
        return (
            (self.source is None or fields.get(b"s") == self.source)
            and (self.provider is None or fields.get(b"p") == self.provider)
            and (self.types is None or fields.get(b"t") in self.types)
        )


@asynccontextmanager
async def _translated() -> AsyncIterator[None]:
    """Redis client errors leave the store as StoreUnavailable (the message names the error class only: a
    connection error's text may include the host)."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StoreUnavailable(f"redis store failed: {type(exc).__name__}") from exc


class RedisStore(StoreBase):
    """The Redis store. ``display`` is what ``repr`` shows: a URL without its password."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = DEFAULT_PREFIX, display: str = "redis") -> None:
        super().__init__()
        self._redis = client
        self._prefix = prefix
        self._display = display
        self._log_key = f"{prefix}log"
        self._append_script = client.register_script(_APPEND)
        self._cas = client.register_script(_COMPARE_AND_SET)
        self._cad = client.register_script(_COMPARE_AND_DELETE)
        self._closed = False

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        display: str = "redis",
    ) -> RedisStore:
        """A store on the Redis at ``url``. Connects lazily: :meth:`ping` tells whether Redis answers."""
        # A blocking pool: a burst of requests waits for a connection instead of opening one socket each.
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10, socket_connect_timeout=5, health_check_interval=30
        )
        return cls(aioredis.Redis.from_pool(pool), prefix=prefix, display=display)

    def __repr__(self) -> str:
        return f"RedisStore({self._display!r}, prefix={self._prefix!r})"

    @property
    def prefix(self) -> str:
        return self._prefix

    def _check_open(self) -> None:
        if self._closed:
            raise StoreUnavailable("redis store is closed")

    # ----------------------------------------------------------------------------------------------- the log

    def _dedupe_key(self, source: str, provider_event_id: str) -> str:
        return f"{self._prefix}dedupe:{_len_prefixed(source)}:{provider_event_id}"

    async def append(self, event: NewEvent) -> AppendResult:
        self._check_open()
        payload = encode_payload(event.payload)
        received_at = to_utc_aware(event.received_at).isoformat()
        occurred_at = None if event.occurred_at is None else to_utc_aware(event.occurred_at).isoformat()
        fields: list[bytes | str] = ["s", event.source, "p", event.provider, "t", event.type, "r", received_at]
        fields += ["d", payload]
        if occurred_at is not None:
            fields += ["o", occurred_at]
        keys = [self._log_key]
        if event.provider_event_id is not None:
            fields += ["e", event.provider_event_id]
            keys.append(self._dedupe_key(event.source, event.provider_event_id))
        async with _translated():
            answer = await self._append_script(keys=keys, args=fields)
        if answer[0] == 1:
            return AppendResult(_event_from_entry(answer[1], _pairs_to_dict(answer[2])), duplicate=True)
        stream_id = _text(answer[1])
        # Built from what was written rather than re-read: one round trip per append.
        stored = StoredEvent(
            id=stream_id,
            cursor=encode_cursor(stream_id),
            source=event.source,
            provider=event.provider,
            type=event.type,
            provider_event_id=event.provider_event_id,
            occurred_at=None if occurred_at is None else datetime.fromisoformat(occurred_at),
            received_at=datetime.fromisoformat(received_at),
            payload=decode_payload(payload),
        )
        return AppendResult(stored, duplicate=False)

    async def get(self, event_id: str) -> StoredEvent | None:
        self._check_open()
        match = _STREAM_ID.match(event_id)
        if match is None or max(int(match[1]), int(match[2])) >= 2**64:
            return None  # Redis would refuse it as an invalid stream id
        async with _translated():
            entries = _entries(await self._redis.xrange(self._log_key, event_id, event_id))
        return _event_from_entry(*entries[0]) if entries else None

    async def _scan(
        self, start: str, match: _Filter, limit: int | None
    ) -> AsyncIterator[tuple[bytes, dict[bytes, bytes]]]:
        """Entries after ``start`` (an XRANGE start) that match, oldest first, fetched in chunks."""
        found = 0
        while limit is None or found < limit:
            # Without filters every entry counts, so fetch no more than asked for.
            chunk = _SCAN_CHUNK if limit is None or not match.empty else min(_SCAN_CHUNK, limit - found)
            async with _translated():
                entries = _entries(await self._redis.xrange(self._log_key, start, "+", count=chunk))
            for stream_id, fields in entries:
                if match(fields):
                    yield stream_id, fields
                    found += 1
                    if limit is not None and found >= limit:
                        return
            if not entries or len(entries) < chunk:
                return
            start = "(" + entries[-1][0].decode()

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
        start = "-" if after is None else "(" + decode_cursor(after)
        if limit == 0 or (types is not None and not types):
            return []
        return [
            _event_from_entry(stream_id, fields)
            async for stream_id, fields in self._scan(start, _Filter(source, provider, types), limit)
        ]

    async def count(
        self, *, source: str | None = None, provider: str | None = None, types: Sequence[str] | None = None
    ) -> int:
        self._check_open()
        check_filters(None, types)
        if types is not None and not types:
            return 0
        match = _Filter(source, provider, types)
        if match.empty:
            async with _translated():
                return int(await self._redis.xlen(self._log_key))
        return sum([1 async for _ in self._scan("-", match, None)])

    async def _last_id(self) -> str | None:
        async with _translated():
            entries = _entries(await self._redis.xrevrange(self._log_key, "+", "-", count=1))
        return entries[0][0].decode() if entries else None

    async def last_cursor(self) -> str | None:
        self._check_open()
        last = await self._last_id()
        return None if last is None else encode_cursor(last)

    async def trim(self, *, max_age_s: float | None = None, max_events: int | None = None) -> int:
        self._check_open()
        if max_events is not None and max_events < 0:
            raise ValueError("max_events must be >= 0")
        # Everything below ``keep_from`` (a stream id) goes.
        keep_from: tuple[int, int] | None = None
        if max_age_s is not None:
            async with _translated():
                # The server's clock: stream ids are its milliseconds, not ours.
                seconds, micros = await self._redis.time()
            keep_from = _max_id(keep_from, (seconds * 1000 + micros // 1000 - int(max_age_s * 1000), 0))
        if max_events is not None:
            if max_events == 0:
                last = await self._last_id()
                if last is not None:
                    ms, seq = _parse_id(last)
                    keep_from = _max_id(keep_from, (ms, seq + 1))
            else:
                async with _translated():
                    newest = _entries(await self._redis.xrevrange(self._log_key, "+", "-", count=max_events))
                if len(newest) == max_events:
                    keep_from = _max_id(keep_from, _parse_id(newest[-1][0].decode()))
        if keep_from is None:
            return 0
        removed = 0
        boundary = f"{keep_from[0]}-{keep_from[1]}"
        while True:
            # Chunk by chunk: note the chunk's dedupe keys, trim the stream, then drop those keys. Trimming first
            # means a redelivery racing with us finds no entry and appends anew (re-pointing the key, which the
            # compare-and-delete then leaves alone) instead of being lost.
            async with _translated():
                entries = _entries(await self._redis.xrange(self._log_key, "-", "(" + boundary, count=_SCAN_CHUNK))
            if not entries:
                break
            dedupe: list[tuple[str, str]] = []
            for stream_id, fields in entries:
                peid = fields.get(b"e")
                if peid is not None:
                    dedupe.append((self._dedupe_key(fields[b"s"].decode(), peid.decode()), stream_id.decode()))
            ms, seq = _parse_id(entries[-1][0].decode())
            async with _translated():
                removed += int(await self._redis.xtrim(self._log_key, minid=f"{ms}-{seq + 1}", approximate=False))
                if dedupe:
                    await self._cad(keys=[k for k, _ in dedupe], args=[v for _, v in dedupe])
            if len(entries) < _SCAN_CHUNK:
                break
        return removed

    async def wait_for_events(self, after: str | None, timeout_s: float) -> bool:
        self._check_open()
        last_seen = "0-0" if after is None else decode_cursor(after)
        block = None if timeout_s <= 0 else _ms(timeout_s)
        async with _translated():
            answer = await self._redis.xread({self._log_key: last_seen}, count=1, block=block)
        return bool(answer)

    # ----------------------------------------------------------------------------------------- idempotency

    def _idem_key(self, scope: str, key: str) -> str:
        return f"{self._prefix}idem:{_len_prefixed(scope)}:{key}"

    async def idempotency_begin(
        self, scope: str, key: str, fingerprint: str, ttl_s: float, *, lease_s: float | None = None
    ) -> IdempotencyState:
        self._check_open()
        record_key = self._idem_key(scope, key)
        started = _record("started", fingerprint, ttl_s)
        lease = ttl_s if lease_s is None else lease_s
        while True:
            async with _translated():
                if await self._redis.set(record_key, started, nx=True, px=_ms(lease)):
                    return IdempotencyState(IdempotencyStatus.STARTED, fingerprint)
                raw = await self._redis.get(record_key)
            if raw is None:
                continue  # released or expired between SET and GET: claim again
            state = _state_of(raw)
            if state.fingerprint != fingerprint:
                return IdempotencyState(IdempotencyStatus.MISMATCH, state.fingerprint)
            return state

    async def _idempotency_peek(self, scope: str, key: str) -> IdempotencyState | None:
        async with _translated():
            raw = await self._redis.get(self._idem_key(scope, key))
        return None if raw is None else _state_of(raw)

    async def idempotency_complete(self, scope: str, key: str, response: bytes) -> bool:
        self._check_open()
        record_key = self._idem_key(scope, key)
        while True:
            async with _translated():
                raw = await self._redis.get(record_key)
            if raw is None:
                return False
            header = orjson.loads(_header(raw))
            if header["s"] != "started":
                return False
            completed = _record("completed", header["f"], header["t"]) + b"\n" + bytes(response)
            async with _translated():
                if await self._cas(keys=[record_key], args=[raw, completed, _ms(header["t"])]):
                    return True
            # The record changed between GET and the script: look again.

    async def idempotency_release(self, scope: str, key: str) -> None:
        self._check_open()
        record_key = self._idem_key(scope, key)
        while True:
            async with _translated():
                raw = await self._redis.get(record_key)
            if raw is None or orjson.loads(_header(raw))["s"] != "started":
                return
            async with _translated():
                if await self._cad(keys=[record_key], args=[raw]):
                    return

    # ---------------------------------------------------------------------------------------------- tokens

    def _token_key(self, key: str) -> str:
        return f"{self._prefix}token:{key}"

    async def token_get(self, key: str) -> str | None:
        self._check_open()
        async with _translated():
            value = await self._redis.get(self._token_key(key))
        return None if value is None else _text(value)

    async def token_set(self, key: str, value: str, ttl_s: float) -> None:
        self._check_open()
        async with _translated():
            await self._redis.set(self._token_key(key), value, px=_ms(ttl_s))

    async def token_delete(self, key: str) -> None:
        self._check_open()
        async with _translated():
            await self._redis.delete(self._token_key(key))

    # ------------------------------------------------------------------------------------- verification keys

    def _keys_key(self, source: str) -> str:
        return f"{self._prefix}vkeys:{_len_prefixed(source)}"

    async def verification_keys(self, source: str) -> list[str]:
        self._check_open()
        async with _translated():
            values = await self._redis.hvals(self._keys_key(source))
        return [_text(value) for value in values]

    async def verification_keys_set(self, source: str, keys: Mapping[str, str], *, replace: bool = False) -> None:
        self._check_open()
        name = self._keys_key(source)
        # MULTI: readers see the old hash or the new one, never the source without keys in between.
        async with _translated(), self._redis.pipeline(transaction=True) as pipe:
            if replace:
                pipe.delete(name)
            if keys:
                mapping: dict[Any, Any] = dict(keys)
                pipe.hset(name, mapping=mapping)
            await pipe.execute()

    async def verification_key_delete(self, source: str, key_id: str) -> None:
        self._check_open()
        async with _translated():
            await self._redis.hdel(self._keys_key(source), key_id)

    # ----------------------------------------------------------------------------------------------- locks

    async def _try_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        self._check_open()
        async with _translated():
            return bool(await self._redis.set(f"{self._prefix}lock:{name}", owner, nx=True, px=_ms(ttl_s)))

    async def _unlock(self, name: str, owner: str) -> bool:
        async with _translated():
            return bool(await self._cad(keys=[f"{self._prefix}lock:{name}"], args=[owner]))

    # ------------------------------------------------------------------------------------------- lifecycle

    async def ping(self) -> bool:
        if self._closed:
            return False
        try:
            async with asyncio.timeout(2.0), _translated():
                return bool(await self._redis.ping())
        except (StoreUnavailable, TimeoutError):
            return False

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self._redis.aclose()


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def _max_id(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int]:
    return b if a is None else max(a, b)


def _record(state: str, fingerprint: str, ttl_s: float) -> bytes:
    """An idempotency record's header: JSON on one line (orjson escapes newlines), then for a completed record
    ``\\n`` and the response bytes as given."""
    return orjson.dumps({"s": state, "f": fingerprint, "t": ttl_s})


def _header(raw: bytes | str) -> bytes:
    data = raw.encode() if isinstance(raw, str) else raw
    return data.split(b"\n", 1)[0]


def _state_of(raw: bytes | str) -> IdempotencyState:
    data = raw.encode() if isinstance(raw, str) else raw
    head, _, body = data.partition(b"\n")
    header = orjson.loads(head)
    if header["s"] == "completed":
        return IdempotencyState(IdempotencyStatus.COMPLETED, header["f"], body)
    return IdempotencyState(IdempotencyStatus.IN_PROGRESS, header["f"])
