"""GraphQL enums. Values are the names CONTRACT.md fixes.

The schema's enums are its own classes, apart from the domain's (``gateway.domain.records``): a resolver maps a domain
value with :func:`capability_of`, :func:`circuit_state_of` or :func:`provider_of`, and back with ``.value``. The
domain enums stay plain, so nothing outside ``schema/`` sees Strawberry.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

import strawberry

from gateway.domain import records

__all__ = [
    "ActionStatus",
    "CancelActionType",
    "Capability",
    "CircuitState",
    "Provider",
    "RequestStatus",
    "capability_of",
    "circuit_state_of",
    "provider_of",
]


def _describe(enum: type[Enum], descriptions: dict[str, str]) -> None:
    """Describe each value of a GraphQL enum (plain values keep the members typed as their values for mypy)."""
    definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
    for value in definition.values:
        value.description = descriptions[value.name]


@strawberry.enum(description="The kind of backend a source is: the SaaS platform behind it.")
class Provider(Enum):
    UIPATH = "uipath"
    WORKFLOWGEN = "workflowgen"
    DRUID = "druid"
    DIXA = "dixa"
    AUCO = "auco"


@strawberry.enum(description="What a source can do; `Source.capabilities` lists a source's.")
class Capability(Enum):
    WEBHOOKS = "WEBHOOKS"
    EVENT_TYPES = "EVENT_TYPES"
    PING = "PING"
    DELIVERY_LOGS = "DELIVERY_LOGS"
    WORKFLOW = "WORKFLOW"
    CONVERSATIONS = "CONVERSATIONS"
    INBOUND_EVENTS = "INBOUND_EVENTS"
    CUSTOM_EVENTS = "CUSTOM_EVENTS"


@strawberry.enum(description="The state of a source's circuit breaker.")
class CircuitState(Enum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


@strawberry.enum(description="How WorkflowGen ends an action: cancelled, or through its error transition.")
class CancelActionType(Enum):
    CANCEL = "CANCEL"
    ERROR = "ERROR"


@strawberry.enum(description="Whether a WorkflowGen request is still running.")
class RequestStatus(Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


@strawberry.enum(description="Whether a WorkflowGen action is still to be done.")
class ActionStatus(Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


_describe(
    RequestStatus,
    {"OPEN": "Running: it has open actions or is waiting.", "CLOSED": "Ended: completed, cancelled or aborted."},
)
_describe(
    ActionStatus,
    {"OPEN": "To be done by its assignee.", "CLOSED": "Done: completed, cancelled or aborted."},
)
_describe(
    Provider,
    {
        "UIPATH": "UiPath Orchestrator: its webhook registry and event types.",
        "WORKFLOWGEN": "WorkflowGen: process requests and their actions.",
        "DRUID": "DRUID: conversation flows of chat bots.",
        "DIXA": "Dixa: webhook subscriptions with delivery statuses and logs.",
        "AUCO": "Auco: the company's webhook list.",
    },
)
_describe(
    Capability,
    {
        "WEBHOOKS": "Lists, creates, updates and deletes webhooks: UiPath, Dixa and Auco.",
        "EVENT_TYPES": "Has an event catalogue (`eventTypes`): UiPath, Dixa and Auco.",
        "PING": "Sends a test event to a webhook (`pingWebhook`): UiPath only.",
        "CUSTOM_EVENTS": "Raises an event of the caller's own type (`triggerCustomEvent`): UiPath only.",
        "DELIVERY_LOGS": "Keeps delivery statuses and logs per webhook (`deliveryStatuses`, `deliveryLog`): Dixa only.",
        "WORKFLOW": "Requests and actions (`request`, `createRequest`, `completeAction`...): WorkflowGen only.",
        "CONVERSATIONS": "Conversation flows and bot signals (`startFlow`, `notifyAgentConnected`...): DRUID only.",
        "INBOUND_EVENTS": (
            "Delivers events to the gateway's `/hooks/{source}`, kept in `inboundEvents` and streamed by `events`: "
            "UiPath, WorkflowGen, Dixa and Auco."
        ),
    },
)
_describe(
    CircuitState,
    {
        "CLOSED": "Healthy: calls go through.",
        "OPEN": "Failed repeatedly: no calls are made (CIRCUIT_OPEN) until `breaker_reset_s` has passed.",
        "HALF_OPEN": "Trying again: the next call decides whether the circuit closes or opens again.",
    },
)
_describe(
    CancelActionType,
    {
        "CANCEL": "Leave the action through its cancel transition.",
        "ERROR": "Leave the action through its default exception transition, with `exception` as the reason.",
    },
)


#: Domain value -> schema enum, explicitly: a value added on one side only fails at import, not in a response.
_CAPABILITIES: Final = {records.Capability(c.value): c for c in Capability}
_CIRCUIT_STATES: Final = {records.CircuitState(s.value): s for s in CircuitState}
_PROVIDERS: Final = {p.value: p for p in Provider}
if set(_CAPABILITIES) != set(records.Capability) or set(_CIRCUIT_STATES) != set(records.CircuitState):
    raise RuntimeError("schema/enums.py: Capability and CircuitState must name the domain's values, no more, no less")


def capability_of(capability: records.Capability) -> Capability:
    return _CAPABILITIES[capability]


def circuit_state_of(state: records.CircuitState) -> CircuitState:
    return _CIRCUIT_STATES[state]


def provider_of(kind: str) -> Provider:
    """The schema's Provider of a source kind (``"uipath"``...): a dict look-up, cheap enough to run per object."""
    found = _PROVIDERS.get(kind)
    return Provider(kind) if found is None else found
