"""The combined sandbox: every simulator on one port under its fixed prefix, plus ``/_control``.

``/uipath/odata/Webhooks``, ``/workflowgen/wfgen/hooks/{token}``, ``/workflowgen/wfgen/graphql``,
``/druid/api/...``, ``/dixa/v1/webhooks``, ``/auco/v1.5/ext/company``. See ``sandbox/control.py`` for the switches
and ``sandbox/kit.py`` for what every simulator is built from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Final

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from sandbox import auco, dixa, druid, uipath, workflowgen
from sandbox.control import Control, SimulatorMiddleware, control_routes, hangs_released_on_exit_signals
from sandbox.deliveries import Deliveries
from sandbox.kit import Simulator

SIMULATORS: Final[dict[str, Simulator]] = {
    "uipath": uipath,
    "workflowgen": workflowgen,
    "druid": druid,
    "dixa": dixa,
    "auco": auco,
}


def create_sandbox_app(control: Control | None = None) -> Starlette:
    """Build the sandbox. Each call has fresh seed state; pass ``control`` to share switches with a test."""
    control = control or Control()
    routes: list[BaseRoute] = control_routes(control)
    # Outbound deliveries to the webhooks registered with the simulators; adds /_control/emit and /deliveries.
    deliveries = Deliveries(control)
    control.on_reset(deliveries.reset)
    routes += deliveries.routes()
    for target, simulator in SIMULATORS.items():
        sim = simulator.create_app(control)
        deliveries.attach(target, sim.state)
        wrapped = SimulatorMiddleware(
            sim, target=target, control=control, routes=sim.routes, error_body=simulator.error_body
        )
        routes.append(Mount(f"/{target}", app=wrapped))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        with hangs_released_on_exit_signals(control):
            yield

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.control = control
    app.state.deliveries = deliveries
    return app
