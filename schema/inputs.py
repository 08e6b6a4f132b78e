"""Mutation inputs, named as CONTRACT.md fixes them. Every input has an optional ``clientMutationId``.

Update inputs default their fields to ``UNSET``: a field left out stays as it is, ``null`` clears it where the
provider allows. Validation that needs no backend (exactly one value, exactly one target id) happens in the
resolvers before any upstream call, with errors that name the field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import strawberry
from strawberry.file_uploads import Upload
from strawberry.scalars import JSON

from schema.enums import CancelActionType

CMID = strawberry.field(default=None, description="Echoed unchanged in the payload.")

SOURCE_WORKFLOW = "The WorkflowGen source; may be left out when only one is configured."
SOURCE_DRUID = "The DRUID source; may be left out when only one is configured."
REQUEST_NUMBER = "The request's number; or give `id`."
REQUEST_ID = "The request's global id (`WorkflowRequest.id`); or give `number`."
ACTION_ID = "The action's global id (`WorkflowAction.id`); or give `requestNumber` and `number`."
ACTION_REQUEST_NUMBER = "The number of the action's request, with `number`."
ACTION_NUMBER = "The action's number within its request, with `requestNumber`."
ON_BEHALF_OF = "Run the operation as this user, by `WorkflowUser.id` (WorkflowGen delegation)."
ON_BEHALF_OF_USER_NAME = "Run the operation as the user of this name (WorkflowGen delegation)."


@strawberry.input(description="HTTP Basic credentials the provider sends with each delivery. Write-only.")
class BasicAuthInput:
    username: str = strawberry.field(description="The user name.")
    password: str = strawberry.field(description="The password; never returned.")


@strawberry.input(description="A header the provider sends with each delivery. Write-only.")
class HeaderInput:
    key: str = strawberry.field(description="The header's name, e.g. `X-Token`.")
    value: str = strawberry.field(description="Its value; never returned.")


@strawberry.input(
    one_of=True,
    description="How the provider authenticates its deliveries to the webhook's URL: exactly one of the fields. "
    "Dixa takes `basic`, `token`, `header` or `none`; Auco `header` or `none`; UiPath none of them (it signs "
    "deliveries with `secret` instead). Credentials are write-only.",
)
class WebhookAuthorizationInput:
    basic: BasicAuthInput | None = strawberry.field(
        default=strawberry.UNSET, description="HTTP Basic authentication (Dixa)."
    )
    token: str | None = strawberry.field(
        default=strawberry.UNSET, description="A bearer token, sent as `Authorization: Bearer` (Dixa)."
    )
    header: HeaderInput | None = strawberry.field(
        default=strawberry.UNSET, description="A header of your choice (Dixa, Auco)."
    )
    none: bool | None = strawberry.field(
        default=strawberry.UNSET, description="No authentication: give `true` (Dixa, Auco)."
    )


#: What each webhook input field means, and which providers take it (the others refuse it, naming the field).
WEBHOOK_FIELDS: Final = {
    "url": "Where the provider sends the events: an http(s) URL, not a private or loopback address unless the "
    "gateway allows them.",
    "events": "Event type names from the source's `eventTypes` (UiPath, Dixa). Auco sends every event.",
    "subscribe_to_all_events": "Receive every event type, present and future (UiPath; Auco takes only `true`).",
    "enabled": "Whether the provider delivers to it (UiPath, Dixa).",
    "name": "The webhook's name, as `Webhook.name` shows it; a source that keeps none refuses it.",
    "secret": "The secret UiPath signs each delivery with (`X-UiPath-Signature`); never returned (UiPath only).",
    "allow_insecure_ssl": "Deliver even to a URL whose TLS certificate is invalid (UiPath only).",
    "authorization": "How the provider authenticates to `url` (Dixa, Auco); never returned.",
    "custom_headers": "Extra headers sent with each delivery: an object of names to string values (Dixa only).",
}


@strawberry.input(
    description="A new webhook. Which fields a source takes depends on its provider (each field says); a field "
    "the source does not take is refused, naming it, and nothing is written."
)
class CreateWebhookInput:
    source: str = strawberry.field(description="The source to register it with: a UiPath, Dixa or Auco source.")
    url: str = strawberry.field(description=WEBHOOK_FIELDS["url"])
    events: list[str] | None = strawberry.field(default=None, description=WEBHOOK_FIELDS["events"])
    subscribe_to_all_events: bool | None = strawberry.field(
        default=None, description=WEBHOOK_FIELDS["subscribe_to_all_events"]
    )
    enabled: bool = strawberry.field(
        default=True, description=WEBHOOK_FIELDS["enabled"] + " Default true; Auco refuses `false`."
    )
    name: str | None = strawberry.field(
        default=None,
        description="The webhook's name: UiPath's Name (made from the URL's host and path when not given), Dixa's "
        "name, Auco's description.",
    )
    description: str | None = strawberry.field(default=None, description="UiPath: Orchestrator's Description.")
    provider_id: str | None = strawberry.field(
        default=None, description="The id to give the webhook; default: one made from `name` (Auco only)."
    )
    secret: str | None = strawberry.field(default=None, description=WEBHOOK_FIELDS["secret"])
    allow_insecure_ssl: bool | None = strawberry.field(default=None, description=WEBHOOK_FIELDS["allow_insecure_ssl"])
    authorization: WebhookAuthorizationInput | None = strawberry.field(
        default=None, description=WEBHOOK_FIELDS["authorization"]
    )
    custom_headers: JSON | None = strawberry.field(default=None, description=WEBHOOK_FIELDS["custom_headers"])
    client_mutation_id: str | None = CMID


@strawberry.input(
    description="Changes to a webhook: fields left out stay as they are; `null` clears a field where the provider "
    "allows. As in createWebhook, a field the source does not take is refused, naming it."
)
class UpdateWebhookInput:
    id: strawberry.ID = strawberry.field(description="The webhook's id (`Webhook.id`).")
    url: str | None = strawberry.field(default=strawberry.UNSET, description=WEBHOOK_FIELDS["url"])
    events: list[str] | None = strawberry.field(default=strawberry.UNSET, description=WEBHOOK_FIELDS["events"])
    subscribe_to_all_events: bool | None = strawberry.field(
        default=strawberry.UNSET, description=WEBHOOK_FIELDS["subscribe_to_all_events"]
    )
    enabled: bool | None = strawberry.field(default=strawberry.UNSET, description=WEBHOOK_FIELDS["enabled"])
    name: str | None = strawberry.field(default=strawberry.UNSET, description=WEBHOOK_FIELDS["name"])
    description: str | None = strawberry.field(
        default=strawberry.UNSET, description="UiPath: Orchestrator's Description."
    )
    secret: str | None = strawberry.field(default=strawberry.UNSET, description=WEBHOOK_FIELDS["secret"])
    allow_insecure_ssl: bool | None = strawberry.field(
        default=strawberry.UNSET, description=WEBHOOK_FIELDS["allow_insecure_ssl"]
    )
    authorization: WebhookAuthorizationInput | None = strawberry.field(
        default=strawberry.UNSET, description=WEBHOOK_FIELDS["authorization"]
    )
    custom_headers: JSON | None = strawberry.field(
        default=strawberry.UNSET, description=WEBHOOK_FIELDS["custom_headers"]
    )
    client_mutation_id: str | None = CMID


@strawberry.input(description="The webhook to delete.")
class DeleteWebhookInput:
    id: strawberry.ID = strawberry.field(
        description="The webhook's id (`Webhook.id`). Auco's `default` webhook cannot be deleted."
    )
    client_mutation_id: str | None = CMID


@strawberry.input(description="The webhook to ping (UiPath only).")
class PingWebhookInput:
    id: strawberry.ID = strawberry.field(description="A UiPath webhook's id (`Webhook.id`).")
    client_mutation_id: str | None = CMID


@strawberry.input(description="An event of the caller's own type, raised by the provider (UiPath's TriggerCustom).")
class TriggerCustomEventInput:
    source: str | None = strawberry.field(
        default=None, description="The source to raise it on; may be left out when only one source can."
    )
    event_type: str = strawberry.field(description="The caller's name for the kind of event.")
    data: JSON | None = strawberry.field(default=None, description="The event's data: a JSON object.")
    client_mutation_id: str | None = CMID


@strawberry.input(
    description="A file for a FILE parameter: exactly one of `content` (base64), `url` and `upload` (a file part of "
    "a multipart request). The gateway sends WorkflowGen the file's bytes base64-encoded with its name, media type "
    "and size in every case but `url`."
)
class FileInput:
    name: str = strawberry.field(description="The file name, e.g. `receipt.pdf`.")
    content_type: str | None = strawberry.field(
        default=None,
        description="Its media type, e.g. `application/pdf`; for an `upload`, the file part's own when not given.",
    )
    content: str | None = strawberry.field(
        default=None, description="The file's bytes, base64-encoded; the size is computed from them."
    )
    upload: Upload | None = strawberry.field(
        default=None,
        description="The file as a part of a `multipart/form-data` request (the GraphQL multipart request spec, as "
        "Apollo Client's and gql's uploads send it). The request must carry the header `Apollo-Require-Preflight`, "
        "`X-Apollo-Operation-Name` or `GraphQL-Preflight`, and counts against the body size limit.",
    )
    url: str | None = strawberry.field(default=None, description="A file:// path the WorkflowGen server can read.")
    description: str | None = strawberry.field(default=None, description="A description of the file.")
    updated_at: datetime | None = strawberry.field(
        default=None, description="When the file last changed; without an offset it is read as UTC."
    )


@strawberry.input(
    description="A process data value: `name` and exactly one value, of the data's type. WorkflowGen refuses a "
    "name or type that matches no data of the process."
)
class ParameterInput:
    name: str = strawberry.field(description="The process data's name, e.g. `AMOUNT`.")
    text_value: str | None = strawberry.field(default=None, description="The value of TEXT data.")
    numeric_value: float | None = strawberry.field(default=None, description="The value of NUMERIC data: finite.")
    date_time_value: datetime | None = strawberry.field(
        default=None, description="The value of DATETIME data; without an offset it is read as UTC."
    )
    file_value: FileInput | None = strawberry.field(default=None, description="The value of FILE data.")


@strawberry.input(description="A new WorkflowGen request: the process to launch and its data.")
class CreateRequestInput:
    process_name: str = strawberry.field(description="The process to launch, e.g. `EXPENSE_CLAIM`.")
    source: str | None = strawberry.field(default=None, description=SOURCE_WORKFLOW)
    process_version: int | None = strawberry.field(
        default=None, description="The version of the process to launch; left out, WorkflowGen chooses."
    )
    is_test: bool | None = strawberry.field(default=None, description="Launch it as a test request.")
    parameters: list[ParameterInput] | None = strawberry.field(
        default=None, description="Process data values to set, each name at most once."
    )
    on_behalf_of: strawberry.ID | None = strawberry.field(default=None, description=ON_BEHALF_OF)
    on_behalf_of_user_name: str | None = strawberry.field(default=None, description=ON_BEHALF_OF_USER_NAME)
    client_mutation_id: str | None = CMID


@strawberry.input(
    description="Data values to write into an open request (no delegation). Give the request by `number` or `id`."
)
class UpdateRequestDatasetInput:
    parameters: list[ParameterInput] = strawberry.field(description="The data values to write.")
    source: str | None = strawberry.field(default=None, description=SOURCE_WORKFLOW)
    number: int | None = strawberry.field(default=None, description=REQUEST_NUMBER)
    id: strawberry.ID | None = strawberry.field(default=None, description=REQUEST_ID)
    client_mutation_id: str | None = CMID


@strawberry.input(description="The open request to cancel, by `number` or `id`.")
class CancelRequestInput:
    source: str | None = strawberry.field(default=None, description=SOURCE_WORKFLOW)
    number: int | None = strawberry.field(default=None, description=REQUEST_NUMBER)
    id: strawberry.ID | None = strawberry.field(default=None, description=REQUEST_ID)
    notify_participant: bool | None = strawberry.field(
        default=None, description="Whether WorkflowGen notifies the request's participants."
    )
    on_behalf_of: strawberry.ID | None = strawberry.field(default=None, description=ON_BEHALF_OF)
    on_behalf_of_user_name: str | None = strawberry.field(default=None, description=ON_BEHALF_OF_USER_NAME)
    client_mutation_id: str | None = CMID


@strawberry.input(description="One field of a WorkflowGen web form (EFORMASPX), by its id.")
class FormFieldInput:
    name: str = strawberry.field(
        description="The form field's id, e.g. `REQUEST_AMOUNT`: an XML name (a letter or `_`, then letters, digits, "
        "`_`, `-` or `.`)."
    )
    value: str | None = strawberry.field(
        default=None,
        description="The field's value as the form holds it (text: `1250.50`, `2024-03-01T00:00:00Z`); null leaves "
        "the field out of the form's row, as a .NET DataSet writes a null.",
    )


@strawberry.input(
    description="A web form's data for completing a form action (WorkflowGen's EFORMASPX application): sent as the "
    "process data `FORM_DATA`, the form's dataset as .NET DataSet XML with one row of `fields`. WorkflowGen maps "
    "the fields to process data as the action's parameters say."
)
class FormInput:
    fields: list[FormFieldInput] = strawberry.field(description="The form's fields, each id at most once.")
    table: str = strawberry.field(
        default="Table1", description="The dataset table holding the form's row (default `Table1`): an XML name."
    )


@strawberry.input(description="The open action to complete, by `id` or by `requestNumber` and `number`.")
class CompleteActionInput:
    source: str | None = strawberry.field(default=None, description=SOURCE_WORKFLOW)
    id: strawberry.ID | None = strawberry.field(default=None, description=ACTION_ID)
    request_number: int | None = strawberry.field(default=None, description=ACTION_REQUEST_NUMBER)
    number: int | None = strawberry.field(default=None, description=ACTION_NUMBER)
    parameters: list[ParameterInput] | None = strawberry.field(
        default=None, description="Data values the action writes into its request as it completes."
    )
    form: FormInput | None = strawberry.field(
        default=None,
        description="For a web-form action: the form's fields, sent as the `FORM_DATA` parameter (so not together "
        "with a `FORM_DATA` parameter). A process without `FORM_DATA` data refuses it, naming `form`.",
    )
    process_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="WorkflowGen's id of the request's process (`Process:1`, base64): WorkflowGen refuses the "
        "completion if it is another process.",
    )
    activity_name: str | None = strawberry.field(
        default=None,
        description="The action's activity name, e.g. `APPROVAL`: with `requestNumber` instead of `number`, the "
        "request's open action of that activity; with `number` or `id`, WorkflowGen checks it.",
    )
    is_test: bool | None = strawberry.field(
        default=None, description="Whether the request runs in test mode (WorkflowGen's test flag), checked by it."
    )
    on_behalf_of: strawberry.ID | None = strawberry.field(default=None, description=ON_BEHALF_OF)
    on_behalf_of_user_name: str | None = strawberry.field(default=None, description=ON_BEHALF_OF_USER_NAME)
    client_mutation_id: str | None = CMID


@strawberry.input(description="Why an action ends in error, for WorkflowGen's exception transition.")
class ActionExceptionInput:
    message: str | None = strawberry.field(default=None, description="What went wrong.")
    source: str | None = strawberry.field(default=None, description="Who or what raised it, e.g. `finance-bot`.")


@strawberry.input(description="The open action to cancel, by `id` or by `requestNumber` and `number`.")
class CancelActionInput:
    source: str | None = strawberry.field(default=None, description=SOURCE_WORKFLOW)
    id: strawberry.ID | None = strawberry.field(default=None, description=ACTION_ID)
    request_number: int | None = strawberry.field(default=None, description=ACTION_REQUEST_NUMBER)
    number: int | None = strawberry.field(default=None, description=ACTION_NUMBER)
    type: CancelActionType | None = strawberry.field(
        default=None, description="`CANCEL` (the default) or `ERROR`: which transition the action leaves by."
    )
    exception: ActionExceptionInput | None = strawberry.field(
        default=None, description="With `type: ERROR`, the error's message and source."
    )
    on_behalf_of: strawberry.ID | None = strawberry.field(default=None, description=ON_BEHALF_OF)
    on_behalf_of_user_name: str | None = strawberry.field(default=None, description=ON_BEHALF_OF_USER_NAME)
    client_mutation_id: str | None = CMID


@strawberry.input(
    description="The open action to assign, by `id` or by `requestNumber` and `number`, and exactly one of "
    "`assigneeUserName` and `assigneeId`."
)
class AssignActionInput:
    source: str | None = strawberry.field(default=None, description=SOURCE_WORKFLOW)
    id: strawberry.ID | None = strawberry.field(default=None, description=ACTION_ID)
    request_number: int | None = strawberry.field(default=None, description=ACTION_REQUEST_NUMBER)
    number: int | None = strawberry.field(default=None, description=ACTION_NUMBER)
    assignee_user_name: str | None = strawberry.field(
        default=None, description="Give the action to the user of this name: a participant of the action."
    )
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="Give the action to this user, by `WorkflowUser.id`: a participant of the action."
    )
    on_behalf_of: strawberry.ID | None = strawberry.field(default=None, description=ON_BEHALF_OF)
    on_behalf_of_user_name: str | None = strawberry.field(default=None, description=ON_BEHALF_OF_USER_NAME)
    client_mutation_id: str | None = CMID


@strawberry.input(
    description="The assigned open action to take back, by `id` or by `requestNumber` and `number` (no delegation)."
)
class CancelActionAssignmentInput:
    source: str | None = strawberry.field(default=None, description=SOURCE_WORKFLOW)
    id: strawberry.ID | None = strawberry.field(default=None, description=ACTION_ID)
    request_number: int | None = strawberry.field(default=None, description=ACTION_REQUEST_NUMBER)
    number: int | None = strawberry.field(default=None, description=ACTION_NUMBER)
    client_mutation_id: str | None = CMID


@strawberry.input(description="One flow to start. Exactly one of the three target ids.")
class StartFlowItemInput:
    channel_id: str = strawberry.field(description="The channel to start on, e.g. `web`.")
    target_user_master_id: str | None = strawberry.field(
        default=None, description="Start for this user, by DRUID's user master id."
    )
    target_conversation_id: str | None = strawberry.field(default=None, description="Start in this conversation.")
    target_tenant_user_id: str | None = strawberry.field(
        default=None, description="Start for this user, by the tenant's user id."
    )
    entity_context_data: str | None = strawberry.field(
        default=None, description="Context data the flow receives, as a string (e.g. serialized JSON)."
    )
    flow_utterance: str | None = strawberry.field(default=None, description="The utterance that starts the flow.")
    flow_id: str | None = strawberry.field(default=None, description="The flow to start, by id.")
    conversation_language: str | None = strawberry.field(
        default=None, description="The conversation's language, e.g. `en`."
    )


@strawberry.input(description="Start one DRUID conversation flow. Exactly one of the three target ids.")
class StartFlowInput:
    bot_id: str = strawberry.field(
        description="The DRUID bot's id; an empty string means the source's configured `bot_id`."
    )
    channel_id: str = strawberry.field(description="The channel to start on, e.g. `web`.")
    source: str | None = strawberry.field(default=None, description=SOURCE_DRUID)
    target_user_master_id: str | None = strawberry.field(
        default=None, description="Start for this user, by DRUID's user master id."
    )
    target_conversation_id: str | None = strawberry.field(default=None, description="Start in this conversation.")
    target_tenant_user_id: str | None = strawberry.field(
        default=None, description="Start for this user, by the tenant's user id."
    )
    entity_context_data: str | None = strawberry.field(
        default=None, description="Context data the flow receives, as a string (e.g. serialized JSON)."
    )
    flow_utterance: str | None = strawberry.field(default=None, description="The utterance that starts the flow.")
    flow_id: str | None = strawberry.field(default=None, description="The flow to start, by id.")
    conversation_language: str | None = strawberry.field(
        default=None, description="The conversation's language, e.g. `en`."
    )
    client_mutation_id: str | None = CMID


@strawberry.input(description="Start several DRUID conversation flows in one call (StartFlowBulk).")
class StartFlowsInput:
    bot_id: str = strawberry.field(
        description="The DRUID bot's id; an empty string means the source's configured `bot_id`."
    )
    items: list[StartFlowItemInput] = strawberry.field(
        description="The flows to start; if one is invalid, none starts and the error names it (`items[2]...`)."
    )
    source: str | None = strawberry.field(default=None, description=SOURCE_DRUID)
    client_mutation_id: str | None = CMID


@strawberry.input(description="A signal for a DRUID bot: its JSON body, sent as is.")
class ConversationSignalInput:
    bot_id: str = strawberry.field(
        description="The DRUID bot's id; an empty string means the source's configured `bot_id`."
    )
    data: JSON = strawberry.field(description="The JSON body the bot receives, as is.")
    source: str | None = strawberry.field(default=None, description=SOURCE_DRUID)
    client_mutation_id: str | None = CMID
