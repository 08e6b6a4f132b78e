"""File uploads on ``/graphql``: the GraphQL multipart request spec (``operations``, ``map`` and file parts).

A ``multipart/form-data`` POST carries the operation as JSON in the ``operations`` part, with ``null`` where each
file goes; ``map`` says which file part goes where (``{"0": ["variables.file"]}``); each file is a part of its own.
The view (gateway/app.py) reads such a request here:

- Refused unless it carries one of :data:`PREFLIGHT_HEADERS`. A multipart POST is a CORS "simple request": a page of
  any origin could send one with the user's cookies, without asking first. A browser sends none of these headers
  to another origin without a preflight, which ``[cors]`` answers only for the origins it lists (as Apollo Server's
  CSRF prevention does). :func:`csrf_refusal` says so, coded.
- The body counts against ``max_body_bytes`` like any other (RequestGate, gateway/app.py): 413 past it.
- Every file is read into an :class:`UploadedFile` (bytes, file name, media type) and its part closed before the
  operation runs: no temporary file outlives the request, and resolvers need no I/O. The bytes never appear in a
  ``repr``, a log line or an error.
- A ``map`` that is not an object of lists of paths, a path that does not lead to a ``null`` in ``operations``, or
  a file part the map names but the body lacks, is a coded 400 (:class:`UploadRefused`) naming the map entry.

Only an input field typed ``Upload`` takes one (``FileInput.upload``); an ``UploadedFile`` anywhere else fails
GraphQL's own coercion, and an ``Upload`` variable given as JSON is refused by the resolver that reads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from cross_web import HTTPException
from python_multipart.exceptions import MultipartParseError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

#: Headers a browser sends to another origin only after a CORS preflight (any one of them will do), lower case.
PREFLIGHT_HEADERS: Final = ("apollo-require-preflight", "x-apollo-operation-name", "graphql-preflight")
#: The spec's media type.
MULTIPART: Final = "multipart/form-data"


class UploadedFile:
    """One file part of a multipart request, read: what ``FileInput.upload`` receives."""

    __slots__ = ("content_type", "data", "filename")

    def __init__(self, filename: str | None, content_type: str | None, data: bytes) -> None:
        self.filename = filename
        self.content_type = content_type
        self.data = data

    def __repr__(self) -> str:  # never the contents
        return f"<UploadedFile {self.filename!r} {self.content_type!r}, {len(self.data)} bytes>"

    def fingerprint(self) -> dict[str, Any]:
        """What identifies it for an Idempotency-Key: its name, media type and a digest of its bytes."""
        digest = hashlib.sha256(self.data).hexdigest()
        return {"upload": {"filename": self.filename, "contentType": self.content_type, "sha256": digest}}


class UploadRefused(HTTPException):
    """A multipart request that does not follow the spec: 400, ``BAD_USER_INPUT``, with ``field`` and ``reason``."""

    def __init__(self, message: str, *, field: str, reason: str = "INVALID_MULTIPART_REQUEST") -> None:
        super().__init__(400, message)
        self.extensions: dict[str, Any] = {"field": field, "reason": reason}


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == MULTIPART


def has_preflight_header(headers: Mapping[str, str]) -> bool:
    """Whether the request carries a header that no browser sends cross-origin without a preflight."""
    return any(headers.get(name) for name in PREFLIGHT_HEADERS)


def csrf_refusal() -> tuple[str, dict[str, Any]]:
    """The message and extensions of the 400 for a multipart request without a preflight header."""
    message = (
        "a multipart request (file upload) must carry one of the headers "
        "Apollo-Require-Preflight, X-Apollo-Operation-Name or GraphQL-Preflight (any non-empty value): "
        "without one, a page of another origin could send it with the user's credentials"
    )
    return message, {"reason": "PREFLIGHT_HEADER_REQUIRED", "field": "headers"}


async def read_operations(form: Any, parse_json: Callable[[str | bytes], Any]) -> dict[str, Any]:
    """The operation of a parsed multipart form, each mapped file in its place as an :class:`UploadedFile`.

    ``form`` is Starlette's ``FormData``; every part of it is closed before this returns.
    """
    try:
        return await _read(form, parse_json)
    finally:
        await form.close()


async def _read(form: Any, parse_json: Callable[[str | bytes], Any]) -> dict[str, Any]:
    operations_text = form.get("operations")
    map_text = form.get("map")
    if not isinstance(operations_text, str):
        raise UploadRefused("the multipart request has no `operations` field", field="operations")
    if not isinstance(map_text, str):
        raise UploadRefused("the multipart request has no `map` field", field="map")
    try:
        operations = parse_json(operations_text.encode())
    except (ValueError, HTTPException):
        operations = None
    if isinstance(operations, list):
        raise UploadRefused(
            "`operations` must be one operation (a JSON object): batched operations are not accepted",
            field="operations",
        )
    if not isinstance(operations, dict):
        raise UploadRefused('`operations` must be a JSON object such as {"query": ...}', field="operations")
    try:
        files_map = parse_json(map_text.encode())
    except (ValueError, HTTPException):
        files_map = None
    if not isinstance(files_map, dict) or not all(
        isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths) for paths in files_map.values()
    ):
        raise UploadRefused(
            '`map` must be an object of file part names to lists of paths, e.g. {"0": ["variables.file"]}',
            field="map",
        )
    for part_name, paths in files_map.items():
        part = form.get(part_name)
        if not isinstance(part, UploadFile):
            raise UploadRefused(
                f"`map` names the file part {part_name!r}, which the request does not carry",
                field=f"map.{part_name}",
                reason="FILE_PART_MISSING",
            )
        uploaded = UploadedFile(part.filename, part.content_type, await part.read())
        for path in paths:
            _place(operations, path, uploaded, part_name)
    return operations


def _place(operations: dict[str, Any], path: str, uploaded: UploadedFile, part_name: str) -> None:
    """Put ``uploaded`` where ``path`` (``variables.input.files.0``) points: a ``null`` that must be there."""
    keys = path.split(".")
    if keys[0] != "variables" or len(keys) < 2:
        raise UploadRefused(
            f"`map` path {path!r} (file part {part_name!r}) must start with `variables.`", field=f"map.{part_name}"
        )
    target: Any = operations
    for depth, key in enumerate(keys):
        slot: str | int
        if isinstance(target, dict) and key in target:
            slot = key
        elif isinstance(target, list) and key.isdigit() and int(key) < len(target):
            slot = int(key)
        else:
            raise UploadRefused(
                f"`map` path {path!r} (file part {part_name!r}) leads nowhere in `operations`",
                field=f"map.{part_name}",
            )
        if depth < len(keys) - 1:
            target = target[slot]
            continue
        _check_placeholder(target[slot], path, part_name)
        target[slot] = uploaded


def _check_placeholder(value: Any, path: str, part_name: str) -> None:
    if value is not None:
        raise UploadRefused(
            f"`map` path {path!r} (file part {part_name!r}) must lead to a null placeholder in `operations`",
            field=f"map.{part_name}",
        )


def form_failure(exc: Exception) -> UploadRefused | None:
    """The coded refusal for Starlette's or the multipart parser's own failure to read the body, if it is one."""
    if isinstance(exc, MultiPartException | MultipartParseError | ValueError):
        return UploadRefused(f"the multipart body cannot be read: {exc}", field="body")
    if isinstance(exc, StarletteHTTPException) and exc.status_code == 400:
        return UploadRefused(f"the multipart body cannot be read: {exc.detail}", field="body")
    return None
