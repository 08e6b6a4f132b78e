"""Simulator of DRUID: the portal's ExternalAuthenticate and the bot conversation endpoints.

Wire formats: providers.md §3. DRUID runs on ASP.NET Boilerplate (ABP), so every answer is the ABP envelope
``{"result", "targetUrl", "success", "error", "unAuthorizedRequest", "__abp"}``. Routes, relative to ``/druid``:

- ``POST /api/services/app/WebAPIService/ExternalAuthenticate`` ``{"userNameOrEmailAddress", "password", "tenant"}``:
  only ``sandbox`` / ``sandbox`` / ``Documentation`` succeeds; the access token lives 1800 s on the control clock. A
  refused login is 400 with ``error`` a string naming the bad tenant, user or password [doc: a string; the wording
  is ours, stand-in], never the password itself.
- ``POST /api/Druid/{botId}/StartFlow``, ``/StartFlowBulk`` [doc], ``/MediatelAgentConnected``, ``/UiPathAttended``
  [stand-in: named by the document, paths and bodies ours]: ``Authorization: Bearer <token>``, either an issued
  access token or the permanent token ``sandbox-druid-token``. Only bot ``bot-1`` exists.
- Any other path is 404, which DRUID documents as "the syntax of the call is incorrect" [doc]; the body is the ABP
  envelope with that reason as ``error`` [stand-in].

Option (``POST /_control/options``): ``druid.permanent_token_revoked: true`` makes the permanent token answer 401,
as a revoked one does.

:class:`DruidState` holds issued tokens, started flows and received signals; its methods are the only writers and
call :meth:`DruidState.emit` (from the kit), so that notifications (a flow started) can be hooked in later.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.control import Clock, Control
from sandbox.kit import (
    Handler,
    SimulatorError,
    SimulatorState,
    bearer_token,
    endpoint,
    json_response,
    parse_json,
    same_secret,
    simulator_app,
)

USERNAME = "sandbox"
PASSWORD = "sandbox"
TENANT = "Documentation"
PERMANENT_TOKEN = "sandbox-druid-token"  # stand-in: a permanent token from config; real ones are issued by DRUID
TOKEN_LIFETIME_S = 1800  # [doc] the access token is valid 1800 s
BOTS = ("bot-1",)
REVOKED_OPTION = "druid.permanent_token_revoked"

TARGET_KEYS = ("targetUserMasterId", "targetConversationId", "targetTenantUserId")
START_FLOW_KEYS = ("channelId", *TARGET_KEYS, "entityContextData", "flowUtterance", "flowId", "conversationLanguage")


# ---------------------------------------------------------------------------------------------------------------
# The ABP envelope
# ---------------------------------------------------------------------------------------------------------------


class AbpError(SimulatorError):
    """An ABP error answer. ABP maps validation to 400, authorization to 401, missing entities to 404 and
    user-friendly exceptions (failed login, unknown tenant) to 500 [likely]."""

    def __init__(
        self,
        status: int,
        message: str,
        details: str | None = None,
        validation_errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.details = details
        self.validation_errors = validation_errors

    def body(self) -> Any:
        return error_envelope(self.status, self.message, self.details, self.validation_errors)


def envelope(result: Any) -> dict[str, Any]:
    """A successful ABP answer [doc]."""
    return {
        "result": result,
        "targetUrl": None,
        "success": True,
        "error": None,
        "unAuthorizedRequest": False,
        "__abp": True,
    }


def error_envelope(
    status: int, message: str, details: str | None = None, validation_errors: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A failed ABP answer: ``error`` is ABP's ErrorInfo, whose ``code`` is 0 unless a module sets one [likely]."""
    return {
        "result": None,
        "targetUrl": None,
        "success": False,
        "error": {"code": 0, "message": message, "details": details, "validationErrors": validation_errors},
        "unAuthorizedRequest": status == 401,
        "__abp": True,
    }


#: [doc] what a 404 means on DRUID.
SYNTAX_INCORRECT = "The syntax of the call is incorrect"


def string_error(status: int, message: str) -> SimulatorError:
    """An ABP envelope whose ``error`` is a plain string, as the document shows DRUID's login refusals [doc]."""

    class _StringError(SimulatorError):
        def body(self) -> Any:
            return {**error_envelope(status, message), "error": message}

    return _StringError(message, status=status)


def route_error(status: int) -> Any:
    """The answer to a path no route matches (404 [doc: "the syntax of the call is incorrect"]) or a wrong method."""
    message = SYNTAX_INCORRECT if status == 404 else "The HTTP method is not allowed for this call"
    return {**error_envelope(status, message), "error": message}


def error_body(status: int) -> Any:
    """DRUID's error body for a status injected by a fault."""
    if status == 401:
        return error_envelope(status, "Current user did not login to the application!")
    return error_envelope(status, f"simulated failure {status}")


def validation_error(errors: list[dict[str, Any]]) -> AbpError:
    """ABP's model-validation answer [likely]: 400, a fixed message, one entry per failing member."""
    lines = "".join(f" - {e['message']}\r\n" for e in errors)
    return AbpError(
        400,
        "Your request is not valid!",
        f"The following errors were detected during validation.\r\n{lines}",
        errors,
    )


def _invalid(message: str, member: str) -> dict[str, Any]:
    return {"message": message, "members": [member]}


def unauthorized() -> AbpError:
    """ABP's answer to a missing, unknown, expired or revoked bearer token [likely]."""
    return AbpError(401, "Current user did not login to the application!")


# ---------------------------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartedFlow:
    """One flow DRUID was asked to start."""

    conversation_id: str
    bot_id: str
    channel_id: str
    target_kind: str  # which of the three target keys was given
    target_id: str
    started_at: float
    flow_id: str | None = None
    flow_utterance: str | None = None
    entity_context_data: str | None = None
    conversation_language: str | None = None


@dataclass(frozen=True)
class Signal:
    """A MediatelAgentConnected or UiPathAttended notification, body kept as received."""

    bot_id: str
    kind: str
    body: Any
    received_at: float


@dataclass
class DruidState(SimulatorState):
    """Issued access tokens (token to expiry), started flows and received signals."""

    clock: Clock
    tokens: dict[str, float] = field(default_factory=dict)
    flows: list[StartedFlow] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)

    def reset(self) -> None:
        """Back to the seed: no tokens issued, no flows started. Listeners survive: they are wiring."""
        self.tokens.clear()
        self.flows.clear()
        self.signals.clear()

    def authenticate(self, user: str, password: str, tenant: str | None) -> tuple[str, str]:
        """Issue an access token (and its encrypted twin) for the sandbox user, or fail as ABP's login does."""
        # [doc] a refused login answers a string naming what is wrong: the tenant, the user or the password (never
        # the password itself). 400 and the wording are stand-ins.
        if not tenant or tenant.lower() != TENANT.lower():
            raise string_error(400, f"Invalid tenant: '{tenant or ''}'")
        if not same_secret(user, USERNAME):
            raise string_error(400, f"Invalid user name: '{user}'")
        if not same_secret(password, PASSWORD):
            raise string_error(400, f"Invalid password for user '{user}'")
        # stand-in: real tokens are JWTs and the encrypted one an AES form of it; ours are opaque random strings.
        token = secrets.token_urlsafe(32)
        self.tokens[token] = self.clock.now() + TOKEN_LIFETIME_S
        self.emit("token.issued")
        return token, secrets.token_urlsafe(48)

    def check_token(self, token: str, permanent_revoked: bool) -> None:
        if same_secret(token, PERMANENT_TOKEN):
            if permanent_revoked:
                raise unauthorized()
            return
        expires_at = self.tokens.get(token)
        if expires_at is None or self.clock.now() >= expires_at:
            raise unauthorized()

    def start_flow(self, bot_id: str, body: dict[str, Any]) -> StartedFlow:
        """Record a flow start from an already validated StartFlow body."""
        target_kind = next(key for key in TARGET_KEYS if body.get(key) not in (None, ""))
        target_id = str(body[target_kind])
        # An existing conversation keeps its id; otherwise DRUID opens a new one.
        conversation_id = target_id if target_kind == "targetConversationId" else str(uuid.uuid4())
        flow = StartedFlow(
            conversation_id=conversation_id,
            bot_id=bot_id,
            channel_id=str(body["channelId"]),
            target_kind=target_kind,
            target_id=target_id,
            started_at=self.clock.now(),
            flow_id=body.get("flowId"),
            flow_utterance=body.get("flowUtterance"),
            entity_context_data=body.get("entityContextData"),
            conversation_language=body.get("conversationLanguage"),
        )
        self.flows.append(flow)
        self.emit("flow.started", botId=bot_id, conversationId=conversation_id, channelId=flow.channel_id)
        return flow

    def record_signal(self, bot_id: str, kind: str, body: Any) -> Signal:
        signal = Signal(bot_id=bot_id, kind=kind, body=body, received_at=self.clock.now())
        self.signals.append(signal)
        self.emit("signal.received", botId=bot_id, kind=kind)
        return signal


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------


def start_flow_errors(body: Any, prefix: str = "") -> list[dict[str, Any]]:
    """Validation errors of one StartFlow body [doc: all strings, channelId and one target id required].

    Unknown members are ignored, as ASP.NET's model binder does.
    """
    if not isinstance(body, dict):
        return [_invalid(f"The {prefix or 'request body'} must be a JSON object.", prefix or "input")]
    errors = [
        _invalid(f"The field {prefix}{key} must be a string.", f"{prefix}{key}")
        for key in START_FLOW_KEYS
        if body.get(key) is not None and not isinstance(body[key], str)
    ]
    channel = body.get("channelId")
    if channel is None or channel == "":
        errors.append(_invalid(f"The {prefix}channelId field is required.", f"{prefix}channelId"))
    targets = [key for key in TARGET_KEYS if body.get(key) not in (None, "")]
    if len(targets) != 1:
        # stand-in: the wording is ours; the rule (exactly one of the three) is documented.
        errors.append(
            {
                "message": f"Exactly one of {prefix}targetUserMasterId, {prefix}targetConversationId and "
                f"{prefix}targetTenantUserId is required (got {len(targets)}).",
                "members": [f"{prefix}{key}" for key in TARGET_KEYS],
            }
        )
    return errors


def flow_result(flow: StartedFlow) -> dict[str, Any]:
    # stand-in: StartFlow's result is not published.
    return {"conversationId": flow.conversation_id, "flowStarted": True}


# ---------------------------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------------------------


async def _body(request: Request) -> Any:
    return parse_json(
        await request.body(), lambda: validation_error([_invalid("The request body is not valid JSON.", "input")])
    )


def create_app(control: Control) -> Starlette:
    """A fresh DRUID simulator with seeded state, restored on ``control.reset()``."""
    state = DruidState(control.clock)

    def authorize(request: Request) -> str:
        """Check the bearer token, then the bot (ABP authorizes before it looks anything up)."""
        token = bearer_token(request)
        if token is None:
            raise unauthorized()
        state.check_token(token, bool(control.options.get(REVOKED_OPTION, False)))
        bot_id = str(request.path_params["botId"])
        if bot_id not in BOTS:
            # ABP's EntityNotFoundException wording [likely]; the entity type name "Bot" is a stand-in.
            raise AbpError(404, f"There is no such an entity. Entity type: Bot, id: {bot_id}")
        return bot_id

    async def external_authenticate(request: Request) -> Response:
        body = await _body(request)
        if not isinstance(body, dict):
            raise validation_error([_invalid("The request body must be a JSON object.", "input")])
        errors = []
        for key in ("userNameOrEmailAddress", "password"):
            value = body.get(key)
            if value is None or value == "":
                errors.append(_invalid(f"The {key} field is required.", key))
            elif not isinstance(value, str):
                errors.append(_invalid(f"The field {key} must be a string.", key))
        tenant = body.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            errors.append(_invalid("The field tenant must be a string.", "tenant"))
        if errors:
            raise validation_error(errors)
        token, encrypted = state.authenticate(body["userNameOrEmailAddress"], body["password"], tenant)
        # [doc] accessToken and encryptedAccessToken; expireInSeconds [likely] as ABP's AuthenticateResultModel has it.
        result = {"accessToken": token, "encryptedAccessToken": encrypted, "expireInSeconds": TOKEN_LIFETIME_S}
        return json_response(envelope(result))

    async def start_flow(request: Request) -> Response:
        bot_id = authorize(request)
        body = await _body(request)
        errors = start_flow_errors(body)
        if errors:
            raise validation_error(errors)
        flow = state.start_flow(bot_id, body)
        return json_response(envelope(flow_result(flow)))

    async def start_flow_bulk(request: Request) -> Response:
        bot_id = authorize(request)
        body = await _body(request)
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise validation_error([_invalid("The items field is required and must be a non-empty list.", "items")])
        # ASP.NET validates the whole body before the action runs: one bad item starts nothing.
        errors = [error for index, item in enumerate(items) for error in start_flow_errors(item, f"items[{index}].")]
        if errors:
            raise validation_error(errors)
        flows = [state.start_flow(bot_id, item) for item in items]
        # stand-in: one result per item, in the order of the items.
        return json_response(envelope({"items": [flow_result(flow) for flow in flows]}))

    def signal_endpoint(kind: str) -> Handler:
        async def signal(request: Request) -> Response:
            bot_id = authorize(request)
            body = await _body(request)
            state.record_signal(bot_id, kind, body)
            # stand-in: these endpoints are documented by name only; an ABP void action answers result null.
            return json_response(envelope(None))

        return signal

    # Every AbpError raised on the way is answered as ABP's error envelope with its status (sandbox.kit.endpoint).
    routes = [
        Route(
            "/api/services/app/WebAPIService/ExternalAuthenticate", endpoint(external_authenticate), methods=["POST"]
        ),
        Route("/api/Druid/{botId}/StartFlow", endpoint(start_flow), methods=["POST"]),
        Route("/api/Druid/{botId}/StartFlowBulk", endpoint(start_flow_bulk), methods=["POST"]),
        Route(
            "/api/Druid/{botId}/MediatelAgentConnected",
            endpoint(signal_endpoint("MediatelAgentConnected")),
            methods=["POST"],
        ),
        Route("/api/Druid/{botId}/UiPathAttended", endpoint(signal_endpoint("UiPathAttended")), methods=["POST"]),
    ]
    # The state is at app.state.druid for tests and a later events hook-up; the HTTP API stays the contract.
    return simulator_app("druid", state, control, routes, route_error=route_error)
