"""Assembles the schema: Query, Mutation and Subscription over the resolvers, with the default extensions.

``build_schema(settings)`` is called once per app; ``hookgate schema`` prints its SDL, and ``schema.graphql`` in
the repository must equal it (a test holds them together).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import strawberry
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.field import StrawberryField

from gateway.config import Limits, Settings
from gateway.execution import execution_context_class
from gateway.extensions import ErrorShaping, ResponseCaching, ScopeGuard
from gateway.limits import limit_rules
from gateway.observability.metrics import GraphQLMetrics
from gateway.request_limits import limit_extensions
from resolvers import custom_events, operations
from resolvers import events as event_resolvers
from resolvers import nodes as node_resolvers
from resolvers import sources as source_resolvers
from resolvers import webhooks as webhook_resolvers
from resolvers import workflow as workflow_resolvers
from schema.connections import Connection
from schema.payloads import (
    ActionPayload,
    CancelRequestPayload,
    ConversationSignalPayload,
    CreateRequestPayload,
    DeleteWebhookPayload,
    PingWebhookPayload,
    StartFlowPayload,
    StartFlowsPayload,
    TriggerCustomEventPayload,
    UpdateRequestDatasetPayload,
    WebhookPayload,
)
from schema.scalars import BoundedJSON, NumberLiteralLimit, UtcDateTime
from schema.types import (
    EventType,
    InboundEvent,
    Node,
    Source,
    Webhook,
    WorkflowAction,
    WorkflowRequest,
)

F = TypeVar("F")
R = TypeVar("R")


def described(field: F, **arguments: str) -> F:
    """``field`` with its resolver's arguments described (by Python name): what GraphiQL's docs show for each.

    The descriptions live here, beside the fields' own, rather than in the resolvers' signatures."""
    assert isinstance(field, StrawberryField), field
    unknown = set(arguments) - {argument.python_name for argument in field.arguments}
    assert not unknown, f"{field.python_name} has no argument {', '.join(sorted(unknown))}"
    copies = []
    for argument in field.arguments:
        argument = copy.copy(argument)  # the resolver's own list stays as it is
        argument.description = arguments.get(argument.python_name, argument.description)
        copies.append(argument)
    field.arguments = copies
    return field


def write(resolver: Callable[..., Awaitable[R]], description: str) -> R:
    """A mutation field over ``resolver``, whose one argument is ``input``."""
    field: R = strawberry.mutation(resolver=resolver, description=description)
    return described(field, input="What to write; its `clientMutationId` comes back in the payload.")


#: Arguments several fields share.
SOURCE = "Only this source, by its configured name; an unknown name is BAD_USER_INPUT."
PROVIDER = "Only sources of this kind."
AFTER = "A cursor (`endCursor` or an edge's `cursor`): the items after it."
WORKFLOW_SOURCE = "The WorkflowGen source; may be left out when only one is configured."


@strawberry.type(description="Read the webhooks, event types, requests and actions of every configured source.")
class Query:
    node: Node | None = described(
        strawberry.field(
            resolver=node_resolvers.node,
            description="Any object by its global id; null if it no longer exists or its source is not configured.",
        ),
        id="A global id, as an object's `id` shows it.",
    )
    nodes: list[Node | None] = described(
        strawberry.field(
            resolver=node_resolvers.nodes,
            description="Objects by global id, in order, null where one does not exist. Ids of one source are "
            "fetched together, in as few upstream calls as the provider allows.",
        ),
        ids="Global ids, as objects' `id` show them.",
    )
    sources: list[Source] = strawberry.field(resolver=source_resolvers.sources, description="The configured sources.")
    webhooks: Connection[Webhook] = described(
        strawberry.field(
            resolver=webhook_resolvers.webhooks,
            description="Webhooks of every source that has them (UiPath, Dixa, Auco), merged in a stable order: "
            "sources as configured, then by id. A failing source is reported in `errors`; the others still answer.",
        ),
        source=SOURCE,
        provider=PROVIDER,
        enabled="Only enabled (true) or disabled (false) webhooks.",
        event_type="Only webhooks that receive this event type (including those that receive every event).",
        url="Only webhooks with exactly this URL.",
        first="At most this many webhooks (default 200, at most `limits.max_first`); `after` pages on.",
        after=AFTER,
    )
    webhook: Webhook | None = described(
        strawberry.field(resolver=webhook_resolvers.webhook, description="One webhook by its id; null if it is gone."),
        id="The webhook's id (`Webhook.id`).",
    )
    event_types: list[EventType] = described(
        strawberry.field(
            resolver=webhook_resolvers.event_types,
            description="The event catalogue: what webhooks can subscribe to, per source (UiPath, Dixa, Auco).",
        ),
        source=SOURCE,
        provider=PROVIDER,
        group="Only this group, e.g. `job` (UiPath), `Conversation` (Dixa), `document` (Auco).",
    )
    request: WorkflowRequest | None = described(
        strawberry.field(
            resolver=workflow_resolvers.request,
            description="A WorkflowGen request, by `number` or by `id`; null if it does not exist.",
        ),
        source=WORKFLOW_SOURCE,
        number="The request's number.",
        id="The request's global id (`WorkflowRequest.id`), instead of `number`.",
    )
    action: WorkflowAction | None = described(
        strawberry.field(
            resolver=workflow_resolvers.action,
            description="A WorkflowGen action, by `id` or by `requestNumber` and `number`; null if it does not exist.",
        ),
        source=WORKFLOW_SOURCE,
        request_number="The number of the action's request, with `number`.",
        number="The action's number within its request, with `requestNumber`.",
        id="The action's global id (`WorkflowAction.id`), instead of `requestNumber` and `number`.",
    )
    requests: Connection[WorkflowRequest] = described(
        strawberry.field(
            resolver=workflow_resolvers.requests,
            description="WorkflowGen requests, oldest first, e.g. those awaiting approval: "
            '`requests(status: [OPEN], processName: "EXPENSE_CLAIM")`. Filters WorkflowGen has are applied by it.',
        ),
        source=WORKFLOW_SOURCE,
        status="Only requests in one of these states; an empty list matches nothing.",
        process_name="Only requests of this process, e.g. `EXPENSE_CLAIM`.",
        requester="Only requests launched by this user name.",
        created_since="Only requests opened at or after this instant.",
        first="At most this many requests (default 50, at most `limits.max_first`).",
        after=AFTER,
    )
    actions: Connection[WorkflowAction] = described(
        strawberry.field(
            resolver=workflow_resolvers.actions,
            description='WorkflowGen actions, e.g. my open actions: `actions(status: [OPEN], assignee: "me")`. '
            "Filters WorkflowGen has are applied by it, the others by the gateway.",
        ),
        source=WORKFLOW_SOURCE,
        status="Only actions in one of these states; an empty list matches nothing.",
        assignee="Only actions held by this user name; `me` is the user the gateway acts as on WorkflowGen.",
        process_name="Only actions of requests of this process.",
        request_number="Only actions of this request.",
        created_since="Only actions opened at or after this instant.",
        first="At most this many actions (default 50, at most `limits.max_first`).",
        after=AFTER,
    )
    inbound_events: Connection[InboundEvent] = described(
        strawberry.field(
            resolver=event_resolvers.inbound_events,
            description="The events providers delivered to the gateway (`/hooks/{source}`), oldest first, as long "
            "as they are retained.",
        ),
        source=SOURCE,
        provider=PROVIDER,
        type="Only events of this type, e.g. `job.faulted`.",
        first="At most this many events (default 100, at most `limits.max_first`).",
        after=AFTER + " Cursors of `events` are valid here too.",
    )


@strawberry.type(description="Writes. Never retried by the gateway; send Idempotency-Key to make a retry safe.")
class Mutation:
    create_webhook: WebhookPayload = write(
        webhook_resolvers.create_webhook,
        "Register a webhook with a UiPath, Dixa or Auco source. Fields the source does not take are refused, naming "
        "the field, before anything is written.",
    )
    update_webhook: WebhookPayload = write(
        webhook_resolvers.update_webhook, "Change a webhook (UiPath, Dixa, Auco); fields left out stay as they are."
    )
    delete_webhook: DeleteWebhookPayload = write(
        webhook_resolvers.delete_webhook, "Delete a webhook (UiPath, Dixa, Auco; not Auco's `default` webhook)."
    )
    ping_webhook: PingWebhookPayload = write(
        webhook_resolvers.ping_webhook,
        "Have UiPath send a `ping` event to the webhook's URL (UiPath only; CAPABILITY_UNSUPPORTED elsewhere).",
    )
    trigger_custom_event: TriggerCustomEventPayload = write(
        custom_events.trigger_custom_event,
        "Raise an event of your own type on a provider, which delivers it to its webhooks (UiPath).",
    )
    create_request: CreateRequestPayload = write(
        operations.create_request,
        "Launch a WorkflowGen process: a new request with its data, optionally on behalf of another user "
        "(WorkflowGen only).",
    )
    update_request_dataset: UpdateRequestDatasetPayload = write(
        operations.update_request_dataset, "Write data values into an open WorkflowGen request (WorkflowGen only)."
    )
    cancel_request: CancelRequestPayload = write(
        operations.cancel_request, "Cancel an open WorkflowGen request and its open actions (WorkflowGen only)."
    )
    complete_action: ActionPayload = write(
        operations.complete_action,
        "Complete an open WorkflowGen action, writing its data into the request (WorkflowGen only).",
    )
    cancel_action: ActionPayload = write(
        operations.cancel_action,
        "End an open WorkflowGen action by its cancel transition, or its exception transition with `type: ERROR` "
        "(WorkflowGen only).",
    )
    assign_action: ActionPayload = write(
        operations.assign_action, "Give an open WorkflowGen action to one of its participants (WorkflowGen only)."
    )
    cancel_action_assignment: ActionPayload = write(
        operations.cancel_action_assignment,
        "Take an open WorkflowGen action back from its assignee (WorkflowGen only).",
    )
    start_flow: StartFlowPayload = write(
        operations.start_flow,
        "Start a conversation flow on a DRUID bot for exactly one target: a user master id, a conversation id or a "
        "tenant user id (DRUID only).",
    )
    start_flows: StartFlowsPayload = write(
        operations.start_flows,
        "Start several DRUID conversation flows in one call; if one item is invalid, none starts (DRUID only).",
    )
    notify_agent_connected: ConversationSignalPayload = write(
        operations.notify_agent_connected,
        "Tell a DRUID bot that a Mediatel agent joined the conversation (MediatelAgentConnected; DRUID only).",
    )
    notify_attended_robot: ConversationSignalPayload = write(
        operations.notify_attended_robot,
        "Tell a DRUID bot that an attended UiPath robot answered (UiPathAttended; DRUID only).",
    )


@strawberry.type(description="Live events the providers deliver to the gateway.")
class Subscription:
    events = described(
        strawberry.subscription(
            resolver=event_resolvers.events,
            description="Events as they arrive; with `after`, first replays what followed that cursor, in order.",
        ),
        source=SOURCE,
        provider=PROVIDER,
        types="Only events of these types; an empty list matches nothing.",
        after="A cursor (`InboundEvent.cursor`): first every retained event after it, then live ones, with no gap.",
    )


class HookgateSchema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: ExecutionContext | None = None) -> None:
        """Strawberry logs every error by default; ErrorShaping logs only the unexpected ones, with a request id."""


def build_schema(settings: Settings | None = None, *, fast_execution: bool | None = None) -> strawberry.Schema:
    """The schema for ``settings``. Execution is fast unless ``[execution] fast = false``; ``fast_execution``, when
    given, overrides the setting (tests and the bench compare both)."""
    if fast_execution is None:
        fast_execution = settings.execution.fast if settings is not None else True
    limits = settings.limits if settings else Limits()
    # Depth, aliases, cost, directives and (in production) no introspection: validation rules built once, so that
    # ValidationCache (keyed by the rule classes too) finds the document's verdict on the next request.
    rules = limit_rules(limits, production=settings.production if settings else False)
    return HookgateSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Webhook, WorkflowRequest, WorkflowAction, InboundEvent],
        config=StrawberryConfig(auto_camel_case=True),
        # The same JSON scalar, with a depth bound on input; DateTime reading an input without an offset as UTC.
        scalar_overrides={JSON: BoundedJSON, datetime: UtcDateTime},
        # Plain fields completed without graphql-core's per-field machinery; stock execution with other versions.
        execution_context_class=execution_context_class(fast_execution),
        extensions=[
            GraphQLMetrics,  # first, so that it exits last and sees the errors as ErrorShaping leaves them
            ErrorShaping,
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: ParserCache(maxsize=512),
            # NumberLiteralLimit first: it aborts the validation before any other rule reads an over-long number.
            lambda: AddValidationRules([NumberLiteralLimit, *rules]),
            lambda: ValidationCache(maxsize=512),
            # List variables costed once known, one operation per request, no subscription over HTTP.
            *limit_extensions(limits),
            ScopeGuard,  # after ValidationCache, whose verdict it overrides for a key without the scope
            # The response cache (gateway/cache.py), after ScopeGuard: only when [cache] enabled, no cost otherwise.
            *([ResponseCaching] if settings is not None and settings.cache.enabled else []),
        ],
    )


def print_sdl() -> str:
    return build_schema().as_str() + "\n"
