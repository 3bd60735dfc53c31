"""The layers of ``docs/architecture.md`` ("Layers and who imports what"), held to the code.

The rules are read from the document itself: its table of who may import what, its table of the
foreign modules only some layers may use, and its list of the standard-library modules the pure
layers may use. Every module under ``daemon/autobot/`` is parsed with ``ast`` and each of its
imports (inside functions and under ``if TYPE_CHECKING:`` too) is checked against them; then the
import graph is checked for cycles, and the error tree for classes defined elsewhere.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import autobot.errors

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "daemon" / "autobot"
DOCUMENT = ROOT / "docs" / "architecture.md"
SECTION = "## Layers and who imports what"


@dataclass(frozen=True, slots=True)
class Import:
    source: str  # module path under daemon/autobot/, e.g. "chain/supra.py"
    target: str  # the module imported: a path under daemon/autobot/, or a foreign module's name
    line: int
    type_checking: bool  # under ``if TYPE_CHECKING:`` (a dependency, but no import cycle)

    @property
    def foreign(self) -> bool:
        return not self.target.endswith(".py")


def _modules() -> dict[str, str]:
    """Dotted name → path under ``daemon/autobot/`` of every module of the package."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(["autobot", *parts])] = relative.as_posix()
    return found


MODULES = _modules()


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            nodes.update(id(n) for child in node.body for n in ast.walk(child))
    return nodes


def _resolve(name: str) -> str:
    """A dotted name → the module it is (a submodule, else its package), or the foreign module."""
    while name.startswith("autobot"):
        if name in MODULES:
            return MODULES[name]
        name = name.rsplit(".", 1)[0]
    return name.split(".")[0]


def _imports(path: str) -> Iterator[Import]:
    tree = ast.parse((PACKAGE / path).read_text(encoding="utf-8"))
    guarded = _type_checking_nodes(tree)
    dotted = next(name for name, p in MODULES.items() if p == path)
    package = dotted if path.endswith("__init__.py") else dotted.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            # ``from autobot.planning import draws`` imports the module planning/draws.py
            names = [
                f"{base}.{alias.name}" if base.startswith("autobot") else base
                for alias in node.names
            ]
        for target in dict.fromkeys(_resolve(name) for name in names):
            yield Import(path, target, node.lineno, id(node) in guarded)


IMPORTS = [imp for path in MODULES.values() for imp in _imports(path)]


# -- the document's rules ------------------------------------------------------------------------


def _section() -> str:
    text = DOCUMENT.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def _tokens(cell: str) -> tuple[str, ...]:
    return tuple(re.findall(r"`([^`]+)`", cell))


def _table(header: str) -> dict[str, tuple[str, ...]]:
    """The rows of the table whose header row starts with ``header``: each token of the first
    cell → the tokens of the second."""
    lines = _section().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header}"))
    rows: dict[str, tuple[str, ...]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        first, second = line.strip("|").split("|")[:2]
        for token in _tokens(first):
            assert token not in rows, f"{token} has two rows in {DOCUMENT.name}"
            rows[token] = _tokens(second)
    return rows


ALLOWED = _table("modules")
FOREIGN = _table("foreign module")
PURE_STDLIB = frozenset(
    _tokens(
        re.search(r"import from outside `autobot` only these standard-library modules:(.*?)\. ",
                  _section(), re.DOTALL).group(1)  # type: ignore[union-attr]
    )
)  # fmt: skip


def _row(path: str) -> str | None:
    """The most specific row of the table naming this module."""
    matching = [k for k in ALLOWED if _allows(k, path)]
    return max(matching, key=len, default=None)


def _inside(target: str, row: str) -> bool:
    """``target`` belongs to ``row`` or to a row inside its package."""
    target_row = _row(target)
    return target_row == row or (
        row.endswith("/") and target_row is not None and target_row.startswith(row)
    )


def _allows(token: str, target: str) -> bool:
    if token == "autobot":
        return target == "__init__.py"
    if token.endswith("/"):
        return target.startswith(token)
    if token.endswith(".py"):
        return target == token
    return target == f"{token}/__init__.py"  # a package's public face


def _breaches() -> list[str]:
    out: list[str] = []
    for imp in IMPORTS:
        row = _row(imp.source)
        if imp.foreign:
            if imp.target in sys.stdlib_module_names or imp.target == "__future__":
                if row in ("domain/", "planning/") and imp.target not in PURE_STDLIB:
                    out.append(
                        f"{imp.source}:{imp.line} imports {imp.target} (I/O in a pure layer)"
                    )
                if imp.target not in FOREIGN:
                    continue
            elif row in ("domain/", "planning/"):
                out.append(f"{imp.source}:{imp.line} imports {imp.target} (a pure layer)")
            places = FOREIGN.get(imp.target)
            if places is not None and not any(_allows(p, imp.source) for p in places):
                out.append(f"{imp.source}:{imp.line} imports {imp.target}, only for {places}")
            continue
        if row is None:
            continue  # reported by the coverage test
        if _inside(imp.target, row) or any(_allows(t, imp.target) for t in ALLOWED[row]):
            continue
        out.append(f"{imp.source}:{imp.line} imports {imp.target}: {row} may import {ALLOWED[row]}")
    return out


# -- the tests -----------------------------------------------------------------------------------


def test_every_module_belongs_to_a_row_of_the_documents_table() -> None:
    assert [path for path in MODULES.values() if _row(path) is None] == []


def test_every_row_names_modules_that_exist() -> None:
    paths = set(MODULES.values())
    for token in [*ALLOWED, *(t for row in ALLOWED.values() for t in row)]:
        if token == "autobot":
            continue
        exists = any(_allows(token, p) or p == token for p in paths)
        assert exists, f"{DOCUMENT.name} names {token}, which is not a module or package"


def test_every_import_is_one_the_document_allows() -> None:
    assert _breaches() == []


def test_the_rules_are_read_and_do_catch_a_breach() -> None:
    # the tables were found, and a forbidden import is reported (the check cannot pass vacuously)
    assert ALLOWED["planning/"] == ("domain/",) and FOREIGN["supra_sdk"] == ("chain/", "localnet/")
    assert {"dataclasses", "typing"} <= PURE_STDLIB and "asyncio" not in PURE_STDLIB
    IMPORTS.append(Import("planning/plan.py", "journal/store.py", 1, False))
    IMPORTS.append(Import("planning/plan.py", "asyncio", 1, False))
    IMPORTS.append(Import("engine.py", "execution/executor.py", 1, False))
    IMPORTS.append(Import("control/status.py", "engine.py", 1, False))
    IMPORTS.append(Import("execution/steps.py", "supra_sdk", 1, False))
    try:
        breaches = _breaches()
    finally:
        del IMPORTS[-5:]
    assert [b.split(" ")[0] for b in breaches] == [
        "planning/plan.py:1", "planning/plan.py:1", "engine.py:1", "control/status.py:1",
        "execution/steps.py:1",
    ]  # fmt: skip


def _cycle() -> list[str] | None:
    graph: dict[str, set[str]] = {path: set() for path in MODULES.values()}
    for imp in IMPORTS:
        if not imp.foreign and not imp.type_checking and imp.target != imp.source:
            graph[imp.source].add(imp.target)
    state: dict[str, int] = {}  # 1: on the path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_imports_form_no_cycle() -> None:
    assert _cycle() is None
    # the cycle there was (check-config's key check inside config.py) would be reported
    IMPORTS.append(Import("config.py", "chain/keys.py", 1, False))
    try:
        assert _cycle() == ["chain/keys.py", "config.py", "chain/keys.py"]
    finally:
        IMPORTS.pop()


def _error_classes() -> Iterator[tuple[str, str]]:
    """(module path, class name) of every class deriving from an ``AutobotError`` class."""
    known = {"AutobotError"}
    found: list[tuple[str, str]] = []
    changed = True
    trees = {
        path: ast.parse((PACKAGE / path).read_text(encoding="utf-8")) for path in MODULES.values()
    }
    while changed:  # a class may derive from one defined later, or in another module
        changed = False
        for path, tree in trees.items():
            for node in ast.walk(tree):
                if not isinstance(node, ast.ClassDef) or (path, node.name) in found:
                    continue
                bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
                if bases & known:
                    known.add(node.name)
                    found.append((path, node.name))
                    changed = True
    return iter(found)


def test_every_autobot_error_is_defined_in_errors_py_and_drawn_in_its_docstring() -> None:
    classes = list(_error_classes())
    assert len(classes) > 15
    assert [c for c in classes if c[0] != "errors.py"] == []
    drawing = autobot.errors.__doc__ or ""
    assert [name for _, name in classes if not re.search(rf"── {name}\b", drawing)] == []


@pytest.mark.parametrize("token", ["chain/supra.py", "execution/executor.py", "engine.py"])
def test_the_daemon_outside_its_layers_uses_public_faces_only(token: str) -> None:
    # only the composition root (and the CLI, for the gateway) reaches these
    users = sorted(
        {imp.source for imp in IMPORTS if imp.target == token and _row(imp.source) != _row(token)}
    )
    expected = {
        "chain/supra.py": [
            "app.py",
            "control/accounting.py",
            "control/actions.py",
            "control/follow.py",
            "control/history.py",
            "control/status.py",
            "control/submission.py",
        ],
        "execution/executor.py": [],
        "engine.py": ["app.py", "status/site.py"],  # the status page: types only
    }
    assert users == expected[token]


def test_a_daemon_with_the_sqlite_journal_does_not_load_psycopg() -> None:
    """psycopg is imported where a PostgreSQL journal is configured or a DSN parsed, never by
    the composition root: it added 8.6 MB to every SQLite daemon's resident memory (the
    footprint benchmark's RSS target is 100 MB at 10,000 lotteries)."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, autobot.app; print('psycopg' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"
