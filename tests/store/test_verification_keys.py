"""Verification keys per source (Dixa's per-subscription secretKey), against both stores, across two instances."""

from __future__ import annotations

import logging

import pytest

from tests.support.stores import OpenInstance


async def test_keys_are_kept_per_source_and_seen_by_every_replica(open_instance: OpenInstance) -> None:
    one, two = await open_instance(), await open_instance()
    assert await one.verification_keys("dixa") == []
    await one.verification_keys_set("dixa", {"sub-1": "key-one", "sub-2": "key-two"})
    await one.verification_keys_set("other", {"sub-1": "elsewhere"})
    assert sorted(await two.verification_keys("dixa")) == ["key-one", "key-two"]
    await two.verification_keys_set("dixa", {"sub-2": "key-two-rotated"})
    assert sorted(await one.verification_keys("dixa")) == ["key-one", "key-two-rotated"]
    await one.verification_key_delete("dixa", "sub-1")
    assert await two.verification_keys("dixa") == ["key-two-rotated"]
    assert await two.verification_keys("other") == ["elsewhere"]


async def test_a_full_list_replaces_the_sources_keys(open_instance: OpenInstance) -> None:
    store = await open_instance()
    await store.verification_keys_set("dixa", {"gone": "old", "kept": "k"})
    await store.verification_keys_set("dixa", {"kept": "k2", "new": "n"}, replace=True)
    assert sorted(await store.verification_keys("dixa")) == ["k2", "n"]
    await store.verification_keys_set("dixa", {}, replace=True)
    assert await store.verification_keys("dixa") == []


async def test_keys_never_reach_a_log_or_a_repr(open_instance: OpenInstance, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    store = await open_instance()
    await store.verification_keys_set("dixa", {"sub": "canary-key-7f3a"})
    await store.verification_keys("dixa")
    # aiosqlite's own DEBUG lines quote statement parameters; the gateway keeps that logger quiet
    # (gateway/observability/logs.py), so only the gateway's loggers are held to it here.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("gateway", "hookgate"))]
    assert "canary-key-7f3a" not in " ".join(ours) + repr(store)
