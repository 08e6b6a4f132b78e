"""The Dixa adapter: webhook subscriptions with delivery statuses and logs (providers.md §4).

Dixa has no batch read and no filters on its list, so reads by id are one GET per distinct id, run concurrently
(the source's ``max_concurrency`` bounds them), and list filters are applied here. Dixa has no event-type endpoint
either: the 32 documented events are the kind's catalogue (:data:`~gateway.providers.dixa.catalogue.EVENTS`).

Credentials for deliveries are write-only. Dixa answers them folded into ``headers.Authorization`` ("Basic ..." or
"Bearer ..."); the record keeps only which kind it is, never the value, and ``secretKey`` becomes ``has_secret``.

Every subscription has its own ``secretKey``, which signs its deliveries. The adapter learns them from Dixa's
answers (a full list replaces the source's keys; a create, read or patch sets one; a delete forgets one) and keeps
them in the store (``Store.verification_keys*``, the ``verification_keys`` collaborator the runtime passes), where
``POST /hooks/{source}`` reads them. A key never enters a record, a log line or an error; a store that fails to keep
one costs a warning, not the read or write that brought it. A delivery that matches no known key makes the receiver
ask :meth:`DixaAdapter.refresh_verification_keys` once: the list is read again (at most once per
:data:`KEY_REFRESH_INTERVAL_S` per source in a process), so subscriptions created outside Hookgate verify too.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Final, Protocol
from urllib.parse import quote

import httpx
import orjson

from gateway.domain.records import (
    UNSET,
    Capability,
    DeliveryDetailRecord,
    DeliveryLogRecord,
    DeliveryStatusRecord,
    EventTypeRecord,
    ProbeResult,
    WebhookAuthorization,
    WebhookFilter,
    WebhookRecord,
    WebhookSpec,
)
from gateway.errors import BadUserInput, HookgateError, NotFound, UpstreamError
from gateway.parsing import parse_instant
from gateway.providers.auth import HeaderAuth
from gateway.providers.base import Adapter
from gateway.providers.dixa.catalogue import CATALOGUE, EVENTS
from gateway.providers.dixa.config import DixaSource
from gateway.providers.http import UpstreamClient, UpstreamObserver, next_page

WEBHOOKS = "/v1/webhooks"

log = logging.getLogger("hookgate.providers.dixa")

#: A source's keys are read again from Dixa for an unmatched delivery at most once per this many seconds (per process):
#: a flood of forged deliveries costs Dixa one list call per interval, not one each.
KEY_REFRESH_INTERVAL_S: Final = 30.0
#: How long a refresh may take: the delivering provider waits for the answer meanwhile.
KEY_REFRESH_TIMEOUT_S: Final = 5.0
#: How long an unchanged key set is taken as still stored (see ``DixaAdapter._keys_written``).
_REWRITE_UNCHANGED_S: Final = 60.0

#: A page of the subscription list, as parsed once per distinct answer: records, (id, secretKey) pairs, next link.
_ListPage = tuple[tuple[WebhookRecord, ...], tuple[tuple[str, str], ...], str | None]


class KeyBook(Protocol):
    """Where the subscriptions' secret keys are kept: the store's verification-key API (gateway/store/base.py)."""

    async def verification_keys_set(self, source: str, keys: Mapping[str, str], *, replace: bool = False) -> None: ...

    async def verification_key_delete(self, source: str, key_id: str) -> None: ...


_EVENT_SET = frozenset(EVENTS)


def subscription_id(value: str) -> str | None:
    """The canonical form of a subscription id (a UUID [doc]); None when ``value`` cannot be one (no call is made)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def authorization_type(headers: Any) -> str:
    """BASIC, TOKEN, HEADER or NONE, from the ``Authorization`` Dixa folds into ``headers``. The value is dropped.

    An ``Authorization`` that is neither Basic nor Bearer can only be a custom header. A HEADER authorization under
    another header name reads back as NONE: Dixa's answer cannot tell it from any other custom header.
    """
    if not isinstance(headers, dict):
        return "NONE"
    value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == "authorization"), None)
    if not isinstance(value, str) or not value:
        return "NONE"
    scheme = value.split(" ", 1)[0].lower()
    return {"basic": "BASIC", "bearer": "TOKEN"}.get(scheme, "HEADER")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _payload(value: Any) -> Any:
    """A logged delivery body: a JSON string [doc], decoded; a string that is not JSON is kept as it is."""
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return value


def _delivery(value: Any) -> DeliveryDetailRecord | None:
    """A ``DeliveryDetail``; None for ``NoRecentDelivery`` or a detail without a readable timestamp."""
    if not isinstance(value, dict) or value.get("_type", "DeliveryDetail") != "DeliveryDetail":
        return None
    delivered_at = parse_instant(value.get("deliveryTimestamp"))
    if delivered_at is None:
        return None
    code, text = value.get("responseCode"), value.get("responseText")
    return DeliveryDetailRecord(
        delivered_at=delivered_at,
        success=value.get("success") is True,
        response_code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        response_text=text if isinstance(text, str) else None,
    )


class DixaAdapter(Adapter):
    """One Dixa organisation (base URL up to and excluding ``/v1``)."""

    kind = "dixa"
    capabilities = frozenset(
        {Capability.WEBHOOKS, Capability.EVENT_TYPES, Capability.DELIVERY_LOGS, Capability.INBOUND_EVENTS}
    )
    webhook_fields: ClassVar[frozenset[str]] = frozenset(
        {"url", "events", "enabled", "name", "authorization", "custom_headers"}
    )
    config: DixaSource

    def __init__(
        self, name: str, config: DixaSource, http: UpstreamClient, *, verification_keys: KeyBook | None = None
    ) -> None:
        super().__init__(name, config, http)
        self._keys = verification_keys
        #: When (time.monotonic) the keys were last refreshed for an unmatched delivery; None: never.
        self._refreshed_at: float | None = None
        self._refreshing = asyncio.Lock()
        #: The full key set this adapter last wrote with ``replace`` and when (time.monotonic): a list that finds the
        #: same keys again writes nothing (every dashboard read lists Dixa), but at least once a minute it does, so a
        #: store emptied behind our back (another replica, a flushed Redis) is filled again.
        self._keys_written: tuple[dict[str, str], float] | None = None

    @classmethod
    def create(
        cls,
        name: str,
        config: DixaSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: UpstreamObserver | None = None,
        on_write: Callable[[str], None] | None = None,
        verification_keys: KeyBook | None = None,
        **extras: Any,
    ) -> DixaAdapter:
        """Build the adapter and its client. ``verification_keys``: where learned secret keys are kept (the store);
        other ``extras`` (a lock factory...) are for other kinds and are ignored."""
        key = config.api_key
        # The bare key, no scheme [doc]: Dixa refuses "Bearer <key>" like a wrong key. Errors are {"message"} [doc],
        # which the default error text reads.
        auth = HeaderAuth("Authorization", lambda _: key.get_secret_value())
        http = UpstreamClient(
            source=name,
            provider=cls.kind,
            config=config,
            auth=auth,
            transport=transport,
            observer=observer,
            on_write=on_write,
        )
        return cls(name, config, http, verification_keys=verification_keys)

    # -- reads ----------------------------------------------------------------------------------------------------

    async def probe(self) -> ProbeResult:
        return await self.probe_by(lambda: self.http.json("GET", WEBHOOKS, read=True))

    async def list_webhooks(self, filter: WebhookFilter) -> list[WebhookRecord]:
        """Every subscription matching ``filter`` (Dixa cannot filter: the gateway does)."""
        records, keys, link = await self._list_page(WEBHOOKS)
        found, learnt = list(records), list(keys)
        seen: set[str] = set()
        # [likely] The webhook list is not documented as paged; Dixa's paged lists say so with meta.next (a path).
        while link:
            records, keys, link = await self._list_page(self._checked_link(link, seen))
            found.extend(records)
            learnt.extend(keys)
        await self._learn_keys(dict(learnt), replace=True)
        return [record for record in found if filter.matches(record)]

    async def _list_page(self, url: str) -> _ListPage:
        """One page of the list. An answer byte for byte equal to this URL's last one reuses its parse (see
        :meth:`UpstreamClient.decode_once`): a dashboard lists the same subscriptions on every request."""
        response = await self.http.request("GET", url, read=True)
        return self.http.decode_once(url, response, self._parse_list_page)

    def _parse_list_page(self, body: Any) -> _ListPage:
        """(records, (id, secretKey) pairs, the next page's link): immutable, since requests share it."""
        items = self._data_list(body, "subscriptions")
        records = tuple(record for item in items if (record := self._record(item)) is not None)
        meta = body.get("meta")  # a dict: _data_list() accepted it
        link = str(meta["next"]) if isinstance(meta, dict) and meta.get("next") else None
        return records, tuple(self._keys_of(items).items()), link

    async def refresh_verification_keys(self) -> bool:
        """Read every subscription again to learn their keys, for a delivery that matched none of the stored ones
        (a subscription created outside Hookgate, or a key Dixa changed). At most once per
        :data:`KEY_REFRESH_INTERVAL_S`, concurrent callers sharing one read; True when this call's read succeeded,
        False when it was skipped or failed (logged without its reason's text, which is the caller's to refuse)."""
        if self._keys is None:
            return False
        async with self._refreshing:
            now = time.monotonic()
            if self._refreshed_at is not None and now - self._refreshed_at < KEY_REFRESH_INTERVAL_S:
                return False
            self._refreshed_at = now
            self._keys_written = None  # the stored keys failed a delivery: write what Dixa lists, even if unchanged
            try:
                async with asyncio.timeout(KEY_REFRESH_TIMEOUT_S):
                    await self.list_webhooks(WebhookFilter())
            except (HookgateError, TimeoutError) as exc:
                log.warning("source %s: refreshing subscriptions' keys failed: %s", self.name, type(exc).__name__)
                return False
            return True

    async def get_webhooks(self, ids: Sequence[str]) -> list[WebhookRecord | None]:
        """One item per id, in order, None where absent: one GET per distinct id (no batch endpoint), concurrently."""
        canonical = {key: cid for key in ids if (cid := subscription_id(key)) is not None}
        distinct = list(dict.fromkeys(canonical.values()))
        answers = await asyncio.gather(*(self._get(cid) for cid in distinct), return_exceptions=True)
        found: dict[str, WebhookRecord | None] = {}
        for cid, answer in zip(distinct, answers, strict=True):
            if isinstance(answer, BaseException):
                raise answer  # all have finished: nothing is left running behind the error
            found[cid] = answer
        return [found.get(canonical[key]) if key in canonical else None for key in ids]

    async def event_types(self) -> list[EventTypeRecord]:
        """The documented catalogue: Dixa has no endpoint for it."""
        return [EventTypeRecord(provider=self.kind, source=self.name, name=n, group=g) for n, g in CATALOGUE]

    async def delivery_statuses(self, provider_id: str) -> list[DeliveryStatusRecord] | None:
        """The last delivery per subscribed event; None when the subscription does not exist."""
        cid = subscription_id(provider_id)
        if cid is None:
            return None
        url = f"{WEBHOOKS}/{cid}/delivery-status"
        try:
            response = await self.http.request("GET", url, read=True)
        except NotFound:
            return None
        # A dashboard asks for the same unchanged statuses on every request: parsed once per distinct answer.
        return list(self.http.decode_once(url, response, self._statuses))

    def _statuses(self, body: Any) -> tuple[DeliveryStatusRecord, ...]:
        statuses: list[DeliveryStatusRecord] = []
        for item in self._data_list(body, "delivery statuses"):
            event = item.get("event")
            if isinstance(event, str) and event:
                statuses.append(DeliveryStatusRecord(event=event, last_delivery=_delivery(item.get("deliveryStatus"))))
        return tuple(statuses)

    async def delivery_log(self, provider_id: str, event: str, first: int) -> list[DeliveryLogRecord] | None:
        """The newest ``first`` deliveries of ``event``; None when the subscription does not exist."""
        if event not in _EVENT_SET:
            # Dixa would answer a bare 400 "Invalid value in request"; naming the event is more use to the caller.
            raise BadUserInput(
                f"'{event}' is not a Dixa event type", field="event", source=self.name, provider=self.kind
            )
        cid = subscription_id(provider_id)
        if cid is None:
            return None
        if first <= 0:
            return []
        try:
            body = await self.http.json("GET", f"{WEBHOOKS}/{cid}/delivery-status/logs/{quote(event)}", read=True)
        except NotFound:
            return None
        entries: list[DeliveryLogRecord] = []
        for item in self._data_list(body, "delivery logs"):
            delivery = _delivery(item.get("deliveryDetail"))
            if delivery is not None:  # an entry without a readable delivery has nothing to show
                entries.append(DeliveryLogRecord(delivery=delivery, payload=_payload(item.get("payload"))))
        # Dixa answers newest first; it has no page size, so the cut is made here.
        return entries[:first]

    # -- writes (never retried) -----------------------------------------------------------------------------------

    async def create_webhook(self, spec: WebhookSpec) -> WebhookRecord:
        for field, value in (("url", spec.url), ("name", spec.name)):
            if value is UNSET or not value:
                raise BadUserInput(f"a Dixa webhook needs a {field}", field=field, source=self.name, provider=self.kind)
        body = self._body(spec, current_headers={})
        body.setdefault("authorization", {"_type": "NoAuth"})  # required by Dixa [doc]
        body.setdefault("events", [])
        body.setdefault("enabled", True)
        return await self._written(await self.http.json("POST", WEBHOOKS, read=False, json=body))

    async def update_webhook(self, provider_id: str, spec: WebhookSpec) -> WebhookRecord:
        path = f"{WEBHOOKS}/{self._id_or_not_found(provider_id)}"
        if spec.name is not UNSET and not spec.name:
            raise BadUserInput("a Dixa webhook needs a name", field="name", source=self.name, provider=self.kind)
        current_headers: dict[str, str] = {}
        header_auth = spec.authorization is not UNSET and spec.authorization.type == "HEADER"
        if header_auth and spec.custom_headers is UNSET:
            # A HEADER authorization lives in customHeaders, which a PATCH replaces whole: keep the others. The
            # current Authorization is dropped: it is the old authorization, which this one replaces.
            current = self._data(await self.http.json("GET", path, read=True))
            headers = current.get("headers")
            current_headers = {
                k: v
                for k, v in (headers.items() if isinstance(headers, dict) else ())
                if isinstance(k, str) and isinstance(v, str) and k.lower() != "authorization"
            }
        body = self._body(spec, current_headers=current_headers)
        return await self._written(await self.http.json("PATCH", path, read=False, json=body))

    async def delete_webhook(self, provider_id: str) -> None:
        cid = self._id_or_not_found(provider_id)
        await self.http.request("DELETE", f"{WEBHOOKS}/{cid}", read=False)
        if self._keys is not None:
            try:
                await self._keys.verification_key_delete(self.name, cid)
                if self._keys_written is not None:
                    self._keys_written = (
                        {k: v for k, v in self._keys_written[0].items() if k != cid},
                        self._keys_written[1],
                    )
            except Exception as exc:  # the subscription is gone; a key left behind is dropped by the next list
                log.warning(
                    "source %s: forgetting a deleted subscription's key failed: %s", self.name, type(exc).__name__
                )

    async def _learn(self, items: Sequence[Mapping[str, Any]], *, replace: bool = False) -> None:
        """Keep the ``secretKey`` of each subscription in ``items`` (``replace``: they are all there are)."""
        if self._keys is not None:
            await self._learn_keys(self._keys_of(items), replace=replace)

    @staticmethod
    def _keys_of(items: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        return {
            item["id"]: key
            for item in items
            if isinstance(item.get("id"), str) and isinstance(key := item.get("secretKey"), str) and key
        }

    async def _learn_keys(self, keys: dict[str, str], *, replace: bool = False) -> None:
        """Keep ``keys`` (subscription id to secretKey; ``replace``: they are all there are)."""
        if self._keys is None:
            return
        if not keys and not replace:
            return
        now = time.monotonic()
        if self._keys_written is not None and now - self._keys_written[1] < _REWRITE_UNCHANGED_S:
            known = self._keys_written[0]
            if (keys == known) if replace else all(known.get(cid) == key for cid, key in keys.items()):
                return
        try:
            await self._keys.verification_keys_set(self.name, keys, replace=replace)
        except Exception as exc:  # never the key, never the failure of the read that brought it
            self._keys_written = None
            log.warning("source %s: keeping subscriptions' secret keys failed: %s", self.name, type(exc).__name__)
            return
        if replace:
            self._keys_written = (keys, now)
        elif self._keys_written is not None:
            self._keys_written = ({**self._keys_written[0], **keys}, self._keys_written[1])

    # -- helpers --------------------------------------------------------------------------------------------------

    def _body(self, spec: WebhookSpec, *, current_headers: Mapping[str, str]) -> dict[str, Any]:
        """The create/patch fields ``spec`` sets. ``current_headers``: custom headers a HEADER authorization joins."""
        body: dict[str, Any] = {}
        if spec.name is not UNSET:
            body["name"] = spec.name
        if spec.url is not UNSET:
            body["url"] = spec.url
        if spec.events is not UNSET:
            body["events"] = list(spec.events)
        if spec.enabled is not UNSET:
            body["enabled"] = spec.enabled
        headers: dict[str, str] | None = None
        if spec.custom_headers is not UNSET:
            headers = dict(spec.custom_headers or {})  # None in an update means: no custom headers any more
        if spec.authorization is not UNSET:
            body["authorization"], extra = self._authorization(spec.authorization)
            if extra:
                headers = {**(current_headers if headers is None else headers), **extra}
        if headers is not None:
            body["customHeaders"] = headers
        return body

    def _authorization(self, auth: WebhookAuthorization) -> tuple[dict[str, Any], dict[str, str]]:
        """Dixa's authorization object [doc], and the custom header a HEADER authorization becomes [likely]."""
        if auth.type == "BASIC" and auth.username and auth.password:
            return {"_type": "BasicAuth", "username": auth.username, "password": auth.password}, {}
        if auth.type == "TOKEN" and auth.token:
            return {"_type": "TokenAuth", "value": auth.token}, {}
        if auth.type == "HEADER" and auth.header_key and auth.header_value:
            # Dixa has no header authorization; a custom header sent with every delivery does the same job.
            return {"_type": "NoAuth"}, {auth.header_key: auth.header_value}
        if auth.type == "NONE":
            return {"_type": "NoAuth"}, {}
        raise BadUserInput(
            f"authorization {auth.type} is incomplete or not supported by Dixa",
            field="authorization",
            source=self.name,
            provider=self.kind,
        )

    async def _get(self, cid: str) -> WebhookRecord | None:
        try:
            body = await self.http.json("GET", f"{WEBHOOKS}/{cid}", read=True)
        except NotFound:
            return None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return None
        await self._learn([data])
        return self._record(data)

    def _id_or_not_found(self, provider_id: str) -> str:
        cid = subscription_id(provider_id)
        if cid is None:
            raise NotFound(f"source '{self.name}' has no webhook '{provider_id}'", source=self.name, provider=self.kind)
        return cid

    def _checked_link(self, link: str, seen: set[str]) -> str:
        return next_page(self.config.base_url, link, seen, self._unexpected)

    def _data_list(self, body: Any, what: str) -> list[dict[str, Any]]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise self._unexpected(what)
        return [item for item in data if isinstance(item, dict)]

    def _data(self, body: Any) -> dict[str, Any]:
        """The subscription in a ``{"data": ...}`` answer; UPSTREAM_ERROR when there is none."""
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or self._record(data) is None:
            raise self._unexpected("a subscription")
        return data

    async def _written(self, body: Any) -> WebhookRecord:
        data = self._data(body)
        await self._learn([data])
        record = self._record(data)
        assert record is not None  # _data checked it
        return record

    def _record(self, item: Mapping[str, Any]) -> WebhookRecord | None:
        """A WebhookSubscription as a record; None for one without an id."""
        sid = item.get("id")
        if not isinstance(sid, str) or not sid:
            return None
        events = item.get("subscribedEvents", item.get("events"))
        name, url = item.get("name"), item.get("url")
        return WebhookRecord(
            source=self.name,
            provider=self.kind,
            provider_id=sid,
            url=url if isinstance(url, str) else "",
            enabled=item.get("enabled", True) is not False,
            subscribe_to_all_events=False,  # Dixa subscriptions always name their events
            events=tuple(dict.fromkeys(e for e in events if isinstance(e, str))) if isinstance(events, list) else (),
            name=name if isinstance(name, str) else None,
            has_secret=bool(item.get("secretKey")),
            authorization_type=authorization_type(item.get("headers")),
            created_at=parse_instant(item.get("createdAt")),
            updated_at=parse_instant(item.get("updatedAt")),
            created_by=_text(item.get("createdBy")),
            updated_by=_text(item.get("updatedBy")),
        )

    def _unexpected(self, what: str) -> UpstreamError:
        return UpstreamError(
            f"source '{self.name}' answered {what} in a shape the gateway does not understand",
            source=self.name,
            provider=self.kind,
        )
