"""The provider example corpora under ``tests/providers/examples/<provider>/exchanges.json``: loading them, and
checking an answer against the documented fields the corpus lists for its schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "providers" / "examples"


def corpus(provider: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / provider / "exchanges.json").read_text())
    return data


def named(items: list[dict[str, Any]]) -> list[Any]:
    """Each example as a ``pytest.param`` with its name as the id."""
    return [pytest.param(item, id=item["name"]) for item in items]


def at(value: Any, path: str) -> Any:
    """``value["a"]["b"]`` for ``"a.b"``."""
    for part in path.split("."):
        value = value[part]
    return value


def shape_errors(value: Any, schema: str, schemas: dict[str, Any]) -> list[str]:
    """Where an object departs from a corpus schema: a required field missing, or a field the document does not
    list (the answer is strict: the sandbox must write exactly the documented shape)."""
    if not isinstance(value, dict):
        return [f"{schema}: {value!r} is not an object"]
    required, optional = schemas[schema]["required"], schemas[schema]["optional"]
    errors = [f"{schema}: {name} missing" for name in required if name not in value]
    errors += [f"{schema}: {name} is not documented" for name in value if name not in {*required, *optional}]
    return errors
