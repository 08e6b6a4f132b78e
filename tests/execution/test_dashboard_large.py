"""The bench's ``dashboard_large``: exact backend calls, fast and stock answers byte for byte the same, and the
pass-through (the bench's ceiling) answering the same bytes from the same calls, so that the comparison is fair."""

from __future__ import annotations

import httpx
import orjson
from asgi_lifespan import LifespanManager

from bench.passthrough import build_app
from bench.run import DASHBOARD_LARGE
from bench.seed import LARGE, seed
from tests.support.gateway import GatewayFactory
from tests.support.sandbox import Sandbox

UIPATH_LIST = "GET /odata/Webhooks"
UIPATH_CATALOGUE = "GET /odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes()"
DIXA_LIST = "GET /v1/webhooks"
AUCO_COMPANY = "GET /v1.5/ext/company"


def calls(sandbox: Sandbox) -> dict[str, dict[str, int]]:
    return {target: routes for target, routes in sandbox.calls().items() if routes}


async def test_dashboard_large_backend_calls_and_answers(gateway_in_process: GatewayFactory, sandbox: Sandbox) -> None:
    seed(sandbox.url, LARGE)
    sandbox.options(**{"uipath.page_size": 1000})  # the whole list in one page, as the bench sets it
    fast = await gateway_in_process(fast=True)
    stock = await gateway_in_process(fast=False)

    answers = []
    for gateway in (fast, stock):  # each with its own runtime, so each starts cold
        sandbox.clear_calls()
        answers.append(await gateway.request(DASHBOARD_LARGE))
        # Cold: 4 calls, one per source plus UiPath's event catalogue; warm: the catalogue is cached, 3 calls.
        assert calls(sandbox) == {
            "uipath": {UIPATH_LIST: 1, UIPATH_CATALOGUE: 1},
            "dixa": {DIXA_LIST: 1},
            "auco": {AUCO_COMPANY: 1},
        }
        sandbox.clear_calls()
        answers.append(await gateway.request(DASHBOARD_LARGE))
        assert calls(sandbox) == {"uipath": {UIPATH_LIST: 1}, "dixa": {DIXA_LIST: 1}, "auco": {AUCO_COMPANY: 1}}
    cold = answers[0]
    assert all(answer.content == cold.content for answer in answers), "fast and stock, cold and warm: the same bytes"

    body = orjson.loads(cold.content)
    assert "errors" not in body
    nodes = body["data"]["webhooks"]["nodes"]
    assert len(nodes) == 200
    every_uipath_type = next(n for n in nodes if len(n["eventTypes"]) == 21)  # the seed's subscribe-to-all webhook
    assert every_uipath_type["events"] == []

    # The pass-through answers the same bytes with the same calls (its catalogue warm, as the gateway's is).
    passthrough = build_app(sandbox.url)
    async with (
        LifespanManager(passthrough) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=manager.app), base_url="http://passthrough") as client,
    ):
        await client.post("/dashboard-large", content=b"{}")
        sandbox.clear_calls()
        ceiling = await client.post("/dashboard-large", content=b"{}")
    assert calls(sandbox) == {"uipath": {UIPATH_LIST: 1}, "dixa": {DIXA_LIST: 1}, "auco": {AUCO_COMPANY: 1}}
    assert orjson.dumps(orjson.loads(ceiling.content)) == orjson.dumps(body)
