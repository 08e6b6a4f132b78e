"""What issue 14's latency tail was made of, held by counts: the garbage collector's pauses inside requests, and the
sequential upstream rounds of ``nodes`` over 50 ids and of the dashboard (bench/tail.py takes them apart timed)."""

from __future__ import annotations

import gc
from typing import Any

import httpx

from bench.run import DASHBOARD, NODES
from bench.seed import uipath_ids
from bench.tail import Probe, TimedTransport, call_rounds
from gateway.app import tune_gc_for_serving
from gateway.providers.http import build_transport
from schema.ids import encode_id
from tests.support.gateway import in_process
from tests.support.sandbox import Sandbox, sandbox_settings
from tests.support.serving import served

#: tune_gc_for_serving's automatic threshold for the young generation.
AUTOMATIC = 50_000


def test_served_gateway_collects_between_answers_not_inside_them(sandbox: Sandbox) -> None:
    """Served as ``hookgate serve`` serves it (its uvicorn protocols), with the collector tuned as it tunes it: every
    young collection during 300 dashboards is one the server makes after an answer (a few thousand objects), none
    the automatic one of 50,000 objects that used to pause a request every 200 or so for 40 to 180 ms."""
    settings = sandbox_settings(sandbox.url, store="sqlite:///:memory:")
    started: list[tuple[int, int]] = []  # (generation, young objects counted) at each collection's start

    def watch(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append((info["generation"], gc.get_count()[0]))

    thresholds = gc.get_threshold()
    with served(settings) as url, httpx.Client(timeout=30) as client:
        for _ in range(3):  # warm: the first answers build what lasts (plans, caches), more than 50,000 objects
            client.post(f"{url}/graphql", json={"query": DASHBOARD}).raise_for_status()
        tune_gc_for_serving()
        gc.callbacks.append(watch)
        try:
            for _ in range(300):
                response = client.post(f"{url}/graphql", json={"query": DASHBOARD})
                assert response.status_code == 200
                assert "errors" not in response.json()
        finally:
            gc.callbacks.remove(watch)
            gc.set_threshold(*thresholds)
            gc.unfreeze()
    assert started, "the server collected nothing between answers"
    automatic = [count for _, count in started if count > AUTOMATIC]
    assert not automatic, f"{len(automatic)} automatic collections of 50,000 young objects during the requests"
    assert max(count for _, count in started) < AUTOMATIC // 2  # one or a few requests' worth, not 50,000


async def test_upstream_rounds_of_nodes50_and_the_dashboard(sandbox: Sandbox) -> None:
    """With every backend call slow (100 ms), ``nodes`` over 50 ids is one UiPath call, and the dashboard two rounds:
    UiPath's list, Dixa's list and Auco's company together, then Dixa's delivery statuses (one per subscription,
    which only Dixa's list names) together; the catalogue, cached, is no call."""
    probe = Probe()
    settings = sandbox_settings(sandbox.url, store="sqlite:///:memory:")
    transports = {name: TimedTransport(build_transport(c), probe, name) for name, c in settings.sources.items()}
    ids = [encode_id("Webhook", "uipath", i) for i in uipath_ids(sandbox.url)[:50]]
    async with in_process(settings, transports=transports) as gateway:
        for query, variables in ((DASHBOARD, {}), (NODES, {"ids": ids})):  # warm: catalogue cached, pools open
            assert "errors" not in (await gateway.request(query, variables)).json()
        for target in ("uipath", "dixa", "auco"):
            sandbox.fault(target, latency_ms=100)

        probe.begin()
        assert "errors" not in (await gateway.request(NODES, {"ids": ids})).json()
        nodes = probe.end()["upstream"]
        assert [(source, path) for source, path, *_ in nodes] == [("uipath", "/uipath/odata/Webhooks")]

        probe.begin()
        assert "errors" not in (await gateway.request(DASHBOARD)).json()
        calls = sorted(probe.end()["upstream"], key=lambda call: call[2])
    by_round: dict[int, list[str]] = {}
    for (source, path, *_), round_no in zip(calls, call_rounds(calls), strict=True):
        by_round.setdefault(round_no, []).append(f"{source} {path.rsplit('/', 1)[-1]}")
    subscriptions = len([c for c in calls if c[1].endswith("/delivery-status")])
    assert subscriptions >= 1
    assert sorted(by_round) == [1, 2]
    assert sorted(by_round[1]) == ["auco company", "dixa webhooks", "uipath Webhooks"]
    assert by_round[2] == ["dixa delivery-status"] * subscriptions
