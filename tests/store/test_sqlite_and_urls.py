"""What only one store has (SQLite durability on disk), store URLs, and the lifecycle."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from gateway.store import NewEvent, StoreUnavailable, open_store


def event(n: int) -> NewEvent:
    return NewEvent(source="s", provider="dixa", type="t", payload={"n": n}, provider_event_id=f"e{n}")


async def test_sqlite_events_survive_close_and_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'log.db'}"
    store = await open_store(url)
    written = [r.event for r in await asyncio.gather(*(store.append(event(n)) for n in range(200)))]
    await store.idempotency_begin("s", "k", "fp", 60)
    await store.idempotency_complete("s", "k", b"answer")
    await store.aclose()

    reopened = await open_store(url)
    try:
        assert await reopened.read(limit=500) == sorted(written, key=lambda e: e.cursor)
        assert (await reopened.append(event(0))).duplicate
        assert (await reopened.idempotency_begin("s", "k", "fp", 60)).response == b"answer"
    finally:
        await reopened.aclose()


def test_sqlite_acknowledged_appends_survive_a_killed_process(tmp_path: Path) -> None:
    # The contract: a delivery that got its 2xx is in the log even if the process is killed right after. The
    # child prints each acknowledged id, then kills itself without closing anything.
    db = tmp_path / "killed.db"
    child = textwrap.dedent(
        f"""
        import asyncio, os, signal, sys
        from gateway.store import NewEvent, open_store

        async def main():
            store = await open_store({f"sqlite:///{db}"!r})
            async def one(n):
                result = await store.append(NewEvent(source="s", provider="p", type="t", payload={{"n": n}}))
                print(result.event.id, flush=True)
            await asyncio.gather(*(one(n) for n in range(300)))
            os.kill(os.getpid(), signal.SIGKILL)

        asyncio.run(main())
        """
    )
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == -9, done.stderr
    acknowledged = set(done.stdout.split())
    assert len(acknowledged) == 300

    async def stored_ids() -> set[str]:
        store = await open_store(f"sqlite:///{db}")
        try:
            return {e.id for e in await store.read(limit=1000)}
        finally:
            await store.aclose()

    assert acknowledged <= asyncio.run(stored_ids())


async def test_memory_store_works_and_is_private() -> None:
    one, two = await open_store("sqlite:///:memory:"), await open_store("sqlite:///:memory:")
    try:
        await one.append(event(1))
        assert await one.count() == 1
        assert await two.count() == 0
    finally:
        await one.aclose()
        await two.aclose()


async def test_relative_sqlite_path_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    store = await open_store("sqlite:///data/rel.db?synchronous=normal")
    await store.aclose()
    assert (tmp_path / "data" / "rel.db").exists()


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("postgres://admin:hunter2@db.example:5432/hookgate", "'postgres'"),
        ("hookgate.db", "none"),
        ("sqlite://host/hookgate.db", "sqlite:///"),
        ("sqlite:///", "sqlite:///"),
        ("sqlite:///x.db?journal=off", "journal"),
        ("sqlite:///x.db?synchronous=off", "synchronous"),
        ("redis://user:hunter2@localhost:notaport/0", "invalid redis store URL"),
    ],
)
async def test_bad_store_urls_are_refused_without_their_password(url: str, named: str) -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 (the message is checked below)
        await open_store(url)
    assert named in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "where", ["missing directory", "relative path", "file for a directory", "unwritable directory"]
)
async def test_a_sqlite_store_that_cannot_be_opened_names_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    # What a container running as a non-root user met with the database in a root-owned directory: the error must
    # say which file (absolute, also for a relative URL), not only "OperationalError".
    url = None
    if where == "missing directory":
        db = tmp_path / "no-such-dir" / "hookgate.db"
    elif where == "relative path":
        monkeypatch.chdir(tmp_path)
        url = "sqlite:///no-such-dir/hookgate.db"
        db = tmp_path / "no-such-dir" / "hookgate.db"
    elif where == "file for a directory":
        (tmp_path / "plain-file").write_text("")
        db = tmp_path / "plain-file" / "hookgate.db"
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes to any directory")
        (tmp_path / "read-only").mkdir(mode=0o555)
        db = tmp_path / "read-only" / "hookgate.db"
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(url or f"sqlite:///{db}")
    # aiosqlite stops the worker thread of a connection that failed to open without waiting for it: let it finish
    # before this test's event loop closes, or the thread fails on the closed loop.
    for _ in range(500):
        if not any("_connection_worker_thread" in t.name for t in threading.enumerate()):
            break
        await asyncio.sleep(0.01)
    assert f"cannot open SQLite store at {db}: " in str(caught.value)
    assert "unable to open database file" in str(caught.value)


async def test_redis_store_repr_hides_the_password() -> None:
    store = await open_store("redis://:hunter2@127.0.0.1:6379/15?prefix=p:")
    try:
        assert "hunter2" not in repr(store)
        assert "p:" in repr(store)
    finally:
        await store.aclose()


async def test_unreachable_redis_fails_readiness_and_appends() -> None:
    store = await open_store("redis://127.0.0.1:1/0?socket_connect_timeout=0.5")
    try:
        assert not await store.ping()
        with pytest.raises(StoreUnavailable):
            await store.append(event(1))
    finally:
        await store.aclose()


async def test_close_finishes_pending_appends_then_refuses_work(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'c.db'}")
    pending = [asyncio.ensure_future(store.append(event(n))) for n in range(50)]
    await asyncio.sleep(0)  # let the appends queue up
    await store.aclose()

    assert all(not p.result().duplicate for p in pending)
    assert not await store.ping()
    with pytest.raises(StoreUnavailable):
        await store.append(event(99))
    await store.aclose()  # idempotent
