"""Assembles the schema: Query, Mutation and Subscription over the resolvers, with the default extensions.

``build_schema(settings)`` is called once per app; ``hookgate schema`` prints its SDL, and ``schema.graphql`` in
the repository must equal it (a test holds them together).
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.scalars import JSON
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from gateway.cache import ResponseCaching
from gateway.config import Limits, Settings
from gateway.execution import execution_context_class
from gateway.extensions import ErrorShaping, ScopeGuard
from gateway.limits import limit_rules
from gateway.observability import GraphQLMetrics
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
from schema.scalars import BoundedJSON, NumberLiteralLimit
from schema.types import (
    EventType,
    InboundEvent,
    Node,
    Source,
    Webhook,
    WorkflowAction,
    WorkflowRequest,
)


@strawberry.type(description="Read the webhooks, event types, requests and actions of every configured source.")
class Query:
    node: Node | None = strawberry.field(resolver=node_resolvers.node, description="Any object by its global id.")
    nodes: list[Node | None] = strawberry.field(
        resolver=node_resolvers.nodes, description="Objects by global id, in order."
    )
    sources: list[Source] = strawberry.field(resolver=source_resolvers.sources, description="The configured sources.")
    webhooks: Connection[Webhook] = strawberry.field(
        resolver=webhook_resolvers.webhooks,
        description="Webhooks of every source, merged; a failing source is reported apart.",
    )
    webhook: Webhook | None = strawberry.field(resolver=webhook_resolvers.webhook)
    event_types: list[EventType] = strawberry.field(resolver=webhook_resolvers.event_types)
    request: WorkflowRequest | None = strawberry.field(
        resolver=workflow_resolvers.request, description="A WorkflowGen request, by number (with source) or by id."
    )
    action: WorkflowAction | None = strawberry.field(
        resolver=workflow_resolvers.action, description="An action, by id or by requestNumber + number."
    )
    inbound_events: Connection[InboundEvent] = strawberry.field(resolver=event_resolvers.inbound_events)


@strawberry.type(description="Writes. Never retried by the gateway; send Idempotency-Key to make a retry safe.")
class Mutation:
    create_webhook: WebhookPayload = strawberry.mutation(resolver=webhook_resolvers.create_webhook)
    update_webhook: WebhookPayload = strawberry.mutation(resolver=webhook_resolvers.update_webhook)
    delete_webhook: DeleteWebhookPayload = strawberry.mutation(resolver=webhook_resolvers.delete_webhook)
    ping_webhook: PingWebhookPayload = strawberry.mutation(resolver=webhook_resolvers.ping_webhook)
    trigger_custom_event: TriggerCustomEventPayload = strawberry.mutation(
        resolver=custom_events.trigger_custom_event,
        description="Raise an event of your own type on a provider, which delivers it to its webhooks (UiPath).",
    )
    create_request: CreateRequestPayload = strawberry.mutation(resolver=operations.create_request)
    update_request_dataset: UpdateRequestDatasetPayload = strawberry.mutation(
        resolver=operations.update_request_dataset
    )
    cancel_request: CancelRequestPayload = strawberry.mutation(resolver=operations.cancel_request)
    complete_action: ActionPayload = strawberry.mutation(resolver=operations.complete_action)
    cancel_action: ActionPayload = strawberry.mutation(resolver=operations.cancel_action)
    assign_action: ActionPayload = strawberry.mutation(resolver=operations.assign_action)
    cancel_action_assignment: ActionPayload = strawberry.mutation(resolver=operations.cancel_action_assignment)
    start_flow: StartFlowPayload = strawberry.mutation(resolver=operations.start_flow)
    start_flows: StartFlowsPayload = strawberry.mutation(resolver=operations.start_flows)
    notify_agent_connected: ConversationSignalPayload = strawberry.mutation(resolver=operations.notify_agent_connected)
    notify_attended_robot: ConversationSignalPayload = strawberry.mutation(resolver=operations.notify_attended_robot)


@strawberry.type(description="Live events the providers deliver to the gateway.")
class Subscription:
    events = strawberry.subscription(
        resolver=event_resolvers.events,
        description="Events as they arrive; with `after`, first replays what followed that cursor, in order.",
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
        scalar_overrides={JSON: BoundedJSON},  # the same JSON scalar, with a depth bound on input
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
            ScopeGuard,  # after ValidationCache, whose verdict it overrides for a key without the scope
            # The response cache (gateway/cache.py), after ScopeGuard: only when [cache] enabled, no cost otherwise.
            *([ResponseCaching] if settings is not None and settings.cache.enabled else []),
        ],
    )


def print_sdl() -> str:
    return build_schema().as_str() + "\n"
