"""The package's shape: no import cycle, no module over 400 lines, and ports only in the stack description."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

from lakehouse_sdk.stack.components import COMPONENTS, startup_order
from lakehouse_sdk.stack.endpoints import ENDPOINTS

SRC = Path(__file__).resolve().parents[2] / "src" / "lakehouse_sdk"


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _import_graph() -> dict[str, set[str]]:
    """Every import of every module, module-level, in functions and under TYPE_CHECKING alike."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                targets = [f"{base}.{a.name}" for a in node.names] + [base]
            for target in targets:
                found = resolve(target)
                if found and found != module:
                    graph[module].add(found)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
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

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle() -> None:
    graph = _import_graph()
    assert graph["lakehouse_sdk.lakehouse"], "the graph must see imports at all"
    assert _cycles(graph) == []


def test_the_cycle_detector_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


def test_no_module_over_400_lines() -> None:
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def _port_literals() -> set[int]:
    ports = {p.container for c in COMPONENTS.values() for p in c.ports}
    return ports | {p.node_port for c in COMPONENTS.values() for p in c.ports if p.node_port}


def test_ports_and_service_addresses_only_in_the_stack_description() -> None:
    """No port of the reference table, and no ``service:port`` address, in local/, kube/ or health.py."""
    ports = _port_literals()
    hosts = "|".join(re.escape(s.dns_name) for s in ENDPOINTS.values())
    address = re.compile(rf"\b({hosts})(\.[a-z0-9.-]+)?:\d+")
    files = [*(SRC / "local").rglob("*.py"), *(SRC / "kube").rglob("*.py"), SRC / "health.py"]
    found = []
    for path in files:
        for tok in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            if tok.type == tokenize.NUMBER and tok.string.isdigit() and int(tok.string) in ports:
                found.append(f"{path.relative_to(SRC)}:{tok.start[0]}: {tok.string}")
            elif tok.type == tokenize.STRING and address.search(tok.string):
                found.append(f"{path.relative_to(SRC)}:{tok.start[0]}: {tok.string[:60]}")
    assert found == []


def test_the_startup_order_follows_the_dependencies() -> None:
    order = startup_order()
    assert set(order) == set(COMPONENTS)
    for name, spec in COMPONENTS.items():
        assert all(order.index(dep) < order.index(name) for dep in spec.depends_on), name
