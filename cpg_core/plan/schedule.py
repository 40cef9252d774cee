"""Schedule a task DAG: generations, levels, slack, weighted critical path, one total order.

Pure functions over names, edges and costs, so the same inputs give the same schedule whatever
the input order or PYTHONHASHSEED (every tie is broken by name).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec
import rustworkx as rx

_DIGITS = 9  # costs are rounded so float noise cannot create negative slack or flip ties


class Schedule(msgspec.Struct, frozen=True, kw_only=True):
    """The schedule of the admitted tasks (all mappings are keyed by task name)."""

    order: tuple[str, ...]
    generations: tuple[tuple[str, ...], ...]
    costs: Mapping[str, float]
    bottom_level: Mapping[str, float]
    top_level: Mapping[str, float]
    slack: Mapping[str, float]
    critical_path: tuple[str, ...]
    critical_path_length: float

    def generation_of(self) -> dict[str, int]:
        """Task name → index of its generation."""
        return {name: i for i, gen in enumerate(self.generations) for name in gen}


def _graph(
    tasks: Sequence[str], edges: Iterable[tuple[str, str]]
) -> tuple[rx.PyDiGraph, dict[str, int]]:
    graph: rx.PyDiGraph = rx.PyDiGraph(check_cycle=False, multigraph=False)
    names = sorted(set(tasks))
    index = {name: graph.add_node(name) for name in names}
    graph.add_edges_from_no_data(
        sorted({(index[u], index[v]) for u, v in edges if u in index and v in index})
    )
    return graph, index


def compute_schedule(
    tasks: Sequence[str], edges: Iterable[tuple[str, str]], costs: Mapping[str, float]
) -> Schedule:
    """Schedule an acyclic task graph (`edges` are upstream → downstream task pairs)."""
    graph, index = _graph(tasks, edges)
    names: list[str] = [graph[i] for i in graph.node_indices()]
    cost = {n: round(float(costs.get(n, 1.0)), _DIGITS) for n in names}
    topo = [graph[i] for i in rx.topological_sort(graph)]
    succ = {n: sorted(graph[j] for j in graph.successor_indices(index[n])) for n in names}
    pred = {n: sorted(graph[j] for j in graph.predecessor_indices(index[n])) for n in names}

    top: dict[str, float] = {}
    for n in topo:
        top[n] = round(max((top[p] + cost[p] for p in pred[n]), default=0.0), _DIGITS)
    bottom: dict[str, float] = {}
    for n in reversed(topo):
        bottom[n] = round(cost[n] + max((bottom[s] for s in succ[n]), default=0.0), _DIGITS)
    length = max(bottom.values(), default=0.0)
    slack = {n: max(0.0, round(length - top[n] - bottom[n], _DIGITS)) for n in names}

    # Critical path: from the heaviest entry task, follow the heaviest successor (ties by name).
    path: list[str] = []
    entries = [n for n in names if not pred[n]]
    if entries:
        current = min(entries, key=lambda n: (-bottom[n], n))
        path.append(current)
        while succ[current]:
            current = min(succ[current], key=lambda n: (-bottom[n], n))
            path.append(current)

    # Total order: among ready tasks, the most urgent first (see `priority_ranks`).
    rank = {n: f"{i:09d}" for n, i in _ranks(names, bottom, slack).items()}
    order = tuple(rx.lexicographical_topological_sort(graph, key=lambda n: rank[n]))
    generations = tuple(
        tuple(sorted(graph[i] for i in gen)) for gen in rx.topological_generations(graph)
    )
    return Schedule(
        order=order,
        generations=generations,
        costs=cost,
        bottom_level=bottom,
        top_level=top,
        slack=slack,
        critical_path=tuple(path),
        critical_path_length=length,
    )


def _ranks(
    names: Iterable[str], bottom: Mapping[str, float], slack: Mapping[str, float]
) -> dict[str, int]:
    ordered = sorted(names, key=lambda n: (-bottom[n], slack[n], n))
    return {name: rank for rank, name in enumerate(ordered)}


def priority_ranks(schedule: Schedule) -> dict[str, int]:
    """Task name → rank (0 = most urgent): highest bottom level first, then least slack, then
    name. The one priority of the plan: the compiler's total order is the topological sort by
    it, and executors start ready tasks by it, so a serial run submits exactly `order`."""
    return _ranks(schedule.order, schedule.bottom_level, schedule.slack)
