"""A webhook's joined fields, prepared before the webhook is built: ``eventTypes`` and ``deliveryStatuses``.

Schema types load nothing: whatever makes webhooks (the list, ``webhook``, ``node(s)``, the mutations, an idempotent
replay) builds them with :meth:`WebhookJoins.webhooks` or :meth:`WebhookJoins.webhook`, which hand
:meth:`schema.types.Webhook.from_records` plain values for both fields. Those stay plain fields (no resolver), which
keeps them on the execution fast path: a dashboard of hundreds of webhooks makes no resolver call per webhook.

- ``eventTypes``: when the source's catalogue is at hand (this request loaded it, or the cross-request cache holds
  it, the usual case) the list is made at once; otherwise it is a :class:`~resolvers.loading.Later` that loads the
  catalogue only if the field is selected, and a failing catalogue answers [] with one error at the path of the field
  that made the webhooks.
- ``deliveryStatuses``: null at once where the source keeps none; otherwise a Later that loads through the request's
  loader if selected, a failure being an error at the field's own path.

A catalogue view also keeps the webhooks made from records of a source without delivery statuses: while the source
answers the same bytes its records are the same objects, and so are their webhooks (:attr:`CatalogueView.built`).

Every read of an event catalogue takes one route: the request's loaders (``ctx.loaders.event_types``, or
``known_event_types`` when nothing may wait), over the cross-request catalogue cache; :func:`catalogue` and
:func:`known_catalogue` give it as a :class:`CatalogueView`, whose EventType objects are made once per fetched
catalogue and shared by every request and webhook that shows them (nothing mutates a field value).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from gateway.context import Context, Info, path_of
from gateway.domain.records import Capability, EventTypeRecord, WebhookRecord
from resolvers import loading
from schema.types import DeliveryStatus, EventType, Webhook

#: Bound on the event-name sets remembered per catalogue (a tenant has few distinct subscriptions).
MAX_PICKED = 4096
#: Bound on the webhooks kept per catalogue view (records of answers no longer given are dropped with the rest).
MAX_BUILT = 4096


class CatalogueView:
    """A source's event types as schema objects, made once per fetched catalogue and shared by the webhooks that
    subscribe to them (the catalogue cache keeps it beside the records it was made from)."""

    __slots__ = ("built", "index", "picked", "types")

    def __init__(self, records: list[EventTypeRecord]) -> None:
        self.types = [EventType.from_record(r) for r in records]
        self.index = {t.name: i for i, t in enumerate(self.types)}
        #: The list picked for each set of subscribed names: webhooks are parsed anew on every request, but their
        #: event names repeat, and this view lives as long as the cached catalogue does.
        self.picked: dict[tuple[str, ...], list[EventType]] = {}
        #: Webhooks made with this view from records of a source that keeps no delivery statuses, by the record's id
        #: (the record is held with its webhook, so that the id cannot be reused). Such a webhook is a function of
        #: its (frozen) record and this view alone, and a source answering the same bytes gives the same record
        #: objects (``UpstreamClient.decode_once``): a dashboard then builds no webhook at all. Like the event types,
        #: the webhooks are shared by every request that shows them (nothing mutates a field value).
        self.built: dict[int, tuple[WebhookRecord, Webhook]] = {}

    def pick(self, record: WebhookRecord) -> list[EventType]:
        """The record's subscribed event types, in catalogue order.

        The list may be shared with other webhooks (of this request or a later one): nothing mutates a field value.
        """
        if record.subscribe_to_all_events:
            return self.types
        events = record.events
        found = self.picked.get(events)
        if found is None:
            index, types = self.index, self.types
            positions = [index[name] for name in events if name in index]
            positions.sort()
            found = [types[i] for i in positions]
            if len(self.picked) >= MAX_PICKED:
                self.picked.clear()
            self.picked[events] = found
        return found


def view_of(ctx: Context, source: str, records: list[EventTypeRecord]) -> CatalogueView:
    """The view of ``records``, the catalogue of ``source``: made once while the cache holds that catalogue."""
    return ctx.runtime.catalogues.view(source, records, CatalogueView)


async def catalogue(ctx: Context, source: str) -> CatalogueView:
    """The source's catalogue through the request's loader (cross-request cache first); raises if it cannot be had."""
    return view_of(ctx, source, await ctx.loaders.event_types(source))


def known_catalogue(ctx: Context, source: str) -> CatalogueView | None:
    """The source's catalogue if it is at hand, without I/O; None if it would have to be loaded."""
    records = ctx.loaders.known_event_types(source)
    return None if records is None else view_of(ctx, source, records)


#: What one webhook's joined fields hold: (eventTypes, deliveryStatuses), either possibly a Later.
Joined = tuple[list[EventType], list[DeliveryStatus] | None]


class WebhookJoins:
    """Prepares the joined fields of the webhooks one resolver call makes, deciding once per source what they take.

    Built with ``WebhookJoins(info)``; :meth:`webhooks` and :meth:`webhook` return the built Webhook objects.
    """

    def __init__(self, info: Info) -> None:
        self._ctx = info.context
        self._path = path_of(info)
        # Per source, decided once per call: what eventTypes and deliveryStatuses take (hundreds of webhooks share it).
        self._event_types: dict[str, CatalogueView | bool | None] = {}
        self._keeps_statuses: dict[str, bool] = {}

    def _catalogue(self, source: str) -> CatalogueView | bool | None:
        """The source's catalogue at hand; None if it has to be loaded; False if the source has none."""
        known = self._event_types.get(source, True)
        if known is True:
            adapter = self._ctx.runtime.adapters.get(source)
            if adapter is None or not adapter.has(Capability.EVENT_TYPES):
                known = False
            else:
                known = known_catalogue(self._ctx, source)
            self._event_types[source] = known
        return known

    def _keeps(self, source: str) -> bool:
        keeps = self._keeps_statuses.get(source)
        if keeps is None:
            adapter = self._ctx.runtime.adapters.get(source)
            keeps = self._keeps_statuses[source] = adapter is not None and adapter.has(Capability.DELIVERY_LOGS)
        return keeps

    def event_types(self, record: WebhookRecord) -> list[EventType]:
        """The subscribed event types in catalogue order: the list, or a Later of it (typed as the list, since
        graphql-core awaits a field value that is awaitable; see :class:`~resolvers.loading.Later`)."""
        known = self._catalogue(record.source)
        if isinstance(known, CatalogueView):
            return known.pick(record)
        if known is False:
            return []
        ctx, path, source = self._ctx, self._path, record.source

        async def load() -> list[EventType]:
            return view_of(ctx, source, await loading.event_types_or_report(ctx, source, path)).pick(record)

        return cast("list[EventType]", loading.Later(load))

    def delivery_statuses(self, record: WebhookRecord) -> list[DeliveryStatus] | None:
        """None where the source keeps no delivery statuses; otherwise a Later of them (typed as the list)."""
        if not self._keeps(record.source):
            return None
        ctx = self._ctx

        async def load() -> list[DeliveryStatus] | None:
            records = await loading.delivery_statuses_of(ctx, record.source, record.provider_id)
            return None if records is None else [DeliveryStatus.from_record(r) for r in records]

        return cast("list[DeliveryStatus] | None", loading.Later(load))

    def webhooks(self, records: Iterable[WebhookRecord]) -> list[Webhook]:
        """The webhooks of ``records``, in order: those a catalogue view holds already (see
        :attr:`CatalogueView.built`) as they are, the others built with their joined fields. What is decided per
        source is decided once per run of records of one source (a page of hundreds comes from a few sources)."""
        hooks: list[Webhook | None] = []
        missing: list[WebhookRecord] = []
        joined: list[Joined] = []
        places: list[tuple[int, CatalogueView | None]] = []  # of each missing webhook: its index, the view to keep it
        source: str | None = None
        view: CatalogueView | None = None
        built: dict[int, tuple[WebhookRecord, Webhook]] | None = None
        keeps = False
        for record in records:
            if record.source != source:
                source = record.source
                known = self._catalogue(source)
                view = known if isinstance(known, CatalogueView) else None
                keeps = self._keeps(source)
                built = view.built if view is not None and not keeps else None
            if built is not None:
                held = built.get(id(record))
                if held is not None and held[0] is record:
                    hooks.append(held[1])
                    continue
            if view is None:
                event_types = self.event_types(record)
            elif record.subscribe_to_all_events:
                event_types = view.types
            else:
                picked = view.picked.get(record.events)
                event_types = view.pick(record) if picked is None else picked
            places.append((len(hooks), view if built is not None else None))
            hooks.append(None)
            missing.append(record)
            joined.append((event_types, self.delivery_statuses(record) if keeps else None))
        if missing:
            for (index, keeper), record, hook in zip(
                places, missing, Webhook.from_records(missing, joined), strict=True
            ):
                hooks[index] = hook
                if keeper is not None:
                    if len(keeper.built) >= MAX_BUILT:
                        keeper.built.clear()
                    keeper.built[id(record)] = (record, hook)
        return cast("list[Webhook]", hooks)

    def webhook(self, record: WebhookRecord) -> Webhook:
        return self.webhooks([record])[0]
