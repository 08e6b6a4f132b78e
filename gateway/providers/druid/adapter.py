"""The DRUID adapter: conversation flows started on a bot, behind DRUID's token.

Wire formats: providers.md §3. DRUID runs on ASP.NET Boilerplate, so answers are ABP envelopes
``{"result", "success", "error": {"code", "message", "details", "validationErrors"}, ...}`` [doc for the login,
stand-in for the conversation endpoints]; the adapter returns ``result`` and turns ``success: false`` into an error.

- Token: ``config.token`` (a permanent bearer token [doc]) or a login with ``POST {base_url}/api/services/app/
  WebAPIService/ExternalAuthenticate`` [doc], shared by concurrent calls, refreshed before expiry, and on a 401
  refreshed once with the call retried once (:class:`~gateway.providers.auth.RefreshingTokenAuth`).
- ``POST {endpoints_url}/api/Druid/{botId}/StartFlow`` and ``/StartFlowBulk`` [doc]; ``/MediatelAgentConnected``
  and ``/UiPathAttended`` [stand-in: the document names them, not their paths or bodies]. Writes: sent exactly once.
  The document names three endpoints (ExternalAuthenticate, StartFlow, StartFlowBulk); every other call here is
  our invention and marked [stand-in] where it is made.
- Errors: a refused login is documented as a string naming the bad tenant, user or password [doc]; it is read as
  ``error`` (a string, or ABP's object [likely]) and shown to the user. A 404 is documented as "the syntax of the
  call is incorrect" [doc]: it means a wrong path or body, never a missing object, so it is UPSTREAM_ERROR saying so.

StartFlow bodies are checked here before any call, so that a caller's mistake names the field and costs no
upstream call (and, for a bulk start, no partial start).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final
from urllib.parse import quote

import httpx
import orjson

from gateway.domain.records import JSON, Capability, ProbeResult
from gateway.errors import (
    BadUserInput,
    HookgateError,
    NotFound,
    UpstreamError,
)
from gateway.providers.auth import NO_RETRY_ON_401, HeaderAuth, RefreshingTokenAuth
from gateway.providers.base import Adapter, probe_failure
from gateway.providers.druid.config import DruidSource
from gateway.providers.http import UpstreamClient, UpstreamObserver, default_error_text

AUTHENTICATE_PATH = "/api/services/app/WebAPIService/ExternalAuthenticate"
#: [doc] "The access token is valid 1800 s"; used when the answer has no ``expireInSeconds`` [likely ABP].
DEFAULT_TOKEN_LIFETIME_S = 1800.0
SIGNALS: frozenset[str] = frozenset({"MediatelAgentConnected", "UiPathAttended"})
TARGET_FIELDS: tuple[str, ...] = ("targetUserMasterId", "targetConversationId", "targetTenantUserId")
#: StartFlow's body [doc]: every value a string; channelId and exactly one target id required.
START_FLOW_FIELDS: tuple[str, ...] = (
    "channelId",
    *TARGET_FIELDS,
    "entityContextData",
    "flowUtterance",
    "flowId",
    "conversationLanguage",
)
JSON_HEADERS: Final = {"content-type": "application/json", "accept": "application/json"}
#: Statuses of a probe's call that are an answer, not a failure to retry.
REACHED: tuple[int, ...] = tuple(status for status in range(200, 500) if status != 429)
#: ...and of its login: ABP answers a refused login with 500 [likely ABP: UserFriendlyException], which must be read,
#: not retried (repeated rejected logins lock an account out). Other 5xx and 429 stay retryable.
LOGIN_ANSWERED: tuple[int, ...] = (*REACHED, 500)


def abp_error_text(response: httpx.Response) -> str | None:
    """ABP's ``error.message``, with its validation messages or details when it has them [likely ABP]."""
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    text = _abp_message(body)
    return text if text is not None else default_error_text(response)


def _abp_message(body: Any) -> str | None:
    """The reason in a DRUID error answer: ``error`` as a string [doc: the login's refusal], ABP's ErrorInfo object
    [likely], or a body that is only a JSON string; None when there is none."""
    if isinstance(body, str):
        return body.strip()[:500] or None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return error.strip()[:500] or None
    if not isinstance(error, dict):
        return None
    message = str(error.get("message") or "").strip()
    validation = error.get("validationErrors")
    if isinstance(validation, list) and validation:
        lines = [str(item.get("message")) for item in validation if isinstance(item, dict) and item.get("message")]
        if lines:
            return f"{message} {' '.join(lines)}".strip()
    details = error.get("details")
    if isinstance(details, str) and details.strip():
        return f"{message} {details.strip()}".strip()
    return message or None


def validate_start_flow(body: Any, *, where: str = "") -> dict[str, str]:
    """A StartFlow body as DRUID takes it, or :class:`BadUserInput` naming the field (``where`` prefixes it,
    e.g. ``items[2].``). ``None`` values count as absent and are not sent; unknown fields are refused."""
    if not isinstance(body, Mapping):
        raise BadUserInput(
            f"{where.rstrip('.') or 'the StartFlow body'} must be an object", field=where.rstrip(".") or None
        )
    clean = {str(key): value for key, value in body.items() if value is not None}
    unknown = sorted(set(clean) - set(START_FLOW_FIELDS))
    if unknown:
        raise BadUserInput(
            f"{where}{unknown[0]} is not a StartFlow field (expected {', '.join(START_FLOW_FIELDS)})",
            field=f"{where}{unknown[0]}",
        )
    for key, value in clean.items():
        if not isinstance(value, str):
            raise BadUserInput(f"{where}{key} must be a string", field=f"{where}{key}")
    if not clean.get("channelId"):
        raise BadUserInput(f"{where}channelId is required", field=f"{where}channelId")
    targets = [key for key in TARGET_FIELDS if clean.get(key)]
    if len(targets) != 1:
        raise BadUserInput(
            f"{where}exactly one of {', '.join(TARGET_FIELDS)} is required (got {len(targets)})",
            field=f"{where}{targets[1] if len(targets) > 1 else TARGET_FIELDS[0]}",
        )
    return clean


class DruidAdapter(Adapter):
    """One DRUID tenant: the :class:`~gateway.providers.base.Conversations` capability."""

    kind = "druid"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.CONVERSATIONS})
    config: DruidSource

    def __init__(self, name: str, config: DruidSource, http: UpstreamClient) -> None:
        super().__init__(name, config, http)
        self.auth: RefreshingTokenAuth | None = None
        if config.token is not None:
            secret = config.token.get_secret_value()
            http.http.auth = HeaderAuth("Authorization", lambda request: f"Bearer {secret}")
        else:
            self.auth = RefreshingTokenAuth(self._authenticate)
            http.http.auth = self.auth

    @classmethod
    def create(
        cls,
        name: str,
        config: DruidSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: UpstreamObserver | None = None,
        on_write: Callable[[str], None] | None = None,
        **extras: Any,
    ) -> DruidAdapter:
        http = UpstreamClient(
            source=name,
            provider=cls.kind,
            config=config,
            base_url=config.endpoints_url,
            transport=transport,
            error_text=abp_error_text,
            observer=observer,
            on_write=on_write,
        )
        adapter = cls(name, config, http)
        http.classify = adapter._classify
        return adapter

    def _ctx(self) -> dict[str, Any]:
        return {"source": self.name, "provider": self.kind}

    # -- token ----------------------------------------------------------------------------------------------------

    def _login(self) -> tuple[str, dict[str, Any]]:
        """URL and request arguments of the ExternalAuthenticate call [doc]. ``auth=None``: it must not recurse."""
        config = self.config
        password = config.password.get_secret_value() if config.password else ""
        body = {"userNameOrEmailAddress": config.username, "password": password, "tenant": config.tenant}
        kwargs = {"content": orjson.dumps(body), "headers": JSON_HEADERS, "auth": None}
        return f"{config.base_url}{AUTHENTICATE_PATH}", kwargs

    async def _authenticate(self) -> tuple[str, float]:
        """The auth flow's token fetcher: log in; (access token, lifetime in seconds).

        Sent on the raw httpx client: through :meth:`UpstreamClient.request` it would wait for a concurrency slot
        while every slot is held by a call waiting for this very token. The call that triggered the login still
        bounds it by its deadline and gives the breaker its verdict.
        """
        url, kwargs = self._login()
        with self.http.map_transport_errors():
            response = await self.http.http.request("POST", url, **kwargs)
        return self._token_from(response)

    def _token_from(self, response: httpx.Response) -> tuple[str, float]:
        """The token in an ExternalAuthenticate answer, or UPSTREAM_ERROR quoting ABP's reason (never the password)."""
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            # A bare text reason is still the reason [likely: the document shows the error as a string].
            answer = response.content.decode("utf-8", "replace") if response.content else None
        answer_dict: dict[str, Any] = answer if isinstance(answer, dict) else {}
        raw_result = answer_dict.get("result")
        result: dict[str, Any] = raw_result if isinstance(raw_result, dict) else {}
        token = result.get("accessToken")
        if response.is_success and isinstance(token, str) and token and answer_dict.get("success") is not False:
            lifetime = result.get("expireInSeconds")  # [likely ABP]; absent from the documented answer
            if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
                lifetime = DEFAULT_TOKEN_LIFETIME_S
            return token, float(lifetime)
        said = _abp_message(answer) or f"HTTP {response.status_code}"
        password = self.config.password.get_secret_value() if self.config.password else ""
        if password:
            said = said.replace(password, "***")  # ABP does not echo it; this keeps it so if a proxy does
        # Not FORBIDDEN or UNAUTHENTICATED: those speak of the caller. This is the gateway's own configuration.
        raise UpstreamError(
            f"source '{self.name}' could not log in to DRUID (check username, password, tenant): {said}",
            status=response.status_code,
            **self._ctx(),
        )

    def _classify(self, response: httpx.Response) -> HookgateError | None:
        if response.status_code == 404:
            # [doc] DRUID answers 404 when "the syntax of the call is incorrect": a wrong path or body, not a missing
            # object, so NOT_FOUND would hide a misconfigured endpoints_url or a renamed route.
            said = abp_error_text(response)
            return UpstreamError(
                f"source '{self.name}' refused the call's path or syntax (DRUID answers 404 when the syntax of the "
                "call is incorrect: check endpoints_url, base_url and the bot id)" + (f": {said}" if said else ""),
                status=404,
                **self._ctx(),
            )
        if response.status_code == 401:
            # A write's 401 is not retried (see _post): the token it used is dropped, and the call is reported.
            how = "its configured token" if self.config.token is not None else "the gateway's token"
            said = abp_error_text(response)
            return UpstreamError(
                f"source '{self.name}' rejected {how}"
                + (f": {said}" if said else "")
                + (
                    "; the request was not sent again (DRUID does not say whether a refused request was processed)"
                    + ("" if self.config.token is not None else ", and the next call logs in afresh")
                ),
                status=401,
                **self._ctx(),
            )
        return None

    # -- conversations --------------------------------------------------------------------------------------------

    def _bot(self, bot_id: str | None) -> str:
        bot = bot_id if bot_id else self.config.bot_id
        if not isinstance(bot, str) or not bot:
            raise BadUserInput(
                f"source '{self.name}' needs a botId (none given and no bot_id configured)",
                field="botId",
                **self._ctx(),
            )
        return bot

    async def start_flow(self, bot_id: str, body: Mapping[str, Any]) -> JSON:
        """Start one flow: POST StartFlow with ``body`` in DRUID's field names; DRUID's ``result``.

        ``bot_id`` empty means the source's configured ``bot_id``. The body is validated first (channelId; exactly
        one of targetUserMasterId, targetConversationId, targetTenantUserId; strings only): BAD_USER_INPUT naming
        the field, and no upstream call.
        """
        bot = self._bot(bot_id)
        try:
            clean = validate_start_flow(body)
        except BadUserInput as exc:
            raise self._input_error("startFlow", exc) from None
        return await self._post(bot, "StartFlow", clean)

    async def start_flows(self, bot_id: str, items: Sequence[Mapping[str, Any]]) -> JSON:
        """Start several flows in one StartFlowBulk call; DRUID's ``result``.

        Every item is validated before the call; an error names the item (``items[2].channelId``), and nothing starts.
        """
        bot = self._bot(bot_id)
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence) or not items:
            raise self._input_error("startFlows", BadUserInput("items must be a non-empty list", field="items"))
        try:
            clean = [validate_start_flow(item, where=f"items[{index}].") for index, item in enumerate(items)]
        except BadUserInput as exc:
            raise self._input_error("startFlows", exc) from None
        return await self._post(bot, "StartFlowBulk", {"items": clean})

    async def signal(self, bot_id: str, signal: str, data: JSON) -> JSON:
        """Tell a bot that an agent connected (``MediatelAgentConnected``) or an attended robot answered
        (``UiPathAttended``); ``data`` is passed through as the JSON body [stand-in]. DRUID's ``result``."""
        if signal not in SIGNALS:
            raise BadUserInput(
                f"'{signal}' is not a DRUID signal; expected one of {', '.join(sorted(SIGNALS))}",
                field="signal",
                **self._ctx(),
            )
        bot = self._bot(bot_id)
        # [stand-in] path and body: the document names these two endpoints only.
        return await self._post(bot, signal, {} if data is None else data)

    def _input_error(self, operation: str, exc: BadUserInput) -> BadUserInput:
        return BadUserInput(
            f"{operation} on source '{self.name}': {exc.message}", field=exc.details.get("field"), **self._ctx()
        )

    async def _post(self, bot: str, endpoint: str, body: Any) -> JSON:
        # Every call here is a write (a flow started, a signal given), and a 401 is not resent with a new token:
        # providers.md documents only that a token expires after 1800 s or may be revoked (then 401), not that DRUID
        # refuses a request before acting on it, so a resent flow could start twice. The 401 goes back to the
        # caller as UPSTREAM_ERROR (status 401, see _classify), the token is dropped, and the caller's next call
        # logs in afresh. Token fetches (ExternalAuthenticate) and the probe's reads are not affected.
        response = await self.http.request(
            "POST",
            f"/api/Druid/{quote(bot, safe='')}/{endpoint}",
            read=False,
            content=orjson.dumps(body),
            headers=JSON_HEADERS,
            extensions={NO_RETRY_ON_401: True},
        )
        if not response.content:
            return None
        answer = self.http.decode(response)
        if isinstance(answer, dict) and ("success" in answer or "__abp" in answer):
            if answer.get("success") is False:
                said = _abp_message(answer) or "no message"
                raise UpstreamError(
                    f"{endpoint} on source '{self.name}' failed: {said}", status=response.status_code, **self._ctx()
                )
            return answer.get("result")
        return answer  # not an ABP envelope: pass it on as it came

    # -- probe ----------------------------------------------------------------------------------------------------

    async def probe(self) -> ProbeResult:
        """Log in (password sources) and reach the conversation endpoints; never raises for upstream failures.

        Both calls are reads for :class:`UpstreamClient`: retried on 5xx, refused while the circuit is open. DRUID
        has no read-only conversation call, so a permanent token is reported but cannot be verified.
        """
        try:
            if self.auth is not None:
                # A fresh login proves the portal and the credentials; the token is not kept.
                url, kwargs = self._login()
                response = await self.http.request("POST", url, read=True, ok=LOGIN_ANSWERED, **kwargs)
                if response.status_code == 404:  # the portal answers, but base_url does not lead to the login
                    raise NotFound(f"source '{self.name}' found no login call (HTTP 404)", status=404)
                self._token_from(response)
            # Any answer but a 5xx means the endpoints host is up; none of its routes takes a GET.
            # [stand-in] a GET of the endpoints' root: the document names no read-only call.
            await self.http.request("GET", "/", read=True, ok=REACHED, auth=None)
        except HookgateError as exc:
            return probe_failure(exc)
        if self.auth is None:
            return ProbeResult(
                reachable=True,
                authenticated=True,
                detail="permanent token configured (DRUID offers no call to verify it)",
            )
        return ProbeResult(reachable=True, authenticated=True, detail=f"logged in to tenant '{self.config.tenant}'")
