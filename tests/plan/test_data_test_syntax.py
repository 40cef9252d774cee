"""The `@test`, `@column` and `@contract` lines of a view's comment block, and a singular test's
block: what they declare, and every malformed line as a located problem."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cpg_core.views.loader import singular_test_from_text, view_from_text
from cpg_core.views.model import ColumnDoc, DeclaredTest


def _parse(block: str) -> tuple[tuple[DeclaredTest, ...], tuple[ColumnDoc, ...], list[str]]:
    view, problems = view_from_text("v", block + "select 1 as x\n", path="views/v.sql")
    return view.tests, view.columns, [p.format() for p in problems]


def test_every_test_kind_is_read() -> None:
    tests, _, problems = _parse(
        "-- @test not_null: customer_id, Total\n"
        "-- @test unique: customer_id, day\n"
        "-- @test accepted_values: status in ('open', 'done')\n"
        "-- @test relationships: customer_id -> customers.customer_id ; severity: warn\n"
        "-- @test row_count: >= 1\n"
        "-- @test row_count: between 1 and 1000\n"
        "-- @test expression: total >= 0 ; name: non_negative ; severity: error\n"
        '-- @test not_null: "Mixed Case"\n'
    )
    assert problems == []
    assert [(t.name, t.kind, t.severity, t.columns) for t in tests] == [
        ("not_null_customer_id", "not_null", "error", ("customer_id",)),
        ("not_null_total", "not_null", "error", ("total",)),  # unquoted: lower-cased
        ("unique_customer_id_day", "unique", "error", ("customer_id", "day")),
        ("accepted_values_status", "accepted_values", "error", ("status",)),
        ("relationships_customer_id_customers", "relationships", "warn", ("customer_id",)),
        ("row_count", "row_count", "error", ()),
        ("row_count_2", "row_count", "error", ()),
        ("non_negative", "expression", "error", ()),
        ("not_null_mixed_case", "not_null", "error", ("Mixed Case",)),
    ]
    assert tests[3].values == ("'open'", "'done'")
    assert (tests[4].to_table, tests[4].to_column) == ("customers", "customer_id")
    assert tests[5].condition == "row_count >= 1"
    assert tests[6].condition == "row_count BETWEEN 1 AND 1000"
    assert tests[7].condition == "total >= 0"
    # positions: the line, the arguments, and each named column
    assert (tests[0].line, tests[0].col, tests[0].column_cols) == (1, 20, (20,))
    assert tests[1].column_cols == (33,)
    assert tests[4].column_cols == (25, 40, 50)


def test_columns_and_contract_are_read() -> None:
    view, problems = view_from_text(
        "v",
        "-- @contract: enforced\n"
        "-- @column order_id: bigint not null -- the order -- its id\n"
        "-- @column total: double precision -- the order's total in euros\n"
        "-- @column note -- free text, no type\n"
        "select 1 as x",
        path="views/v.sql",
    )
    assert problems == []
    assert view.contract
    assert view.columns == (
        ColumnDoc(
            name="order_id",
            type="bigint",
            not_null=True,
            description="the order -- its id",
            line=2,
            col=12,
            type_col=22,
        ),
        ColumnDoc(
            name="total",
            type="double precision",
            description="the order's total in euros",
            line=3,
            col=12,
            type_col=19,
        ),
        ColumnDoc(name="note", description="free text, no type", line=4, col=12),
    )


BAD_LINES = {
    "-- @test frobnicate: x": "views/v.sql:1:10: v: [invalid_metadata] unknown test 'frobnicate' "
    "(kinds: not_null, unique, accepted_values, relationships, row_count, expression)",
    "-- @test not_nul: x": "views/v.sql:1:10: v: [invalid_metadata] unknown test 'not_nul' "
    "(did you mean 'not_null'? kinds: not_null, unique, accepted_values, relationships, "
    "row_count, expression)",
    "-- @test not_null x": "views/v.sql:1:10: v: [invalid_metadata] expected `@test <kind>: "
    "<arguments>` (kinds: not_null, unique, accepted_values, relationships, row_count, expression)",
    "-- @test not_null:": "views/v.sql:1:19: v: [invalid_metadata] @test not_null needs "
    "arguments (e.g. `@test not_null: customer_id, total`)",
    "-- @test not_null: a b": "views/v.sql:1:20: v: [invalid_metadata] expected a "
    "comma-separated list of column names (e.g. `@test not_null: customer_id, total`)",
    "-- @test not_null: a ; severity: fatal": "views/v.sql:1:24: v: [invalid_metadata] severity "
    "must be 'error' or 'warn', not 'fatal'",
    "-- @test not_null: a ; colour: red": "views/v.sql:1:24: v: [invalid_metadata] unknown test "
    "option 'colour' (e.g. `@test not_null: id ; severity: warn ; name: id_present`)",
    "-- @test not_null: a, b ; name: both": "views/v.sql:1:20: v: [invalid_metadata] `name:` "
    "names one test, but this line declares one per column",
    "-- @test unique: a ; name: keys_unique": "views/v.sql:1:22: v: [invalid_metadata] test name "
    "'keys_unique' is reserved for a built-in check",
    "-- @test unique: a ; name: Bad-Name": "views/v.sql:1:22: v: [invalid_metadata] test name "
    "'Bad-Name' must be lower_snake_case (at most 63 characters)",
    "-- @test accepted_values: status = 'open'": "views/v.sql:1:27: v: [invalid_metadata] "
    "expected `column in (value, ...)` (e.g. `@test accepted_values: status in ('open', 'done')`)",
    "-- @test accepted_values: status in ('a', null)": "views/v.sql:1:27: v: [invalid_metadata] "
    "NULL is never an accepted value: rows with a NULL pass this test (declare `@test not_null` "
    "to forbid them)",
    "-- @test accepted_values: status in (select x from t)": "views/v.sql:1:27: v: "
    "[invalid_metadata] expected `column in (value, ...)` with literal values (e.g. `@test "
    "accepted_values: status in ('open', 'done')`)",
    "-- @test accepted_values: status in (lower('a'))": "views/v.sql:1:27: v: [invalid_metadata] "
    "accepted values must be literals, not \"LOWER('a')\" (e.g. `@test accepted_values: status in "
    "('open', 'done')`)",
    "-- @test relationships: a -> b": "views/v.sql:1:25: v: [invalid_metadata] expected `column -> "
    "table.column` (e.g. `@test relationships: customer_id -> customers.customer_id`)",
    "-- @test row_count: lots": "views/v.sql:1:21: v: [invalid_metadata] expected a comparison "
    "with a whole number (e.g. `@test row_count: >= 1` or `@test row_count: between 1 and 1000`)",
    "-- @test row_count: between 5 and 1": "views/v.sql:1:21: v: [invalid_metadata] between 5 and "
    "1: the range is empty",
    "-- @test expression: (select 1) > 0": "views/v.sql:1:22: v: [invalid_metadata] an expression "
    "test reads only the view's own columns (no subqueries)",
    "-- @test expression: a >": "views/v.sql:1:22: v: [invalid_metadata] not a SQL expression: "
    "Required keyword: 'expression' missing for <class 'sqlglot.expressions.core.GT'>. Line 1, "
    "Col: 3. (e.g. `@test expression: total >= 0`)",
    "-- @test expression: a > 0; drop table t": "views/v.sql:1:29: v: [invalid_metadata] expected "
    "`; option: value` (options: severity, name) (e.g. `@test not_null: id ; severity: warn ; "
    "name: id_present`)",
    "-- @column total double": "views/v.sql:1:18: v: [invalid_metadata] expected `:` between the "
    "column name and its type",
    "-- @column total: not null": "views/v.sql:1:18: v: [invalid_metadata] `not null` needs a type "
    "before it",
    "-- @column 1total: int": "views/v.sql:1:12: v: [invalid_metadata] expected `@column <name>: "
    "<type> [not null] -- <description>` (e.g. `@column total: double not null -- the order's "
    "total in euros`)",
    "-- @contract: maybe": "views/v.sql:1:4: v: [invalid_metadata] @contract must be 'enforced', "
    "not 'maybe'",
}


@pytest.mark.parametrize("line", list(BAD_LINES))
def test_a_malformed_line_is_a_located_problem(line: str) -> None:
    _tests, _columns, problems = _parse(line + "\n")
    assert problems == [BAD_LINES[line]]


def test_duplicates_and_an_empty_contract() -> None:
    _tests, _columns, problems = _parse(
        "-- @test unique: a ; name: u\n"
        "-- @test unique: b ; name: u\n"
        "-- @column a: int\n"
        "  -- @column a: bigint\n"
    )
    assert problems == [
        "views/v.sql:4:6: v: [invalid_metadata] @column a is declared twice (first on line 3)",
        "views/v.sql:2: v: [invalid_metadata] test name 'u' is used twice (each test of a view "
        "needs its own name)",
    ]
    _tests, _columns, problems = _parse("-- @contract: enforced\n")
    assert problems == [
        "views/v.sql: v: [invalid_metadata] @contract: enforced but no @column is declared "
        "(declare every output column: `-- @column name: type -- description`)"
    ]


def test_default_names_are_unique_and_explicit_names_win() -> None:
    tests, _, problems = _parse(
        "-- @test expression: a > 0\n"
        "-- @test expression: b > 0 ; name: expression_2\n"
        "-- @test expression: c > 0\n"
    )
    assert problems == []
    assert [t.name for t in tests] == ["expression", "expression_2", "expression_3"]


def test_lines_after_the_query_starts_are_sql_not_metadata() -> None:
    tests, columns, problems = _parse("-- @test not_null: a\n")
    view, more = view_from_text("v", "select 1 as a\n-- @test frobnicate: x\n")
    assert (len(tests), columns, problems, view.tests, more) == (1, (), [], (), [])


def test_singular_test_block() -> None:
    test, problems = singular_test_from_text(
        "no_refunds",
        "-- Refunds never exceed the order.\n-- @severity: warn\nselect * from refunds\n",
        path="tests/no_refunds.sql",
    )
    assert (test.description, test.severity, problems) == (
        "Refunds never exceed the order.",
        "warn",
        [],
    )
    _, problems = singular_test_from_text(
        "t", "-- @severity: loud\n-- @keys: a\nselect 1", path="tests/t.sql"
    )
    assert [p.format() for p in problems] == [
        "tests/t.sql:1:4: t: [invalid_metadata] @severity must be 'error' or 'warn', not 'loud'",
        "tests/t.sql:2:4: t: [invalid_metadata] unknown metadata key @keys in a singular test "
        "(a singular test declares a description and @severity: warn|error)",
    ]


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(["test", "column", "contract"]),
    value=st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60).filter(
        lambda t: "\n" not in t and "\r" not in t
    ),
)
def test_any_line_is_read_or_a_located_problem_never_a_crash(key: str, value: str) -> None:
    view, problems = view_from_text("v", f"-- @{key} {value}\nselect 1 as x\n", path="v.sql")
    assert all(p.line == 1 and (p.col is None or p.col >= 1) for p in problems)
    assert problems or view.tests or view.columns or view.contract
