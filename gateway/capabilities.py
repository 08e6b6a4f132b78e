"""Reaching a source's capability: :func:`require` answers the source typed as the capability's Protocol, or raises
``CAPABILITY_UNSUPPORTED`` naming the source and the capability, instead of answering with a silent empty list.

The check itself is the domain's (:func:`gateway.domain.ports.provides` over the one map ``PROTOCOLS``); this module
only adds the error, which the domain may not import.
"""

from __future__ import annotations

from typing import TypeVar

from gateway.domain.ports import Source, capability_of, provides
from gateway.domain.records import Capability
from gateway.errors import CapabilityUnsupported

P = TypeVar("P")


def unsupported(source: Source, capability: Capability) -> CapabilityUnsupported:
    return CapabilityUnsupported(
        f"source '{source.name}' ({source.kind}) does not support {capability.value}",
        source=source.name,
        provider=source.kind,
        capability=capability.value,
    )


def require(source: Source, protocol: type[P]) -> P:
    """``source`` as ``protocol`` (a capability's Protocol, e.g. ``WebhookRegistry``), or CAPABILITY_UNSUPPORTED."""
    if provides(source, protocol):
        return source
    raise unsupported(source, capability_of(protocol))


def check(source: Source, capability: Capability) -> Source:
    """``source`` itself when it declares ``capability``; CAPABILITY_UNSUPPORTED otherwise."""
    if not source.has(capability):
        raise unsupported(source, capability)
    return source
