"""Mutation inputs, named as CONTRACT.md fixes them. Every input has an optional ``clientMutationId``.

Update inputs default their fields to ``UNSET``: a field left out stays as it is, ``null`` clears it where the
provider allows. Validation that needs no backend (exactly one value, exactly one target id) happens in the
resolvers before any upstream call, with errors that name the field.
"""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from schema.enums import CancelActionType

CMID = strawberry.field(default=None, description="Echoed unchanged in the payload.")


@strawberry.input
class BasicAuthInput:
    username: str
    password: str


@strawberry.input
class HeaderInput:
    key: str
    value: str


@strawberry.input(one_of=True, description="How the provider authenticates its deliveries to the webhook's URL.")
class WebhookAuthorizationInput:
    basic: BasicAuthInput | None = strawberry.UNSET
    token: str | None = strawberry.UNSET
    header: HeaderInput | None = strawberry.UNSET
    none: bool | None = strawberry.UNSET


@strawberry.input
class CreateWebhookInput:
    source: str
    url: str
    events: list[str] | None = None
    subscribe_to_all_events: bool | None = None
    enabled: bool = True
    name: str | None = strawberry.field(
        default=None, description="UiPath: Orchestrator's Name (made from the URL's host and path when not given)."
    )
    description: str | None = strawberry.field(default=None, description="UiPath: Orchestrator's Description.")
    provider_id: str | None = None
    secret: str | None = None
    allow_insecure_ssl: bool | None = None
    authorization: WebhookAuthorizationInput | None = None
    custom_headers: JSON | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class UpdateWebhookInput:
    id: strawberry.ID
    url: str | None = strawberry.UNSET
    events: list[str] | None = strawberry.UNSET
    subscribe_to_all_events: bool | None = strawberry.UNSET
    enabled: bool | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    secret: str | None = strawberry.UNSET
    allow_insecure_ssl: bool | None = strawberry.UNSET
    authorization: WebhookAuthorizationInput | None = strawberry.UNSET
    custom_headers: JSON | None = strawberry.UNSET
    client_mutation_id: str | None = CMID


@strawberry.input
class DeleteWebhookInput:
    id: strawberry.ID
    client_mutation_id: str | None = CMID


@strawberry.input
class PingWebhookInput:
    id: strawberry.ID
    client_mutation_id: str | None = CMID


@strawberry.input(description="An event of the caller's own type, raised by the provider (UiPath's TriggerCustom).")
class TriggerCustomEventInput:
    source: str | None = strawberry.field(
        default=None, description="The source to raise it on; may be left out when only one source can."
    )
    event_type: str = strawberry.field(description="The caller's name for the kind of event.")
    data: JSON | None = strawberry.field(default=None, description="The event's data: a JSON object.")
    client_mutation_id: str | None = CMID


@strawberry.input(description="A file for a FILE parameter: exactly one of `content` (base64) and `url`.")
class FileInput:
    name: str
    content_type: str | None = None
    content: str | None = None
    url: str | None = strawberry.field(default=None, description="A file:// path the WorkflowGen server can read.")
    description: str | None = None


@strawberry.input(description="A process data value: `name` and exactly one value.")
class ParameterInput:
    name: str
    text_value: str | None = None
    numeric_value: float | None = None
    date_time_value: datetime | None = None
    file_value: FileInput | None = None


@strawberry.input
class CreateRequestInput:
    process_name: str
    source: str | None = None
    process_version: int | None = None
    is_test: bool | None = None
    parameters: list[ParameterInput] | None = None
    on_behalf_of: strawberry.ID | None = None
    on_behalf_of_user_name: str | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class UpdateRequestDatasetInput:
    parameters: list[ParameterInput]
    source: str | None = None
    number: int | None = None
    id: strawberry.ID | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class CancelRequestInput:
    source: str | None = None
    number: int | None = None
    id: strawberry.ID | None = None
    notify_participant: bool | None = None
    on_behalf_of: strawberry.ID | None = None
    on_behalf_of_user_name: str | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class CompleteActionInput:
    source: str | None = None
    id: strawberry.ID | None = None
    request_number: int | None = None
    number: int | None = None
    parameters: list[ParameterInput] | None = None
    on_behalf_of: strawberry.ID | None = None
    on_behalf_of_user_name: str | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class ActionExceptionInput:
    message: str | None = None
    source: str | None = None


@strawberry.input
class CancelActionInput:
    source: str | None = None
    id: strawberry.ID | None = None
    request_number: int | None = None
    number: int | None = None
    type: CancelActionType | None = None
    exception: ActionExceptionInput | None = None
    on_behalf_of: strawberry.ID | None = None
    on_behalf_of_user_name: str | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class AssignActionInput:
    source: str | None = None
    id: strawberry.ID | None = None
    request_number: int | None = None
    number: int | None = None
    assignee_user_name: str | None = None
    assignee_id: strawberry.ID | None = None
    on_behalf_of: strawberry.ID | None = None
    on_behalf_of_user_name: str | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class CancelActionAssignmentInput:
    source: str | None = None
    id: strawberry.ID | None = None
    request_number: int | None = None
    number: int | None = None
    client_mutation_id: str | None = CMID


@strawberry.input(description="One flow to start. Exactly one of the three target ids.")
class StartFlowItemInput:
    channel_id: str
    target_user_master_id: str | None = None
    target_conversation_id: str | None = None
    target_tenant_user_id: str | None = None
    entity_context_data: str | None = None
    flow_utterance: str | None = None
    flow_id: str | None = None
    conversation_language: str | None = None


@strawberry.input(description="Start one DRUID conversation flow. Exactly one of the three target ids.")
class StartFlowInput:
    bot_id: str
    channel_id: str
    source: str | None = None
    target_user_master_id: str | None = None
    target_conversation_id: str | None = None
    target_tenant_user_id: str | None = None
    entity_context_data: str | None = None
    flow_utterance: str | None = None
    flow_id: str | None = None
    conversation_language: str | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class StartFlowsInput:
    bot_id: str
    items: list[StartFlowItemInput]
    source: str | None = None
    client_mutation_id: str | None = CMID


@strawberry.input
class ConversationSignalInput:
    bot_id: str
    data: JSON
    source: str | None = None
    client_mutation_id: str | None = CMID
