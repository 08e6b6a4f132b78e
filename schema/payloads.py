"""Mutation payloads. Each echoes the input's ``clientMutationId``."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from schema.types import Webhook, WorkflowAction, WorkflowRequest, WorkflowUser


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None
    client_mutation_id: str | None = None


@strawberry.type
class DeleteWebhookPayload:
    deleted_id: strawberry.ID
    client_mutation_id: str | None = None


@strawberry.type
class PingWebhookPayload:
    type: str
    event_id: str
    timestamp: datetime
    tenant_id: strawberry.ID | None = strawberry.field(default=None, description="UiPath's id of the tenant.")
    organization_unit_id: strawberry.ID | None = strawberry.field(
        default=None, description="The folder (organization unit) it was raised in; null when none."
    )
    user_id: strawberry.ID | None = strawberry.field(default=None, description="The user who pinged.")
    client_mutation_id: str | None = None


@strawberry.type(description="The event a provider raised for triggerCustomEvent (UiPath's CustomEventDto).")
class TriggerCustomEventPayload:
    type: str = strawberry.field(description="The provider's type of the event: `custom` on UiPath.")
    event_id: str = strawberry.field(description="The event's id, as in the delivery's `EventId`.")
    timestamp: datetime = strawberry.field(description="When the provider raised it.")
    event_type: str = strawberry.field(description="The event type the caller gave.")
    data: JSON | None = strawberry.field(default=None, description="The event's data, as the provider has it.")
    client_mutation_id: str | None = None


@strawberry.type
class CreateRequestPayload:
    request: WorkflowRequest
    on_behalf_of: WorkflowUser | None = None
    on_behalf_of_user_name: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class UpdateRequestDatasetPayload:
    request: WorkflowRequest
    client_mutation_id: str | None = None


@strawberry.type
class CancelRequestPayload:
    request: WorkflowRequest
    on_behalf_of: WorkflowUser | None = None
    on_behalf_of_user_name: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class ActionPayload:
    action: WorkflowAction
    on_behalf_of: WorkflowUser | None = None
    on_behalf_of_user_name: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class StartFlowPayload:
    result: JSON | None = None
    client_mutation_id: str | None = None


@strawberry.type
class StartFlowsPayload:
    result: JSON | None = None
    client_mutation_id: str | None = None


@strawberry.type
class ConversationSignalPayload:
    result: JSON | None = None
    client_mutation_id: str | None = None
