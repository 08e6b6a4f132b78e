"""UiPath Orchestrator's tenant as the simulator keeps it: webhooks, event types, issued tokens, error bodies."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

from sandbox.kit import SimulatorError, SimulatorState

STATIC_TOKEN = "sandbox-uipath-token"
CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-client-secret"

# The 21 event types exactly as GetEventTypes returns them [doc]: (Name, Group), in the documented order.
EVENT_TYPES: tuple[tuple[str, str], ...] = (
    ("process.created", "process"),
    ("process.updated", "process"),
    ("process.deleted", "process"),
    ("schedule.failed", "schedule"),
    ("robot.status", "robot"),
    ("robot.created", "robot"),
    ("robot.updated", "robot"),
    ("robot.deleted", "robot"),
    ("job.started", "job"),
    ("job.completed", "job"),
    ("job.faulted", "job"),
    ("job.stopped", "job"),
    ("job.created", "job"),
    ("queue.created", "queue"),
    ("queue.updated", "queue"),
    ("queue.deleted", "queue"),
    ("queueItem.added", "queueItem"),
    ("queueItem.transactionStarted", "queueItem"),
    ("queueItem.transactionFailed", "queueItem"),
    ("queueItem.transactionCompleted", "queueItem"),
    ("queueItem.transactionAbandoned", "queueItem"),
)
EVENT_NAMES = frozenset(name for name, _ in EVENT_TYPES)

# Documented error codes [doc]: 1000 invalid request, 1001 name already used, 1002 item not found.
INVALID_REQUEST = 1000
ALREADY_USED = 1001
NOT_FOUND = 1002

# The PingEventDto example [doc] gives these two ids; the sandbox answers with them on every ping.
TENANT_ID = 57
USER_ID = 583
#: The folder (organization unit) events are raised in; the ping example has null there, custom events name one.
ORGANIZATION_UNIT_ID = 1


@dataclass
class Webhook:
    """One webhook registration, as Orchestrator stores it."""

    id: int
    url: str
    name: str = ""
    description: str | None = None
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    enabled: bool = False
    secret: str | None = None
    subscribe_to_all_events: bool = False
    allow_insecure_ssl: bool = False
    events: list[str] = field(default_factory=list)

    def to_dto(self) -> dict[str, Any]:
        # Current Orchestrator's WebhookDto [doc: the published OpenAPI description], in its order: Key, Name,
        # Description, Url, Enabled, Secret, SubscribeToAllEvents, AllowInsecureSsl, Events, Id. UiPath really returns
        # Secret in WebhookDto [doc]; the gateway is the one that hides it.
        return {
            "Key": self.key,
            "Name": self.name,
            "Description": self.description,
            "Url": self.url,
            "Enabled": self.enabled,
            "Secret": self.secret,
            "SubscribeToAllEvents": self.subscribe_to_all_events,
            "AllowInsecureSsl": self.allow_insecure_ssl,
            "Events": [{"EventType": name} for name in self.events],
            "Id": self.id,
        }


def _seed_webhooks() -> list[Webhook]:
    return [
        # The "Retrieving webhooks according to their URL" example of UiPath's API guide, verbatim.
        Webhook(
            id=4,
            url="http://documentation.azurewebsites.net/webhook/documentation",
            # Name, Description and Key are not in that (older) example; current Orchestrator requires a Name, so
            # the seed has one of our choosing, and fixed keys so that answers are stable.
            name="Documentation webhook",
            description="The example of UiPath's API guide",
            key="5f0c8d1e-8a5b-4c2e-9f4a-1d2b3c4d5e04",
            enabled=True,
            secret="1234567890",
            subscribe_to_all_events=False,
            allow_insecure_ssl=False,
            events=["job.started", "process.created", "process.deleted", "process.updated", "queue.created"],
        ),
        # The "according to an ID" example of the same page reads GET /odata/Webhooks(10) and answers a webhook whose
        # Url starts with "https://orchestrator.uipath.com"; the rest of that example is not legible to us, so these
        # values are our choice: a disabled all-events webhook (so that filters on Enabled have both answers) signed
        # with the sandbox's delivery secret (CONTRACT.md).
        Webhook(
            id=10,
            url="https://orchestrator.uipath.com/webhooks/sandbox",
            name="Sandbox deliveries",
            description=None,
            key="5f0c8d1e-8a5b-4c2e-9f4a-1d2b3c4d5e10",
            enabled=False,
            secret="sandbox-uipath-secret",
            subscribe_to_all_events=True,
            allow_insecure_ssl=False,
            events=[],
        ),
    ]


@dataclass
class UiPathState(SimulatorState):
    """In-memory tenant: webhook registry and issued tokens.

    Kept apart from the HTTP handlers: the outbound deliveries read ``webhooks`` and hear of pings.
    """

    webhooks: dict[int, Webhook] = field(default_factory=dict)
    next_id: int = 1
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (sandbox clock, epoch seconds)

    def reset(self) -> None:
        self.webhooks = {hook.id: replace(hook, events=list(hook.events)) for hook in _seed_webhooks()}
        self.next_id = max(self.webhooks) + 1
        self.tokens.clear()

    def registered(self) -> list[Webhook]:
        """Webhooks in Id order (the hook for future deliveries)."""
        return [self.webhooks[key] for key in sorted(self.webhooks)]

    def pinged(self, hook: Webhook, event: dict[str, Any]) -> None:
        """Tell listeners ``("webhook.pinged", {"webhook": hook, "event": dto})``."""
        self.emit("webhook.pinged", webhook=hook, event=event)

    def custom_triggered(self, event: dict[str, Any]) -> None:
        """Tell listeners ``("webhook.custom", {"event": dto})``: a CustomEventDto raised by TriggerCustom."""
        self.emit("webhook.custom", event=event)


def trace_id() -> str:
    # W3C traceparent, which is what Orchestrator puts in traceId.
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"


def uipath_error(message: str, error_code: int) -> dict[str, Any]:
    # stand-in: UiPath's error body {"message", "errorCode", "traceId"} is not documented.
    return {"message": message, "errorCode": error_code, "traceId": trace_id()}


class ODataError(SimulatorError):
    """An error answered as UiPath's error body."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message, status=status)
        self.error_code = error_code

    def body(self) -> Any:
        return uipath_error(self.message, self.error_code)


def error_body(status: int) -> Any:
    """UiPath's error body for an injected fault of ``status``."""
    code = {400: INVALID_REQUEST, 404: NOT_FOUND}.get(status, 0)
    message = "Webhook does not exist." if status == 404 else HTTPStatus(status).phrase
    return uipath_error(message, code)


def iso7(timestamp: float) -> str:
    """``2018-11-19T14:32:47.6024779Z``: .NET's round-trip format, 7 fractional digits (100 ns ticks)."""
    ticks = round(timestamp * 10_000_000)
    seconds, fraction = divmod(ticks, 10_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:07d}Z"
