"""Which execution context the schema runs: ``gateway/fastexec.py`` when it may, graphql-core's stock one otherwise.

The fast context leans on private APIs of strawberry-graphql and graphql-core. It is used only with the exact
versions it was verified against (``fastexec.PINNED_VERSIONS``); with any other version, or if importing it fails
because an upgrade moved a private name, the schema runs stock execution and the log says why, once.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

log = logging.getLogger("hookgate.fastexec")


@functools.cache
def _fast_context() -> type[Any] | None:
    try:
        from gateway import fastexec
    except ImportError as exc:  # pragma: no cover - only with other library versions
        log.warning("fast execution disabled: %s; using stock execution", exc)
        return None
    return fastexec.FastExecutionContext


def execution_context_class(fast: bool = True) -> type[Any] | None:
    """The execution context to pass to ``strawberry.Schema``: the fast one when asked for and usable, else None."""
    if not fast:
        return None
    context = _fast_context()
    if context is None:
        return None
    from gateway import fastexec

    return context if fastexec.FAST_EXECUTION_AVAILABLE else None
