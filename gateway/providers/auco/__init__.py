"""Auco: one package, registered by its ``KIT`` in ``gateway/providers/registry.py``."""

from gateway.providers.auco import inbound
from gateway.providers.auco.adapter import AucoAdapter
from gateway.providers.auco.catalogue import CATALOGUE
from gateway.providers.auco.config import AucoSource, sandbox_source
from gateway.providers.kit import Kit

KIT: Kit[AucoSource] = Kit(
    kind="auco",
    config=AucoSource,
    adapter=AucoAdapter,
    verify=inbound.verify,
    normalise=inbound.normalise,
    catalogue=CATALOGUE,
    sandbox=sandbox_source,
)
