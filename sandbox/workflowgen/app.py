"""The WorkflowGen simulator's app: the incoming webhook and the GraphQL API over one state."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from sandbox.control import Control
from sandbox.kit import simulator_app
from sandbox.workflowgen.graphql import graphql_endpoint
from sandbox.workflowgen.hooks import hook_endpoint
from sandbox.workflowgen.state import WorkflowGenState


def create_app(control: Control) -> Starlette:
    """A fresh WorkflowGen simulator with seeded state, restored on ``control.reset()``."""
    state = WorkflowGenState(control.clock)
    routes = [
        Route("/wfgen/hooks/{token}", hook_endpoint(state, control), methods=["POST"]),
        Route("/wfgen/graphql", graphql_endpoint(state), methods=["POST"]),
    ]
    # The state is at app.state.workflowgen for tests and the outbound deliveries; the HTTP API stays the contract.
    return simulator_app("workflowgen", state, control, routes)
