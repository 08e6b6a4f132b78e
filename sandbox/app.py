"""The combined sandbox: every simulator on one port under its fixed prefix, plus ``/_control``.

``/uipath/odata/Webhooks``, ``/workflowgen/wfgen/hooks/{token}``, ``/workflowgen/wfgen/graphql``,
``/druid/api/...``, ``/dixa/v1/webhooks``, ``/auco/v1.5/ext/company``. See ``sandbox/control.py`` for the switches.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from sandbox import auco, dixa, druid, uipath, workflowgen
from sandbox.control import TARGETS, Control, Fault, SimulatorMiddleware
from sandbox.deliveries import Deliveries

SIMULATORS: dict[str, Any] = {
    "uipath": uipath,
    "workflowgen": workflowgen,
    "druid": druid,
    "dixa": dixa,
    "auco": auco,
}


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=400)


def create_sandbox_app(control: Control | None = None) -> Starlette:
    """Build the sandbox. Each call has fresh seed state; pass ``control`` to share switches with a test."""
    control = control or Control()

    async def set_fault(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _bad("body must be JSON")
        target = body.get("target") if isinstance(body, dict) else None
        if target not in TARGETS:
            return _bad(f"target must be one of {', '.join(TARGETS)}")
        status = body.get("status")
        if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
            return _bad("status must be an HTTP status code")
        rate = body.get("rate", 1.0)
        if not isinstance(rate, int | float) or not 0 <= rate <= 1:
            return _bad("rate must be a number from 0 to 1")
        latency = body.get("latency_ms", 0)
        if not isinstance(latency, int) or latency < 0:
            return _bad("latency_ms must be a non-negative integer")
        raw = body.get("body")
        if raw is not None and not isinstance(raw, str):
            return _bad("body must be a string")
        retry_after = body.get("retry_after")
        if retry_after is not None and not (isinstance(retry_after, int) and retry_after >= 0):
            return _bad("retry_after must be a non-negative integer (seconds)")
        control.faults[target] = Fault(
            latency_ms=latency,
            status=status,
            rate=float(rate),
            hang=bool(body.get("hang", False)),
            body=raw,
            retry_after=retry_after,
        )
        return JSONResponse({"target": target, "fault": vars(control.faults[target])})

    async def clear_faults(request: Request) -> Response:
        target = request.query_params.get("target")
        if target:
            control.faults.pop(target, None)
        else:
            control.faults.clear()
        return Response(status_code=204)

    async def get_calls(request: Request) -> Response:
        return JSONResponse(control.calls_snapshot())

    async def clear_calls(request: Request) -> Response:
        for counter in control.calls.values():
            counter.clear()
        return Response(status_code=204)

    async def move_clock(request: Request) -> Response:
        try:
            body = await request.json()
            advance = float(body["advance_s"])
        except (ValueError, KeyError, TypeError):
            return _bad('body must be {"advance_s": <seconds>}')
        control.clock.offset_s += advance
        return JSONResponse({"offset_s": control.clock.offset_s})

    async def set_options(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _bad("body must be JSON")
        if not isinstance(body, dict):
            return _bad("body must be a JSON object of option names to values")
        control.options.update(body)
        return JSONResponse(control.options)

    async def reset(request: Request) -> Response:
        control.reset()
        return Response(status_code=204)

    routes: list[Any] = [
        Route("/_control/faults", set_fault, methods=["POST"]),
        Route("/_control/faults", clear_faults, methods=["DELETE"]),
        Route("/_control/calls", get_calls, methods=["GET"]),
        Route("/_control/calls", clear_calls, methods=["DELETE"]),
        Route("/_control/clock", move_clock, methods=["POST"]),
        Route("/_control/options", set_options, methods=["POST"]),
        Route("/_control/reset", reset, methods=["POST"]),
    ]
    # Outbound deliveries to the webhooks registered with the simulators; adds /_control/emit and /deliveries.
    deliveries = Deliveries(control)
    control.on_reset(deliveries.reset)
    routes += deliveries.routes()
    for target, module in SIMULATORS.items():
        sim: Starlette = module.create_app(control)
        deliveries.attach(target, sim.state)
        wrapped = SimulatorMiddleware(
            sim, target=target, control=control, routes=sim.routes, error_body=module.error_body
        )
        routes.append(Mount(f"/{target}", app=wrapped))
    app = Starlette(routes=routes)
    app.state.control = control
    app.state.deliveries = deliveries
    return app
