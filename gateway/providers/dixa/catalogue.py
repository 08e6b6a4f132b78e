"""Dixa's event catalogue: Dixa has no event-type endpoint, so the 32 documented events are listed here."""

from __future__ import annotations

#: The 32 events a subscription may name [doc], in the documented order.
EVENTS: tuple[str, ...] = (
    "ConversationCreated",
    "ConversationPending",
    "ConversationOpen",
    "ConversationClosed",
    "ConversationAbandoned",
    "ConversationEnqueued",
    "ConversationAssigned",
    "ConversationUnassigned",
    "ConversationTransferred",
    "ConversationPendingExpired",
    "ConversationMessageAdded",
    "ConversationNoteAdded",
    "ConversationTagAdded",
    "ConversationTagRemoved",
    "ConversationRated",
    "ConversationCustomAttributeUpdated",
    "ConversationEndUserReplaced",
    "ConversationMessageDeliveryDelivered",
    "ConversationMessageDeliveryInfo",
    "ConversationMessageDeliveryFailed",
    "ConversationMessageDeliverySeen",
    "ConversationMessageDeliverySent",
    "ConversationMessageDeliverySpamComplaint",
    "SLAEvaluationPending",
    "SLAEvaluationAchieved",
    "SLAEvaluationBreached",
    "SLAEvaluationVoided",
    "AgentBannedEnduser",
    "AgentUnbannedEnduser",
    "AgentBannedIp",
    "AgentUnbannedIp",
    "TypingStarted",
)
#: An event's group is its leading word. SLAEvaluation is one word here, so it is matched before anything else.
GROUPS: tuple[str, ...] = ("SLAEvaluation", "Conversation", "Agent", "Typing")


def event_group(event: str) -> str:
    return next((group for group in GROUPS if event.startswith(group)), event)


#: (name, group) of each event, in the documented order: what ``eventTypes`` answers for a Dixa source.
CATALOGUE: tuple[tuple[str, str], ...] = tuple((event, event_group(event)) for event in EVENTS)
