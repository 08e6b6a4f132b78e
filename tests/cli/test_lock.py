"""The lock file is what every install uses: it must name every dependency and match what is installed."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


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


def test_every_third_party_import_is_a_declared_dependency() -> None:
    # Installed only because something else depends on it is not enough (cross-web came with Strawberry): a release
    # of that something that drops it would break an install that follows the declared ranges.
    ours = {"gateway", "schema", "resolvers", "sandbox"}
    imported: dict[str, set[str]] = {}
    for package in sorted(ours):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    imported.setdefault(name.partition(".")[0], set()).add(str(path.relative_to(ROOT)))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_canonical(Requirement(spec).name) for spec in project["dependencies"]}
    distributions = metadata.packages_distributions()
    undeclared = {
        module: sorted(files)
        for module, files in imported.items()
        if module not in sys.stdlib_module_names
        and module not in ours | {"__future__"}
        and not any(_canonical(dist) in declared for dist in distributions.get(module, []))
    }
    assert not undeclared, f"imported but not in [project] dependencies (module: files): {undeclared}"


def test_installed_versions_are_the_locked_ones() -> None:
    drift = {
        name: (version, metadata.version(name))
        for name, version in _locked().items()
        if metadata.version(name) != version
    }
    assert not drift, f"installed differs from requirements.lock (locked, installed): {drift}"
