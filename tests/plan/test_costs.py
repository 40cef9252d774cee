"""Costs of inline views: nothing on their own, folded into every reader that runs them."""

from __future__ import annotations

from pathlib import Path

from cpg_core.plan import ExecutionPlan
from cpg_core.plan.costs import DEFAULT_COST, TaskCost, estimate_costs
from tests.plan.projects import compile_views

INLINE = "-- @materialize: inline\n"
VIEWS = {
    "paid": INLINE + "select order_id, customer_id, amount from orders where status = 'paid'",
    "big": INLINE + "select * from paid where amount > 1",
    "small": INLINE + "select * from paid where amount <= 1",
    "both": "select * from big union all select * from small",
    "per_customer": "select customer_id, sum(amount) as total from big group by customer_id",
    "top": "select * from per_customer order by total desc limit 1",
}


def _costs(
    plan: ExecutionPlan, sizes: dict[str, int | None], history: dict[str, float]
) -> dict[str, TaskCost]:
    order = plan.schedule.order
    costs, _sizes = estimate_costs(
        order,
        {n: plan.tasks[n].inputs for n in order},
        {n: plan.tasks[n].fingerprint for n in order},
        sizes,
        history,
        inline={"paid", "big", "small"},
    )
    return costs


def test_inline_views_cost_nothing_and_each_reader_pays_for_what_it_runs(tmp_path: Path) -> None:
    plan = compile_views(tmp_path, VIEWS)
    assert {plan.costs[n] for n in ("paid", "big", "small")} == {TaskCost(0.0, "inline")}
    # `both` runs paid, big and small (≈ 5 orders-sized scans) > per_customer → top (≈ 4):
    # the critical path is the one view, no inline view named
    assert plan.schedule.critical_path == ("both",)
    costs = _costs(plan, {"orders": None, "customers": None}, {})
    # `both` runs paid once (a diamond through big and small), big and small: 4 default costs
    assert costs["both"] == TaskCost(4 * DEFAULT_COST, "default")
    assert costs["per_customer"] == TaskCost(3 * DEFAULT_COST, "default")  # paid, big, itself
    assert costs["top"] == TaskCost(DEFAULT_COST, "default")


def test_a_measured_reader_already_includes_its_inline_steps(tmp_path: Path) -> None:
    plan = compile_views(tmp_path, VIEWS)
    history = {plan.tasks["both"].fingerprint: 0.25, plan.tasks["paid"].fingerprint: 9.0}
    costs = _costs(plan, {"orders": 1000, "customers": 100}, history)
    assert costs["both"] == TaskCost(0.25, "measured")  # not 0.25 + 9 + ...
    assert costs["paid"] == TaskCost(0.0, "inline")
    # per_customer is estimated: its own estimate plus big's, plus paid's measurement
    assert costs["per_customer"].source == "estimated"
    assert 9.0 < costs["per_customer"].seconds < 9.1
