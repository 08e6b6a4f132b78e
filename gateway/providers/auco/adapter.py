"""The Auco adapter: the company's webhook list (providers.md §5).

Auco keeps every webhook in one list on the company: ``GET /company`` reads it with the public key, ``PUT /company``
replaces it whole with the private key. So every read is one GET, and every write is a read-modify-write of the
whole list, serialised per Auco account by a lock (across replicas when the app passes the store's lock; an
in-process lock otherwise) so that two concurrent writes never lose one another's change.

Auco webhooks have no events and no enabled flag. Only ``default`` receives every notification [doc]; another
webhook receives a document's notifications only when its id was listed as that document was created [doc]. So
``default`` reads ``subscribe_to_all_events=True`` and ``events=()``, every other webhook
``subscribe_to_all_events=False`` with the whole catalogue as the types it may receive (for the documents naming it).

A company with no webhooks must get ``default`` first (every list must hold it [doc]): a create without
``providerId`` there makes ``default``; one with another ``providerId`` is a BAD_USER_INPUT (reason
``DEFAULT_WEBHOOK_REQUIRED``) saying so. Auco has no event-type endpoint: the kind's catalogue
(:data:`~gateway.providers.auco.catalogue.CATALOGUE`) is the documented list of document and package statuses.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import re
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, ClassVar

import httpx

from gateway.domain.records import (
    UNSET,
    Capability,
    EventTypeRecord,
    ProbeResult,
    WebhookFilter,
    WebhookRecord,
    WebhookSpec,
)
from gateway.errors import BadUserInput, NotFound, UpstreamError, UpstreamTimeout
from gateway.providers.auco.catalogue import CATALOGUE
from gateway.providers.auco.config import AucoSource
from gateway.providers.auth import HeaderAuth
from gateway.providers.base import Adapter
from gateway.providers.http import UpstreamClient, UpstreamObserver

COMPANY = "/company"
#: The webhook Auco requires in every list [doc]; it cannot be deleted.
DEFAULT_ID = "default"

#: A lock factory: ``lock(name)`` is held while one read-modify-write of the list runs.
LockFactory = Callable[[str], AbstractAsyncContextManager[None]]

_SLUG = re.compile(r"[^a-z0-9]+")
_CATALOGUE_NAMES: tuple[str, ...] = tuple(name for name, _ in CATALOGUE)

# asyncio locks belong to one event loop; one dict of them per loop, forgotten with the loop.
_PROCESS_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def process_lock(name: str) -> AsyncIterator[None]:
    """The default lock: one asyncio.Lock per name in this process, shared by every adapter of the same account.

    It serialises writes of one replica only; with several replicas the app passes the store's lock instead.
    """
    locks = _PROCESS_LOCKS.setdefault(asyncio.get_running_loop(), {})
    lock = locks.setdefault(name, asyncio.Lock())
    async with lock:
        yield


def lock_name(config: AucoSource) -> str:
    """``auco:<base_url>:<sha256 prefix of the public key>``: one name per account, with no key in it."""
    digest = hashlib.sha256(config.public_key.get_secret_value().encode()).hexdigest()[:16]
    return f"auco:{config.base_url}:{digest}"


def new_webhook_id(name: str | None) -> str:
    """A readable, unique id for a new webhook: a slug of its name plus a random suffix."""
    slug = _SLUG.sub("-", (name or "").lower()).strip("-")[:40].strip("-")
    suffix = uuid.uuid4().hex[:8]
    return f"{slug}-{suffix}" if slug else f"webhook-{suffix}"


def _writable(item: dict[str, Any]) -> dict[str, Any]:
    """``item`` as a PUT may send it back. A header without both key and value is dropped: [stand-in] a webhook
    without a header reads back as ``"header": {}``, and a PUT refuses a header that lacks either part [doc]."""
    header = item.get("header")
    if "header" in item and not (isinstance(header, dict) and header.get("key") and header.get("value")):
        return {k: v for k, v in item.items() if k != "header"}
    return item


class AucoAdapter(Adapter):
    """One Auco company (base URL up to and excluding ``/company``, e.g. ``https://api.auco.ai/v1.5/ext``)."""

    kind = "auco"
    capabilities = frozenset({Capability.WEBHOOKS, Capability.EVENT_TYPES, Capability.INBOUND_EVENTS})
    webhook_fields: ClassVar[frozenset[str]] = frozenset(
        {"url", "name", "provider_id", "authorization", "subscribe_to_all_events"}
    )
    config: AucoSource

    def __init__(self, name: str, config: AucoSource, http: UpstreamClient, *, lock: LockFactory | None = None) -> None:
        super().__init__(name, config, http)
        self._lock = lock or process_lock
        self.lock_name = lock_name(config)

    @classmethod
    def create(
        cls,
        name: str,
        config: AucoSource,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        observer: UpstreamObserver | None = None,
        on_write: Callable[[str], None] | None = None,
        lock: LockFactory | None = None,
        **extras: Any,
    ) -> AucoAdapter:
        """Build the adapter and its client. ``lock``: the cross-replica lock factory (default: in-process)."""
        public, private = config.public_key, config.private_key

        def key_for(request: httpx.Request) -> str:
            # The public key reads, the private key writes [doc]; no prefix.
            secret = public if request.method in ("GET", "HEAD") else private
            return secret.get_secret_value()

        # Errors are {"message": ...} [doc]: the default error text reads them.
        http = UpstreamClient(
            source=name,
            provider=cls.kind,
            config=config,
            auth=HeaderAuth("Authorization", key_for),
            transport=transport,
            observer=observer,
            on_write=on_write,
        )
        return cls(name, config, http, lock=lock)

    # -- reads ----------------------------------------------------------------------------------------------------

    async def probe(self) -> ProbeResult:
        """Checks the public key only: the private key can only be proven by a write."""
        return await self.probe_by(self._company)

    async def list_webhooks(self, filter: WebhookFilter) -> list[WebhookRecord]:
        """Every webhook of the company matching ``filter`` (one GET; Auco cannot filter)."""
        return [record for record in await self._records() if filter.matches(record)]

    async def get_webhooks(self, ids: Sequence[str]) -> list[WebhookRecord | None]:
        """One item per id, in order, None where absent, from ONE read of the company whatever the number of ids."""
        if not ids:
            return []
        by_id = {record.provider_id: record for record in await self._records()}
        return [by_id.get(key) for key in ids]

    async def _records(self) -> tuple[WebhookRecord, ...]:
        """The company's webhooks as records. An answer byte for byte equal to the last one reuses its records (see
        :meth:`UpstreamClient.decode_once`): a dashboard reads the same list on every request."""
        response = await self.http.request("GET", COMPANY, read=True)
        return self.http.decode_once(COMPANY, response, self._parse_records)

    def _parse_records(self, body: Any) -> tuple[WebhookRecord, ...]:
        if not isinstance(body, dict):
            raise self._unexpected("the company")
        return tuple(record for item in self._items(body) if (record := self._record(item)) is not None)

    async def event_types(self) -> list[EventTypeRecord]:
        """The documented statuses; Auco has no endpoint for them."""
        return [EventTypeRecord(provider=self.kind, source=self.name, name=n, group=g) for n, g in CATALOGUE]

    # -- writes: read-modify-write of the whole list, under the account's lock -------------------------------------

    async def create_webhook(self, spec: WebhookSpec) -> WebhookRecord:
        if spec.url is UNSET:
            raise BadUserInput("an Auco webhook needs a url", field="url", source=self.name, provider=self.kind)
        name = spec.name if isinstance(spec.name, str) else None
        chosen = spec.provider_id if spec.provider_id is not UNSET else None
        if chosen is not None and not chosen.strip():
            raise BadUserInput("providerId cannot be empty", field="providerId", source=self.name, provider=self.kind)
        self._check(spec, chosen)  # all that can be checked before the list is read
        # The id is settled under the lock, once the list is read: the first webhook of a company is ``default``.
        made: list[str] = []

        def change(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            has_default = any(item.get("id") == DEFAULT_ID for item in items)
            if not has_default and chosen not in (None, DEFAULT_ID):
                raise BadUserInput(
                    f"source '{self.name}' has no '{DEFAULT_ID}' webhook yet, and Auco requires it in every list: "
                    f'create it first (leave providerId out, or pass providerId: "{DEFAULT_ID}"), then '
                    f"'{chosen}'",
                    field="providerId",
                    source=self.name,
                    provider=self.kind,
                    reason="DEFAULT_WEBHOOK_REQUIRED",
                )
            new_id = chosen if chosen is not None else (new_webhook_id(name) if has_default else DEFAULT_ID)
            self._check(spec, new_id)
            made.append(new_id)
            if any(item.get("id") == new_id for item in items):
                raise BadUserInput(
                    f"source '{self.name}' already has a webhook '{new_id}'",
                    field="providerId",
                    source=self.name,
                    provider=self.kind,
                )
            return [*items, self._apply({"id": new_id}, spec)]

        items = await self._write(change)
        return self._written(items, made[-1])

    async def update_webhook(self, provider_id: str, spec: WebhookSpec) -> WebhookRecord:
        self._check(spec, provider_id)
        if spec.provider_id is not UNSET and spec.provider_id != provider_id:
            raise BadUserInput(
                "an Auco webhook's id cannot be changed: create a new one and delete this one",
                field="providerId",
                source=self.name,
                provider=self.kind,
            )

        def change(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            index = self._index(items, provider_id)
            return [*items[:index], self._apply(items[index], spec), *items[index + 1 :]]

        return self._written(await self._write(change), provider_id)

    async def delete_webhook(self, provider_id: str) -> None:
        if provider_id == DEFAULT_ID:
            # Auco requires it in every list [doc]; refusing here names it instead of a bare 400 from upstream.
            raise BadUserInput(
                f"the '{DEFAULT_ID}' webhook of source '{self.name}' cannot be deleted: Auco requires it "
                "(update it instead)",
                field="id",
                source=self.name,
                provider=self.kind,
            )

        def change(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            index = self._index(items, provider_id)
            return [*items[:index], *items[index + 1 :]]

        await self._write(change)

    # -- helpers --------------------------------------------------------------------------------------------------

    async def _company(self) -> dict[str, Any]:
        body = await self.http.json("GET", COMPANY, read=True)
        if not isinstance(body, dict):
            raise self._unexpected("the company")
        return body

    def _items(self, company: dict[str, Any]) -> list[dict[str, Any]]:
        # Every item is kept whole, unknown fields included: a PUT writes back what it read, changed only where asked.
        webhooks = company.get("webhooks")
        return [_writable(item) for item in webhooks if isinstance(item, dict)] if isinstance(webhooks, list) else []

    async def _write(self, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Under the account's lock: GET the list, ``change`` it, PUT it back. Answers the list as written."""
        async with contextlib.AsyncExitStack() as stack:
            try:
                # Waiting for the lock is bounded like any upstream call: a write stuck elsewhere cannot pile up
                # every later write behind it.
                async with asyncio.timeout(self.config.timeout_s):
                    await stack.enter_async_context(self._lock(self.lock_name))
            except TimeoutError:
                raise UpstreamTimeout(
                    f"source '{self.name}': another change to its webhooks did not finish in time",
                    source=self.name,
                    provider=self.kind,
                ) from None
            items = change(copy.deepcopy(self._items(await self._company())))
            answer = await self.http.json("PUT", COMPANY, read=False, json={"webhooks": items})
        # [stand-in] PUT answers the company; should it answer anything else, what was sent is what Auco now has.
        return self._items(answer) if isinstance(answer, dict) and isinstance(answer.get("webhooks"), list) else items

    def _written(self, items: list[dict[str, Any]], provider_id: str) -> WebhookRecord:
        record = next((self._record(item) for item in items if item.get("id") == provider_id), None)
        if record is None:
            raise self._unexpected("the webhook list without the webhook just written")
        return record

    def _check(self, spec: WebhookSpec, provider_id: str | None) -> None:
        """What Auco cannot store; ``provider_id`` None: not settled yet (its routing is checked once it is)."""
        every = spec.subscribe_to_all_events
        if provider_id is not None and every is not UNSET and every is not (provider_id == DEFAULT_ID):
            raise BadUserInput(
                f"on Auco only the '{DEFAULT_ID}' webhook receives every notification; another webhook receives a "
                "document's notifications when its id is listed as the document is created: subscribeToAllEvents "
                f"is {'true' if provider_id == DEFAULT_ID else 'false'} for '{provider_id}'",
                field="subscribeToAllEvents",
                source=self.name,
                provider=self.kind,
            )
        auth = spec.authorization
        if auth is not UNSET and not (
            auth.type == "NONE" or (auth.type == "HEADER" and auth.header_key and auth.header_value)
        ):
            raise BadUserInput(
                "Auco sends one header with each delivery: use authorization { header: { key, value } } or none",
                field="authorization",
                source=self.name,
                provider=self.kind,
            )

    @staticmethod
    def _apply(item: dict[str, Any], spec: WebhookSpec) -> dict[str, Any]:
        """``item`` with what ``spec`` sets. Auco needs a description: without a name, the url stands in for it."""
        updated = dict(item)
        if spec.url is not UNSET:
            updated["url"] = spec.url
        if spec.name is not UNSET or not updated.get("description"):
            name = spec.name if spec.name is not UNSET else None
            updated["description"] = name or updated.get("url") or updated["id"]
        if spec.authorization is not UNSET:
            if spec.authorization.type == "HEADER":
                updated["header"] = {"key": spec.authorization.header_key, "value": spec.authorization.header_value}
            else:
                updated.pop("header", None)
        return updated

    def _index(self, items: list[dict[str, Any]], provider_id: str) -> int:
        for index, item in enumerate(items):
            if item.get("id") == provider_id:
                return index
        raise NotFound(f"source '{self.name}' has no webhook '{provider_id}'", source=self.name, provider=self.kind)

    def _record(self, item: dict[str, Any]) -> WebhookRecord | None:
        """One list item as a record; None for an item without an id. The header's value never enters it."""
        hook_id = item.get("id")
        if not isinstance(hook_id, str) or not hook_id:
            return None
        header = item.get("header")
        has_header = isinstance(header, dict) and bool(header.get("key"))
        description, url = item.get("description"), item.get("url")
        return WebhookRecord(
            source=self.name,
            provider=self.kind,
            provider_id=hook_id,
            url=url if isinstance(url, str) else "",
            enabled=True,
            # Only default gets every notification [doc]; others only those of documents that list them [doc].
            subscribe_to_all_events=hook_id == DEFAULT_ID,
            events=() if hook_id == DEFAULT_ID else _CATALOGUE_NAMES,
            name=description if isinstance(description, str) else None,
            has_secret=False,
            authorization_type="HEADER" if has_header else "NONE",
        )

    def _unexpected(self, what: str) -> UpstreamError:
        return UpstreamError(
            f"source '{self.name}' answered {what} in a shape the gateway does not understand",
            source=self.name,
            provider=self.kind,
        )
