"""A provider kind as one value: its :class:`Kit` (config model, adapter, inbound verifier and normaliser, catalogue).

Each kind's package (``gateway/providers/<kind>/``) defines ``KIT``; ``gateway/providers/registry.py`` passes the kits
to :func:`check_kit` when it registers them, which refuses, at import, a kit whose adapter lacks a method of a
capability it declares (the one map of ``gateway.domain.ports.PROTOCOLS``), or whose names disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from gateway.domain.ports import missing_members
from gateway.domain.records import Capability
from gateway.providers.base import Adapter
from gateway.providers.inbound import Normalised
from gateway.providers.source import SourceBase

C = TypeVar("C", bound=SourceBase)
C_contra = TypeVar("C_contra", bound=SourceBase, contravariant=True)


class Verify(Protocol[C_contra]):
    """``verify(source, config, headers, body, now)``: return if authentic, raise a ``SignatureError`` if not."""

    def __call__(self, source: str, config: C_contra, headers: Mapping[str, str], body: bytes, now: float) -> None: ...


class VerifyWithKeys(Protocol[C_contra]):
    """``verify(source, config, headers, body, now, keys=...)``: as :class:`Verify`, also accepting any of ``keys``,
    the verification keys the source's adapter learned from the provider and kept in the store."""

    def __call__(
        self,
        source: str,
        config: C_contra,
        headers: Mapping[str, str],
        body: bytes,
        now: float,
        *,
        keys: Sequence[str],
    ) -> None: ...


#: ``normalise(payload, headers)``: the type, event id and time a verified delivery names.
Normalise = Callable[[Mapping[str, Any], Mapping[str, str]], Normalised]


class KitError(TypeError):
    """A kit cannot be registered: what is wrong with it is in the message."""


@dataclass(frozen=True, slots=True)
class Kit(Generic[C]):
    """Everything the gateway knows of one provider kind."""

    kind: str
    #: The ``[sources.NAME]`` model of the kind (a :class:`SourceBase` with ``kind: Literal["<kind>"]``).
    config: type[C]
    #: The adapter class; its ``create(name, config, transport=..., **extras)`` builds one source.
    adapter: type[Adapter]
    #: Signature check of a delivery to ``POST /hooks/{source}``, on the raw body.
    verify: Verify[C]
    #: Type, event id and time of a verified delivery.
    normalise: Normalise
    #: (name, group) of the kind's documented event types; empty when the provider lists its own or has none.
    catalogue: tuple[tuple[str, str], ...]
    #: The ``[sources.NAME]`` table of a source pointed at the sandbox served at the given URL (no trailing slash).
    sandbox: Callable[[str], dict[str, Any]]
    #: For a kind whose provider hands out a key per subscription (Dixa's ``secretKey``): the check that also takes
    #: the keys its adapter stored (``Store.verification_keys``); the receiver reads them before it verifies.
    verify_with_keys: VerifyWithKeys[C] | None = None


def check_kit(kit: Kit[Any]) -> Kit[Any]:
    """``kit`` if it is whole and consistent; :class:`KitError` naming the kind and each problem otherwise."""
    problems = []
    if kit.adapter.kind != kit.kind:
        problems.append(f"its adapter {kit.adapter.__name__} says kind {kit.adapter.kind!r}")
    default = kit.config.model_fields["kind"].default
    if default != kit.kind:
        problems.append(f"its config model {kit.config.__name__} has kind {default!r}")
    missing = missing_members(kit.adapter, kit.adapter.capabilities)
    if missing:
        problems.append(f"its adapter {kit.adapter.__name__} lacks {', '.join(missing)}")
    if kit.catalogue and Capability.EVENT_TYPES not in kit.adapter.capabilities:
        problems.append("it lists a catalogue but its adapter does not declare EVENT_TYPES")
    if problems:
        raise KitError(f"provider kind {kit.kind!r} cannot be registered: " + "; ".join(problems))
    return kit
