"""Pass: assemble the plan's records into an `ExecutionPlan` (task graph and signature included).

Also how a plan read back from its file is rebuilt: the records are the plan, the graph is
derived from them, and the signature can be recomputed to verify them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import rustworkx as rx

from cpg_core.plan.catalog import Dataset
from cpg_core.plan.costs import TaskCost
from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_core.plan.fingerprints import plan_signature
from cpg_core.plan.hashing import schema_hash
from cpg_core.plan.schedule import Schedule
from cpg_core.plan.singular_tests import SingularTest
from cpg_core.problems import Problem
from cpg_core.project import Project


def assemble_plan(
    project: Project,
    *,
    tasks: Mapping[str, Task],
    datasets: Mapping[str, Dataset],
    problems: tuple[Problem, ...],
    costs: Mapping[str, TaskCost],
    schedule: Schedule,
    signature: str | None = None,
    cache_note: str | None = None,
    singular_tests: tuple[SingularTest, ...] = (),
) -> ExecutionPlan:
    """The plan of these records; the signature is computed unless given (a plan file's)."""
    graph, node_index = build_task_graph(tasks, datasets)
    if signature is None:
        admitted = {name for name, task in tasks.items() if task.admitted}
        signature = signature_of(tasks, datasets, admitted)
    return ExecutionPlan(
        project=project,
        tasks=MappingProxyType(dict(tasks)),
        datasets=MappingProxyType(dict(datasets)),
        problems=problems,
        costs=MappingProxyType(dict(costs)),
        schedule=schedule,
        signature=signature,
        graph=graph,
        node_index=MappingProxyType(node_index),
        cache_note=cache_note,
        singular_tests=singular_tests,
    )


def build_task_graph(
    tasks: Mapping[str, Task], datasets: Mapping[str, Dataset]
) -> tuple[rx.PyDiGraph, dict[tuple[str, str], int]]:
    """The bipartite graph: dataset nodes and task nodes; dataset→task edges carry columns."""
    graph: rx.PyDiGraph = rx.PyDiGraph()
    index: dict[tuple[str, str], int] = {}
    for name in sorted(datasets):
        index[("dataset", name)] = graph.add_node(
            {"kind": "dataset", "name": name, "dataset_kind": datasets[name].kind}
        )
    for name in sorted(tasks):
        index[("task", name)] = graph.add_node(
            {"kind": "task", "name": name, "admitted": tasks[name].admitted}
        )
    for name in sorted(tasks):
        task = tasks[name]
        for table in task.inputs:
            columns = tuple(task.required_columns.get(table, ()))
            graph.add_edge(index[("dataset", table)], index[("task", name)], {"columns": columns})
        graph.add_edge(index[("task", name)], index[("dataset", name)], {"columns": ()})
    return graph, index


def signature_of(
    tasks: Mapping[str, Task], datasets: Mapping[str, Dataset], active: set[str]
) -> str:
    """Plan signature of the sub-plan made of the `active` tasks."""
    task_fps = {n: tasks[n].fingerprint for n in active}
    inputs = {table for n in active for table in tasks[n].inputs if table not in active}
    dataset_hashes = {
        t: schema_hash(s) if (s := datasets[t].schema) is not None else "" for t in inputs
    }
    edges = [
        (table, n, tuple(tasks[n].required_columns.get(table, ())))
        for n in active
        for table in tasks[n].inputs
    ]
    return plan_signature(task_fps, dataset_hashes, edges)
