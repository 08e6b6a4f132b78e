"""The GraphQL over HTTP audit: npm ``graphql-http``'s ``serverAudits`` against the live server; every MUST and
every SHOULD passes (the SHOULDs include the ``application/graphql-response+json`` media type: gateway/media.py).

The audit's pinned versions are in ``graphql_http/package.json``; ``npm install`` puts them in that folder's
``node_modules`` (git-ignored) the first time, and ``audit.mjs`` runs the audits and prints them as JSON. In
production one MUST audit fails by design: it asks for ``__type``, and production turns introspection off.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import Gateway

AUDIT_DIR = Path(__file__).parent / "graphql_http"
#: Audits whose request uses introspection (``__type``), which production turns off on purpose: there they must fail
#: with the gateway's introspection error, and only so (one MUST, one SHOULD, two MAYs).
INTROSPECTION_AUDITS = frozenset({"28B9", "2EA1", "D6D5", "6A70"})


def _installed() -> bool:
    wanted = json.loads((AUDIT_DIR / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        manifest = AUDIT_DIR / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text())["version"] != version:
            return False
    return True


@pytest.fixture(scope="module")
def audit_script() -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the graphql-http audit")
    if not _installed():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--prefix", str(AUDIT_DIR)],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return AUDIT_DIR / "audit.mjs"


def run_audit(script: Path, url: str) -> list[dict[str, Any]]:
    done = subprocess.run(["node", str(script), url], check=True, capture_output=True, text=True, timeout=120)
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


@pytest.mark.parametrize("production", [False, True], ids=["development", "production"])
def test_every_must_of_the_graphql_over_http_audit_passes(
    audit_script: Path, gateway_factory: Any, production: bool
) -> None:
    gateway: Gateway = gateway_factory(production=production)

    results = run_audit(audit_script, gateway.graphql_url)

    assert len(results) > 50, "the audit ran"
    failed = [r for r in results if r["status"] != "ok"]  # "error": a MUST, "warn": a SHOULD, "notice": a MAY
    if production:
        assert {r["id"] for r in failed} <= INTROSPECTION_AUDITS, json.dumps(failed, indent=2)
        body = gateway.post("query Type($name: String!) { __type(name: $name) { name } }", {"name": "x"}).json()
        assert "introspection has been disabled" in body["errors"][0]["message"]
        failed = [r for r in failed if r["id"] not in INTROSPECTION_AUDITS]
    assert not failed, json.dumps(failed, indent=2)
