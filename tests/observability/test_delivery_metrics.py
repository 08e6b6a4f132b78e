"""``hookgate_inbound_deliveries_total`` counts every delivery by verdict, and ``hookgate_subscribers`` follows live
WebSocket subscriptions up and down, as read from ``/metrics`` of a served gateway."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from sandbox.deliveries import sign_uipath
from tests.support.events import UIPATH_SECRET, event_stream, receiver_settings, take, uipath_delivery, until
from tests.support.servers import Server


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    with Server(create_app(receiver_settings(store=f"sqlite:///{tmp_path / 'hookgate.db'}"))) as server:
        yield server.url


async def samples(client: httpx.AsyncClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    text = (await client.get("/metrics")).text
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


async def test_deliveries_are_counted_by_verdict(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        body, headers = uipath_delivery("metrics-1")
        assert (await client.post("/hooks/uipath", content=body, headers=headers)).status_code == 200
        assert (await client.post("/hooks/uipath", content=body, headers=headers)).status_code == 200
        forged = {**headers, "X-UiPath-Signature": "AAAA" + headers["X-UiPath-Signature"][4:]}
        assert (await client.post("/hooks/uipath", content=body + b" ", headers=forged)).status_code == 401
        signed_text = {"X-UiPath-Signature": sign_uipath(UIPATH_SECRET, b"not json")}
        assert (await client.post("/hooks/uipath", content=b"not json", headers=signed_text)).status_code == 400
        assert (await client.post("/hooks/uipath", content=b"x" * 1_048_577)).status_code == 413
        assert (await client.post("/hooks/nowhere", content=body, headers=headers)).status_code == 404
        counted = await samples(client, "hookgate_inbound_deliveries_total")
    by_verdict = {dict(labels)["verdict"]: value for labels, value in counted.items()}
    assert by_verdict == {
        "accepted": 1,
        "duplicate": 1,
        "bad_signature": 1,
        "malformed": 1,
        "too_large": 1,
        "unknown_source": 1,
    }
    sources = {dict(labels)["source"] for labels in counted}
    assert sources == {"uipath", "unknown"}  # a name nobody configured is not a label


async def test_subscribers_gauge_follows_websocket_subscriptions(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def live() -> float:
            return sum((await samples(client, "hookgate_subscribers")).values())

        def live_is(expected: float) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return await live() == expected

            return check

        assert await live() == 0
        async with event_stream(url, {"source": "uipath"}) as first, event_stream(url, {}) as second:
            await until(live_is(2), timeout_s=10)
            body, headers = uipath_delivery("metrics-live")
            await client.post("/hooks/uipath", content=body, headers=headers)
            await take(first, 1)
            await take(second, 1)
            assert await live() == 2
        await until(live_is(0), timeout_s=10)
