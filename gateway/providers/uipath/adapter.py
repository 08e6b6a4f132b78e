"""The UiPath Orchestrator adapter: webhooks over OData v4 (providers.md §1).

Reads push filters down into OData ``$filter`` and follow ``@odata.nextLink`` to the end; reads by id are one
``$filter=Id eq 1 or Id eq 2 ...`` call per ``max_batch`` ids. Auth is a static bearer token from the config or
the OAuth2 client-credentials flow, refreshed before expiry and once on a 401 (:class:`RefreshingTokenAuth`).

Updates use PATCH [doc: the published OpenAPI description], sending only the changed fields. PUT [doc] replaces the
whole webhook, which needs a GET first (a read-modify-write that can lose a concurrent change) and has to send the
``Secret`` back, which a tenant that masks it in reads would then overwrite. So PATCH first, and only if the tenant
does not route PATCH (405, or a 404 that is not Orchestrator's "item not found", errorCode 1002) do we fall back to
GET + PUT of the full merged WebhookDto, from then on. The GET decides whether the webhook exists, so a tenant without
PATCH never makes an existing webhook look absent.

Current Orchestrator's WebhookDto has ``Name`` (required), ``Description`` and ``Key`` besides the older fields
[doc: the published OpenAPI description]; a create without a name sends one made from the URL's host and path.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

import httpx
import orjson

from gateway.domain.records import (
    UNSET,
    Capability,
    CustomEventRecord,
    EventTypeRecord,
    PingRecord,
    ProbeResult,
    WebhookFilter,
    WebhookRecord,
    WebhookSpec,
)
from gateway.errors import BadUserInput, HookgateError, NotFound, UpstreamError
from gateway.parsing import parse_instant
from gateway.providers.auth import HeaderAuth, RefreshingTokenAuth
from gateway.providers.base import Adapter
from gateway.providers.http import Classify, UpstreamClient, UpstreamObserver, default_error_text, next_page
from gateway.providers.uipath.config import UiPathSource

WEBHOOKS = "/odata/Webhooks"
EVENT_TYPES = f"{WEBHOOKS}/UiPath.Server.Configuration.OData.GetEventTypes()"
TRIGGER_CUSTOM = f"{WEBHOOKS}/UiPath.Server.Configuration.OData.TriggerCustom"
#: WebhookDto's Name is at most 128 characters [doc: the published OpenAPI description].
_MAX_NAME = 128
#: A webhook Id is an Int64 [doc]; only canonical decimal forms are ids, so "04" or " 4" never reach the server.
_ID = re.compile(r"0|[1-9][0-9]{0,18}")
_MAX_ID = 2**63 - 1
#: Documented error codes [doc]: 1000 invalid request, 1001 name already used, 1002 item not found.
_ITEM_NOT_FOUND = 1002
#: A page of webhooks: its records (immutable, so that identical answers can share them) and the next page's link.
_Page = tuple[tuple[WebhookRecord, ...], str | None]


def uipath_error_text(response: httpx.Response) -> str | None:
    """UiPath's error body ``{"message", "errorCode", "traceId"}`` [stand-in]: the message plus its error code."""
    text = default_error_text(response)
    body = _json_or_none(response)
    code = body.get("errorCode") if isinstance(body, dict) else None
    if text and isinstance(code, int) and code:
        return f"{text} (errorCode {code})"
    return text


def uipath_classify(source: str) -> Classify:
    """errorCode 1002 ("item not found") is NOT_FOUND whatever status it came with; the rest: the default mapping."""

    def classify(response: httpx.Response) -> HookgateError | None:
        body = _json_or_none(response)
        if response.status_code != 404 and isinstance(body, dict) and body.get("errorCode") == _ITEM_NOT_FOUND:
            said = uipath_error_text(response) or "item not found"
            return NotFound(f"source '{source}' has no such object: {said}", source=source, provider="uipath")
        return None

    return classify


def default_name(url: str) -> str:
    """The Name sent for a webhook created without one: the URL's host and path (``hooks.example.com/x``), without
    scheme, credentials, query or fragment (which may carry tokens), cut to Orchestrator's 128 characters."""
    parts = urlsplit(url)
    name = (parts.hostname or "") + parts.path.rstrip("/")
    return (name or url)[:_MAX_NAME]


def _id_text(value: Any) -> str | None:
    """A numeric id of an event DTO (TenantId, UserId...) as text; None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        return None
    return str(value)


def _error_code(response: httpx.Response) -> Any:
    body = _json_or_none(response)
    return body.get("errorCode") if isinstance(body, dict) else None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


def odata_string(value: str) -> str:
    """An OData string literal: single quotes, with a quote inside doubled [doc]."""
    return "'" + value.replace("'", "''") + "'"


def odata_url(path: str, params: Mapping[str, str]) -> str:
    """``path?$filter=...`` with spaces as ``%20``: httpx's form encoding writes ``+``, which is a space only to
    servers that form-decode query strings; OData's own examples and Orchestrator's nextLinks use ``%20``."""
    if not params:
        return path
    return path + "?" + "&".join(f"{quote(k, safe='$')}={quote(v, safe=chr(39) + '(),$')}" for k, v in params.items())


def parse_id(value: str) -> int | None:
    """The Int64 Id behind a provider id, or None when the text cannot be one (then no call is made)."""
    if not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if number <= _MAX_ID else None


def _field(dto: Mapping[str, Any], name: str) -> Any:
    """A WebhookDto property in PascalCase [doc], or in camelCase as some Orchestrator versions write it."""
    if name in dto:
        return dto[name]
    return dto.get(name[0].lower() + name[1:])


#: Marks a property absent from a DTO (``None`` is a value a DTO may hold).
_ABSENT: Any = object()


def _events(value: Any) -> tuple[str, ...]:
    """The distinct event type names of an ``Events`` array, in order (items as ``{"EventType": name}`` or names)."""
    if not isinstance(value, list):
        return ()
    names: dict[str, None] = {}  # insertion-ordered: a repeated name keeps its first place
    for item in value:
        if isinstance(item, dict):
            name = item.get("EventType", _ABSENT)
            if name is _ABSENT:
                name = item.get("eventType")
        else:
            name = item
        if isinstance(name, str) and name:
            names[name] = None
    return tuple(names)


class UiPathAdapter(Adapter):
    """One Orchestrator tenant (its base URL up to and excluding ``/odata``)."""

    kind = "uipath"
    capabilities = frozenset(
        {
            Capability.WEBHOOKS,
            Capability.EVENT_TYPES,
            Capability.PING,
            Capability.CUSTOM_EVENTS,
            Capability.INBOUND_EVENTS,
        }
    )
    webhook_fields: ClassVar[frozenset[str]] = frozenset(
        {"url", "events", "subscribe_to_all_events", "enabled", "secret", "allow_insecure_ssl", "name", "description"}
    )
    config: UiPathSource

    def __init__(
        self, name: str, config: UiPathSource, http: UpstreamClient, *, token_auth: RefreshingTokenAuth | None = None
    ) -> None:
        super().__init__(name, config, http)
        #: The client-credentials flow, when configured (tests read ``token_auth.fetches``).
        self.token_auth = token_auth
        self._patch_supported = True

    @classmethod
    def create(
        cls,
        name: str,
        config: UiPathSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: UpstreamObserver | None = None,
        on_write: Callable[[str], None] | None = None,
        **extras: Any,
    ) -> UiPathAdapter:
        """Build the adapter and its client. ``extras`` (a lock factory...) are for other kinds and are ignored."""
        static: httpx.Auth | None = None
        if config.token is not None:
            token = config.token
            static = HeaderAuth("Authorization", lambda _: f"Bearer {token.get_secret_value()}")
        http = UpstreamClient(
            source=name,
            provider=cls.kind,
            config=config,
            auth=static,
            transport=transport,
            error_text=uipath_error_text,
            classify=uipath_classify(name),
            observer=observer,
            on_write=on_write,
        )
        token_auth: RefreshingTokenAuth | None = None
        if static is None:
            # The fetcher needs the client and the client needs the auth: the auth is attached once both exist.
            token_auth = RefreshingTokenAuth(lambda: _fetch_token(http, name, config))
            http.http.auth = token_auth
        return cls(name, config, http, token_auth=token_auth)

    # -- reads ----------------------------------------------------------------------------------------------------

    async def probe(self) -> ProbeResult:
        return await self.probe_by(lambda: self.http.json("GET", odata_url(WEBHOOKS, {"$top": "1"}), read=True))

    async def list_webhooks(self, filter: WebhookFilter) -> list[WebhookRecord]:
        """Every webhook matching ``filter``. Url and Enabled go into ``$filter``; the event type is checked here."""
        clauses: list[str] = []
        if filter.url is not None:
            clauses.append(f"Url eq {odata_string(filter.url)}")
        if filter.enabled is not None:
            clauses.append(f"Enabled eq {'true' if filter.enabled else 'false'}")
        params = {"$filter": " and ".join(clauses)} if clauses else {}
        records = await self._query(params)
        # Applied again locally: OData string comparison may ignore case on the server; the gateway's does not.
        return [record for record in records if filter.matches(record)]

    async def get_webhooks(self, ids: Sequence[str]) -> list[WebhookRecord | None]:
        """One item per id, in order, None where absent. One call per ``max_batch`` distinct ids, run concurrently."""
        numbers = {key: number for key in ids if (number := parse_id(key)) is not None}
        distinct = list(dict.fromkeys(numbers.values()))
        size = self.config.max_batch
        chunks = [distinct[i : i + size] for i in range(0, len(distinct), size)]
        answers = await asyncio.gather(
            *(self._query({"$filter": " or ".join(f"Id eq {n}" for n in chunk)}) for chunk in chunks),
            return_exceptions=True,
        )
        found: dict[int, WebhookRecord] = {}
        for records in answers:
            if isinstance(records, BaseException):
                raise records  # all have finished: nothing is left running behind the error
            for record in records:
                found[int(record.provider_id)] = record
        return [found.get(numbers[key]) if key in numbers else None for key in ids]

    async def event_types(self) -> list[EventTypeRecord]:
        return self.parse_event_types(await self.http.json("GET", EVENT_TYPES, read=True))

    def parse_event_types(self, body: Any) -> list[EventTypeRecord]:
        """GetEventTypes' answer (``{"value": [WebhookEventTypeDto...]}``) as records."""
        records: list[EventTypeRecord] = []
        for item in self._values(body, "event types"):
            name, group = _field(item, "Name"), _field(item, "Group")
            if isinstance(name, str) and name:
                group = group if isinstance(group, str) and group else name.split(".", 1)[0]
                records.append(EventTypeRecord(provider=self.kind, source=self.name, name=name, group=group))
        return records

    # -- writes (never retried) -----------------------------------------------------------------------------------

    async def create_webhook(self, spec: WebhookSpec) -> WebhookRecord:
        if spec.url is UNSET:
            raise BadUserInput("a UiPath webhook needs a url", field="url", source=self.name, provider=self.kind)
        body = self._body(spec)
        if not body.get("Name"):
            body["Name"] = default_name(spec.url)  # current Orchestrator requires a Name [doc]
        body.setdefault("Enabled", True)  # the gateway's default (CONTRACT: enabled = true); Orchestrator's is false
        if "SubscribeToAllEvents" not in body:
            # No events named and no choice made: a webhook for nothing would be useless, so it takes every event.
            body["SubscribeToAllEvents"] = not body.get("Events")
        dto = await self.http.json("POST", WEBHOOKS, read=False, json=body)
        return self._written(dto)

    async def update_webhook(self, provider_id: str, spec: WebhookSpec) -> WebhookRecord:
        path = self._item(provider_id)
        changes = self._body(spec)
        if "Name" in changes and not changes["Name"]:
            raise BadUserInput(
                "a UiPath webhook needs a name: it cannot be cleared",
                field="name",
                source=self.name,
                provider=self.kind,
            )
        if self._patch_supported:
            response = await self.http.request(
                "PATCH", path, read=False, json=changes, ok=(200, 201, 202, 204, 404, 405)
            )
            if response.status_code < 300:
                return self._written(self.http.decode(response))
            if response.status_code == 404 and _error_code(response) == _ITEM_NOT_FOUND:
                raise self.http.error_for(response)  # PATCH is routed, and the webhook does not exist
            # 405, or a 404 from no matching route: this tenant has no PATCH, and said so before changing anything.
            # The GET below tells whether the webhook exists; only once it does is PATCH known to be missing.
            current = await self._current(path)
            self._patch_supported = False
        else:
            current = await self._current(path)
        merged: dict[str, Any] = {
            name: _field(current, name)
            for name in ("Name", "Description", "Url", "Enabled", "Secret", "AllowInsecureSsl")
        }
        merged["SubscribeToAllEvents"] = bool(_field(current, "SubscribeToAllEvents"))
        merged["Events"] = [{"EventType": name} for name in _events(_field(current, "Events"))]
        merged.update(changes)
        if not merged.get("Name"):
            # A webhook from before names were required has none; a PUT of the full DTO must carry one [doc].
            url = merged.get("Url")
            merged["Name"] = default_name(url if isinstance(url, str) else "")
        return self._written(await self.http.json("PUT", path, read=False, json=merged))

    async def _current(self, path: str) -> dict[str, Any]:
        current = await self.http.json("GET", path, read=True)
        if not isinstance(current, dict):
            raise self._unexpected("a webhook")
        return current

    async def delete_webhook(self, provider_id: str) -> None:
        await self.http.request("DELETE", self._item(provider_id), read=False)

    async def ping_webhook(self, provider_id: str) -> PingRecord:
        """Orchestrator sends a ``ping`` event to the webhook's URL and answers with it (PingEventDto [doc])."""
        body = await self.http.json(
            "POST", f"{self._item(provider_id)}/UiPath.Server.Configuration.OData.Ping", read=False
        )
        return self.parse_ping(body)

    def parse_ping(self, body: Any) -> PingRecord:
        """A PingEventDto [doc] as a record."""
        if not isinstance(body, dict):
            raise self._unexpected("a ping")
        when = parse_instant(_field(body, "Timestamp")) or parse_instant(_field(body, "EventTime"))
        return PingRecord(
            type=str(_field(body, "Type") or "ping"),
            event_id=str(_field(body, "EventId") or ""),
            # Newer versions may carry only EventTime; an answer with neither is stamped with our own clock.
            timestamp=when or datetime.now(UTC),
            tenant_id=_id_text(_field(body, "TenantId")),
            organization_unit_id=_id_text(_field(body, "OrganizationUnitId")),
            user_id=_id_text(_field(body, "UserId")),
        )

    async def trigger_custom_event(self, event_type: str, data: Any) -> CustomEventRecord:
        """``POST .../UiPath.Server.Configuration.OData.TriggerCustom`` [doc: the published OpenAPI description]: the
        body is a JSON object, the answer (202) the CustomEventDto raised, its ``EventData`` the body.

        [stand-in] Where the caller's event type goes is not published: the body is ``{"EventType": ..., "EventData":
        data}``, so that whichever way Orchestrator reads it, both reach the webhooks.
        """
        body = await self.http.json(
            "POST", TRIGGER_CUSTOM, read=False, json={"EventType": event_type, "EventData": data}
        )
        return self.parse_custom_event(body, event_type)

    def parse_custom_event(self, body: Any, event_type: str | None = None) -> CustomEventRecord:
        """A CustomEventDto as a record; ``event_type``: the one asked for, when the answer does not say it."""
        if not isinstance(body, dict):
            raise self._unexpected("a custom event")
        sent = _field(body, "EventData")
        data = sent
        if isinstance(sent, dict):
            # Our own {"EventType", "EventData"} echoed back: the caller's data is the inner one.
            said = sent.get("EventType")
            if isinstance(said, str) and said:
                event_type = said
            data = sent.get("EventData", sent) if set(sent) <= {"EventType", "EventData"} else sent
        when = parse_instant(_field(body, "Timestamp")) or parse_instant(_field(body, "EventTime"))
        return CustomEventRecord(
            type=str(_field(body, "Type") or "custom"),
            event_id=str(_field(body, "EventId") or ""),
            timestamp=when or datetime.now(UTC),
            event_type=event_type or "custom",
            data=data,
        )

    # -- helpers --------------------------------------------------------------------------------------------------

    def _item(self, provider_id: str) -> str:
        number = parse_id(provider_id)
        if number is None:
            raise NotFound(f"source '{self.name}' has no webhook '{provider_id}'", source=self.name, provider=self.kind)
        return f"{WEBHOOKS}({number})"

    @staticmethod
    def _body(spec: WebhookSpec) -> dict[str, Any]:
        """The WebhookDto properties ``spec`` sets (and only those)."""
        body: dict[str, Any] = {}
        if spec.name is not UNSET:
            body["Name"] = spec.name
        if spec.description is not UNSET:
            body["Description"] = spec.description
        if spec.url is not UNSET:
            body["Url"] = spec.url
        if spec.enabled is not UNSET:
            body["Enabled"] = spec.enabled
        if spec.secret is not UNSET:
            body["Secret"] = spec.secret
        if spec.allow_insecure_ssl is not UNSET:
            body["AllowInsecureSsl"] = spec.allow_insecure_ssl
        if spec.subscribe_to_all_events is not UNSET:
            body["SubscribeToAllEvents"] = spec.subscribe_to_all_events
        if spec.events is not UNSET:
            body["Events"] = [{"EventType": name} for name in spec.events]
        return body

    async def _query(self, params: Mapping[str, str]) -> list[WebhookRecord]:
        """The webhooks of GET /odata/Webhooks with ``params`` and of every page after it (``@odata.nextLink``,
        absolute, used as is); items without an Id are left out."""
        records, link = await self._page(odata_url(WEBHOOKS, params))
        found = list(records)
        seen: set[str] = set()
        while link:
            link = self._checked_link(link, seen)
            records, link = await self._page(link)
            found.extend(records)
        return found

    async def _page(self, url: str) -> _Page:
        """One page: its records and the next page's link. An answer byte for byte equal to this URL's last one reuses
        its records (see :meth:`UpstreamClient.decode_once`): a dashboard reads the same list on every request."""
        response = await self.http.request("GET", url, read=True)
        return self.http.decode_once(url, response, self._parse_page)

    def parse_webhook(self, dto: Any) -> WebhookRecord:
        """One WebhookDto (a by-id read, or a write's answer) as a record."""
        return self._written(dto)

    def parse_page(self, body: Any) -> _Page:
        """A page of ``GET /odata/Webhooks`` (``{"value": [WebhookDto...], "@odata.nextLink"?}``)."""
        return self._parse_page(body)

    def _parse_page(self, body: Any) -> _Page:
        records = tuple(record for dto in self._values(body, "webhooks") if (record := self._record(dto)) is not None)
        link = body.get("@odata.nextLink")  # a dict: _values() accepted it
        return records, link if isinstance(link, str) and link else None

    def _checked_link(self, link: str, seen: set[str]) -> str:
        # A nextLink is absolute [doc] but may be relative on some servers: next_page resolves it, same origin only.
        return next_page(self.config.base_url, link, seen, self._unexpected)

    def _values(self, body: Any, what: str) -> list[dict[str, Any]]:
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, list):
            raise self._unexpected(what)
        return [item for item in value if isinstance(item, dict)]

    def _written(self, dto: Any) -> WebhookRecord:
        record = self._record(dto) if isinstance(dto, dict) else None
        if record is None:
            raise self._unexpected("a webhook")
        return record

    def _record(self, dto: Mapping[str, Any]) -> WebhookRecord | None:
        """A WebhookDto as a record; None for an item without an Id (it could not be addressed anyway).

        An unchanged list is not parsed again (``UpstreamClient.decode_once``), so this is off the steady-state path.
        """
        raw_id = _field(dto, "Id")
        if type(raw_id) is int:
            # parse_id(str(raw_id)) for an int: a canonical decimal form is a non-negative Int64.
            if not 0 <= raw_id <= _MAX_ID:
                return None
        elif isinstance(raw_id, bool) or not isinstance(raw_id, int | str) or parse_id(str(raw_id)) is None:
            return None
        url, enabled, every = _field(dto, "Url"), _field(dto, "Enabled"), _field(dto, "SubscribeToAllEvents")
        events, secret, insecure = _field(dto, "Events"), _field(dto, "Secret"), _field(dto, "AllowInsecureSsl")
        name, description = _field(dto, "Name"), _field(dto, "Description")
        return WebhookRecord(
            source=self.name,
            provider=self.kind,
            provider_id=str(raw_id),
            url=url if isinstance(url, str) else "",
            name=name if isinstance(name, str) and name else None,
            description=description if isinstance(description, str) and description else None,
            enabled=enabled is True,
            subscribe_to_all_events=every is True,
            events=_events(events),
            has_secret=bool(secret),  # the Secret itself never leaves this function
            allow_insecure_ssl=insecure if isinstance(insecure, bool) else None,
            authorization_type=None,  # Orchestrator signs its deliveries instead (X-UiPath-Signature)
        )

    def _unexpected(self, what: str) -> UpstreamError:
        return UpstreamError(
            f"source '{self.name}' answered {what} in a shape the gateway does not understand",
            source=self.name,
            provider=self.kind,
        )


async def _fetch_token(http: UpstreamClient, name: str, config: UiPathSource) -> tuple[str, float]:
    """One client-credentials token [likely]: ``POST {identity_url}/identity_/connect/token`` with a form body.

    Sent on the same pooled client with ``auth=None`` so that it does not go through the auth flow it feeds, and
    outside :meth:`UpstreamClient.request` because it runs inside a request that already holds a concurrency slot and
    the deadline. Its failures name the source and the OAuth error code, never the client secret.
    """
    assert config.identity_url is not None
    assert config.client_id is not None
    assert config.client_secret is not None
    form = {
        "grant_type": "client_credentials",
        "client_id": config.client_id,
        "client_secret": config.client_secret.get_secret_value(),
        "scope": config.scope,
    }
    with http.map_transport_errors():
        response = await http.http.request(
            "POST", f"{config.identity_url}/identity_/connect/token", data=form, auth=None
        )
    body = _json_or_none(response)
    if response.status_code != 200:
        code = body.get("error") if isinstance(body, dict) else None
        said = f": {code}" if isinstance(code, str) and code.isascii() and len(code) < 64 else ""
        raise UpstreamError(
            f"source '{name}' could not get an access token (HTTP {response.status_code}){said}",
            status=response.status_code,
            source=name,
            provider="uipath",
        )
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not token:
        raise UpstreamError(
            f"source '{name}' answered the token request without an access token",
            status=response.status_code,
            source=name,
            provider="uipath",
        )
    expires_in = body.get("expires_in")
    # The flow's documented default lifetime is one hour; an answer without one is taken at that.
    lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 3600.0
    return token, lifetime
