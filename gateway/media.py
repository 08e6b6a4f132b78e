"""GraphQL over HTTP media types: ``application/json`` and ``application/graphql-response+json``.

A client that asks for ``application/graphql-response+json`` (GraphQL over HTTP, the newer media type) gets it, and
with it status codes that say what happened: a request error (the document does not parse, does not validate, its
variables do not coerce, or a limit refuses it before execution) is ``400`` with no ``data`` entry (``403`` when the
only errors are ``FORBIDDEN``); an executed operation is ``200`` even when fields failed. A client that asks for
``application/json``, or for anything at all (``*/*``), or sends no ``Accept``, keeps the legacy behaviour: always
``200``, with ``data`` present, as existing GraphQL clients expect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def _quality(params: Sequence[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return max(0.0, min(1.0, float(value.strip())))
            except ValueError:
                return 0.0
    return 1.0


def preferred_media_type(accept: str | None) -> str:
    """The media type to answer with for an ``Accept`` header: the newer one only when the client prefers it.

    Ties go to ``application/graphql-response+json`` when named explicitly (the spec's recommendation for clients
    is to list both, newer first); a wildcard alone keeps ``application/json``.
    """
    if not accept:
        return JSON
    best_new, best_legacy = 0.0, 0.0
    for media_range in accept.split(","):
        kind, *params = media_range.split(";")
        kind = kind.strip().lower()
        q = _quality(params)
        if kind == GRAPHQL_RESPONSE_JSON:
            best_new = max(best_new, q)
        elif kind in (JSON, "application/*", "*/*"):
            best_legacy = max(best_legacy, q)
    return GRAPHQL_RESPONSE_JSON if best_new > 0 and best_new >= best_legacy else JSON


def is_request_error(response_data: Mapping[str, Any]) -> bool:
    """Whether an answer reports a request error: no data, and no error located in an executed field.

    Parse, validation, variable-coercion and limit errors carry no ``path``; a field's error always does.
    """
    errors = response_data.get("errors") or ()
    return response_data.get("data") is None and bool(errors) and all(not e.get("path") for e in errors)


def request_error_status(response_data: Mapping[str, Any]) -> int:
    """``403`` when every error is a refused scope, else ``400``."""
    codes = {(e.get("extensions") or {}).get("code") for e in response_data.get("errors") or ()}
    return 403 if codes == {"FORBIDDEN"} else 400
