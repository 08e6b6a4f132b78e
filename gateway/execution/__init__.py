"""Which execution context the schema runs: the fast one of this package when it may, stock graphql-core otherwise.

``[execution] fast = false`` asks for stock execution (same answers). The fast context leans on private APIs of
strawberry-graphql and graphql-core, all of them in :mod:`gateway.execution.compat`. It is used only with the exact
versions it was verified against (``compat.PINNED_VERSIONS``); with any other version, or if importing it fails
because an upgrade moved a private name, the schema runs stock execution and the log says why, once.

The package: ``compat`` (versions, private imports, recognition of Strawberry's closures), ``plan`` (what each field
of a selection takes), ``codegen`` (generated code for whole selections) and ``context`` (the execution context).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger("hookgate.execution")


@functools.cache
def _fast_context() -> type[Any] | None:
    try:
        from gateway.execution.context import FastExecutionContext
    except ImportError as exc:  # pragma: no cover - only with other library versions
        log.warning("fast execution disabled: %s; using stock execution", exc)
        return None
    return FastExecutionContext


def execution_context_class(fast: bool) -> type[Any] | None:
    """The execution context to pass to ``strawberry.Schema``: the fast one when asked for and usable, else None
    (Strawberry's stock context)."""
    if not fast:
        return None
    context = _fast_context()
    if context is None:
        return None
    from gateway.execution import compat

    return context if compat.FAST_EXECUTION_AVAILABLE else None


__all__ = ["execution_context_class"]
