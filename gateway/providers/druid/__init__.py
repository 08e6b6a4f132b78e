"""DRUID: one package, registered by its ``KIT`` in ``gateway/providers/registry.py``."""

from gateway.providers.druid import inbound
from gateway.providers.druid.adapter import DruidAdapter
from gateway.providers.druid.catalogue import CATALOGUE
from gateway.providers.druid.config import DruidSource, sandbox_source
from gateway.providers.kit import Kit

KIT: Kit[DruidSource] = Kit(
    kind="druid",
    config=DruidSource,
    adapter=DruidAdapter,
    verify=inbound.verify,
    normalise=inbound.normalise,
    catalogue=CATALOGUE,
    sandbox=sandbox_source,
)
