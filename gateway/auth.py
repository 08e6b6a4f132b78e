"""Client authentication: API keys from configuration, sent as ``Authorization: Bearer <key>``.

Keys are kept only as SHA-256 digests and compared in constant time. With no keys configured every request acts
as ``anonymous`` with every scope, and ``hookgate serve`` binds to loopback and says so.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from gateway.config import Settings
from gateway.context import ANONYMOUS, Principal
from gateway.errors import Unauthenticated


class KeyRing:
    def __init__(self, settings: Settings) -> None:
        self._keys: list[tuple[bytes, Principal]] = []
        for key in settings.api_keys:
            digest = key.key_sha256.lower() if key.key_sha256 else _sha256(key.key.get_secret_value())  # type: ignore[union-attr]
            self._keys.append((bytes.fromhex(digest), Principal(name=key.name, scopes=frozenset(key.scopes))))

    @property
    def open(self) -> bool:
        """No keys configured: everyone is ``anonymous`` with every scope."""
        return not self._keys

    def principal_for(self, authorization: str | None) -> Principal:
        """The principal for an ``Authorization`` header value; UNAUTHENTICATED if it names no configured key."""
        if self.open:
            return ANONYMOUS
        if not authorization:
            raise Unauthenticated("missing API key: send Authorization: Bearer <key>")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("malformed Authorization header: expected Bearer <key>")
        digest = bytes.fromhex(_sha256(token.strip()))
        found: Principal | None = None
        for stored, principal in self._keys:
            # Compare against every key (no early exit), so timing says nothing about which one matched.
            if hmac.compare_digest(stored, digest):
                found = principal
        if found is None:
            raise Unauthenticated("unknown API key")
        return found

    def principal_from_headers(self, headers: Mapping[str, str]) -> Principal:
        return self.principal_for(headers.get("authorization"))


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
