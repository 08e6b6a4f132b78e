"""WorkflowGen: one package, registered by its ``KIT`` in ``gateway/providers/registry.py``."""

from gateway.providers.kit import Kit
from gateway.providers.workflowgen import inbound
from gateway.providers.workflowgen.adapter import WorkflowGenAdapter
from gateway.providers.workflowgen.catalogue import CATALOGUE
from gateway.providers.workflowgen.config import WorkflowGenSource, sandbox_source

KIT: Kit[WorkflowGenSource] = Kit(
    kind="workflowgen",
    config=WorkflowGenSource,
    adapter=WorkflowGenAdapter,
    verify=inbound.verify,
    normalise=inbound.normalise,
    catalogue=CATALOGUE,
    sandbox=sandbox_source,
)
