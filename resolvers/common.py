"""Small helpers every resolver module uses: fan-out across sources with isolation, cursors, source choice."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from gateway.capabilities import check
from gateway.context import Info, path_of
from gateway.domain.ports import Source
from gateway.domain.records import Capability
from gateway.errors import BadUserInput, HookgateError

T = TypeVar("T")


async def gather_sources(
    info: Info, adapters: Sequence[Source], call: Callable[[Source], Awaitable[T]]
) -> list[tuple[Source, T]]:
    """Run ``call`` on every source concurrently; a failing source becomes one partial error, not a failed query."""
    results = await asyncio.gather(*(call(a) for a in adapters), return_exceptions=True)
    answered: list[tuple[Source, T]] = []
    for adapter, result in zip(adapters, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, HookgateError):
            info.context.add_partial(result, path_of(info))
        elif isinstance(result, BaseException):
            if not isinstance(result, Exception):
                raise result
            info.context.add_partial(result, path_of(info))
        else:
            answered.append((adapter, result))
    return answered


def encode_cursor(*parts: str | int) -> str:
    raw = ":".join(str(p) for p in parts).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(value: str, *, prefix: str, parts: int, field: str = "after") -> list[str]:
    """The parts of a cursor this gateway made, or BAD_USER_INPUT naming ``field``."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
    except ValueError:  # binascii.Error, UnicodeDecodeError, and non-ASCII text, which b64decode refuses
        raw = ""
    pieces = raw.split(":", parts)
    if len(pieces) != parts + 1 or pieces[0] != prefix:
        raise BadUserInput(f"{field}: '{value[:80]}' is not a cursor of this list", field=field)
    return pieces[1:]


def natural_key(native_id: str) -> tuple[int, int, str]:
    """Orders numeric ids numerically and others by text, numbers first: a stable order for paging.

    Numbers compare by length, then text, once leading zeros are gone: numeric order for any length without
    ``int()``, which refuses more than 4,300 digits (a cursor is the caller's text). ASCII digits only.
    """
    if native_id.isascii() and native_id.isdigit():
        digits = native_id.lstrip("0")
        return (0, len(digits), digits)
    return (1, 0, native_id)


def choose_source(info: Info, source: str | None, capability: Capability, *, field: str = "source") -> Source:
    """The named source, or the only source with ``capability`` when none is named."""
    runtime = info.context.runtime
    if source is not None:
        return check(runtime.source(source), capability)
    candidates = runtime.select(source=None, provider=None, capability=capability)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise BadUserInput(f"no configured source supports {capability.value}", field=field)
    names = ", ".join(a.name for a in candidates)
    raise BadUserInput(f"{field} is required: several sources support {capability.value} ({names})", field=field)
