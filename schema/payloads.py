"""Mutation payloads. Each echoes the input's ``clientMutationId``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from schema.types import Webhook, WorkflowAction, WorkflowRequest, WorkflowUser


# One field object per class attribute (a dataclass field must not be shared between classes).
def _cmid() -> Any:
    return strawberry.field(default=None, description="The input's `clientMutationId`, unchanged.")


def _on_behalf_of() -> Any:
    return strawberry.field(default=None, description="The user the operation ran as, when it was delegated.")


def _on_behalf_of_user_name() -> Any:
    return strawberry.field(default=None, description="The user name the operation ran as, when it was delegated.")


def _warnings() -> Any:
    return strawberry.field(
        default_factory=list,
        description="Empty when the write's answer was read in full. Otherwise the write was done (do not send it "
        "again: it would be done twice) and each entry says what of its answer could not be read.",
    )


@strawberry.type(
    description="Something the gateway could not read of a provider's answer to a write that was done anyway."
)
class OperationWarning:
    code: str = strawberry.field(
        description="`ANSWER_INCOMPLETE`: the provider's answer lacked what the payload shows, e.g. which request a "
        "launch created."
    )
    message: str = strawberry.field(description="What could not be read, for people.")


def _druid_result() -> Any:
    return strawberry.field(default=None, description="DRUID's `result`, as it answered.")


@strawberry.type(description="The webhook as the provider has it after the write.")
class WebhookPayload:
    webhook: Webhook | None = strawberry.field(description="The webhook created or updated.")
    client_mutation_id: str | None = _cmid()


@strawberry.type(description="The result of deleteWebhook.")
class DeleteWebhookPayload:
    deleted_id: strawberry.ID = strawberry.field(description="The id of the deleted webhook.")
    client_mutation_id: str | None = _cmid()


@strawberry.type(description="The test event UiPath sent to the webhook's URL.")
class PingWebhookPayload:
    type: str = strawberry.field(description="The event's type: `ping`.")
    event_id: str = strawberry.field(description="The event's id, as in the delivery's `EventId`.")
    timestamp: datetime = strawberry.field(description="When UiPath sent it.")
    tenant_id: strawberry.ID | None = strawberry.field(default=None, description="UiPath's id of the tenant.")
    organization_unit_id: strawberry.ID | None = strawberry.field(
        default=None, description="The folder (organization unit) it was raised in; null when none."
    )
    user_id: strawberry.ID | None = strawberry.field(default=None, description="The user who pinged.")
    client_mutation_id: str | None = _cmid()


@strawberry.type(description="The event a provider raised for triggerCustomEvent (UiPath's CustomEventDto).")
class TriggerCustomEventPayload:
    type: str = strawberry.field(description="The provider's type of the event: `custom` on UiPath.")
    event_id: str = strawberry.field(description="The event's id, as in the delivery's `EventId`.")
    timestamp: datetime = strawberry.field(description="When the provider raised it.")
    event_type: str = strawberry.field(description="The event type the caller gave.")
    data: JSON | None = strawberry.field(default=None, description="The event's data, as the provider has it.")
    client_mutation_id: str | None = _cmid()


@strawberry.type(description="The new request, as WorkflowGen has it right after the launch.")
class CreateRequestPayload:
    request: WorkflowRequest | None = strawberry.field(
        description="The new request, with its first action. Null only when WorkflowGen's answer did not say which "
        "request it created: the request exists, and `warnings` says so."
    )
    on_behalf_of: WorkflowUser | None = _on_behalf_of()
    on_behalf_of_user_name: str | None = _on_behalf_of_user_name()
    client_mutation_id: str | None = _cmid()
    warnings: list[OperationWarning] = _warnings()


@strawberry.type(description="The request after its data was written.")
class UpdateRequestDatasetPayload:
    request: WorkflowRequest = strawberry.field(description="The request, with its data as written.")
    client_mutation_id: str | None = _cmid()
    warnings: list[OperationWarning] = _warnings()


@strawberry.type(description="The request after its cancellation.")
class CancelRequestPayload:
    request: WorkflowRequest = strawberry.field(description="The request, closed with its open actions.")
    on_behalf_of: WorkflowUser | None = _on_behalf_of()
    on_behalf_of_user_name: str | None = _on_behalf_of_user_name()
    client_mutation_id: str | None = _cmid()
    warnings: list[OperationWarning] = _warnings()


@strawberry.type(description="The action as WorkflowGen has it right after the operation.")
class ActionPayload:
    action: WorkflowAction = strawberry.field(
        description="The action after the operation (e.g. closed once completed)."
    )
    on_behalf_of: WorkflowUser | None = _on_behalf_of()
    on_behalf_of_user_name: str | None = _on_behalf_of_user_name()
    client_mutation_id: str | None = _cmid()
    warnings: list[OperationWarning] = _warnings()


@strawberry.type(description="DRUID's answer to StartFlow.")
class StartFlowPayload:
    result: JSON | None = _druid_result()
    client_mutation_id: str | None = _cmid()


@strawberry.type(description="DRUID's answer to StartFlowBulk.")
class StartFlowsPayload:
    result: JSON | None = _druid_result()
    client_mutation_id: str | None = _cmid()


@strawberry.type(description="DRUID's answer to the signal.")
class ConversationSignalPayload:
    result: JSON | None = _druid_result()
    client_mutation_id: str | None = _cmid()
