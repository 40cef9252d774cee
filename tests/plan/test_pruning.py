"""Pruning by requested outputs and by impact, on a compiled real plan."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.plan import ExecutionPlan
from cpg_core.plan.pruning import UnknownViewError, downstream_closure, prune, upstream_closure
from tests.plan.projects import compile_views

_VIEWS = {
    "base": "select order_id, customer_id, amount, status from orders",
    "paid": "select order_id, customer_id, amount from base where status = 'paid'",
    "per_customer": "select customer_id, sum(amount) as total from paid group by customer_id",
    "named": "select c.name, p.total from per_customer p join customers c using (customer_id)",
    "void": "select order_id from base where status = 'void'",
    "people": "select name from customers",
}


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> ExecutionPlan:
    return compile_views(tmp_path_factory.mktemp("prune"), _VIEWS)


def test_upstream_closure_of_requested_outputs(plan: ExecutionPlan) -> None:
    assert upstream_closure(plan, ["named"]) == {"base", "paid", "per_customer", "named"}
    assert upstream_closure(plan, ["void", "people"]) == {"base", "void", "people"}


def test_downstream_closure_of_changed_views_and_inputs(plan: ExecutionPlan) -> None:
    assert downstream_closure(plan, ["paid"]) == {"paid", "per_customer", "named"}
    assert downstream_closure(plan, changed_inputs=["customers"]) == {"named", "people"}


def test_pruned_plan_reads_inactive_upstream_from_the_store(plan: ExecutionPlan) -> None:
    pruned = prune(plan, outputs=["named"], changed_views=["per_customer"])
    assert pruned.active == {"per_customer", "named"}
    assert pruned.read_from_store == ("paid",)
    assert pruned.schedule.order == ("per_customer", "named")
    assert pruned.reduced_signature != plan.signature
    assert prune(plan).reduced_signature == plan.signature


def test_unknown_requested_view_is_a_clear_error(plan: ExecutionPlan) -> None:
    with pytest.raises(UnknownViewError, match=r"'nmed' is not an admitted view.*named"):
        prune(plan, outputs=["nmed"])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sets(st.sampled_from(sorted(_VIEWS)), min_size=1), st.sets(st.sampled_from(sorted(_VIEWS)))
)
def test_pruning_invariants(plan: ExecutionPlan, outputs: set[str], changed: set[str]) -> None:
    pruned = prune(plan, outputs=outputs, changed_views=changed)
    closure = upstream_closure(plan, outputs)
    assert pruned.active <= closure
    assert pruned.active == closure & downstream_closure(plan, changed)
    # Every input of an active task is either active or read from the store.
    for name in pruned.active:
        for upstream in plan.view_inputs(name):
            assert upstream in pruned.active or upstream in pruned.read_from_store
    assert set(pruned.schedule.order) == pruned.active
