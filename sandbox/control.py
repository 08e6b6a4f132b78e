"""Switches shared by every simulator: call counts, fault injection and a movable clock.

Each simulator is a Starlette app wrapped in :class:`SimulatorMiddleware`, which counts every request under
``"<METHOD> <route template>"`` (templates, not raw paths, so that a WorkflowGen hook token never shows up in
``/_control/calls``) and applies the fault set for that simulator before the request reaches it.

The control endpoints (:func:`control_routes`, mounted by the combined sandbox app ``sandbox/app.py``):

- ``POST /_control/faults`` ``{"target": "uipath", "latency_ms": 50, "status": 503, "rate": 0.5, "hang": false}``
  (``"body": "not json"`` answers that raw body instead, with ``status`` or 200; ``"retry_after": 2`` adds
  ``Retry-After: 2`` to a ``status`` answer; ``"hang": true`` holds each request for an hour, or until the sandbox
  is told to stop: then it answers 503, so that shutting down never waits for a hung request)
- ``DELETE /_control/faults`` (all, or ``?target=uipath``)
- ``GET /_control/calls`` / ``DELETE /_control/calls``
- ``POST /_control/clock`` ``{"advance_s": 1801}`` moves the simulators' clock (DRUID token expiry)
- ``POST /_control/options`` ``{"uipath.page_size": 5}`` sets simulator options (documented per simulator)
- ``POST /_control/reset`` puts every simulator back to its seed state and clears faults, calls, clock and options
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.kit import json_bytes

_CONVERTOR = re.compile(r"\{(\w+):\w+\}")

#: How long a ``hang`` fault holds a request unless the sandbox is stopped first.
HANG_S = 3600.0

TARGETS = ("uipath", "workflowgen", "druid", "dixa", "auco")


@dataclass
class Fault:
    """What a simulator does wrong, per request, until cleared."""

    latency_ms: int = 0
    status: int | None = None
    rate: float = 1.0
    hang: bool = False
    body: str | None = None  # raw body to answer with instead (e.g. "not json"), with ``status`` or 200
    retry_after: int | None = None  # seconds sent as ``Retry-After`` with a ``status`` answer (429, 503)


@dataclass
class Clock:
    """Wall clock plus an offset that tests move forward (``POST /_control/clock``)."""

    offset_s: float = 0.0

    def now(self) -> float:
        return time.time() + self.offset_s


@dataclass
class Control:
    """State of the switches, shared by every simulator of one sandbox."""

    faults: dict[str, Fault] = field(default_factory=dict)
    calls: dict[str, Counter[str]] = field(default_factory=lambda: {t: Counter() for t in TARGETS})
    clock: Clock = field(default_factory=Clock)
    rng: random.Random = field(default_factory=lambda: random.Random(1234))
    options: dict[str, Any] = field(default_factory=dict)
    _resetters: list[Callable[[], None]] = field(default_factory=list)
    _hung: set[asyncio.Future[None]] = field(default_factory=set)

    def on_reset(self, resetter: Callable[[], None]) -> None:
        """Register a callback that puts one simulator's state back to its seed."""
        self._resetters.append(resetter)

    def reset(self) -> None:
        self.faults.clear()
        for counter in self.calls.values():
            counter.clear()
        self.clock.offset_s = 0.0
        self.options.clear()
        self.rng.seed(1234)
        for resetter in self._resetters:
            resetter()

    def calls_snapshot(self) -> dict[str, dict[str, int]]:
        return {target: dict(counter) for target, counter in self.calls.items()}

    async def hang(self, timeout_s: float = HANG_S) -> bool:
        """Hold the caller for ``timeout_s``, or until :meth:`release_hangs`: True when released."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._hung.add(waiter)
        try:
            await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return False
        finally:
            self._hung.discard(waiter)
        return True

    def release_hangs(self) -> None:
        """End every :meth:`hang` now (called in the event loop of the requests it holds)."""
        for waiter in self._hung:
            if not waiter.done():
                waiter.set_result(None)


@contextmanager
def hangs_released_on_exit_signals(control: Control) -> Iterator[None]:
    """While the sandbox serves from the main thread (``hookgate sandbox``), SIGINT and SIGTERM first release the
    requests a ``hang`` fault holds, then go on to the handler they had (uvicorn's, which stops the server).

    uvicorn's graceful shutdown waits for every request in progress; without this, a hung one kept the process
    alive for an hour after SIGTERM. In another thread (a :class:`~sandbox.server.ThreadedServer`) nothing is
    installed: signals reach only the main thread, and whoever owns the thread stops the server."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    chained: dict[int, Callable[[int, FrameType | None], Any]] = {}

    def release_then_chain(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(control.release_hangs)
        chained[signum](signum, frame)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if callable(previous):  # not SIG_DFL, SIG_IGN or a handler set outside Python: leave those alone
            chained[sig] = previous
            signal.signal(sig, release_then_chain)
    try:
        yield
    finally:
        for signum, handler in chained.items():
            if signal.getsignal(signum) is release_then_chain:
                signal.signal(signum, handler)


class SimulatorMiddleware:
    """Counts calls and injects faults for one simulator mounted under ``/<target>``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        target: str,
        control: Control,
        routes: list[BaseRoute],
        error_body: Callable[[int], Any],
    ) -> None:
        self.app = app
        self.target = target
        self.control = control
        self.routes = routes
        self.error_body = error_body

    def _template(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                # "/odata/Webhooks({id:int})" → "/odata/Webhooks({id})": the convertor is an implementation detail.
                return _CONVERTOR.sub(r"{\1}", str(getattr(route, "path", "?")))
        return "<unmatched>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.control.calls[self.target][f"{scope['method']} {self._template(scope)}"] += 1
        fault = self.control.faults.get(self.target)
        if fault is not None:
            if fault.latency_ms:
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.hang and await self.control.hang():
                # Released: the sandbox is stopping. Answer, so that the server's graceful shutdown can finish.
                await _send_raw(send, 503, json_bytes(self.error_body(503)), b"application/json")
                return
            if fault.body is not None and self.control.rng.random() < fault.rate:
                await _send_raw(send, fault.status or 200, fault.body.encode(), b"application/json")
                return
            if fault.status is not None and self.control.rng.random() < fault.rate:
                body = json_bytes(self.error_body(fault.status))
                await send(
                    {
                        "type": "http.response.start",
                        "status": fault.status,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            *(
                                [(b"retry-after", str(fault.retry_after).encode())]
                                if fault.retry_after is not None
                                else []
                            ),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


async def _send_raw(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"message": message}, status_code=400)


def control_routes(control: Control) -> list[BaseRoute]:
    """The ``/_control`` endpoints over ``control`` (see the module docstring)."""

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

    return [
        Route("/_control/faults", set_fault, methods=["POST"]),
        Route("/_control/faults", clear_faults, methods=["DELETE"]),
        Route("/_control/calls", get_calls, methods=["GET"]),
        Route("/_control/calls", clear_calls, methods=["DELETE"]),
        Route("/_control/clock", move_clock, methods=["POST"]),
        Route("/_control/options", set_options, methods=["POST"]),
        Route("/_control/reset", reset, methods=["POST"]),
    ]
