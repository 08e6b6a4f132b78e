"""UiPath Orchestrator: one package, registered by its ``KIT`` in ``gateway/providers/registry.py``."""

from gateway.providers.kit import Kit
from gateway.providers.uipath import inbound
from gateway.providers.uipath.adapter import UiPathAdapter
from gateway.providers.uipath.catalogue import CATALOGUE
from gateway.providers.uipath.config import UiPathSource, sandbox_source

KIT: Kit[UiPathSource] = Kit(
    kind="uipath",
    config=UiPathSource,
    adapter=UiPathAdapter,
    verify=inbound.verify,
    normalise=inbound.normalise,
    catalogue=CATALOGUE,
    sandbox=sandbox_source,
)
