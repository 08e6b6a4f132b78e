"""UiPath's HTTP API over one :class:`~sandbox.uipath.model.UiPathState`: the token endpoint and the Webhooks routes."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.control import Control
from sandbox.kit import (
    Handler,
    bearer_token,
    endpoint,
    is_http_url,
    json_response,
    parse_json,
    same_secret,
    simulator_app,
)
from sandbox.uipath import odata
from sandbox.uipath.model import (
    ALREADY_USED,
    CLIENT_ID,
    CLIENT_SECRET,
    EVENT_NAMES,
    EVENT_TYPES,
    INVALID_REQUEST,
    NOT_FOUND,
    ORGANIZATION_UNIT_ID,
    STATIC_TOKEN,
    TENANT_ID,
    USER_ID,
    ODataError,
    UiPathState,
    Webhook,
    iso7,
    uipath_error,
)

# ---------------------------------------------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------------------------------------------

# Current Orchestrator's WebhookDto [doc: the published OpenAPI description]; Key and Id are the server's.
_BODY_PROPERTIES = frozenset(
    {
        "Key",
        "Name",
        "Description",
        "Id",
        "Url",
        "Enabled",
        "Secret",
        "SubscribeToAllEvents",
        "AllowInsecureSsl",
        "Events",
    }
)
#: maxLength of WebhookDto's strings [doc: the published OpenAPI description].
_MAX_LENGTHS: Final = {"Name": 128, "Description": 256, "Url": 2000}
_BOOL_FIELDS: Final = {
    "Enabled": "enabled",
    "SubscribeToAllEvents": "subscribe_to_all_events",
    "AllowInsecureSsl": "allow_insecure_ssl",
}


def _bad_body(message: str) -> ODataError:
    return ODataError(400, INVALID_REQUEST, message)


def _parse_webhook_body(raw: bytes, *, partial: bool) -> dict[str, Any]:
    """Validate a WebhookDto body; returns the fields it sets, by attribute name of :class:`Webhook`."""
    body = parse_json(raw, lambda: _bad_body("The request body is not valid JSON."))
    if not isinstance(body, dict):
        raise _bad_body("The request body must be a WebhookDto object.")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@"):
            continue  # OData annotations such as @odata.type are allowed in a request body.
        if key not in _BODY_PROPERTIES:
            raise _bad_body(f"The property '{key}' does not exist on type 'UiPath.Webhooks.WebhookDto'.")
        limit = _MAX_LENGTHS.get(key)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            raise _bad_body(f"The field {key} must be a string with a maximum length of {limit}.")
        if key == "Url":
            if not isinstance(value, str) or not is_http_url(value):
                raise _bad_body("Url must be an absolute http or https URL.")
            changes["url"] = value
        elif key == "Name":
            # [likely] Name is required [doc]; .NET's [Required] refuses an empty string too.
            if not isinstance(value, str) or not value.strip():
                raise _bad_body("The Name field is required.")
            changes["name"] = value
        elif key == "Description":
            if value is not None and not isinstance(value, str):
                raise _bad_body("Description must be a string or null.")
            changes["description"] = value
        elif key == "Key":
            # The server's own identifier: accepted (a client sends back what it read) and never changed.
            if value is not None and not isinstance(value, str):
                raise _bad_body("Key must be a GUID string or null.")
        elif key in _BOOL_FIELDS:
            if not isinstance(value, bool):
                raise _bad_body(f"{key} must be true or false.")
            changes[_BOOL_FIELDS[key]] = value
        elif key == "Secret":
            if value is not None and not isinstance(value, str):
                raise _bad_body("Secret must be a string or null.")
            changes["secret"] = value
        elif key == "Events":
            changes["events"] = _parse_events(value)
        elif key == "Id":
            if not isinstance(value, int) or isinstance(value, bool):
                raise _bad_body("Id must be an integer.")
            changes["id"] = value
    if not partial and "url" not in changes:
        raise _bad_body("The Url field is required.")
    if not partial and "name" not in changes:
        raise _bad_body("The Name field is required.")
    return changes


def _parse_events(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad_body('Events must be an array of {"EventType": ...} objects.')
    names: list[str] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("EventType"), str):
            raise _bad_body('Events must be an array of {"EventType": ...} objects.')
        name = item["EventType"]
        if name not in EVENT_NAMES:
            raise _bad_body(f"Unknown event type '{name}'.")
        if name not in names:
            names.append(name)
    return names


# ---------------------------------------------------------------------------------------------------------------
# The app
# ---------------------------------------------------------------------------------------------------------------


class UiPathSimulator:
    """Handlers over one :class:`UiPathState`, reading the shared sandbox switches from ``control``."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.state = UiPathState()
        self.state.reset()

    # -- helpers --------------------------------------------------------------------------------------------------

    def authorize(self, request: Request) -> None:
        """The static token, or an issued one that has not expired on the sandbox clock."""
        token = bearer_token(request)
        if token is not None and same_secret(token, STATIC_TOKEN):
            return
        expiry = self.state.tokens.get(token) if token is not None else None
        if expiry is None or self.control.clock.now() >= expiry:
            # stand-in: the 401 body; this message is the one Orchestrator is seen answering.
            raise ODataError(401, 0, "You are not authenticated!")

    @staticmethod
    def _service_root(request: Request) -> str:
        # The mount prefix is the OData service root: "http://host:port/uipath".
        return str(request.url.replace(path=request.scope.get("root_path", ""), query=""))

    def _entity(self, request: Request, hook: Webhook) -> dict[str, Any]:
        return {"@odata.context": f"{self._service_root(request)}/odata/$metadata#Webhooks/$entity", **hook.to_dto()}

    def _find(self, request: Request) -> Webhook:
        hook = self.state.webhooks.get(int(request.path_params["id"]))
        if hook is None:
            raise ODataError(404, NOT_FOUND, "Webhook does not exist.")
        return hook

    def _check_url_free(self, url: str, own_id: int | None) -> None:
        for hook in self.state.webhooks.values():
            if hook.url == url and hook.id != own_id:
                # stand-in: the API's answer to a second webhook on the same Url is not documented.
                raise ODataError(400, ALREADY_USED, f"A webhook with the Url '{url}' already exists.")

    def guarded(self, handler: Handler) -> Handler:
        """A handler behind the bearer check, its ODataError answered as UiPath's error body."""
        return endpoint(handler, authorize=self.authorize)

    # -- identity -------------------------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        # [likely] IdentityServer's client-credentials endpoint; OAuth2 error bodies per RFC 6749 §5.2.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            return json_response({"error": "unsupported_grant_type"}, 400)
        client_ok = same_secret(form.get("client_id", ""), CLIENT_ID) and same_secret(
            form.get("client_secret", ""), CLIENT_SECRET
        )
        if not client_ok:
            return json_response({"error": "invalid_client"}, 400)
        ttl = int(self.control.options.get("uipath.token_ttl_s", 3600))
        access_token = secrets.token_urlsafe(32)
        self.state.tokens[access_token] = self.control.clock.now() + ttl
        return json_response({"access_token": access_token, "token_type": "Bearer", "expires_in": ttl})

    # -- webhooks -------------------------------------------------------------------------------------------------

    async def list_webhooks(self, request: Request) -> Response:
        query = odata.parse_query(request.query_params.multi_items())
        page_size = max(1, int(self.control.options.get("uipath.page_size", 100)))
        page = odata.apply(query, [hook.to_dto() for hook in self.state.registered()], page_size)
        body: dict[str, Any] = {"@odata.context": f"{self._service_root(request)}/odata/$metadata#Webhooks"}
        # The docs' example answers "@odata.count" to a query without $count; the sandbox is stricter and counts only
        # when asked ($count=true), so that an adapter asking explicitly works against either behaviour.
        if query.count:
            body["@odata.count"] = page.total
        body["value"] = page.items
        if page.next_query is not None:
            body["@odata.nextLink"] = f"{request.url.replace(query='')}?{page.next_query}"
        return json_response(body)

    async def get_webhook(self, request: Request) -> Response:
        return json_response(self._entity(request, self._find(request)))

    async def create_webhook(self, request: Request) -> Response:
        changes = _parse_webhook_body(await request.body(), partial=False)
        changes.pop("id", None)  # The server assigns Ids.
        self._check_url_free(changes["url"], None)
        hook = Webhook(id=self.state.next_id, **changes)
        self.state.next_id += 1
        self.state.webhooks[hook.id] = hook
        location = f"{self._service_root(request)}/odata/Webhooks({hook.id})"
        # stand-in: 201 (the docs show no create answer); OData's Location header points at the new entity.
        return json_response(self._entity(request, hook), 201, {"Location": location})

    async def replace_webhook(self, request: Request) -> Response:
        hook = self._find(request)
        changes = _parse_webhook_body(await request.body(), partial=False)
        self._check_body_id(changes, hook)
        self._check_url_free(changes["url"], hook.id)
        # PUT replaces the whole entity: what the body leaves out goes back to its default.
        updated = Webhook(id=hook.id, key=hook.key, **changes)
        self.state.webhooks[hook.id] = updated
        return json_response(self._entity(request, updated))

    async def patch_webhook(self, request: Request) -> Response:
        refused = self.control.options.get("uipath.refuse_patch", False)
        if refused:
            # A tenant whose API does not route PATCH: 405 (the route exists for other verbs), or with 404 the
            # answer ASP.NET gives to a request no route matches, before it looks at the webhook.
            status = 404 if refused == 404 else 405
            raise ODataError(status, 0, _route_error(status)["message"])
        hook = self._find(request)
        changes = _parse_webhook_body(await request.body(), partial=True)
        self._check_body_id(changes, hook)
        if "url" in changes:
            self._check_url_free(changes["url"], hook.id)
        updated = replace(hook, **changes)
        self.state.webhooks[hook.id] = updated
        return json_response(self._entity(request, updated))

    @staticmethod
    def _check_body_id(changes: dict[str, Any], hook: Webhook) -> None:
        if changes.pop("id", hook.id) != hook.id:
            raise _bad_body("The Id in the body does not match the key in the URL.")

    async def delete_webhook(self, request: Request) -> Response:
        hook = self._find(request)
        del self.state.webhooks[hook.id]
        return Response(status_code=204)  # stand-in: 204, no body.

    async def event_types(self, request: Request) -> Response:
        # An OData function: routed with "()" (the API guide) and without (the published OpenAPI description).
        query = odata.parse_query(request.query_params.multi_items(), properties=odata.EVENT_TYPE_PROPERTIES)
        items = [{"Name": name, "Group": group} for name, group in EVENT_TYPES]
        page = odata.apply(query, items, len(items) or 1)
        metadata = f"{self._service_root(request)}/odata/$metadata"
        # stand-in: the context's type name is not documented.
        body: dict[str, Any] = {
            "@odata.context": f"{metadata}#Collection(UiPath.Server.Configuration.OData.WebhookEventTypeDto)"
        }
        if query.count:
            body["@odata.count"] = page.total
        body["value"] = page.items
        return json_response(body)

    async def ping(self, request: Request) -> Response:
        hook = self._find(request)
        # PingEventDto exactly as the documented example, with a fresh EventId and the sandbox clock's time. The API
        # guide's example answers 200; the published OpenAPI description says 202, and a client generated from it
        # reads the PingEventDto only from a 202, so the sandbox answers 202 (the adapter takes either, providers.md).
        event = {
            "Type": "ping",
            "EventId": uuid.uuid4().hex,
            "Timestamp": iso7(self.control.clock.now()),
            "TenantId": TENANT_ID,
            "OrganizationUnitId": None,
            "UserId": USER_ID,
        }
        # The same event is delivered to the webhook's Url (sandbox/deliveries.py), as Orchestrator does.
        self.state.pinged(hook, event)
        return json_response(event, 202)

    async def trigger_custom(self, request: Request) -> Response:
        """``TriggerCustom`` [doc: the published OpenAPI description]: the body is a JSON object (the event's data),
        the answer 202 with the CustomEventDto raised, ``Type`` "custom", the body as its ``EventData``."""
        body = parse_json(await request.body(), lambda: _bad_body("The request body is not valid JSON."))
        if not isinstance(body, dict):
            raise _bad_body("The request body must be a JSON object.")
        event = {
            "Type": "custom",
            "EventId": uuid.uuid4().hex,
            "Timestamp": iso7(self.control.clock.now()),
            "EventData": body,
            "TenantId": TENANT_ID,
            "OrganizationUnitId": ORGANIZATION_UNIT_ID,
            "UserId": USER_ID,
        }
        self.state.custom_triggered(event)
        return json_response(event, 202)


def _route_error(status: int) -> Any:
    # stand-in: ASP.NET's answer to a path that matches no route.
    message = "No HTTP resource was found that matches the request URI." if status == 404 else HTTPStatus(status).phrase
    return uipath_error(message, 0)


def create_app(control: Control) -> Starlette:
    """A fresh UiPath Orchestrator simulator with its own seed state, reset by ``control.reset()``."""
    sim = UiPathSimulator(control)
    guard = sim.guarded
    routes = [
        Route("/identity_/connect/token", sim.token, methods=["POST"]),
        Route("/odata/Webhooks", guard(sim.list_webhooks), methods=["GET"]),
        Route("/odata/Webhooks", guard(sim.create_webhook), methods=["POST"]),
        Route(
            "/odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes()", guard(sim.event_types), methods=["GET"]
        ),
        Route(
            "/odata/Webhooks/UiPath.Server.Configuration.OData.GetEventTypes", guard(sim.event_types), methods=["GET"]
        ),
        Route(
            "/odata/Webhooks/UiPath.Server.Configuration.OData.TriggerCustom",
            guard(sim.trigger_custom),
            methods=["POST"],
        ),
        Route("/odata/Webhooks({id:int})", guard(sim.get_webhook), methods=["GET"]),
        Route("/odata/Webhooks({id:int})", guard(sim.replace_webhook), methods=["PUT"]),
        Route("/odata/Webhooks({id:int})", guard(sim.patch_webhook), methods=["PATCH"]),
        Route("/odata/Webhooks({id:int})", guard(sim.delete_webhook), methods=["DELETE"]),
        Route("/odata/Webhooks({id:int})/UiPath.Server.Configuration.OData.Ping", guard(sim.ping), methods=["POST"]),
    ]
    return simulator_app("uipath", sim.state, control, routes, route_error=_route_error)
