"""The lock file is what every install uses: it must name every dependency and match what is installed."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if not line or line[0] in " #":
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(default_environment()):
            (version,) = (spec.version for spec in requirement.specifier)
            pins[_canonical(requirement.name)] = version
    return pins


def test_every_declared_dependency_is_locked() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    locked = _locked()
    missing = [spec for spec in declared if _canonical(Requirement(spec).name) not in locked]
    assert not missing, f"not in requirements.lock, run `make lock`: {missing}"


def test_installed_versions_are_the_locked_ones() -> None:
    drift = {
        name: (version, metadata.version(name))
        for name, version in _locked().items()
        if metadata.version(name) != version
    }
    assert not drift, f"installed differs from requirements.lock (locked, installed): {drift}"
