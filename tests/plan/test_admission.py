"""SQL that DataFusion runs, cpg runs: each class of query sqlglot used to reject (issue 17).

Every view below is planned by DataFusion over the project's sources, so it must be admitted
with the dependencies and required columns DataFusion's plan shows, built into the Delta store
with DataFusion's rows, and queryable with `cpg query`. Where sqlglot cannot follow the query
the task says its lineage is unknown instead of rejecting it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner
from datafusion import SessionContext

from cpg_core.cli import main as cpg_main
from cpg_core.execute.driver_cache import forget_drivers
from cpg_core.pipeline import ProjectRun, build_project
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.project import load_project
from tests.plan.projects import CUSTOMERS, ORDERS, write_project

# view -> (SQL, inputs, lineage known by sqlglot?)
CLASSES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "setop_order_by_name": (
        "select customer_id from orders union all select customer_id from customers\n"
        "order by customer_id",
        ("customers", "orders"),
        True,
    ),
    "setop_order_by_position": (
        "select customer_id as c from orders intersect select customer_id from customers\n"
        "order by 1 desc",
        ("customers", "orders"),
        True,
    ),
    "qualified_star": (
        "select o.*, c.name from orders o join customers c using (customer_id)",
        ("customers", "orders"),
        True,
    ),
    "qualified_star_of_subquery": ("select s.* from (select 1 as a, 'x' as b) s", (), True),
    "values_columns": (
        "select v.column1, v.column2, o.amount\n"
        "from orders o join (values (1, 'one'), (2, 'two')) v on v.column1 = o.order_id",
        ("orders",),
        True,
    ),
    "bare_values": ("values (1, 'a'), (2, 'b')", (), True),
    "table_named_values": ('select x from "values"', ("values",), True),
    "right_semi_join": (
        "select name, country from orders o right semi join customers c\n"
        "on o.customer_id = c.customer_id",
        ("customers", "orders"),
        True,
    ),
    "right_anti_join": (
        "select name from orders o right anti join customers c on o.amount > 100",
        ("customers", "orders"),
        True,
    ),
    "one_argument_generate_series": ("select value * 2 as v from generate_series(3)", (), False),
    "generated_column_name": (
        'select "sum(orders.amount)" as total from (select sum(amount) from orders)',
        ("orders",),
        False,
    ),
    "lateral_unqualified_outer_column": (
        "select o.order_id, x.name from orders o\n"
        "cross join lateral (select name from customers c where c.customer_id = customer_id) x",
        ("customers", "orders"),
        True,
    ),
    "backtick_identifiers": ("select `order_id`, `status` from `orders`", ("orders",), False),
    "map_literal": ("select map {'a': 1, 'b': 2} as m, {x: 1, y: 'z'} as s", (), True),
    "negative_decimal_scale": ("select cast(12345 as decimal(10, -2)) as d", (), False),
    "column_named_regexp": (
        "select regexp from (select status as regexp from orders)",
        ("orders",),
        False,
    ),
}
VALUES_SOURCE = pa.table({"x": [1, 2, 3]})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ProjectRun]:
    root = tmp_path_factory.mktemp("admission")
    toml = write_project(
        root,
        {name: sql for name, (sql, _, _) in CLASSES.items()},
        extra_toml='[sources.values]\npath = "data/values.parquet"\n',
    )
    import pyarrow.parquet as pq

    pq.write_table(VALUES_SOURCE, root / "data" / "values.parquet")
    forget_drivers()
    run = build_project(load_project(toml))
    forget_drivers()
    return root, run


def _direct(sql: str) -> pa.Table:
    ctx = SessionContext()
    for name, table in {"orders": ORDERS, "customers": CUSTOMERS, "values": VALUES_SOURCE}.items():
        ctx.from_arrow(table, name=name)
    return ctx.sql(sql).to_arrow_table()


def _rows(table: pa.Table) -> Counter[str]:
    return Counter(json.dumps(row, sort_keys=True, default=str) for row in table.to_pylist())


def _scans(plan: ExecutionPlan, name: str) -> set[str]:
    """The tables DataFusion's logical plan of the view scans."""
    ctx = SessionContext()
    for table in ("orders", "customers", "values"):
        schema = plan.datasets[table].schema
        assert schema is not None
        ctx.register_record_batches(table, [[pa.RecordBatch.from_pylist([], schema=schema)]])
    text = ctx.sql(plan.tasks[name].view.sql).logical_plan().display_indent()
    names = {
        line.split("TableScan: ")[1].split()[0]
        for line in text.splitlines()
        if "TableScan: " in line
    }
    return {n for n in names if n.isidentifier()}  # not generate_series() or other functions


def test_every_class_is_admitted_with_datafusions_dependencies(
    built: tuple[Path, ProjectRun],
) -> None:
    _, run = built
    plan = run.plan
    assert plan.valid, [p.format() for p in plan.problems]
    for name, (_, inputs, lineage_known) in CLASSES.items():
        task = plan.tasks[name]
        assert task.admitted, name
        assert sorted(task.inputs) == list(inputs), name
        assert set(task.inputs) == _scans(plan, name), name
        assert (task.lineage_unknown is None) == lineage_known, (name, task.lineage_unknown)
        if not lineage_known:
            assert task.lineage == {}
            assert "DataFusion's logical plan" in (task.lineage_unknown or "")


def test_required_columns_cover_what_the_view_reads(built: tuple[Path, ProjectRun]) -> None:
    plan = built[1].plan
    assert plan.tasks["right_semi_join"].required_columns["customers"] == (
        "country",
        "customer_id",
        "name",
    )
    assert plan.tasks["backtick_identifiers"].required_columns == {"orders": ("order_id", "status")}
    assert plan.tasks["generated_column_name"].required_columns == {"orders": ("amount",)}
    assert plan.tasks["column_named_regexp"].required_columns == {"orders": ("status",)}


def test_built_rows_equal_datafusions(built: tuple[Path, ProjectRun]) -> None:
    _, run = built
    for name, (sql, _, _) in CLASSES.items():
        stored = run.result.tables[name]
        assert _rows(stored) == _rows(_direct(sql).cast(stored.schema)), name
    assert run.plan.tasks["negative_decimal_scale"].output_schema == pa.schema(
        [pa.field("d", pa.decimal128(12, 0), nullable=False)]
    )


def test_cpg_plan_and_query_see_them(built: tuple[Path, ProjectRun]) -> None:
    root, _ = built
    runner = CliRunner()
    planned = runner.invoke(cpg_main, ["plan", "--project", str(root / "cpg.toml")])
    assert planned.exit_code == 0, planned.output
    assert "problems: 0" in planned.output
    store = root / ".cpg" / "store"
    for name in CLASSES:
        queried = runner.invoke(
            cpg_main,
            [
                "query",
                "--store",
                str(store),
                f"select count(*) as n from {name}",
                "--format",
                "json",
            ],
        )
        assert queried.exit_code == 0, queried.output
        assert json.loads(queried.output)["n"] >= 1, name


def test_rejections_still_name_the_mistake_with_a_position(tmp_path: Path) -> None:
    """Where DataFusion refuses too, the problem keeps its position and did-you-mean."""
    views = {
        "typo_after_setop": "select customer_id from orders union select customer_id from customers\n"
        "order by custmer_id",
        "typo_in_star_view": "select o.*, o.amont from orders o",
        "unparsed_typo": "select `statu` from `orders`",
        "unparsed_table": "select * from `ordrs`",
        "unrunnable_lateral": "select o.order_id, x.n from orders o,\n"
        "lateral (select order_id * 2 as n) x",
    }
    plan = compile_plan(load_project(write_project(tmp_path, views)), cache=False)
    by_view = {p.view: p for p in plan.problems}
    assert set(by_view) == set(views)
    for problem in plan.problems:
        assert problem.line is not None and problem.col is not None, problem.format()
    amont = by_view["typo_in_star_view"]
    assert (amont.code.value, amont.line, amont.col, amont.hint) == (
        "unknown_column",
        1,
        15,
        "did you mean 'amount'?",
    )
    statu = by_view["unparsed_typo"]
    assert statu.code.value == "unknown_column" and "status" in statu.format()
    assert (statu.line, statu.col) == (1, 9)
    table = by_view["unparsed_table"]
    assert (table.code.value, table.table, table.line, table.col) == (
        "unknown_table",
        "ordrs",
        1,
        16,
    )
    assert by_view["unrunnable_lateral"].code.value == "planning_error"
    assert "join" in (by_view["unrunnable_lateral"].hint or "")
