"""Dixa: one package, registered by its ``KIT`` in ``gateway/providers/registry.py``."""

from gateway.providers.dixa import inbound
from gateway.providers.dixa.adapter import DixaAdapter
from gateway.providers.dixa.catalogue import CATALOGUE
from gateway.providers.dixa.config import DixaSource, sandbox_source
from gateway.providers.kit import Kit

KIT: Kit[DixaSource] = Kit(
    kind="dixa",
    config=DixaSource,
    adapter=DixaAdapter,
    verify=inbound.verify,
    normalise=inbound.normalise,
    catalogue=CATALOGUE,
    sandbox=sandbox_source,
    verify_with_keys=inbound.verify,
)
