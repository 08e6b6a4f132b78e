"""Auco's event catalogue: Auco has no event-type endpoint; its notification statuses [doc] are its events."""

from __future__ import annotations

# Auco's notification statuses [doc] are its event catalogue. They are named "<group>.<STATUS>" here, because the two
# groups share names (CREATE, REJECTED...) that mean different things for a document and for a package.
DOCUMENT_STATUSES: tuple[str, ...] = ("CREATE", "FINISH", "NOTIFICATION", "REJECT", "REJECTED", "BLOCKED", "EXPIRED")
PACKAGE_STATUSES: tuple[str, ...] = (
    "CREATE",
    "NOTIFICATION",
    "SIGNED_PACKAGE",
    "DOCUMENT_REJECT",
    "REJECTED",
    "BLOCKED",
)
#: (name, group) of each event: what ``eventTypes`` answers for an Auco source.
CATALOGUE: tuple[tuple[str, str], ...] = tuple(
    [(f"document.{status}", "document") for status in DOCUMENT_STATUSES]
    + [(f"package.{status}", "package") for status in PACKAGE_STATUSES]
)
