"""GraphQL enums. Values are the names CONTRACT.md fixes."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.providers.breaker import CircuitState
from gateway.providers.records import Capability


@strawberry.enum(description="The kind of backend a source is.")
class Provider(Enum):
    UIPATH = "uipath"
    WORKFLOWGEN = "workflowgen"
    DRUID = "druid"
    DIXA = "dixa"
    AUCO = "auco"


# The gateway's own enums, registered as GraphQL enums (strawberry.enum marks the class in place).
strawberry.enum(Capability, description="What a source can do.")
strawberry.enum(CircuitState, description="The state of a source's circuit breaker.")

__all__ = ["CancelActionType", "Capability", "CircuitState", "Provider", "provider_of"]


@strawberry.enum(description="How WorkflowGen ends an action: cancelled, or through its error transition.")
class CancelActionType(Enum):
    CANCEL = "CANCEL"
    ERROR = "ERROR"


def provider_of(kind: str) -> Provider:
    return Provider(kind)
