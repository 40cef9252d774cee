"""The human-readable plan report printed by `cpg plan`."""

from __future__ import annotations

from cpg_core.plan.execution_plan import ExecutionPlan


def _seconds(value: float) -> str:
    return f"{value:.6g}"


def plan_report(plan: ExecutionPlan) -> str:
    """Generations, critical path, per-task cost/levels/slack, then every problem."""
    schedule = plan.schedule
    lines = [
        f"plan {plan.signature[:16]}  views: {len(plan.tasks)}  admitted: {len(schedule.order)}"
        f"  problems: {len(plan.problems)}",
    ]
    if plan.cache_note:
        lines.append(f"note: {plan.cache_note} (rebuilt)")
    lines.append("")
    lines.append("generations:")
    for index, generation in enumerate(schedule.generations):
        lines.append(f"  {index:>3}: {' '.join(generation)}")
    lines.append("")
    path = " -> ".join(schedule.critical_path) or "-"
    lines.append(f"critical path ({_seconds(schedule.critical_path_length)} s): {path}")
    lines.append("")
    if schedule.order:
        width = max(len(n) for n in schedule.order)
        generation = schedule.generation_of()
        critical = set(schedule.critical_path)
        lines.append(
            f"  {'#':>4}  {'view':<{width}}  {'gen':>3}  {'cost s':>10}  {'source':<9}"
            f"  {'bottom s':>10}  {'slack s':>10}"
        )
        for position, name in enumerate(schedule.order):
            cost = plan.costs[name]
            mark = " *" if name in critical else ""
            lines.append(
                f"  {position:>4}  {name:<{width}}  {generation[name]:>3}  {_seconds(cost.seconds):>10}"
                f"  {cost.source:<9}  {_seconds(schedule.bottom_level[name]):>10}"
                f"  {_seconds(schedule.slack[name]):>10}{mark}"
            )
        lines.append("  (* = on the critical path)")
    if plan.problems:
        lines.append("")
        lines.append(f"problems ({len(plan.problems)}):")
        lines.extend(f"  {p.format()}" for p in plan.problems)
    return "\n".join(lines) + "\n"
