"""WorkflowGen and DRUID mutations, as ``schema/schema.py`` wires them: ``resolvers/workflow_ops.py`` (requests and
actions) and ``resolvers/conversations.py`` (conversation flows and signals)."""

from __future__ import annotations

from resolvers.conversations import notify_agent_connected, notify_attended_robot, start_flow, start_flows
from resolvers.workflow_ops import (
    assign_action,
    cancel_action,
    cancel_action_assignment,
    cancel_request,
    complete_action,
    create_request,
    update_request_dataset,
)

__all__ = [
    "assign_action",
    "cancel_action",
    "cancel_action_assignment",
    "cancel_request",
    "complete_action",
    "create_request",
    "notify_agent_connected",
    "notify_attended_robot",
    "start_flow",
    "start_flows",
    "update_request_dataset",
]
