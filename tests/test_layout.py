"""The house rules of DESIGN.md ("Layout") that import-linter does not check: no source module beyond 600 lines, and
no module holding mutable state of its own (the runtime owns what lives long: ``gateway/runtime.py``).

Module-level mutable state, precisely: a name bound at module level (also inside a module-level ``if``/``try``) to

- a dict, list or set display or comprehension, or a ``dict()``/``list()``/``set()`` call, unless the name is a
  constant: ALL_CAPS (a leading underscore allowed) *and* annotated ``Final``. Wrapping the value in
  ``MappingProxyType``, ``frozenset`` or ``tuple`` makes it immutable, so such a binding is not flagged at all;
- an object that exists to be changed (``defaultdict``, ``OrderedDict``, ``Counter``, ``deque``, ``ChainMap``,
  ``bytearray``, the ``weakref`` containers, locks, semaphores, events, queues), whatever its name.

``__all__`` is exempt (a list by convention, read by tools). Anything else must be fixed or listed in :data:`ALLOWED`
with its reason.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gateway", "schema", "resolvers", "sandbox")
MAX_LINES = 600

#: Displays and calls that make a container a module may still treat as a constant (ALL_CAPS and Final).
CONTAINERS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
CONTAINER_CALLS = frozenset({"dict", "list", "set"})
#: Calls whose result exists to be changed: never a constant.
STATEFUL_CALLS = frozenset(
    {
        "defaultdict",
        "OrderedDict",
        "Counter",
        "deque",
        "ChainMap",
        "bytearray",
        "WeakKeyDictionary",
        "WeakValueDictionary",
        "WeakSet",
        "Lock",
        "RLock",
        "Semaphore",
        "BoundedSemaphore",
        "Event",
        "Condition",
        "Queue",
        "LifoQueue",
        "PriorityQueue",
        "SimpleQueue",
    }
)

#: Modules over the limit today, each with why it is not split yet. Take a module off once it is split (the test says
#: so when a listed module fits again).
LONG_ALLOWED: dict[str, str] = {}

#: (module path, name) -> why this module-level state stays.
ALLOWED: dict[tuple[str, str], str] = {
    ("gateway/providers/auco/adapter.py", "_PROCESS_LOCKS"): (
        "the fallback account lock of an AucoAdapter built without a lock factory (adapter tests); open_runtime "
        "always passes the store's lock, so a running gateway never uses it. Weak per event loop, forgotten with it"
    ),
    ("gateway/observability/redaction.py", "_INSTALL_LOCK"): (
        "guards installing the redacting log-record factory, which the logging module keeps process-wide"
    ),
}


def sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def module_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The module's own statements, looking into module-level ``if`` and ``try`` blocks (not into functions)."""
    for statement in body:
        if isinstance(statement, ast.If):
            yield from module_statements(statement.body)
            yield from module_statements(statement.orelse)
        elif isinstance(statement, ast.Try | ast.TryStar):
            for block in (statement.body, statement.orelse, statement.finalbody):
                yield from module_statements(block)
            for handler in statement.handlers:
                yield from module_statements(handler.body)
        else:
            yield statement


def called(node: ast.expr) -> str | None:
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def is_constant_name(name: str) -> bool:
    bare = name.lstrip("_")
    return bool(bare) and bare[0].isalpha() and bare == bare.upper()


def is_final(annotation: ast.expr | None) -> bool:
    if annotation is None:
        return False
    target = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return (isinstance(target, ast.Name) and target.id == "Final") or (
        isinstance(target, ast.Attribute) and target.attr == "Final"
    )


def mutable_bindings(tree: ast.Module) -> Iterator[tuple[str, int, str]]:
    """(name, line, what) of each module-level binding to mutable state that the rule does not exempt."""
    for statement in module_statements(tree.body):
        if isinstance(statement, ast.Assign):
            targets, annotation, value = statement.targets, None, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, annotation, value = [statement.target], statement.annotation, statement.value
        else:
            continue
        call = called(value)
        stateful = call in STATEFUL_CALLS
        container = isinstance(value, CONTAINERS) or call in CONTAINER_CALLS
        if not (stateful or container):
            continue
        what = f"{call}()" if call else type(value).__name__.lower()
        for target in targets:
            for node in ast.walk(target):
                if not isinstance(node, ast.Name) or node.id == "__all__":
                    continue
                if container and not stateful and is_constant_name(node.id) and is_final(annotation):
                    continue
                yield node.id, statement.lineno, what


def test_no_source_module_is_over_600_lines() -> None:
    lengths = {relative(p): len(p.read_text(encoding="utf-8").splitlines()) for p in sources()}
    offenders = {path: n for path, n in sorted(lengths.items()) if n > MAX_LINES and path not in LONG_ALLOWED}
    assert not offenders, f"split these modules (at most {MAX_LINES} lines each): {offenders}"
    fit = sorted(path for path in LONG_ALLOWED if lengths.get(path, 0) <= MAX_LINES)
    assert not fit, f"these fit in {MAX_LINES} lines now, take them off LONG_ALLOWED: {fit}"


def test_no_module_holds_mutable_state() -> None:
    found: dict[tuple[str, str], str] = {}
    for path in sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for name, line, what in mutable_bindings(tree):
            found[(relative(path), name)] = f"{relative(path)}:{line}: {name} = {what}"
    offenders = [where for key, where in sorted(found.items()) if key not in ALLOWED]
    assert not offenders, (
        "module-level mutable state (make it a Final ALL_CAPS constant, wrap it in MappingProxyType/frozenset/tuple, "
        "or move it into the runtime):\n" + "\n".join(offenders)
    )
    stale = sorted(set(ALLOWED) - set(found))
    assert not stale, f"allowed but no longer found, take them off ALLOWED: {stale}"


def test_the_rule_sees_what_it_should() -> None:
    source = """
import threading
from collections import defaultdict
from typing import Final
__all__ = ["x"]
TABLE: Final = {"a": 1}
TYPED: Final[dict[str, int]] = {"a": 1}
FROZEN = frozenset({"a"})
_private_cache = {}
LOUD = {"a": 1}
quiet: Final = []
COUNTS: Final = defaultdict(int)
if True:
    _SEEN = set()
try:
    LOCK = threading.Lock()
except ImportError:
    pass
def f():
    local = {}
"""
    flagged = {name for name, _, _ in mutable_bindings(ast.parse(source))}
    assert flagged == {"_private_cache", "LOUD", "quiet", "COUNTS", "_SEEN", "LOCK"}
