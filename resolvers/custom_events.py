"""``triggerCustomEvent``: raise an event of the caller's own type on a provider that has such an endpoint (UiPath's
``UiPath.Server.Configuration.OData.TriggerCustom``); the provider delivers it to its webhooks."""

from __future__ import annotations

from typing import Any

from gateway.capabilities import require
from gateway.context import Info
from gateway.domain.ports import CustomEvents
from gateway.domain.records import Capability
from gateway.errors import BadUserInput
from resolvers.common import choose_source
from resolvers.mutations import mutation
from schema.inputs import TriggerCustomEventInput
from schema.payloads import TriggerCustomEventPayload

#: Orchestrator keeps event types short (WebhookEventDto.EventType is at most 50 characters [doc]).
MAX_EVENT_TYPE = 50


@mutation
async def trigger_custom_event(info: Info, input: TriggerCustomEventInput) -> TriggerCustomEventPayload:
    event_type = input.event_type.strip()
    if not event_type or len(event_type) > MAX_EVENT_TYPE:
        raise BadUserInput(f"eventType must be 1 to {MAX_EVENT_TYPE} characters", field="eventType")
    data: Any = {} if input.data is None else input.data
    if not isinstance(data, dict):
        raise BadUserInput("data must be a JSON object", field="data")
    adapter = choose_source(info, input.source, Capability.CUSTOM_EVENTS)
    event = await require(adapter, CustomEvents).trigger_custom_event(event_type, data)
    return TriggerCustomEventPayload(
        type=event.type,
        event_id=event.event_id,
        timestamp=event.timestamp,
        event_type=event.event_type,
        data=event.data,
        client_mutation_id=input.client_mutation_id,
    )
