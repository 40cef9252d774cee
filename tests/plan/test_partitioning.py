"""`@incremental` views at compile time: what the compiler proves, refuses, and where it says so.

Real compiles of real SQL over the `orders`/`customers` Parquet sources (`tests.plan.projects`):
every accepted shape gets its partitioning (column, drivers); every refused one exactly one
`partitioning` problem at the line:col of what breaks the claim, with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cpg_core.plan import compile_plan
from cpg_core.plan.partitioning import Driver, Partitioning
from cpg_core.plan.plan_file import decode_plan_file, encode_plan
from cpg_core.project import load_project
from cpg_core.views.loader import view_from_text
from tests.plan.projects import compile_views, write_project

H = "-- @incremental: partition_by = status\n"
BY_STATUS = Partitioning(column="status", drivers=(Driver("orders", "status"),))

ACCEPTED = {
    "plain": "select status, order_id, amount from orders",
    "filtered": "select status, order_id from orders where amount > 5",
    "lookup_join": "select o.status, o.order_id, c.name\n"
    "from orders o join customers c on c.customer_id = o.customer_id",
    "lookup_left_join": "select o.status, c.country\n"
    "from orders o left join customers c on c.customer_id = o.customer_id",
    "per_partition_aggregate": "select status, customer_id, sum(amount) as total\n"
    "from orders group by status, customer_id having count(*) > 0",
    "window_by_key": "select status, order_id,\n"
    "  row_number() over (partition by status order by order_id) as rn from orders",
    "named_window": "select status, rank() over w as r from orders\n"
    "window w as (partition by status order by amount)",
    "cte_and_subquery": "with paid as (select status, customer_id, amount from orders)\n"
    "select p.status, count(*) as n from (select status, customer_id from paid) p group by p.status",
    "self_join_on_key": "select a.status, a.order_id, b.order_id as other\n"
    "from orders a join orders b on a.status = b.status and a.order_id < b.order_id",
    "comma_join_on_key": "select a.status, b.order_id from orders a, orders b\n"
    "where a.status = b.status",
    "correlated_exists": "select o.status, o.order_id from orders o where exists (\n"
    "  select 1 from orders o2 where o2.status = o.status and o2.amount > o.amount)",
    "correlated_scalar_aggregate": "select o.status, (select max(o2.amount) from orders o2\n"
    "  where o2.status = o.status) as top from orders o",
    "lookup_subquery": "select status, order_id from orders\n"
    "where customer_id in (select customer_id from customers where country = 'de')",
    "global_aggregate_of_a_lookup": "select o.status, o.amount / t.total as share from orders o\n"
    "cross join (select sum(customer_id) as total from customers) t",
    "union_all": "select status, order_id from orders where amount > 5\n"
    "union all select status, order_id from orders where amount < 2",
    "distinct_with_key": "select distinct status, customer_id from orders",
    "distinct_on_key": "select distinct on (status) status, order_id from orders\n"
    "order by status, order_id",
    "order_without_limit": "select status, order_id from orders order by order_id",
    "recursive_cte_carrying_key": "with recursive r as (\n"
    "  select status, order_id, 0 as depth from orders\n"
    "  union all select r.status, r.order_id, r.depth + 1 from r where r.depth < 2)\n"
    "select status, order_id, max(depth) as d from r group by status, order_id",
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_partition_preserving_shapes_are_accepted(tmp_path: Path, name: str) -> None:
    plan = compile_views(tmp_path, {name: H + ACCEPTED[name]})
    task = plan.tasks[name]
    assert task.problems == () and task.admitted
    assert task.partitioning == BY_STATUS


REFUSED = {
    "global_aggregate": (
        "select status, count(*) over () as n, sum(amount) as total from orders group by status",
        "2:16: this window is not partitioned by the partition key",
    ),
    "no_group_by": (
        "select count(*) as n, min(status) as status from orders",
        "2:8: an aggregate without GROUP BY summarizes all partitions at once",
    ),
    "group_without_key": (
        "select max(status) as status, customer_id from orders group by customer_id",
        "2:64: GROUP BY does not include the partition key",
    ),
    "rollup": (
        "select status, customer_id, count(*) as n from orders\ngroup by rollup (status, customer_id)",
        "3:18: grouping sets, ROLLUP and CUBE aggregate across partitions",
    ),
    "window_across": (
        "select status, order_id,\n  row_number() over (order by order_id) as rn from orders",
        "3:3: this window is not partitioned by the partition key",
    ),
    "limit": (
        "select status, order_id from orders\norder by order_id\nlimit 2",
        "4:7: LIMIT decides which rows exist across all partitions",
    ),
    "self_join_other_column": (
        "select a.status, b.order_id\nfrom orders a join orders b on a.customer_id = b.customer_id",
        "3:20: orders is joined with itself without equating their partition keys",
    ),
    "expression_key": (
        "select upper(status) as status from orders",
        "2:8: the output column 'status' is not a driving input's partition column selected",
    ),
    "key_from_nullable_side": (
        "select b.status, a.order_id\nfrom orders a left join orders b"
        " on a.status = b.status and b.amount > a.amount",
        "2:10: the output column 'status' is not a driving input's partition column selected",
    ),
    "lookup_kept_by_outer_join": (
        "select o.status, c.name\nfrom orders o right join customers c"
        " on c.customer_id = o.customer_id",
        "3:26: this RIGHT JOIN keeps rows of customers that match no driving input row",
    ),
    "uncorrelated_subquery": (
        "select status, order_id from orders\nwhere amount > (select avg(amount) from orders)",
        "3:41: this subquery reads orders without equating its partition key",
    ),
    "union_with_lookup_branch": (
        "select status, order_id from orders\nunion all select name, customer_id from customers",
        "3:18: this branch of the set operation reads no driving input",
    ),
    "derived_without_key": (
        "select o.status from orders o\n"
        "join (select customer_id from orders) t on t.customer_id = o.customer_id",
        "3:14: a subquery reads a driving input but does not output its partition key",
    ),
    "volatile": (
        "select status, random() as r from orders",
        "2:16: rand() gives other values on every run",
    ),
    "missing_column": (
        "select order_id from orders",
        "1:18: partition_by names 'status', which the view does not output",
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_shapes_that_mix_partitions_are_refused_where_they_do(tmp_path: Path, name: str) -> None:
    sql, expected = REFUSED[name]
    drivers = "; drivers = orders" if name in ("union_with_lookup_branch",) else ""
    header = H.rstrip("\n") + drivers + "\n"
    plan = compile_views(tmp_path, {name: header + sql})
    task = plan.tasks[name]
    found = [p.format() for p in task.problems if p.code.value == "partitioning"]
    assert not task.admitted and task.partitioning is None
    assert len(found) == 1, found
    assert found[0].startswith(f"views/{name}.sql:{expected.split(': ', 1)[0]}: {name}: "), found
    assert f"[partitioning] {expected.split(': ', 1)[1]}" in found[0], found


def test_plan_level_rules(tmp_path: Path) -> None:
    views = {
        "stage": "-- @materialize: inline\nselect status, amount from orders",
        "inline_declared": "-- @materialize: inline\n" + H + "select status from orders",
        "reads_inline": H + "select status, sum(amount) as total from stage group by status",
        "driver_through_inline": "-- @incremental: partition_by = status; drivers = orders\n"
        "select o.status, s.amount from orders o join stage s on s.status = o.status",
        "float_key": "-- @incremental: partition_by = amount\nselect amount, order_id from orders",
    }
    plan = compile_views(tmp_path, views)
    messages = {
        name: [p.message for p in plan.tasks[name].problems if p.code.value == "partitioning"]
        for name in views
    }
    assert messages["inline_declared"] == []  # proven; it drives the stored views reading it
    assert plan.tasks["inline_declared"].partitioning is None  # never rebuilt on its own
    assert messages["reads_inline"] == [
        "driver 'stage' is an inline view not partitioned by 'status': only stored tables and "
        "inline views declared partitioned alike can drive partitions"
    ]
    assert messages["driver_through_inline"] == [
        "the inline view 'stage' folded into this view reads the driver 'orders': it would see "
        "only the recomputed partitions"
    ]
    assert all("cannot name partitions" in m for m in messages["float_key"]), messages
    assert plan.tasks["stage"].admitted  # the inline view itself is fine
    located = plan.tasks["float_key"].problems[0]
    assert (located.path, located.line, located.col) == ("views/float_key.sql", 1, 18)


INLINE = "-- @materialize: inline\n" + H


def test_an_inline_view_declared_partitioned_drives_its_stored_readers(tmp_path: Path) -> None:
    """The reader is driven by the inline views' own drivers (the stored tables its node
    filters); an inline view on no driver chain, or a whole read of a filtered table, is refused."""
    views = {
        "big": INLINE + "select status, order_id, amount from orders where amount > 5",
        "small": INLINE + "select status, order_id, amount from orders where amount <= 5",
        "union_of_inline": H + "select * from big union all select * from small",
        "by_status": INLINE + "select status, count(*) as n from orders group by status",
        "nested": H + "select b.status, b.n from by_status b",
        "other_key": "-- @materialize: inline\n-- @incremental: partition_by = customer_id\n"
        "select customer_id, status from orders",
        "wrong_column": H + "select status, customer_id from other_key",
        "whole_read": H.rstrip() + "; drivers = big\n"
        "select b.status, b.order_id from big b where b.amount > (select avg(amount) from orders)",
    }
    plan = compile_views(tmp_path, views)
    messages = {
        name: [p.message for p in plan.tasks[name].problems if p.code.value == "partitioning"]
        for name in views
    }
    assert plan.tasks["union_of_inline"].partitioning == BY_STATUS
    assert plan.tasks["nested"].partitioning == BY_STATUS
    assert messages["wrong_column"] == [
        "driver 'other_key' is an inline view not partitioned by 'status': only stored "
        "tables and inline views declared partitioned alike can drive partitions"
    ]
    assert any("reads the driver 'orders'" in m for m in messages["whole_read"]), messages
    assert not plan.tasks["whole_read"].admitted


def test_drivers_none_publishes_partitions_of_a_view_rebuilt_whole(tmp_path: Path) -> None:
    """`drivers = none`: a global ranking cannot be proven per partition, but it is rebuilt
    whole anyway and publishes its partitions, so a stored view it drives is partial."""
    views = {
        "ranked": "-- @incremental: partition_by = status; drivers = none\n"
        "select status, order_id, rank() over (order by amount) as r from orders",
        "top": H + "select status, min(r) as best from ranked group by status",
        "no_column": "-- @incremental: partition_by = day; drivers = none\nselect status from orders",
        "inline_whole": "-- @materialize: inline\n"
        "-- @incremental: partition_by = status; drivers = none\nselect status, amount from orders",
        "reads_inline_whole": H
        + "select status, sum(amount) as s from inline_whole group by status",
    }
    plan = compile_views(tmp_path, views)
    messages = {
        name: [p.message for p in plan.tasks[name].problems if p.code.value == "partitioning"]
        for name in views
    }
    assert plan.tasks["ranked"].partitioning == Partitioning(column="status", drivers=())
    assert plan.tasks["top"].partitioning == Partitioning(
        column="status", drivers=(Driver("ranked", "status"),)
    )
    assert messages["no_column"] == ["partition_by names 'day', which the view does not output"]
    assert messages["reads_inline_whole"] == [
        "driver 'inline_whole' is an inline view with `drivers = none`: its rows are computed "
        "whole, so only a stored one can drive partitions"
    ]


def test_dependencies_name_an_input_with_both_columns(tmp_path: Path) -> None:
    """A cross-partition view: each status reads the totals (a lookup partitioned by status)
    of the statuses `links` lists for it; `links.linked` holds partition values like `status`."""
    views = {
        "totals": H + "select status, sum(amount) as total from orders group by status",
        "links": H + "select distinct status, upper(status) as linked from orders",
        "by_linked": "-- @incremental: partition_by = status; drivers = orders; "
        "dependencies = links.linked\n"
        "select o.status, count(*) as n, max(t.total) as linked_total from orders o\n"
        "join links l on l.status = o.status join totals t on t.status = l.linked\n"
        "group by o.status",
        "not_an_input": H.rstrip() + "; dependencies = links.linked\n"
        "select status, order_id from orders",
        "no_such_column": H.rstrip() + "; dependencies = orders.nope\n"
        "select status, order_id from orders",
        "other_kind": H.rstrip() + "; dependencies = orders.customer_id\n"
        "select status, order_id from orders",
    }
    plan = compile_views(tmp_path, views)
    assert plan.tasks["by_linked"].partitioning == Partitioning(
        column="status",
        drivers=(Driver("orders", "status"),),
        dependencies=Driver("links", "linked"),
    )
    messages = {
        name: [p.message for p in plan.tasks[name].problems if p.code.value == "partitioning"]
        for name in ("not_an_input", "no_such_column", "other_kind")
    }
    assert messages["not_an_input"] == ["dependencies table 'links' is not an input of the view"]
    assert messages["no_such_column"] == ["dependencies table 'orders' has no column 'nope'"]
    assert "orders.customer_id is integer" in messages["other_kind"][0]


def test_declaration_is_part_of_the_fingerprint_and_survives_the_plan_file(
    tmp_path: Path,
) -> None:
    sql = "select status, customer_id, sum(amount) as total from orders group by 1, 2"
    plain = compile_views(tmp_path / "a", {"v": sql}).tasks["v"]
    declared = compile_views(tmp_path / "b", {"v": H + sql}).tasks["v"]
    explicit = compile_views(tmp_path / "c", {"v": H.rstrip() + "; drivers = orders\n" + sql})
    commented = compile_views(tmp_path / "d", {"v": H + "-- a comment\n" + sql}).tasks["v"]
    assert plain.partitioning is None and declared.partitioning == BY_STATUS
    assert declared.fingerprint != plain.fingerprint  # a changed declaration: a changed view
    assert explicit.tasks["v"].fingerprint == declared.fingerprint  # same proven partitioning
    assert commented.fingerprint == declared.fingerprint
    project = load_project(write_project(tmp_path / "e", {"v": H + sql}))
    plan = compile_plan(project, cache=False)
    restored = decode_plan_file(encode_plan(plan)).plan(project)
    assert restored.tasks["v"].partitioning == BY_STATUS
    assert restored.signature == plan.signature


def test_warm_compile_keeps_the_proof(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, {"v": H + ACCEPTED["lookup_join"]}))
    cold = compile_plan(project, cache=True)
    warm = compile_plan(project, cache=True)
    assert cold.tasks["v"].partitioning == warm.tasks["v"].partitioning == BY_STATUS
    assert warm.signature == cold.signature


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("partition_by = path", None),
        ('partition_by = "Path" ; drivers = defs, refs.File', None),
        ("partition_by", "2:18: expected `partition_by = <value>`"),
        ("drivers = defs", "2:18: partition_by is missing"),
        ("partition_by = a b", "2:33: partition_by must name one column, not 'a b'"),
        ("partition_by = a; drivers = t, t", "2:49: driver t is listed twice"),
        ("partition_by = a; drivers = t.", "2:46: a driver is `table` or `table.column`, not 't.'"),
        ("partition_by = a; using = t", "2:36: unknown clause 'using'"),
        ("partition_by = a;", "2:35: empty clause"),
        ("partition_by = path; dependencies = file_imports.Imported", None),
        ("partition_by = path; drivers = None", None),
        (
            "partition_by = a; drivers = none; dependencies = t.c",
            "2:67: dependencies needs drivers: with `drivers = none` the view is always rebuilt whole",
        ),
        (
            "partition_by = a; dependencies = deps",
            "2:51: dependencies is one `table.column`, not 'deps'",
        ),
    ],
)
def test_declaration_syntax_problems_are_located(value: str, expected: str | None) -> None:
    view, problems = view_from_text("v", f"-- v\n-- @incremental: {value}\nselect 1", path="v.sql")
    if expected is None:
        assert problems == [] and view.incremental is not None
        assert (view.incremental.line, view.incremental.col) == (2, 18)
        return
    assert view.incremental is None
    where, message = expected.split(": ", 1)
    assert len(problems) == 1
    assert problems[0].format().startswith(f"v.sql:{where}: v: ")
    assert message in problems[0].message


def test_declared_twice_is_a_problem() -> None:
    text = "-- @incremental: partition_by = a\n-- @incremental: partition_by = b\nselect 1 as a"
    view, problems = view_from_text("v", text, path="v.sql")
    assert [p.format() for p in problems] == [
        "v.sql:2:4: v: [invalid_metadata] @incremental is declared twice (first on line 1)"
    ]
    assert view.incremental is not None and view.incremental.partition_by == "a"


def test_a_declared_view_sqlglot_cannot_follow_is_refused_not_silently_whole(
    tmp_path: Path,
) -> None:
    """DataFusion plans it (a plain view like it is admitted with its lineage unknown), but the
    proof reads sqlglot's AST: the declaration cannot be proven, so it is a problem at the
    @incremental line, not a view quietly rebuilt whole."""
    sql = "select status, regexp from (select status, order_id as regexp from orders)"
    plan = compile_views(tmp_path, {"plain": sql, "declared": H + sql})
    assert plan.tasks["plain"].admitted and plan.tasks["plain"].lineage_unknown is not None
    declared = plan.tasks["declared"]
    assert not declared.admitted and declared.partitioning is None
    [problem] = [p for p in declared.problems if p.code.value == "partitioning"]
    assert (problem.path, problem.line, problem.col) == ("views/declared.sql", 1, 18)
    assert problem.message.startswith("cannot prove the @incremental declaration: sqlglot")
