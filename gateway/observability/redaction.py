"""Secrets never reach a log line: one filter over every log record the process makes.

Secrets are write-only (CONTRACT.md): never in a response, an error, a log line or a metric label. Responses and
errors are kept clean where they are built; logs are cleaned here, in one place, because the lines that would leak
are written by libraries: httpx logs every request URL at INFO, and a WorkflowGen hook URL
(``/wfgen/hooks/<token>/...``) carries a password-equivalent token.

:func:`redact` replaces, in any text,

- every secret value the configuration holds (registered by :func:`install_redaction`; values of at least
  :data:`MIN_SECRET_LENGTH` characters, so that a short word such as a sandbox password does not blank out
  ordinary text), and
- what looks like a credential whatever its value: the token in a WorkflowGen hook URL, ``Bearer``/``Basic``
  credentials, ``token=``/``password=``-style query parameters, and ``"password": "..."``-style JSON members.

:class:`RedactingFilter` applies it to a log record's message, arguments, exception text and stack. Installed as
part of the log record factory (which holds the process's :class:`Redactor`: logging is process-wide, this module
keeps no state), it runs for every record of every logger (httpx, uvicorn, aiohttp, ours), whichever
handler later writes it: a filter on one logger or handler would miss records that reach others.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from pydantic import BaseModel, SecretStr

#: Shorter secret values are not redacted by value (the patterns below still apply).
MIN_SECRET_LENGTH = 8
MASK = "***"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # WorkflowGen's hook URL: the path segment after /hooks/ is the hook token (the adapter's own placeholder,
    # "/hooks/-", which its transport replaces on the wire, is left readable).
    (re.compile(r"(/wfgen/hooks/)[^/?#\s\"']{2,}"), rf"\1{MASK}"),
    # Authorization header values ("basic" in lower case is too common a word to take the next one for a secret).
    (re.compile(r"\b([Bb]earer|BEARER|Basic|BASIC)\s+[A-Za-z0-9._~+/=-]{4,}"), rf"\1 {MASK}"),
    # Credentials in query strings.
    (
        re.compile(
            r"(?i)([?&](?:token|access_token|api_key|apikey|key|secret|password|pwd|signature|sig|private_key)=)"
            r"[^&#\s\"']+"
        ),
        rf"\1{MASK}",
    ),
    # Credentials in JSON or Python-dict text.
    (
        re.compile(
            r"(?i)([\"'](?:password|secret|secretkey|secret_key|token|access_token|refresh_token|api_key|apikey|"
            r"client_secret|private_key|privatekey|hook_token|webhook_secret|authorization)[\"']\s*:\s*[\"'])"
            r"[^\"']*"
        ),
        rf"\1{MASK}",
    ),
)


def secret_values(model: Any) -> list[str]:
    """Every ``SecretStr`` value held anywhere in a settings object (sources' credentials, API keys...)."""
    found: list[str] = []
    if isinstance(model, SecretStr):
        found.append(model.get_secret_value())
    elif isinstance(model, BaseModel):
        for name in type(model).model_fields:
            found.extend(secret_values(getattr(model, name)))
    elif isinstance(model, dict):
        for value in model.values():
            found.extend(secret_values(value))
    elif isinstance(model, list | tuple | set | frozenset):
        for value in model:
            found.extend(secret_values(value))
    return found


#: Header names whose values are credentials whatever their shape (a raw API key has no ``Bearer`` to spot).
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"})
#: websockets' handshake lines (``< Authorization: ...``), which uvicorn's WebSocket protocol logs at DEBUG.
_HEADER_LINES = frozenset({"< %s: %s", "> %s: %s"})


def _frame_summary(value: Any) -> str | None:
    """A websockets frame as its kind and size, without its payload; ``None`` for anything else.

    At DEBUG, websockets logs every frame (``< TEXT '{"type":"connection_init",...' [88 bytes]``) with the middle of
    its payload elided: the tail of an API key in ``connection_init`` or of a secret in a mutation's variables is
    left where neither the secret's value nor a ``"secret": "`` pattern can be recognised. Data frames lose their
    payload; control frames (close code and reason, ping) keep their text, redacted.
    """
    kind = type(value)
    if kind.__name__ != "Frame" or not kind.__module__.startswith("websockets"):
        return None
    opcode = getattr(getattr(value, "opcode", None), "name", "?")
    if opcode in ("CLOSE", "PING", "PONG"):
        return redact(str(value))
    size = len(getattr(value, "data", b""))
    return f"{opcode} [{size} byte{'' if size == 1 else 's'}{'' if getattr(value, 'fin', True) else ', continued'}]"


def _is_sensitive_header(name: Any) -> bool:
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return isinstance(name, str) and name.lower() in SENSITIVE_HEADERS


def _redacted_arg(value: Any, depth: int = 0) -> Any:
    """``value`` with its secrets blanked, keeping its type where it can: structlog passes its event as a dict."""
    if value is None or isinstance(value, bool | int | float):
        return value  # keeps %d and %f working
    if isinstance(value, str):
        return redact(value)
    if depth < 4 and isinstance(value, dict):
        return {
            _redacted_arg(k, depth + 1): MASK if _is_sensitive_header(k) else _redacted_arg(v, depth + 1)
            for k, v in value.items()
        }
    if depth < 4 and type(value) in (list, tuple):  # not subclasses: a namedtuple is built differently
        if len(value) == 2 and _is_sensitive_header(value[0]):  # a (name, value) header pair, as in an ASGI scope
            return type(value)((value[0], MASK))
        return type(value)(_redacted_arg(v, depth + 1) for v in value)
    frame = _frame_summary(value)
    if frame is not None:
        return frame
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


class RedactingFilter(logging.Filter):
    """Rewrites a record in place so that whatever formats it later sees no secret. Never drops a record.

    Arguments are redacted one by one (not merged into the message) so that formatters reading ``record.args``,
    such as uvicorn's access log, keep working.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redacted_arg(record.msg)
        if isinstance(record.args, tuple):
            if (
                isinstance(record.msg, str)
                and record.msg in _HEADER_LINES
                and len(record.args) == 2
                and _is_sensitive_header(record.args[0])
            ):
                record.args = (record.args[0], MASK)
            record.args = tuple(_redacted_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redacted_arg(v) for k, v in record.args.items()}
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set: format the traceback once, cleaned.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class Redactor:
    """The secret values to blank out, longest first (a secret containing another is blanked whole), and the patterns.

    One per process, held by the log record factory :func:`install_redaction` installs (logging is process-wide):
    every runtime of the process adds its configuration's secrets to it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: tuple[str, ...] = ()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            merged = set(self._values) | {v for v in values if len(v) >= MIN_SECRET_LENGTH}
            if merged == set(self._values):
                return
            self._values = tuple(sorted(merged, key=len, reverse=True))
            self._pattern = re.compile("|".join(re.escape(v) for v in self._values))

    def redact(self, text: str) -> str:
        pattern = self._pattern
        return _credentials(pattern.sub(MASK, text) if pattern is not None else text)


def _credentials(text: str) -> str:
    """``text`` with :data:`_PATTERNS` applied, each only where the text holds what its pattern cannot match without.

    Every log line passes here for each of its strings, twice for structlog's (the access line of every request:
    about 30 strings); four regular-expression calls per string were a quarter of the server's CPU per delivery,
    where substring tests rule almost every string out at once."""
    hook, bearer, query, member = _PATTERNS
    if "/wfgen/hooks/" in text:
        text = hook[0].sub(hook[1], text)
    if "earer" in text or "EARER" in text or "Basic" in text or "BASIC" in text:
        text = bearer[0].sub(bearer[1], text)
    if "=" in text:
        text = query[0].sub(query[1], text)
    if ":" in text and ('"' in text or "'" in text):
        text = member[0].sub(member[1], text)
    return text


class _RedactingFactory:
    """The log record factory: the one it replaced, then :class:`RedactingFilter` over the record it made."""

    def __init__(self, make_record: Callable[..., logging.LogRecord], redactor: Redactor) -> None:
        self.make_record = make_record
        self.redactor = redactor
        self.filter = RedactingFilter()

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.make_record(*args, **kwargs)
        self.filter.filter(record)
        return record


def _installed() -> Redactor | None:
    factory = logging.getLogRecordFactory()
    return factory.redactor if isinstance(factory, _RedactingFactory) else None


def redact(text: str) -> str:
    """``text`` with every known secret value and every credential-looking part replaced by ``***`` (before
    :func:`install_redaction` has run, the credential-looking parts only)."""
    redactor = _installed()
    return redactor.redact(text) if redactor is not None else _credentials(text)


_INSTALL_LOCK = threading.Lock()


def install_redaction(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Register ``secrets`` and make every log record pass :class:`RedactingFilter` as it is made. Idempotent: the
    factory is installed once per process and holds the process's :class:`Redactor`; later calls add secrets."""
    with _INSTALL_LOCK:
        factory = logging.getLogRecordFactory()
        if not isinstance(factory, _RedactingFactory):
            factory = _RedactingFactory(factory, Redactor())
            logging.setLogRecordFactory(factory)
    factory.redactor.add(secrets)
    return factory.filter


#: A key under which a string is a secret whatever it looks like: ``headers={"Authorization": "..."}``, ``token=...``.
_SECRET_KEY = re.compile(r"(?i)authorization|cookie|token|secret|password|passwd|api[_-]?key|private[_-]?key")


def _redact_value(key: object, value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return MASK if isinstance(key, str) and _SECRET_KEY.search(key) else redact(value)
    if depth < 4 and isinstance(value, dict):
        return {k: _redact_value(k, v, depth + 1) for k, v in value.items()}
    if depth < 4 and isinstance(value, list | tuple):
        return [_redact_value(key, v, depth + 1) for v in value]
    return value


def redact_processor(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: :func:`redact` over every string of the line, and a mask over every string kept under a
    secret-sounding key. Runs twice: on structlog's own lines before they become records, and on every record after
    its traceback is formatted (a traceback is text made after the record, which the record factory never saw).
    """
    for key, value in event_dict.items():
        if key != "event" or not isinstance(value, str):
            event_dict[key] = _redact_value(key, value)
        else:
            event_dict[key] = redact(value)
    return event_dict
