"""The reference executor runs real views over real tables in schedule order."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cpg_core.execute.direct import run_plan_direct
from cpg_core.execute.errors import ViewExecutionError
from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from tests.plan.projects import write_project


def test_views_consume_their_upstream_outputs(tmp_path: Path) -> None:
    toml = write_project(
        tmp_path,
        {
            "paid": "select customer_id, amount from orders where status = 'paid'",
            "totals": "select c.name, sum(p.amount) as total from paid p join customers c using (customer_id) group by c.name",
        },
    )
    plan = compile_plan(load_project(toml), cache=False)
    inputs = {n: pq.read_table(tmp_path / "data" / f"{n}.parquet") for n in ("orders", "customers")}
    out = run_plan_direct(plan, inputs)
    assert sorted(out["totals"].to_pylist(), key=lambda r: r["name"]) == [
        {"name": "ann", "total": 7.5},
        {"name": "bob", "total": 1.25},
    ]


def test_a_failing_view_is_named(tmp_path: Path) -> None:
    toml = write_project(tmp_path, {"boom": "select cast(status as int) as n from orders"})
    plan = compile_plan(load_project(toml), cache=False)
    inputs = {"orders": pq.read_table(tmp_path / "data" / "orders.parquet")}
    with pytest.raises(
        ViewExecutionError, match=r"view 'boom' \(views/boom.sql\) failed: .*Cannot cast"
    ):
        run_plan_direct(plan, inputs)


def test_keep_returns_only_the_kept_outputs_with_the_same_content(tmp_path: Path) -> None:
    toml = write_project(
        tmp_path,
        {
            "paid": "select customer_id, amount from orders where status = 'paid'",
            "totals": "select customer_id, sum(amount) as total from paid group by customer_id",
            "top": "select max(total) as best from totals",
        },
    )
    plan = compile_plan(load_project(toml), cache=False)
    inputs = {"orders": pq.read_table(tmp_path / "data" / "orders.parquet")}
    everything = run_plan_direct(plan, inputs)
    kept = run_plan_direct(plan, inputs, keep={"top"})
    assert set(kept) == {"top"}
    assert kept["top"].equals(everything["top"])
