"""The compiler on real SQL: dependencies, required columns, output schemas, lineage."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from sqlglot.lineage import lineage

from cpg_core.plan.sql_parse import DIALECT
from cpg_core.plan.sql_types import mapping_schema_columns
from tests.plan.projects import CUSTOMERS, ORDERS, compile_views


def test_cte_shadowing_a_table_is_not_a_dependency_but_a_real_read_is(tmp_path: Path) -> None:
    plan = compile_views(
        tmp_path,
        {
            # The CTE `customers` shadows the source inside the main query, but the CTE itself
            # reads the real `customers` table: exactly one dependency on it.
            "shadow": "with customers as (select customer_id, name from customers where country = 'de')\n"
            "select c.name from customers c",
            # `orders` here is only a CTE name: no dependency on the orders source.
            "only_cte": "with orders as (select 1 as x) select x from orders",
        },
    )
    assert plan.valid, [p.format() for p in plan.problems]
    assert plan.tasks["shadow"].inputs == ("customers",)
    assert plan.tasks["shadow"].required_columns["customers"] == ("country", "customer_id", "name")
    assert plan.tasks["only_cte"].inputs == ()


def test_views_on_views_subqueries_windows_unnest_struct_and_set_operations(tmp_path: Path) -> None:
    plan = compile_views(
        tmp_path,
        {
            "paid": "select order_id, customer_id, amount from orders where status = 'paid'",
            "ranked": "select customer_id, amount,\n"
            "  row_number() over (partition by customer_id order by amount desc) as rn\n"
            "from paid",
            "big_spenders": "select name from customers\n"
            "where customer_id in (select customer_id from ranked where rn = 1 and amount > 1)",
            "tags": "select order_id, unnest(tags) as tag from orders",
            "cities": "select order_id, address['city'] as city from orders",
            "ids": "select customer_id from orders union select customer_id from customers\n"
            "except select customer_id from paid",
        },
    )
    assert plan.valid, [p.format() for p in plan.problems]
    assert plan.tasks["ranked"].inputs == ("paid",)
    assert set(plan.tasks["big_spenders"].inputs) == {"customers", "ranked"}
    assert plan.tasks["big_spenders"].required_columns["ranked"] == ("amount", "customer_id", "rn")
    assert set(plan.tasks["ids"].inputs) == {"customers", "orders", "paid"}
    # the schema the store holds (and readers are planned against): row_number's uint64 → int64
    assert plan.tasks["ranked"].output_schema == pa.schema(
        [("customer_id", pa.int64()), ("amount", pa.float64()), ("rn", pa.int64(), False)]
    )
    assert plan.tasks["tags"].output_schema is not None
    assert plan.tasks["tags"].output_schema.field("tag").type == pa.string()
    assert plan.tasks["cities"].output_schema is not None
    assert plan.tasks["cities"].output_schema.field("city").type == pa.string()
    # Generations follow the view-on-view dependencies inferred from the SQL.
    generation = plan.schedule.generation_of()
    assert generation["paid"] < generation["ranked"] < generation["big_spenders"]
    assert generation["paid"] < generation["ids"]


def test_column_lineage_follows_ctes_and_matches_sqlglot_lineage(tmp_path: Path) -> None:
    sql = (
        "with per_customer as (\n"
        "  select customer_id, sum(amount) as total from orders group by customer_id\n"
        ")\n"
        "select c.name, p.total, p.total * 2 as doubled, upper(c.country) as country\n"
        "from per_customer p join customers c on c.customer_id = p.customer_id"
    )
    plan = compile_views(tmp_path, {"totals": sql})
    ours = dict(plan.tasks["totals"].lineage)
    assert ours == {
        "name": (("customers", "name"),),
        "total": (("orders", "amount"),),
        "doubled": (("orders", "amount"),),
        "country": (("customers", "country"),),
    }
    schema = {
        "orders": mapping_schema_columns(ORDERS.schema),
        "customers": mapping_schema_columns(CUSTOMERS.schema),
    }
    for column, expected in ours.items():
        node = lineage(column, sql, schema=schema, dialect=DIALECT)
        leaves = {
            (leaf.source.name, leaf.name.split(".")[-1])
            for leaf in node.walk()
            if not leaf.downstream
        }
        assert leaves == set(expected), column


@pytest.mark.parametrize(
    ("sql", "code", "line", "col"),
    [
        ("select order_id from ordrs", "unknown_table", 1, 22),
        ("select order_id,\n  nope\nfrom orders", "unknown_column", 2, 3),
        ("select o.nope from orders o", "unknown_column", 1, 10),
        ("select x.order_id from orders o", "unknown_column", 1, 10),
        ("select from where", "syntax_error", 1, 13),
        ("create table t as select 1", "forbidden_statement", 1, 1),
        ("insert into orders select * from orders", "forbidden_statement", 1, 1),
        ("copy (select 1) to '/tmp/x.csv'", "forbidden_statement", 1, 1),
        ("set datafusion.execution.batch_size = 1", "forbidden_statement", 1, 1),
        ("select 1; select 2", "forbidden_statement", 1, 1),
        ("select * into t2 from orders", "forbidden_statement", None, None),
        ("select amount || customer_id + status from orders", "type_mismatch", 1, 1),
        ("-- a comment only\n", "forbidden_statement", 1, 1),
    ],
)
def test_each_mistake_is_reported_with_code_and_position(
    tmp_path: Path, sql: str, code: str, line: int | None, col: int | None
) -> None:
    plan = compile_views(tmp_path, {"bad": sql, "good": "select order_id from orders"})
    problems = [p for p in plan.problems if p.view == "bad"]
    assert [p.code.value for p in problems] == [code], [p.format() for p in problems]
    if line is not None:
        assert (problems[0].line, problems[0].col) == (line, col)
    assert problems[0].path == "views/bad.sql"
    assert plan.tasks["good"].admitted and not plan.tasks["bad"].admitted


def test_unknown_table_suggests_the_close_name(tmp_path: Path) -> None:
    plan = compile_views(tmp_path, {"v": "select 1 as x from custmers"})
    (problem,) = plan.problems
    assert problem.hint == "did you mean 'customers'?"
    assert problem.format() == (
        "views/v.sql:1:20: v: [unknown_table] unknown table 'custmers' (did you mean 'customers'?)"
    )


def test_every_problem_is_collected_and_valid_branches_survive(tmp_path: Path) -> None:
    plan = compile_views(
        tmp_path,
        {
            "a": "select order_id, amount from orders",
            "b": "select order_id, nope from a",  # unknown column
            "c": "select order_id from b",  # downstream of invalid: not admitted
            "d": "select * from nowhere",  # unknown table
            "e": "select order_id, amount * 2 as twice from a",  # valid branch
            "f": "select twice from e where",  # syntax error
        },
    )
    codes = sorted((p.view, p.code.value) for p in plan.problems)
    assert codes == [
        ("b", "unknown_column"),
        ("c", "upstream_invalid"),
        ("d", "unknown_table"),
        ("f", "syntax_error"),
    ]
    assert plan.schedule.order == ("a", "e")


@pytest.mark.parametrize("length", [1, 2, 3, 5])
def test_cycles_of_any_length_are_reported_view_by_view(tmp_path: Path, length: int) -> None:
    names = [f"v{i}" for i in range(length)]
    views = {name: f"select 1 as x from {names[(i + 1) % length]}" for i, name in enumerate(names)}
    views["free"] = "select order_id from orders"
    views["after"] = "select x from v0"
    plan = compile_views(tmp_path, views)
    cycle_text = " -> ".join([*names, names[0]])
    cycle_problems = [p for p in plan.problems if p.code.value == "cycle"]
    assert sorted(p.view for p in cycle_problems) == names
    assert all(p.message == f"dependency cycle: {cycle_text}" for p in cycle_problems)
    assert all(p.line == 1 for p in cycle_problems)
    assert [p.code.value for p in plan.problems if p.view == "after"] == ["upstream_invalid"]
    assert plan.schedule.order == ("free",)


def test_strict_compile_raises_with_every_problem(tmp_path: Path) -> None:
    from cpg_core.plan import CompileError

    with pytest.raises(CompileError) as caught:
        compile_views(
            tmp_path, {"a": "select nope from orders", "b": "select 1 from zz"}, strict=True
        )
    assert len(caught.value.problems) == 2
    assert "views/a.sql:1:8: a: [unknown_column] unknown column 'nope'" in str(caught.value)


def test_declared_keys_must_be_output_columns(tmp_path: Path) -> None:
    plan = compile_views(
        tmp_path,
        {"v": "-- Orders.\n-- @keys: order_id, missing\nselect order_id from orders"},
    )
    (problem,) = plan.problems
    assert problem.code.value == "invalid_metadata"
    assert problem.line == 2
    assert "missing" in problem.message


def test_a_cte_reading_itself_without_recursive_gets_a_specific_hint(tmp_path: Path) -> None:
    sql = "with a as (select 1 as x), c as (select x from a union all select x from c where x < 2)\nselect * from c"
    plan = compile_views(tmp_path, {"v": sql, "r": sql.replace("with a", "with recursive a")})
    (problem,) = plan.problems
    assert problem.view == "v" and problem.code.value == "unknown_table"
    assert problem.hint == "the CTE 'c' reads itself: write WITH RECURSIVE"
    assert plan.tasks["r"].admitted
