"""The live hub (gateway/graphql_ws/hub.py) through the real server and raw graphql-transport-ws clients:
identical subscriptions execute once per event and receive the same bytes; anything that changes the result gets its
own execution; a resuming subscriber joins the shared stream with no gap and no duplicate; a slow subscriber is
dropped with where to resume and delays nobody; ``complete`` and disconnects leave the group."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import socket
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from gateway.graphql_ws.hub import LiveHub
from tests.support.answers import KEYS, api_keys
from tests.support.events import ZERO_CURSOR, uipath_delivery, until, ws_url
from tests.support.gateway import Gateway, services_of

DOC = "subscription($source: String) { events(source: $source) { cursor type providerEventId } }"
WITH_PAYLOAD = 'subscription { events(source: "uipath") { cursor payload } }'
RESUMABLE = """
subscription($source: String, $after: String) { events(source: $source, after: $after) { cursor providerEventId } }
"""


class Connection:
    """One graphql-transport-ws connection carrying several operations; every frame it receives, kept by id."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.raw: dict[str, list[str]] = defaultdict(list)
        self.reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in self.ws:
                self.keep(frame)

    def keep(self, frame: str | bytes) -> None:
        text = frame if isinstance(frame, str) else frame.decode()
        self.raw[orjson.loads(text).get("id", "")].append(text)

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        payload = {"query": query, "variables": variables or {}}
        await self.ws.send(orjson.dumps({"id": op_id, "type": "subscribe", "payload": payload}).decode())

    async def complete(self, op_id: str) -> None:
        await self.ws.send(orjson.dumps({"id": op_id, "type": "complete"}).decode())

    def messages(self, op_id: str) -> list[dict[str, Any]]:
        return [orjson.loads(text) for text in self.raw[op_id]]

    def events(self, op_id: str) -> list[dict[str, Any]]:
        """The ``events`` objects of the operation's ``next`` messages that carry data."""
        return [m["payload"]["data"]["events"] for m in self.messages(op_id) if _is_event(m)]


def _is_event(message: dict[str, Any]) -> bool:
    return message["type"] == "next" and (message["payload"].get("data") or {}).get("events") is not None


@contextlib.asynccontextmanager
async def connect(
    gateway: Gateway, *, key: str | None = None, read: bool = True, **options: Any
) -> AsyncIterator[Connection]:
    async with websockets.connect(ws_url(gateway.url), subprotocols=["graphql-transport-ws"], **options) as ws:  # type: ignore[list-item]
        init = {} if key is None else {"authorization": f"Bearer {key}"}
        await ws.send(orjson.dumps({"type": "connection_init", "payload": init}).decode())
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        connection = Connection(ws)
        if read:
            connection.start_reading()
        try:
            yield connection
        finally:
            if connection.reader is not None:
                connection.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await connection.reader


def hub(gateway: Gateway) -> LiveHub:
    live: LiveHub = services_of(gateway.app).live
    return live


def live_members(shared: LiveHub) -> int:
    """Members past their replay (the server runs on another thread: retry a read that raced a change)."""
    for _ in range(100):
        with contextlib.suppress(RuntimeError):
            return sum(member.live for group in list(shared.groups.values()) for member in list(group.members))
    raise AssertionError("the groups kept changing")


async def deliver(gateway: Gateway, event_id: str, event_type: str = "job.completed", **extra: Any) -> str:
    body, headers = uipath_delivery(event_id, event_type, **extra)
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{gateway.url}/hooks/uipath", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["cursor"])


async def deliver_dixa(gateway: Gateway, event_id: str) -> str:
    from tests.support.events import dixa_delivery

    body, headers = dixa_delivery(event_id)
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{gateway.url}/hooks/dixa", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["cursor"])


# ------------------------------------------------------------------------------------------------------ sharing


async def test_identical_live_subscriptions_execute_once_per_event_and_receive_the_same_bytes(gateway: Gateway) -> None:
    shared = hub(gateway)
    async with connect(gateway) as a, connect(gateway) as b:
        ids = {conn: [f"{name}{i}" for i in range(10)] for conn, name in ((a, "a"), (b, "b"))}
        for conn, op_ids in ids.items():
            for op_id in op_ids:
                await conn.subscribe(op_id, DOC, {"source": "uipath"})
        await until(lambda: live_members(shared) == 20, timeout_s=20)
        assert len(shared.groups) == 1
        executions, frames = shared.executions, shared.frames

        cursors = [await deliver(gateway, f"same-{i}") for i in range(3)]
        await until(lambda: all(len(c.events(i)) == 3 for c, op_ids in ids.items() for i in op_ids), timeout_s=20)

        assert shared.executions - executions == 3  # one execution per event, not one per subscriber
        assert shared.frames - frames == 60
        payloads = set()
        for conn, op_ids in ids.items():
            for op_id in op_ids:
                assert [e["cursor"] for e in conn.events(op_id)] == cursors
                # The same serialized payload for everyone: only the id differs.
                payloads.add(tuple(t.replace(f'"id":"{op_id}"', '"id":_') for t in conn.raw[op_id]))
        assert len(payloads) == 1
        assert [e["providerEventId"] for e in a.events("a0")] == ["same-0", "same-1", "same-2"]


async def test_what_changes_the_result_gets_its_own_execution(gateway: Gateway) -> None:
    shared = hub(gateway)
    async with connect(gateway) as conn:
        await conn.subscribe("x1", DOC, {"source": "uipath"})
        await conn.subscribe("x2", DOC, {"source": "uipath"})
        await conn.subscribe("faulted", 'subscription { events(types: ["job.faulted"]) { cursor type } }')
        await conn.subscribe("dixa", DOC, {"source": "dixa"})
        await conn.subscribe("narrow", 'subscription { events(source: "uipath") { cursor } }')
        await until(lambda: live_members(shared) == 5, timeout_s=20)
        assert len(shared.groups) == 4
        executions = shared.executions

        completed = await deliver(gateway, "u1")
        faulted = await deliver(gateway, "u2", "job.faulted")
        conversation = await deliver_dixa(gateway, "d1")
        await until(lambda: len(conn.events("x1")) == 2 and len(conn.events("dixa")) == 1, timeout_s=20)
        await until(lambda: len(conn.events("faulted")) == 1 and len(conn.events("narrow")) == 2, timeout_s=20)

        for op_id in ("x1", "x2"):
            assert [e["cursor"] for e in conn.events(op_id)] == [completed, faulted]
        assert conn.events("faulted") == [{"cursor": faulted, "type": "job.faulted"}]
        assert [e["cursor"] for e in conn.events("dixa")] == [conversation]
        assert conn.events("narrow") == [{"cursor": completed}, {"cursor": faulted}]
        assert shared.executions - executions == 2 + 1 + 1 + 2

        # A bad cursor is still this subscription's own error, before it joins anything.
        await conn.subscribe("bad", RESUMABLE, {"after": "zz"})
        await until(lambda: [m["type"] for m in conn.messages("bad")] == ["next", "complete"], timeout_s=10)
        assert conn.messages("bad")[0]["payload"]["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_api_keys_do_not_share_a_group(gateway_factory: Any) -> None:
    keyed = gateway_factory(api_keys=api_keys())
    shared = hub(keyed)
    async with connect(keyed, key=KEYS["reader"][0]) as reader, connect(keyed, key=KEYS["admin"][0]) as admin:
        await reader.subscribe("r", DOC, {"source": "uipath"})
        await admin.subscribe("a", DOC, {"source": "uipath"})
        await until(lambda: live_members(shared) == 2, timeout_s=20)
        assert len(shared.groups) == 2  # same document and variables, another principal
        cursor = await deliver(keyed, "keyed-1")
        await until(lambda: len(reader.events("r")) == 1 and len(admin.events("a")) == 1, timeout_s=20)
        assert reader.events("r")[0]["cursor"] == admin.events("a")[0]["cursor"] == cursor


# --------------------------------------------------------------------------------------------------- the seam


async def test_a_resuming_subscriber_joins_the_shared_stream_with_no_gap_or_duplicate(gateway: Gateway) -> None:
    shared = hub(gateway)
    past = [await deliver(gateway, f"e{i}") for i in range(5)]
    async with connect(gateway) as a, connect(gateway) as b:
        await a.subscribe("live", RESUMABLE, {"source": "uipath"})
        await until(lambda: live_members(shared) == 1, timeout_s=20)
        executions = shared.executions

        async def more() -> list[str]:
            return [await deliver(gateway, f"e{i}") for i in range(5, 15)]

        # Deliveries race the resumer's replay and its joining: whatever the interleaving, each event exactly once.
        arriving = asyncio.create_task(more())
        await b.subscribe("resumed", RESUMABLE, {"source": "uipath", "after": past[1]})
        future = await arriving
        await until(lambda: len(b.events("resumed")) >= 13 and len(a.events("live")) >= 10, timeout_s=20)
        await asyncio.sleep(0.2)  # anything extra (a duplicate) would have arrived by now

        assert [e["providerEventId"] for e in b.events("resumed")] == [f"e{i}" for i in range(2, 15)]
        assert [e["cursor"] for e in b.events("resumed")] == past[2:] + future
        assert [e["cursor"] for e in a.events("live")] == future
        assert len(shared.groups) == 1  # ``after`` only shapes the replay: both share the live part
        assert shared.executions - executions == 10


# ----------------------------------------------------------------------------------------- slow subscribers


async def test_a_slow_subscriber_is_dropped_with_where_to_resume_and_delays_nobody(gateway_factory: Any) -> None:
    gw = gateway_factory(events={"subscriber_queue": 4})
    shared = hub(gw)
    # A client that stops reading: a small receive buffer and a one-message queue, so the server's socket fills up.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window stays small
    sock.connect(("127.0.0.1", int(gw.url.rsplit(":", 1)[1])))
    async with connect(gw) as fast, connect(gw, read=False, sock=sock, max_queue=1) as slow:
        await fast.subscribe("fast", WITH_PAYLOAD)
        await slow.subscribe("slow", WITH_PAYLOAD)
        await until(lambda: live_members(shared) == 2, timeout_s=20)
        assert len(shared.groups) == 1  # the slow one shares the fast one's group: it must not hold it back
        dropped = shared.dropped_total

        # Large payloads until the slow one's socket buffers are full and its queue overflows.
        blob = base64.b64encode(os.urandom(150_000)).decode()
        cursors: list[str] = []
        while shared.dropped_total == dropped and len(cursors) < 200:
            cursors.append(await deliver(gw, f"big-{len(cursors)}", Blob=blob))
        await until(lambda: len(fast.events("fast")) == len(cursors), timeout_s=60)
        assert [e["cursor"] for e in fast.events("fast")] == cursors
        assert shared.dropped_total - dropped == 1

        # Now read the slow one: a prefix of the events, then RATE_LIMITED with where to resume, then complete.
        async with asyncio.timeout(30):
            while not slow.raw["slow"] or orjson.loads(slow.raw["slow"][-1])["type"] != "complete":
                slow.keep(await slow.ws.recv())
        received = [e["cursor"] for e in slow.events("slow")]
        assert received == cursors[: len(received)]
        assert len(received) < len(cursors)
        error = slow.messages("slow")[-2]
        assert error["type"] == "next"
        [detail] = error["payload"]["errors"]
        assert detail["extensions"]["code"] == "RATE_LIMITED"
        assert detail["extensions"]["resumeAfter"] == (received[-1] if received else None)

    # Resuming from there loses nothing and repeats nothing.
    resume_after = detail["extensions"]["resumeAfter"] or ZERO_CURSOR
    async with connect(gw) as again:
        await again.subscribe("again", RESUMABLE, {"source": "uipath", "after": resume_after})
        await until(lambda: len(again.events("again")) >= len(cursors) - len(received), timeout_s=30)
        assert [e["cursor"] for e in again.events("again")] == cursors[len(received) :]


# -------------------------------------------------------------------------------------- complete, disconnect


async def test_complete_and_disconnect_leave_the_group(gateway: Gateway) -> None:
    shared = hub(gateway)
    broker = services_of(gateway.app).broker
    assert broker is not None
    async with connect(gateway) as conn:
        for op_id in ("o1", "o2", "o3"):
            await conn.subscribe(op_id, DOC, {"source": "uipath"})
        await until(lambda: live_members(shared) == 3, timeout_s=20)
        first = await deliver(gateway, "c1")
        await until(lambda: all(len(conn.events(i)) == 1 for i in ("o1", "o2", "o3")), timeout_s=20)
        await conn.complete("o1")
        await until(lambda: live_members(shared) == 2, timeout_s=10)
        second = await deliver(gateway, "c2")
        await until(lambda: all(len(conn.events(i)) == 2 for i in ("o2", "o3")), timeout_s=20)
        assert [e["cursor"] for e in conn.events("o1")] == [first]
        assert [e["cursor"] for e in conn.events("o2")] == [first, second]
        assert [m["type"] for m in conn.messages("o1")] == ["next"]  # the client completed it: nothing more
    # The connection closed: its members left, the group ended, and so did its broker subscription.
    await until(lambda: not shared.groups and broker.subscriber_count == 0, timeout_s=10)


async def test_members_complete_when_the_broker_closes(gateway_factory: Any) -> None:
    gw = gateway_factory()
    shared = hub(gw)
    broker = services_of(gw.app).broker
    assert broker is not None
    async with connect(gw) as conn:
        await conn.subscribe("p", DOC, {"source": "uipath"})
        await conn.subscribe("q", DOC, {"source": "uipath"})
        await until(lambda: live_members(shared) == 2, timeout_s=20)
        cursor = await deliver(gw, "last-one")
        await until(lambda: len(conn.events("p")) == 1 and len(conn.events("q")) == 1, timeout_s=20)
        # As at shutdown: the broker ends every subscription, and shared members complete like the others.
        server_loop = broker._tasks[0].get_loop()
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(broker.aclose(), server_loop))
        await until(lambda: all(conn.messages(i)[-1]["type"] == "complete" for i in ("p", "q")), timeout_s=10)
        assert [m["type"] for m in conn.messages("p")] == ["next", "complete"]
        assert conn.events("q") == [{"cursor": cursor, "type": "job.completed", "providerEventId": "last-one"}]
        assert not shared.groups
