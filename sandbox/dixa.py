"""Simulator of Dixa's webhook-subscription API, mounted under ``/dixa``.

What it serves (providers.md §4), under ``/v1/webhooks`` and again under ``/beta/webhooks``:

- ``GET /v1/webhooks`` (200 ``{"data": [...]}``), ``POST /v1/webhooks`` (201 ``{"data": ...}``),
  ``GET|PATCH /v1/webhooks/{webhookSubscriptionId}`` (200), ``DELETE`` (204),
  ``GET .../delivery-status`` and ``GET .../delivery-status/logs/{event}`` (newest first).

Auth: ``Authorization: sandbox-dixa-key``, the bare key with no scheme, as Dixa wants it. Errors are always
``{"message": ...}`` with Dixa's documented texts.

Options: none.

Seed: the "Dashboard Integration" subscription with delivery statuses (a mix of ``DeliveryDetail`` and
``NoRecentDelivery``) and delivery logs whose payloads are delivered bodies kept as JSON strings.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.control import Control
from sandbox.kit import (
    Handler,
    SimulatorError,
    SimulatorState,
    authorization_is,
    endpoint,
    is_http_url,
    iso_millis,
    json_response,
    parse_json,
    simulator_app,
)

API_KEY = "sandbox-dixa-key"

# stand-in: Dixa generates a random hex secret per subscription; the sandbox gives every subscription the one fixed
# key its deliveries are signed with (CONTRACT.md: "73616e64626f78", hex of "sandbox").
SECRET_KEY = "73616e64626f78"

# stand-in: the id of the Dixa user behind the sandbox API key (createdBy / updatedBy of what the API changes).
API_USER_ID = "0d1c8c4a-6f2e-4b8e-9a43-5f0e2c7d1b21"

# The 32 events a subscription may name [doc], in the order providers.md lists them. Kept apart from the adapter's
# copy on purpose: the simulator stands for Dixa, so a mistake in one list is caught by the other's tests.
EVENTS: tuple[str, ...] = (
    "ConversationCreated",
    "ConversationPending",
    "ConversationOpen",
    "ConversationClosed",
    "ConversationAbandoned",
    "ConversationEnqueued",
    "ConversationAssigned",
    "ConversationUnassigned",
    "ConversationTransferred",
    "ConversationPendingExpired",
    "ConversationMessageAdded",
    "ConversationNoteAdded",
    "ConversationTagAdded",
    "ConversationTagRemoved",
    "ConversationRated",
    "ConversationCustomAttributeUpdated",
    "ConversationEndUserReplaced",
    "ConversationMessageDeliveryDelivered",
    "ConversationMessageDeliveryInfo",
    "ConversationMessageDeliveryFailed",
    "ConversationMessageDeliverySeen",
    "ConversationMessageDeliverySent",
    "ConversationMessageDeliverySpamComplaint",
    "SLAEvaluationPending",
    "SLAEvaluationAchieved",
    "SLAEvaluationBreached",
    "SLAEvaluationVoided",
    "AgentBannedEnduser",
    "AgentUnbannedEnduser",
    "AgentBannedIp",
    "AgentUnbannedIp",
    "TypingStarted",
)
EVENT_SET = frozenset(EVENTS)

# Documented error texts [doc].
BAD_REQUEST = "Invalid value in request"
UNAUTHORIZED = "User is unauthorized to perform an underlying operation"
NOT_FOUND = "The requested resource could not be found"

_AUTH_TYPES = frozenset({"BasicAuth", "TokenAuth", "NoAuth"})


def error_body(status: int) -> Any:
    """Dixa's error body for an injected fault of ``status``."""
    documented = {400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND}
    # stand-in: the texts for other statuses (500 included) are not documented; the HTTP reason phrase stands in.
    return {"message": documented.get(status, HTTPStatus(status).phrase)}


def event_fqn(event: str) -> str:
    """``ConversationCreated`` -> ``CONVERSATION_CREATED``; ``SLAEvaluationPending`` -> ``SLA_EVALUATION_PENDING``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", event).upper()


class DixaError(SimulatorError):
    """A request Dixa refuses: its status and the documented text for it."""

    def body(self) -> Any:
        return error_body(self.status)


class BadRequest(DixaError):
    """A request Dixa answers with 400 "Invalid value in request"."""

    status = 400


class Unauthorized(DixaError):
    """A request Dixa answers with 401 "User is unauthorized to perform an underlying operation"."""

    status = 401


class NotFound(DixaError):
    """A request Dixa answers with 404 "The requested resource could not be found"."""

    status = 404


@dataclass
class Subscription:
    """One webhook subscription, with the request fields kept apart so PATCH can change any of them."""

    id: str
    name: str
    url: str
    events: list[str]
    authorization: dict[str, Any]
    custom_headers: dict[str, str]
    enabled: bool
    filters: dict[str, Any]
    created_at: str
    created_by: str
    updated_at: str
    updated_by: str
    secret_key: str = SECRET_KEY

    def headers(self) -> dict[str, str]:
        """Custom headers with the authorization folded in as ``Authorization`` [doc]."""
        headers = dict(self.custom_headers)
        kind = self.authorization["_type"]
        if kind == "BasicAuth":
            pair = f"{self.authorization['username']}:{self.authorization['password']}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        elif kind == "TokenAuth":
            headers["Authorization"] = "Bearer " + self.authorization["value"]
        return headers

    def to_json(self) -> dict[str, Any]:
        # The documented WebhookSubscription fields plus "headers" (providers.md). The stored "filters" are not
        # echoed: no documented answer carries them.
        return {
            "id": self.id,
            "name": self.name,
            "subscribedEvents": list(self.events),
            "url": self.url,
            "headers": self.headers(),
            "secretKey": self.secret_key,
            "enabled": self.enabled,
            "createdAt": self.created_at,
            "createdBy": self.created_by,
            "updatedAt": self.updated_at,
            "updatedBy": self.updated_by,
        }


def _delivery(timestamp: str, success: bool, code: int, text: str) -> dict[str, Any]:
    return {
        "_type": "DeliveryDetail",
        "deliveryTimestamp": timestamp,
        "success": success,
        "responseCode": code,
        "responseText": text,
    }


# --- seed -------------------------------------------------------------------------------------------------------
# Dixa's API reference names the "Dashboard Integration" subscription in its examples, but the example values are not
# legible to us: the ids, URL, dates and delivery records below are our choice, shaped exactly as documented.

DASHBOARD_ID = "3f9a6d2e-8b1c-4e57-a0d4-6c2b9e1f7a35"
ORGANIZATION = {"id": "8c5a2b4e-1d3f-4a6b-9e7c-0f2d4b6a8c1e", "name": "Sandbox Org"}
_SEED_USER = "6e1b7c3d-2a4f-4d8e-b5a9-3c7f1e2d4b6a"


def _payload(event: str, event_id: str, timestamp: str, data: dict[str, Any]) -> str:
    """A delivered body [doc envelope] kept as the JSON string the logs endpoint answers."""
    body = {
        "event_id": event_id,
        "event_fqn": event_fqn(event),
        "event_version": "1",
        "event_timestamp": timestamp,
        "organization": ORGANIZATION,
        "data": data,
    }
    return orjson.dumps(body).decode()


def _conversation(csid: int, status: str) -> dict[str, Any]:
    # stand-in: an abridged conversation object; the full per-event data shapes live in Dixa's payload docs.
    return {
        "conversation": {
            "csid": csid,
            "channel": "WIDGET_CHAT",
            "status": status,
            "direction": "INBOUND",
            "queue": {"id": "2b7e4c1a-9d3f-4e6b-8a5c-1f0e3d2c4b6a", "name": "Support"},
            "requester": {"id": "9a4c2e6b-3d1f-4b8a-a7e5-2c0d4f6b8e1a", "name": "Ada Lovelace"},
        }
    }


def _seed() -> tuple[Subscription, dict[str, dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    subscription = Subscription(
        id=DASHBOARD_ID,
        name="Dashboard Integration",
        url="https://dashboard.example.com/hooks/dixa",
        events=["ConversationCreated", "ConversationAssigned", "ConversationClosed", "ConversationRated"],
        authorization={"_type": "TokenAuth", "value": "dashboard-ingest-token"},
        custom_headers={"X-Dashboard-Source": "dixa"},
        enabled=True,
        filters={},
        created_at="2023-03-09T10:41:39.523Z",
        created_by=_SEED_USER,
        updated_at="2023-03-10T08:02:11.071Z",
        updated_by=_SEED_USER,
    )
    created_new = _delivery("2023-03-14T08:15:02.112Z", True, 200, "OK")
    created_old = _delivery("2023-03-13T16:47:20.406Z", True, 200, "OK")
    assigned = _delivery("2023-03-14T08:16:45.830Z", False, 503, "Service Unavailable")
    closed = _delivery("2023-03-14T09:02:57.264Z", True, 204, "No Content")
    statuses: dict[str, dict[str, Any]] = {
        "ConversationCreated": created_new,
        "ConversationAssigned": assigned,
        "ConversationClosed": closed,
        "ConversationRated": {"_type": "NoRecentDelivery"},
    }
    logs: dict[str, list[dict[str, Any]]] = {
        "ConversationCreated": [  # newest first
            {
                "deliveryDetail": created_new,
                "payload": _payload(
                    "ConversationCreated",
                    "a3e1c9b7-5d2f-4f6a-8b4e-7c1d3e5f9a20",
                    "2023-03-14T08:15:01.987Z",
                    _conversation(1042, "OPEN"),
                ),
            },
            {
                "deliveryDetail": created_old,
                "payload": _payload(
                    "ConversationCreated",
                    "f7b2d4e6-1a3c-4e5f-9b8d-2c4e6a8b0d13",
                    "2023-03-13T16:47:20.215Z",
                    _conversation(1041, "OPEN"),
                ),
            },
        ],
        "ConversationAssigned": [
            {
                "deliveryDetail": assigned,
                "payload": _payload(
                    "ConversationAssigned",
                    "c5d7e9f1-3b5a-4c7e-8f9a-1b3d5f7a9c24",
                    "2023-03-14T08:16:45.601Z",
                    {**_conversation(1042, "OPEN"), "agent": {"id": _SEED_USER, "name": "Grace Hopper"}},
                ),
            }
        ],
        "ConversationClosed": [
            {
                "deliveryDetail": closed,
                "payload": _payload(
                    "ConversationClosed",
                    "e9f1a3b5-7c9d-4e1f-a2b4-5c7d9e1f3a46",
                    "2023-03-14T09:02:57.049Z",
                    _conversation(1042, "CLOSED"),
                ),
            }
        ],
    }
    return subscription, statuses, logs


# --- request validation -----------------------------------------------------------------------------------------


def _json_object(raw: bytes) -> dict[str, Any]:
    body = parse_json(raw, BadRequest)
    if not isinstance(body, dict):
        raise BadRequest
    return body


def _string(value: Any, *, non_empty: bool = True) -> str:
    if not isinstance(value, str) or (non_empty and not value.strip()):
        raise BadRequest
    return value


def _url(value: Any) -> str:
    url = _string(value)
    if not is_http_url(url):
        raise BadRequest
    return url


def _events(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise BadRequest
    events: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in EVENT_SET:
            raise BadRequest
        if item not in events:
            events.append(item)  # Dixa keeps a set of events; duplicates collapse.
    return events


def _authorization(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("_type") not in _AUTH_TYPES:
        raise BadRequest
    kind = value["_type"]
    if kind == "BasicAuth":
        return {"_type": kind, "username": _string(value.get("username")), "password": _string(value.get("password"))}
    if kind == "TokenAuth":
        return {"_type": kind, "value": _string(value.get("value"))}
    return {"_type": kind}


def _custom_headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadRequest
    return dict(value)


def _filters(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest
    return dict(value)


def _enabled(value: Any) -> bool:
    if not isinstance(value, bool):
        raise BadRequest
    return value


# field in the request -> (attribute of Subscription, validator)
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "name": ("name", _string),
    "url": ("url", _url),
    "events": ("events", _events),
    "authorization": ("authorization", _authorization),
    "customHeaders": ("custom_headers", _custom_headers),
    "enabled": ("enabled", _enabled),
    "filters": ("filters", _filters),
}


def _changes(body: dict[str, Any]) -> dict[str, Any]:
    """Validated attribute changes from a create or patch body. Unknown fields are ignored, as Dixa's decoder does."""
    changes: dict[str, Any] = {}
    for key, (attribute, validate) in _FIELDS.items():
        if key in body:
            changes[attribute] = validate(body[key])
    return changes


# --- the app ----------------------------------------------------------------------------------------------------


@dataclass
class DixaState(SimulatorState):
    """Subscriptions with their delivery statuses (by event) and delivery logs (by event, newest first)."""

    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    statuses: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    logs: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)

    def reset(self) -> None:
        subscription, statuses, logs = _seed()
        self.subscriptions = {subscription.id: subscription}
        self.statuses = {subscription.id: statuses}
        self.logs = {subscription.id: logs}


class DixaSimulator:
    """Handlers over one :class:`DixaState`."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.state = DixaState()
        self.state.reset()

    def _now(self) -> str:
        return iso_millis(self.control.clock.now())

    @staticmethod
    def authorize(request: Request) -> None:
        # The key is the whole header value [doc]: "Bearer sandbox-dixa-key" is refused like a wrong key.
        if not authorization_is(request, API_KEY):
            raise Unauthorized

    def guarded(self, handler: Handler) -> Handler:
        """The API-key check and the mapping of BadRequest / NotFound to Dixa's error bodies."""
        return endpoint(handler, authorize=self.authorize)

    def _find(self, request: Request) -> Subscription:
        raw_id = request.path_params["webhookSubscriptionId"]
        try:
            uuid.UUID(raw_id)
        except ValueError:
            raise BadRequest from None  # The path parameter is typed as a UUID: a malformed one is a bad request.
        subscription = self.state.subscriptions.get(raw_id.lower())
        if subscription is None:
            raise NotFound
        return subscription

    async def list_subscriptions(self, request: Request) -> Response:
        return json_response({"data": [sub.to_json() for sub in self.state.subscriptions.values()]})

    async def create_subscription(self, request: Request) -> Response:
        body = _json_object(await request.body())
        # name, url and authorization are required [doc]; customHeaders is marked required too, but an empty object
        # is what leaving it out means, so the sandbox lets it default (stand-in).
        if not all(key in body for key in ("name", "url", "authorization")):
            raise BadRequest
        changes = _changes(body)
        now = self._now()
        subscription = Subscription(
            id=str(uuid.uuid4()),
            name=changes["name"],
            url=changes["url"],
            events=changes.get("events", []),
            authorization=changes["authorization"],
            custom_headers=changes.get("custom_headers", {}),
            enabled=changes.get("enabled", True),
            filters=changes.get("filters", {}),
            created_at=now,
            created_by=API_USER_ID,
            updated_at=now,
            updated_by=API_USER_ID,
        )
        self.state.subscriptions[subscription.id] = subscription
        self.state.statuses[subscription.id] = {}
        self.state.logs[subscription.id] = {}
        return json_response({"data": subscription.to_json()}, 201)

    async def get_subscription(self, request: Request) -> Response:
        return json_response({"data": self._find(request).to_json()})

    async def patch_subscription(self, request: Request) -> Response:
        subscription = self._find(request)
        changes = _changes(_json_object(await request.body()))
        for attribute, value in changes.items():
            setattr(subscription, attribute, value)
        subscription.updated_at = self._now()
        subscription.updated_by = API_USER_ID
        return json_response({"data": subscription.to_json()})

    async def delete_subscription(self, request: Request) -> Response:
        subscription = self._find(request)
        del self.state.subscriptions[subscription.id]
        self.state.statuses.pop(subscription.id, None)
        self.state.logs.pop(subscription.id, None)
        return Response(status_code=204)

    async def delivery_status(self, request: Request) -> Response:
        subscription = self._find(request)
        known = self.state.statuses.get(subscription.id, {})
        # One entry per subscribed event; an event nothing was delivered for yet is NoRecentDelivery [doc].
        data = [
            {"event": event, "deliveryStatus": known.get(event, {"_type": "NoRecentDelivery"})}
            for event in subscription.events
        ]
        return json_response({"data": data})

    async def delivery_logs(self, request: Request) -> Response:
        subscription = self._find(request)
        event = request.path_params["event"]
        if event not in EVENT_SET:
            raise BadRequest  # The path parameter is the event enum: an unknown name is a bad request.
        return json_response({"data": self.state.logs.get(subscription.id, {}).get(event, [])})


def create_app(control: Control) -> Starlette:
    """A fresh Dixa simulator with its own seed state, reset by ``control.reset()``."""
    sim = DixaSimulator(control)
    guard = sim.guarded
    routes: list[Route] = []
    for prefix in ("/v1", "/beta"):  # The same API is served under both versions [doc].
        base = f"{prefix}/webhooks"
        item = base + "/{webhookSubscriptionId}"
        routes += [
            Route(base, guard(sim.list_subscriptions), methods=["GET"]),
            Route(base, guard(sim.create_subscription), methods=["POST"]),
            Route(item, guard(sim.get_subscription), methods=["GET"]),
            Route(item, guard(sim.patch_subscription), methods=["PATCH"]),
            Route(item, guard(sim.delete_subscription), methods=["DELETE"]),
            Route(item + "/delivery-status", guard(sim.delivery_status), methods=["GET"]),
            Route(item + "/delivery-status/logs/{event}", guard(sim.delivery_logs), methods=["GET"]),
        ]
    return simulator_app("dixa", sim.state, control, routes, route_error=error_body)
