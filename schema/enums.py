"""GraphQL enums. Values are the names CONTRACT.md fixes."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.domain.records import Capability, CircuitState


@strawberry.enum(description="The kind of backend a source is: the SaaS platform behind it.")
class Provider(Enum):
    UIPATH = "uipath"
    WORKFLOWGEN = "workflowgen"
    DRUID = "druid"
    DIXA = "dixa"
    AUCO = "auco"


# The gateway's own enums, registered as GraphQL enums (strawberry.enum marks the class in place).
strawberry.enum(Capability, description="What a source can do; `Source.capabilities` lists a source's.")
strawberry.enum(CircuitState, description="The state of a source's circuit breaker.")


def _describe_values(enum: type[Enum], descriptions: dict[str, str]) -> None:
    """Describe each value of a registered enum (the classes above are plain enums, so no ``enum_value()``)."""
    definition = enum.__strawberry_definition__  # type: ignore[attr-defined]
    for value in definition.values:
        value.description = descriptions[value.name]


_describe_values(
    Provider,
    {
        "UIPATH": "UiPath Orchestrator: its webhook registry and event types.",
        "WORKFLOWGEN": "WorkflowGen: process requests and their actions.",
        "DRUID": "DRUID: conversation flows of chat bots.",
        "DIXA": "Dixa: webhook subscriptions with delivery statuses and logs.",
        "AUCO": "Auco: the company's webhook list.",
    },
)
_describe_values(
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
_describe_values(
    CircuitState,
    {
        "CLOSED": "Healthy: calls go through.",
        "OPEN": "Failed repeatedly: no calls are made (CIRCUIT_OPEN) until `breaker_reset_s` has passed.",
        "HALF_OPEN": "Trying again: the next call decides whether the circuit closes or opens again.",
    },
)

__all__ = ["CancelActionType", "Capability", "CircuitState", "Provider", "provider_of"]


@strawberry.enum(description="How WorkflowGen ends an action: cancelled, or through its error transition.")
class CancelActionType(Enum):
    CANCEL = "CANCEL"
    ERROR = "ERROR"


_describe_values(
    CancelActionType,
    {
        "CANCEL": "Leave the action through its cancel transition.",
        "ERROR": "Leave the action through its default exception transition, with `exception` as the reason.",
    },
)


def provider_of(kind: str) -> Provider:
    return Provider(kind)
