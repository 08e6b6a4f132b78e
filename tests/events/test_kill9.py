"""SIGKILL the real server while signed deliveries stream in; restart it: every acknowledged delivery is in the log
exactly once (0 lost, 0 duplicates), and redelivering everything adds nothing twice.

The server is ``python -m gateway serve`` with a SQLite file (``synchronous=FULL``, group commit) and a UiPath source
on the sandbox; 16 senders stream deliveries with distinct ``EventId`` values, and the kill lands mid-stream.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.events import ServerProcess, uipath_delivery, write_config
from tests.support.sandbox import Sandbox

SENDERS = 16
KILL_AFTER_ACKS = 400


async def _stream(server: ServerProcess, acked: set[str], attempted: list[str], kill: asyncio.Event) -> None:
    counter = iter(range(1_000_000))
    limits = httpx.Limits(max_connections=SENDERS)

    async def sender(client: httpx.AsyncClient) -> None:
        while True:
            event_id = f"k{next(counter)}"
            body, headers = uipath_delivery(event_id)
            attempted.append(event_id)
            try:
                response = await client.post(f"{server.url}/hooks/uipath", content=body, headers=headers)
            except httpx.HTTPError:
                return  # the server is gone: this one was not acknowledged
            if response.status_code == 200:
                acked.add(event_id)
                if len(acked) >= KILL_AFTER_ACKS:
                    kill.set()
            else:
                return

    async with httpx.AsyncClient(limits=limits, timeout=5) as client:
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))


async def _all_events(server: ServerProcess) -> list[str]:
    ids: list[str] = []
    after = None
    query = """query($a: String) {
      inboundEvents(first: 500, after: $a) { nodes { providerEventId } pageInfo { hasNextPage endCursor } }
    }"""
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            response = await client.post(f"{server.url}/graphql", json={"query": query, "variables": {"a": after}})
            page = response.json()["data"]["inboundEvents"]
            ids += [node["providerEventId"] for node in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                return ids
            after = page["pageInfo"]["endCursor"]


@pytest.mark.slow
async def test_kill_9_mid_stream_loses_no_acknowledged_delivery_and_duplicates_none(
    tmp_path: Path, sandbox: Sandbox, servers: list[ServerProcess]
) -> None:
    config = write_config(tmp_path / "gateway.toml", store=f"sqlite:///{tmp_path}/events.db", sandbox_url=sandbox.url)
    server = ServerProcess(config, tmp_path / "server.log")
    servers.append(server)
    server.start()

    acked: set[str] = set()
    attempted: list[str] = []
    kill = asyncio.Event()
    stream = asyncio.create_task(_stream(server, acked, attempted, kill))
    async with asyncio.timeout(60):
        await kill.wait()
    server.kill()  # SIGKILL while the senders still have requests in flight
    async with asyncio.timeout(30):
        await stream
    unacknowledged = set(attempted) - acked
    assert len(acked) >= KILL_AFTER_ACKS
    assert unacknowledged, "the kill should have cut requests in flight"

    server.start()
    logged = await _all_events(server)
    assert len(logged) == len(set(logged)), "a delivery is in the log twice"
    assert acked <= set(logged), f"lost {len(acked - set(logged))} acknowledged deliveries"
    assert set(logged) <= set(attempted)

    # The providers' view: redelivering everything (acknowledged or not) must not store anything twice.
    async with httpx.AsyncClient(timeout=10) as client:
        for event_id in attempted:
            body, headers = uipath_delivery(event_id)
            response = await client.post(f"{server.url}/hooks/uipath", content=body, headers=headers)
            assert response.status_code == 200
            if event_id in acked:
                assert response.json()["duplicate"] is True
    final = await _all_events(server)
    assert sorted(final) == sorted(set(attempted))
