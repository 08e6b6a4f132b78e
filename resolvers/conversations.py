"""DRUID mutations: start conversation flows, and pass two signals to a bot (providers.md §3).

The adapter checks a StartFlow body before any call (``channelId``; exactly one of ``targetUserMasterId``,
``targetConversationId``, ``targetTenantUserId``; strings only) and answers ``BAD_USER_INPUT`` naming the field, as
``items[2].channelId`` for one item of a bulk start, in which case nothing starts. DRUID's token (permanent, or from
ExternalAuthenticate, shared by concurrent calls and refreshed) is the adapter's business too. Each payload's
``result`` is DRUID's own ``result`` JSON.
"""

from __future__ import annotations

from typing import Any, Final

from gateway.capabilities import require
from gateway.context import Info
from gateway.domain.ports import Conversations
from gateway.domain.records import Capability
from resolvers.common import choose_source
from resolvers.mutations import mutation
from schema.inputs import ConversationSignalInput, StartFlowInput, StartFlowItemInput, StartFlowsInput
from schema.payloads import ConversationSignalPayload, StartFlowPayload, StartFlowsPayload

#: StartFlow's body [doc]: Python name of the input field → DRUID's name.
START_FLOW_FIELDS: Final[dict[str, str]] = {
    "channel_id": "channelId",
    "target_user_master_id": "targetUserMasterId",
    "target_conversation_id": "targetConversationId",
    "target_tenant_user_id": "targetTenantUserId",
    "entity_context_data": "entityContextData",
    "flow_utterance": "flowUtterance",
    "flow_id": "flowId",
    "conversation_language": "conversationLanguage",
}


def _conversations(info: Info, source: str | None) -> Conversations:
    return require(choose_source(info, source, Capability.CONVERSATIONS), Conversations)


def flow_body(value: StartFlowInput | StartFlowItemInput) -> dict[str, Any]:
    """A StartFlow body in DRUID's names; fields left null are not sent."""
    body = {wire: getattr(value, attr) for attr, wire in START_FLOW_FIELDS.items()}
    return {key: item for key, item in body.items() if item is not None}


@mutation
async def start_flow(info: Info, input: StartFlowInput) -> StartFlowPayload:
    """Start one flow on a bot for exactly one target (user master id, conversation id or tenant user id)."""
    result = await _conversations(info, input.source).start_flow(input.bot_id, flow_body(input))
    return StartFlowPayload(result=result, client_mutation_id=input.client_mutation_id)


@mutation
async def start_flows(info: Info, input: StartFlowsInput) -> StartFlowsPayload:
    """Start several flows in one StartFlowBulk call; one bad item starts none."""
    items = [flow_body(item) for item in input.items]
    result = await _conversations(info, input.source).start_flows(input.bot_id, items)
    return StartFlowsPayload(result=result, client_mutation_id=input.client_mutation_id)


@mutation
async def notify_agent_connected(info: Info, input: ConversationSignalInput) -> ConversationSignalPayload:
    """Tell a bot that a Mediatel agent connected (DRUID's MediatelAgentConnected); ``data`` is sent as is."""
    result = await _conversations(info, input.source).signal(input.bot_id, "MediatelAgentConnected", input.data)
    return ConversationSignalPayload(result=result, client_mutation_id=input.client_mutation_id)


@mutation
async def notify_attended_robot(info: Info, input: ConversationSignalInput) -> ConversationSignalPayload:
    """Tell a bot that an attended UiPath robot answered (DRUID's UiPathAttended); ``data`` is sent as is."""
    result = await _conversations(info, input.source).signal(input.bot_id, "UiPathAttended", input.data)
    return ConversationSignalPayload(result=result, client_mutation_id=input.client_mutation_id)
