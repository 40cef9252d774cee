"""Schedule tags on the built graph's view nodes (string values, as Hamilton requires).

Applied with `Node.add_tag` after the graph is built, not as decorators in the generated source:
decorators are part of `inspect.getsource`, so costs would enter the code version and a new cost
estimate would invalidate the cache.
"""

from __future__ import annotations

from hamilton.graph import FunctionGraph

from cpg_core.plan.execution_plan import ExecutionPlan


def schedule_tags(plan: ExecutionPlan) -> dict[str, dict[str, str]]:
    """View name → its cpg.* tags from the plan's schedule."""
    schedule = plan.schedule
    position = {name: i for i, name in enumerate(schedule.order)}
    generation = schedule.generation_of()
    critical = set(schedule.critical_path)
    return {
        name: {
            "cpg.kind": "view",
            "cpg.cost_s": f"{plan.costs[name].seconds:.6g}",
            "cpg.cost_source": plan.costs[name].source,
            "cpg.bottom_level": f"{schedule.bottom_level[name]:.6g}",
            "cpg.slack": f"{schedule.slack[name]:.6g}",
            "cpg.critical_path": str(name in critical).lower(),
            "cpg.order": str(position[name]),
            "cpg.generation": str(generation[name]),
            "cpg.fingerprint": plan.tasks[name].fingerprint,
            "cpg.materialize": plan.tasks[name].view.materialize,
        }
        for name in schedule.order
    }


def apply_schedule_tags(graph: FunctionGraph, plan: ExecutionPlan) -> None:
    """Tag every view node of `graph` present in the plan's schedule."""
    for name, tags in schedule_tags(plan).items():
        node_ = graph.nodes.get(name)
        if node_ is not None:
            for key, value in tags.items():
                node_.add_tag(key, value)
