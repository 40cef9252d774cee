"""Pass: which analyzed views are admitted.

A view is admitted when its own analysis found no problem, it is on no dependency cycle, and
every view it reads is admitted. Cycles are reported once per member, naming the whole cycle;
a view kept out only by its upstream says which upstream views are invalid.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import rustworkx as rx

from cpg_core.plan.analysis import Analyzed
from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import ViewDef


@dataclass(frozen=True)
class Admission:
    """Admitted views in a deterministic topological order, view edges, and the problems."""

    order: list[str]
    edges: list[tuple[str, str]]
    problems: list[Problem]

    @property
    def admitted(self) -> frozenset[str]:
        return frozenset(self.order)


def admit(
    views: Mapping[str, ViewDef], results: Mapping[str, Analyzed], invalid: frozenset[str]
) -> Admission:
    """Admit the views whose analysis and upstream are sound (every view's own problems,
    cycles and upstream_invalid problems are returned)."""
    edges = sorted((t, name) for name, r in results.items() for t in r.entry.tables if t in views)
    cycle_problems, on_cycle = _cycle_problems(views, edges, results)
    admitted: set[str] = set()
    topological = _topological(views, edges, on_cycle)
    for name in topological:
        result = results[name]
        ups = [t for t in result.entry.tables if t in views]
        if (
            result.ok
            and name not in invalid
            and name not in on_cycle
            and all(u in admitted for u in ups)
        ):
            admitted.add(name)
    problems: list[Problem] = []
    for name, result in results.items():
        problems += result.own_problems
        if name in admitted or result.own_problems or name in on_cycle or name in invalid:
            continue
        bad = sorted(u for u in result.entry.tables if u in views and u not in admitted)
        problems.append(
            Problem(
                code=ProblemCode.UPSTREAM_INVALID,
                view=name,
                path=result.view.path,
                message="not admitted: upstream view(s) " + ", ".join(bad) + " are invalid",
            )
        )
    problems += cycle_problems
    order = [n for n in topological if n in admitted]
    return Admission(order, edges, problems)


def _cycle_problems(
    views: Mapping[str, ViewDef], edges: list[tuple[str, str]], results: Mapping[str, Analyzed]
) -> tuple[list[Problem], set[str]]:
    """One problem per view on a cycle, each naming the whole cycle view by view."""
    graph: rx.PyDiGraph = rx.PyDiGraph()
    names = sorted(views)
    index = {n: graph.add_node(n) for n in names}
    graph.add_edges_from_no_data([(index[u], index[v]) for u, v in edges])
    problems: list[Problem] = []
    on_cycle: set[str] = set()
    components = [sorted(graph[i] for i in c) for c in rx.strongly_connected_components(graph)]
    for component in sorted(components):
        start = component[0]
        if len(component) == 1 and not graph.has_edge(index[start], index[start]):
            continue
        cycle_edges = rx.digraph_find_cycle(graph, source=index[start])
        # Edges run upstream → reader; report the cycle in reading order from its first name.
        flow = [graph[u] for u, _ in cycle_edges] or [start]
        reading = flow[::-1]
        first = reading.index(min(reading))
        cycle = reading[first:] + reading[:first]
        text = " -> ".join([*cycle, cycle[0]])
        following = dict(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
        for member in component:
            on_cycle.add(member)
            view = views[member]
            positions = results[member].entry.table_positions
            at = positions.get(following.get(member, ""))
            problems.append(
                Problem(
                    code=ProblemCode.CYCLE,
                    view=member,
                    path=view.path,
                    line=at[0] if at else None,
                    col=at[1] if at else None,
                    message=f"dependency cycle: {text}",
                    hint="each view reads the next; a view cannot read itself through others",
                )
            )
    return problems, on_cycle


def _topological(
    views: Mapping[str, ViewDef], edges: list[tuple[str, str]], skip: set[str]
) -> list[str]:
    """Views in a deterministic topological order (views on cycles are left out)."""
    graph: rx.PyDiGraph = rx.PyDiGraph()
    names = sorted(n for n in views if n not in skip)
    index = {n: graph.add_node(n) for n in names}
    graph.add_edges_from_no_data(
        [(index[u], index[v]) for u, v in edges if u in index and v in index]
    )
    return list(rx.lexicographical_topological_sort(graph, key=lambda n: n))
