"""Pruning: run only what was asked for, and only what changed.

By outputs: the upstream closure of the requested views. By impact: the downstream closure of
changed views or changed inputs. Tasks outside the active set that active tasks read are
read from the store instead of being recomputed ("active tasks" gating).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import rustworkx as rx

from cpg_core.plan.assembly import signature_of
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.schedule import Schedule, compute_schedule


class UnknownViewError(KeyError):
    """A requested view is not in the plan (or was not admitted); the message lists close names."""


@dataclass(frozen=True)
class PrunedPlan:
    """The part of a plan that runs: active tasks, tasks read from the store, its own schedule."""

    plan: ExecutionPlan
    active: frozenset[str]
    read_from_store: tuple[str, ...]
    schedule: Schedule
    reduced_signature: str


def _task_nodes(plan: ExecutionPlan, names: Iterable[str]) -> list[int]:
    nodes = []
    for name in names:
        key = ("task", name)
        if key not in plan.node_index or not plan.tasks[name].admitted:
            import difflib

            near = difflib.get_close_matches(name, list(plan.schedule.order), n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise UnknownViewError(f"view {name!r} is not an admitted view of this plan{hint}")
        nodes.append(plan.node_index[key])
    return nodes


def _tasks_among(plan: ExecutionPlan, nodes: Iterable[int]) -> set[str]:
    found = set()
    for node in nodes:
        data = plan.graph[node]
        if data["kind"] == "task" and plan.tasks[data["name"]].admitted:
            found.add(data["name"])
    return found


def upstream_closure(plan: ExecutionPlan, outputs: Iterable[str]) -> set[str]:
    """The requested views and every admitted view they (transitively) read."""
    result: set[str] = set()
    for node in _task_nodes(plan, outputs):
        result |= _tasks_among(plan, rx.ancestors(plan.graph, node)) | {plan.graph[node]["name"]}
    return result


def downstream_closure(
    plan: ExecutionPlan, changed_views: Iterable[str] = (), changed_inputs: Iterable[str] = ()
) -> set[str]:
    """The changed views and every admitted view that (transitively) reads them or the inputs."""
    result: set[str] = set()
    for node in _task_nodes(plan, changed_views):
        result |= _tasks_among(plan, rx.descendants(plan.graph, node)) | {plan.graph[node]["name"]}
    for name in changed_inputs:
        key = ("dataset", name)
        if key in plan.node_index:
            result |= _tasks_among(plan, rx.descendants(plan.graph, plan.node_index[key]))
    return result


def prune(
    plan: ExecutionPlan,
    *,
    outputs: Iterable[str] | None = None,
    changed_views: Iterable[str] | None = None,
    changed_inputs: Iterable[str] = (),
) -> PrunedPlan:
    """Active tasks = upstream closure of `outputs` (all when None), intersected with the
    downstream closure of the changes when any change set is given."""
    active = set(plan.schedule.order) if outputs is None else upstream_closure(plan, outputs)
    if changed_views is not None or tuple(changed_inputs):
        active &= downstream_closure(plan, changed_views or (), changed_inputs)
    from_store = sorted({u for name in active for u in plan.view_inputs(name) if u not in active})
    edges = [(u, v) for u, v in plan.task_edges() if u in active and v in active]
    schedule = compute_schedule(
        sorted(active), edges, {name: plan.costs[name].seconds for name in active}
    )
    return PrunedPlan(
        plan=plan,
        active=frozenset(active),
        read_from_store=tuple(from_store),
        schedule=schedule,
        reduced_signature=signature_of(plan.tasks, plan.datasets, active),
    )
