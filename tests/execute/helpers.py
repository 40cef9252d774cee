"""Small real projects for the executor tests: Parquet sources, SQL views, a compiled plan."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cpg_core.execute.direct import run_plan_direct
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.project import load_project
from cpg_core.store.content_hash import content_hash
from tests.plan.projects import write_project

# a diamond with a side branch: paid -> (by_customer, by_country) -> report; orders -> statuses
VIEWS: dict[str, str] = {
    "paid": "select order_id, customer_id, amount from orders where status = 'paid'",
    "by_customer": "select customer_id, sum(amount) as total from paid group by customer_id",
    "by_country": (
        "select c.country, sum(p.amount) as total from paid p "
        "join customers c using (customer_id) group by c.country"
    ),
    "report": (
        "select b.customer_id, b.total, k.country from by_customer b "
        "join customers c using (customer_id) join by_country k on k.country = c.country"
    ),
    "statuses": "select status, count(*) as n from orders group by status",
}


def compile_project(root: Path, views: Mapping[str, str] = VIEWS) -> ExecutionPlan:
    """(Re)write the project's views and compile it (no compile cache)."""
    views_dir = root / "views"
    if views_dir.exists():
        for old in views_dir.glob("*.sql"):
            old.unlink()
    return compile_plan(load_project(write_project(root, views)), cache=False)


def read_inputs(root: Path) -> dict[str, pa.Table]:
    return {n: pq.read_table(root / "data" / f"{n}.parquet") for n in ("orders", "customers")}


def hashes(tables: Mapping[str, pa.Table]) -> dict[str, str]:
    return {name: content_hash(table) for name, table in sorted(tables.items())}


def direct_hashes(plan: ExecutionPlan, inputs: Mapping[str, pa.Table]) -> dict[str, str]:
    """Content hashes of the reference executor's persisted outputs."""
    out = run_plan_direct(plan, inputs)
    return hashes({n: t for n, t in out.items() if plan.tasks[n].view.persisted})


def big_orders(rows: int) -> pa.Table:
    """`orders` with the project's schema and `rows` rows (deterministic), to make builds slow."""
    from tests.plan.projects import ORDERS

    ids = pa.array(range(rows), pa.int64())
    statuses = pa.array(["new", "paid", "paid", "void"] * (rows // 4 + 1), pa.string())[:rows]
    return pa.table(
        {
            "order_id": ids,
            "customer_id": pa.array([10 + 10 * (i % 3) for i in range(rows)], pa.int64()),
            "amount": pa.array([float(i % 97) for i in range(rows)], pa.float64()),
            "status": statuses,
            "tags": pa.array([["a"]] * rows, pa.list_(pa.string())),
            "address": pa.nulls(rows, ORDERS.schema.field("address").type),
        },
        schema=ORDERS.schema,
    )


# many independent entry views of different depths: set/dict order would scramble them
WIDE: dict[str, str] = {
    **{
        f"leaf_{c}": f"select order_id, amount from orders where order_id > {i}"
        for i, c in enumerate("qwertzuiop")
    },
    "deep_1": "select order_id, amount from leaf_p",
    "deep_2": "select order_id, amount from deep_1",
    "deep_3": "select sum(amount) as s from deep_2",
    "mid_1": "select count(*) as n from leaf_e",
}


def compile_wide(root: Path) -> ExecutionPlan:
    return compile_project(root, WIDE)
