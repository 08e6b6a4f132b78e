"""Simulator of Auco's company API (the webhook list lives on the company), mounted under ``/auco``.

What it serves (providers.md §5):

- ``GET /v1.5/ext/company``: the company, with ``Authorization: puk_sandbox`` (the public key, as documented) or
  ``prk_sandbox`` (the sandbox also lets the private key read: it is the stronger key, and a client holding only the
  private key should not need a second credential to read back what it wrote).
- ``PUT /v1.5/ext/company``: with ``Authorization: prk_sandbox`` only. Every field is optional; ``webhooks`` replaces
  the whole list and must contain the ``default`` webhook, ``uxOptions`` is merged key by key, ``name`` and ``image``
  are replaced. The request is validated completely before anything is written, so a refused PUT changes nothing.
  Answers 200 with the company as GET returns it.

Any other key, or none, is 401 ``{"message": "Invalid or missing authentication"}``.

Options: ``POST /_control/options {"auco.empty_company": true}`` empties the company's webhook list at the
simulator's next request (then the option is spent), as a company that never configured a webhook reads: a
``webhooks`` list of none [stand-in: how such a company reads is not published; the legacy ``webhook`` is ``""``].
Its first PUT must then hold the ``default`` webhook, like every other [doc].

Seed: the company of the "Query company" example of Auco's API docs, with its ``default`` webhook plus a second
webhook ``Billing`` as in the "Creating multiple webhooks" example.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.control import Control
from sandbox.kit import (
    Handler,
    SimulatorError,
    SimulatorState,
    authorization_is,
    endpoint,
    json_response,
    parse_json,
    simulator_app,
)

PUBLIC_KEY = "puk_sandbox"
PRIVATE_KEY = "prk_sandbox"

UNAUTHENTICATED = "Invalid or missing authentication"  # [doc]
MISSING_DEFAULT = "Missing the 'default' webhook"  # [doc]
EMPTY_OPTION = "auco.empty_company"

_HEX_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_WHITE = frozenset({"#fff", "#ffffff"})


def _seed_company() -> dict[str, Any]:
    return {
        # id, name, uxOptions, image, webhook and webhookHeader are the "Query company" response example [doc].
        "id": "61ba073970df523d9d232a27",
        "name": "Auco",
        "webhooks": [
            {
                # Id, description and url of the documented example; the header is the sandbox's delivery header
                # (CONTRACT.md) instead of the example's placeholder "Authorization: Bearer ...", so that deliveries
                # the sandbox sends to this webhook carry what the gateway is configured to check.
                "id": "default",
                "description": "Webhook principal",
                "url": "https://miempresa.com/webhooks/auco",
                "header": {"key": "X-Auco-Token", "value": "sandbox-auco-token"},
            },
            {
                # The docs' multi-webhook example names a "Billing" webhook but its values are not legible to us:
                # description, url and header are our choice.
                "id": "Billing",
                "description": "Billing notifications",
                "url": "https://miempresa.com/webhooks/auco/billing",
                "header": {"key": "X-Auco-Token", "value": "sandbox-auco-token"},
            },
        ],
        "uxOptions": {"primaryColor": "#021C30", "alternateColor": "#A557F2"},
        "image": "https://static.micontrato.co/companies/61ba073970df523d9d232a27/logo.png",
        "webhook": "",
        "webhookHeader": {},
    }


def error_body(status: int) -> Any:
    """Auco's error body for an injected fault of ``status``."""
    # stand-in: only the 401 text is documented; other statuses carry the HTTP reason phrase in the same shape.
    return {"message": UNAUTHENTICATED if status == 401 else HTTPStatus(status).phrase}


class BadRequest(SimulatorError):
    """A PUT Auco refuses with 400 and this message."""

    status = 400


def _validate_webhooks(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise BadRequest("'webhooks' must be an array")  # stand-in message
    webhooks: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise BadRequest(f"Webhook #{position} must be an object")  # stand-in message
        hook_id = item.get("id")
        if not isinstance(hook_id, str) or not hook_id.strip():
            raise BadRequest(f"Missing the 'id' of webhook #{position}")  # stand-in message
        description = item.get("description")
        if not isinstance(description, str) or not description.strip():
            raise BadRequest(f"Missing the 'description' of webhook '{hook_id}'")  # stand-in message
        if hook_id in seen:
            raise BadRequest(f"Duplicate webhook id '{hook_id}'")  # stand-in: the docs do not say.
        seen.add(hook_id)
        url = item.get("url", "")
        if not isinstance(url, str):
            raise BadRequest(f"The 'url' of webhook '{hook_id}' must be a string")  # stand-in message
        webhooks.append({"id": hook_id, "description": description, "url": url, "header": _header(item, hook_id)})
    # Checked last, so that an item error is reported first; an empty list is missing the default too [doc].
    if "default" not in seen:
        raise BadRequest(MISSING_DEFAULT)
    return webhooks


def _header(item: dict[str, Any], hook_id: str) -> dict[str, str]:
    header = item.get("header")
    if header is None or header == {}:
        # An empty header is how GET shows "no header", so a read-modify-write of the list must be accepted as read.
        # stand-in: how a webhook without a header reads back is not documented; {} mirrors the legacy webhookHeader.
        return {}
    key, value = (header.get("key"), header.get("value")) if isinstance(header, dict) else (None, None)
    # When a header is sent, both key and value are required [doc: "Conditional"].
    if not (isinstance(key, str) and key and isinstance(value, str) and value):
        raise BadRequest(f"The header of webhook '{hook_id}' needs a 'key' and a 'value'")  # stand-in message
    return {"key": key, "value": value}


def _validate_ux_options(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise BadRequest("'uxOptions' must be an object")  # stand-in message
    options: dict[str, str] = {}
    for key in ("primaryColor", "alternateColor"):
        if key not in value:
            continue
        color = value[key]
        # Colours are #RGB or #RRGGBB, and the primary one cannot be white [doc]; messages are stand-ins.
        if not isinstance(color, str) or not _HEX_COLOR.fullmatch(color):
            raise BadRequest(f"'{key}' must be a hexadecimal color (#RGB or #RRGGBB)")
        if key == "primaryColor" and color.lower() in _WHITE:
            raise BadRequest("'primaryColor' cannot be white")
        options[key] = color
    return options


def _updated_company(company: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The company after ``body`` is applied; raises BadRequest before anything is changed."""
    updated = copy.deepcopy(company)
    for key in ("name", "image"):
        if key in body:
            if not isinstance(body[key], str):
                raise BadRequest(f"'{key}' must be a string")  # stand-in message
            updated[key] = body[key]
    if "uxOptions" in body:
        updated["uxOptions"] = {**updated["uxOptions"], **_validate_ux_options(body["uxOptions"])}
    if "webhooks" in body:
        updated["webhooks"] = _validate_webhooks(body["webhooks"])
    return updated


@dataclass
class AucoState(SimulatorState):
    """The one company of the API key, with its webhook list."""

    company: dict[str, Any] = field(default_factory=dict)

    def reset(self) -> None:
        self.company = _seed_company()


class AucoSimulator:
    """Handlers over one :class:`AucoState`."""

    def __init__(self, control: Control) -> None:
        self.control = control
        self.state = AucoState()
        self.state.reset()

    @staticmethod
    def requiring(*keys: str) -> Callable[[Handler], Handler]:
        """Only requests whose ``Authorization`` is exactly one of ``keys`` (no scheme prefix [doc]) get through."""

        def authorize(request: Request) -> None:
            if not authorization_is(request, *keys):
                raise SimulatorError(UNAUTHENTICATED, status=401)

        return lambda handler: endpoint(handler, authorize=authorize)

    def _emptied_if_asked(self) -> None:
        if self.control.options.pop(EMPTY_OPTION, False):
            self.state.company["webhooks"] = []
            self.state.company["webhook"] = ""
            self.state.company["webhookHeader"] = {}

    async def get_company(self, request: Request) -> Response:
        self._emptied_if_asked()
        return json_response(self.state.company)

    async def put_company(self, request: Request) -> Response:
        body = parse_json(await request.body(), lambda: BadRequest("The request body is not valid JSON"))  # stand-in
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object")  # stand-in message
        self._emptied_if_asked()
        updated = _updated_company(self.state.company, body)
        # One assignment, no await between reading the current company and writing the new one: a PUT is atomic.
        self.state.company = updated
        return json_response(self.state.company)


def create_app(control: Control) -> Starlette:
    """A fresh Auco simulator with its own seed company, reset by ``control.reset()``."""
    sim = AucoSimulator(control)
    read = AucoSimulator.requiring(PUBLIC_KEY, PRIVATE_KEY)
    write = AucoSimulator.requiring(PRIVATE_KEY)
    routes = [
        Route("/v1.5/ext/company", read(sim.get_company), methods=["GET"]),
        Route("/v1.5/ext/company", write(sim.put_company), methods=["PUT"]),
    ]
    return simulator_app("auco", sim.state, control, routes, route_error=error_body)
