"""Tracing is optional: without OpenTelemetry's packages the app is served exactly as it was built."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest
from starlette.applications import Starlette

from gateway.observability.tracing import setup_tracing


def test_without_opentelemetry_the_app_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = importlib.import_module

    def no_opentelemetry(name: str, package: str | None = None) -> ModuleType:
        if name.startswith("opentelemetry"):
            raise ImportError(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", no_opentelemetry)
    app = Starlette()
    assert setup_tracing(app) is app
