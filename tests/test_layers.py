"""The shape of the house stays: each layer loads only what is below it, and no module
of ``sim`` imports, directly or through others, a module that imports it back."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIM = ROOT / "sim"


def _loaded_by(module: str) -> set[str]:
    """Top-level packages and ``sim`` modules in ``sys.modules`` after importing
    ``module`` in a fresh interpreter."""
    code = (
        "import sys, json; before = set(sys.modules); "
        f"import {module}; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return set(json.loads(res.stdout))


# module -> what it must never load (a package, or a sim module)
NEVER = {
    "sim.events": {"simpy", "numpy", "pandas", "pydantic", "yaml", "matplotlib"},
    "sim.errors": {"simpy", "numpy", "pandas", "pydantic", "matplotlib"},
    "sim.config": {"simpy", "pandas", "matplotlib", "scipy", "sim.model", "sim.analysis"},
    "sim.model.engine": {"pandas", "matplotlib", "sim.analysis", "sim.api", "sim.io"},
    "sim.analysis.tables": {"simpy", "matplotlib", "sim.model", "sim.api"},
    "sim.analysis.trial": {"simpy", "matplotlib", "sim.model", "sim.api"},
    "sim.plots": {"simpy", "sim.model", "sim.api"},
    "sim.labels": {"simpy", "numpy", "pandas", "pydantic", "matplotlib"},
    "sim.report": {"simpy", "matplotlib", "sim.model", "sim.api"},
    "sim.runner": {"simpy", "pandas", "matplotlib", "sim.model", "sim.analysis"},
    # the protocol and the lifecycle know no kind of study, and run nothing
    "sim.study": {"simpy", "numpy", "pandas", "matplotlib", "sim.model", "sim.api", "sim.studies"},
    "sim.workspace": {"simpy", "matplotlib", "sim.model", "sim.api", "sim.studies", "sim.report"},
    "sim.printed": {"simpy", "matplotlib", "sim.model", "sim.api", "sim.studies"},
    "sim.io": {"simpy", "matplotlib", "sim.model", "sim.config"},
    # the kinds load the engine and matplotlib only to run and to draw: `report` stays light
    "sim.studies": {"simpy", "matplotlib", "sim.model", "sim.api"},
}


@pytest.mark.parametrize("module", NEVER)
def test_a_layer_loads_nothing_above_it(module: str) -> None:
    loaded = _loaded_by(module)
    wrong = sorted(
        name for name in NEVER[module] if any(m == name or m.startswith(name + ".") for m in loaded)
    )
    assert not wrong, f"importing {module} loads {wrong}"


@pytest.mark.parametrize("vocabulary", ["events.py", "statistics.py"])
def test_a_vocabulary_imports_nothing(vocabulary: str) -> None:
    tree = ast.parse((SIM / vocabulary).read_text())
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    assert not imports


def test_every_statistic_a_scenario_can_name_is_one_the_trial_analysis_summarises() -> None:
    from sim.analysis import trial
    from sim.statistics import ATTENDANCE_STATISTICS, STATISTICS

    summarised = {*trial._STATS, *trial._MORE_STATS}
    assert set(STATISTICS) - set(ATTENDANCE_STATISTICS) <= summarised
    assert summarised <= {*trial.TRIAL_COLUMNS, *trial.COUNT_COLUMNS, *trial.BED_DAYS_COLUMNS}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """``sim`` module -> the ``sim`` modules it imports, anywhere in it (inside
    functions too; only ``if TYPE_CHECKING:`` blocks, which never run, are left out)."""
    modules = {_module_name(p): p for p in SIM.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skip = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        targets: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets.add(node.module)
                targets |= {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
        # importing sim.x.y runs sim/x/__init__.py first (unless it is our own package,
        # which is already running)
        parents = {
            ".".join(t.split(".")[:k]) for t in graph[name] for k in range(2, t.count(".") + 1)
        }
        graph[name] |= {
            p for p in parents if p in modules and p != name and not name.startswith(p + ".")
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_in_sim() -> None:
    graph = import_graph()
    assert "sim.events" in graph and "sim.model.engine" in graph["sim.api"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


# the house's floors: the longest chain of imports between its rooms, a package
# (config, analysis, model, studies) counting as one room and every other module as one:
# 13 before studies became one room each, 11 after; a change may lower it, never raise it
FLOORS = 11
PACKAGES = ("sim.config", "sim.analysis", "sim.model", "sim.studies")


def test_the_house_grows_no_taller() -> None:
    import functools

    def room(module: str) -> str:
        return next((p for p in PACKAGES if module == p or module.startswith(p + ".")), module)

    rooms: dict[str, set[str]] = {}
    for module, imported in import_graph().items():
        rooms.setdefault(room(module), set()).update(
            room(m) for m in imported if room(m) != room(module)
        )

    @functools.cache
    def floor(r: str) -> int:
        return 1 + max((floor(m) for m in rooms.get(r, ())), default=0)

    top = max(rooms, key=floor)
    assert floor(top) <= FLOORS, f"{top} stands on floor {floor(top)}"


# the rooms every kind of study goes through, which must not know one kind from another
KIND_BLIND = ["sim.report", "sim.workspace", "sim.printed", "sim.study", "sim.figures", "sim.io"]


@pytest.mark.parametrize("module", KIND_BLIND)
def test_the_shared_rooms_import_no_kind_of_study(module: str) -> None:
    kinds = {m for m in import_graph() if m.startswith("sim.studies.")}
    wrong = sorted(import_graph()[module] & kinds)
    assert not wrong, f"{module} imports {wrong}: a kind's own room is its only place"
