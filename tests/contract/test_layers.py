"""The architecture's rules (README "Layout", ``chatgate/store/__init__.py``), read from the
source with ``ast`` so that no chatgate module is imported and nothing can hide behind an
import-time side effect.

1. SQL is built and run only in ``store/`` and ``db/``.
2. ``resolve/`` is pure: the standard library and ``chatgate.families`` only.
3. No domain package imports ``gateway/``.
4. No cycle between ``chatgate``'s packages (top-level modules count as packages), nor
   between its modules.
5. Roles are compared only in ``authz/``.

Every failure names the file and line.
"""

from __future__ import annotations

import ast
import itertools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "chatgate"

# -- rule 1: where SQL may be written ------------------------------------------------------
SQL_PACKAGES = frozenset({"store", "db"})
# Outside store/ and db/ a module may name a session's type and catch the database's
# errors; everything else in SQLAlchemy builds or runs statements.
SQLALCHEMY_ALLOWED_MODULES = frozenset({"sqlalchemy.ext.asyncio", "sqlalchemy.exc"})
SQLALCHEMY_ALLOWED_NAMES = frozenset({"AsyncSession", "async_sessionmaker"})
# Methods that emit SQL when called on a session or connection. ``flush`` is not among
# them: it sends what the store already added and the rows a service changed (the unit of
# work), and a service may need its ordering (a constraint checked before the audit row).
SESSION_METHODS = frozenset(
    {
        "execute",
        "scalar",
        "scalars",
        "stream",
        "stream_scalars",
        "exec_driver_sql",
        "add",
        "add_all",
        "delete",
        "merge",
        "refresh",
        "get",
        "get_one",
        "connection",
    }
)
SESSION_NAMES = ("session", "connection", "conn")
SQL_KEYWORDS = ("SELECT ", "INSERT INTO", "UPDATE ", "DELETE FROM", "WITH ")

# -- rule 2: the pure core ------------------------------------------------------------------
PURE_PACKAGE = "resolve"
PURE_ALLOWED = frozenset({"chatgate.families", "chatgate.resolve"})

# -- rule 3: domains do not know the gateway -------------------------------------------------
# Every package and top-level module is classified, so a new one must be placed here.
GATEWAY_CALLERS = frozenset({"gateway", "app", "cli", "serving"})
DOMAIN_PACKAGES = frozenset(
    {
        "__init__",
        "api",
        "audit",
        "authz",
        "cascade",
        "catalog",
        "chats",
        "client",
        "configdoc",
        "crypto",
        "db",
        "encryption",
        "errors",
        "families",
        "ids",
        "logs",
        "metrics",
        "models",
        "providers",
        "requestlog",
        "resolve",
        "resolve_io",
        "runtime",
        "sessions",
        "settings",
        "startup",
        "store",
        "system",
        "ui",
        "upstream",
        "usage",
        "userkeys",
        "users",
        "validation",
    }
)

# -- rule 5: role decisions ---------------------------------------------------------------
ROLE_PACKAGE = "authz"
ROLE_VALUES = frozenset({"owner", "admin", "auditor", "member"})


@dataclass(frozen=True)
class Source:
    path: Path
    module: str  # chatgate.store.users
    package: str  # store (or the module's name for a top-level module: app)
    tree: ast.Module

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


@cache
def sources() -> tuple[Source, ...]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if "migrations" in parts:  # Alembic scripts are db/ and frozen in time
            continue
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = parts[1] if len(parts) > 1 else parts[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found.append(Source(path, module, package, tree))
    return tuple(found)


def imports(source: Source) -> Iterator[tuple[str, ast.stmt]]:
    """Every module an import statement names (``from a import b`` yields ``a`` and
    ``a.b``: ``b`` may be a submodule), relative imports resolved."""
    is_package = source.path.name == "__init__.py"
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = source.module.split(".")
                drop = node.level - 1 if is_package else node.level
                anchor = anchor[: len(anchor) - drop]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, node
            for alias in node.names:
                yield f"{base}.{alias.name}", node


def top_package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "chatgate":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def known_package(name: str) -> bool:
    return (PACKAGE / name).is_dir() or (PACKAGE / f"{name}.py").is_file()


# -- rule 1 ------------------------------------------------------------------------------


def sql_outside_store(source: Source) -> Iterator[str]:
    for name, node in imports(source):
        if not (name == "sqlalchemy" or name.startswith("sqlalchemy.")):
            continue
        if isinstance(node, ast.Import):
            yield f"{source.where(node)}: imports {name} (SQL is built in store/ only)"
            continue
        assert isinstance(node, ast.ImportFrom)
        if node.module in SQLALCHEMY_ALLOWED_MODULES or name == node.module:
            continue
        imported = name.rsplit(".", 1)[1]
        if imported not in SQLALCHEMY_ALLOWED_NAMES:
            yield (
                f"{source.where(node)}: imports {imported} from {node.module} "
                "(SQL is built in store/ only)"
            )
    for node in ast.walk(source.tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SESSION_METHODS
        ):
            receiver = ast.unparse(node.func.value).lower()
            if any(word in receiver for word in SESSION_NAMES):
                yield (
                    f"{source.where(node)}: calls {ast.unparse(node.func)}() "
                    "(only store/ runs statements on a session)"
                )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lstrip().upper()
            if any(text.startswith(keyword) for keyword in SQL_KEYWORDS) and (
                node.value.lstrip()[:6].isupper()
            ):
                yield f"{source.where(node)}: SQL text {node.value[:40]!r} outside store/"


def test_sql_is_written_only_in_store_and_db() -> None:
    problems = sorted(
        {
            problem
            for source in sources()
            if source.package not in SQL_PACKAGES
            for problem in sql_outside_store(source)
        }
    )
    assert not problems, "SQL outside store/ and db/:\n" + "\n".join(problems)


# -- rule 2 ------------------------------------------------------------------------------


def test_resolve_imports_only_the_standard_library_and_families() -> None:
    problems = []
    for source in sources():
        if source.package != PURE_PACKAGE:
            continue
        for name, node in imports(source):
            if isinstance(node, ast.ImportFrom) and name != (node.module or name):
                continue  # ``from x import y``: x is what is checked
            root = name.split(".")[0]
            if root == "__future__" or root in sys.stdlib_module_names:
                continue
            if any(name == ok or name.startswith(ok + ".") for ok in PURE_ALLOWED):
                continue
            problems.append(
                f"{source.where(node)}: resolve/ imports {name} "
                "(only the standard library and chatgate.families)"
            )
    assert not problems, "resolve/ is not pure:\n" + "\n".join(problems)


# -- rule 3 ------------------------------------------------------------------------------


def test_every_package_is_classified() -> None:
    names = {source.package for source in sources()}
    unclassified = sorted(names - DOMAIN_PACKAGES - GATEWAY_CALLERS)
    assert not unclassified, (
        f"chatgate packages not classified in {Path(__file__).name} "
        f"(DOMAIN_PACKAGES or GATEWAY_CALLERS): {unclassified}"
    )


def test_domain_packages_do_not_import_the_gateway() -> None:
    problems = [
        f"{source.where(node)}: {source.module} imports {name} (a domain never knows the gateway)"
        for source in sources()
        if source.package in DOMAIN_PACKAGES
        for name, node in imports(source)
        if top_package(name) == "gateway" and (isinstance(node, ast.Import) or name == node.module)
    ]
    assert not problems, "domain → gateway imports:\n" + "\n".join(problems)


# -- rule 4 ------------------------------------------------------------------------------


def package_graph() -> dict[str, dict[str, str]]:
    """package → {imported package: where the first such import is}."""
    graph: dict[str, dict[str, str]] = {}
    for source in sources():
        edges = graph.setdefault(source.package, {})
        for name, node in imports(source):
            target = top_package(name)
            if target is None or target == source.package or not known_package(target):
                continue
            edges.setdefault(target, source.where(node))
    return graph


def find_cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """One cycle per strongly connected component, each a path [a, b, …, a] starting at
    the component's smallest name (sorted, so the message is stable)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def connect(node: str) -> None:  # Tarjan
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, {})):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    cycles = []
    for component in sorted(components, key=min):
        start = min(component)
        # Breadth-first inside the component: the shortest way from start back to it.
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            for nxt in sorted(graph.get(node, {})):
                if nxt == start:
                    queue = []
                    cycles.append([*paths[node], start])
                    break
                if nxt in component and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    queue.append(nxt)
    return cycles


def test_no_package_cycles() -> None:
    graph = package_graph()
    messages = []
    for cycle in find_cycles(graph):
        steps = [f"  {a} → {b} ({graph[a][b]})" for a, b in itertools.pairwise(cycle)]
        messages.append("package cycle " + " → ".join(cycle) + ":\n" + "\n".join(steps))
    assert not messages, "\n".join(messages)


def module_graph() -> dict[str, dict[str, str]]:
    """module → {imported chatgate module: where}; type-checking imports count too (a cycle
    hidden behind ``TYPE_CHECKING`` is still two modules that cannot be read apart).
    Importing one's own parent package is not an edge: Python runs it first anyway."""
    modules = {source.module for source in sources()}
    graph: dict[str, dict[str, str]] = {}
    for source in sources():
        edges = graph.setdefault(source.module, {})
        for name, node in imports(source):
            own_parent = source.module.startswith(name + ".")
            if name in modules and name != source.module and not own_parent:
                edges.setdefault(name, source.where(node))
    return graph


def test_no_module_cycles() -> None:
    graph = module_graph()
    messages = []
    for cycle in find_cycles(graph):
        steps = [f"  {a} → {b} ({graph[a][b]})" for a, b in itertools.pairwise(cycle)]
        messages.append("module cycle " + " → ".join(cycle) + ":\n" + "\n".join(steps))
    assert not messages, "\n".join(messages)


def test_the_cycle_finder_reports_each_cycle_as_a_path() -> None:
    graph = {
        "a": {"b": "x:1"},
        "b": {"c": "x:2"},
        "c": {"a": "x:3"},
        "d": {"a": "x:4", "e": "x:5"},
        "e": {"d": "x:6"},
    }
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["d", "e", "d"]]
    assert find_cycles({"a": {"b": "x:1"}, "b": {}}) == []


# -- rule 5 ------------------------------------------------------------------------------


def _is_role(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and node.value in ROLE_VALUES:
        return True
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id == "Role"
    if isinstance(node, (ast.Set, ast.Tuple, ast.List)):
        return any(_is_role(item) for item in node.elts)
    # Role(x) == y
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Role"


def test_roles_are_compared_only_in_authz() -> None:
    problems = [
        f"{source.where(node)}: compares a role ({ast.unparse(node)}); "
        "role decisions belong in authz/"
        for source in sources()
        if source.package != ROLE_PACKAGE
        for node in ast.walk(source.tree)
        if isinstance(node, ast.Compare)
        and any(_is_role(x) for x in [node.left, *node.comparators])
    ]
    assert not problems, "role comparisons outside authz/:\n" + "\n".join(problems)
