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
