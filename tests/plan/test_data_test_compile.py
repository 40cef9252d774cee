"""Declared tests, contracts and singular tests at compile time, on real projects: every mistake
is a located problem of its view (or test file), the view is not admitted, nothing executes."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from cpg_core.plan import CompileError, compile_plan
from cpg_core.plan.column_contract import (
    ContractTypeError,
    actual_family,
    declared_family,
    family_matches,
)
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.planned_tests import planned_tests
from cpg_core.project import load_project
from tests.plan.projects import compile_views, write_project

PAID = (
    "-- Paid orders.\n"
    "-- @keys: order_id\n"
    "-- @test not_null: order_id, customer_id\n"
    "-- @test accepted_values: status in ('paid', 'new')\n"
    "-- @test relationships: customer_id -> customers.customer_id ; severity: warn\n"
    "-- @test row_count: >= 1\n"
    "-- @test expression: amount >= 0\n"
    "-- @test unique: customer_id, order_id\n"
    "-- @contract: enforced\n"
    "-- @column order_id: bigint not null -- the order\n"
    "-- @column customer_id: int64 -- who paid\n"
    "-- @column amount: double precision -- euros\n"
    "-- @column status: varchar\n"
    "select order_id, customer_id, amount, status from orders where status = 'paid'\n"
)


def _problems(plan: ExecutionPlan) -> list[str]:
    return [p.format() for p in plan.problems]


def test_valid_declarations_are_admitted_and_planned(tmp_path: Path) -> None:
    plan = compile_views(tmp_path, {"paid": PAID, "reader": "select order_id from paid"})
    assert _problems(plan) == []
    assert plan.tasks["paid"].admitted and plan.tasks["reader"].admitted
    tests = planned_tests(plan)
    assert [(t.id, t.kind, t.severity, t.reads) for t in tests] == [
        ("paid.keys_unique", "unique", "error", ("paid",)),
        ("paid.not_null_order_id", "not_null", "error", ("paid",)),
        ("paid.not_null_customer_id", "not_null", "error", ("paid",)),
        ("paid.accepted_values_status", "accepted_values", "error", ("paid",)),
        (
            "paid.relationships_customer_id_customers",
            "relationships",
            "warn",
            ("paid", "customers"),
        ),
        ("paid.row_count", "row_count", "error", ("paid",)),
        ("paid.expression", "expression", "error", ("paid",)),
        ("paid.unique_customer_id_order_id", "unique", "error", ("paid",)),
    ]
    assert all(t.blocked is None and len(t.definition_hash) == 64 for t in tests)
    assert tests[1].line == 3 and tests[1].path == "views/paid.sql"


BROKEN = (
    "-- @test not_null: nope\n"
    "-- @test accepted_values: order_id in ('a')\n"
    "-- @test accepted_values: status in (1, 2)\n"
    "-- @test relationships: customer_id -> custmers.customer_id\n"
    "-- @test relationships: customer_id -> paid.nope\n"
    "-- @test relationships: status -> paid.order_id\n"
    "-- @test expression: amount + 1\n"
    "-- @test expression: nope > 1\n"
    "-- @test unique: order_id, ghost\n"
    "select order_id, customer_id, amount, status from orders\n"
)


def test_every_test_mistake_is_located_and_the_view_not_admitted(tmp_path: Path) -> None:
    plan = compile_views(
        tmp_path, {"paid": PAID, "broken": BROKEN, "after": "select order_id from broken"}
    )
    problems = _problems(plan)
    assert problems[1:] == [
        "views/broken.sql:1:20: broken: [unknown_column] @test not_null_nope: the view has no "
        "column 'nope' (output columns: order_id, customer_id, amount, status)",
        "views/broken.sql:2:27: broken: [type_mismatch] @test accepted_values_order_id: column "
        "'order_id' is a number: its accepted values must be numbers",
        "views/broken.sql:3:27: broken: [type_mismatch] @test accepted_values_status: a text "
        "column's accepted values must be 'quoted' strings",
        "views/broken.sql:4:40: broken: [unknown_table] @test relationships_customer_id_custmers: "
        "unknown table 'custmers' (did you mean 'customers'?)",
        "views/broken.sql:5:45: broken: [unknown_column] @test relationships_customer_id_paid: "
        "'paid' has no column 'nope' (output columns: order_id, customer_id, amount, status)",
        "views/broken.sql:6:25: broken: [type_mismatch] @test relationships_status_paid: "
        "'status' is text but paid.order_id is bigint: their values cannot be compared",
        "views/broken.sql:7:22: broken: [type_mismatch] @test expression: the expression must be "
        "true or false for each row, it is double",
        "views/broken.sql:8:22: broken: [unknown_column] @test expression_2: No "
        "field named nope. Valid fields are broken.order_id, broken.customer_id, broken.amount, "
        "broken.status.",
        "views/broken.sql:9:28: broken: [unknown_column] @test unique_order_id_ghost: the view "
        "has no column 'ghost' (output columns: order_id, customer_id, amount, status)",
    ]
    assert problems[0] == (
        "views/after.sql: after: [upstream_invalid] not admitted: upstream view(s) broken are "
        "invalid"
    )
    assert not plan.tasks["broken"].admitted and not plan.tasks["after"].admitted
    assert plan.tasks["paid"].admitted
    broken_tests = [t for t in planned_tests(plan) if t.view == "broken"]
    assert broken_tests and all(t.blocked and "not admitted" in t.blocked for t in broken_tests)
    with pytest.raises(CompileError, match="not_null_nope"):
        compile_plan(plan.project, cache=False, strict=True)


CONTRACT_BROKEN = (
    "-- @contract: enforced\n"
    "-- @column order_id: int -- 32 bits, but the view outputs 64\n"
    "-- @column amount: double\n"
    "-- @column status: nope\n"
    "-- @column ghost: text -- not in the output\n"
    "-- @column customer_id -- no type under an enforced contract\n"
    "select order_id, customer_id, amount, status, tags from orders\n"
)


def test_contract_breaks_are_located_problems_and_block_readers(tmp_path: Path) -> None:
    plan = compile_views(
        tmp_path, {"orders_v": CONTRACT_BROKEN, "reader": "select order_id from orders_v"}
    )
    assert _problems(plan) == [
        "views/orders_v.sql:1:1: orders_v: [contract_violation] contract: the view outputs "
        "column(s) the contract does not declare: tags (declare them with `-- @column name: type "
        "-- description` or leave them out of the SELECT)",
        "views/orders_v.sql:2:22: orders_v: [contract_violation] contract: column 'order_id' is "
        "declared int but the view outputs int64 (bigint)",
        "views/orders_v.sql:4:20: orders_v: [invalid_metadata] @column status: 'nope' is not a "
        "type (e.g. bigint, int, double, float, text, boolean, date, timestamp, decimal(10, 2), "
        "text[])",
        "views/orders_v.sql:5:12: orders_v: [contract_violation] @column ghost: the view has no "
        "such output column (output columns: order_id, customer_id, amount, status, tags)",
        "views/orders_v.sql:6:12: orders_v: [invalid_metadata] @column customer_id: an enforced "
        "contract needs the column's type (e.g. `@column customer_id: bigint -- ...`)",
        "views/reader.sql: reader: [upstream_invalid] not admitted: upstream view(s) orders_v "
        "are invalid",
    ]
    assert [p.code.value for p in plan.tasks["orders_v"].problems].count("contract_violation") == 3


def test_columns_without_a_contract_are_documentation_but_must_exist(tmp_path: Path) -> None:
    docs = "-- @column amount: int -- not checked without a contract\n-- @column ghost -- gone\n"
    plan = compile_views(tmp_path, {"v": docs + "select order_id, amount from orders"})
    assert _problems(plan) == [
        "views/v.sql:2:12: v: [unknown_column] @column ghost: the view has no such output column "
        "(output columns: order_id, amount)"
    ]


def test_contract_not_null_is_proven_by_the_plan_or_tested_on_the_data(tmp_path: Path) -> None:
    view = (
        "-- @contract: enforced\n"
        "-- @column customer_id: bigint not null\n"
        "-- @column n: bigint not null -- count(*) is never null: proven by the plan\n"
        "select customer_id, count(*) as n from orders group by customer_id\n"
    )
    plan = compile_views(tmp_path, {"per_customer": view})
    assert _problems(plan) == []
    schema = plan.tasks["per_customer"].output_schema
    assert schema is not None and not schema.field("n").nullable
    assert schema.field("customer_id").nullable  # DataFusion cannot prove it
    assert [(t.id, t.line) for t in planned_tests(plan)] == [
        ("per_customer.not_null_customer_id", 2)
    ]


def test_tests_on_inline_views_cannot_run(tmp_path: Path) -> None:
    inline = "-- @materialize: inline\n-- @test not_null: order_id\nselect order_id from orders\n"
    pointing = "-- @test relationships: order_id -> eph.order_id\nselect order_id from orders\n"
    plan = compile_views(tmp_path, {"eph": inline, "pointing": pointing})
    assert _problems(plan) == [
        "views/eph.sql:2:20: eph: [invalid_metadata] an inline view is not stored, so its tests "
        "cannot run (materialize it as a table, or declare the tests on a view that reads it)",
        "views/pointing.sql:1:37: pointing: [invalid_metadata] @test "
        "relationships_order_id_eph: 'eph' is an inline view, which is not stored: a test "
        "cannot read it (materialize it as a table, or read what it reads)",
    ]


def test_relationships_to_itself_and_to_a_source(tmp_path: Path) -> None:
    view = (
        "-- @test relationships: parent_id -> tree.node_id\n"
        "-- @test relationships: node_id -> orders.order_id\n"
        "select order_id as node_id, order_id - 1 as parent_id from orders\n"
    )
    plan = compile_views(tmp_path, {"tree": view})
    assert _problems(plan) == []
    reads = [t.reads for t in planned_tests(plan)]
    assert reads == [("tree",), ("tree", "orders")]


# -- singular tests ------------------------------------------------------------------------------


def _with_tests(root: Path, views: dict[str, str], tests: dict[str, str]) -> ExecutionPlan:
    toml = write_project(root, views)
    (root / "tests").mkdir(exist_ok=True)
    for name, sql in tests.items():
        (root / "tests" / f"{name}.sql").write_text(sql, encoding="utf-8")
    return compile_plan(load_project(toml), cache=False)


def test_singular_tests_compile_like_views(tmp_path: Path) -> None:
    plan = _with_tests(
        tmp_path,
        {
            "paid": PAID,
            "eph": "-- @materialize: inline\nselect 1 as x",
            "broken": "select nope from orders",
        },
        {
            "big_paid_orders": "-- No paid order above 100.\n-- @severity: warn\n"
            "select p.order_id from paid p join customers c using (customer_id) "
            "where p.amount > 100\n",
            "deletes": "delete from paid\n",
            "copies": "copy (select 1) to '/tmp/x.csv'\n",
            "typo": "select * from piad\n",
            "reads_inline": "select * from eph\n",
            "reads_broken": "select * from broken\n",
            "bad_column": "select amount_eur from paid\n",
            "Bad-Name": "select 1\n",
        },
    )
    assert [p.format() for p in plan.problems if p.path and p.path.startswith("tests/")] == [
        "tests/Bad-Name.sql: Bad-Name: [invalid_name] invalid test name 'Bad-Name': use "
        "lower-case letters, digits and '_', starting with a letter (at most 63 characters: it "
        "names the test in reports and in Dagster)",
        "tests/bad_column.sql:1:8: bad_column: [unknown_column] unknown column 'amount_eur' "
        "(did you mean 'amount'?)",
        "tests/copies.sql:1:1: copies: [forbidden_statement] a view must be one read-only query "
        "(SELECT, WITH or a set operation), not COPY",
        "tests/deletes.sql:1:1: deletes: [forbidden_statement] a view must be one read-only "
        "query (SELECT, WITH or a set operation), not DELETE",
        "tests/reads_inline.sql:1:15: reads_inline: [invalid_metadata] 'eph' is an inline view, "
        "which is not stored: a test cannot read it (materialize it as a table, or read what it "
        "reads)",
        "tests/typo.sql:1:15: typo: [unknown_table] unknown table 'piad' (did you mean 'paid'?)",
    ]
    by_name = {t.name: t for t in plan.singular_tests}
    good = by_name["big_paid_orders"]
    assert good.runnable and good.reads == ("paid", "customers")
    assert (good.severity, good.description) == ("warn", "No paid order above 100.")
    blocked = by_name["reads_broken"]
    assert not blocked.runnable and blocked.blocked_by == ("broken",) and not blocked.problems
    planned = {t.id: t for t in planned_tests(plan) if t.kind == "singular"}
    assert planned["big_paid_orders"].blocked is None
    assert planned["reads_broken"].blocked == ("it reads view(s) that are not admitted: broken")
    assert planned["typo"].blocked == "the test does not compile (1 problem(s))"
    assert "Bad-Name" not in planned


def test_tests_folder_is_optional_unless_named(tmp_path: Path) -> None:
    plan = compile_plan(load_project(write_project(tmp_path / "a", {"v": "select 1 as x"})))
    assert plan.singular_tests == () and plan.problems == ()
    toml = write_project(tmp_path / "b", {"v": "select 1 as x"}, extra_toml="")
    toml.write_text('tests = ["checks"]\n' + toml.read_text(encoding="utf-8"), encoding="utf-8")
    plan = compile_plan(load_project(toml), cache=False)
    assert _problems(plan) == ["checks: checks: [source_error] test folder checks does not exist"]


def test_definition_hash_follows_what_decides_the_result(tmp_path: Path) -> None:
    def hashes(view: str) -> dict[str, str]:
        root = tmp_path / str(len(list(tmp_path.iterdir())))
        plan = compile_views(root, {"v": view})
        return {t.id: t.definition_hash for t in planned_tests(plan)}

    base = hashes("-- @test not_null: order_id\nselect order_id from orders")
    assert base == hashes("-- A comment.\n-- @test not_null: order_id\nselect order_id from orders")
    assert base != hashes(
        "-- @test not_null: order_id ; severity: warn\nselect order_id from orders"
    )
    renamed = hashes("-- @test not_null: order_id ; name: present\nselect order_id from orders")
    assert list(renamed) == ["v.present"]


# -- type families ---------------------------------------------------------------------------------

ACCEPTED = [
    ("bigint", pa.int64()),
    ("int64", pa.int64()),
    ("int", pa.int32()),
    ("integer", pa.int32()),
    ("smallint", pa.int16()),
    ("double", pa.float64()),
    ("double precision", pa.float64()),
    ("float64", pa.float64()),
    ("float", pa.float32()),
    ("real", pa.float32()),
    ("text", pa.string()),
    ("varchar(20)", pa.string_view()),
    ("string", pa.large_string()),
    ("utf8", pa.string()),
    ("boolean", pa.bool_()),
    ("bool", pa.bool_()),
    ("date", pa.date32()),
    ("timestamp", pa.timestamp("us")),
    ("timestamp[ns]", pa.timestamp("us")),
    ("timestamptz", pa.timestamp("us", tz="UTC")),
    ("timestamp with time zone", pa.timestamp("ns", tz="Europe/Paris")),
    ("decimal(10, 2)", pa.decimal128(10, 2)),
    ("numeric", pa.decimal128(38, 10)),
    ("bytea", pa.binary()),
    ("text[]", pa.list_(pa.string())),
    ("array<bigint>", pa.large_list(pa.int64())),
    ("struct<city text, zip int>", pa.struct([("city", pa.string()), ("zip", pa.int32())])),
    ("map<text, bigint>", pa.map_(pa.string(), pa.int64())),
    ("interval", pa.month_day_nano_interval()),
]
REJECTED = [
    ("int", pa.int64()),
    ("float", pa.float64()),
    ("double", pa.float32()),
    ("timestamp", pa.timestamp("us", tz="UTC")),
    ("timestamptz", pa.timestamp("us")),
    ("decimal(10, 2)", pa.decimal128(10, 3)),
    ("text", pa.binary()),
    ("text", pa.month_day_nano_interval()),
    ("int[]", pa.list_(pa.int64())),
]


@pytest.mark.parametrize(("declared", "dtype"), ACCEPTED)
def test_type_families_accept(declared: str, dtype: pa.DataType) -> None:
    assert family_matches(declared_family(declared), dtype), (declared, actual_family(dtype))


@pytest.mark.parametrize(("declared", "dtype"), REJECTED)
def test_type_families_reject(declared: str, dtype: pa.DataType) -> None:
    assert not family_matches(declared_family(declared), dtype)


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ("nope", "'nope' is not a type"),
        ("double foo", "'double foo' is not a type"),
        ("int8", "type 'int8' is ambiguous (PostgreSQL counts bytes, Arrow bits)"),
        ("uuid", "'uuid' is not a type the engine stores (uuid)"),
        ("decimal(1, 2, 3)", "a decimal takes a precision and a scale"),
        ("int) as x, (select 1", "is not a type"),
    ],
)
def test_what_is_not_a_type(declared: str, message: str) -> None:
    with pytest.raises(ContractTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        declared_family(declared)
