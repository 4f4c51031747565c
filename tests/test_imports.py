"""The layering of the package: the core imports nothing above it, and imports form no cycles."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cogym

PACKAGE = Path(cogym.__file__).parent
ROOT = PACKAGE.parent

CORE = ["cogym.directory", "cogym.orchestrator", "cogym.trial", "cogym.environment", "cogym.spec"]
ABOVE_THE_CORE = ("cogym.registry", "cogym.web", "cogym.datastore")

STILL_TANGLED = ("cogym.web",)
"""Areas whose own cycles are being taken apart (the web server and its channel): a cycle
wholly inside one of them is not reported yet. Any cycle that reaches another module is."""


def _loaded_after(code: str) -> list[str]:
    """The modules of ``sys.modules`` after ``code`` runs in a fresh interpreter."""
    script = f"{code}\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_the_core_imports_nothing_above_it():
    loaded = _loaded_after("import " + ", ".join(CORE))
    assert set(CORE) <= set(loaded)
    assert [m for m in loaded if m.startswith(ABOVE_THE_CORE)] == []


def test_a_trial_without_models_or_recording_imports_neither_the_registry_nor_the_datastore():
    loaded = _loaded_after(
        "from cogym import Orchestrator, TrialSpec\n"
        "spec = TrialSpec.from_dict({'environment': {'implementation': 'gym:CartPole-v1'},\n"
        "                            'actors': [{'name': 'player'}], 'seed': 0})\n"
        "with Orchestrator() as orchestrator:\n"
        "    assert orchestrator.run(spec).state.value == 'ended'"
    )
    assert "cogym.wrappers.gym_environment" in loaded  # the gym: scheme, found by entry point
    assert [m for m in loaded if m.startswith(ABOVE_THE_CORE)] == []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(node: ast.AST, module: str, is_package: bool) -> Iterator[str]:
    """The names an import statement may load, absolute."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[: len(base) - node.level + is_package]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        yield target
        yield from (f"{target}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Which cogym module imports which, from the source: module-level, function-level and
    ``TYPE_CHECKING`` imports alike, and the packages that importing a submodule runs (the
    ``cogym`` package itself, which everything runs, aside). The command line is left out: its
    imports are lazy on purpose, for start-up time."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = {m for m in files if not m.startswith("cogym.cli")}

    def owner(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module in modules:
        path = files[module]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            for name in _imported(node, module, path.name == "__init__.py"):
                target = owner(name) if name.startswith("cogym.") else None
                if target is None or target == module:
                    continue
                graph[module].add(target)
                # the packages around the target run first, unless they hold this module
                package = target.rpartition(".")[0]
                while package != "cogym" and not module.startswith(package + "."):
                    graph[module].add(package)
                    package = package.rpartition(".")[0]
    for module in graph:
        graph[module] &= modules
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _still_tangled(group: list[str]) -> bool:
    areas = {next((a for a in STILL_TANGLED if m == a or m.startswith(a + ".")), m) for m in group}
    return len(areas) == 1


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycle_reaches_beyond_the_areas_being_untangled():
    graph = import_graph()
    assert {"cogym.backends.local", "cogym.orchestrator"} <= set(graph)
    assert "cogym.directory" in graph["cogym.orchestrator"]
    assert [group for group in cycles(graph) if not _still_tangled(group)] == []


DATASTORE_LAYERS = ("format", "write", "read")
"""The datastore's subpackages in pipeline order; the facade and the operations come after."""


def _datastore_layer(module: str) -> int:
    part = module.removeprefix("cogym.datastore.").split(".")[0]
    return DATASTORE_LAYERS.index(part) if part in DATASTORE_LAYERS else len(DATASTORE_LAYERS)


def test_each_datastore_layer_imports_only_the_layers_before_it():
    graph = import_graph()
    inside = [m for m in graph if m.startswith("cogym.datastore.")]
    assert {"cogym.datastore.format.shard", "cogym.datastore.write.writer"} <= set(inside)
    upward = [
        (module, target)
        for module in inside
        for target in graph[module]
        if target.startswith("cogym.datastore.")
        and _datastore_layer(target) > _datastore_layer(module)
    ]
    assert upward == []
