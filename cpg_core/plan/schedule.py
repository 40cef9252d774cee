"""Schedule a task DAG: generations, levels, slack, weighted critical path, one total order.

Pure functions over names, edges and costs, so the same inputs give the same schedule whatever
the input order or PYTHONHASHSEED (every tie is broken by name).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

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
    # tasks nothing in the plan reads: a serial run starts them first (see `serial_ranks`)
    sinks: tuple[str, ...] = ()

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
    tasks: Sequence[str],
    edges: Iterable[tuple[str, str]],
    costs: Mapping[str, float],
    *,
    hidden: Collection[str] = (),
) -> Schedule:
    """Schedule an acyclic task graph (`edges` are upstream → downstream task pairs).

    `hidden` tasks (inline views: no table, no node of their own) are scheduled like the others
    but left out of the critical path, which then names only tasks that exist on their own;
    where a hidden and a visible task are equally heavy, the path follows the visible one."""
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

    def heaviest(n: str) -> tuple[float, bool, str]:
        return (-bottom[n], n in hidden, n)

    if entries:
        current = min(entries, key=heaviest)
        path.append(current)
        while succ[current]:
            current = min(succ[current], key=heaviest)
            path.append(current)
    path = [n for n in path if n not in hidden]

    # Total order: a serial run's, among ready tasks the most urgent first (`serial_ranks`).
    sinks = tuple(n for n in names if not succ[n])
    rank = {n: f"{i:09d}" for n, i in _ranks(names, bottom, slack, set(sinks)).items()}
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
        sinks=sinks,
    )


def _ranks(
    names: Iterable[str],
    bottom: Mapping[str, float],
    slack: Mapping[str, float],
    sinks: Collection[str],
) -> dict[str, int]:
    ordered = sorted(names, key=lambda n: (n not in sinks, -bottom[n], slack[n], n))
    return {name: rank for rank, name in enumerate(ordered)}


def priority_ranks(schedule: Schedule) -> dict[str, int]:
    """Task name → rank (0 = most urgent) when tasks run side by side: highest bottom level
    first, then least slack, then name (the heaviest chain starts first)."""
    return _ranks(schedule.order, schedule.bottom_level, schedule.slack, ())


def serial_ranks(schedule: Schedule) -> dict[str, int]:
    """Task name → rank when one task runs at a time: sinks first, then as `priority_ranks`.
    The compiler's total order is the topological sort by it, so a serial run submits exactly
    `order`.

    Why sinks first: one at a time, the order does not change how long the run takes, only
    what it holds. Nothing waits for a sink, but its inputs are held until it ran; run as soon
    as it is ready, it lets them go sooner (the stdlib CPG's convergence check, a leaf that
    reads every value-flow round, kept 0.19 GiB alive through cpg_edges when it ran last)."""
    return _ranks(schedule.order, schedule.bottom_level, schedule.slack, set(schedule.sinks))
