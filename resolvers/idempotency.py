"""``Idempotency-Key`` on the resolver side: a mutation's payload as stored JSON and back, and the GraphQL checks.

The rules (claims, leases, waits, what is released and what is recorded) are in ``gateway/idempotency.py``; every
mutation resolver goes through :func:`run_idempotent` (see ``resolvers/mutations.py``).

The stored answer is tagged JSON: every object is one of {"$type": name, "fields": {...}} (a schema type),
{"$enum": name, "value": v}, {"$datetime": iso}, {"$webhook": {...}} (see below) or {"$map": {...}} (a plain dict, e.g.
a JSON scalar's content). Names are GraphQL type names (``WebhookPayload``, ``CancelActionType``), so moving a class
between modules does not orphan the answers stored under it. Tagging every dict keeps a JSON value that happens to
contain "$type" from being mistaken for a type. Only the schema's own types can be rebuilt.

A Webhook's joined fields (eventTypes, deliveryStatuses) are prepared when it is built, possibly as loads that run
only if selected: a Webhook is therefore kept as the record it was built from and rebuilt with the request's
:class:`~resolvers.joins.WebhookJoins` on replay, so those fields are computed afresh for the repeat, like any nested
read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime
from enum import Enum
from typing import Any, Final, TypeVar, cast

import strawberry
from graphql import FieldNode
from starlette.datastructures import MutableHeaders

from gateway import idempotency
from gateway.context import Context
from gateway.domain.records import WebhookRecord
from gateway.errors import BadUserInput
from gateway.uploads import UploadedFile
from resolvers.joins import WebhookJoins
from schema import enums, payloads, types
from schema.types import Webhook

R = TypeVar("R")

HEADER = idempotency.HEADER
REPLAYED_HEADER = idempotency.REPLAYED_HEADER


def _graphql_name(cls: type) -> str | None:
    definition = getattr(cls, "__strawberry_definition__", None)
    name = getattr(definition, "name", None)
    return name if isinstance(name, str) else None


def _schema_classes() -> dict[str, type]:
    """The schema's types and enums by GraphQL name: what a stored answer may name. Provider records and other
    imported classes are never rebuilt."""
    found: dict[str, type] = {}
    for module in (types, payloads, enums):
        for value in vars(module).values():
            name = _graphql_name(value) if isinstance(value, type) else None
            if name is not None:
                found[name] = value
    return found


#: GraphQL name -> class; and the reverse, for the classes that may be stored.
_CLASSES = _schema_classes()
_NAMES: Final = {cls: name for name, cls in _CLASSES.items()}

_WEBHOOK_RECORD_FIELDS = tuple(f.name for f in dataclasses.fields(WebhookRecord))


# -- the fingerprint ------------------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """An input as plain JSON values, for the fingerprint. Fields left UNSET are omitted; nulls stay."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not strawberry.UNSET
        }
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, UploadedFile):
        return value.fingerprint()  # a digest of the bytes, not the bytes
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def fingerprint(name: str, input: Any) -> str:
    """sha256 of the mutation's name and the canonical JSON of its whole input."""
    return idempotency.fingerprint_of(name, _plain(input))


# -- the stored answer ----------------------------------------------------------------------------------------------


def _name_of(cls: type) -> str:
    name = _NAMES.get(cls)
    if name is None:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__} is not a schema type")
    return name


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return {"$enum": _name_of(type(value)), "value": value.value}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, Webhook):
        return {"$webhook": {name: _encode(getattr(value, name)) for name in _WEBHOOK_RECORD_FIELDS}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = _name_of(type(value))
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return {"$type": name, "fields": fields}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {"$map": {str(k): _encode(v) for k, v in value.items()}}
    raise TypeError(f"cannot keep a {type(value).__name__} for replay")


class _Decoder:
    """Rebuilds a stored payload for one resolver call (``info``: for the joins of a rebuilt Webhook)."""

    def __init__(self, info: Any) -> None:
        self._info = info
        self._joins: WebhookJoins | None = None

    def decode(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.decode(item) for item in value]
        if not isinstance(value, dict):
            return value
        if "$map" in value:
            return {k: self.decode(v) for k, v in value["$map"].items()}
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$enum" in value:
            return _CLASSES[value["$enum"]](value["value"])
        if "$webhook" in value:
            return self._webhook(value["$webhook"])
        cls = _CLASSES[value["$type"]]
        return cls(**{k: self.decode(v) for k, v in value["fields"].items()})

    def _webhook(self, stored: dict[str, Any]) -> Webhook:
        fields = {k: self.decode(v) for k, v in stored.items()}
        fields["provider"] = fields["provider"].value
        fields["events"] = tuple(fields["events"])
        if self._joins is None:
            self._joins = WebhookJoins(self._info)
        return self._joins.webhook(WebhookRecord(**fields))


def encode_payload(payload: Any) -> bytes:
    """A mutation's payload as stored bytes (TypeError for anything but the schema's types and JSON values)."""
    return idempotency.encode_answer(_encode(payload))


def decode_answer(data: bytes, info: Any = None) -> Any:
    """The payload a stored answer holds, rebuilt for the resolver call ``info`` (needed when it holds a Webhook);
    raises the stored error for a recorded failure."""
    return _Decoder(info).decode(idempotency.decode_answer(data))


# -- the resolver's side of the rule --------------------------------------------------------------------------------


async def run_idempotent(info: Any, name: str, input: Any, call: Callable[[], Awaitable[R]]) -> R:
    """Run ``call`` (the mutation ``name`` on ``input``) under the request's Idempotency-Key, if it has one."""
    ctx: Context = info.context
    if ctx.idempotency_key is None:
        return await call()
    key = idempotency.check_key(ctx.idempotency_key)
    _check_single_field(info)

    def replay(stored: bytes) -> R:
        headers = getattr(info.context.response, "headers", None)
        if isinstance(headers, MutableHeaders):
            headers[REPLAYED_HEADER] = "true"
        return cast(R, decode_answer(stored, info))

    return await idempotency.run_keyed(
        ctx.runtime.store,
        ctx.runtime.settings,
        scope=ctx.principal.name,
        key=key,
        fingerprint=fingerprint(name, input),
        call=call,
        encode=encode_payload,
        replay=replay,
    )


def _check_single_field(info: Any) -> None:
    selections = info.operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode):
        raise BadUserInput(
            f"an {HEADER} covers one mutation field: send one mutation per request when using it", field=HEADER
        )
