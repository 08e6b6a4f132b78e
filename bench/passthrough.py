"""The ceiling: a bare pass-through proxy making the same backend calls as the gateway, with no GraphQL.

Same HTTP stack as the gateway (Starlette on uvicorn with uvloop and the gateway's httptools protocol, one worker),
the same upstream client (httpx over the httpx-aiohttp transport with the same pool limits), orjson both ways, and
the garbage collector run as ``hookgate serve`` runs it (``tune_gc_for_serving``, a young collection when an answer
leaves the server idle), so that the latency comparison is of the work each does, not of their collector settings.
For each benchmark scenario it makes exactly the backend calls the gateway makes for it (``bench/results.json``
shows both counts from the sandbox's ``/_control/calls``) and answers the joined JSON in the shape the gateway's
answer has. It keeps the UiPath event catalogue for 300 s, as the gateway does. It validates nothing and maps
nothing it need not: that is the point of a ceiling.

``python -m bench.passthrough --sandbox http://127.0.0.1:8100 --port 8300``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import uvicorn
from httpx_aiohttp import AiohttpTransport
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.app import tune_gc_for_serving
from gateway.providers.dixa.catalogue import EVENTS as DIXA_EVENTS
from gateway.providers.dixa.catalogue import event_group as dixa_group
from gateway.providers.workflowgen.graphql_reads import ACTION_FIELDS, REQUEST_FIELDS
from gateway.server import GatewayHttpProtocol
from resolvers.common import natural_key

UIPATH_AUTH = {"Authorization": "Bearer sandbox-uipath-token"}
DIXA_AUTH = {"Authorization": "sandbox-dixa-key"}
AUCO_AUTH = {"Authorization": "puk_sandbox"}
AUCO_EVENTS = [
    {"name": f"{group}.{status}", "group": group}
    for group, statuses in (
        ("document", ("CREATE", "FINISH", "NOTIFICATION", "REJECT", "REJECTED", "BLOCKED", "EXPIRED")),
        ("package", ("CREATE", "NOTIFICATION", "SIGNED_PACKAGE", "DOCUMENT_REJECT", "REJECTED", "BLOCKED")),
    )
    for status in statuses
]
DIXA_TYPES = {name: {"name": name, "group": dixa_group(name)} for name in DIXA_EVENTS}
CATALOGUE_TTL_S = 300.0
#: ``webhooks(first: 200)``: the first 200 in the gateway's order (sources as configured, then by id).
FIRST = 200


def global_id(type_name: str, source: str, native: str | int) -> str:
    return base64.urlsafe_b64encode(f"{type_name}:{source}:{native}".encode()).rstrip(b"=").decode("ascii")


def json_response(body: Any) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


class Upstreams:
    """One pooled client for the whole sandbox (the gateway has one per source; the sandbox is one host)."""

    def __init__(self, sandbox_url: str) -> None:
        limits = httpx.Limits(max_connections=32 * 5, max_keepalive_connections=32 * 5)
        self.http = httpx.AsyncClient(
            base_url=sandbox_url, transport=AiohttpTransport(limits=limits), timeout=httpx.Timeout(10.0)
        )
        self._catalogue: tuple[float, Catalogue] | None = None

    async def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, url, **kwargs)
        response.raise_for_status()
        return orjson.loads(response.content)

    async def uipath_catalogue(self) -> Catalogue:
        if self._catalogue is None or time.monotonic() - self._catalogue[0] > CATALOGUE_TTL_S:
            body = await self.json(
                "GET",
                "/uipath/odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes()",
                headers=UIPATH_AUTH,
            )
            by_name = {t["Name"]: {"name": t["Name"], "group": t["Group"]} for t in body["value"]}
            self._catalogue = (time.monotonic(), Catalogue(by_name))
        return self._catalogue[1]

    async def uipath_webhooks(self, query: str = "") -> list[dict[str, Any]]:
        body = await self.json("GET", "/uipath/odata/Webhooks" + query, headers=UIPATH_AUTH)
        items: list[dict[str, Any]] = body["value"]
        while body.get("@odata.nextLink"):
            body = await self.json("GET", body["@odata.nextLink"], headers=UIPATH_AUTH)
            items.extend(body["value"])
        return items

    async def dixa_webhooks(self) -> list[dict[str, Any]]:
        body = await self.json("GET", "/dixa/v1/webhooks", headers=DIXA_AUTH)
        return list(body["data"])

    async def dixa_statuses(self, subscription_id: str) -> list[dict[str, Any]]:
        body = await self.json("GET", f"/dixa/v1/webhooks/{subscription_id}/delivery-status", headers=DIXA_AUTH)
        return list(body["data"])

    async def auco_webhooks(self) -> list[dict[str, Any]]:
        body = await self.json("GET", "/auco/v1.5/ext/company", headers=AUCO_AUTH)
        return list(body["webhooks"])

    async def workflowgen_request(self, number: int) -> Any:
        document = f"query HookgateBatch {{\n  k0: request(number: {number}) {{ ...HookgateRequest }}\n}}\n"
        body = await self.json(
            "POST",
            "/workflowgen/wfgen/graphql",
            content=orjson.dumps({"query": document + REQUEST_FIELDS + "\n" + ACTION_FIELDS}),
            headers={"content-type": "application/json", "accept": "application/json"},
            auth=httpx.BasicAuth("wfgen_admin", "sandbox"),
        )
        return body["data"]["k0"]


class Catalogue:
    """UiPath's event types by name, in catalogue order, and each name's position: the gateway answers a webhook's
    event types in catalogue order, and every type to a webhook that subscribes to all events."""

    def __init__(self, by_name: dict[str, dict[str, str]]) -> None:
        self.types = list(by_name.values())
        self.index = {name: position for position, name in enumerate(by_name)}

    def pick(self, dto: dict[str, Any], events: list[str]) -> list[dict[str, str]]:
        if dto.get("SubscribeToAllEvents"):
            return self.types
        index, types = self.index, self.types
        return [types[i] for i in sorted(index[e] for e in events if e in index)]


#: Auco's ``default`` webhook receives every notification (no events of its own); every other one lists the
#: whole catalogue, as the gateway answers them.
AUCO_NAMES = [t["name"] for t in AUCO_EVENTS]


def _uipath_node(dto: dict[str, Any], catalogue: Catalogue | None, statuses_field: bool = True) -> dict[str, Any]:
    events = [e["EventType"] for e in dto.get("Events") or ()]
    node: dict[str, Any] = {"id": global_id("Webhook", "uipath", dto["Id"]), "url": dto["Url"], "events": events}
    if catalogue is not None:
        node["eventTypes"] = catalogue.pick(dto, events)
        if statuses_field:
            node["deliveryStatuses"] = None
    return node


async def dashboard(up: Upstreams, *, statuses: bool = True, statuses_field: bool = True) -> dict[str, Any]:
    """The dashboard's answer; ``statuses``: Dixa's delivery statuses fetched, ``statuses_field``: the field in the
    answer at all (``dashboard_large`` does not select it)."""

    async def dixa() -> list[tuple[dict[str, Any], list[dict[str, Any]] | None]]:
        subscriptions = await up.dixa_webhooks()
        if not statuses:
            return [(s, None) for s in subscriptions]
        found = await asyncio.gather(*(up.dixa_statuses(s["id"]) for s in subscriptions))
        return list(zip(subscriptions, found, strict=True))

    catalogue, uipath, dixa_hooks, auco = await asyncio.gather(
        up.uipath_catalogue(), up.uipath_webhooks(), dixa(), up.auco_webhooks()
    )
    nodes = [_uipath_node(dto, catalogue, statuses_field) for dto in sorted(uipath, key=lambda d: int(d["Id"]))]
    for sub, found in sorted(dixa_hooks, key=lambda pair: natural_key(pair[0]["id"])):
        events = list(sub.get("subscribedEvents") or ())
        node = {
            "id": global_id("Webhook", "dixa", sub["id"]),
            "url": sub["url"],
            "events": events,
            "eventTypes": [DIXA_TYPES[e] for e in DIXA_EVENTS if e in events],
        }
        if statuses_field:
            node["deliveryStatuses"] = (
                None
                if found is None
                else [
                    {
                        "event": s["event"],
                        "lastDelivery": {"success": s["deliveryStatus"]["success"]}
                        if s["deliveryStatus"].get("_type") == "DeliveryDetail"
                        else None,
                    }
                    for s in found
                ]
            )
        nodes.append(node)
    for hook in sorted(auco, key=lambda h: natural_key(h["id"])):
        node = {
            "id": global_id("Webhook", "auco", hook["id"]),
            "url": hook.get("url", ""),
            "events": [] if hook["id"] == "default" else AUCO_NAMES,
            "eventTypes": AUCO_EVENTS,
        }
        if statuses_field:
            node["deliveryStatuses"] = None
        nodes.append(node)
    return {"data": {"webhooks": {"nodes": nodes[:FIRST]}}}


def build_app(sandbox_url: str) -> Starlette:
    up = Upstreams(sandbox_url)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await up.http.aclose()

    async def dashboard_route(request: Request) -> Response:
        return json_response(await dashboard(up))

    async def dashboard_large_route(request: Request) -> Response:
        return json_response(await dashboard(up, statuses=False, statuses_field=False))

    async def nodes_route(request: Request) -> Response:
        ids = orjson.loads(await request.body())["ids"]
        flt = " or ".join(f"Id eq {int(i)}" for i in ids)
        found = {str(d["Id"]): d for d in await up.uipath_webhooks("?$filter=" + flt.replace(" ", "%20"))}
        nodes = [_uipath_node(found[i], None) if i in found else None for i in ids]
        return json_response({"data": {"nodes": nodes}})

    async def create_request_route(request: Request) -> Response:
        payload = orjson.loads(await request.body())
        envelope = {"operation": "createRequest", "args": {"input": payload}}
        answer = await up.json(
            "POST",
            "/workflowgen/wfgen/hooks/sandbox-wfgen-token",
            content=orjson.dumps(envelope),
            headers={"content-type": "application/json", "accept": "application/json"},
        )
        created = answer["createRequest"]["request"]
        number = created.get("number")
        node = await up.workflowgen_request(int(number))
        return json_response(
            {
                "data": {
                    "createRequest": {
                        "request": {
                            "id": global_id("WorkflowRequest", "workflowgen", node["number"]),
                            "number": node["number"],
                            "status": node["status"],
                            "processName": node["process"]["name"],
                        }
                    }
                }
            }
        )

    async def all_sources_route(request: Request) -> Response:
        hooks, request_node = await asyncio.gather(dashboard(up, statuses=False), up.workflowgen_request(1))
        nodes = [{"id": n["id"], "url": n["url"]} for n in hooks["data"]["webhooks"]["nodes"]]
        return json_response(
            {
                "data": {
                    "webhooks": {"nodes": nodes},
                    "request": {
                        "number": request_node["number"],
                        "status": request_node["status"],
                        "processName": request_node["process"]["name"],
                    },
                }
            }
        )

    return Starlette(
        routes=[
            Route("/dashboard", dashboard_route, methods=["POST"]),
            Route("/dashboard-large", dashboard_large_route, methods=["POST"]),
            Route("/nodes", nodes_route, methods=["POST"]),
            Route("/create-request", create_request_route, methods=["POST"]),
            Route("/all-sources", all_sources_route, methods=["POST"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8300)
    args = parser.parse_args()
    app = build_app(args.sandbox.rstrip("/"))
    tune_gc_for_serving()
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        loop="uvloop",
        http=GatewayHttpProtocol,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
