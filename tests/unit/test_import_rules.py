"""Import rules: the layers depend inward only, the agent ships light, no cycles.

Read from the source with `ast`, not by importing it, so every import counts:
`from x import y` (y a module or a name), relative imports, and imports inside
functions, which run later but still tie the modules together. Only imports
under `if TYPE_CHECKING:` are left out of the cycle check (they never run).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "fleetward"

# Frameworks that do I/O: they belong to adapters and entrypoints.
IO_FRAMEWORKS = frozenset(
    {
        "sqlalchemy",
        "alembic",
        "psycopg",
        "fastapi",
        "starlette",
        "uvicorn",
        "httpx",
        "websockets",
        "typer",
        "rich",
        "argon2",
        "cryptography",
        "evtx",
    }
)
# The domain is pure values and rules: the standard library but its I/O, and
# two pure libraries (re2 for user regexes, Jinja2's parser for templates).
DOMAIN_PACKAGES = frozenset({"re2", "jinja2"})
STDLIB_IO = frozenset({"sqlite3", "socket", "ssl", "subprocess", "http", "urllib", "asyncio"})
# Pure parts of those packages (splitting a URL opens no connection).
STDLIB_PURE = frozenset({"urllib.parse"})
# The agent runs on customers' machines as a light install (DESIGN.md section 2).
AGENT_PACKAGES = frozenset({"evtx", "httpx", "websockets"})
# What the agent may import of Fleetward; the .evtx reader is shared with the server.
AGENT_MODULES = ("fleetward.domain", "fleetward.agent", "fleetward.evtx_reader")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module, absolute
    line: int
    type_checking: bool

    def __str__(self) -> str:
        return f"{self.module} imports {self.target} (line {self.line})"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def top_level(name: str) -> str:
    return name.split(".")[0]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        # `from package import module` depends on that module, not only on the package.
        yield submodule if submodule in MODULES else base


def imports_of(module: str) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, type_checking: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.extend(
                Import(module, target, node.lineno, type_checking)
                for target in _targets(module, node)
            )
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_checking)
            return
        for child in ast.iter_child_nodes(node):
            visit(child, type_checking)

    visit(ast.parse(MODULES[module].read_text(), str(MODULES[module])), False)
    return found


IMPORTS = {module: imports_of(module) for module in MODULES}


def imports_in(*prefixes: str) -> Iterator[Import]:
    for module, found in IMPORTS.items():
        if within(module, *prefixes):
            yield from found


def refused(offending: Iterable[Import], why: str) -> str:
    lines = sorted({str(i) for i in offending})
    return f"{why}:\n  " + "\n  ".join(lines)


def test_the_graph_sees_every_kind_of_import() -> None:
    """The rules below are only as good as the import graph they read."""
    targets = {i.target for i in IMPORTS["fleetward.adapters.providers"]}
    assert "fleetward.adapters.providers.ninjaone" in targets  # from package import module
    assert "fleetward.domain.alerts" in targets  # from module import name
    serve = {i.target for i in IMPORTS["fleetward.entrypoints.cli"]}
    assert "fleetward.entrypoints.http.app" in serve  # inside a function
    assert "sqlalchemy.exc" in {
        i.target for i in IMPORTS["fleetward.adapters.storage.repositories"]
    }


def test_the_domain_imports_only_the_domain_and_pure_libraries() -> None:
    offending = [
        i
        for i in imports_in("fleetward.domain")
        if (within(i.target, "fleetward") and not within(i.target, "fleetward.domain"))
        or (
            not within(i.target, "fleetward")
            and top_level(i.target) not in DOMAIN_PACKAGES
            and i.target not in STDLIB_PURE
            and (
                top_level(i.target) not in sys.stdlib_module_names
                or top_level(i.target) in STDLIB_IO
            )
        )
    ]
    assert not offending, refused(offending, "the domain is pure (no services, adapters, I/O)")


def test_the_event_log_and_timeline_domain_needs_only_the_standard_library() -> None:
    # The agent carries these modules: nothing there may pull in a package.
    offending = [
        i
        for module in ("fleetward.domain.eventlog", "fleetward.domain.timeline")
        for i in IMPORTS[module]
        if not within(i.target, "fleetward.domain")
        and top_level(i.target) not in sys.stdlib_module_names
    ]
    assert not offending, refused(offending, "the agent's domain modules use the stdlib only")


def test_services_import_no_adapters_entrypoints_or_io_frameworks() -> None:
    offending = [
        i
        for i in imports_in("fleetward.services")
        if within(
            i.target,
            "fleetward.adapters",
            "fleetward.entrypoints",
            "fleetward.bootstrap",
            "fleetward.agent",
            *IO_FRAMEWORKS,
        )
    ]
    assert not offending, refused(offending, "services receive their adapters as ports")


def test_no_entrypoint_imports_sqlalchemy() -> None:
    offending = [
        i
        for i in imports_in("fleetward.entrypoints")
        if within(i.target, "sqlalchemy", "alembic", "psycopg")
    ]
    assert not offending, refused(
        offending, "entrypoints see storage only through domain errors (StorageUnavailable)"
    )


def test_the_agent_imports_only_the_domain_its_own_modules_and_few_packages() -> None:
    # DESIGN.md section 2: it runs on customers' machines, as a light install;
    # the .evtx reader it shares with the server ships with it.
    offending = [
        i
        for i in imports_in("fleetward.agent", "fleetward.evtx_reader")
        if not within(i.target, *AGENT_MODULES)
        and not (
            top_level(i.target) in sys.stdlib_module_names or top_level(i.target) in AGENT_PACKAGES
        )
    ]
    assert not offending, refused(offending, f"the agent imports only {AGENT_MODULES}")


def test_only_the_agent_command_imports_the_agent() -> None:
    """The server shares the .evtx reader with the agent, not the agent's package."""
    offending = [
        i
        for module, found in IMPORTS.items()
        if not within(module, "fleetward.agent", "fleetward.entrypoints.agent_main")
        for i in found
        if within(i.target, "fleetward.agent")
    ]
    assert not offending, refused(offending, "the server does not import the agent")


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycle_among_fleetward_modules() -> None:
    running = [i for found in IMPORTS.values() for i in found if not i.type_checking]
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for i in running:
        if i.target in MODULES and i.target != i.module:
            graph[i.module].add(i.target)
    cycles = _cycles(graph)
    offending = [i for i in running for cycle in cycles if i.module in cycle and i.target in cycle]
    assert not cycles, refused(offending, f"import cycles among {cycles}")


def test_bootstrap_only_constructs() -> None:
    """Wiring is constructor arguments: no attribute of a built object set afterwards."""
    tree = ast.parse(MODULES["fleetward.bootstrap"].read_text())
    patched = [
        f"line {node.lineno}: {ast.unparse(target)} = {ast.unparse(node.value)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute)
        and not (isinstance(target.value, ast.Name) and target.value.id == "self")
        and node.value is not None
    ]
    assert not patched, "bootstrap.py patches built objects:\n  " + "\n  ".join(patched)
