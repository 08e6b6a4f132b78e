"""Opaque, stable global ids: ``base64url("<Type>:<source>:<native id>")`` without padding.

They encode the type, the source and the provider's own id, so ``node(id:)`` routes to the right adapter with no
lookup table, and an id stays valid as long as the source keeps its name.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import NamedTuple

from gateway.errors import BadUserInput


class GlobalId(NamedTuple):
    type: str
    source: str
    native: str


@functools.lru_cache(maxsize=8192)
def encode_id(type_name: str, source: str, native: str | int) -> str:
    # Cached: a list of hundreds of webhooks encodes the same ids on every request.
    raw = f"{type_name}:{source}:{native}".encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


#: Digits a numeric native id may have: WorkflowGen numbers are 32-bit, store ids 64-bit.
MAX_ID_DIGITS = 19


def ascii_number(text: str, *, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """The number ``text`` writes in ASCII digits, at most ``max_digits`` of them; None for anything else.

    Not ``str.isdigit()``: it accepts other scripts' digits (``"١٢"``, which ``int()`` reads as 12) and superscripts
    (``"²"``, which ``int()`` refuses), and ``int()`` refuses more than 4,300 digits.
    """
    if not (0 < len(text) <= max_digits and text.isascii() and text.isdigit()):
        return None
    return int(text)


def decode_id(value: str, *, field: str = "id") -> GlobalId:
    """The parts of a global id; BAD_USER_INPUT naming ``field`` if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        type_name, source, native = raw.split(":", 2)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadUserInput(f"{field}: '{value[:80]}' is not a Hookgate id", field=field) from None
    if not (type_name and source and native):
        raise BadUserInput(f"{field}: '{value[:80]}' is not a Hookgate id", field=field)
    return GlobalId(type_name, source, native)


def expect_id(value: str, type_name: str, *, field: str = "id") -> GlobalId:
    """Like :func:`decode_id`, and the id must be of ``type_name``."""
    gid = decode_id(value, field=field)
    if gid.type != type_name:
        raise BadUserInput(f"{field}: expected a {type_name} id, got a {gid.type} id", field=field)
    return gid
