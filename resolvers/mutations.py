"""What every mutation resolver goes through: the write scope, and ``Idempotency-Key`` handling.

The gateway never retries a mutation itself (``UpstreamClient`` sends writes once). When the caller sends an
``Idempotency-Key`` header, the first answer is kept in the store for 24 h under (principal, key), and a repeat of
the same request returns it without calling the provider again; see ``gateway/idempotency.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from gateway.context import Context
from gateway.errors import Forbidden

P = ParamSpec("P")
R = TypeVar("R")


def mutation(resolver: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Wrap a mutation resolver: check the ``write`` scope, then run it at most once per Idempotency-Key."""

    @functools.wraps(resolver)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        info: Any = kwargs.get("info", args[0] if args else None)
        ctx: Context = info.context
        if not ctx.principal.can("write"):
            raise Forbidden(f"API key '{ctx.principal.name}' lacks the write scope needed for mutations")
        from resolvers.idempotency import run_idempotent

        return await run_idempotent(info, resolver.__name__, kwargs.get("input"), lambda: resolver(*args, **kwargs))

    return run
